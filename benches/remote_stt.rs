//! Speech to text over Wyoming: the time from the end of the recording to the transcript, with
//! the audio sent while it is recorded (`stt.stream = true`) against all of it after the end
//! (`false`), on the same server: `tests/wyoming/servers.py stt` (official Python package,
//! pocketsphinx fed chunk by chunk as it arrives, as a streaming recogniser is).
//!
//! Each run is `voicebox listen --seconds 4` on a microphone paced to real time (a FIFO fed by
//! pv) saying "what is the capital of france"; `stt_ms` comes from its log line. Variants are
//! interleaved per repetition. `cargo bench --bench remote_stt` runs 10 each (`BENCH_RUNS=N`);
//! `cargo test --benches` runs one each, as a smoke test.

// A bench uses a few of the shared test helpers; the rest is dead code here.
#[path = "../tests/support/mod.rs"]
#[allow(unused_imports, dead_code)]
mod support;

use std::process::Command;

use support::config::Config;
use support::sound::{PacedMic, spoken_mic};
use support::speech_servers::Server;

const QUESTION: &str = "what is the capital of france";

fn main() -> anyhow::Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 10 } else { 1 });
    let tmp = tempfile::tempdir()?;
    let server = Server::start(tmp.path(), "stt", &[]);
    let mut results: Vec<(bool, Vec<u64>)> = vec![(true, vec![]), (false, vec![])];
    for rep in 0..runs {
        for (stream, times) in results.iter_mut() {
            let dir = tmp.path().join(format!("run-{rep}-{stream}"));
            std::fs::create_dir(&dir)?;
            let mic = PacedMic::new(&dir, &spoken_mic(&dir, QUESTION));
            let mut config = Config::new();
            config
                .set("stt", "url", &server.wyoming_url())
                .set("stt", "stream", &stream.to_string())
                .set("audio", "buffer_frames", "512");
            let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
                .arg("--config")
                .arg(config.write(&dir))
                .args(["listen", "--seconds", "4"])
                .env("ALSA_CONFIG_PATH", support::alsa_conf())
                .env("VOICEBOX_TEST_MIC", &mic.fifo)
                .env("NO_COLOR", "1")
                .env_remove("JOURNAL_STREAM")
                .output()?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            // The gist: a paced FIFO on a loaded machine now and then costs a small word.
            anyhow::ensure!(
                String::from_utf8_lossy(&out.stdout).contains("capital of france"),
                "stream={stream}: wrong transcript: {stderr}"
            );
            let ms = stderr
                .lines()
                .find(|l| l.contains("transcribed"))
                .and_then(|l| support::log_field(l, "stt_ms"))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("no stt_ms: {stderr}"))?;
            times.push(ms);
        }
    }
    println!("| audio sent | median ms | min | max | N |");
    println!("|---|---|---|---|---|");
    for (stream, mut times) in results {
        times.sort_unstable();
        let n = times.len();
        let median = (times[(n - 1) / 2] + times[n / 2]) as f64 / 2.0;
        let what = if stream {
            "while recording (stt.stream = true)"
        } else {
            "after the recording (stt.stream = false)"
        };
        println!(
            "| {what} | {median} | {} | {} | {n} |",
            times[0],
            times[n - 1],
        );
    }
    Ok(())
}
