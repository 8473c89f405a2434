//! TTS over HTTP: one POST per sentence to an OpenAI-compatible `/v1/audio/speech` endpoint
//! (Kokoro-FastAPI, speaches, openedai-speech): JSON `{model, input, voice, response_format}`
//! in, `wav` or `pcm` (24 kHz 16-bit mono little-endian) out.
//!
//! ureq cannot shut a request's socket from another thread, so the request runs on a helper
//! thread: a cancel returns at once, and the helper stops reading at its next chunk of audio
//! (or at the timeout, if the server sends nothing), which closes the connection.

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use super::MAX_SENTENCE_AUDIO;
use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::{SampleFormat, SpeechFormat};
use crate::ollama::one_line;
use crate::stt::http::{agent, redirect};
use crate::url::Url;

/// OpenAI's `pcm`: 24 kHz, 16-bit, mono, little-endian, no header.
const PCM_RATE: u32 = 24_000;
/// The voice asked for when none is configured: OpenAI's first, which the compatible servers
/// map to one of their own.
const DEFAULT_VOICE: &str = "alloy";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "TTS server {url} answered {status} redirecting to {location}; voicebox does not follow redirects, so set tts.url to the server's real address"
    )]
    Redirected {
        url: String,
        status: u16,
        location: String,
    },
    #[error("TTS server {url} unreachable: {why}; check tts.url and that the server runs")]
    Unreachable { url: String, why: String },
    #[error("TTS server {url} did not answer within {} ms", after.as_millis())]
    Timeout { url: String, after: Duration },
    #[error("TTS server {url} answered HTTP {status}: {snippet}")]
    Status {
        url: String,
        status: u16,
        snippet: String,
    },
    #[error("TTS server {url} sent audio voicebox cannot play: {why}")]
    Audio { url: String, why: String },
    #[error("cancelled")]
    Cancelled,
}

/// One configured endpoint (`tts.url` with an http(s) scheme).
#[derive(Clone)]
pub struct Endpoint {
    /// Its user info goes as Basic authentication, unless `api_key` is set.
    pub url: Url,
    pub model: String,
    pub format: SpeechFormat,
    /// Bearer token; never logged (the hand-written Debug leaves it out).
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_bytes: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Synthesizes one sentence in `voice` (the server's mapping of "alloy" when `None`).
    pub fn synthesize(
        &self,
        text: &str,
        voice: Option<&str>,
        cancel: &cancel::Token,
    ) -> Result<Clip, Error> {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let body = serde_json::json!({
            "model": self.model,
            "input": text,
            "voice": voice.unwrap_or(DEFAULT_VOICE),
            "response_format": match self.format {
                SpeechFormat::Wav => "wav",
                SpeechFormat::Pcm => "pcm",
            },
        });
        let (tx, rx) = mpsc::channel();
        let hang_up = cancel::Token::new();
        let _on_cancel = {
            let (tx, hang_up) = (tx.clone(), hang_up.clone());
            cancel.on_cancel(move || {
                hang_up.cancel();
                let _ = tx.send(Err(Error::Cancelled));
            })
        };
        let endpoint = self.clone();
        let helper = std::thread::Builder::new()
            .name("tts-http".into())
            .spawn(move || {
                let _ = tx.send(endpoint.fetch(&body, &hang_up));
            });
        if let Err(e) = helper {
            return Err(Error::Unreachable {
                url: self.url.to_string(),
                why: format!("cannot start the request thread: {e}"),
            });
        }
        let bytes = rx.recv().unwrap_or(Err(Error::Cancelled))?;
        let decoded = match self.format {
            SpeechFormat::Wav => wav::decode(&bytes, MAX_SENTENCE_AUDIO),
            SpeechFormat::Pcm => {
                wav::decode_raw(&bytes, PCM_RATE, 1, SampleFormat::S16Le, MAX_SENTENCE_AUDIO)
            }
        };
        decoded.map_err(|e| Error::Audio {
            url: self.url.to_string(),
            why: format!("{e} ({} bytes); check tts.response_format", bytes.len()),
        })
    }

    /// The request and its body, read in pieces so that `hang_up` is seen between them.
    fn fetch(&self, body: &serde_json::Value, hang_up: &cancel::Token) -> Result<Vec<u8>, Error> {
        let url = self.url.to_string();
        let agent = agent(self.connect_timeout, self.timeout);
        let mut request = agent
            .post(self.url.base())
            .header("Content-Type", "application/json");
        if let Some(auth) = self.url.authorization_with(self.api_key.as_deref()) {
            request = request.header("Authorization", auth);
        }
        let transport = |e: ureq::Error| match e {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                Error::Unreachable {
                    url: url.clone(),
                    why: format!(
                        "no connection within {} ms",
                        self.connect_timeout.as_millis()
                    ),
                }
            }
            ureq::Error::Timeout(_) => Error::Timeout {
                url: url.clone(),
                after: self.timeout,
            },
            other => Error::Unreachable {
                url: url.clone(),
                why: one_line(&other.to_string()),
            },
        };
        let mut resp = request.send(&body.to_string()[..]).map_err(transport)?;
        let status = resp.status().as_u16();
        if let Some(location) = redirect(&resp) {
            return Err(Error::Redirected {
                url,
                status,
                location,
            });
        }
        let mut reader = resp
            .body_mut()
            .with_config()
            .limit(self.max_bytes as u64)
            .reader();
        if !(200..300).contains(&status) {
            let mut text = String::new();
            let _ = reader.take(64 * 1024).read_to_string(&mut text);
            let mut snippet = one_line(&text);
            if status == 401 || status == 403 {
                snippet.push_str("; check tts.api_key (or $VOICEBOX_TTS_API_KEY) or the user:password in tts.url");
            }
            return Err(Error::Status {
                url,
                status,
                snippet,
            });
        }
        let mut bytes = Vec::new();
        let mut piece = vec![0u8; 16 * 1024];
        loop {
            if hang_up.is_cancelled() {
                return Err(Error::Cancelled);
            }
            match reader.read(&mut piece) {
                Ok(0) => return Ok(bytes),
                Ok(n) => bytes.extend_from_slice(&piece[..n]),
                Err(e) => {
                    return Err(match ureq::Error::from(e) {
                        ureq::Error::BodyExceedsLimit(_) => Error::Audio {
                            url,
                            why: format!("more than {} bytes for one sentence", self.max_bytes),
                        },
                        other => transport(other),
                    });
                }
            }
        }
    }
}
