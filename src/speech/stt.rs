//! Speech to text: a recording in (sent as a 16-bit WAV), a transcript out, through the
//! `stt.command` hook or an OpenAI-compatible HTTP endpoint (`stt.url`, see `stt_http.rs`).

use std::io::Write;
use std::time::{Duration, Instant};

use super::stt_http;
use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config;
use crate::event::{Failure, FailureClass, Transcript, ms};
use crate::hook::{Hook, HookError};

/// Transcripts are short; a hook that prints more is broken.
const MAX_TRANSCRIPT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Stt {
    mode: Mode,
}

#[derive(Debug, Clone)]
enum Mode {
    Command(Hook),
    Http {
        url: String,
        timeout: Duration,
        hints: stt_http::Hints,
    },
}

/// Placeholder in `stt.command` for `stt.language` ("auto" when automatic, which whisper-cli's
/// `-l` accepts).
const LANG: &str = "{lang}";

impl Stt {
    /// `stt.url` set: HTTP mode; otherwise the `stt.command` hook.
    pub fn new(config: &config::Stt) -> Stt {
        let mode = match &config.url {
            Some(url) => Mode::Http {
                url: url.clone(),
                timeout: config.timeout,
                hints: stt_http::Hints {
                    language: config.language.clone(),
                    prompt: config.prompt.clone(),
                },
            },
            None => {
                let lang = config.language.as_deref().unwrap_or("auto");
                let mut argv = config.command.clone();
                for arg in argv.iter_mut().skip(1) {
                    *arg = arg.replace(LANG, lang);
                }
                Mode::Command(Hook {
                    argv,
                    timeout: config.timeout,
                    max_output: MAX_TRANSCRIPT_BYTES,
                })
            }
        };
        Stt { mode }
    }

    /// Transcribes a recording. An empty transcript is `DidntCatch`; a failing, slow or
    /// unreachable recogniser is `SttFailed` (with its stderr or the HTTP error); a cancel is
    /// `Cancelled`.
    pub fn transcribe(&self, clip: &Clip, cancel: &cancel::Token) -> Result<Transcript, Failure> {
        self.transcribe_wav(&wav::encode_i16(clip), cancel)
    }

    fn transcribe_wav(&self, wav: &[u8], cancel: &cancel::Token) -> Result<Transcript, Failure> {
        let started = Instant::now();
        let raw = match &self.mode {
            Mode::Command(hook) => run_hook(hook, wav, cancel)?,
            Mode::Http {
                url,
                timeout,
                hints,
            } => {
                if cancel.is_cancelled() {
                    return Err(Failure::new(
                        FailureClass::Cancelled,
                        "transcription cancelled",
                    ));
                }
                stt_http::transcribe(url, *timeout, wav, hints)
                    .map_err(|e| Failure::new(FailureClass::SttFailed, e.to_string()))?
            }
        };
        let text = tidy(&raw);
        if text.is_empty() {
            return Err(Failure::new(
                FailureClass::DidntCatch,
                "speech recognition returned no words",
            ));
        }
        Ok(Transcript {
            text,
            stt_ms: ms(started.elapsed()),
        })
    }

    /// For `voicebox check`: the hook's program exists and starts, or the URL is set.
    pub fn check(&self) -> Result<String, Failure> {
        match &self.mode {
            Mode::Http { url, .. } => Ok(format!("STT over HTTP: {url}")),
            Mode::Command(hook) => {
                let program = hook.argv.first().cloned().unwrap_or_default();
                let path = crate::hook::find_program(&program).ok_or_else(|| {
                    Failure::new(
                        FailureClass::SttFailed,
                        format!(
                            "STT hook `{program}` was not found on PATH; install it (Debian: pocketsphinx pocketsphinx-en-us) or fix stt.command"
                        ),
                    )
                })?;
                // Start it once with no input: a missing library or model shows up here.
                let probe = Hook {
                    argv: vec![path.display().to_string(), "--help".into()],
                    timeout: Duration::from_secs(5),
                    max_output: 1 << 20,
                };
                match probe.run(None, None, &cancel::Token::new()) {
                    Err(e @ HookError::Spawn { .. }) => {
                        Err(Failure::new(FailureClass::SttFailed, e.to_string()))
                    }
                    _ => Ok(format!("STT hook `{}` found", path.display())),
                }
            }
        }
    }
}

/// Collapses whitespace: engines print line breaks between segments.
fn tidy(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run_hook(hook: &Hook, wav: &[u8], cancel: &cancel::Token) -> Result<String, Failure> {
    let fail = |e: HookError| match e {
        HookError::Cancelled { .. } => Failure::new(FailureClass::Cancelled, e.to_string()),
        e => Failure::new(
            FailureClass::SttFailed,
            format!("speech recognition failed: {e}"),
        ),
    };
    let out = if hook.uses("{wav}") {
        // Removed when `file` drops, whatever the hook did.
        let file = TempWav::create(wav).map_err(|e| {
            Failure::new(
                FailureClass::SttFailed,
                format!(
                    "cannot write the temporary WAV for STT: {e}; check that $TMPDIR is writable"
                ),
            )
        })?;
        let path = file.0.display().to_string();
        hook.run(Some(("{wav}", &path)), None, cancel)
            .map_err(fail)?
    } else {
        hook.run(None, Some(wav), cancel).map_err(fail)?
    };
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A private WAV file in the temp dir, deleted on drop (tempfile is only a dev-dependency).
struct TempWav(std::path::PathBuf);

impl TempWav {
    fn create(wav: &[u8]) -> std::io::Result<TempWav> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut last = None;
        for _ in 0..8 {
            let path = std::env::temp_dir().join(format!(
                "voicebox-stt-{}-{:016x}.wav",
                std::process::id(),
                fastrand::u64(..)
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => {
                    let guard = TempWav(path);
                    f.write_all(wav)?;
                    return Ok(guard);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temp file name")))
    }
}

impl Drop for TempWav {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stt(argv: &[&str], timeout_ms: u64) -> Stt {
        Stt::new(&config::Stt {
            command: argv.iter().map(|s| s.to_string()).collect(),
            url: None,
            language: None,
            prompt: None,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    #[test]
    fn the_language_reaches_the_command() {
        let argv = [
            "sh",
            "-c",
            "cat > /dev/null; echo \"heard $0\"",
            "-l={lang}",
        ];
        for (language, want) in [(None, "heard -l=auto"), (Some("zh"), "heard -l=zh")] {
            let t = Stt::new(&config::Stt {
                command: argv.iter().map(|s| s.to_string()).collect(),
                url: None,
                language: language.map(str::to_string),
                prompt: None,
                timeout: Duration::from_secs(5),
            })
            .transcribe_wav(b"x", &cancel::Token::new())
            .unwrap();
            assert_eq!(t.text, want);
        }
    }

    #[test]
    fn stdin_mode_gets_the_recording_as_a_wav_and_stdout_is_trimmed() {
        // The "recogniser" reports how many bytes it got: a 44-byte header and 2 per sample.
        let clip = Clip {
            samples: vec![0.0; 8],
            rate: 16_000,
            channels: 1,
        };
        let t = stt(&["sh", "-c", "printf '  %s words\\n\\n' $(wc -c)"], 5000)
            .transcribe(&clip, &cancel::Token::new())
            .unwrap();
        assert_eq!(t.text, "60 words");
    }

    #[test]
    fn wav_placeholder_is_a_temp_file_removed_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("path");
        let script = format!("cat \"$1\"; printf %s \"$1\" > {}", log.display());
        let t = stt(&["sh", "-c", &script, "sh", "{wav}"], 5000)
            .transcribe_wav(b"hello there", &cancel::Token::new())
            .unwrap();
        assert_eq!(t.text, "hello there");
        let used = std::fs::read_to_string(&log).unwrap();
        assert!(used.ends_with(".wav"), "{used}");
        assert!(
            !std::path::Path::new(&used).exists(),
            "temp WAV left behind"
        );
    }

    #[test]
    fn outcomes_table() {
        for (argv, class, needle) in [
            (&["true"][..], FailureClass::DidntCatch, "no words"),
            (
                &["printf", " \n\t"][..],
                FailureClass::DidntCatch,
                "no words",
            ),
            (
                &["sh", "-c", "echo model missing >&2; exit 2"][..],
                FailureClass::SttFailed,
                "model missing",
            ),
            (
                &["sleep", "5"][..],
                FailureClass::SttFailed,
                "did not finish",
            ),
            (
                &["/nonexistent/stt"][..],
                FailureClass::SttFailed,
                "cannot start",
            ),
        ] {
            let e = stt(argv, 300)
                .transcribe_wav(b"x", &cancel::Token::new())
                .unwrap_err();
            assert_eq!(e.class, class, "{argv:?}: {e}");
            assert!(e.message.contains(needle), "{argv:?}: {e}");
        }
    }

    #[test]
    fn a_cancelled_token_cancels() {
        let k = cancel::Token::new();
        k.cancel();
        let e = stt(&["cat"], 5000).transcribe_wav(b"x", &k).unwrap_err();
        assert_eq!(e.class, FailureClass::Cancelled);
    }

    #[test]
    fn check_finds_or_names_the_program() {
        assert!(stt(&["sh"], 1000).check().is_ok());
        let e = stt(&["no-such-stt-program"], 1000).check().unwrap_err();
        assert!(
            e.message.contains("no-such-stt-program") && e.message.contains("stt.command"),
            "{e}"
        );
    }
}
