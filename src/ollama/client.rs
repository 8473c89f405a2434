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
use crate::tools::{Executor, clock};
use crate::{cancel, printable};

use super::Message;
use super::backoff::{self, Backoff};
use super::error::{Context, Problem, Retry};
use super::rounds::{self, Question, Tooling};
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
    /// The tools offered with `/api/chat`, if any.
    tooling: Option<Tooling>,
    /// Models that answered "does not support tools": asked without them from then on.
    no_tools: Mutex<Vec<String>>,
}

/// A successful exchange.
#[derive(Default)]
pub(super) struct Reply1 {
    pub text: String,
    pub done_reason: Option<String>,
    pub model: Option<String>,
    /// The tool calls of a chat reply, as the server sent them.
    pub tool_calls: Vec<serde_json::Value>,
}

/// How an exchange ended without a reply: the failure, and the last attempt's problem when
/// there was one (the tool loop looks for "does not support tools").
pub(super) struct Stopped {
    pub failure: Failure,
    pub problem: Option<Problem>,
}

impl From<Failure> for Stopped {
    fn from(failure: Failure) -> Stopped {
        Stopped {
            failure,
            problem: None,
        }
    }
}

impl From<Stopped> for Failure {
    fn from(s: Stopped) -> Failure {
        s.failure
    }
}

/// Which connections an exchange uses.
#[derive(Clone, Copy)]
pub(super) enum Conn {
    Question,
    Load,
}

impl Client {
    /// A client that offers no tools.
    pub fn new(cfg: &config::Ollama) -> Client {
        Self::build(cfg, None)
    }

    /// A client that offers the tools (`tools.enabled`, with `/api/chat`) and runs their calls
    /// with `executor`; the built-in "could not finish" message comes from `config.messages`.
    pub fn with_tools(config: &config::Config, executor: Arc<dyn Executor>) -> Client {
        let tooling = config.tools.enabled.then(|| Tooling {
            cfg: config.tools.clone(),
            executor,
            messages: config.messages.clone(),
            default_lang: config.tts.language.clone(),
        });
        Self::build(&config.ollama, tooling)
    }

    fn build(cfg: &config::Ollama, tooling: Option<Tooling>) -> Client {
        Client {
            inner: Arc::new(Inner {
                shown_url: cfg.url.to_string(),
                agent: Mutex::new(new_agent(cfg)),
                loader: new_agent(cfg),
                cfg: cfg.clone(),
                stream_off: AtomicBool::new(false),
                question: Mutex::new((0, None)),
                loading: AtomicBool::new(false),
                tooling,
                no_tools: Mutex::new(Vec::new()),
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
        let q = Question {
            history,
            text: question,
            lang: "",
            now: None,
        };
        self.ask_question(&q, cancel, on_text)
    }

    /// Asks `q`: with the time context when `q.now` is given, with the tools when this client
    /// offers them (`with_tools`) and the endpoint is `/api/chat`, in rounds (`rounds.rs`).
    /// Streamed text of every round goes to `on_text` as it arrives. One "ollama reply" line
    /// per question, whatever the rounds.
    pub fn ask_question(
        &self,
        q: &Question,
        cancel: &cancel::Token,
        on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<Answer, Failure> {
        let cfg = &self.inner.cfg;
        let started = Instant::now();
        let (number, _hang_up) = self.begin_question(cancel);
        let result = self.rounds(q, cancel, started, on_text);
        self.end_question(number);
        let done = result?;
        let ollama_ms = ms(started.elapsed());
        let model = done.reply.model.unwrap_or_else(|| cfg.model.clone());
        tracing::info!(
            response_chars = done.text.chars().count(),
            attempts = done.attempts,
            rounds = done.rounds,
            tool_calls = done.tools.len(),
            ollama_ms,
            // Both come from the server: escaped, so they can neither forge a line nor drive a
            // terminal showing the log.
            model = %printable::escaped(&model),
            done_reason = %printable::escaped(done.reply.done_reason.as_deref().unwrap_or("none")),
            "ollama reply"
        );
        Ok(Answer {
            text: done.text,
            attempts: done.attempts,
            ollama_ms,
            model,
            done_reason: done.reply.done_reason,
            tools: done.tools,
        })
    }

    /// The rounds of one question: ask; while the reply calls tools (and rounds are left), run
    /// the calls, add the assistant message and the results, and ask again. The last round
    /// offers no tools, so the model answers in words.
    fn rounds(
        &self,
        q: &Question,
        cancel: &cancel::Token,
        started: Instant,
        mut on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<Done, Failure> {
        let cfg = &self.inner.cfg;
        let lang = q.lang;
        let system = match &q.now {
            Some(now) => clock::system_prompt(&cfg.system_prompt, now, self.lang_or_default(lang)),
            None => cfg.system_prompt.clone(),
        };
        let (path, mut convo) = match cfg.endpoint {
            config::Endpoint::Generate => ("/api/generate", Vec::new()),
            config::Endpoint::Chat => ("/api/chat", self.conversation(&system, q)),
        };
        let tooling = self
            .inner
            .tooling
            .as_ref()
            .filter(|_| cfg.endpoint == config::Endpoint::Chat);
        let definitions = tooling.map(Tooling::definitions).unwrap_or_default();
        let mut offer = tooling.is_some() && !self.lacks_tools(&cfg.model);
        let max_rounds = tooling.map_or(0, |t| t.cfg.max_rounds);
        let mut done = Done::default();
        let mut fell_back = false;
        loop {
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            let calls_allowed = offer && done.rounds < max_rounds;
            let tools = calls_allowed.then_some(&definitions[..]);
            let body = |streaming: bool| match cfg.endpoint {
                config::Endpoint::Generate => self.generate_body(q.text, &system, streaming),
                config::Endpoint::Chat => self.chat_body(&convo, tools, streaming),
            };
            // Each round hands its text on to the same sink; a round's words start on a new
            // line after an earlier round's, as in the answer's text.
            let streams = on_text.is_some();
            let mut apart = !done.text.is_empty();
            let mut sink = |text: &str| {
                if let Some(f) = on_text.as_mut() {
                    if std::mem::take(&mut apart) {
                        f("\n");
                    }
                    f(text);
                }
            };
            let sink: Option<&mut dyn FnMut(&str)> = if streams { Some(&mut sink) } else { None };
            let result = self.exchange_detailed(Conn::Question, path, &body, cancel, started, sink);
            let (mut reply, attempts) = match result {
                Ok(r) => r,
                Err(Stopped {
                    problem: Some(p), ..
                }) if tools.is_some() && !fell_back && p.lacks_tools() => {
                    self.note_lacks_tools(&cfg.model);
                    done.attempts += 1;
                    fell_back = true;
                    offer = false;
                    continue;
                }
                Err(stopped) => return Err(stopped.failure),
            };
            done.attempts += attempts;
            done.rounds += 1;
            let text = std::mem::take(&mut reply.text);
            if !text.trim().is_empty() {
                if !done.text.is_empty() {
                    done.text.push('\n');
                }
                done.text.push_str(&text);
            }
            let calls = std::mem::take(&mut reply.tool_calls);
            done.reply = reply;
            let Some(t) = tooling.filter(|_| calls_allowed && !calls.is_empty()) else {
                if !calls.is_empty() {
                    tracing::debug!(
                        calls = calls.len(),
                        "tool calls not run: no tools offered in this round"
                    );
                }
                if done.text.trim().is_empty() && !done.tools.is_empty() {
                    // The rounds ran out (or the model fell silent) after acting: say so
                    // rather than "I couldn't read the answer".
                    done.text = tooling.map(|t| t.unfinished(lang)).unwrap_or_default();
                }
                return Ok(done);
            };
            let (assistant, kept) = rounds::take_calls(&text, &calls);
            let (results, uses) = rounds::run_calls(
                &kept,
                calls.len() - kept.len(),
                t.executor.as_ref(),
                self.lang_or_default(lang),
            );
            convo.push(assistant);
            convo.extend(results);
            done.tools.extend(uses);
        }
    }

    /// The system prompt, the remembered messages and the question.
    fn conversation(&self, system: &str, q: &Question) -> Vec<ChatMessage> {
        let mut messages = Vec::with_capacity(q.history.len() + 2);
        if !system.is_empty() {
            messages.push(ChatMessage::new("system", system));
        }
        messages.extend(q.history.iter().map(ChatMessage::from_history));
        messages.push(ChatMessage::new("user", q.text));
        messages
    }

    fn lang_or_default<'a>(&'a self, lang: &'a str) -> &'a str {
        match (&self.inner.tooling, lang) {
            (Some(t), "") => &t.default_lang,
            _ => lang,
        }
    }

    fn lacks_tools(&self, model: &str) -> bool {
        lock(&self.inner.no_tools).iter().any(|m| m == model)
    }

    /// One WARN per model: from now on it is asked without tools.
    fn note_lacks_tools(&self, model: &str) {
        let mut known = lock(&self.inner.no_tools);
        if !known.iter().any(|m| m == model) {
            known.push(model.to_string());
            tracing::warn!(
                model = %printable::escaped(model),
                "the model does not support tools: asking it without them (timers and alarms need a model that does, e.g. qwen2.5 or qwen3; `voicebox check` says which)"
            );
        }
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

    fn generate_body(&self, prompt: &str, system: &str, streaming: bool) -> Vec<u8> {
        let common = Common::new(&self.inner.cfg, streaming);
        // Serializing strings and a JSON map cannot fail; an empty body would be a clear 400.
        serde_json::to_vec(&GenerateRequest {
            common,
            prompt,
            system,
        })
        .unwrap_or_default()
    }

    fn chat_body(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        streaming: bool,
    ) -> Vec<u8> {
        let common = Common::new(&self.inner.cfg, streaming);
        serde_json::to_vec(&ChatRequest {
            common,
            messages,
            tools,
        })
        .unwrap_or_default()
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
        on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<(Reply1, u32), Failure> {
        Ok(self.exchange_detailed(conn, path, body_for, cancel, started, on_text)?)
    }

    /// `exchange`, telling the last attempt's problem along with the failure.
    fn exchange_detailed(
        &self,
        conn: Conn,
        path: &str,
        body_for: &dyn Fn(bool) -> Vec<u8>,
        cancel: &cancel::Token,
        started: Instant,
        mut on_text: Option<&mut dyn FnMut(&str)>,
    ) -> Result<(Reply1, u32), Stopped> {
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
                return Err(cancelled().into());
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
                return Err(cancelled().into());
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
                return Err(Stopped {
                    failure,
                    problem: Some(problem),
                });
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
                return Err(cancelled().into());
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

/// What the rounds of a question came to.
#[derive(Default)]
struct Done {
    /// The words of every round, in order.
    text: String,
    attempts: u32,
    /// Requests that got a reply.
    rounds: u32,
    tools: Vec<crate::event::ToolUse>,
    /// The last reply (its model and done reason are logged).
    reply: Reply1,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data (an agent, a token) stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn cancelled() -> Failure {
    Failure::new(FailureClass::Cancelled, "cancelled")
}
