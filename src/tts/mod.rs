//! Text to speech: one sentence of text in, in the voice of its language, one `Clip` out,
//! through the `tts.command` hook (stdin, or the argv element holding `{text}`; `{voice}` and
//! `{lang}` filled in; WAV read to EOF, or raw PCM as configured; never a shell), a Wyoming
//! server or an OpenAI-compatible endpoint, as the scheme of `tts.url` says.

mod http;
pub mod voice;
pub(crate) mod wyoming;

use std::time::{Duration, Instant};

use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::{self, SpeechServer, TtsFormat};
use crate::event::{Failure, FailureClass};
use crate::hook::{Hook, HookError};

/// Placeholder in `tts.command` replaced by the sentence (as one argument).
const PLACEHOLDER: &str = "{text}";
/// Placeholders for the voice of the sentence's language and the language's code.
const VOICE: &str = "{voice}";
const LANG: &str = "{lang}";
/// One sentence's audio at most, from any backend: far longer than any sentence takes to say,
/// so more is a broken hook or server (or a header that lies about the rate).
pub(crate) const MAX_SENTENCE_AUDIO: Duration = Duration::from_secs(120);
/// Bound on what a hook or server may send for one sentence: the most samples a clip holds
/// (`wav::MAX_SAMPLES`) as 32-bit PCM, plus room for headers.
const MAX_AUDIO_BYTES: usize = wav::MAX_SAMPLES * 4 + (64 << 10);

#[derive(Debug, Clone)]
pub struct Tts {
    backend: Backend,
    /// For the voice of each language (`[tts.voices]`, `tts.language`).
    config: config::Tts,
}

#[derive(Debug, Clone)]
enum Backend {
    Command {
        hook: Hook,
        format: TtsFormat,
    },
    Wyoming {
        addr: String,
        connect_timeout: Duration,
        timeout: Duration,
    },
    Http(http::Endpoint),
}

impl Tts {
    pub fn new(cfg: &config::Tts) -> Self {
        let backend = match &cfg.url {
            None => Backend::Command {
                hook: Hook {
                    argv: cfg.command.clone(),
                    timeout: cfg.timeout,
                    max_output: MAX_AUDIO_BYTES,
                },
                format: cfg.format,
            },
            Some(SpeechServer::Wyoming(addr)) => Backend::Wyoming {
                addr: addr.clone(),
                connect_timeout: cfg.connect_timeout,
                timeout: cfg.timeout,
            },
            Some(SpeechServer::Http(url)) => Backend::Http(http::Endpoint {
                url: url.clone(),
                model: cfg.model.clone(),
                format: cfg.response_format,
                api_key: cfg.api_key.clone(),
                connect_timeout: cfg.connect_timeout,
                timeout: cfg.timeout,
                max_bytes: MAX_AUDIO_BYTES,
            }),
        };
        Self {
            backend,
            config: cfg.clone(),
        }
    }

    /// Synthesizes one sentence written in `lang` (a code such as "zh") in that language's
    /// voice. Blocks until the audio is complete, the timeout passes or `cancel` fires (which
    /// kills the hook or closes the connection). A timeout is `TooSlow`, a cancel `Cancelled`,
    /// anything else `AudioFailed`.
    pub fn synthesize(
        &self,
        text: &str,
        lang: &str,
        cancel: &cancel::Token,
    ) -> Result<Clip, Failure> {
        let server_voice = voice::for_server(&self.config, lang);
        match &self.backend {
            Backend::Command { hook, format } => {
                run_hook(&self.fill_in(hook, lang), *format, text, cancel)
            }
            Backend::Wyoming {
                addr,
                connect_timeout,
                timeout,
            } => {
                let request = wyoming::Request {
                    addr,
                    text,
                    voice: server_voice,
                    language: Some(lang),
                    connect_timeout: *connect_timeout,
                    timeout: *timeout,
                    max_bytes: MAX_AUDIO_BYTES,
                };
                wyoming::synthesize(&request, cancel).map_err(|e| match e {
                    crate::wyoming::Error::Cancelled => cancelled(),
                    e @ crate::wyoming::Error::Timeout { .. } => {
                        Failure::new(FailureClass::TooSlow, format!("TTS: {e}"))
                    }
                    e => Failure::new(FailureClass::AudioFailed, format!("TTS: {e}")),
                })
            }
            Backend::Http(endpoint) => {
                endpoint
                    .synthesize(text, server_voice, cancel)
                    .map_err(|e| match e {
                        crate::http::Error::Cancelled => cancelled(),
                        e @ crate::http::Error::Timeout { .. } => {
                            Failure::new(FailureClass::TooSlow, format!("TTS: {e}"))
                        }
                        e => Failure::new(FailureClass::AudioFailed, format!("TTS: {e}")),
                    })
            }
        }
    }

    /// The hook with `{voice}` and `{lang}` filled in for `lang`.
    fn fill_in<'a>(&self, hook: &'a Hook, lang: &str) -> std::borrow::Cow<'a, Hook> {
        if !hook.uses(VOICE) && !hook.uses(LANG) {
            return std::borrow::Cow::Borrowed(hook);
        }
        let voice = voice::voice_for(&self.config, lang).unwrap_or_default();
        let mut hook = hook.clone();
        for arg in &mut hook.argv[1..] {
            *arg = arg.replace(VOICE, voice).replace(LANG, lang);
        }
        std::borrow::Cow::Owned(hook)
    }

    /// For `voicebox check`: synthesizes "ok" in the default language and confirms it is
    /// audible audio; for a Wyoming server, first what it offers (programs, voices, languages).
    pub fn check(&self) -> Result<String, Failure> {
        let offers = match &self.backend {
            Backend::Wyoming {
                addr,
                connect_timeout,
                ..
            } => {
                let offers = crate::wyoming::info::describe(
                    addr,
                    crate::wyoming::info::Kind::Tts,
                    *connect_timeout,
                    Duration::from_secs(10),
                )
                .map_err(|e| Failure::new(FailureClass::AudioFailed, format!("TTS: {e}")))?;
                format!("Wyoming tcp://{addr} offers {offers}; ")
            }
            Backend::Http(endpoint) => format!(
                "OpenAI-compatible {} (model {}): ",
                endpoint.url, endpoint.model
            ),
            Backend::Command { .. } => String::new(),
        };
        let started = Instant::now();
        let clip = self.synthesize("ok", &self.config.language, &cancel::Token::new())?;
        if clip.rms() < 1e-4 {
            return Err(Failure::new(
                FailureClass::AudioFailed,
                "TTS returned only silence for \"ok\"; check tts.command or tts.url",
            ));
        }
        Ok(format!(
            "{offers}TTS works: {:.2} s of audio at {} Hz, {} ch in {} ms",
            clip.duration().as_secs_f64(),
            clip.rate,
            clip.channels,
            started.elapsed().as_millis()
        ))
    }
}

fn cancelled() -> Failure {
    Failure::new(FailureClass::Cancelled, "TTS cancelled")
}

/// The hook: the sentence as an argument or on stdin, the audio from stdout.
fn run_hook(
    hook: &Hook,
    format: TtsFormat,
    text: &str,
    cancel: &cancel::Token,
) -> Result<Clip, Failure> {
    let out = if hook.uses(PLACEHOLDER) {
        // In argv, a leading "-" would be read as an option; a leading space is not
        // (getopt only looks at the first byte), and engines ignore it.
        let arg = if text.starts_with('-') {
            format!(" {text}")
        } else {
            text.to_string()
        };
        hook.run(Some((PLACEHOLDER, &arg)), None, cancel)
    } else {
        hook.run(None, Some(text.as_bytes()), cancel)
    }
    .map_err(|e| match e {
        HookError::Cancelled { .. } => Failure::new(FailureClass::Cancelled, e.to_string()),
        HookError::Timeout { .. } => Failure::new(FailureClass::TooSlow, format!("TTS: {e}")),
        _ => Failure::new(
            FailureClass::AudioFailed,
            format!("TTS: {e}; check tts.command"),
        ),
    })?;
    let decoded = match format {
        TtsFormat::Wav => wav::decode(&out.stdout, MAX_SENTENCE_AUDIO),
        TtsFormat::Raw {
            rate,
            channels,
            format,
        } => wav::decode_raw(&out.stdout, rate, channels, format, MAX_SENTENCE_AUDIO),
    };
    decoded.map_err(|e| {
        let stderr = if out.stderr.is_empty() {
            String::new()
        } else {
            format!("; hook stderr: {}", out.stderr)
        };
        Failure::new(
            FailureClass::AudioFailed,
            format!(
                "TTS: unreadable audio from `{}` ({} bytes): {e}{stderr}; check tts.command and tts.format",
                hook.argv.first().map_or("", String::as_str),
                out.stdout.len()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SampleFormat;

    fn tts(argv: &[&str], format: TtsFormat) -> Tts {
        tts_within(argv, format, Duration::from_secs(10))
    }

    fn tts_within(argv: &[&str], format: TtsFormat, timeout: Duration) -> Tts {
        let mut cfg = config::parse("", None, &|_| None).unwrap().tts;
        cfg.command = argv.iter().map(|s| s.to_string()).collect();
        cfg.format = format;
        cfg.timeout = timeout;
        Tts::new(&cfg)
    }

    #[test]
    fn voice_and_language_are_filled_in_per_sentence() {
        let t = tts(
            &[
                "sh",
                "-c",
                "echo \"voice=$0 lang=$1 text=$2\" >&2; exit 1",
                "{voice}",
                "{lang}",
                "{text}",
            ],
            TtsFormat::Wav,
        );
        for (lang, voice, text) in [
            ("zh", "cmn-latn-pinyin", "你好。"),
            ("vi", "vi", "Xin lỗi."),
            // No voice of its own: the default language's.
            ("xx", "en", "{voice} {lang}"),
        ] {
            let e = t.synthesize(text, lang, &cancel::Token::new()).unwrap_err();
            let want = format!("voice={voice} lang={lang} text={text}");
            assert!(e.message.contains(&want), "{e}");
        }
    }

    #[test]
    fn espeak_on_stdin_gives_audible_audio() {
        let t = tts(&["espeak-ng", "--stdout", "--stdin"], TtsFormat::Wav);
        let clip = t
            .synthesize("Hello there.", "en", &cancel::Token::new())
            .unwrap();
        assert_eq!((clip.rate, clip.channels), (22050, 1));
        assert!(clip.duration() > Duration::from_millis(300));
        assert!(clip.rms() > 0.01);
        assert!(t.check().unwrap().contains("22050"));
    }

    #[test]
    fn argv_placeholder_and_a_leading_dash_are_spoken_not_parsed() {
        let t = tts(&["espeak-ng", "--stdout", "{text}"], TtsFormat::Wav);
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.wav");
        let text = format!("-w {} hi", target.display());
        let clip = t.synthesize(&text, "en", &cancel::Token::new()).unwrap();
        assert!(
            clip.duration() > Duration::from_millis(500),
            "{:?}",
            clip.duration()
        );
        assert!(!target.exists(), "the text was parsed as an option");
    }

    #[test]
    fn raw_pcm_is_decoded_as_configured() {
        let raw = TtsFormat::Raw {
            rate: 8000,
            channels: 1,
            format: SampleFormat::S16Le,
        };
        // 0x4000 = 0.5, twice.
        let t = tts(&["printf", "\\000\\100\\000\\100"], raw);
        let clip = t.synthesize("x", "en", &cancel::Token::new()).unwrap();
        assert_eq!(clip.samples, vec![0.5, 0.5]);
    }

    #[test]
    fn failures_carry_the_reason() {
        let e = tts(
            &["sh", "-c", "echo voice missing >&2; exit 1"],
            TtsFormat::Wav,
        )
        .synthesize("x", "en", &cancel::Token::new())
        .unwrap_err();
        assert!(e.message.contains("voice missing"), "{e}");
        let e = tts(
            &["sh", "-c", "echo not audio; echo why >&2"],
            TtsFormat::Wav,
        )
        .synthesize("x", "en", &cancel::Token::new())
        .unwrap_err();
        assert!(
            e.message.contains("unreadable audio") && e.message.contains("why"),
            "{e}"
        );
        let slow = tts_within(&["sleep", "10"], TtsFormat::Wav, Duration::from_millis(100));
        let e = slow
            .synthesize("x", "en", &cancel::Token::new())
            .unwrap_err();
        assert_eq!(e.class, FailureClass::TooSlow, "{e}");
        let k = cancel::Token::new();
        k.cancel();
        let e = tts(&["cat"], TtsFormat::Wav)
            .synthesize("x", "en", &k)
            .unwrap_err();
        assert_eq!(e.class, FailureClass::Cancelled);
    }
}
