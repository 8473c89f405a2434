//! The remote speech servers of `tests/wyoming/servers.py` as children: Wyoming STT
//! (pocketsphinx) and TTS (espeak-ng) built with the official Python package, and an
//! OpenAI-compatible speech endpoint. Each logs what it received; stopped when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{PATIENCE, poll};

/// The venv's python, made by `tests/wyoming/venv` when missing (normally `.ci/install-deps`
/// has made it).
pub fn python() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wyoming/venv");
    let out = Command::new(&script)
        .output()
        .expect("run tests/wyoming/venv");
    assert!(
        out.status.success(),
        "tests/wyoming/venv failed (it installs the `wyoming` package from PyPI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// `servers.py KIND --log DIR/KIND.log FLAGS…`, once it listens.
    pub fn start(dir: &Path, kind: &str, flags: &[&str]) -> Server {
        let log = dir.join(format!("{kind}.log"));
        let mut child = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wyoming/servers.py"))
            .arg(kind)
            .arg("--log")
            .arg(&log)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("{kind}.stderr"))).unwrap())
            .spawn()
            .expect("start tests/wyoming/servers.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{kind} server did not start: {line:?} {}",
                    std::fs::read_to_string(dir.join(format!("{kind}.stderr"))).unwrap_or_default()
                )
            });
        Server { child, port, log }
    }

    /// `tcp://127.0.0.1:PORT`, as `stt.url` / `tts.url` (TOML-quoted).
    pub fn wyoming_url(&self) -> String {
        format!("\"tcp://127.0.0.1:{}\"", self.port)
    }

    /// `http://127.0.0.1:PORT/v1/audio/speech` (TOML-quoted).
    pub fn speech_url(&self) -> String {
        format!("\"http://127.0.0.1:{}/v1/audio/speech\"", self.port)
    }

    /// Everything received so far, oldest first.
    pub fn log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The received entries of `kind` (`"audio-chunk"`, `"synthesize"`, …).
    pub fn received(&self, kind: &str) -> Vec<serde_json::Value> {
        self.log()
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// The text of each `synthesize` received, in order.
    pub fn synthesized(&self) -> Vec<String> {
        self.received("synthesize")
            .iter()
            .map(|e| e["data"]["text"].as_str().unwrap_or("?").to_string())
            .collect()
    }

    /// Waits until `count` entries of `kind` were received; panics after `PATIENCE`.
    pub fn wait_for(&self, kind: &str, count: usize) -> Vec<serde_json::Value> {
        poll(PATIENCE, Duration::from_millis(20), || {
            let got = self.received(kind);
            (got.len() >= count).then_some(got)
        })
        .unwrap_or_else(|| panic!("{count} × {kind} never arrived: {:?}", self.log()))
    }

    /// The event types received, in order, consecutive repeats folded (`audio-chunk…`).
    pub fn sequence(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.log() {
            let kind = e["type"].as_str().unwrap_or("?").to_string();
            if out.last() != Some(&kind) {
                out.push(kind);
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        super::stop_child(&mut self.child, libc::SIGTERM);
    }
}
