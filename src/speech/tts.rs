//! The TTS hook: one sentence of text in (stdin, or the argv element holding `{text}`), one
//! `Clip` out (WAV read to EOF, or raw PCM as configured). Never a shell.

use std::time::{Duration, Instant};

use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::{self, TtsFormat};
use crate::event::{Failure, FailureClass};
use crate::hook::{Hook, HookError};

/// Placeholder in `tts.command` replaced by the sentence (as one argument).
const PLACEHOLDER: &str = "{text}";
/// One sentence's audio at most: far longer than any sentence takes to say, so a hook that
/// writes more is broken (or its header lies about the rate).
const MAX_SENTENCE_AUDIO: Duration = Duration::from_secs(120);
/// Bound on what the hook may write: the most samples a clip holds (`wav::MAX_SAMPLES`) as
/// 32-bit PCM, plus room for headers.
const MAX_AUDIO_BYTES: usize = wav::MAX_SAMPLES * 4 + (64 << 10);

#[derive(Debug, Clone)]
pub struct Tts {
    hook: Hook,
    format: TtsFormat,
}

impl Tts {
    pub fn new(cfg: &config::Tts) -> Self {
        Self {
            hook: Hook {
                argv: cfg.command.clone(),
                timeout: cfg.timeout,
                max_output: MAX_AUDIO_BYTES,
            },
            format: cfg.format,
        }
    }

    /// Synthesizes one sentence. Blocks until the hook exits, times out or `cancel` fires.
    pub fn synthesize(&self, text: &str, cancel: &cancel::Token) -> Result<Clip, Failure> {
        let out = if self.hook.uses(PLACEHOLDER) {
            // In argv, a leading "-" would be read as an option; a leading space is not
            // (getopt only looks at the first byte), and engines ignore it.
            let arg = if text.starts_with('-') {
                format!(" {text}")
            } else {
                text.to_string()
            };
            self.hook.run(Some((PLACEHOLDER, &arg)), None, cancel)
        } else {
            self.hook.run(None, Some(text.as_bytes()), cancel)
        }
        .map_err(|e| match e {
            HookError::Cancelled { .. } => Failure::new(FailureClass::Cancelled, e.to_string()),
            HookError::Timeout { .. } => Failure::new(FailureClass::TooSlow, format!("TTS: {e}")),
            _ => Failure::new(
                FailureClass::AudioFailed,
                format!("TTS: {e}; check tts.command"),
            ),
        })?;
        let decoded = match self.format {
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
                    self.hook.argv.first().map_or("", String::as_str),
                    out.stdout.len()
                ),
            )
        })
    }

    /// For `voicebox check`: synthesizes "ok" and confirms it is audible audio.
    pub fn check(&self) -> Result<String, Failure> {
        let started = Instant::now();
        let clip = self.synthesize("ok", &cancel::Token::new())?;
        if clip.rms() < 1e-4 {
            return Err(Failure::new(
                FailureClass::AudioFailed,
                "TTS hook returned only silence for \"ok\"; check tts.command",
            ));
        }
        Ok(format!(
            "TTS hook works: {:.2} s of audio at {} Hz, {} ch in {} ms",
            clip.duration().as_secs_f64(),
            clip.rate,
            clip.channels,
            started.elapsed().as_millis()
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::SampleFormat;

    fn tts(argv: &[&str], format: TtsFormat) -> Tts {
        Tts {
            hook: Hook {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                timeout: Duration::from_secs(10),
                max_output: MAX_AUDIO_BYTES,
            },
            format,
        }
    }

    #[test]
    fn espeak_on_stdin_gives_audible_audio() {
        let t = tts(&["espeak-ng", "--stdout", "--stdin"], TtsFormat::Wav);
        let clip = t.synthesize("Hello there.", &cancel::Token::new()).unwrap();
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
        let clip = t.synthesize(&text, &cancel::Token::new()).unwrap();
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
        let clip = t.synthesize("x", &cancel::Token::new()).unwrap();
        assert_eq!(clip.samples, vec![0.5, 0.5]);
    }

    #[test]
    fn failures_carry_the_reason() {
        let e = tts(
            &["sh", "-c", "echo voice missing >&2; exit 1"],
            TtsFormat::Wav,
        )
        .synthesize("x", &cancel::Token::new())
        .unwrap_err();
        assert!(e.message.contains("voice missing"), "{e}");
        let e = tts(
            &["sh", "-c", "echo not audio; echo why >&2"],
            TtsFormat::Wav,
        )
        .synthesize("x", &cancel::Token::new())
        .unwrap_err();
        assert!(
            e.message.contains("unreadable audio") && e.message.contains("why"),
            "{e}"
        );
        let mut slow = tts(&["sleep", "10"], TtsFormat::Wav);
        slow.hook.timeout = Duration::from_millis(100);
        let e = slow.synthesize("x", &cancel::Token::new()).unwrap_err();
        assert_eq!(e.class, FailureClass::TooSlow, "{e}");
        let k = cancel::Token::new();
        k.cancel();
        let e = tts(&["cat"], TtsFormat::Wav)
            .synthesize("x", &k)
            .unwrap_err();
        assert_eq!(e.class, FailureClass::Cancelled);
    }

    #[test]
    fn a_lying_header_is_refused_naming_the_hook_and_the_accepted_formats() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = wav::encode_i16(&Clip {
            samples: vec![0.1; 1600],
            rate: 16000,
            channels: 1,
        });
        // 1 GHz, with a byte rate and block align to match so the header is consistent.
        bytes[24..28].copy_from_slice(&1_000_000_000u32.to_le_bytes());
        bytes[28..32].copy_from_slice(&2_000_000_000u32.to_le_bytes());
        let file = dir.path().join("lie.wav");
        std::fs::write(&file, &bytes).unwrap();
        let e = tts(&["cat", file.to_str().unwrap()], TtsFormat::Wav)
            .synthesize("x", &cancel::Token::new())
            .unwrap_err();
        assert_eq!(e.class, FailureClass::AudioFailed);
        for words in ["`cat`", "1000000000 Hz", "4000–384000 Hz, 1–8 channels"] {
            assert!(e.message.contains(words), "{words}: {e}");
        }
    }
}
