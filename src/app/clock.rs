//! The wall clock the loop reads for timers and alarms (the monotonic one is `app::now`): the
//! system's, or in tests one that starts at a chosen local time and moves with tokio's paused
//! clock, so a test can cross a DST change or a restart without waiting.

use std::path::Path;

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
            zone: system_zone(),
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

/// The time zone `jiff::tz::TimeZone::system()` finds, without building jiff's zoneinfo
/// database when `$TZ` is unset: jiff resolves the name of the zone /etc/localtime links to
/// through that database, and building it walks /usr/share/zoneinfo (~900 files) and keeps
/// every name on the heap for the life of the process (~150 KiB of the idle daemon). Here
/// /etc/localtime is read and the name taken from its link (".../zoneinfo/Europe/Berlin"), as
/// jiff does. `$TZ` set, or /etc/localtime not a link into a zoneinfo directory: jiff's own
/// lookup (POSIX rules, names, paths), database and all.
pub fn system_zone() -> TimeZone {
    if std::env::var_os("TZ").is_none()
        && let Some(zone) = linked_zone(Path::new("/etc/localtime"))
    {
        return zone;
    }
    TimeZone::system()
}

/// The zone in the TZif file `path`, named after the zoneinfo file it links to.
fn linked_zone(path: &Path) -> Option<TimeZone> {
    let target = std::fs::read_link(path).ok()?;
    let target = target.to_str()?;
    let name = &target[target.rfind("zoneinfo/")? + "zoneinfo/".len()..];
    let data = std::fs::read(path).ok()?;
    TimeZone::tzif(name, &data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link into a zoneinfo directory: the zone's rules and its IANA name, as jiff gives
    /// them; anything else is left to jiff.
    #[test]
    fn linked_zone_is_named_after_its_link() {
        let Ok(data) = std::fs::read("/usr/share/zoneinfo/Europe/Berlin") else {
            return; // no zoneinfo on this host (the CI image has tzdata)
        };
        let dir = tempfile::tempdir().unwrap();
        let zoneinfo = dir.path().join("share/zoneinfo/Europe");
        std::fs::create_dir_all(&zoneinfo).unwrap();
        std::fs::write(zoneinfo.join("Berlin"), &data).unwrap();
        let link = dir.path().join("localtime");
        std::os::unix::fs::symlink(zoneinfo.join("Berlin"), &link).unwrap();

        let zone = linked_zone(&link).unwrap();
        assert_eq!(zone.iana_name(), Some("Europe/Berlin"));
        let summer: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
        let winter: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(zone.to_offset(summer).seconds(), 2 * 3600);
        assert_eq!(zone.to_offset(winter).seconds(), 3600);

        // A copy, not a link: no name to give it, so not this path.
        let copy = dir.path().join("copy");
        std::fs::write(&copy, &data).unwrap();
        assert!(linked_zone(&copy).is_none());
        // A link elsewhere: the same.
        let elsewhere = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&copy, &elsewhere).unwrap();
        assert!(linked_zone(&elsewhere).is_none());
    }
}
