//! A fake server that generates at a model's pace: nothing until the first token, then one token
//! every so often; streamed as NDJSON lines when the request asked for `"stream": true`, else the
//! whole body once the last token is made, as Ollama does. It stops generating when the client
//! hangs up, and records when it wrote each token and when (if ever) the client hung up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use super::Request;

/// How a paced reply is generated.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Request received → first token (model load, prompt evaluation).
    pub first_token: Duration,
    /// Between tokens: 50 ms is 20 tokens/s.
    pub per_token: Duration,
    pub text: String,
    /// A stream cut after this many tokens: the connection closes without the final line.
    pub cut_after: Option<usize>,
    /// The model stops for a while after this many tokens (a slow server, a proxy flushing
    /// whole sentences).
    pub pause: Option<(usize, Duration)>,
}

impl Pace {
    pub fn new(first_token_ms: u64, tokens_per_s: f64, text: &str) -> Pace {
        Pace {
            first_token: Duration::from_millis(first_token_ms),
            per_token: Duration::from_secs_f64(1.0 / tokens_per_s),
            text: text.to_string(),
            cut_after: None,
            pause: None,
        }
    }

    pub fn pause_after(mut self, tokens: usize, ms: u64) -> Pace {
        self.pause = Some((tokens, Duration::from_millis(ms)));
        self
    }

    pub fn cut_after(mut self, tokens: usize) -> Pace {
        self.cut_after = Some(tokens);
        self
    }
}

/// What happened to one paced reply.
#[derive(Debug, Clone)]
pub struct Run {
    // Shown in a failing assertion's `{:?}`; `received` is read by benches/whole_turn.
    #[allow(dead_code)]
    pub path: String,
    pub streamed: bool,
    /// When the request had been read.
    #[allow(dead_code)]
    pub received: SystemTime,
    /// The tokens, in order.
    pub tokens: Vec<String>,
    /// When each token was sent (streamed) or the body carrying all of them (whole: every
    /// entry is that one write).
    pub sent: Vec<SystemTime>,
    /// When the client closed the connection before the reply was complete.
    pub hung_up: Option<SystemTime>,
    /// When the last byte was written (the reply complete, or cut as asked).
    pub ended: Option<SystemTime>,
}

impl Run {
    /// When the server had produced everything up to the end of `text` (a prefix of the reply):
    /// the send time of its last token. `None` if that was never sent.
    pub fn sent_through(&self, text: &str) -> Option<SystemTime> {
        let mut so_far = String::new();
        for (token, at) in self.tokens.iter().zip(&self.sent) {
            so_far.push_str(token);
            if so_far.trim_end().len() >= text.trim_end().len() {
                return Some(*at);
            }
        }
        None
    }
}

/// Paced replies served so far, shared with the server threads.
pub type Runs = Arc<Mutex<Vec<Run>>>;

/// Roughly how LLM tokenizers cut English: a word with the space before it, and each
/// punctuation mark on its own.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() && !word.trim().is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if matches!(c, '.' | ',' | '!' | '?' | ';' | ':') {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

pub(super) fn respond(
    conn: &mut TcpStream,
    pace: &Pace,
    request: &Request,
    runs: &Runs,
) -> std::io::Result<()> {
    let streamed = request.json()["stream"].as_bool().unwrap_or(true);
    let chat = request.path.ends_with("/chat");
    let tokens = tokens(&pace.text);
    let index = {
        let mut runs = runs.lock().unwrap();
        runs.push(Run {
            path: request.path.clone(),
            streamed,
            received: request.received,
            tokens: tokens.clone(),
            sent: Vec::new(),
            hung_up: None,
            ended: None,
        });
        runs.len() - 1
    };
    let record = |f: &dyn Fn(&mut Run)| f(&mut runs.lock().unwrap()[index]);
    let gone = watch_for_hang_up(conn, runs.clone(), index)?;
    let start = Instant::now();
    // Token k is made at first_token + k × per_token after the request, on an absolute schedule.
    let paused = |k: usize| match pace.pause {
        Some((after, d)) if k >= after => d,
        _ => Duration::ZERO,
    };
    let made = |k: usize| start + pace.first_token + pace.per_token * k as u32 + paused(k);
    // Waits for `at`; false when the client hung up first (the server stops generating).
    let wait_until = |at: Instant| -> bool {
        let left = at.saturating_duration_since(Instant::now());
        matches!(
            gone.recv_timeout(left),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    };
    let count = pace.cut_after.unwrap_or(tokens.len()).min(tokens.len());
    if !streamed {
        if !wait_until(made(count.saturating_sub(1))) {
            return Ok(());
        }
        let text: String = tokens[..count].concat();
        let body = whole(chat, &text);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        // Marked before the write: a client that reads it and closes has not hung up.
        let now = SystemTime::now();
        record(&|r| {
            r.sent = vec![now; count];
            r.ended = Some(now);
        });
        conn.write_all(head.as_bytes())?;
        conn.write_all(body.as_bytes())?;
        conn.flush()?;
        return conn.shutdown(std::net::Shutdown::Both);
    }
    for (k, token) in tokens[..count].iter().enumerate() {
        if !wait_until(made(k)) {
            return Ok(());
        }
        if k == 0 {
            // Ollama writes nothing, not even the headers, before the first token.
            conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )?;
        }
        let now = SystemTime::now();
        record(&|r| r.sent.push(now));
        write_chunk(conn, &line(chat, token, false))?;
    }
    let now = SystemTime::now();
    record(&|r| r.ended = Some(now));
    if pace.cut_after.is_none() {
        write_chunk(conn, &line(chat, "", true))?;
        conn.write_all(b"0\r\n\r\n")?;
        conn.flush()?;
    }
    conn.shutdown(std::net::Shutdown::Both)
}

/// Reads the client's side until it closes: that is a hang-up unless the reply has ended. The
/// receiver wakes (disconnected) when it happens.
fn watch_for_hang_up(
    conn: &TcpStream,
    runs: Runs,
    index: usize,
) -> std::io::Result<mpsc::Receiver<()>> {
    let mut reader = conn.try_clone()?;
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
        let now = SystemTime::now();
        let mut runs = runs.lock().unwrap();
        if runs[index].ended.is_none() {
            runs[index].hung_up = Some(now);
        }
        drop(tx);
    });
    Ok(rx)
}

fn write_chunk(conn: &mut TcpStream, data: &str) -> std::io::Result<()> {
    conn.write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())?;
    conn.flush()
}

/// One NDJSON line (with its newline), shaped like the real server's for the endpoint.
fn line(chat: bool, token: &str, done: bool) -> String {
    let mut v = if chat {
        serde_json::json!({"model": "llama3.2", "created_at": "2026-01-01T00:00:00.1Z",
            "message": {"role": "assistant", "content": token}, "done": done})
    } else {
        serde_json::json!({"model": "llama3.2", "created_at": "2026-01-01T00:00:00.1Z",
            "response": token, "done": done})
    };
    if done {
        v["done_reason"] = "stop".into();
        v["eval_count"] = 42.into();
    }
    format!("{v}\n")
}

fn whole(chat: bool, text: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&line(chat, text, true)).unwrap();
    if chat {
        v["message"]["content"] = text.into();
    } else {
        v["response"] = text.into();
    }
    v.to_string()
}
