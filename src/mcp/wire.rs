//! MCP's JSON-RPC messages: what is sent, how answers and tool lists are read, and the bounds.
//!
//! Both transports hand this module one message at a time, at most `MAX_MESSAGE_BYTES`; a
//! longer one arrives as `Message::Cut` with its first bytes only (the rest was never kept), and
//! a tool result is salvaged from that prefix.

use std::io::BufRead;
use std::time::Duration;

use serde_json::{Value, json};

/// The protocol version asked for (streamable HTTP with `Mcp-Session-Id`).
pub const PROTOCOL_VERSION: &str = "2025-06-18";
/// One JSON-RPC message from a server, at most (a tool list of `MAX_TOOLS` full schemas fits).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// Tools kept from one server; more are left out with a warning.
pub const MAX_TOOLS: usize = 64;
/// Pages of `tools/list` followed (`nextCursor`).
pub const MAX_PAGES: usize = 4;
/// A tool's description as offered to the model, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// A tool's input schema as JSON, in bytes; a larger one leaves the tool out.
pub const MAX_SCHEMA_BYTES: usize = 16 * 1024;
/// The text of one result as sent back to the model, in characters.
pub const MAX_RESULT_CHARS: usize = 8000;

/// One message read from a server.
#[derive(Debug)]
pub enum Message {
    Whole(Vec<u8>),
    /// Longer than `MAX_MESSAGE_BYTES`: its first `MAX_MESSAGE_BYTES`, the rest discarded.
    Cut(Vec<u8>),
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The server refused us (HTTP 401/403): retried, but the user must act.
    Refused(String),
    /// Not reachable, exited, or the session is gone: reconnect.
    Down(String),
    /// No answer in time; the server may still be alive.
    Timeout(Duration),
    /// A JSON-RPC error object: the server is alive and said no.
    Rpc(String),
    /// An answer that is not MCP: reconnect.
    Garbage(String),
}

impl Error {
    /// Whether the connection is unusable after this error (the supervisor reconnects).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Refused(_) | Error::Down(_) | Error::Garbage(_))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Refused(m) | Error::Down(m) | Error::Rpc(m) | Error::Garbage(m) => {
                f.write_str(m)
            }
            Error::Timeout(d) => write!(f, "no answer within {:.1} s", d.as_secs_f64()),
        }
    }
}

/// What a request's answer held.
#[derive(Debug)]
pub enum Reply {
    Result(Value),
    /// The answer was cut at `MAX_MESSAGE_BYTES`: its first bytes.
    Cut(Vec<u8>),
}

pub fn request(id: u64, method: &str, params: Value) -> Vec<u8> {
    let mut line = serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .unwrap_or_default();
    line.push(b'\n');
    line
}

pub fn notification(method: &str, params: Value) -> Vec<u8> {
    let mut line =
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .unwrap_or_default();
    line.push(b'\n');
    line
}

pub fn initialize_params() -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "voicebox", "version": env!("CARGO_PKG_VERSION")},
    })
}

/// How a message relates to the request `id` waited for.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// The answer to it.
    Answer(Result<Value, String>),
    /// A request from the server (e.g. `ping`), to be answered with this line.
    ServerRequest(Vec<u8>),
    /// Anything else: a notification, a stale answer.
    Other,
}

/// Classifies one whole message read while waiting for the answer to `id`.
pub fn classify(bytes: &[u8], id: u64) -> Result<Seen, Error> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::Garbage(format!("answered something that is not JSON ({e})")))?;
    let Some(obj) = v.as_object() else {
        return Err(Error::Garbage(
            "answered JSON that is not a JSON-RPC message".into(),
        ));
    };
    if let Some(method) = obj.get("method").and_then(Value::as_str) {
        let Some(their_id) = obj.get("id") else {
            return Ok(Seen::Other);
        };
        // `ping` must be answered; nothing else is offered (no sampling, no roots).
        let answer = if method == "ping" {
            json!({"jsonrpc": "2.0", "id": their_id, "result": {}})
        } else {
            json!({"jsonrpc": "2.0", "id": their_id,
                   "error": {"code": -32601, "message": "not supported by voicebox"}})
        };
        let mut line = serde_json::to_vec(&answer).unwrap_or_default();
        line.push(b'\n');
        return Ok(Seen::ServerRequest(line));
    }
    if obj.get("id").and_then(Value::as_u64) != Some(id) {
        return Ok(Seen::Other);
    }
    if let Some(result) = obj.get("result") {
        return Ok(Seen::Answer(Ok(result.clone())));
    }
    let message = obj
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("an error without a message");
    Ok(Seen::Answer(Err(clip(message, 300))))
}

/// Reads one line of at most `MAX_MESSAGE_BYTES`; a longer line is drained, not kept.
/// `None` at end of input.
pub fn read_line(reader: &mut impl BufRead) -> std::io::Result<Option<Message>> {
    let mut kept = Vec::new();
    let mut cut = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if kept.is_empty() && !cut {
                return Ok(None);
            }
            break;
        }
        let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_MESSAGE_BYTES - kept.len();
        if chunk.len() > room {
            cut = true;
        }
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = end.unwrap_or(buf.len());
        reader.consume(used);
        if end.is_some() {
            break;
        }
    }
    if kept.last() == Some(&b'\r') && !cut {
        kept.pop();
    }
    Ok(Some(if cut {
        Message::Cut(kept)
    } else {
        Message::Whole(kept)
    }))
}

/// A tool as offered by one server, bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub schema: Value,
}

/// Reads one `tools/list` result page: its tools (bounded) and the next cursor. Tools with
/// unusable names or oversized schemas are left out with their reason.
pub fn tools_page(result: &Value, server: &str) -> (Vec<Tool>, Option<String>) {
    let mut tools = Vec::new();
    for t in result
        .get("tools")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let Some(name) = t.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !valid_name(name) {
            tracing::warn!(
                server,
                tool = %crate::printable::escaped(&clip(name, 80)),
                "MCP tool left out: its name is not 1-64 letters, digits, '_', '-' or '.'"
            );
            continue;
        }
        let schema = t
            .get("inputSchema")
            .filter(|s| s.is_object())
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        let size = serde_json::to_vec(&schema).map_or(usize::MAX, |v| v.len());
        if size > MAX_SCHEMA_BYTES {
            tracing::warn!(
                server,
                tool = name,
                bytes = size,
                "MCP tool left out: its input schema is larger than {MAX_SCHEMA_BYTES} bytes"
            );
            continue;
        }
        let description = t.get("description").and_then(Value::as_str).unwrap_or("");
        tools.push(Tool {
            name: name.to_string(),
            description: clip(description, MAX_DESCRIPTION_CHARS),
            schema,
        });
    }
    let next = result
        .get("nextCursor")
        .and_then(Value::as_str)
        .map(|c| clip(c, 1024));
    (tools, next)
}

/// Tool and server names: what Ollama and the models accept as a function name.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The text of a `tools/call` result for the model: its text contents joined (other contents
/// named), `Err` when the server flagged it `isError`.
pub fn call_result(result: &Value) -> Result<String, String> {
    let mut parts = Vec::new();
    for c in result
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        match c.get("type").and_then(Value::as_str) {
            Some("text") => parts.push(
                c.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            Some(other) => parts.push(format!("[{other}]")),
            None => {}
        }
    }
    if parts.is_empty()
        && let Some(s) = result.get("structuredContent")
    {
        parts.push(s.to_string());
    }
    let text = clip(&parts.join("\n"), MAX_RESULT_CHARS);
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        Err(if text.is_empty() {
            "the tool failed".into()
        } else {
            text
        })
    } else {
        Ok(text)
    }
}

/// A result cut at `MAX_MESSAGE_BYTES`: the start of its first text content, if the prefix
/// holds one, marked as cut.
pub fn cut_result(prefix: &[u8]) -> String {
    let note = format!(
        "[the result was longer than {} MiB and was cut]",
        MAX_MESSAGE_BYTES >> 20
    );
    let text = std::str::from_utf8(prefix)
        .or_else(|e| std::str::from_utf8(&prefix[..e.valid_up_to()]))
        .unwrap_or("");
    let Some(start) = text
        .find("\"text\":\"")
        .or_else(|| text.find("\"text\": \""))
    else {
        return note;
    };
    let body = &text[start..];
    let body = &body[body.find(":").map_or(0, |i| i + 1)..].trim_start();
    // The JSON string up to the cut, closed: drop a few trailing bytes until it parses (a cut
    // may fall inside an escape). Only the first MAX_RESULT_CHARS are needed.
    let mut end = body.len().min(MAX_RESULT_CHARS * 4 + 16);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    for _ in 0..12 {
        let candidate = format!("{}\"", &body[..end]);
        if let Ok(Value::String(s)) = serde_json::from_str::<Value>(&candidate) {
            return format!("{} {note}", clip(&s, MAX_RESULT_CHARS));
        }
        if end == 0 {
            break;
        }
        end -= 1;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
    }
    note
}

/// At most `max` characters, with "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_told_from_requests_notifications_and_stale_answers() {
        let seen = |s: &str| classify(s.as_bytes(), 7).unwrap();
        assert_eq!(
            seen(r#"{"jsonrpc":"2.0","id":7,"result":{"a":1}}"#),
            Seen::Answer(Ok(json!({"a": 1})))
        );
        assert_eq!(
            seen(r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"bad room"}}"#),
            Seen::Answer(Err("bad room".into()))
        );
        assert_eq!(seen(r#"{"jsonrpc":"2.0","id":6,"result":{}}"#), Seen::Other);
        assert_eq!(
            seen(r#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#),
            Seen::Other
        );
        let Seen::ServerRequest(line) = seen(r#"{"jsonrpc":"2.0","id":"p1","method":"ping"}"#)
        else {
            panic!("ping is a request");
        };
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v, json!({"jsonrpc": "2.0", "id": "p1", "result": {}}));
        assert!(matches!(classify(b"<html>", 7), Err(Error::Garbage(_))));
        assert!(matches!(classify(b"[1,2]", 7), Err(Error::Garbage(_))));
    }

    #[test]
    fn lines_longer_than_the_bound_are_drained_not_kept() {
        let mut input = vec![b'a'; MAX_MESSAGE_BYTES * 3];
        input.extend_from_slice(b"\n{\"x\":1}\r\nlast");
        let mut r = std::io::BufReader::with_capacity(8192, &input[..]);
        match read_line(&mut r).unwrap() {
            Some(Message::Cut(k)) => assert_eq!(k.len(), MAX_MESSAGE_BYTES),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read_line(&mut r).unwrap(), Some(Message::Whole(k)) if k == b"{\"x\":1}"));
        assert!(matches!(read_line(&mut r).unwrap(), Some(Message::Whole(k)) if k == b"last"));
        assert!(read_line(&mut r).unwrap().is_none());
    }

    #[test]
    fn tool_lists_are_bounded_and_odd_tools_left_out() {
        let huge = json!({"type": "object", "description": "x".repeat(MAX_SCHEMA_BYTES)});
        let page = json!({"tools": [
            {"name": "light_on", "description": "d".repeat(5000),
             "inputSchema": {"type": "object", "properties": {"room": {"type": "string"}}}},
            {"name": "bad name; rm", "inputSchema": {"type": "object"}},
            {"name": "big", "inputSchema": huge},
            {"name": "bare"},
            {"description": "no name"},
        ], "nextCursor": "p2"});
        let (tools, next) = tools_page(&page, "home");
        assert_eq!(next.as_deref(), Some("p2"));
        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["light_on", "bare"]);
        assert_eq!(
            tools[0].description.chars().count(),
            MAX_DESCRIPTION_CHARS + 1
        );
        assert_eq!(tools[1].schema, json!({"type": "object", "properties": {}}));
    }

    #[test]
    fn results_become_text_and_error_flags_errors() {
        let ok =
            json!({"content": [{"type": "text", "text": "on"}, {"type": "image", "data": ""}]});
        assert_eq!(call_result(&ok), Ok("on\n[image]".into()));
        let err = json!({"content": [{"type": "text", "text": "no such room"}], "isError": true});
        assert_eq!(call_result(&err), Err("no such room".into()));
        let structured = json!({"content": [], "structuredContent": {"t": 21}});
        assert_eq!(call_result(&structured), Ok(r#"{"t":21}"#.into()));
        let long =
            json!({"content": [{"type": "text", "text": "字".repeat(MAX_RESULT_CHARS * 2)}]});
        assert_eq!(
            call_result(&long).unwrap().chars().count(),
            MAX_RESULT_CHARS + 1
        );
    }

    #[test]
    fn a_cut_result_keeps_its_start() {
        let full = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 3, "result": {"content": [
            {"type": "text", "text": format!("line \"one\"\n{}", "é".repeat(50_000))}]}}))
        .unwrap();
        for cut_at in [200, 201, 202, 203, 5000] {
            let text = cut_result(&full[..cut_at]);
            assert!(text.starts_with("line \"one\"\né"), "{cut_at}: {text}");
            assert!(text.ends_with("was cut]"), "{text}");
        }
        assert!(cut_result(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"res").starts_with("[the result"));
    }
}
