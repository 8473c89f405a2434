//! Shared test helpers: the fake Ollama server and temp config files.
//! Each test binary uses a different subset, hence the dead-code allowance.
#![allow(dead_code)]

pub mod daemon;
pub mod fake_ollama;
pub mod journald;
pub mod nginx;

use std::path::{Path, PathBuf};

/// A test config for `url` with fast retries; `extra` lines (`key = value`) go into `[ollama]`
/// and replace the base line with the same key.
pub fn config_text(url: &str, extra: &str) -> String {
    let base = [
        format!("url = \"{url}\""),
        "model = \"llama3.2\"".into(),
        "endpoint = \"generate\"".into(),
        "attempts = 3".into(),
        "backoff_initial_ms = 20".into(),
        "backoff_max_ms = 80".into(),
        "connect_timeout_ms = 2000".into(),
        "request_timeout_s = 10".into(),
        "deadline_s = 30".into(),
        "warm_up = false".into(),
    ];
    let key = |l: &str| l.split('=').next().unwrap_or("").trim().to_string();
    let extra: Vec<&str> = extra.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut lines: Vec<String> = base
        .into_iter()
        .filter(|b| !extra.iter().any(|e| key(e) == key(b)))
        .collect();
    lines.extend(extra.iter().map(|e| e.to_string()));
    format!("[ollama]\n{}\n", lines.join("\n"))
}

/// Writes `config_text` into `dir/voicebox.toml`.
pub fn write_config(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let path = dir.join("voicebox.toml");
    std::fs::write(&path, config_text(url, extra)).unwrap();
    path
}

/// The validated `[ollama]` section for `url`, with no environment leaking in.
pub fn ollama_config(url: &str, extra: &str) -> voicebox::config::Ollama {
    let no_env = |_: &str| None;
    voicebox::config::parse(&config_text(url, extra), None, &no_env)
        .unwrap()
        .ollama
}

/// A loopback port nobody listens on (bound, read back, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops a child the test started: `signal` first, then SIGKILL if it is still running after
/// 5 s; always reaped, so no zombie outlives the test.
pub fn stop_child(child: &mut std::process::Child, signal: libc::c_int) {
    // SAFETY: signalling our own child by its pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
