//! What the fake server does with one request: a recorded fixture with its real status code,
//! content type and transfer encoding, or a scripted misbehaviour, written to the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The fixtures directory: `$VOICEBOX_FIXTURES`, else `shared/` beside the crate (CI), else
/// the shared tree on the development machine.
fn fixtures_dir() -> PathBuf {
    if let Ok(d) = std::env::var("VOICEBOX_FIXTURES") {
        return PathBuf::from(d);
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/ollama");
    if beside.is_dir() {
        return beside;
    }
    PathBuf::from("/work/shared/fixtures/ollama")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal response. `chunk` = Some(n): chunked transfer in n-byte chunks.
    Send {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        chunk: Option<usize>,
    },
    /// Read the request, answer nothing, keep the connection open until the client leaves.
    Hang,
    /// Read the request, then reset the connection (SO_LINGER 0).
    Reset,
    /// Read the request, then close without a byte.
    Close,
    /// Announce `body.len()` bytes (or chunked), send only the first `sent`, then close.
    Truncate {
        status: u16,
        content_type: String,
        body: Vec<u8>,
        sent: usize,
        chunked: bool,
    },
    /// Write these bytes as the whole response (not even HTTP), then close.
    Raw(Vec<u8>),
    /// A 200 JSON head (chunked), then one space every `every`, never the body's end (for at
    /// most 30 s): a proxy's read timeout never fires, only the client's whole-request deadline.
    Trickle(Duration),
    /// The reply, after a pause: a model that takes its time.
    Later(Duration, Box<Reply>),
    /// Generated at a model's pace, streamed or whole as the request asks (`paced.rs`).
    Paced(super::Pace),
}

const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    /// A fixture file with the status and content type the fixtures README gives it.
    pub fn fixture(name: &str) -> Reply {
        let body = fixture(name);
        let (status, content_type, chunked): (u16, &str, bool) = match name {
            n if n.starts_with("nginx-502") => (502, "text/html", false),
            n if n.starts_with("nginx-504") => (504, "text/html", false),
            n if n.starts_with("error-model-not-found") => (404, JSON, false),
            n if n.starts_with("error-") => (400, JSON, false),
            n if n.starts_with("ollama-405") => (405, "text/plain", false),
            n if n.ends_with(".ndjson") => (200, "application/x-ndjson", true),
            n if n.ends_with(".txt") => (200, "text/plain; charset=utf-8", false),
            _ => (200, JSON, false),
        };
        let mut reply = Reply::send(status, content_type, body);
        if name.starts_with("nginx-") {
            reply = reply.header("Server", "nginx/1.22.1");
        }
        if chunked { reply.chunked(64) } else { reply }
    }

    pub fn send(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Send {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            chunk: None,
        }
    }

    pub fn nginx_502() -> Reply {
        Reply::fixture("nginx-502.html")
    }

    pub fn nginx_504() -> Reply {
        Reply::fixture("nginx-504.html")
    }

    /// `/api/generate` non-streaming success with this text, shaped like the real server's.
    pub fn generate(text: &str) -> Reply {
        let body = serde_json::json!({
            "model": "llama3.2", "created_at": "2026-01-01T00:00:00.1Z", "response": text,
            "done": true, "done_reason": "stop", "total_duration": 5_043_500_667u64
        });
        Reply::send(200, JSON, body.to_string())
    }

    /// The answer to a model load (an empty prompt): `done_reason` "load".
    pub fn loaded() -> Reply {
        Reply::send(
            200,
            JSON,
            r#"{"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","response":"","done":true,"done_reason":"load"}"#,
        )
    }

    /// `/api/chat` non-streaming success with this text.
    pub fn chat(text: &str) -> Reply {
        let body = serde_json::json!({
            "model": "llama3.2", "created_at": "2026-01-01T00:00:00.1Z",
            "message": {"role": "assistant", "content": text},
            "done": true, "done_reason": "stop"
        });
        Reply::send(200, JSON, body.to_string())
    }

    /// `/api/chat` non-streaming reply that calls tools, in the older servers' shape
    /// (`function.name` and `function.arguments` only, as docs/api.md shows it).
    pub fn chat_calls(calls: &[(&str, serde_json::Value)]) -> Reply {
        let calls: Vec<serde_json::Value> = calls
            .iter()
            .map(|(name, args)| serde_json::json!({"function": {"name": name, "arguments": args}}))
            .collect();
        Reply::chat_with_calls("", calls)
    }

    /// The same in the newer shape (`id`, `function.index`), with `content` beside the calls.
    pub fn chat_calls_ids(content: &str, calls: &[(&str, serde_json::Value)]) -> Reply {
        let calls: Vec<serde_json::Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| {
                serde_json::json!({"id": format!("call_{i:08}"), "function": {"index": i, "name": name, "arguments": args}})
            })
            .collect();
        Reply::chat_with_calls(content, calls)
    }

    fn chat_with_calls(content: &str, calls: Vec<serde_json::Value>) -> Reply {
        let body = serde_json::json!({
            "model": "qwen3:4b", "created_at": "2026-11-26T08:12:03.52091Z",
            "message": {"role": "assistant", "content": content, "tool_calls": calls},
            "done_reason": "stop", "done": true, "total_duration": 2_113_450_912u64
        });
        Reply::send(200, JSON, body.to_string())
    }

    /// `POST /api/show`: the model's details, with these `capabilities` (`None`: an older
    /// server that lists none).
    pub fn show(capabilities: Option<&[&str]>) -> Reply {
        let mut body = serde_json::json!({
            "modelfile": "FROM qwen3:4b", "template": "{{ .Prompt }}",
            "details": {"family": "qwen3", "parameter_size": "4.0B", "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "qwen3"},
            "modified_at": "2026-11-26T08:00:00.0Z"
        });
        if let Some(c) = capabilities {
            body["capabilities"] = serde_json::json!(c);
        }
        Reply::send(200, JSON, body.to_string())
    }

    /// A 200 JSON body of about `bytes` bytes.
    pub fn huge(bytes: usize) -> Reply {
        let text = "a".repeat(bytes);
        Reply::send(
            200,
            JSON,
            format!(r#"{{"model":"llama3.2","response":"{text}","done":true}}"#),
        )
    }

    /// An NDJSON stream body, chunked in `chunk`-byte pieces (small = lines split across reads).
    pub fn ndjson(body: &str, chunk: usize) -> Reply {
        Reply::send(200, "application/x-ndjson", body).chunked(chunk)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Send { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// This reply, `pause` after the request arrived.
    pub fn after(self, pause: Duration) -> Reply {
        Reply::Later(pause, Box::new(self))
    }

    pub fn chunked(mut self, size: usize) -> Reply {
        if let Reply::Send { chunk, .. } = &mut self {
            *chunk = Some(size.max(1));
        }
        self
    }
}

/// Writes `reply` to the connection `request` came on; paced replies are recorded in `runs`.
pub(super) fn respond(
    conn: &mut TcpStream,
    reply: Reply,
    request: &super::Request,
    runs: &super::paced::Runs,
) -> std::io::Result<()> {
    match reply {
        Reply::Send {
            status,
            headers,
            body,
            chunk,
        } => {
            let mut head = status_line(status);
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            match chunk {
                Some(size) => {
                    head.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
                    conn.write_all(head.as_bytes())?;
                    for piece in body.chunks(size) {
                        conn.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                        conn.write_all(piece)?;
                        conn.write_all(b"\r\n")?;
                        conn.flush()?;
                    }
                    conn.write_all(b"0\r\n\r\n")?;
                }
                None => {
                    head.push_str(&format!(
                        "Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    ));
                    conn.write_all(head.as_bytes())?;
                    conn.write_all(&body)?;
                }
            }
            conn.flush()
        }
        Reply::Hang => {
            // Block until the client gives up and closes (read returns 0 or fails).
            let mut buf = [0u8; 1024];
            while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            Ok(())
        }
        Reply::Reset => {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket fd and a correctly sized linger struct.
            unsafe {
                libc::setsockopt(
                    conn.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            Ok(())
        }
        Reply::Close => conn.shutdown(std::net::Shutdown::Both),
        Reply::Truncate {
            status,
            content_type,
            body,
            sent,
            chunked,
        } => {
            let mut head = status_line(status);
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
            if chunked {
                head.push_str("Transfer-Encoding: chunked\r\n\r\n");
                conn.write_all(head.as_bytes())?;
                let part = &body[..sent.min(body.len())];
                conn.write_all(format!("{:x}\r\n", part.len()).as_bytes())?;
                conn.write_all(part)?;
                conn.write_all(b"\r\n")?;
            } else {
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                conn.write_all(head.as_bytes())?;
                conn.write_all(&body[..sent.min(body.len())])?;
            }
            conn.flush()?;
            conn.shutdown(std::net::Shutdown::Both)
        }
        Reply::Raw(bytes) => {
            conn.write_all(&bytes)?;
            conn.shutdown(std::net::Shutdown::Both)
        }
        Reply::Trickle(every) => {
            let head = format!(
                "{}Content-Type: {JSON}\r\nTransfer-Encoding: chunked\r\n\r\n",
                status_line(200)
            );
            conn.write_all(head.as_bytes())?;
            let end = Instant::now() + Duration::from_secs(30);
            while Instant::now() < end {
                // Ends with a write error once the client (or proxy) has gone.
                conn.write_all(b"1\r\n \r\n")?;
                conn.flush()?;
                std::thread::sleep(every);
            }
            conn.shutdown(std::net::Shutdown::Both)
        }
        Reply::Later(pause, reply) => {
            std::thread::sleep(pause);
            respond(conn, *reply, request, runs)
        }
        Reply::Paced(pace) => super::paced::respond(conn, &pace, request, runs),
    }
}

fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        _ => "Status",
    };
    format!("HTTP/1.1 {status} {reason}\r\n")
}
