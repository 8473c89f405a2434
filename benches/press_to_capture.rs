//! Press-to-first-sample latency: `Capture::start` (what a control-socket `press` or a button
//! edge triggers) until `CaptureStarted` (the first captured frame) arrives on the event
//! channel. Runs on the test ALSA config (file plugin over null, /dev/zero), so it measures the
//! software path — actor wake-up, device open, buffer allocation, stream start — not a real
//! microphone's start-up. Prints median/min/max over N runs (`N` env var, default 50).

use std::time::{Duration, Instant};

use voicebox::audio::capture::{Capture, Listen};
use voicebox::config;
use voicebox::event::Event;

fn main() {
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/alsa/voicebox-test.conf");
    // SAFETY: set before any other thread exists; ALSA reads it when the first device opens.
    unsafe {
        std::env::set_var("ALSA_CONFIG_PATH", conf);
        std::env::remove_var("VOICEBOX_TEST_MIC");
    }
    let runs: usize = std::env::var("N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let cfg = config::parse(config::DEFAULT_TOML, None, &|_| None).expect("default config");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let capture = Capture::spawn(&cfg.audio, tx);

    let mut times = Vec::with_capacity(runs);
    for turn in 0..runs as u64 + 1 {
        let t0 = Instant::now();
        capture.start(turn, Listen::default());
        loop {
            match rx.blocking_recv() {
                Some(Event::CaptureStarted { turn: t }) if t == turn => break,
                Some(Event::Captured { result: Err(f), .. }) => panic!("capture failed: {f}"),
                Some(_) => continue,
                None => panic!("capture actor gone"),
            }
        }
        let dt = t0.elapsed();
        capture.cancel();
        if turn > 0 {
            times.push(dt); // the first run pays ALSA's one-time config parse
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "press_to_capture: runs={} median={:.2} ms min={:.2} ms max={:.2} ms (audio.buffer_frames={}, max_record_s={})",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        cfg.audio.buffer_frames,
        cfg.audio.max_record.as_secs()
    );
}
