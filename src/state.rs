//! What the daemon keeps across restarts (the everyday volume; the timers beside it): small
//! JSON files in the state directory, `$STATE_DIRECTORY` (systemd's `StateDirectory=voicebox`), else
//! `$XDG_STATE_HOME/voicebox`, else `~/.local/state/voicebox`.
//!
//! Written atomically (a synced temporary file renamed over the old one), so a power cut leaves
//! the old level or the new one, never half a file. A damaged or unreadable file is ignored with
//! a warning: losing the volume must never stop the box from starting.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

const FILE: &str = "state.json";

/// The kept state. Unknown fields are ignored, so an older daemon reads a newer file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The everyday volume, percent of `audio.volume`.
    pub volume: Option<u8>,
}

/// Where the state file lives; `None` when no state directory can be found.
#[derive(Debug, Clone)]
pub struct Store {
    file: Option<PathBuf>,
}

impl Store {
    /// The state directory from the environment (see the module doc).
    pub fn locate(env: &dyn Fn(&str) -> Option<String>) -> Store {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        let dir = if let Some(dirs) = var("STATE_DIRECTORY") {
            // systemd may pass several colon-separated directories; the first is ours.
            Some(PathBuf::from(dirs.split(':').next().unwrap_or(&dirs)))
        } else if let Some(xdg) = var("XDG_STATE_HOME") {
            Some(Path::new(&xdg).join("voicebox"))
        } else {
            var("HOME").map(|home| Path::new(&home).join(".local/state/voicebox"))
        };
        Store {
            file: dir.map(|d| d.join(FILE)),
        }
    }

    /// The store of the running process's environment.
    pub fn from_env() -> Store {
        Store::locate(&|k| std::env::var(k).ok())
    }

    /// A store that keeps nothing (tests, or no state directory).
    pub fn none() -> Store {
        Store { file: None }
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The kept state; the defaults when there is none, and (with a warning) when it is damaged.
    pub fn load(&self) -> Saved {
        let Some(file) = &self.file else {
            return Saved::default();
        };
        let text = match read(file) {
            Ok(Some(t)) => t,
            Ok(None) => return Saved::default(),
            Err(e) => {
                tracing::warn!(file = %file.display(), "cannot read the state file, starting from the defaults: {e}");
                return Saved::default();
            }
        };
        serde_json::from_slice(&text).unwrap_or_else(|e| {
            tracing::warn!(
                file = %file.display(),
                "ignoring a damaged state file (the volume starts at 100 %; the next change rewrites it): {e}"
            );
            Saved::default()
        })
    }

    /// Writes the state atomically; an error says which file and why.
    pub fn save(&self, saved: &Saved) -> anyhow::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut bytes = serde_json::to_vec(saved)?;
        bytes.push(b'\n');
        write(file, &bytes)
    }

    /// Another file of the state directory (`timers.json`), read and written by the same rules
    /// as the state file: `None` when there is no state directory.
    pub fn beside(&self, name: &str) -> Option<PathBuf> {
        self.file.as_deref().map(|f| f.with_file_name(name))
    }
}

/// A state file's bytes; `None` when it does not exist.
pub fn read(file: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(file) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces a state file atomically (a synced temporary file renamed over it, the directory
/// synced): a power cut leaves the old content or the new, never half of it.
pub fn write(file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)?;
        // The rename itself is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("cannot write the state file {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_follows_systemd_then_xdg_then_home() {
        let locate = |pairs: &[(&str, &str)]| {
            let find = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            };
            Store::locate(&find)
        };
        let all = [
            ("STATE_DIRECTORY", "/var/lib/voicebox:/var/lib/other"),
            ("XDG_STATE_HOME", "/home/u/.state"),
            ("HOME", "/home/u"),
        ];
        for (pairs, want) in [
            (&all[..], Some("/var/lib/voicebox/state.json")),
            (&all[1..], Some("/home/u/.state/voicebox/state.json")),
            (&all[2..], Some("/home/u/.local/state/voicebox/state.json")),
            (
                &[("STATE_DIRECTORY", ""), ("HOME", "/h")][..],
                Some("/h/.local/state/voicebox/state.json"),
            ),
            (&[][..], None),
        ] {
            assert_eq!(locate(pairs).file(), want.map(Path::new), "{pairs:?}");
        }
    }

    #[test]
    fn saves_atomically_and_survives_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("deep/voicebox");
        let store = Store {
            file: Some(dir.join(FILE)),
        };
        assert_eq!(store.load(), Saved::default(), "no file yet");
        store.save(&Saved { volume: Some(40) }).unwrap();
        assert_eq!(store.load().volume, Some(40));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE], "no temporary file left behind");
        store.save(&Saved { volume: Some(70) }).unwrap();
        assert_eq!(store.load().volume, Some(70));

        for damage in [
            &b"{\"volume\": 4"[..],
            b"\xff\xfe",
            b"[]",
            b"{\"volume\": 300}",
            b"",
        ] {
            std::fs::write(dir.join(FILE), damage).unwrap();
            assert_eq!(store.load(), Saved::default(), "{damage:?}");
        }
        // A newer daemon's extra fields do not make the file damaged.
        std::fs::write(dir.join(FILE), br#"{"volume": 20, "later": true}"#).unwrap();
        assert_eq!(store.load().volume, Some(20));
        // Nowhere to keep it: nothing is kept, nothing fails.
        Store::none().save(&Saved { volume: Some(1) }).unwrap();
        assert_eq!(Store::none().load(), Saved::default());
    }

    #[test]
    fn an_unwritable_directory_is_an_error_that_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let store = Store {
            file: Some(blocker.join("voicebox").join(FILE)),
        };
        let e = store.save(&Saved { volume: Some(1) }).unwrap_err();
        assert!(format!("{e:#}").contains("state directory"), "{e:#}");
    }
}
