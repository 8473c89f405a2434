//! Helpers shared by the integration tests: the one place for configs, the test sound card,
//! hook scripts, the daemon as a child process and the real or fake servers around it.
//! Each test binary uses a different subset, hence the dead-code allowance.
//!
//! - `config`      test configs built key by key (`Config::ollama`, `::daemon`, `::speaker`).
//! - `sound`       the test sound card: microphone inputs, what reached the speaker.
//! - `daemon`      `voicebox run` as a child, driven through its control socket.
//! - `procfs`      what /proc says about a process: threads, fds, children, RSS, CPU.
//! - `fake_ollama` a scripted HTTP server that replays the recorded Ollama responses.
//! - `nginx`       a real nginx in front of it, for the proxy's own 502/504 pages.
//! - `journald`    a real systemd-journald, read back with `journalctl`.
//! - `speech_servers` Wyoming STT/TTS (official Python package, pocketsphinx, espeak-ng) and an
//!   OpenAI-compatible speech endpoint, as children that log what they received.
#![allow(dead_code)]

pub mod config;
pub mod daemon;
pub mod fake_ollama;
pub mod journald;
pub mod nginx;
pub mod procfs;
pub mod sound;
pub mod speech_servers;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long any "wait until" in these tests may take before it counts as a failure. Generous:
/// pocketsphinx and espeak-ng share two cores with the rest of the suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The ALSA config that makes the test sound card the default device (`tests/alsa`).
pub fn alsa_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alsa/voicebox-test.conf")
}

/// Writes an executable shell script into `dir` (a test's hook wrapper) and returns its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
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
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Calls `probe` every `every` until it returns something or `limit` has passed (`None`).
pub fn poll<T>(
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let end = std::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if std::time::Instant::now() >= end {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// `key=value` of a field in a text log line (`response_chars=12`), quotes stripped.
pub fn log_field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace().find_map(|w| {
        w.strip_prefix(key)?
            .strip_prefix('=')
            .map(|v| v.trim_matches('"').to_string())
    })
}
