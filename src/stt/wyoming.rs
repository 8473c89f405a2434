//! Speech to text over Wyoming: `transcribe`, `audio-start`, an `audio-chunk` for each piece of
//! the recording as it arrives (while the user is still speaking), `audio-stop`, then the
//! transcript: a `transcript`, or the streamed `transcript-start`/`-chunk`/`-stop` of protocol
//! 1.7 servers.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::audio::capture::{Fed, STT_RATE};
use crate::audio::wav;
use crate::cancel;
use crate::wyoming::codec::Event;
use crate::wyoming::conn::{Conn, Error};

/// A transcript and how long it took after the end of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub text: String,
    pub after_end: Duration,
}

/// What one transcription asks of which server.
#[derive(Debug, Clone)]
pub struct Request {
    /// `host:port`.
    pub addr: String,
    /// The model (`transcribe` `name`); the server's default when `None`.
    pub model: Option<String>,
    /// The language to expect; the server's default when `None`.
    pub language: Option<String>,
    pub connect_timeout: Duration,
    /// For the transcript after the end of the recording (and for each chunk sent).
    pub timeout: Duration,
}

/// A transcript is a line of text; a server that sends more is broken.
const MAX_TRANSCRIPT: usize = 64 * 1024;

/// Transcribes the audio that arrives on `audio` until `Fed::End`. Blocks the calling thread.
/// A feed that closes without `End` (the recording was dropped) hangs up, as does `cancel`.
pub fn transcribe(
    req: &Request,
    audio: &mpsc::Receiver<Fed>,
    cancel: &cancel::Token,
) -> Result<Heard, Error> {
    let mut conn = Conn::open(&req.addr, req.connect_timeout, cancel)?;
    let mut ask = serde_json::Map::new();
    if let Some(m) = &req.model {
        ask.insert("name".into(), m.clone().into());
    }
    if let Some(l) = &req.language {
        ask.insert("language".into(), l.clone().into());
    }
    conn.deadline_in(req.timeout);
    conn.send(&Event::new("transcribe", Value::Object(ask)))?;
    let format = json!({"rate": STT_RATE, "width": 2, "channels": 1});
    conn.send(&Event::new("audio-start", format.clone()))?;
    loop {
        match audio.recv() {
            Ok(Fed::Audio(samples)) => {
                // Each chunk must get through in `timeout`; a server that stops reading while
                // the user speaks is caught here or at the transcript.
                conn.deadline_in(req.timeout);
                let chunk = Event::new("audio-chunk", format.clone())
                    .with_payload(wav::encode_s16le(&samples));
                conn.send(&chunk)?;
            }
            Ok(Fed::End) => break,
            Err(_) => return Err(Error::Cancelled),
        }
    }
    // Logged before the transcript's timeout starts, so the entry's time bounds that start
    // from below (the end-to-end tests measure the hang-up of a stalled server from it).
    tracing::debug!(
        timeout_ms = req.timeout.as_millis() as u64,
        "recording sent; awaiting the transcript"
    );
    let ended = Instant::now();
    conn.deadline_in(req.timeout);
    conn.send(&Event::new("audio-stop", Value::Null))?;
    let text = transcript(&mut conn)?;
    Ok(Heard {
        text,
        after_end: ended.elapsed(),
    })
}

/// Reads up to the transcript. A streamed one is put together from its chunks; a plain
/// `transcript` (which streaming servers also send, after `transcript-stop`) is taken whole.
fn transcript(conn: &mut Conn) -> Result<String, Error> {
    let mut streamed = String::new();
    loop {
        let event = conn.recv()?;
        match event.kind.as_str() {
            "transcript" => {
                let text = event
                    .text("text")
                    .ok_or_else(|| conn.protocol("a transcript without text".into()))?;
                return bounded(conn, text.to_string());
            }
            "transcript-chunk" => {
                streamed.push_str(event.text("text").unwrap_or(""));
                if streamed.len() > MAX_TRANSCRIPT {
                    return bounded(conn, streamed);
                }
            }
            "transcript-stop" => return Ok(streamed),
            // transcript-start, and whatever a newer protocol adds: not ours to act on.
            _ => {}
        }
    }
}

fn bounded(conn: &Conn, text: String) -> Result<String, Error> {
    if text.len() > MAX_TRANSCRIPT {
        return Err(conn.protocol(format!(
            "a transcript of {} bytes, more than the {MAX_TRANSCRIPT} accepted",
            text.len()
        )));
    }
    Ok(text)
}
