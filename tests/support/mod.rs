//! Helpers shared by the integration tests: the one place for configs, the test sound card,
//! hook scripts, the daemon as a child process and the real or fake servers around it.
//! One test binary (`tests/it`) uses them all; the benches include a subset.
//!
//! - `cli`         the binary run once as a user runs it (`ask`, `check`, `listen`).
//! - `config`      test configs built key by key (`Config::ollama`, `::daemon`, `::speaker`).
//! - `sound`       the test sound card: microphone inputs, what reached the speaker.
//! - `daemon`      `voicebox run` as a child, driven through its control socket.
//! - `say`         `voicebox say` as a child.
//! - `procfs`      what /proc says about a process: threads, fds, children, RSS, CPU.
//! - `fake_ollama` a scripted HTTP server that replays the recorded Ollama responses.
//! - `nginx`       a real nginx in front of it, for the proxy's own 502/504 pages.
//! - `journald`    a real systemd-journald, read back with `journalctl`.
//! - `speech_servers` Wyoming STT/TTS (official Python package, pocketsphinx, espeak-ng) and an
//!   OpenAI-compatible speech endpoint, as children that log what they received.
//! - `mcp_servers` MCP servers on the official Python SDK (stdio, and streamable HTTP behind a
//!   Bearer token) that record the tool calls they receive.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod fake_ollama;
pub mod journald;
pub mod mcp_servers;
pub mod nginx;
pub mod procfs;
pub mod say;
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

/// Helpers a hostile hook leaves behind in sessions of their own, holding the hook's pipes:
/// nobody's children, so they are killed (by the pids they note in `file`) when this drops.
pub struct Helpers {
    pub file: PathBuf,
}

impl Helpers {
    pub fn new(dir: &Path) -> Helpers {
        Helpers {
            file: dir.join("helpers"),
        }
    }

    /// Shell that starts one such helper, sleeping `secs` with the hook's pipes open.
    pub fn start(&self, secs: u32) -> String {
        format!(
            "setsid sh -c 'echo $$ >> {}; exec sleep {secs}' &",
            self.file.display()
        )
    }

    /// How many were started so far.
    pub fn count(&self) -> usize {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .count()
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        let pids = std::fs::read_to_string(&self.file).unwrap_or_default();
        for pid in pids.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
            // SAFETY: signalling a helper this test started, by pid.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Puts a wrapper named `espeak-ng` first on PATH that logs its argv and the text it gets,
/// then runs the real one; returns the PATH to use and the log (read by `espeak_calls`).
pub fn logging_espeak(dir: &Path) -> (String, PathBuf) {
    let path = std::env::var("PATH").unwrap();
    let real = path
        .split(':')
        .map(|d| Path::new(d).join("espeak-ng"))
        .find(|p| p.exists())
        .expect("espeak-ng on PATH");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("espeak.log");
    script(
        &bin,
        "espeak-ng",
        &format!(
            r#"text=$(cat)
printf 'args=%s text=%s\n' "$*" "$text" >> {log}
printf '%s' "$text" | exec {real} "$@""#,
            log = log.display(),
            real = real.display()
        ),
    );
    (format!("{}:{path}", bin.display()), log)
}

/// (voice, text) of each call `logging_espeak` logged, in order.
pub fn espeak_calls(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (args, text) = l.split_once(" text=").unwrap();
            let voice = args
                .split(' ')
                .skip_while(|a| *a != "-v")
                .nth(1)
                .unwrap_or("");
            (voice.to_string(), text.to_string())
        })
        .collect()
}

/// A TTS hook that runs `espeak-ng --stdout ARGS` (`espeak_args` in shell syntax over the
/// hook's own arguments, e.g. `-- "$1"`) and logs `start NS ARGS...` before each call and
/// `end NS` after it; returns the hook and its log (read by `synth_starts`).
pub fn timed_espeak(dir: &Path, espeak_args: &str) -> (PathBuf, PathBuf) {
    let log = dir.join("synth.log");
    let hook = script(
        dir,
        "tts-logged",
        &format!(
            r#"echo "start $(date +%s%N) $*" >> {log}
espeak-ng --stdout {espeak_args} > {log}.$$
echo "end $(date +%s%N)" >> {log}
cat {log}.$$
rm -f {log}.$$"#,
            log = log.display()
        ),
    );
    (hook, log)
}

/// When each call `timed_espeak` logged started (Unix ns), and its arguments.
pub fn synth_starts(log: &Path) -> Vec<(u64, String)> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("start "))
        .map(|l| {
            let (at, args) = l.split_once(' ').unwrap_or((l, ""));
            (at.parse().unwrap(), args.to_string())
        })
        .collect()
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
