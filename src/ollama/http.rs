//! One HTTP exchange with the server (ureq): the request as configured, and what came back
//! read into a reply or classified as a `Problem`. Retrying is `client.rs`'s business.

use std::time::Duration;

use super::backoff;
use super::client::{Client, Reply1};
use super::error::{Body, Problem};
use super::stream;
use super::wire::Reply;
use crate::http::snippet;

/// Error bodies are read only this far: enough for Ollama's JSON or a proxy page's title.
const ERROR_BODY_CAP: u64 = 64 * 1024;

impl Client {
    /// One HTTP exchange on `agent`'s connections, bounded by `remaining`. A streamed reply's
    /// text goes to `on_text` as it arrives.
    pub(super) fn attempt(
        &self,
        agent: &ureq::Agent,
        path: &str,
        body: &[u8],
        streaming: bool,
        remaining: Duration,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply1, Problem> {
        let cfg = self.config();
        if remaining.is_zero() {
            return Err(Problem::TimedOut(cfg.deadline));
        }
        let url = cfg.url.join(path);
        tracing::debug!(url = %format_args!("{}{path}", self.url()), streaming, bytes = body.len(), "ollama request");
        // Non-streaming: nothing arrives until the answer is complete, so one per-attempt cap.
        // Streaming: the cap is on the first byte and on each silence, the whole is the deadline.
        let per_attempt = cfg.request_timeout.min(remaining);
        let builder = agent.post(&url).config();
        let builder = if streaming {
            builder
                .timeout_global(Some(remaining))
                .timeout_recv_response(Some(per_attempt))
                .timeout_per_read(Some(cfg.request_timeout))
        } else {
            builder.timeout_global(Some(per_attempt))
        };
        let mut request = builder
            .build()
            .header("Content-Type", "application/json")
            .header(
                "Accept",
                if streaming {
                    "application/x-ndjson"
                } else {
                    "application/json"
                },
            );
        if let Some(auth) = self.authorization() {
            request = request.header("Authorization", auth);
        }
        let timed_out = if streaming { remaining } else { per_attempt };
        let response = request
            .send(body)
            .map_err(|e| transport_problem(e, timed_out))?;
        let (parts, body) = response.into_parts();
        let content_type = header(&parts.headers, "content-type");
        if !parts.status.is_success() {
            return Err(status_problem(parts.status.as_u16(), &parts.headers, body));
        }
        let cap = cfg.max_reply_bytes;
        if content_type.starts_with("application/x-ndjson") {
            let s = stream::read(
                body.into_with_config().reader(),
                cap,
                |e| body_io_problem(ureq::Error::from(e), timed_out, cap),
                on_text,
            )?;
            return Ok(Reply1 {
                text: s.text,
                done_reason: s.done_reason,
                model: None,
                tool_calls: s.tool_calls,
            });
        }
        if !content_type.starts_with("application/json") {
            return Err(Problem::BadBody(format!(
                "expected JSON, got Content-Type \"{}\"",
                snippet(&content_type)
            )));
        }
        let bytes = body
            .into_with_config()
            .limit(cap as u64)
            .read_to_vec()
            .map_err(|e| body_io_problem(e, timed_out, cap))?;
        let mut reply: Reply = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::BadBody(format!("not Ollama JSON: {e}")))?;
        if let Some(err) = reply.error {
            return Err(Problem::StreamError(snippet(&err)));
        }
        if !reply.looks_like_answer() {
            return Err(Problem::BadBody("JSON without a response".into()));
        }
        Ok(Reply1 {
            text: reply.text().to_string(),
            tool_calls: reply.tool_calls(),
            done_reason: reply.done_reason,
            model: reply.model,
        })
    }

    /// `GET path` → the JSON body, one attempt (for `voicebox check`).
    pub(super) fn get_json(&self, path: &str) -> Result<Vec<u8>, Problem> {
        self.json_exchange(path, None)
    }

    /// `POST path` with a JSON body → the JSON body, one attempt (for `voicebox check`).
    pub(super) fn post_json(&self, path: &str, body: &[u8]) -> Result<Vec<u8>, Problem> {
        self.json_exchange(path, Some(body))
    }

    fn json_exchange(&self, path: &str, body: Option<&[u8]>) -> Result<Vec<u8>, Problem> {
        let cfg = self.config();
        let timeout = cfg.request_timeout.min(Duration::from_secs(10));
        let url = cfg.url.join(path);
        let agent = self.agent();
        let auth = self.authorization();
        let sent = match body {
            None => {
                let mut request = agent
                    .get(&url)
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .header("Accept", "application/json");
                if let Some(auth) = auth {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
            Some(body) => {
                let mut request = agent
                    .post(&url)
                    .config()
                    .timeout_global(Some(timeout))
                    .build()
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/json");
                if let Some(auth) = auth {
                    request = request.header("Authorization", auth);
                }
                request.send(body)
            }
        };
        let response = sent.map_err(|e| transport_problem(e, timeout))?;
        let (parts, body) = response.into_parts();
        if !parts.status.is_success() {
            return Err(status_problem(parts.status.as_u16(), &parts.headers, body));
        }
        body.into_with_config()
            .limit(cfg.max_reply_bytes as u64)
            .read_to_vec()
            .map_err(|e| body_io_problem(e, timeout, cfg.max_reply_bytes))
    }
}

fn header(headers: &ureq::http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn status_problem(code: u16, headers: &ureq::http::HeaderMap, body: ureq::Body) -> Problem {
    if (300..400).contains(&code) {
        let location = headers
            .get("location")
            .map(|v| crate::url::redact(&snippet(&String::from_utf8_lossy(v.as_bytes()))));
        return Problem::Redirected { code, location };
    }
    let content_type = header(headers, "content-type");
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(backoff::parse_retry_after);
    // The error body is evidence only; if it cannot be read, classify on the status alone.
    let bytes = body
        .into_with_config()
        .limit(ERROR_BODY_CAP)
        .read_to_vec()
        .unwrap_or_default();
    Problem::Status {
        code,
        body: Body::classify(Some(&content_type), &bytes),
        retry_after,
    }
}

/// Errors before a status line arrived.
fn transport_problem(e: ureq::Error, timeout: Duration) -> Problem {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            Problem::Unreachable("connect timed out (ollama.connect_timeout_ms)".into())
        }
        ureq::Error::Timeout(_) => Problem::TimedOut(timeout),
        ureq::Error::HostNotFound => Problem::Unreachable("host not found".into()),
        ureq::Error::Io(io) => match io.kind() {
            K::ConnectionRefused => Problem::Unreachable("connection refused".into()),
            K::TimedOut | K::WouldBlock => Problem::TimedOut(timeout),
            K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
                Problem::Dropped(io.kind().to_string())
            }
            _ => Problem::Unreachable(snippet(&io.to_string())),
        },
        ureq::Error::Protocol(p) => {
            Problem::BadBody(format!("not an HTTP reply: {}", snippet(&p.to_string())))
        }
        other => Problem::Unreachable(snippet(&other.to_string())),
    }
}

/// Errors while reading a 200's body.
fn body_io_problem(e: ureq::Error, timeout: Duration, cap: usize) -> Problem {
    match e {
        ureq::Error::BodyExceedsLimit(_) => Problem::TooBig(cap),
        ureq::Error::Timeout(_) => Problem::TimedOut(timeout),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Problem::TimedOut(timeout)
        }
        other => Problem::BadBody(format!(
            "the body was cut off: {}",
            snippet(&other.to_string())
        )),
    }
}
