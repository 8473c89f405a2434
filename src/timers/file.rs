//! The timers kept across restarts: `timers.json` beside the state file, written atomically by
//! `state::write_atomic` on every change. What a damaged or hand-edited file holds is checked like a
//! model's call: a bad entry is dropped with a warning, never rung.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::{MAX_LABEL_CHARS, Timer};
use crate::state;

pub const NAME: &str = "timers.json";
/// A file larger than this is not ours (20 timers take a few kilobytes).
const MAX_BYTES: u64 = 256 * 1024;

#[derive(serde::Serialize, serde::Deserialize)]
struct Raw {
    timers: Vec<RawTimer>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RawTimer {
    id: u64,
    /// RFC 3339, UTC.
    due: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    lang: String,
    #[serde(default)]
    alarm: bool,
}

/// Where the timers are kept; `None` keeps nothing (no state directory, tests).
#[derive(Debug, Clone)]
pub struct TimerFile {
    path: Option<PathBuf>,
}

impl TimerFile {
    pub fn in_store(store: &state::Store) -> TimerFile {
        TimerFile {
            path: store.beside(NAME),
        }
    }

    pub fn at(path: PathBuf) -> TimerFile {
        TimerFile { path: Some(path) }
    }

    pub fn none() -> TimerFile {
        TimerFile { path: None }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The kept timers; none (with a warning) when the file is unreadable or damaged.
    pub fn load(&self) -> Vec<Timer> {
        let Some(path) = &self.path else {
            return Vec::new();
        };
        // Read by the state file's rules: no symlink followed, no FIFO waited on, no big read.
        let bytes = match state::read_capped(path, MAX_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return Vec::new(),
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot read the timers file, starting with none: {e}");
                return Vec::new();
            }
        };
        let raw: Raw = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(file = %path.display(), "ignoring a damaged timers file: {e}");
                return Vec::new();
            }
        };
        raw.timers
            .into_iter()
            .filter_map(|r| {
                let id = r.id;
                let t = check(r);
                if t.is_none() {
                    tracing::warn!(file = %path.display(), timer = id, "dropping a damaged timer");
                }
                t
            })
            .collect()
    }

    /// Keeps `timers` (the whole set, replacing the file).
    pub fn save(&self, timers: &[Timer]) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let raw = Raw {
            timers: timers
                .iter()
                .map(|t| RawTimer {
                    id: t.id,
                    due: t.due.to_string(),
                    label: t.label.clone(),
                    lang: t.lang.clone(),
                    alarm: t.alarm,
                })
                .collect(),
        };
        let mut bytes = serde_json::to_vec(&raw)?;
        bytes.push(b'\n');
        state::write_atomic(path, &bytes)
    }
}

fn check(r: RawTimer) -> Option<Timer> {
    let due: Timestamp = r.due.parse().ok()?;
    let label_ok = r
        .label
        .as_deref()
        .is_none_or(|l| l.chars().count() <= MAX_LABEL_CHARS && !l.chars().any(char::is_control));
    let lang_ok = (1..=16).contains(&r.lang.len())
        && r.lang
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    (label_ok && lang_ok).then_some(Timer {
        id: r.id,
        label: r.label,
        due,
        lang: r.lang,
        alarm: r.alarm,
    })
}
