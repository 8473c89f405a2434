//! Text to speech over Wyoming: one `synthesize` per sentence (text, and the voice by name and
//! language when known), answered by `audio-start`, `audio-chunk`s and `audio-stop` at the
//! server's own rate.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::SampleFormat;
use crate::wyoming::codec::Event;
use crate::wyoming::conn::{Conn, Error};

/// What one sentence asks of which server.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `host:port`.
    pub addr: &'a str,
    pub text: &'a str,
    /// The server's voice name; its default when `None`.
    pub voice: Option<&'a str>,
    pub language: Option<&'a str>,
    pub connect_timeout: Duration,
    /// For the whole sentence, from the request to `audio-stop`.
    pub timeout: Duration,
    /// Audio beyond this many bytes is refused.
    pub max_bytes: usize,
}

/// Synthesizes one sentence. Blocks until `audio-stop`, the timeout or `cancel`.
pub fn synthesize(req: &Request, cancel: &cancel::Token) -> Result<Clip, Error> {
    let mut conn = Conn::open(req.addr, req.connect_timeout, cancel)?;
    conn.deadline_in(req.timeout);
    let mut data = json!({ "text": req.text });
    let mut voice = Map::new();
    if let Some(v) = req.voice {
        voice.insert("name".into(), v.into());
    }
    if let Some(l) = req.language {
        voice.insert("language".into(), l.into());
    }
    if !voice.is_empty() {
        data["voice"] = Value::Object(voice);
    }
    conn.send(&Event::new("synthesize", data))?;

    let mut format: Option<Format> = None;
    let mut pcm = Vec::new();
    loop {
        let event = conn.recv()?;
        match event.kind.as_str() {
            "audio-start" => format = Some(Format::of(&conn, &event)?),
            "audio-chunk" => {
                // Each chunk carries its format too; it must be the one the audio started in.
                let chunk = Format::of(&conn, &event)?;
                if format.is_some_and(|f| f != chunk) {
                    return Err(conn.protocol("audio chunks in changing formats".into()));
                }
                format = Some(chunk);
                if pcm.len() + event.payload.len() > req.max_bytes {
                    return Err(conn.protocol(format!(
                        "more than {} bytes of audio for one sentence",
                        req.max_bytes
                    )));
                }
                pcm.extend_from_slice(&event.payload);
            }
            "audio-stop" => break,
            // synthesize-stopped and other events of newer protocol versions.
            _ => {}
        }
    }
    let format = format.ok_or_else(|| conn.protocol("audio-stop without any audio".into()))?;
    let max = super::MAX_SENTENCE_AUDIO;
    wav::decode_raw(&pcm, format.rate, format.channels, SampleFormat::S16Le, max)
        .map_err(|e| conn.protocol(format!("unusable audio: {e}")))
}

/// The audio format an `audio-start` or `audio-chunk` states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    rate: u32,
    channels: u16,
}

impl Format {
    fn of(conn: &Conn, e: &Event) -> Result<Format, Error> {
        let (rate, width, channels) = (e.number("rate"), e.number("width"), e.number("channels"));
        match (rate, width, channels) {
            (Some(r @ 1000..=384_000), Some(2), Some(c @ 1..=8)) => Ok(Format {
                rate: r as u32,
                channels: c as u16,
            }),
            (_, Some(w), _) if w != 2 => Err(conn.protocol(format!(
                "{w}-byte samples; voicebox plays 16-bit (width 2) audio"
            ))),
            _ => {
                let shown = |n: Option<u64>| n.map_or("missing".into(), |n| n.to_string());
                Err(conn.protocol(format!(
                    "an {} with rate {}, channels {}: not a usable audio format",
                    e.kind,
                    shown(rate),
                    shown(channels)
                )))
            }
        }
    }
}
