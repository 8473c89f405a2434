//! The blocking client: builds each request body from the config, runs attempts (`http.rs`)
//! with retries under one overall deadline, and logs what happened (never the bearer token).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::config;
use crate::event::{Answer, Failure, FailureClass, ms};
use crate::{cancel, printable};

use super::Message;
use super::backoff::{self, Backoff};
use super::error::{Context, Problem, Retry};
use super::wire::{ChatMessage, ChatRequest, Common, GenerateRequest};

/// Cheap to clone: all clones share one connection pool and the streaming fallback flag.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: config::Ollama,
    agent: ureq::Agent,
    /// The URL as shown in messages and logs: any password as `***` (`url::Url`'s Display).
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
            // A redirected POST arrives as a GET without its body, possibly at another host
            // whose answer would be taken for Ollama's: a redirect is reported, not followed.
            .max_redirects(0)
            .proxy(proxy)
            .timeout_connect(Some(cfg.connect_timeout))
            .user_agent(format!("voicebox/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            inner: Arc::new(Inner {
                shown_url: cfg.url.to_string(),
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
            // Both come from the server: escaped, so they can neither forge a line nor drive a
            // terminal showing the log.
            model = %printable::escaped(&model),
            done_reason = %printable::escaped(reply.done_reason.as_deref().unwrap_or("none")),
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
            done_reason = %printable::escaped(reply.done_reason.as_deref().unwrap_or("none")),
            "ollama model warmed up"
        );
        Ok(())
    }

    pub(super) fn config(&self) -> &config::Ollama {
        &self.inner.cfg
    }

    pub(super) fn agent(&self) -> &ureq::Agent {
        &self.inner.agent
    }

    /// The server URL as safe to show: any password as `***`.
    pub fn url(&self) -> &str {
        &self.inner.shown_url
    }

    pub(super) fn shown_url(&self) -> &str {
        &self.inner.shown_url
    }

    /// The `Authorization` header: the bearer token, or the URL's user and password as HTTP
    /// Basic.
    pub(super) fn authorization(&self) -> Option<String> {
        let cfg = &self.inner.cfg;
        cfg.url.authorization_with(cfg.api_key.as_deref())
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
                // DEBUG: the failure itself, with its message, is logged once by whoever
                // receives it (the daemon's loop, or the CLI's error line).
                tracing::debug!(
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
}

fn cancelled() -> Failure {
    Failure::new(FailureClass::Cancelled, "cancelled")
}
