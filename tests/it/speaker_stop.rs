//! `Speaker::stop` on real components: it kills the in-flight TTS hook, drops the rest of the
//! reply, posts `Spoken { stopped: true }`, and the speaker speaks again afterwards.
//!
//! ALSA_CONFIG_PATH is per process, so this binary holds exactly one test and sets it first.

use std::time::{Duration, Instant};

use crate::support::config::Config;
use crate::support::sound::{Audio, output_file, speaker_files};
use crate::support::{alsa_conf, script};
use voicebox::audio::earcons::Earcon;
use voicebox::event::Event;
use voicebox::speaker::pipeline::Speaker;

#[test]
fn stop_kills_synthesis_drops_the_reply_then_idles_closed_and_plays_earcons() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: the only test in this process, and no other thread exists yet that reads the env.
    unsafe {
        std::env::set_var("ALSA_CONFIG_PATH", alsa_conf());
        std::env::set_var("VOICEBOX_TEST_SPK", speaker_files(dir.path()));
    }
    let log = dir.path().join("synth.log");
    let hook = script(
        dir.path(),
        "tts-hang",
        &format!(
            r#"echo "start $1" >> {log}
case "$1" in *hang*) sleep 60;; *fail*) echo no voice >&2; exit 1;; esac
exec espeak-ng --stdout -- "$1""#,
            log = log.display()
        ),
    );
    let config = Config::speaker(&[hook.to_str().unwrap(), "{text}"])
        .set("tts", "timeout_ms", "60000")
        .parse();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let speaker = Speaker::spawn(&config, Some(tx)).unwrap();

    speaker.speak(
        7,
        "Now hang on forever please. This sentence is never spoken.",
    );
    // Wait until the first sentence's synthesis (the hanging one) is in flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("hang")
    {
        assert!(
            Instant::now() < deadline,
            "the second synthesis never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stopped_at = Instant::now();
    speaker.stop();
    let event = loop {
        match rx.try_recv() {
            Ok(e) => break e,
            Err(_) => {
                // Liveness, not performance: without the kill this would wait for the hook's
                // 60 s sleep.
                assert!(
                    stopped_at.elapsed() < Duration::from_secs(30),
                    "stop did not kill the hook"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    let Event::Spoken { turn, report } = event else {
        panic!("unexpected event {event:?}")
    };
    assert_eq!(turn, 7);
    assert!(report.stopped, "{report:?}");
    assert_eq!((report.sentences, report.failed), (2, 0), "{report:?}");
    assert_eq!(report.first_audio_ms, None, "{report:?}");

    // After a stop the speaker works again.
    let again = speaker.speak_and_wait("Speaking again after the stop.");
    assert!(!again.stopped && again.failed == 0, "{again:?}");
    // Idle means idle: after the linger (100 ms) the output is closed. An open output on the
    // unpaced file device would keep writing silence many times faster than real time.
    let out = output_file(dir.path()).expect("no output file");
    std::thread::sleep(Duration::from_secs(1));
    let size = std::fs::metadata(&out).unwrap().len();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        size,
        "the output stayed open"
    );
    drop(speaker);

    let synthesized = std::fs::read_to_string(&log).unwrap();
    assert!(!synthesized.contains("never spoken"), "{synthesized}");
    let stretches = Audio::read(dir.path()).stretches();
    assert_eq!(stretches.len(), 1, "only the later reply: {stretches:?}");

    earcons_play(&config);
    stop_silences_a_clip_mid_play(&config);
    a_reply_nobody_heard_plays_nothing(&config);
    ready_opens_the_output_and_holds_it(&config);
}

/// `ready` (a timer is about to ring) opens the output with nothing to play and holds it open
/// for its hold, past the 100 ms linger; then it closes as ever. The unpaced file device
/// writes silence while open, so the output file grows exactly while the output is open.
fn ready_opens_the_output_and_holds_it(config: &voicebox::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: as above; the speaker below is the only audio user from here on.
    unsafe { std::env::set_var("VOICEBOX_TEST_SPK", speaker_files(dir.path())) };
    let speaker = Speaker::spawn(config, None).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    speaker.ready(Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(20);
    let out = loop {
        if let Some(out) = output_file(dir.path()) {
            break out;
        }
        assert!(Instant::now() < deadline, "ready opened no output");
        std::thread::sleep(Duration::from_millis(10));
    };
    let opened = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let at_half = size(&out);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        size(&out) > at_half,
        "closed after the 100 ms linger, not held for 2 s"
    );
    std::thread::sleep(Duration::from_secs(3).saturating_sub(opened.elapsed()));
    let after = size(&out);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(size(&out), after, "still open after its hold");
    drop(speaker);
    assert!(
        Audio::read(dir.path()).stretches().is_empty(),
        "ready made a sound"
    );
}

/// The speaker only reports that every sentence failed: deciding to play the error earcon is
/// the machine's (or the CLI's) job, so the daemon plays it once, not twice.
fn a_reply_nobody_heard_plays_nothing(config: &voicebox::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: as above; the speaker below is the only audio user from here on.
    unsafe { std::env::set_var("VOICEBOX_TEST_SPK", speaker_files(dir.path())) };
    let speaker = Speaker::spawn(config, None).unwrap();
    let report = speaker.speak_and_wait("Please fail here. And fail again.");
    assert_eq!((report.sentences, report.failed), (2, 2), "{report:?}");
    // Anything played is on the device once the output has lingered and closed.
    std::thread::sleep(Duration::from_millis(500));
    drop(speaker);
    let heard = Audio::read(dir.path()).stretches();
    assert!(heard.is_empty(), "the speaker played {heard:?} on its own");
}

/// The error earcon is one short sound (two beeps 80 ms apart count as one stretch).
fn earcons_play(config: &voicebox::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: every output is closed (the speaker above was dropped); nothing reads the env now.
    unsafe { std::env::set_var("VOICEBOX_TEST_SPK", speaker_files(dir.path())) };
    let speaker = Speaker::spawn(config, None).unwrap();
    speaker.earcon(Earcon::Error);
    // Wait (bounded) for the whole earcon to reach the device, then let the output close.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !Audio::read(dir.path()).stretches().iter().any(|s| *s > 0.3) {
        assert!(Instant::now() < deadline, "the earcon never played");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(speaker);
    let heard = Audio::read(dir.path()).stretches();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!((0.3..0.5).contains(&heard[0]), "{heard:?}");
}

/// A 60 s tone is stopped as soon as the device has started writing it.
fn stop_silences_a_clip_mid_play(config: &voicebox::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: as above; the playback actor below is the only audio user from here on.
    unsafe { std::env::set_var("VOICEBOX_TEST_SPK", speaker_files(dir.path())) };
    let rate = 22050;
    let samples = (0..rate * 60)
        .map(|i| 0.3 * (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin())
        .collect();
    let clip = voicebox::audio::Clip {
        samples,
        rate: rate as u32,
        channels: 1,
    };
    let playback = voicebox::audio::playback::Playback::spawn(&config.audio);
    let done = playback.play(clip, Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Audio::read(dir.path()).peaks.iter().all(|p| *p < 0.01) {
        assert!(
            Instant::now() < deadline,
            "the tone never reached the device"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    playback.stop();
    let played = done.recv().unwrap();
    assert!(played.stopped && played.started.is_some(), "{played:?}");
    drop(playback);
    let heard = Audio::read(dir.path()).stretches();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0] < 50.0, "the tone was not cut: {heard:?}");
}
