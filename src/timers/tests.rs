//! The store's rules as tables: limits, alarms today or tomorrow, DST gaps and folds, cancel,
//! what falls due, and a restart's missed and dropped timers.

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::file::TimerFile;
use super::*;

/// Central European time with its DST rules (no system tzdb needed).
fn berlin() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

/// `YYYY-MM-DD HH:MM` in Berlin (the earlier one if it happens twice).
fn at(s: &str) -> Zoned {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(berlin()).unwrap()
}

fn local_due(t: &Timer, now: &Zoned) -> String {
    local(t.due, now).strftime("%Y-%m-%d %H:%M %:z").to_string()
}

#[test]
fn alarms_ring_today_if_still_ahead_else_tomorrow_dst_correct() {
    for (now, hh_mm, date_arg, want) in [
        (
            "2026-12-06 05:00",
            (7, 0),
            None,
            Ok("2026-12-06 07:00 +01:00"),
        ),
        (
            "2026-12-06 07:00",
            (7, 0),
            None,
            Ok("2026-12-07 07:00 +01:00"),
        ),
        (
            "2026-12-06 07:01",
            (7, 0),
            None,
            Ok("2026-12-07 07:00 +01:00"),
        ),
        (
            "2026-12-06 23:59",
            (0, 0),
            None,
            Ok("2026-12-07 00:00 +01:00"),
        ),
        // Across the year's end.
        (
            "2026-12-31 22:00",
            (6, 30),
            None,
            Ok("2027-01-01 06:30 +01:00"),
        ),
        // Tomorrow is a DST day: the same wall time, a different offset.
        (
            "2026-03-28 22:00",
            (7, 0),
            None,
            Ok("2026-03-29 07:00 +02:00"),
        ),
        // Spring forward: 02:30 does not exist on 2026-03-29; it rings where it would have been.
        (
            "2026-03-28 22:00",
            (2, 30),
            None,
            Ok("2026-03-29 03:30 +02:00"),
        ),
        // Autumn: 02:30 happens twice on 2026-10-25; the first...
        (
            "2026-10-25 01:00",
            (2, 30),
            None,
            Ok("2026-10-25 02:30 +02:00"),
        ),
        // ...or, once that has passed, the second, not tomorrow.
        (
            "2026-10-25 02:45",
            (2, 30),
            None,
            Ok("2026-10-25 02:30 +01:00"),
        ),
        // A date.
        (
            "2026-12-06 05:00",
            (9, 15),
            Some(date(2026, 12, 24)),
            Ok("2026-12-24 09:15 +01:00"),
        ),
        (
            "2026-12-06 05:00",
            (4, 0),
            Some(date(2026, 12, 6)),
            Err("2026-12-06 04:00 has already passed (it is now 2026-12-06 05:00)"),
        ),
        (
            "2026-12-06 05:00",
            (4, 0),
            Some(date(2028, 1, 1)),
            Err("more than 366 days ahead"),
        ),
        (
            "2026-12-06 05:00",
            (24, 0),
            None,
            Err("24:00 is not a time of day"),
        ),
    ] {
        let now = at(now);
        let mut timers = Timers::new(20);
        let got = timers
            .set_alarm(hh_mm.0, hh_mm.1, date_arg, None, "en", &now)
            .map(|t| local_due(t, &now));
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{now} {hh_mm:?}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{got}"),
            (got, want) => panic!("{now} {hh_mm:?}: {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_timer_counts_real_seconds_across_a_dst_change() {
    // One hour before the clocks go back: a two-hour timer rings at 03:00 winter time (wall
    // clock +1 h), two real hours later.
    let now = at("2026-10-25 01:00");
    let mut timers = Timers::new(20);
    let t = timers.set_timer(7200, None, "en", &now).unwrap().clone();
    assert_eq!(local_due(&t, &now), "2026-10-25 02:00 +01:00");
    assert_eq!(
        now.timestamp().duration_until(t.due),
        SignedDuration::from_hours(2)
    );
}

#[test]
fn at_most_max_timers_and_the_error_says_so() {
    let now = at("2026-12-06 05:00");
    let mut timers = Timers::new(3);
    for s in 1..=3 {
        timers.set_timer(s * 60, None, "en", &now).unwrap();
    }
    let e = timers.set_timer(10, None, "en", &now).unwrap_err();
    assert!(e.contains("too many timers: at most 3"), "{e}");
    let e = timers.set_alarm(7, 0, None, None, "en", &now).unwrap_err();
    assert!(e.contains("too many timers"), "{e}");
    assert_eq!(timers.len(), 3);
}

#[test]
fn soonest_first_and_due_ones_are_taken_in_order() {
    let now = at("2026-12-06 05:00");
    let mut timers = Timers::new(20);
    timers
        .set_timer(300, Some("eggs".into()), "en", &now)
        .unwrap();
    timers.set_timer(60, Some("茶".into()), "zh", &now).unwrap();
    timers
        .set_timer(300, Some("second".into()), "en", &now)
        .unwrap();
    let labels =
        |ts: &[Timer]| -> Vec<String> { ts.iter().map(|t| t.label.clone().unwrap()).collect() };
    assert_eq!(labels(timers.all()), ["茶", "eggs", "second"]);
    assert_eq!(
        timers.next_due(),
        Some(now.timestamp() + SignedDuration::from_secs(60))
    );
    let t = |s: i64| now.timestamp() + SignedDuration::from_secs(s);
    assert!(timers.take_due(t(59)).is_empty());
    let due = timers.take_due(t(60));
    assert_eq!(labels(&due), ["茶"]);
    assert_eq!(due[0].lang, "zh", "a timer keeps its language");
    assert_eq!(labels(&timers.take_due(t(400))), ["eggs", "second"]);
    assert!(timers.is_empty());
    assert_eq!(timers.next_due(), None);
}

#[test]
fn list_shows_label_local_due_time_and_seconds_left() {
    let now = at("2026-12-06 05:00");
    let mut timers = Timers::new(20);
    timers
        .set_timer(90, Some("tea".into()), "en", &now)
        .unwrap();
    timers.set_alarm(7, 0, None, None, "zh", &now).unwrap();
    let later = at("2026-12-06 05:00") + SignedDuration::from_millis(30_500);
    let json = serde_json::to_string(&timers.listed(&later)).unwrap();
    assert_eq!(
        json,
        r#"[{"label":"tea","due":"2026-12-06T05:01:30+01:00","seconds_left":60,"kind":"timer"},{"label":null,"due":"2026-12-06T07:00:00+01:00","seconds_left":7170,"kind":"alarm"}]"#
    );
    let t = timers.all()[0].clone();
    assert_eq!(
        describe_set(&t, &now),
        r#"timer set: rings today at 05:01:30 (90 s from now), label "tea""#
    );
}

#[test]
fn cancel_by_label_all_or_the_only_one() {
    let now = at("2026-12-06 05:00");
    let fresh = || {
        let mut timers = Timers::new(20);
        timers
            .set_timer(60, Some("Tea".into()), "en", &now)
            .unwrap();
        timers
            .set_timer(120, Some("eggs".into()), "en", &now)
            .unwrap();
        timers
            .set_timer(180, Some("tea ".into()), "en", &now)
            .unwrap();
        timers
    };
    let mut timers = fresh();
    let gone = timers.cancel(Some(" TEA"), false).unwrap();
    assert_eq!(gone.len(), 2, "case and spaces ignored");
    assert_eq!(timers.len(), 1);
    let e = timers.cancel(Some("bread"), false).unwrap_err();
    assert!(
        e.contains(r#"no timer has the label "bread"; the labels are ["eggs"]"#),
        "{e}"
    );
    assert_eq!(timers.len(), 1, "a failed cancel keeps them");
    // Neither label nor all: the only one there is.
    assert_eq!(timers.cancel(None, false).unwrap().len(), 1);
    let e = timers.cancel(None, true).unwrap_err();
    assert!(e.contains("no timers"), "{e}");

    let mut timers = fresh();
    let e = timers.cancel(None, false).unwrap_err();
    assert!(e.contains("there are 3 timers"), "{e}");
    assert_eq!(timers.cancel(None, true).unwrap().len(), 3);
    assert!(timers.is_empty());
}

#[test]
fn a_restart_keeps_pending_rings_recent_misses_and_drops_old_ones() {
    let set_at = at("2026-12-06 05:00");
    let mut timers = Timers::new(20);
    for (s, l) in [(60, "a"), (600, "b"), (1200, "c"), (3600, "d")] {
        timers.set_timer(s, Some(l.into()), "en", &set_at).unwrap();
    }
    // Back on at 05:21: a is 20 min late (dropped), b 11 min (dropped), c 1 min (missed),
    // d still ahead.
    let now = at("2026-12-06 05:21").timestamp();
    let r = Timers::restore(timers.all().to_vec(), 20, now);
    let labels =
        |ts: &[Timer]| -> Vec<String> { ts.iter().map(|t| t.label.clone().unwrap()).collect() };
    assert_eq!(labels(r.timers.all()), ["d"]);
    assert_eq!(labels(&r.missed), ["c"]);
    assert_eq!(labels(&r.dropped), ["a", "b"]);
    // New ids continue after the kept ones.
    let mut kept = r.timers;
    let id = kept
        .set_timer(5, None, "en", &now.to_zoned(berlin()))
        .unwrap()
        .id;
    assert_eq!(id, 5);
    // Exactly at the edge: 10 minutes late is too late.
    let r = Timers::restore(
        timers.all().to_vec(),
        20,
        timers.all()[0].due + MISSED_WITHIN,
    );
    assert_eq!(labels(&r.dropped), ["a"]);
}

#[test]
fn the_file_round_trips_and_drops_what_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/timers.json");
    let file = TimerFile::at(path.clone());
    assert!(file.load().is_empty(), "no file yet");
    let now = at("2026-12-06 05:00");
    let mut timers = Timers::new(20);
    timers
        .set_timer(60, Some("喝茶".into()), "zh", &now)
        .unwrap();
    timers.set_alarm(7, 0, None, None, "vi", &now).unwrap();
    file.save(timers.all()).unwrap();
    assert_eq!(file.load(), timers.all());
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["timers.json"], "no temporary file left behind");

    let ok = r#"{"id":1,"due":"2026-12-06T04:01:00Z","lang":"en"}"#;
    for (text, kept) in [
        (format!(r#"{{"timers":[{ok}]}}"#), 1),
        (
            format!(r#"{{"timers":[{ok},{{"id":2,"due":"soon","lang":"en"}}]}}"#),
            1,
        ),
        (
            format!(
                r#"{{"timers":[{ok},{{"id":2,"due":"2026-12-06T04:01:00Z","lang":"en","label":"a\u001b[2Jb"}}]}}"#
            ),
            1,
        ),
        (
            format!(
                r#"{{"timers":[{ok},{{"id":2,"due":"2026-12-06T04:01:00Z","lang":"en","label":"{}"}}]}}"#,
                "x".repeat(MAX_LABEL_CHARS + 1)
            ),
            1,
        ),
        (
            format!(r#"{{"timers":[{ok},{{"id":2,"due":"2026-12-06T04:01:00Z","lang":"../x"}}]}}"#),
            1,
        ),
        (r#"{"timers":[{"id":1}"#.to_string(), 0),
        ("\u{ff}".to_string(), 0),
        (
            format!(r#"{{"timers":[],"pad":"{}"}}"#, " ".repeat(300_000)),
            0,
        ),
    ] {
        std::fs::write(&path, &text).unwrap();
        assert_eq!(file.load().len(), kept, "{}", &text[..text.len().min(120)]);
    }
    // Nowhere to keep them: nothing kept, nothing fails.
    TimerFile::none().save(timers.all()).unwrap();
    assert!(TimerFile::none().load().is_empty());
}

#[test]
fn seconds_left_rounds_up_until_due() {
    let t0 = Timestamp::from_second(1_000).unwrap();
    for (ms, want) in [(-5_000, 0), (0, 0), (1, 1), (999, 1), (1000, 1), (1001, 2)] {
        let due = t0 + SignedDuration::from_millis(ms);
        assert_eq!(seconds_left(due, t0), want, "{ms}");
    }
}
