//! The daemon's timers and alarms: set, list, cancel, and what falls due — pure, with the wall
//! clock (and its time zone) as an argument, so DST and restarts are table tests.
//!
//! A timer rings `seconds` after it was set; an alarm at a local "HH:MM" (today if that is still
//! ahead, else tomorrow; or on a given date). A reminder is an alarm with a label. Each keeps the
//! language it was set in, so it rings in that language. Local times that do not exist (the hour
//! a spring-forward skips) ring when that wall time would have been, as calendars do (02:30
//! becomes 03:30); a time that happens twice (the hour repeated in autumn) rings at the first
//! occurrence still ahead. `file.rs` keeps them across restarts.

pub mod file;

use jiff::civil::Date;
use jiff::tz::AmbiguousOffset;
use jiff::{SignedDuration, Timestamp, Zoned};

/// A timer that fell due while the box was off rings at start if it is less late than this;
/// older ones are logged and dropped (an alarm for this morning at noon helps nobody).
pub const MISSED_WITHIN: SignedDuration = SignedDuration::from_secs(10 * 60);
/// How far ahead an alarm's date may be.
pub const MAX_DAYS_AHEAD: i64 = 366;
/// The longest label kept, in characters (`tools::check` bounds what a model sends; this
/// bounds what a damaged or hand-edited file holds).
pub const MAX_LABEL_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// Numbers timers for the log (never the label: it is the user's words).
    pub id: u64,
    pub label: Option<String>,
    pub due: Timestamp,
    /// The language of the question that set it: it rings in that language.
    pub lang: String,
    /// Set for a local time (`set_alarm`), not a countdown.
    pub alarm: bool,
}

/// One timer as `list_timers` and `voicebox ctl timers` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub label: Option<String>,
    /// Local time with its offset, e.g. `2026-12-06T07:00:00+01:00`.
    pub due: String,
    pub seconds_left: i64,
    pub kind: &'static str,
}

/// The pending timers, soonest first, at most `max`.
#[derive(Debug, Clone, Default)]
pub struct Timers {
    list: Vec<Timer>,
    last_id: u64,
    max: usize,
}

/// Timers read back after a restart, sorted by what happens to them.
#[derive(Debug, Default)]
pub struct Restored {
    pub timers: Timers,
    /// Fell due while the box was off, less than `MISSED_WITHIN` ago: ring now, said as missed.
    pub missed: Vec<Timer>,
    /// Fell due longer ago, or over the limit: logged and dropped.
    pub dropped: Vec<Timer>,
}

impl Timers {
    pub fn new(max: usize) -> Timers {
        Timers {
            list: Vec::new(),
            last_id: 0,
            max,
        }
    }

    /// Pending timers read back from the state file at `now`.
    pub fn restore(saved: Vec<Timer>, max: usize, now: Timestamp) -> Restored {
        let mut r = Restored {
            timers: Timers::new(max),
            ..Restored::default()
        };
        let mut saved = saved;
        saved.sort_by_key(|t| t.due);
        for t in saved {
            r.timers.last_id = r.timers.last_id.max(t.id);
            let late = now.duration_since(t.due);
            if late.is_positive() || late.is_zero() {
                if late < MISSED_WITHIN {
                    r.missed.push(t);
                } else {
                    r.dropped.push(t);
                }
            } else if r.timers.list.len() < max {
                r.timers.list.push(t);
            } else {
                r.dropped.push(t);
            }
        }
        r
    }

    /// A new limit (a reloaded config); timers already set are kept even above it.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn all(&self) -> &[Timer] {
        &self.list
    }

    /// When the loop must wake next.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.list.first().map(|t| t.due)
    }

    /// `set_timer`: rings `seconds` after `now`.
    pub fn set_timer(
        &mut self,
        seconds: u32,
        label: Option<String>,
        lang: &str,
        now: &Zoned,
    ) -> Result<&Timer, String> {
        let due = now
            .timestamp()
            .checked_add(SignedDuration::from_secs(i64::from(seconds.max(1))))
            .map_err(|_| "that is too far ahead".to_string())?;
        self.add(due, label, lang, false)
    }

    /// `set_alarm`: rings at `hour:minute` local time on `date`, or (no date) today if that is
    /// still ahead of `now`, else tomorrow.
    pub fn set_alarm(
        &mut self,
        hour: u8,
        minute: u8,
        date: Option<Date>,
        label: Option<String>,
        lang: &str,
        now: &Zoned,
    ) -> Result<&Timer, String> {
        let hh_mm = format!("{hour:02}:{minute:02}");
        let (hour, minute) = (
            i8::try_from(hour).unwrap_or(i8::MAX),
            i8::try_from(minute).unwrap_or(i8::MAX),
        );
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) {
            return Err(format!(
                "{hh_mm} is not a time of day; give HH:MM, 00:00 to 23:59"
            ));
        }
        let today = now.date();
        let days: Vec<Date> = match date {
            Some(d) => vec![d],
            None => vec![today, today.tomorrow().map_err(|e| e.to_string())?],
        };
        let due = days
            .iter()
            .flat_map(|d| occurrences(*d, hour, minute, now))
            .find(|t| *t > now.timestamp());
        let Some(due) = due else {
            let when = date.map_or(hh_mm.clone(), |d| format!("{d} {hh_mm}"));
            return Err(format!(
                "{when} has already passed (it is now {}); give a time ahead",
                now.strftime("%Y-%m-%d %H:%M")
            ));
        };
        if now.timestamp().duration_until(due) > SignedDuration::from_hours(24 * MAX_DAYS_AHEAD) {
            return Err(format!(
                "that date is more than {MAX_DAYS_AHEAD} days ahead; alarms go up to a year ahead"
            ));
        }
        self.add(due, label, lang, true)
    }

    fn add(
        &mut self,
        due: Timestamp,
        label: Option<String>,
        lang: &str,
        alarm: bool,
    ) -> Result<&Timer, String> {
        if self.list.len() >= self.max {
            return Err(format!(
                "too many timers: at most {} (tools.max_timers); cancel one first",
                self.max
            ));
        }
        self.last_id += 1;
        let timer = Timer {
            id: self.last_id,
            label: label.filter(|l| !l.trim().is_empty()),
            due,
            lang: lang.to_string(),
            alarm,
        };
        // After every timer due no later, so two at once ring in the order they were set.
        let at = self.list.partition_point(|t| t.due <= due);
        self.list.insert(at, timer);
        Ok(&self.list[at])
    }

    /// `cancel_timer`: every timer with this label (case and surrounding spaces ignored), or
    /// all of them; with neither, the only one there is. Returns the cancelled timers.
    pub fn cancel(&mut self, label: Option<&str>, all: bool) -> Result<Vec<Timer>, String> {
        if self.list.is_empty() {
            return Err("there are no timers to cancel".into());
        }
        let label = label.map(str::trim).filter(|l| !l.is_empty());
        let keep = |t: &Timer| -> bool {
            match (all, label) {
                (true, _) => false,
                (false, Some(l)) => t
                    .label
                    .as_deref()
                    .is_none_or(|mine| mine.trim().to_lowercase() != l.to_lowercase()),
                (false, None) => false,
            }
        };
        if !all && label.is_none() && self.list.len() > 1 {
            return Err(format!(
                "there are {} timers: give the label of the one to cancel, or all: true",
                self.list.len()
            ));
        }
        let (kept, gone): (Vec<Timer>, Vec<Timer>) =
            std::mem::take(&mut self.list).into_iter().partition(keep);
        self.list = kept;
        if gone.is_empty() {
            let labels: Vec<&str> = self
                .list
                .iter()
                .filter_map(|t| t.label.as_deref())
                .collect();
            return Err(format!(
                "no timer has the label {:?}; the labels are {labels:?}",
                label.unwrap_or_default()
            ));
        }
        Ok(gone)
    }

    /// The timers due at `now`, taken out, soonest first.
    pub fn take_due(&mut self, now: Timestamp) -> Vec<Timer> {
        let n = self.list.partition_point(|t| t.due <= now);
        self.list.drain(..n).collect()
    }

    /// What `list_timers` and `ctl timers` show, in `now`'s time zone.
    pub fn listed(&self, now: &Zoned) -> Vec<Listed> {
        self.list
            .iter()
            .map(|t| Listed {
                label: t.label.clone(),
                due: local(t.due, now)
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string(),
                seconds_left: seconds_left(t.due, now.timestamp()),
                kind: if t.alarm { "alarm" } else { "timer" },
            })
            .collect()
    }
}

/// The instants a wall time on `date` names in `now`'s zone: one, or two in the hour repeated
/// when clocks go back, or (in the hour skipped when they go forward) where it would have been.
fn occurrences(date: Date, hour: i8, minute: i8, now: &Zoned) -> Vec<Timestamp> {
    let ambiguous = now
        .time_zone()
        .to_ambiguous_zoned(date.at(hour, minute, 0, 0));
    let zoned = match ambiguous.offset() {
        AmbiguousOffset::Fold { .. } => vec![ambiguous.clone().earlier(), ambiguous.later()],
        // A gap: where the wall time would have been, as RFC 5545 calendars do.
        _ => vec![ambiguous.compatible()],
    };
    zoned
        .into_iter()
        .filter_map(|z| z.ok().map(|z| z.timestamp()))
        .collect()
}

/// `due` in `now`'s time zone.
pub fn local(due: Timestamp, now: &Zoned) -> Zoned {
    due.to_zoned(now.time_zone().clone())
}

/// Whole seconds until `due`, rounded up (0 once due): "rings in 1 s" until it rings.
pub fn seconds_left(due: Timestamp, now: Timestamp) -> i64 {
    let left = now.duration_until(due);
    if !left.is_positive() {
        return 0;
    }
    left.as_secs() + i64::from(left.subsec_nanos() > 0)
}

/// The result a set timer sends back to the model.
pub fn describe_set(t: &Timer, now: &Zoned) -> String {
    let at = local(t.due, now);
    let label = t
        .label
        .as_deref()
        .map_or(String::new(), |l| format!(", label {l:?}"));
    let day = if at.date() == now.date() {
        "today".to_string()
    } else {
        at.strftime("%A %Y-%m-%d").to_string()
    };
    format!(
        "{} set: rings {day} at {} ({} s from now){label}",
        if t.alarm { "alarm" } else { "timer" },
        at.strftime("%H:%M:%S"),
        seconds_left(t.due, now.timestamp())
    )
}

#[cfg(test)]
mod tests;
