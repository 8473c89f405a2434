//! `voicebox say` (or another command that speaks) as a child process: the test sound card as
//! its speaker, its DEBUG log on stderr, and what reached the speaker.

use std::path::Path;
use std::process::{Command, Output};

use super::sound::{Audio, speaker_files};

pub struct Run {
    pub output: Output,
    pub stderr: String,
    pub audio: Audio,
}

/// Runs `voicebox --config CONFIG say TEXT` as a child with its own ALSA environment.
pub fn say(dir: &Path, config: &Path, text: &str) -> Run {
    say_with(dir, config, text, &[])
}

/// `say` with more environment (e.g. a `PATH` that puts a wrapper before a real program).
pub fn say_with(dir: &Path, config: &Path, text: &str, env: &[(&str, String)]) -> Run {
    // A reply may start with "-"; after "--" clap takes it as TEXT.
    run(dir, config, &["say", "--", text], env)
}

/// `voicebox --config CONFIG ARGS...` with its own ALSA environment and no Ollama variables.
pub fn run(dir: &Path, config: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ALSA_CONFIG_PATH", super::alsa_conf())
        .env("VOICEBOX_TEST_SPK", speaker_files(dir))
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .env_remove("JOURNAL_STREAM")
        .env_remove("OLLAMA_HOST")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    // stderr is a pipe, so the log has no colour codes to strip.
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let audio = Audio::read(dir);
    Run {
        output,
        stderr,
        audio,
    }
}
