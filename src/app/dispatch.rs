//! Turns the machine's actions into calls on the devices, and keeps the cancel handle of each
//! piece of blocking work (an STT run, an Ollama request) while it is in flight, and the live
//! transcription of the recording in progress until a `Transcribe` claims it.

use std::collections::HashMap;

use super::devices::Devices;
use crate::audio::capture::Listen;
use crate::button::{self, Button};
use crate::cancel;
use crate::event::{Event, EventSender, TurnId};
use crate::machine::{Action, Outcome, TurnSummary};
use crate::state;
use crate::stt::live::Live;

/// The devices, and the work in flight on them.
pub(super) struct Driver {
    pub(super) devices: Devices,
    /// `None` when GPIO is unavailable (the control socket still works).
    pub(super) button: Option<Button>,
    pub(super) jobs: Jobs,
    /// The transcription hearing the current recording (`Transcriber::live`).
    pub(super) live: Option<LiveTurn>,
    events: EventSender,
    /// Where the volume is kept across restarts.
    store: state::Store,
}

/// A live transcription and the turn whose recording feeds it.
#[derive(Debug)]
pub(super) struct LiveTurn {
    pub(super) turn: TurnId,
    pub(super) live: Live,
    /// The recording has ended (`Captured` arrived): a `Transcribe` claims it now or never.
    pub(super) recorded: bool,
}

/// Blocking work that can be cancelled, by the turn it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Job {
    Transcribe(TurnId),
    Ask(TurnId),
}

/// The cancel handles of the jobs in flight.
#[derive(Debug, Default)]
pub(super) struct Jobs(HashMap<Job, cancel::Token>);

impl Jobs {
    fn start(&mut self, job: Job) -> cancel::Token {
        let token = cancel::Token::new();
        self.0.insert(job, token.clone());
        token
    }

    fn cancel(&mut self, job: Job) {
        if let Some(token) = self.0.remove(&job) {
            token.cancel();
        }
    }

    fn forget(&mut self, job: Job) {
        self.0.remove(&job);
    }

    fn cancel_all(&mut self) {
        for (_, token) in self.0.drain() {
            token.cancel();
        }
    }

    #[cfg(test)]
    pub(super) fn in_flight(&self) -> Vec<Job> {
        self.0.keys().copied().collect()
    }
}

impl Driver {
    pub(super) fn new(
        devices: Devices,
        button: Option<Button>,
        events: EventSender,
        store: state::Store,
    ) -> Driver {
        Driver {
            devices,
            button,
            jobs: Jobs::default(),
            live: None,
            events,
            store,
        }
    }

    /// A job posted its result, so its cancel handle has nothing left to stop, whatever the
    /// machine does next (the next stage, a spoken failure, or nothing at all).
    pub(super) fn finished(&mut self, event: &Event) {
        match event {
            Event::Transcribed { turn, .. } => self.jobs.forget(Job::Transcribe(*turn)),
            Event::Answered { turn, .. } => self.jobs.forget(Job::Ask(*turn)),
            Event::Captured { turn, .. } => {
                if let Some(l) = self.live.as_mut().filter(|l| l.turn == *turn) {
                    l.recorded = true;
                }
            }
            _ => {}
        }
    }

    /// After an event's actions: a live transcription whose recording ended without being
    /// sent to STT (a glitch, silence, a failed capture) hangs up.
    pub(super) fn settle(&mut self) {
        if self.live.as_ref().is_some_and(|l| l.recorded) {
            self.live = None;
        }
    }

    /// Stops everything in flight: audio, hooks, requests.
    pub(super) fn shutdown(&mut self) {
        self.devices.speaker.stop();
        self.devices.microphone.cancel();
        self.live = None;
        self.jobs.cancel_all();
        if let Some(b) = &self.button {
            b.set_led(button::Led::Idle);
        }
    }

    pub(super) fn dispatch(&mut self, action: Action) {
        let d = &self.devices;
        match action {
            Action::StartCapture {
                turn,
                detect_end,
                speech_within,
            } => {
                // Replacing an older one hangs it up.
                let (feed, live) = d.stt.live().unzip();
                self.live = live.map(|live| LiveTurn {
                    turn,
                    live,
                    recorded: false,
                });
                let listen = Listen {
                    detect_end,
                    speech_within,
                    feed,
                };
                d.microphone.start(turn, listen);
            }
            Action::LoadModel => d.ollama.load(),
            Action::StopCapture { turn } => d.microphone.stop(turn),
            Action::CancelCapture => {
                d.microphone.cancel();
                self.live = None;
            }
            Action::Transcribe { turn, recording } => {
                let cancel = self.jobs.start(Job::Transcribe(turn));
                let live = self.live.take_if(|l| l.turn == turn).map(|l| l.live);
                d.stt
                    .transcribe(turn, recording.clip, live, cancel, &self.events);
            }
            Action::CancelTranscribe { turn } => self.jobs.cancel(Job::Transcribe(turn)),
            Action::Ask {
                turn,
                question,
                history,
                lang,
            } => {
                let cancel = self.jobs.start(Job::Ask(turn));
                d.ollama
                    .ask(turn, question, history, lang, cancel, &self.events);
            }
            Action::CancelAsk { turn } => self.jobs.cancel(Job::Ask(turn)),
            Action::Speak { turn, text } => d.speaker.speak(turn, text),
            Action::SpeakPart { turn, text } => d.speaker.speak_part(turn, text),
            Action::EndSpeech { turn, tail } => d.speaker.end_speech(turn, tail),
            Action::StopSpeaking => d.speaker.stop(),
            Action::Earcon(e) => d.speaker.earcon(e),
            Action::StartThinkingCue => d.speaker.thinking_cue(true),
            Action::StopThinkingCue => d.speaker.thinking_cue(false),
            Action::SetVolume(percent) => {
                d.speaker.set_volume(percent);
                tracing::info!(volume = percent, "volume");
                let saved = state::Saved {
                    volume: Some(percent),
                };
                // On the loop: a few milliseconds, only when someone changes the volume.
                if let Err(e) = self.store.save(&saved) {
                    tracing::warn!("the volume will not be kept across a restart: {e:#}");
                }
            }
            Action::StartTimer { turn, kind, after } => {
                let tx = self.events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(Event::Timer { turn, kind });
                });
            }
            Action::Led(led) => {
                if let Some(b) = &self.button {
                    b.set_led(led);
                }
            }
            Action::LogTurn(s) => log_turn(&s),
            Action::ForgetConversation => tracing::info!("conversation forgotten"),
            Action::Ignored(why) => tracing::info!("{why}"),
            Action::Warn(why) => tracing::warn!("{why}"),
            Action::AnnouncementDropped { chars } => tracing::warn!(
                chars,
                "announcement dropped: too many are waiting for the box to be idle"
            ),
        }
    }
}

/// The per-turn summary: one INFO line, journald fields without prefix. An announcement's line
/// is "announcement", its length `response_chars` (never its text).
fn log_turn(s: &TurnSummary) {
    // Nothing the user did: a brushed button, a follow-up window nobody used.
    let quiet = matches!(s.outcome, Outcome::Glitch | Outcome::NoFollowUp);
    // Stage fields the turn never reached are `None` and left out of the line altogether.
    macro_rules! summary {
        ($level:expr, $message:literal) => {
            tracing::event!(
                $level,
                turn_id = s.turn_id,
                outcome = s.outcome.as_str(),
                record_ms = s.record_ms,
                stt_ms = s.stt_ms,
                ollama_ms = s.ollama_ms,
                first_audio_ms = s.first_audio_ms,
                total_ms = s.total_ms,
                transcript_chars = s.transcript_chars,
                response_chars = s.response_chars,
                sentences = s.sentences,
                attempts = s.attempts,
                $message
            )
        };
    }
    if s.announcement {
        summary!(tracing::Level::INFO, "announcement");
    } else if quiet {
        // Noise in the journal; kept for debugging only.
        summary!(tracing::Level::DEBUG, "turn");
    } else {
        summary!(tracing::Level::INFO, "turn");
    }
}
