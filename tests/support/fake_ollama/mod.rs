//! A fake Ollama server for tests: replays `shared/fixtures/ollama/` with their real status
//! codes, content types and transfer encodings, scripted per request, and records what it got.
//!
//! It also misbehaves on demand: hang, reset, close, truncate, garbage, huge bodies; and it can
//! generate at a model's pace (`paced.rs`), noticing when the client hangs up.
//!
//! Model loads (an empty prompt, as the daemon sends when the button is pressed) can be answered
//! apart from the questions (`answer_loads`), so a test's script is about questions only.

pub mod paced;
pub mod reply;

use std::collections::VecDeque;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

pub use paced::{Pace, Run};
pub use reply::Reply;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When the whole request had been read.
    pub received: SystemTime,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A model load: an empty prompt (`/api/generate`) or no messages (`/api/chat`).
    pub fn is_load(&self) -> bool {
        let json = self.json();
        self.method == "POST"
            && (json["prompt"] == "" || json["messages"].as_array().is_some_and(Vec::is_empty))
    }
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Request>>,
    /// `Some` once loads are answered apart from the script.
    loads: Mutex<Option<VecDeque<Reply>>>,
    load_requests: Mutex<Vec<Request>>,
    runs: paced::Runs,
    arrived: Condvar,
}

/// The running server; dropping it stops accepting (connections in flight finish on their own).
pub struct FakeOllama {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakeOllama {
    /// Starts on 127.0.0.1, a free port, answering requests with `script` in order. Requests
    /// beyond the script get a plain-text 500 that names the mistake.
    pub fn start(script: Vec<Reply>) -> FakeOllama {
        Self::start_on(0, script)
    }

    /// Starts on a given loopback port (e.g. the upstream port a proxy already points at).
    pub fn start_on(port: u16, script: Vec<Reply>) -> FakeOllama {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            ..State::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || serve(conn, &state));
                }
            })
        };
        FakeOllama {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// From now on, model loads are answered with `replies` in order (then at once with
    /// `Reply::loaded()`), recorded in `loads()` and not in `requests()`.
    pub fn answer_loads(self, replies: Vec<Reply>) -> FakeOllama {
        *self.state.loads.lock().unwrap() = Some(replies.into());
        self
    }

    /// The model loads received since `answer_loads`.
    pub fn loads(&self) -> Vec<Request> {
        self.state.load_requests.lock().unwrap().clone()
    }

    /// Every paced reply served so far, in order.
    pub fn runs(&self) -> Vec<Run> {
        self.state.runs.lock().unwrap().clone()
    }

    /// Waits (up to `PATIENCE`) until the latest paced reply satisfies `ready`; panics saying
    /// `what` never happened.
    pub fn wait_run(&self, what: &str, ready: impl Fn(&Run) -> bool) -> Run {
        let found = super::poll(super::PATIENCE, Duration::from_millis(2), || {
            self.runs().last().filter(|r| ready(r)).cloned()
        });
        found.unwrap_or_else(|| panic!("never {what}: {:?}", self.runs()))
    }

    /// How long after `since` the client hung up on the latest paced reply (waiting for it);
    /// the server must not have finished that reply.
    pub fn hang_up_after(&self, since: SystemTime) -> Duration {
        let run = self.wait_run("a hang-up", |r| r.hung_up.is_some());
        assert!(run.ended.is_none(), "the reply was complete: {run:?}");
        run.hung_up
            .and_then(|at| at.duration_since(since).ok())
            .unwrap_or_default()
    }

    /// Waits (bounded) until `n` requests have arrived; returns how many did.
    pub fn wait_requests(&self, n: usize, limit: Duration) -> usize {
        let end = Instant::now() + limit;
        let mut got = self.state.requests.lock().unwrap();
        while got.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            got = self.state.arrived.wait_timeout(got, left).unwrap().0;
        }
        got.len()
    }
}

impl Drop for FakeOllama {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, state: &State) {
    let _ = conn.set_nodelay(true);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Some(request) = read_request(&mut conn) else {
        return;
    };
    let load = if request.is_load() {
        state
            .loads
            .lock()
            .unwrap()
            .as_mut()
            .map(VecDeque::pop_front)
    } else {
        None
    };
    let (reply, list) = match load {
        Some(reply) => (
            Some(reply.unwrap_or_else(Reply::loaded)),
            &state.load_requests,
        ),
        None => (state.script.lock().unwrap().pop_front(), &state.requests),
    };
    {
        let mut got = list.lock().unwrap();
        got.push(request.clone());
        state.arrived.notify_all();
    }
    let reply = reply.unwrap_or_else(|| {
        Reply::send(
            500,
            "text/plain",
            "fake ollama: no scripted reply left for this request",
        )
    });
    let _ = reply::respond(&mut conn, reply, &request, &state.runs);
}

/// Reads one HTTP/1.1 request (headers, then a Content-Length or chunked body).
fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = data[head_end..].to_vec();
    if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = conn.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
    } else if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !body.ends_with(b"0\r\n\r\n") {
            let n = conn.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        body = dechunk(&body);
    }
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
        received: SystemTime::now(),
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        let end = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..end]);
        raw = &raw[(end + 2).min(raw.len())..];
    }
    out
}
