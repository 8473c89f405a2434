//! A streamable-HTTP MCP server (MCP 2025-06-18): each JSON-RPC message is POSTed; the answer
//! comes as `application/json` or as a `text/event-stream` of messages ending with it. The
//! session is the `Mcp-Session-Id` header the server set on `initialize`.
//!
//! Over ureq, the HTTP client voicebox already has, rather than the `rmcp` SDK: with its HTTP
//! transport rmcp brings reqwest and hyper (a second HTTP stack) and futures plumbing for what
//! is one blocking POST per call here; the commit adding this module has the figures.

use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::wire::{self, Error, Message, Reply, Seen};
use crate::printable::one_line;
use crate::url::Url;

pub struct Conn {
    agent: ureq::Agent,
    url: String,
    /// `Bearer token`, or the URL's Basic credentials. Never logged.
    authorization: Option<String>,
    session: Option<String>,
    protocol: String,
    next_id: AtomicU64,
}

impl Conn {
    /// A connection not yet initialized (`super::handshake` does that).
    pub fn new(url: &Url, token: Option<&str>, connect_timeout: Duration) -> Conn {
        // The one HTTP layer's agent: no proxy, no redirects (a redirected POST loses its body
        // and could carry the token to another host), statuses as values.
        let agent = crate::http::agent(connect_timeout, None, None);
        Conn {
            agent,
            url: url.base().to_string(),
            authorization: url.authorization_with(token),
            session: None,
            protocol: wire::PROTOCOL_VERSION.to_string(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Keeps what `initialize` established: the session and the protocol version.
    pub fn established(&mut self, session: Option<String>, protocol: Option<&str>) {
        self.session = session;
        if let Some(p) = protocol {
            self.protocol = one_line(p).into_owned();
        }
    }

    pub fn request(&self, method: &str, params: Value, timeout: Duration) -> Result<Reply, Error> {
        self.request_with_session(method, params, timeout)
            .map(|(reply, _)| reply)
    }

    /// The request's answer and the session id the server set, if any.
    pub fn request_with_session(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<(Reply, Option<String>), Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let response = self.post(wire::request(id, method, params), timeout)?;
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .filter(|s| s.len() <= 256)
            .map(str::to_string);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = response.into_body().into_reader();
        let reply = if content_type.starts_with("application/json") {
            match wire::read_line(&mut BufReader::new(body)).map_err(|e| read_error(e, timeout))? {
                Some(Message::Whole(bytes)) => match wire::classify(&bytes, id)? {
                    Seen::Answer(Ok(v)) => Reply::Result(v),
                    Seen::Answer(Err(m)) => return Err(Error::Rpc(m)),
                    _ => return Err(Error::Garbage("answered without the answer".into())),
                },
                Some(Message::Cut(prefix)) => Reply::Cut(prefix),
                None => return Err(Error::Garbage("answered with an empty body".into())),
            }
        } else if content_type.starts_with("text/event-stream") {
            read_events(body, id, timeout)?
        } else {
            return Err(Error::Garbage(format!(
                "answered {}, not JSON-RPC: is the URL the MCP endpoint? (Home Assistant: http://HOST:8123/api/mcp)",
                if content_type.is_empty() {
                    "without a content type".into()
                } else {
                    one_line(&content_type).into_owned()
                }
            )));
        };
        Ok((reply, session))
    }

    pub fn notify(&self, method: &str, params: Value, timeout: Duration) -> Result<(), Error> {
        self.post(wire::notification(method, params), timeout)
            .map(drop)
    }

    /// POSTs one message; any status but 2xx is an error here.
    fn post(
        &self,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, Error> {
        let mut request = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", &self.protocol);
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        if let Some(s) = &self.session {
            request = request.header("Mcp-Session-Id", s);
        }
        let response = request
            .send(&body[..])
            .map_err(|e| send_error(e, timeout))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        Err(match code {
            401 | 403 => Error::Refused(format!("{code} {reason}: check the token")),
            404 if self.session.is_some() => {
                Error::Down("the session expired (404); connecting again".into())
            }
            404 => Error::Down(format!(
                "404 {reason}: no MCP endpoint at this URL (Home Assistant: http://HOST:8123/api/mcp)"
            )),
            _ => Error::Down(format!("{code} {reason}")),
        })
    }
}

/// Reads server-sent events until the answer to `id`; each event's data is one message.
fn read_events(body: impl Read, id: u64, timeout: Duration) -> Result<Reply, Error> {
    let mut reader = BufReader::with_capacity(64 * 1024, body);
    let mut data: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        let line = wire::read_line(&mut reader).map_err(|e| read_error(e, timeout))?;
        let line = match line {
            None => {
                return Err(Error::Down(
                    "the event stream ended without the answer".into(),
                ));
            }
            Some(Message::Cut(prefix)) => {
                // A data line longer than the bound: only an answer is that long.
                if let Some(rest) = prefix.strip_prefix(b"data:") {
                    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
                    return Ok(Reply::Cut(rest.to_vec()));
                }
                cut = true;
                continue;
            }
            Some(Message::Whole(l)) => l,
        };
        if line.is_empty() {
            // End of an event.
            if cut {
                return Ok(Reply::Cut(std::mem::take(&mut data)));
            }
            if data.is_empty() {
                continue;
            }
            match wire::classify(&data, id)? {
                Seen::Answer(Ok(v)) => return Ok(Reply::Result(v)),
                Seen::Answer(Err(m)) => return Err(Error::Rpc(m)),
                // Requests from the server would need a POST of their own; none are
                // offered in `initialize`, so none are expected.
                Seen::ServerRequest(_) | Seen::Other => data.clear(),
            }
        } else if let Some(rest) = line.strip_prefix(b"data:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            if !data.is_empty() {
                data.push(b'\n');
            }
            if data.len() + rest.len() > wire::MAX_MESSAGE_BYTES {
                cut = true;
            }
            let room = wire::MAX_MESSAGE_BYTES.saturating_sub(data.len());
            data.extend_from_slice(&rest[..rest.len().min(room)]);
        }
        // `event:`, `id:`, `retry:` and comments carry nothing needed here.
    }
}

fn send_error(e: ureq::Error, timeout: Duration) -> Error {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            Error::Down("connect timed out".into())
        }
        ureq::Error::Timeout(_) => Error::Timeout(timeout),
        ureq::Error::HostNotFound => Error::Down("host not found".into()),
        ureq::Error::Io(io) => match io.kind() {
            K::ConnectionRefused => Error::Down("connection refused".into()),
            K::TimedOut | K::WouldBlock => Error::Timeout(timeout),
            _ => Error::Down(one_line(&io.to_string()).into_owned()),
        },
        ureq::Error::Protocol(p) => {
            Error::Garbage(format!("not an HTTP answer: {}", one_line(&p.to_string())))
        }
        other => Error::Down(one_line(&other.to_string()).into_owned()),
    }
}

fn read_error(e: std::io::Error, timeout: Duration) -> Error {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => Error::Timeout(timeout),
        _ => {
            // ureq reports its global timeout while reading as an io error wrapping its own.
            let text = e.to_string();
            if text.contains("timeout") || text.contains("timed out") {
                Error::Timeout(timeout)
            } else {
                Error::Down(format!("the answer was cut off: {}", one_line(&text)))
            }
        }
    }
}
