//! Timers end to end on real components (the test sound card, espeak-ng, journald, `voicebox
//! ctl`): a timer set over the control socket rings at its due time with the alarm chime and
//! its label said in the language it was set in (the words and voice handed to espeak-ng, the
//! sound at the card); a press silences it; a restart keeps the timers.

use crate::support;

use std::process::Command;
use std::time::Duration;

use crate::support::config::Config;
use crate::support::daemon::{Daemon, Launch};
use crate::support::journald::{field, num};
use crate::support::sound::{Audio, tone_mic};

/// `voicebox ctl ARGS` against the daemon, as a user or a script runs it.
fn ctl(d: &Daemon, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(&d.config_path)
        .arg("ctl")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ctl {args:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn set_timer(d: &Daemon, seconds: u32, label: &str, lang: &str) -> String {
    let call = serde_json::json!({
        "name": "set_timer",
        "arguments": {"seconds": seconds, "label": label},
        "lang": lang,
    });
    ctl(d, &["tool", &call.to_string()])
}

#[test]
fn a_timer_rings_on_time_in_its_language_and_a_press_silences_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = tone_mic(dir);
    // Timers never ask the server.
    let mut config = Config::daemon("http://127.0.0.1:9");
    config.set("tools", "ring_s", "30");
    // Not readied ahead: an output held open on the unpaced file device writes silence far
    // faster than real time (readying is tested in app::tests::timers and speaker_stop).
    config.set("tools", "ring_ready_s", "0");
    let (path, log) = support::logging_espeak(dir);
    let d = Daemon::launch(dir, &config, Launch::new(&mic).env("PATH", path));

    let answer = set_timer(&d, 2, "喝茶", "zh");
    assert!(
        answer.starts_with("ok timer set: rings today at "),
        "{answer}"
    );
    let timers: serde_json::Value = serde_json::from_str(&ctl(&d, &["timers"])).unwrap();
    assert_eq!(timers[0]["label"], "喝茶", "{timers}");
    assert!(timers[0]["seconds_left"].as_i64().unwrap() <= 2, "{timers}");
    assert_eq!(d.status()["timers"], 1);
    let set = d.wait_entry("the set line", |e| e["MESSAGE"] == "timer set");
    assert_eq!(field(&set, "LANG"), "zh");
    assert_eq!(num(&set, "LABEL_CHARS"), 2);

    let rang = d.wait_entry("the ring line", |e| e["MESSAGE"] == "timer rang");
    assert!(num(&rang, "LATE_MS") < 1000, "on time: {rang}");
    d.wait_state("ringing");
    // The chime, then the label said by the Chinese voice: the words handed to espeak-ng, and
    // a stretch of speech at the card after the chime (a high pitched sound under a second).
    let said = support::poll(support::PATIENCE, Duration::from_millis(100), || {
        let calls = support::espeak_calls(&log);
        let sounds = Audio::read(dir).sounds();
        (!calls.is_empty() && sounds.iter().any(|s| s.secs >= 0.5)).then_some((calls, sounds))
    });
    let (calls, sounds) = said.expect("the ring was not heard");
    assert_eq!(
        calls[0],
        ("cmn-latn-pinyin".to_string(), "时间到：喝茶。".to_string())
    );
    assert!(
        sounds[0].secs > 0.6 && sounds[0].secs < 1.3,
        "the chime first: {sounds:?}"
    );

    // A press silences it and starts nothing: idle, the microphone not opened for a turn.
    assert_eq!(ctl(&d, &["tap"]), "ok");
    d.wait_state("idle");
    let stopped = d.wait_entry("the stop line", |e| e["MESSAGE"] == "timer stopped ringing");
    assert_eq!(field(&stopped, "HOW"), "pressed");
    assert_eq!(
        d.status()["last_turn"],
        serde_json::Value::Null,
        "no turn: {}",
        d.status()
    );
    let before = Audio::read(dir).peaks.len();
    std::thread::sleep(Duration::from_secs(3));
    let calls = support::espeak_calls(&log).len();
    assert!(calls <= 2, "it kept ringing: {calls} rings");
    assert!(
        Audio::read(dir).peaks.len() <= before + 48_000,
        "sound went on after the press"
    );
    assert_eq!(d.status()["timers"], 0);
    // The label is the user's words: never at INFO.
    for e in d.journal() {
        if num(&e, "PRIORITY") <= 5 {
            assert!(!e.to_string().contains("喝茶"), "private text at INFO: {e}");
        }
    }
}

#[test]
fn timers_survive_a_restart_and_ring_at_their_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = tone_mic(dir);
    let mut config = Config::daemon("http://127.0.0.1:9");
    config.set("tools", "ring_s", "1");
    let (path, log) = support::logging_espeak(dir);
    let launch = || Launch::new(&mic).env("PATH", path.clone());
    let mut d = Daemon::launch(dir, &config, launch());
    assert!(set_timer(&d, 4, "dinner", "en").starts_with("ok "));
    assert!(set_timer(&d, 3600, "later", "vi").starts_with("ok "));
    // Restarted before it is due: it still rings, at its time.
    d.stop();
    let d = Daemon::launch(dir, &config, launch());
    assert_eq!(d.status()["timers"], 2);
    let rang = d.wait_entry("the ring line", |e| e["MESSAGE"] == "timer rang");
    assert!(num(&rang, "LATE_MS") < 1000, "on time: {rang}");
    // ring_s = 1: one ring, then idle by itself.
    let ended = d.wait_entry("the end of the ring", |e| {
        e["MESSAGE"] == "timer stopped ringing"
    });
    assert_eq!(field(&ended, "HOW"), "rang_out");
    d.wait_state("idle");
    let calls = support::espeak_calls(&log);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].1, "Time's up: dinner.");
    // The chime (about a second) and the words: two stretches of sound at the card.
    let sounds = Audio::read(dir).sounds();
    assert_eq!(sounds.len(), 2, "{sounds:?}");
    let timers: serde_json::Value = serde_json::from_str(&ctl(&d, &["timers"])).unwrap();
    assert_eq!(timers[0]["label"], "later", "{timers}");
    assert_eq!(timers.as_array().unwrap().len(), 1);
}
