//! The speaking pipeline: reply → cleanup → sentences, each with its language → TTS hook in that
//! language's voice (a bounded lookahead ahead of playback) → playback, in order. The first
//! sentence plays as soon as it alone is synthesized. A reply can arrive in pieces (a streamed
//! reply): each sentence goes to the TTS hook as soon as it is complete, while the ones before
//! it play.
//!
//! `Speaker` is an actor: one thread takes replies in turn and plays them; a worker thread per
//! reply synthesizes ahead. `stop` cancels the token of every reply handed over so far (which
//! kills in-flight synthesis), ends the text of the one still arriving, and silences playback.
//!
//! The speaker reports how speaking went (`SpeechReport`); what to do about a failure, such as
//! playing the error earcon, is for its caller to decide.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::synth::{self, Inbox, Writer};
use crate::audio::earcons::{self, Earcon};
use crate::audio::playback::{Playback, Remote};
use crate::cancel;
use crate::config::Config;
use crate::event::{Event, EventSender, FailureClass, SpeechReport, TurnId, ms};
use crate::text::sentences;
use crate::tts::Tts;

struct Job {
    turn: TurnId,
    /// The reply, in pieces; it ends when the handle drops its `Writer` (or on `stop`).
    text: Arc<Inbox>,
    /// Cancelled by a `stop` after this job was handed over: a queued job is then dropped, a
    /// playing one cut short.
    cancel: cancel::Token,
    /// When the reply (its first piece) was handed over: the zero of `first_audio_ms` and
    /// `total_ms`.
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
    current: Mutex<Current>,
    remote: Remote,
    /// `audio.volume`, the gain of 100 %.
    trim: f32,
    thread: Option<JoinHandle<()>>,
    // Dropped after the thread is joined (field order): the thread plays through it.
    _playback: Playback,
}

/// What the handle keeps about the replies it handed over.
#[derive(Default)]
struct Current {
    /// The token of the jobs handed over since the last `stop`, which cancels and replaces it.
    cancel: cancel::Token,
    /// The reply still taking pieces: its turn and the sending end of its text.
    open: Option<(TurnId, Writer)>,
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
        let mut current = self.lock_current();
        self.keep_open(&mut current, turn);
        if let Some((_, text_in)) = current.open.take() {
            // Text and end in one step: the worker knows the last sentence (no pause after it).
            text_in.finish(Some(text.into()));
        }
    }

    /// Speaks the next piece of `turn`'s reply, which is still arriving (the first piece
    /// starts it, ending any earlier reply's text); its sentences are spoken as they complete.
    pub fn speak_part(&self, turn: TurnId, text: impl Into<String>) {
        let mut current = self.lock_current();
        self.keep_open(&mut current, turn);
        if let Some((_, text_in)) = &current.open {
            text_in.put(text.into());
        }
    }

    /// No more pieces for `turn`: the rest is spoken, then `tail` (the cut-off message), then
    /// `Event::Spoken` is posted. Nothing happens if `stop` ended the reply already.
    pub fn end_speech(&self, turn: TurnId, tail: Option<String>) {
        let mut current = self.lock_current();
        if !matches!(&current.open, Some((t, _)) if *t == turn) {
            return;
        }
        if let Some((_, text_in)) = current.open.take() {
            // A line break ends the reply's own last words before the tail.
            text_in.finish(tail.map(|t| format!("\n{t}")));
        }
    }

    /// Starts a reply for `turn` whose report also comes back on the returned channel (for
    /// the CLI): give it text with `speak_part` and `end_speech`, then wait on the channel.
    pub fn speak_reported(&self, turn: TurnId) -> mpsc::Receiver<SpeechReport> {
        let (tx, rx) = mpsc::channel();
        self.open(&mut self.lock_current(), turn, Some(tx));
        rx
    }

    /// Speaks `text` and waits for the report (for the CLI).
    pub fn speak_and_wait(&self, text: &str) -> SpeechReport {
        let report = self.speak_reported(0);
        self.speak(0, text);
        wait(&report)
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
                .repeat(earcons::thinking_cue(), earcons::THINKING_PERIOD);
        } else {
            self.remote.end_repeat();
        }
    }

    /// The everyday volume, a percent of `audio.volume`; applies to the sound playing too.
    pub fn set_volume(&self, percent: u8) {
        self.remote
            .set_gain(crate::audio::volume::gain(percent, self.trim));
    }

    /// Silences playback at once, drops queued replies, ends the text of the one arriving and
    /// kills in-flight synthesis.
    pub fn stop(&self) {
        let handed_over = std::mem::take(&mut *self.lock_current());
        handed_over.cancel.cancel();
        self.remote.stop();
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Current> {
        // A token and a writer are all it holds, so a poisoned lock still holds usable ones.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes sure the open reply is `turn`'s.
    fn keep_open(&self, current: &mut Current, turn: TurnId) {
        if !matches!(&current.open, Some((t, _)) if *t == turn) {
            self.open(current, turn, None);
        }
    }

    /// Hands the actor a new reply for `turn`, open for pieces (an open one is ended first).
    fn open(&self, current: &mut Current, turn: TurnId, reply: Option<mpsc::Sender<SpeechReport>>) {
        let (writer, text) = Writer::new();
        current.open = Some((turn, writer));
        let job = Job {
            turn,
            text,
            cancel: current.cancel.clone(),
            received: Instant::now(),
            reply,
        };
        if let Some(jobs) = &self.tx {
            let _ = jobs.send(job);
        }
    }
}

/// The report of a reply started with `speak_reported`.
pub fn wait(report: &mpsc::Receiver<SpeechReport>) -> SpeechReport {
    report.recv().unwrap_or_else(|_| SpeechReport {
        device_error: Some("the speaker thread ended".into()),
        ..SpeechReport::default()
    })
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
        if job.cancel.is_cancelled() {
            report.stopped = true;
            return report;
        }
        // Ends this reply's synthesis however the reply ends, without touching later replies.
        let synthesis = job.cancel.child();

        // Bounded lookahead: the worker holds one finished sentence in hand and the channel
        // holds `lookahead - 1`, so at most `lookahead` wait behind the one playing.
        let (synth_tx, synth_rx) = mpsc::sync_channel(s.lookahead - 1);
        let worker = {
            let (tts, text, synthesis) = (self.tts.clone(), job.text.clone(), synthesis.clone());
            let (rules, output) = (s.rules.clone(), self.remote.clone());
            std::thread::Builder::new()
                .name("tts".into())
                .spawn(move || {
                    synth::synthesize(&tts, &text, &rules, &synthesis, &output, &synth_tx)
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
            let pause = if synth.last { Duration::ZERO } else { s.pause };
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
        // Whatever ended the loop, the worker must not synthesize on (nor wait for text).
        synthesis.cancel();
        drop(synth_rx);
        report.sentences = worker.join().unwrap_or_default();

        report.stopped = job.cancel.is_cancelled();
        report.total_ms = ms(job.received.elapsed());
        report
    }
}

fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
