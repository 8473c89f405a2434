//! Speech to text: a recording in, a transcript out, through the `stt.command` hook, an
//! OpenAI-compatible HTTP endpoint (`http.rs`) or a Wyoming server (`wyoming.rs`), as
//! the scheme of `stt.url` says.
//!
//! A Wyoming server can hear the recording while it is made: `live` starts that transcription
//! at the press and hands the capture its feed; `finish` claims the transcript after the
//! release. The other backends take the whole recording (`transcribe`).

pub(crate) mod http;
pub mod live;
pub(crate) mod wyoming;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::audio::capture::{Fed, Feed};
use crate::audio::{Clip, wav};
use crate::cancel;
use crate::config::{self, SpeechServer};
use crate::event::{Failure, FailureClass, Transcript, ms};
use crate::hook::{Hook, HookError};
use live::Live;

/// Transcripts are short; a hook that prints more is broken.
const MAX_TRANSCRIPT_BYTES: usize = 64 * 1024;
/// Samples per audio chunk when a whole recording goes to a Wyoming server (100 ms at 16 kHz).
const CHUNK: usize = 1600;

#[derive(Debug, Clone)]
pub struct Stt {
    mode: Mode,
}

#[derive(Debug, Clone)]
enum Mode {
    Command(Hook),
    Http(http::Endpoint),
    Wyoming {
        request: wyoming::Request,
        /// Send the audio while it is recorded (`stt.stream`).
        stream: bool,
    },
}

/// Placeholder in `stt.command` for `stt.language` ("auto" when automatic, which whisper-cli's
/// `-l` accepts).
const LANG: &str = "{lang}";

impl Stt {
    /// `stt.url` set: that server, by its scheme; otherwise the `stt.command` hook. The
    /// language (`stt.language`) goes to each: `{lang}`, the upload's `language` field, the
    /// Wyoming `transcribe` event.
    pub fn new(config: &config::Stt) -> Stt {
        let mode = match &config.url {
            Some(SpeechServer::Http(url)) => Mode::Http(http::Endpoint {
                url: url.clone(),
                model: config.model.clone(),
                language: config.language.clone(),
                prompt: config.prompt.clone(),
                api_key: config.api_key.clone(),
                connect_timeout: config.connect_timeout,
                timeout: config.timeout,
            }),
            Some(SpeechServer::Wyoming(addr)) => Mode::Wyoming {
                request: wyoming::Request {
                    addr: addr.clone(),
                    model: config.model.clone(),
                    language: config.language.clone(),
                    connect_timeout: config.connect_timeout,
                    timeout: config.timeout,
                },
                stream: config.stream,
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

    /// A transcription that hears the recording while it is made, when the backend can (a
    /// Wyoming server with `stt.stream` on): the feed for the capture, the handle for `finish`.
    pub fn live(&self) -> Option<(Feed, Live)> {
        match &self.mode {
            Mode::Wyoming {
                request,
                stream: true,
            } => Some(wyoming_live(request.clone())),
            _ => None,
        }
    }

    /// Waits for the transcript of a `live` transcription whose recording has ended.
    pub fn finish(&self, live: Live, cancel: &cancel::Token) -> Result<Transcript, Failure> {
        let (raw, took) = live.wait(cancel)?;
        words(&raw, took)
    }

    /// Transcribes a recording. An empty transcript is `DidntCatch`; a failing, slow or
    /// unreachable recogniser is `SttFailed` (with its stderr or the server's error); a cancel
    /// is `Cancelled`.
    pub fn transcribe(&self, clip: &Clip, cancel: &cancel::Token) -> Result<Transcript, Failure> {
        match &self.mode {
            // A Wyoming server is sent the clip itself, as audio chunks.
            Mode::Wyoming { request, .. } => wyoming_whole(request, clip, cancel),
            Mode::Command(hook) => timed(|| run_hook(hook, &wav::encode_i16(clip), cancel)),
            Mode::Http(endpoint) => timed(|| upload(endpoint, &wav::encode_i16(clip), cancel)),
        }
    }

    /// For `voicebox check`: the hook's program exists and starts, the HTTP endpoint answers,
    /// or the Wyoming server offers speech recognition (its programs, models and languages).
    pub fn check(&self) -> Result<String, Failure> {
        let failed = |m: String| Failure::new(FailureClass::SttFailed, m);
        match &self.mode {
            Mode::Http(endpoint) => endpoint.check().map_err(|e| failed(e.to_string())),
            Mode::Wyoming { request, stream } => {
                let offers = crate::wyoming::info::describe(
                    &request.addr,
                    crate::wyoming::info::Kind::Asr,
                    request.connect_timeout,
                    Duration::from_secs(10),
                )
                .map_err(|e| failed(e.to_string()))?;
                let how = if *stream {
                    "audio sent while recording"
                } else {
                    "audio sent after the release"
                };
                Ok(format!(
                    "Wyoming tcp://{} offers {offers}; {how}",
                    request.addr
                ))
            }
            Mode::Command(hook) => {
                let program = hook.argv.first().cloned().unwrap_or_default();
                let path = crate::hook::find_program(&program).ok_or_else(|| {
                    failed(format!(
                        "STT hook `{program}` was not found on PATH; install it (Debian: pocketsphinx pocketsphinx-en-us) or fix stt.command"
                    ))
                })?;
                // Start it once with no input: a missing library or model shows up here.
                let probe = Hook {
                    argv: vec![path.display().to_string(), "--help".into()],
                    timeout: Duration::from_secs(5),
                    max_output: 1 << 20,
                };
                match probe.run(None, None, &cancel::Token::new()) {
                    Err(e @ HookError::Spawn { .. }) => Err(failed(e.to_string())),
                    _ => Ok(format!("STT hook `{}` found", path.display())),
                }
            }
        }
    }
}

/// Starts a Wyoming transcription on its own thread, failures classified as the hooks' are.
/// The words of what `transcribe` heard, timed from the start of the call.
fn timed(transcribe: impl FnOnce() -> Result<String, Failure>) -> Result<Transcript, Failure> {
    let started = Instant::now();
    let raw = transcribe()?;
    words(&raw, started.elapsed())
}

/// One upload of the WAV to an OpenAI-compatible server; a cancel hangs it up.
fn upload(
    endpoint: &http::Endpoint,
    wav: &[u8],
    cancel: &cancel::Token,
) -> Result<String, Failure> {
    endpoint.transcribe(wav, cancel).map_err(|e| match e {
        crate::http::Error::Cancelled => {
            Failure::new(FailureClass::Cancelled, "transcription cancelled")
        }
        e => Failure::new(FailureClass::SttFailed, e.to_string()),
    })
}

fn wyoming_live(request: wyoming::Request) -> (Feed, Live) {
    Live::spawn(move |audio, hang_up| {
        wyoming::transcribe(&request, audio, hang_up)
            .map(|h| (h.text, h.after_end))
            .map_err(|e| match e {
                crate::wyoming::Error::Cancelled => {
                    Failure::new(FailureClass::Cancelled, "transcription cancelled")
                }
                e => Failure::new(
                    FailureClass::SttFailed,
                    format!("speech recognition failed: {e}"),
                ),
            })
    })
}

/// A whole recording through the live path: queued at once, then the end.
fn wyoming_whole(
    request: &wyoming::Request,
    clip: &Clip,
    cancel: &cancel::Token,
) -> Result<Transcript, Failure> {
    let started = Instant::now();
    let (feed, live) = wyoming_live(request.clone());
    for chunk in clip.samples.chunks(CHUNK) {
        let _ = feed.send(Fed::Audio(chunk.to_vec()));
    }
    let _ = feed.send(Fed::End);
    let (raw, _) = live.wait(cancel)?;
    words(&raw, started.elapsed())
}

/// The transcript as words, or `DidntCatch` when there are none.
fn words(raw: &str, took: Duration) -> Result<Transcript, Failure> {
    let text = tidy(raw);
    if text.is_empty() {
        return Err(Failure::new(
            FailureClass::DidntCatch,
            "speech recognition returned no words",
        ));
    }
    Ok(Transcript {
        text,
        stt_ms: ms(took),
    })
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

    impl Stt {
        /// The hook run on `wav` as given (the tests' bytes need not be a real WAV).
        fn transcribe_wav(
            &self,
            wav: &[u8],
            cancel: &cancel::Token,
        ) -> Result<Transcript, Failure> {
            let Mode::Command(hook) = &self.mode else {
                panic!("a hook config");
            };
            timed(|| run_hook(hook, wav, cancel))
        }
    }

    fn stt(argv: &[&str], timeout_ms: u64) -> Stt {
        let mut config = crate::config::parse("", None, &|_| None).unwrap().stt;
        config.command = argv.iter().map(|s| s.to_string()).collect();
        config.timeout = Duration::from_millis(timeout_ms);
        Stt::new(&config)
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
            let mut config = crate::config::parse("", None, &|_| None).unwrap().stt;
            config.command = argv.iter().map(|s| s.to_string()).collect();
            config.language = language.map(str::to_string);
            let t = Stt::new(&config)
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
