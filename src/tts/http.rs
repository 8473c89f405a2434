//! TTS over HTTP: one POST per sentence to an OpenAI-compatible `/v1/audio/speech` endpoint
//! (Kokoro-FastAPI, speaches, openedai-speech): JSON `{model, input, voice, response_format}`
//! in, `wav` or `pcm` (24 kHz 16-bit mono little-endian) out.
//!
//! Through the one HTTP layer (`crate::http`): a cancel hangs the request up at once, on the
//! speaking thread itself (no helper thread per sentence).

use std::io::Read;
use std::time::Duration;

use super::MAX_SENTENCE_AUDIO;
use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::{SampleFormat, SpeechFormat};
use crate::http::{self, Error, Service};
use crate::url::Url;

/// OpenAI's `pcm`: 24 kHz, 16-bit, mono, little-endian, no header.
const PCM_RATE: u32 = 24_000;
/// The voice asked for when none is configured: OpenAI's first, which the compatible servers
/// map to one of their own.
const DEFAULT_VOICE: &str = "alloy";

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
        let url = self.url.to_string();
        let req = http::Request {
            service: Service::Tts,
            url: &url,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            cancel,
        };
        let bytes = self.fetch(&body, &req)?;
        let decoded = match self.format {
            SpeechFormat::Wav => wav::decode(&bytes, MAX_SENTENCE_AUDIO),
            SpeechFormat::Pcm => {
                wav::decode_raw(&bytes, PCM_RATE, 1, SampleFormat::S16Le, MAX_SENTENCE_AUDIO)
            }
        };
        decoded.map_err(|e| {
            req.bad_reply(format!(
                "sent audio voicebox cannot play: {e} ({} bytes); check tts.response_format",
                bytes.len()
            ))
        })
    }

    /// The request and its body, hung up on when `req.cancel` fires.
    fn fetch(&self, body: &serde_json::Value, req: &http::Request<'_>) -> Result<Vec<u8>, Error> {
        let agent = http::agent(self.connect_timeout, Some(self.timeout), None);
        let _hang_up = http::hang_up_on(req.cancel, &agent);
        let mut request = agent
            .post(self.url.base())
            .header("Content-Type", "application/json");
        if let Some(auth) = self.url.authorization_with(self.api_key.as_deref()) {
            request = request.header("Authorization", auth);
        }
        let mut resp = request
            .send(&body.to_string()[..])
            .map_err(|e| req.transport(e))?;
        req.status(&mut resp)?;
        let mut bytes = Vec::new();
        resp.body_mut()
            .with_config()
            .limit(self.max_bytes as u64)
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| match ureq::Error::from(e) {
                ureq::Error::BodyExceedsLimit(_) if !req.cancel.is_cancelled() => {
                    req.bad_reply(format!(
                        "sent audio voicebox cannot play: more than {} bytes for one sentence",
                        self.max_bytes
                    ))
                }
                other => req.transport(other),
            })?;
        Ok(bytes)
    }
}
