//! The TTS hook: one sentence of text in (stdin, or the argv element holding `{text}`), in the
//! voice for its language (`{voice}`, `{lang}`), one `Clip` out (WAV read to EOF, or raw PCM as
//! configured). Never a shell.

use std::time::Instant;

use super::voice;
use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::{self, TtsFormat};
use crate::event::{Failure, FailureClass};
use crate::hook::{Hook, HookError};

/// Placeholder in `tts.command` replaced by the sentence (as one argument).
const PLACEHOLDER: &str = "{text}";
/// Placeholders for the voice of the sentence's language and the language's code.
const VOICE: &str = "{voice}";
const LANG: &str = "{lang}";
/// Bound on one sentence's audio: 64 MiB is minutes of 48 kHz stereo float.
const MAX_AUDIO_BYTES: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct Tts {
    hook: Hook,
    format: TtsFormat,
    config: config::Tts,
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
            config: cfg.clone(),
        }
    }

    /// The hook with `{voice}` and `{lang}` filled in for `lang`.
    fn hook_for(&self, lang: &str) -> std::borrow::Cow<'_, Hook> {
        if !self.hook.uses(VOICE) && !self.hook.uses(LANG) {
            return std::borrow::Cow::Borrowed(&self.hook);
        }
        let voice = voice::voice_for(&self.config, lang).unwrap_or_default();
        let mut hook = self.hook.clone();
        for arg in &mut hook.argv[1..] {
            *arg = arg.replace(VOICE, voice).replace(LANG, lang);
        }
        std::borrow::Cow::Owned(hook)
    }

    /// Synthesizes one sentence in `lang`'s voice. Blocks until the hook exits, times out or
    /// `cancel` fires.
    pub fn synthesize(
        &self,
        text: &str,
        lang: &str,
        cancel: &cancel::Token,
    ) -> Result<Clip, Failure> {
        let hook = self.hook_for(lang);
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
        let decoded = match self.format {
            TtsFormat::Wav => wav::decode(&out.stdout),
            TtsFormat::Raw {
                rate,
                channels,
                format,
            } => wav::decode_raw(&out.stdout, rate, channels, format),
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

    /// For `voicebox check`: synthesizes "ok" in the default language and confirms it is
    /// audible audio.
    pub fn check(&self) -> Result<String, Failure> {
        let started = Instant::now();
        let clip = self.synthesize("ok", &self.config.language, &cancel::Token::new())?;
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
        let mut cfg = config::parse("", None, &|_| None).unwrap().tts;
        cfg.command = argv.iter().map(|s| s.to_string()).collect();
        cfg.format = format;
        cfg.timeout = Duration::from_secs(10);
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
        let mut slow = tts(&["sleep", "10"], TtsFormat::Wav);
        slow.hook.timeout = Duration::from_millis(100);
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
