//! The blocking client: builds each request from the config, runs attempts with retries under
//! one overall deadline, and logs what happened (never the bearer token).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cancel;
use crate::config;
use crate::event::{Answer, Failure, FailureClass, ms};

use super::Message;
use super::backoff::{self, Backoff};
use super::error::{Body, Context, Problem, Retry};
use super::stream;
use super::wire::{ChatMessage, ChatRequest, Common, GenerateRequest, Reply};

/// Error bodies are read only this far: enough for Ollama's JSON or a proxy page's title.
const ERROR_BODY_CAP: u64 = 64 * 1024;

/// Cheap to clone: all clones share one connection pool and the streaming fallback flag.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: config::Ollama,
    agent: ureq::Agent,
    /// The URL as shown in messages: any `user:pass@` removed.
    shown_url: String,
    /// Set after a streamed request got a 502: non-streaming from then on.
    stream_off: AtomicBool,
}

/// A successful exchange.
pub(super) struct Reply1 {
    pub text: String,
    pub done_reason: Option<String>,
    pub model: Option<String>,
}

impl Client {
    pub fn new(cfg: &config::Ollama) -> Client {
        // A forward proxy from the environment is a classic source of mystery 502s for a
        // server on the LAN, so it is used only when asked for.
        let proxy = if cfg.use_env_proxy {
            ureq::Proxy::try_from_env()
        } else {
            None
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(proxy)
            .timeout_connect(Some(cfg.connect_timeout))
            .user_agent(format!("voicebox/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            inner: Arc::new(Inner {
                shown_url: strip_userinfo(&cfg.url),
                cfg: cfg.clone(),
                agent,
                stream_off: AtomicBool::new(false),
            }),
        }
    }

    /// Asks one question with the conversation so far. Blocking; retries per the config;
    /// `cancel` is honoured before each attempt and during backoff pauses.
    pub fn ask(
        &self,
        history: &[Message],
        question: &str,
        cancel: &cancel::Token,
    ) -> Result<Answer, Failure> {
        let cfg = &self.inner.cfg;
        let started = Instant::now();
        let path = match cfg.endpoint {
            config::Endpoint::Generate => "/api/generate",
            config::Endpoint::Chat => "/api/chat",
        };
        let body = |streaming: bool| self.question_body(history, question, streaming);
        let (reply, attempts) = self.exchange(path, &body, cancel, started)?;
        let ollama_ms = ms(started.elapsed());
        let model = reply.model.unwrap_or_else(|| cfg.model.clone());
        tracing::info!(
            response_chars = reply.text.chars().count(),
            attempts,
            ollama_ms,
            model = %model,
            done_reason = %reply.done_reason.as_deref().unwrap_or("none"),
            "ollama reply"
        );
        Ok(Answer {
            text: reply.text,
            attempts,
            ollama_ms,
            model,
            done_reason: reply.done_reason,
        })
    }

    /// Loads the model so the first question does not pay for a cold start: an empty prompt
    /// with `keep_alive` only loads (`done_reason: "load"`).
    pub fn warm_up(&self) -> Result<(), Failure> {
        let cfg = &self.inner.cfg;
        let started = Instant::now();
        let body = |_streaming: bool| {
            serde_json::to_vec(&GenerateRequest {
                common: Common::new(cfg, false),
                prompt: "",
                system: "",
            })
            .unwrap_or_default()
        };
        let never = cancel::Token::new();
        let (reply, attempts) = self.exchange("/api/generate", &body, &never, started)?;
        tracing::info!(
            attempts,
            ollama_ms = ms(started.elapsed()),
            model = %cfg.model,
            done_reason = %reply.done_reason.as_deref().unwrap_or("none"),
            "ollama model warmed up"
        );
        Ok(())
    }

    pub(super) fn config(&self) -> &config::Ollama {
        &self.inner.cfg
    }

    /// The server URL as safe to show: any `user:pass@` removed.
    pub fn url(&self) -> &str {
        &self.inner.shown_url
    }

    pub(super) fn shown_url(&self) -> &str {
        &self.inner.shown_url
    }

    fn streaming(&self) -> bool {
        self.inner.cfg.stream && !self.inner.stream_off.load(Ordering::Relaxed)
    }

    fn question_body(&self, history: &[Message], question: &str, streaming: bool) -> Vec<u8> {
        let cfg = &self.inner.cfg;
        let common = Common::new(cfg, streaming);
        let json = match cfg.endpoint {
            config::Endpoint::Generate => serde_json::to_vec(&GenerateRequest {
                common,
                prompt: question,
                system: &cfg.system_prompt,
            }),
            config::Endpoint::Chat => {
                let mut messages = Vec::with_capacity(history.len() + 2);
                if !cfg.system_prompt.is_empty() {
                    messages.push(ChatMessage {
                        role: "system",
                        content: &cfg.system_prompt,
                    });
                }
                messages.extend(history.iter().map(ChatMessage::from_history));
                messages.push(ChatMessage {
                    role: "user",
                    content: question,
                });
                serde_json::to_vec(&ChatRequest { common, messages })
            }
        };
        // Serializing strings and a JSON map cannot fail; an empty body would be a clear 400.
        json.unwrap_or_default()
    }

    /// The retry loop: attempts until one succeeds, a problem is not worth retrying, the
    /// attempts run out, or the next attempt could not start before the deadline.
    fn exchange(
        &self,
        path: &str,
        body_for: &dyn Fn(bool) -> Vec<u8>,
        cancel: &cancel::Token,
        started: Instant,
    ) -> Result<(Reply1, u32), Failure> {
        let cfg = &self.inner.cfg;
        let deadline = started + cfg.deadline;
        let schedule = Backoff {
            initial: cfg.backoff_initial,
            max: cfg.backoff_max,
        };
        let cx = Context {
            url: &self.inner.shown_url,
            path,
            model: &cfg.model,
        };
        let mut seen: Vec<Problem> = Vec::new();
        let mut attempt = 0u32;
        loop {
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let streaming = self.streaming();
            let problem = match self.attempt(path, &body_for(streaming), streaming, remaining) {
                Ok(reply) => return Ok((reply, attempt)),
                Err(p) => p,
            };
            if streaming && matches!(problem, Problem::Status { code: 502, .. }) {
                self.disable_streaming();
            }
            let allowed = match problem.retry() {
                Retry::Never => false,
                Retry::Always => true,
                Retry::Once => !seen.iter().any(|p| p.same_kind(&problem)),
            };
            let delay = schedule.delay(attempt, fastrand::f64() * 2.0 - 1.0, problem.retry_after());
            let next = backoff::next_attempt_at(Instant::now(), delay, deadline);
            let stop = if !allowed {
                Some("not retrying: a retry would fail the same way")
            } else if attempt >= cfg.attempts {
                Some("giving up: no attempts left (ollama.attempts)")
            } else if next.is_none() {
                Some("giving up: the next attempt could not start before ollama.deadline_s")
            } else {
                None
            };
            if let Some(why) = stop {
                tracing::warn!(
                    attempt,
                    attempts = cfg.attempts,
                    problem = %problem.summary(),
                    "ollama attempt failed; {why}"
                );
                let mut failure = problem.failure(&cx);
                if attempt > 1 {
                    failure
                        .message
                        .push_str(&format!(" (gave up after {attempt} attempts)"));
                }
                return Err(failure);
            }
            tracing::warn!(
                attempt,
                attempts = cfg.attempts,
                problem = %problem.summary(),
                retry_in_ms = ms(delay),
                "ollama attempt failed; retrying"
            );
            seen.push(problem);
            if cancel.wait_timeout(delay) {
                return Err(cancelled());
            }
        }
    }

    fn disable_streaming(&self) {
        if !self.inner.stream_off.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the streamed request got 502 Bad Gateway (a proxy that mishandles streaming); using non-streaming requests for the rest of this process"
            );
        }
    }

    /// One HTTP exchange, bounded by `remaining`.
    fn attempt(
        &self,
        path: &str,
        body: &[u8],
        streaming: bool,
        remaining: Duration,
    ) -> Result<Reply1, Problem> {
        let cfg = &self.inner.cfg;
        if remaining.is_zero() {
            return Err(Problem::TimedOut(cfg.deadline));
        }
        let url = format!("{}{path}", cfg.url);
        tracing::debug!(%url, streaming, bytes = body.len(), "ollama request");
        // Non-streaming: nothing arrives until the answer is complete, so one per-attempt cap.
        // Streaming: the cap is on the first byte and on each silence, the whole is the deadline.
        let per_attempt = cfg.request_timeout.min(remaining);
        let builder = self.inner.agent.post(&url).config();
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
        if let Some(key) = &cfg.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
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
            let s = stream::read(body.into_with_config().reader(), cap, |e| {
                body_io_problem(ureq::Error::from(e), timed_out, cap)
            })?;
            return Ok(Reply1 {
                text: s.text,
                done_reason: s.done_reason,
                model: None,
            });
        }
        if !content_type.starts_with("application/json") {
            return Err(Problem::BadBody(format!(
                "expected JSON, got Content-Type \"{}\"",
                super::error::one_line(&content_type)
            )));
        }
        let bytes = body
            .into_with_config()
            .limit(cap as u64)
            .read_to_vec()
            .map_err(|e| body_io_problem(e, timed_out, cap))?;
        let reply: Reply = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::BadBody(format!("not Ollama JSON: {e}")))?;
        if let Some(err) = reply.error {
            return Err(Problem::StreamError(super::error::one_line(&err)));
        }
        if !reply.looks_like_answer() {
            return Err(Problem::BadBody("JSON without a response".into()));
        }
        Ok(Reply1 {
            text: reply.text().to_string(),
            done_reason: reply.done_reason,
            model: reply.model,
        })
    }

    /// `GET path` → the JSON body, one attempt (for `voicebox check`).
    pub(super) fn get_json(&self, path: &str) -> Result<Vec<u8>, Problem> {
        let cfg = &self.inner.cfg;
        let timeout = cfg.request_timeout.min(Duration::from_secs(10));
        let mut request = self
            .inner
            .agent
            .get(format!("{}{path}", cfg.url))
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Accept", "application/json");
        if let Some(key) = &cfg.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let response = request.call().map_err(|e| transport_problem(e, timeout))?;
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

fn cancelled() -> Failure {
    Failure::new(FailureClass::Cancelled, "cancelled")
}

fn header(headers: &ureq::http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn status_problem(code: u16, headers: &ureq::http::HeaderMap, body: ureq::Body) -> Problem {
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
            _ => Problem::Unreachable(super::error::one_line(&io.to_string())),
        },
        ureq::Error::Protocol(p) => Problem::BadBody(format!(
            "not an HTTP reply: {}",
            super::error::one_line(&p.to_string())
        )),
        other => Problem::Unreachable(super::error::one_line(&other.to_string())),
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
            super::error::one_line(&other.to_string())
        )),
    }
}

/// `http://user:secret@host` → `http://host`: credentials in the URL must not reach a log.
fn strip_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    if scheme.is_empty() {
        rest.to_string()
    } else {
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_never_shown() {
        let cases = [
            ("http://u:secret@pi:11434/x", "http://pi:11434/x"),
            ("http://pi:11434", "http://pi:11434"),
            ("https://a@b/c@d", "https://b/c@d"),
        ];
        for (url, want) in cases {
            assert_eq!(strip_userinfo(url), want);
        }
    }
}
