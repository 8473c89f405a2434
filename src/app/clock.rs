//! The wall clock the loop reads for timers and alarms (the monotonic one is `app::now`): the
//! system's, or in tests one that starts at a chosen local time and moves with tokio's paused
//! clock, so a test can cross a DST change or a restart without waiting.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

#[derive(Debug, Clone)]
pub struct Clock {
    zone: TimeZone,
    /// Tests: the wall time at a tokio instant.
    fixed: Option<(Timestamp, tokio::time::Instant)>,
}

impl Clock {
    /// The system's clock and time zone (`$TZ`, else `/etc/localtime`).
    pub fn system() -> Clock {
        Clock {
            zone: TimeZone::system(),
            fixed: None,
        }
    }

    /// A clock that reads `start` now and then moves with tokio's clock.
    pub fn starting_at(start: &Zoned) -> Clock {
        Clock {
            zone: start.time_zone().clone(),
            fixed: Some((start.timestamp(), tokio::time::Instant::now())),
        }
    }

    pub fn now(&self) -> Zoned {
        let ts = match self.fixed {
            None => Timestamp::now(),
            Some((wall, at)) => {
                let passed = SignedDuration::try_from(at.elapsed()).unwrap_or(SignedDuration::MAX);
                wall.saturating_add(passed).unwrap_or(wall)
            }
        };
        ts.to_zoned(self.zone.clone())
    }
}
