//! The MCP servers of `tests/mcp/servers.py`, built on the official Python SDK (`mcp` 2.x): the
//! argv of a stdio server, and a streamable-HTTP server behind a Bearer token as a child. Each
//! records the tool calls it received (tool and arguments) in a file the tests read.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The venv's python, made by `tests/mcp/venv` when missing (normally `.ci/install-deps` has
/// made it).
pub fn python() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/venv");
    let out = Command::new(&script).output().expect("run tests/mcp/venv");
    assert!(
        out.status.success(),
        "tests/mcp/venv failed (it installs the `mcp` package from PyPI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/servers.py")
}

/// The argv of a stdio server recording into `record`.
pub fn stdio_argv(record: &Path) -> Vec<String> {
    vec![
        python().display().to_string(),
        script().display().to_string(),
        "stdio".into(),
        record.display().to_string(),
    ]
}

/// The calls recorded in `record`, oldest first: `{"tool": …, "arguments": {…}}`.
pub fn calls(record: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A streamable-HTTP server at `http://127.0.0.1:PORT/mcp` expecting `Bearer TOKEN`; killed
/// when dropped.
pub struct HttpServer {
    child: Child,
    pub port: u16,
    pub record: PathBuf,
}

impl HttpServer {
    /// `json`: answers as `application/json` instead of an event stream.
    pub fn start(dir: &Path, token: &str, json: bool) -> HttpServer {
        let record = dir.join(format!("http-{}.jsonl", if json { "json" } else { "sse" }));
        let stderr = dir.join("http.stderr");
        let mut command = Command::new(python());
        command
            .arg(script())
            .arg("http")
            .arg(&record)
            .arg(token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        if json {
            command.arg("--json");
        }
        let mut child = command.spawn().expect("start tests/mcp/servers.py");
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
                    "the MCP HTTP server did not start: {line:?} {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        HttpServer {
            child,
            port,
            record,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    pub fn calls(&self) -> Vec<serde_json::Value> {
        calls(&self.record)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
