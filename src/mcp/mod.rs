//! MCP servers' tools for the model: the `[[tools.mcp]]` servers connected, kept connected, their
//! tools listed and offered beside the built-in ones, and calls to them run.
//!
//! Each server has a supervisor thread: it connects (starts a stdio child, or initializes an HTTP
//! session), lists the tools, publishes them, and after a failure waits with backoff and tries
//! again; while a server is down its tools are not offered. Calls come from the Ollama worker
//! thread through `Mcp::call` (the `tools::Executor`'s `run_extra`). Everything a server sends
//! is bounded (`wire`): tool count, descriptions, schemas, results.

mod executor;
mod http;
mod stdio;
pub mod wire;

pub use executor::WithMcp;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::url::Url;
use wire::{Error, Reply, Tool};

/// Servers in one config, at most.
pub const MAX_SERVERS: usize = 8;
/// Backoff between connection attempts: doubling from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// A server up this long has its backoff reset when it fails.
const STABLE: Duration = Duration::from_secs(60);

/// One `[[tools.mcp]]` table.
#[derive(Clone, PartialEq)]
pub struct Server {
    /// Letters, digits, `_`, `-`: the prefix of its tools' names when they collide.
    pub name: String,
    pub transport: Transport,
}

#[derive(Clone, PartialEq)]
pub enum Transport {
    /// A child started from this argv (never through a shell).
    Stdio(Vec<String>),
    /// Streamable HTTP; the token is sent as `Authorization: Bearer`.
    Http { url: Url, token: Option<String> },
}

impl std::fmt::Debug for Server {
    /// The token never shows; the URL shows its user info redacted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Server");
        s.field("name", &self.name);
        match &self.transport {
            Transport::Stdio(argv) => s.field("command", argv),
            Transport::Http { url, token } => s
                .field("url", url)
                .field("token", &token.as_ref().map(|_| "<redacted>")),
        };
        s.finish()
    }
}

impl Server {
    /// Where it is, for messages: the program or the URL (credentials redacted).
    pub fn target(&self) -> String {
        match &self.transport {
            Transport::Stdio(argv) => argv.first().cloned().unwrap_or_default(),
            Transport::Http { url, .. } => url.to_string(),
        }
    }
}

/// A connected server's session.
enum Conn {
    Stdio(Arc<stdio::Conn>),
    Http(Arc<http::Conn>),
}

impl Conn {
    fn request(&self, method: &str, params: Value, timeout: Duration) -> Result<Reply, Error> {
        match self {
            Conn::Stdio(c) => c.request(method, params, timeout),
            Conn::Http(c) => c.request(method, params, timeout),
        }
    }
}

impl Conn {
    fn same(&self, other: &Conn) -> bool {
        match (self, other) {
            (Conn::Stdio(a), Conn::Stdio(b)) => Arc::ptr_eq(a, b),
            (Conn::Http(a), Conn::Http(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Clone for Conn {
    fn clone(&self) -> Self {
        match self {
            Conn::Stdio(c) => Conn::Stdio(c.clone()),
            Conn::Http(c) => Conn::Http(c.clone()),
        }
    }
}

/// What a server is doing, as `check` and the logs say it.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Connecting,
    Connected(usize),
    Down(String),
}

struct State {
    status: Status,
    conn: Option<Conn>,
    tools: Arc<Vec<Tool>>,
    /// The stdio child's pid (its process group), until it is reaped.
    pid: Option<i32>,
    stopping: bool,
    /// An HTTP session found dead by a call: the supervisor reconnects.
    broken: bool,
}

struct Slot {
    server: Server,
    state: Mutex<State>,
    wake: Condvar,
}

/// The configured servers, kept connected while this lives; dropping it kills the children.
pub struct Mcp {
    slots: Vec<Arc<Slot>>,
    call_timeout: Duration,
}

impl Mcp {
    /// Starts one supervisor per server; they connect in the background.
    pub fn start(servers: &[Server], call_timeout: Duration) -> Mcp {
        let slots: Vec<Arc<Slot>> = servers
            .iter()
            .take(MAX_SERVERS)
            .map(|s| {
                Arc::new(Slot {
                    server: s.clone(),
                    state: Mutex::new(State {
                        status: Status::Connecting,
                        conn: None,
                        tools: Arc::new(Vec::new()),
                        pid: None,
                        stopping: false,
                        broken: false,
                    }),
                    wake: Condvar::new(),
                })
            })
            .collect();
        for slot in &slots {
            let slot = slot.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("mcp-{}", slot.server.name))
                .spawn(move || supervise(&slot, call_timeout));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start an MCP supervisor thread");
            }
        }
        Mcp {
            slots,
            call_timeout,
        }
    }

    /// Each server's name and status.
    pub fn status(&self) -> Vec<(String, Status)> {
        self.slots
            .iter()
            .map(|s| (s.server.name.clone(), lock(&s.state).status.clone()))
            .collect()
    }

    /// Waits until no server is still making its first connection, at most `timeout`.
    pub fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for slot in &self.slots {
            let mut state = lock(&slot.state);
            while state.status == Status::Connecting {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return;
                }
                state = slot
                    .wake
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }

    /// The connected servers' tools in Ollama's `tools` shape, under the names `call` takes.
    pub fn tools(&self) -> Vec<Value> {
        self.offered()
            .into_iter()
            .map(|(name, _, tool)| {
                json!({"type": "function", "function": {
                    "name": name,
                    "description": tool.description,
                    "parameters": tool.schema,
                }})
            })
            .collect()
    }

    /// Runs a call to an offered tool; `None` when no connected server offers `name`. `Err` is
    /// the text of an error the model can explain.
    pub fn call(&self, name: &str, arguments: &Value) -> Option<Result<String, String>> {
        let (_, slot, tool) = self.offered().into_iter().find(|(n, _, _)| n == name)?;
        let server = &slot.server.name;
        let Some(conn) = lock(&slot.state).conn.clone() else {
            return Some(Err(format!("the {server} server is not connected")));
        };
        let arguments = if arguments.is_object() {
            arguments.clone()
        } else {
            json!({})
        };
        let started = Instant::now();
        let outcome = conn.request(
            "tools/call",
            json!({"name": tool.name, "arguments": arguments}),
            self.call_timeout,
        );
        let ms = started.elapsed().as_millis() as u64;
        let result = match outcome {
            Ok(Reply::Result(v)) => wire::call_result(&v),
            Ok(Reply::Cut(prefix)) => Ok(wire::cut_result(&prefix)),
            Err(Error::Timeout(d)) => Err(format!(
                "the tool {} of the {server} server did not answer within {:.0} s",
                tool.name,
                d.as_secs_f64()
            )),
            Err(Error::Rpc(m)) => Err(format!("the {server} server refused the call: {m}")),
            Err(e) => {
                if e.is_fatal() {
                    // Its tools go at once (not when the supervisor notices), unless the
                    // supervisor already has a new session.
                    let mut state = lock(&slot.state);
                    if state.conn.as_ref().is_some_and(|c| c.same(&conn)) {
                        state.broken = true;
                        state.conn = None;
                        state.tools = Arc::new(Vec::new());
                        state.status = Status::Down(e.to_string());
                        // A stdio server that broke the protocol or stopped reading is killed,
                        // so its supervisor starts it anew (it waits for the exit).
                        if let (Conn::Stdio(_), Some(pid)) = (&conn, state.pid) {
                            stdio::kill(pid);
                        }
                        slot.wake.notify_all();
                    }
                }
                Err(format!("the {server} server failed: {e}"))
            }
        };
        match &result {
            Ok(text) => {
                tracing::info!(server, tool = %tool.name, ms, chars = text.chars().count(), "MCP tool call")
            }
            Err(e) => {
                tracing::warn!(server, tool = %tool.name, ms, error = %crate::printable::escaped(e), "MCP tool call failed")
            }
        }
        Some(result)
    }

    /// Offered name, server and tool of every connected server's tools. A tool keeps its own
    /// name unless another server offers the same or it is a built-in's; then it is
    /// `SERVER_tool`.
    fn offered(&self) -> Vec<(String, Arc<Slot>, Tool)> {
        let lists: Vec<(Arc<Slot>, Arc<Vec<Tool>>)> = self
            .slots
            .iter()
            .map(|s| (s.clone(), lock(&s.state).tools.clone()))
            .collect();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for (_, tools) in &lists {
            for t in tools.iter() {
                *count.entry(t.name.as_str()).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        for (slot, tools) in &lists {
            for t in tools.iter() {
                let clash =
                    count[t.name.as_str()] > 1 || crate::tools::NAMES.contains(&t.name.as_str());
                let name = if clash {
                    format!("{}_{}", slot.server.name, t.name)
                } else {
                    t.name.clone()
                };
                out.push((name, slot.clone(), t.clone()));
            }
        }
        out
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        for slot in &self.slots {
            let mut state = lock(&slot.state);
            state.stopping = true;
            state.conn = None;
            state.tools = Arc::new(Vec::new());
            if let Some(pid) = state.pid {
                stdio::kill(pid);
            }
            slot.wake.notify_all();
        }
    }
}

/// The servers to start for `config`: none when no tools are offered (`tools.enabled = false`,
/// or `/api/generate`, which has no tools), so no child runs for nothing.
pub fn in_use(config: &crate::config::Config) -> &[Server] {
    let offered = config.tools.enabled && config.ollama.endpoint == crate::config::Endpoint::Chat;
    if offered { &config.tools.mcp } else { &[] }
}

/// Connects once and lists the tools, for `voicebox check`: the tool count or why not.
pub fn probe(server: &Server, timeout: Duration) -> Result<usize, String> {
    match &server.transport {
        Transport::Stdio(argv) => {
            let mut p = stdio::spawn(&server.name, argv).map_err(|e| e.to_string())?;
            let conn = Conn::Stdio(p.conn.clone());
            let outcome = handshake_stdio(&p.conn, timeout)
                .and_then(|()| list_tools(&conn, &server.name, timeout));
            stdio::kill(p.child.id() as i32);
            let _ = p.child.wait();
            outcome.map(|t| t.len()).map_err(|e| e.to_string())
        }
        Transport::Http { url, token } => connect_http(server, url, token.as_deref(), timeout)
            .map(|(_, tools)| tools.len())
            .map_err(|e| e.to_string()),
    }
}

/// The supervisor of one server: connect, publish, wait for the failure, back off, again.
fn supervise(slot: &Slot, call_timeout: Duration) {
    let name = &slot.server.name;
    // Starting a server (a Python interpreter on a Pi) may take longer than one call.
    let connect_timeout = call_timeout.max(Duration::from_secs(60));
    let mut backoff = BACKOFF.0;
    let mut last_error = String::new();
    loop {
        if lock(&slot.state).stopping {
            return;
        }
        let started = Instant::now();
        let failure = match &slot.server.transport {
            Transport::Stdio(argv) => run_stdio(slot, argv, connect_timeout),
            Transport::Http { url, token } => {
                run_http(slot, url, token.as_deref(), connect_timeout)
            }
        };
        let mut state = lock(&slot.state);
        state.conn = None;
        state.tools = Arc::new(Vec::new());
        state.broken = false;
        if state.stopping {
            return;
        }
        state.status = Status::Down(failure.clone());
        slot.wake.notify_all();
        if started.elapsed() >= STABLE {
            backoff = BACKOFF.0;
        }
        if failure != last_error {
            tracing::warn!(
                server = %name,
                error = %crate::printable::escaped(&failure),
                retry_s = backoff.as_secs(),
                "MCP server unavailable; its tools are left out until it is back"
            );
            last_error = failure;
        } else {
            tracing::debug!(server = %name, retry_s = backoff.as_secs(), "MCP server still unavailable");
        }
        let deadline = Instant::now() + backoff;
        while !state.stopping {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = slot
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(state);
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

/// One life of a stdio server: start, handshake, publish, wait for its exit. Returns why it
/// ended.
fn run_stdio(slot: &Slot, argv: &[String], timeout: Duration) -> String {
    let name = &slot.server.name;
    let mut process = {
        let mut state = lock(&slot.state);
        if state.stopping {
            return "stopped".into();
        }
        match stdio::spawn(name, argv) {
            Ok(p) => {
                state.pid = Some(p.child.id() as i32);
                p
            }
            Err(e) => return e.to_string(),
        }
    };
    let conn = Conn::Stdio(process.conn.clone());
    let listed =
        handshake_stdio(&process.conn, timeout).and_then(|()| list_tools(&conn, name, timeout));
    match listed {
        Ok(tools) => publish(slot, conn, tools),
        Err(e) => {
            stdio::kill(process.child.id() as i32);
            let _ = process.child.wait();
            lock(&slot.state).pid = None;
            return e.to_string();
        }
    }
    // Blocks until the child exits (or is killed by `Mcp`'s drop); whatever it started is
    // killed with it before it is reaped (until then its pid, the group's id, is not reused).
    let pid = process.child.id() as i32;
    stdio::wait_exit(pid);
    stdio::kill(pid);
    let status = process.child.wait();
    lock(&slot.state).pid = None;
    match status {
        Ok(s) => format!("the server exited ({s})"),
        Err(e) => format!("the server was lost ({e})"),
    }
}

fn handshake_stdio(conn: &stdio::Conn, timeout: Duration) -> Result<(), Error> {
    match conn.request("initialize", wire::initialize_params(), timeout)? {
        Reply::Result(_) => conn.notify("notifications/initialized", json!({})),
        Reply::Cut(_) => Err(Error::Garbage(
            "answered initialize with more than 1 MiB".into(),
        )),
    }
}

/// One life of an HTTP session: initialize, list, publish, wait until a call finds it broken.
fn run_http(slot: &Slot, url: &Url, token: Option<&str>, timeout: Duration) -> String {
    let (conn, tools) = match connect_http(&slot.server, url, token, timeout) {
        Ok(c) => c,
        Err(e) => return e.to_string(),
    };
    publish(slot, Conn::Http(conn), tools);
    let mut state = lock(&slot.state);
    while !state.broken && !state.stopping {
        state = slot.wake.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    "a call found the session broken".into()
}

fn connect_http(
    server: &Server,
    url: &Url,
    token: Option<&str>,
    timeout: Duration,
) -> Result<(Arc<http::Conn>, Vec<Tool>), Error> {
    let mut conn = http::Conn::new(url, token, timeout.min(Duration::from_secs(10)));
    let (reply, session) =
        conn.request_with_session("initialize", wire::initialize_params(), timeout)?;
    let Reply::Result(init) = reply else {
        return Err(Error::Garbage(
            "answered initialize with more than 1 MiB".into(),
        ));
    };
    conn.established(session, init.get("protocolVersion").and_then(Value::as_str));
    conn.notify("notifications/initialized", json!({}), timeout)?;
    let conn = Arc::new(conn);
    let tools = list_tools(&Conn::Http(conn.clone()), &server.name, timeout)?;
    Ok((conn, tools))
}

/// `tools/list`, following `nextCursor` a few pages, at most `MAX_TOOLS` tools.
fn list_tools(conn: &Conn, server: &str, timeout: Duration) -> Result<Vec<Tool>, Error> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..wire::MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let Reply::Result(page) = conn.request("tools/list", params, timeout)? else {
            return Err(Error::Garbage(format!(
                "its tool list is larger than {} MiB",
                wire::MAX_MESSAGE_BYTES >> 20
            )));
        };
        let (more, next) = wire::tools_page(&page, server);
        tools.extend(more);
        cursor = next;
        if cursor.is_none() || tools.len() >= wire::MAX_TOOLS {
            break;
        }
    }
    if tools.len() > wire::MAX_TOOLS {
        tracing::warn!(
            server,
            tools = tools.len(),
            "MCP server offers more than {} tools; the rest are left out",
            wire::MAX_TOOLS
        );
        tools.truncate(wire::MAX_TOOLS);
    }
    // One server offering one name twice: the first one counts.
    let mut seen = std::collections::HashSet::new();
    tools.retain(|t| seen.insert(t.name.clone()));
    Ok(tools)
}

fn publish(slot: &Slot, conn: Conn, tools: Vec<Tool>) {
    let mut state = lock(&slot.state);
    if state.stopping {
        return;
    }
    tracing::info!(
        server = %slot.server.name,
        target = %crate::printable::escaped(&slot.server.target()),
        tools = tools.len(),
        "MCP server connected"
    );
    state.status = Status::Connected(tools.len());
    state.tools = Arc::new(tools);
    state.conn = Some(conn);
    state.broken = false;
    slot.wake.notify_all();
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
