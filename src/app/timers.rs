//! The loop's side of the user's timers: the pure store (`crate::timers`), its file and the
//! wall clock. Answers the model's timer calls, keeps every change on disk, and tells the loop
//! when to wake next — one sleep until the soonest due time, nothing in between.
//!
//! The journal gets one INFO line per set, ring, miss, drop and cancel, with the timer's id and
//! figures; a label is the user's words, so it appears at DEBUG only (like a transcript).

use std::time::Duration;

use super::clock::Clock;
use crate::event::Due;
use crate::timers::file::TimerFile;
use crate::timers::{Timer, Timers, describe_set, local};
use crate::tools::Call;

pub(super) struct Keeper {
    timers: Timers,
    file: TimerFile,
    pub(super) clock: Clock,
    /// The due time the speaker was last readied for (`ready_deadline`).
    readied: Option<jiff::Timestamp>,
    /// `tools.ring_ready_s`: how long ahead (zero: never).
    pub(super) ready_ahead: Duration,
}

impl Keeper {
    /// Reads the kept timers back: the ones still ahead stay, the ones that fell due while the
    /// box was off ring now (if less than 10 minutes late, said as missed) or are dropped.
    pub(super) fn start(file: TimerFile, clock: Clock, max: usize) -> (Keeper, Vec<Due>) {
        let now = clock.now();
        let saved = file.load();
        let had = saved.len();
        let restored = Timers::restore(saved, max, now.timestamp());
        for t in &restored.dropped {
            tracing::info!(
                timer = t.id,
                late_s = now.timestamp().duration_since(t.due).as_secs(),
                "timer dropped: it fell due too long ago, while the box was off"
            );
        }
        let missed: Vec<Due> = restored
            .missed
            .iter()
            .map(|t| {
                tracing::info!(
                    timer = t.id,
                    late_s = now.timestamp().duration_since(t.due).as_secs(),
                    lang = %t.lang,
                    "timer missed while the box was off; ringing it now"
                );
                Due {
                    label: t.label.clone(),
                    lang: t.lang.clone(),
                    missed: Some(local(t.due, &now).strftime("%H:%M").to_string()),
                }
            })
            .collect();
        let keeper = Keeper {
            timers: restored.timers,
            file,
            clock,
            readied: None,
            ready_ahead: Duration::ZERO,
        };
        if keeper.timers.len() != had {
            keeper.save();
        }
        if !keeper.timers.is_empty() {
            tracing::info!(
                timers = keeper.timers.len(),
                "timers kept across the restart"
            );
        }
        (keeper, missed)
    }

    pub(super) fn len(&self) -> usize {
        self.timers.len()
    }

    pub(super) fn set_max(&mut self, max: usize) {
        self.timers.set_max(max);
    }

    /// When the loop must wake for the soonest timer, on tokio's clock.
    pub(super) fn deadline(&self) -> Option<tokio::time::Instant> {
        let due = self.timers.next_due()?;
        let left = self.clock.now().timestamp().duration_until(due);
        let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
        Some(tokio::time::Instant::now() + left)
    }

    /// When the loop must get the speaker ready for the soonest timer (`ready_ahead` before it
    /// is due, or now if it is nearer), on tokio's clock; `None` once readied, or when off.
    pub(super) fn ready_deadline(&self) -> Option<tokio::time::Instant> {
        let due = self.timers.next_due()?;
        if self.readied == Some(due) || self.ready_ahead.is_zero() {
            return None;
        }
        let left = self.left(due);
        Some(tokio::time::Instant::now() + left.saturating_sub(self.ready_ahead))
    }

    /// The speaker is being readied for the soonest timer: how long until it is due.
    pub(super) fn readying(&mut self) -> Option<Duration> {
        let due = self.timers.next_due()?;
        self.readied = Some(due);
        let left = self.left(due);
        tracing::debug!(
            left_ms = left.as_millis(),
            "a timer is due soon: readying the speaker"
        );
        Some(left)
    }

    fn left(&self, due: jiff::Timestamp) -> Duration {
        let left = self.clock.now().timestamp().duration_until(due);
        Duration::try_from(left).unwrap_or(Duration::ZERO)
    }

    /// The timers due now, taken out (and the file rewritten), as the machine rings them.
    pub(super) fn take_due(&mut self) -> Vec<Due> {
        let now = self.clock.now();
        let due = self.timers.take_due(now.timestamp());
        if due.is_empty() {
            return Vec::new();
        }
        self.save();
        due.into_iter()
            .map(|t| {
                tracing::info!(
                    timer = t.id,
                    kind = kind(&t),
                    late_ms = now.timestamp().duration_since(t.due).as_millis(),
                    lang = %t.lang,
                    "timer rang"
                );
                Due {
                    label: t.label,
                    lang: t.lang,
                    missed: None,
                }
            })
            .collect()
    }

    /// Runs a timer call; `None` for a call that is not about timers.
    pub(super) fn run(&mut self, call: Call, lang: &str) -> Option<Result<String, String>> {
        let now = self.clock.now();
        let result = match call {
            Call::SetTimer { seconds, label } => self
                .timers
                .set_timer(seconds, label, lang, &now)
                .map(|t| set(t, &now)),
            Call::SetAlarm {
                hour,
                minute,
                date,
                label,
            } => self
                .timers
                .set_alarm(hour, minute, date, label, lang, &now)
                .map(|t| set(t, &now)),
            Call::ListTimers => {
                let listed = self.timers.listed(&now);
                return Some(serde_json::to_string(&listed).map_err(|e| e.to_string()));
            }
            Call::CancelTimer { label, all } => {
                self.timers.cancel(label.as_deref(), all).map(|gone| {
                    for t in &gone {
                        tracing::info!(timer = t.id, kind = kind(t), "timer cancelled");
                    }
                    let labels: Vec<&str> =
                        gone.iter().filter_map(|t| t.label.as_deref()).collect();
                    format!(
                        "cancelled {} timer{} {labels:?}; {} left",
                        gone.len(),
                        if gone.len() == 1 { "" } else { "s" },
                        self.timers.len()
                    )
                })
            }
            Call::SetVolume(_) => return None,
        };
        if result.is_ok() {
            self.save();
        }
        Some(result)
    }

    fn save(&self) {
        if let Err(e) = self.file.save(self.timers.all()) {
            tracing::warn!("the timers will not survive a restart: {e:#}");
        }
    }
}

fn kind(t: &Timer) -> &'static str {
    if t.alarm { "alarm" } else { "timer" }
}

/// Logs a timer just set and describes it for the model.
fn set(t: &Timer, now: &jiff::Zoned) -> String {
    tracing::info!(
        timer = t.id,
        kind = kind(t),
        in_s = now.timestamp().duration_until(t.due).as_secs(),
        lang = %t.lang,
        label_chars = t.label.as_deref().map_or(0, |l| l.chars().count()),
        "timer set"
    );
    if let Some(label) = &t.label {
        tracing::debug!(timer = t.id, label = %label, "timer label");
    }
    describe_set(t, now)
}
