//! The speaking pipeline: reply → cleanup → sentences, each with its language → TTS hook in that
//! language's voice (a bounded lookahead ahead of playback) → playback, in order. The first
//! sentence plays as soon as it alone is synthesized.
//!
//! `Speaker` is an actor: one thread takes replies in turn and plays them; a worker thread per
//! reply synthesizes ahead. `stop` cancels the token of every reply handed over so far (which
//! kills in-flight synthesis) and silences playback.
//!
//! The speaker reports how speaking went (`SpeechReport`); what to do about a failure, such as
//! playing the error earcon, is for its caller to decide.

use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::sentences::{self, Sentence};
use super::tts::Tts;
use crate::audio::earcons::{self, Earcon};
use crate::audio::playback::{Playback, Remote};
use crate::cancel;
use crate::config::Config;
use crate::event::{Event, EventSender, FailureClass, SpeechReport, TurnId, ms};

struct Job {
    turn: TurnId,
    text: String,
    /// Cancelled by a `stop` after this job was handed over: a queued job is then dropped, a
    /// playing one cut short.
    cancel: cancel::Token,
    /// When the reply was handed over: the zero of `first_audio_ms` and `total_ms`.
    received: Instant,
    reply: Option<mpsc::Sender<SpeechReport>>,
}

#[derive(Clone)]
struct Settings {
    rules: sentences::Rules,
    lookahead: usize,
    pause: Duration,
}

/// Handle to the speaking actor; dropping it stops speech and ends the thread.
pub struct Speaker {
    tx: Option<mpsc::Sender<Job>>,
    /// The token of the jobs handed over since the last `stop`, which cancels and replaces it.
    current: Mutex<cancel::Token>,
    remote: Remote,
    /// `audio.volume`, the gain of 100 %.
    trim: f32,
    thread: Option<JoinHandle<()>>,
    // Dropped after the thread is joined (field order): the thread plays through it.
    _playback: Playback,
}

impl Speaker {
    pub fn spawn(config: &Config, events: Option<EventSender>) -> anyhow::Result<Self> {
        let playback = Playback::spawn(&config.audio);
        let remote = playback.remote();
        let (tx, rx) = mpsc::channel::<Job>();
        let actor = Actor {
            tts: Tts::new(&config.tts),
            settings: Settings {
                rules: sentences::Rules::new(&config.tts),
                lookahead: config.tts.lookahead.max(1),
                pause: config.audio.sentence_pause,
            },
            remote: remote.clone(),
            events,
        };
        let thread = std::thread::Builder::new()
            .name("speaker".into())
            .spawn(move || {
                for job in rx {
                    actor.handle(job);
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            current: Mutex::default(),
            remote,
            trim: config.audio.volume,
            thread: Some(thread),
            _playback: playback,
        })
    }

    /// Speaks `text`; posts `Event::Spoken` when it has finished or was stopped.
    pub fn speak(&self, turn: TurnId, text: impl Into<String>) {
        self.send(turn, text.into(), None);
    }

    /// Speaks `text` and waits for the report (for the CLI).
    pub fn speak_and_wait(&self, text: &str) -> SpeechReport {
        let (tx, rx) = mpsc::channel();
        self.send(0, text.to_string(), Some(tx));
        rx.recv().unwrap_or_else(|_| SpeechReport {
            device_error: Some("the speaker thread ended".into()),
            ..SpeechReport::default()
        })
    }

    /// Plays an earcon now (behind whatever is already queued on the device).
    pub fn earcon(&self, earcon: Earcon) {
        drop(self.remote.play(earcon.clip(), Duration::ZERO));
    }

    /// Plays an earcon and waits until the device has taken it (for the CLI, which exits next).
    pub fn earcon_and_wait(&self, earcon: Earcon) {
        let _ = self.remote.play(earcon.clip(), Duration::ZERO).recv();
    }

    /// Repeats the soft thinking cue until the next sound (a reply's first sentence, a message,
    /// an earcon: it never plays under them) or until `on` is false.
    pub fn thinking_cue(&self, on: bool) {
        if on {
            self.remote
                .repeat(Earcon::Thinking.clip(), earcons::THINKING_PERIOD);
        } else {
            self.remote.end_repeat();
        }
    }

    /// The everyday volume, a percent of `audio.volume`; applies to the sound playing too.
    pub fn set_volume(&self, percent: u8) {
        self.remote
            .set_gain(crate::audio::volume::gain(percent, self.trim));
    }

    /// Silences playback at once, drops queued replies and kills in-flight synthesis.
    pub fn stop(&self) {
        let handed_over = std::mem::take(&mut *self.lock_current());
        handed_over.cancel();
        self.remote.stop();
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, cancel::Token> {
        // Only a token is ever stored, so a poisoned lock still holds a usable one.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, turn: TurnId, text: String, reply: Option<mpsc::Sender<SpeechReport>>) {
        let job = Job {
            turn,
            text,
            cancel: self.lock_current().clone(),
            received: Instant::now(),
            reply,
        };
        if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop();
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One synthesized (or failed) sentence, with when its hook ran.
struct Synth {
    index: usize,
    lang: String,
    result: Result<crate::audio::Clip, crate::event::Failure>,
    took: Duration,
    started_at: SystemTime,
    ended_at: SystemTime,
}

struct Actor {
    tts: Tts,
    settings: Settings,
    remote: Remote,
    events: Option<EventSender>,
}

impl Actor {
    fn handle(&self, job: Job) {
        let report = self.speak(&job);
        tracing::debug!(
            turn = job.turn,
            sentences = report.sentences,
            failed = report.failed,
            tts_ms = report.tts_first_ms,
            first_audio_ms = report.first_audio_ms,
            total_ms = report.total_ms,
            stopped = report.stopped,
            "reply spoken"
        );
        if let Some(e) = &report.device_error {
            tracing::error!(turn = job.turn, "cannot play the reply: {e}");
        }
        if let Some(reply) = job.reply {
            let _ = reply.send(report.clone());
        }
        if let Some(events) = &self.events {
            let _ = events.send(Event::Spoken {
                turn: job.turn,
                report,
            });
        }
    }

    fn speak(&self, job: &Job) -> SpeechReport {
        let s = &self.settings;
        let mut report = SpeechReport::default();
        let sentences = sentences::split(&job.text, &s.rules);
        report.sentences = sentences.len();
        if job.cancel.is_cancelled() {
            report.stopped = true;
            return report;
        }
        let count = sentences.len();
        // Ends this reply's synthesis however the reply ends, without touching later replies.
        let synthesis = job.cancel.child();

        // Bounded lookahead: the worker holds one finished sentence in hand and the channel
        // holds `lookahead - 1`, so at most `lookahead` wait behind the one playing.
        let (synth_tx, synth_rx) = mpsc::sync_channel::<Synth>(s.lookahead - 1);
        let worker = {
            let tts = self.tts.clone();
            let synthesis = synthesis.clone();
            std::thread::Builder::new()
                .name("tts".into())
                .spawn(move || {
                    for (index, Sentence { text, lang }) in sentences.into_iter().enumerate() {
                        if synthesis.is_cancelled() {
                            return;
                        }
                        let started = Instant::now();
                        let started_at = SystemTime::now();
                        let result = tts.synthesize(&text, &lang, &synthesis);
                        let synth = Synth {
                            index,
                            lang,
                            result,
                            took: started.elapsed(),
                            started_at,
                            ended_at: SystemTime::now(),
                        };
                        if synth_tx.send(synth).is_err() {
                            return;
                        }
                    }
                })
        };
        let worker = match worker {
            Ok(w) => w,
            Err(e) => {
                report.device_error = Some(format!("cannot start the TTS thread: {e}"));
                return report;
            }
        };

        for synth in &synth_rx {
            if job.cancel.is_cancelled() {
                break;
            }
            let clip = match synth.result {
                Ok(clip) => clip,
                Err(f) if f.class == FailureClass::Cancelled => break,
                Err(f) => {
                    report.failed += 1;
                    tracing::warn!(
                        turn = job.turn,
                        sentence = synth.index + 1,
                        "sentence skipped: {}",
                        f.message
                    );
                    continue;
                }
            };
            let pause = if synth.index + 1 < count {
                s.pause
            } else {
                Duration::ZERO
            };
            let Ok(played) = self.remote.play(clip, pause).recv() else {
                report.device_error = Some("the playback thread ended".into());
                break;
            };
            if let Some(e) = played.error {
                report.device_error = Some(e.to_string());
                break;
            }
            if let (None, Some(started)) = (report.first_audio_ms, played.started) {
                report.first_audio_ms = Some(ms(started.saturating_duration_since(job.received)));
                report.tts_first_ms = Some(ms(synth.took));
            }
            tracing::debug!(
                turn = job.turn,
                sentence = synth.index + 1,
                lang = synth.lang,
                synth_start_ns = unix_ns(synth.started_at),
                synth_end_ns = unix_ns(synth.ended_at),
                play_start_ns = played.started_at.map(unix_ns),
                play_end_ns = unix_ns(played.ended_at),
                "sentence played"
            );
            if played.stopped {
                break;
            }
        }
        // Whatever ended the loop, the worker must not synthesize on.
        synthesis.cancel();
        drop(synth_rx);
        let _ = worker.join();

        report.stopped = job.cancel.is_cancelled();
        report.total_ms = ms(job.received.elapsed());
        report
    }
}

fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
