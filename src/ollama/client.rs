//! The blocking client: builds each request body from the config, runs attempts (`http.rs`)
//! with retries under one overall deadline, and logs what happened (never the bearer token).
//!
//! One question at a time: a new question cancels the one still in flight, and a cancelled
//! question hangs up at once (its connection is shut down from the cancelling thread), so the
//! server stops generating for nobody. Model loads (`load.rs`) have their own connections.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::config;
use crate::event::{Answer, Failure, FailureClass, ms};
use crate::{cancel, printable};

use super::Message;
use super::backoff::{self, Backoff};
use super::error::{Context, Problem, Retry};
use super::wire::{ChatMessage, ChatRequest, Common, GenerateRequest};

/// Cheap to clone: all clones share the connections, the question in flight and the streaming
/// fallback flag.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: config::Ollama,
    /// The questions' connections. Replaced by a fresh agent when a question is cancelled: the
    /// old one is shut down, which interrupts the request blocked on it.
    agent: Mutex<ureq::Agent>,
    /// Model loads' connections, apart so that a cancelled question never aborts a load.
    loader: ureq::Agent,
    /// The URL as shown in messages and logs: any password as `***` (`url::Url`'s Display).
    shown_url: String,
    /// Set after a streamed request got a 502: non-streaming from then on.
    stream_off: AtomicBool,
    /// The question in flight, numbered so only its own `ask` clears it.
    question: Mutex<(u64, Option<cancel::Token>)>,
    /// A model load (warm-up or press) is in flight.
    loading: AtomicBool,
}

/// A successful exchange.
pub(super) struct Reply1 {
    pub text: String,
    pub done_reason: Option<String>,
    pub model: Option<String>,
}

/// Which connections an exchange uses.
#[derive(Clone, Copy)]
pub(super) enum Conn {
    Question,
    Load,
}

impl Client {
    pub fn new(cfg: &config::Ollama) -> Client {
        Client {
            inner: Arc::new(Inner {
                shown_url: cfg.url.to_string(),
                agent: Mutex::new(new_agent(cfg)),
                loader: new_agent(cfg),
                cfg: cfg.clone(),
                stream_off: AtomicBool::new(false),
                question: Mutex::new((0, None)),
                loading: AtomicBool::new(false),
            }),
        }
    }

    /// Asks one question with the conversation so far and returns the whole answer. Blocking;
    /// retries per the config; `cancel` stops it at once, hanging up a request in flight.
    pub fn ask(
        &self,
        history: &[Message],
        question: &str,
        cancel: &cancel::Token,
    ) -> Result<Answer, Failure> {
        self.ask_with(history, question, cancel, None)
    }

    /// `ask`, handing the text of a streamed reply (`ollama.stream = true`) to `on_text` as it
    /// arrives. Once any text was handed on, a failure is final: a retry would produce another
    /// reply, and what was handed on may already have been spoken. A reply that came whole
    /// (not streamed, or after the fallback on a 502) is only in the returned `Answer`.
    pub fn ask_streaming(
        &self,
        history: &[Message],
        question: &str,
        cancel: &cancel::Token,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Answer, Failure> {
        self.ask_with(history, question, cancel, Some(on_text))
    }

    fn ask_with(
        &self,
        history: &[Message],
        question: &str,
        cancel: &cancel::Token,
        on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<Answer, Failure> {
        let cfg = &self.inner.cfg;
        let started = Instant::now();
        let (number, _hang_up) = self.begin_question(cancel);
        let path = match cfg.endpoint {
            config::Endpoint::Generate => "/api/generate",
            config::Endpoint::Chat => "/api/chat",
        };
        let body = |streaming: bool| self.question_body(history, question, streaming);
        let result = self.exchange(Conn::Question, path, &body, cancel, started, on_text);
        self.end_question(number);
        let (reply, attempts) = result?;
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

    /// Makes this the one question in flight: the previous one (if any) is cancelled. A cancel
    /// of this one hangs up its connection; dropping the guard ends that.
    fn begin_question(&self, cancel: &cancel::Token) -> (u64, cancel::OnCancel) {
        let previous = {
            let mut slot = lock(&self.inner.question);
            slot.0 += 1;
            (slot.0, slot.1.replace(cancel.clone()))
        };
        if let Some(old) = previous.1 {
            old.cancel();
        }
        let inner: Weak<Inner> = Arc::downgrade(&self.inner);
        let guard = cancel.on_cancel(move || {
            if let Some(inner) = inner.upgrade() {
                inner.hang_up();
            }
        });
        (previous.0, guard)
    }

    fn end_question(&self, number: u64) {
        let mut slot = lock(&self.inner.question);
        if slot.0 == number {
            slot.1 = None;
        }
    }

    /// A question or a model load is in flight (a cancelled question no longer counts).
    pub(super) fn busy(&self) -> bool {
        self.inner.loading.load(Ordering::SeqCst)
            || lock(&self.inner.question)
                .1
                .as_ref()
                .is_some_and(|t| !t.is_cancelled())
    }

    pub(super) fn config(&self) -> &config::Ollama {
        &self.inner.cfg
    }

    /// The questions' current agent (a clone shares its connections).
    pub(super) fn agent(&self) -> ureq::Agent {
        lock(&self.inner.agent).clone()
    }

    pub(super) fn loader(&self) -> ureq::Agent {
        self.inner.loader.clone()
    }

    /// Set while a model load is in flight.
    pub(super) fn loading(&self) -> &AtomicBool {
        &self.inner.loading
    }

    /// The server URL as safe to show: any password as `***`.
    pub fn url(&self) -> &str {
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
    ///
    /// Text handed to `on_text` ends the retries: see `ask_streaming`.
    pub(super) fn exchange(
        &self,
        conn: Conn,
        path: &str,
        body_for: &dyn Fn(bool) -> Vec<u8>,
        cancel: &cancel::Token,
        started: Instant,
        mut on_text: Option<&mut dyn FnMut(&str)>,
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
            // Taken before the check: a cancel that replaced the agent in between has set the
            // token first, so the check sees it; otherwise this agent is the one it shuts down.
            let agent = match conn {
                Conn::Question => self.agent(),
                Conn::Load => self.loader(),
            };
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let streaming = self.streaming();
            let mut handed_on = false;
            let result = {
                let mut sink = |text: &str| {
                    if let Some(f) = on_text.as_mut() {
                        handed_on = true;
                        f(text);
                    }
                };
                let body = body_for(streaming);
                self.attempt(&agent, path, &body, streaming, remaining, &mut sink)
            };
            let problem = match result {
                Ok(reply) => return Ok((reply, attempt)),
                Err(p) => p,
            };
            if cancel.is_cancelled() {
                tracing::debug!(
                    attempt,
                    "ollama request cancelled; the connection was closed"
                );
                return Err(cancelled());
            }
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
            let stop = if handed_on {
                Some("not retrying: part of the reply was already handed on to be spoken")
            } else if !allowed {
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

impl Inner {
    /// Closes the question's connection now: a fresh agent takes the old one's place and the
    /// old one is shut down, which fails the request blocked on it at once.
    fn hang_up(&self) {
        let old = std::mem::replace(&mut *lock(&self.agent), new_agent(&self.cfg));
        old.shutdown();
    }
}

fn new_agent(cfg: &config::Ollama) -> ureq::Agent {
    // A forward proxy from the environment is a classic source of mystery 502s for a server on
    // the LAN, so it is used only when asked for.
    let proxy = if cfg.use_env_proxy {
        ureq::Proxy::try_from_env()
    } else {
        None
    };
    // Timeouts are set per request (http.rs: per attempt, or per read when streaming).
    crate::http::agent(cfg.connect_timeout, None, proxy)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data (an agent, a token) stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn cancelled() -> Failure {
    Failure::new(FailureClass::Cancelled, "cancelled")
}
