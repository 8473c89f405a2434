//! The binary run as a user runs it: one command, a clean environment, its output as text.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `voicebox --config CONFIG ARGS` with a clean environment (no Ollama variables, no
/// journald, no colours, no proxy) and `RUST_LOG=rust_log`.
pub fn voicebox(config: &Path, rust_log: &str, args: &[&str]) -> Output {
    voicebox_with(config, rust_log, args, &[])
}

/// `voicebox` with extra environment variables (set after the clean-up).
pub fn voicebox_with(config: &Path, rust_log: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("OLLAMA_HOST")
        .env_remove("OLLAMA_API_KEY")
        .env_remove("VOICEBOX_CONFIG")
        .env_remove("JOURNAL_STREAM")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env("RUST_LOG", rust_log)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// The line `main` prints for an error (the log lines around it are separate).
pub fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("voicebox: "))
        .unwrap_or_else(|| panic!("no error line in {stderr}"))
}
