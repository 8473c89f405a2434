//! Time to first audio for a six-sentence reply (perf-anchors.md section 5): voicebox's
//! sentence-wise pipeline against synthesizing the whole reply and then playing it, measured in
//! one run (variants interleaved per repetition), plus voicebox's overhead above the TTS hook.
//!
//! Runs on the test ALSA config (no sound card; output to /dev/null), real espeak-ng.
//! `cargo bench --bench first_audio`, or in a debug build `cargo test --bench first_audio`.
//! `BENCH_RUNS=N` sets the repetitions (default 10, after 2 warm-ups).

use std::time::{Duration, Instant};

use voicebox::audio::playback::Playback;
use voicebox::cancel;
use voicebox::speaker::pipeline::Speaker;
use voicebox::text::{cleanup, sentences};
use voicebox::tts::Tts;

const REPLY: &str = "Sure, here is how to keep basil healthy indoors. \
Place the pot on a sunny windowsill where it gets at least six hours of light every day. \
Water it whenever the top inch of soil feels dry, but never let the roots sit in standing water. \
Pinch off the flower buds as soon as they appear, because flowering makes the leaves bitter. \
Harvest from the top of each stem so the plant grows bushier instead of taller. \
If the leaves turn yellow, feed it a diluted liquid fertilizer once a month.";

fn main() -> anyhow::Result<()> {
    let conf =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alsa/voicebox-test.conf");
    // SAFETY: set before any thread exists; ALSA reads it when the first device opens.
    unsafe {
        std::env::set_var("ALSA_CONFIG_PATH", conf);
        std::env::set_var("VOICEBOX_TEST_SPK", "/dev/null");
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let env = |k: &str| std::env::var(k).ok();
    let config = voicebox::config::parse(voicebox::config::DEFAULT_TOML, None, &env)?;
    let tts = Tts::new(&config.tts);
    let speaker = Speaker::spawn(&config, None)?;
    let playback = Playback::spawn(&config.audio);
    let cleaned = cleanup::for_speech(REPLY);
    let split = sentences::split(REPLY, &sentences::Rules::new(&config.tts));
    assert_eq!(split.len(), 6, "{split:?}");

    let (mut pipeline, mut hook_first, mut overhead, mut whole, mut whole_hook, mut ratio) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for rep in 0..runs + 2 {
        // Let the output close between variants, as on an idle box (linger).
        std::thread::sleep(config.audio.linger + Duration::from_millis(100));
        let r = speaker.speak_and_wait(REPLY);
        anyhow::ensure!(r.failed == 0 && r.device_error.is_none(), "{r:?}");
        let (Some(first), Some(tts_ms)) = (r.first_audio_ms, r.tts_first_ms) else {
            anyhow::bail!("no first audio: {r:?}");
        };

        std::thread::sleep(config.audio.linger + Duration::from_millis(100));
        let t0 = Instant::now();
        let clip = tts
            .synthesize(&cleaned.replace('\n', " "), "en", &cancel::Token::new())
            .map_err(|f| anyhow::anyhow!("{f}"))?;
        let hook_ms = t0.elapsed().as_secs_f64() * 1e3;
        let played = playback.play(clip, Duration::ZERO).recv()?;
        let started = played
            .started
            .ok_or_else(|| anyhow::anyhow!("whole reply did not play"))?;
        let whole_ms = started.duration_since(t0).as_secs_f64() * 1e3;

        if rep >= 2 {
            pipeline.push(first as f64);
            hook_first.push(tts_ms as f64);
            overhead.push(first as f64 - tts_ms as f64);
            whole.push(whole_ms);
            whole_hook.push(hook_ms);
            ratio.push(whole_ms / (first as f64).max(1.0));
        }
    }

    println!(
        "time to first audio, six-sentence reply (perf-anchors.md §5), N={runs} after 2 warm-ups, variants interleaved"
    );
    println!("| measure | median ms | min | max | N |");
    println!("|---|---|---|---|---|");
    row(
        "sentence-wise pipeline (Speaker): reply handed over → first sample to the device",
        &pipeline,
    );
    row(
        "  of which: TTS hook + WAV decode, first sentence",
        &hook_first,
    );
    row(
        "  voicebox overhead above hook + decode (cleanup, split, threads, device open, queue)",
        &overhead,
    );
    row(
        "whole reply synthesized, then played: → first sample to the device",
        &whole,
    );
    row(
        "  of which: TTS hook + WAV decode, whole reply",
        &whole_hook,
    );
    row("ratio whole / sentence-wise (per repetition)", &ratio);
    println!("(pipeline figures come from SpeechReport, in whole milliseconds)");
    Ok(())
}

fn row(name: &str, v: &[f64]) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let median = if s.is_empty() {
        f64::NAN
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    let (min, max) = (
        s.first().copied().unwrap_or(f64::NAN),
        s.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "| {name} | {median:.1} | {min:.1} | {max:.1} | {} |",
        s.len()
    );
}
