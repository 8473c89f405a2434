//! The capture actor as the daemon drives it (start / SpeechEnded / stop / cancel), on the real
//! ALSA `file` plugin. ALSA's config is per process, so each test re-runs this test binary as a
//! child with its own environment and does the work there.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use voicebox::audio::capture::{Capture, Listen};
use voicebox::bus::EventReceiver;
use voicebox::config;
use voicebox::event::Event;

const CHILD: &str = "VOICEBOX_CAPTURE_TEST_CHILD";

/// Runs `name` again in a child process with the test ALSA config and `mic` as the input.
fn in_child(name: &str, mic: &Path) {
    // The test's full name in this binary: its module path without the crate (`capture::…`).
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &format!("{module}::{name}"),
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .env("ALSA_CONFIG_PATH", support::alsa_conf())
        .env("VOICEBOX_TEST_MIC", mic)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

fn audio() -> config::Audio {
    config::parse(config::DEFAULT_TOML, None, &|_| None)
        .unwrap()
        .audio
}

fn next(rx: &mut EventReceiver) -> Event {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), rx.recv()).await })
        .expect("an event within 20 s")
        .expect("the actor is alive")
}

#[test]
fn toggle_mode_hears_the_end_of_speech_then_stop_keeps_post_roll() {
    if std::env::var_os(CHILD).is_none() {
        let dir = tempfile::tempdir().unwrap();
        let mic = support::sound::spoken_mic(dir.path(), "what is the capital of france");
        return in_child(
            "toggle_mode_hears_the_end_of_speech_then_stop_keeps_post_roll",
            &mic,
        );
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let capture = Capture::spawn(&audio(), tx);
    capture.start(
        7,
        Listen {
            detect_end: true,
            ..Listen::default()
        },
    );
    assert!(matches!(next(&mut rx), Event::CaptureStarted { turn: 7 }));
    assert!(matches!(next(&mut rx), Event::SpeechEnded { turn: 7 }));
    capture.stop(7);
    match next(&mut rx) {
        Event::Captured {
            turn: 7,
            result: Ok(rec),
        } => {
            assert!(rec.has_speech);
            assert_eq!((rec.clip.rate, rec.clip.channels), (16000, 1));
            // 0.5 s lead-in + about 2 s of speech + 1.2 s hangover + 0.25 s post-roll at least
            // (the unpaced device may run ahead before `stop` arrives; max_record caps it).
            assert!(
                rec.record_ms >= 3500 && rec.record_ms <= 30_000,
                "{}",
                rec.record_ms
            );
            // record_ms is whole milliseconds of the same audio.
            assert_eq!(rec.clip.samples.len() as u64 / 16, rec.record_ms);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn cancel_posts_nothing_and_a_new_start_works() {
    if std::env::var_os(CHILD).is_none() {
        return in_child(
            "cancel_posts_nothing_and_a_new_start_works",
            Path::new("/dev/zero"),
        );
    }
    let mut a = audio();
    // Long enough that turn 1 cannot fill it before `cancel` lands: the unpaced device reads
    // seconds of audio in milliseconds, and at 1 s a loaded machine let turn 1 finish first
    // (its `Captured` then arrived instead of turn 2's start, about one run in six).
    a.max_record = Duration::from_secs(10);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let capture = Capture::spawn(&a, tx);
    capture.start(1, Listen::default());
    assert!(matches!(next(&mut rx), Event::CaptureStarted { turn: 1 }));
    capture.cancel();
    // Turn 2 runs to max_record by itself; nothing from turn 1 comes in between.
    capture.start(2, Listen::default());
    assert!(matches!(next(&mut rx), Event::CaptureStarted { turn: 2 }));
    match next(&mut rx) {
        Event::Captured {
            turn: 2,
            result: Ok(rec),
        } => {
            assert_eq!(rec.record_ms, 10_000);
            assert!(!rec.has_speech);
        }
        e => panic!("{e:?}"),
    }
    drop(capture);
    assert!(rx.try_recv().is_err(), "nothing else was posted");
}

/// A follow-up window: with nobody speaking the recording ends after the window's worth of
/// audio (counted in samples, so the unpaced device gives the exact length); with speech it
/// goes on until the end of speech.
#[test]
fn a_follow_up_window_ends_a_silent_recording_but_not_a_spoken_one() {
    let spoken = std::env::var("VOICEBOX_TEST_MIC").is_ok_and(|m| m != "/dev/zero");
    if std::env::var_os(CHILD).is_none() {
        let name = "a_follow_up_window_ends_a_silent_recording_but_not_a_spoken_one";
        in_child(name, Path::new("/dev/zero"));
        let dir = tempfile::tempdir().unwrap();
        let mic = support::sound::spoken_mic(dir.path(), "yes please tell me more");
        return in_child(name, &mic);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let capture = Capture::spawn(&audio(), tx);
    // The spoken input starts after 0.5 s of silence: well inside a 2 s window.
    let listen = Listen {
        detect_end: true,
        speech_within: Some(Duration::from_secs(2)),
        feed: None,
    };
    capture.start(3, listen);
    assert!(matches!(next(&mut rx), Event::CaptureStarted { turn: 3 }));
    let mut ended = false;
    let rec = loop {
        match next(&mut rx) {
            Event::SpeechEnded { turn: 3 } => {
                ended = true;
                capture.stop(3);
            }
            Event::Captured {
                turn: 3,
                result: Ok(rec),
            } => break rec,
            e => panic!("{e:?}"),
        }
    };
    if spoken {
        assert!(ended && rec.has_speech, "{rec:?}");
        assert!(
            rec.record_ms > 2000,
            "went on past the window: {}",
            rec.record_ms
        );
    } else {
        assert!(!ended && !rec.has_speech);
        assert!((2000..2100).contains(&rec.record_ms), "{}", rec.record_ms);
    }
}
