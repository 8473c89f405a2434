//! Turns the machine's actions into calls on the device handles, and runs the blocking STT and
//! Ollama calls on short-lived threads that post their results as events.

use std::collections::HashMap;
use std::sync::Arc;

use crate::audio::capture::Capture;
use crate::audio::earcons;
use crate::button::{self, Button};
use crate::cancel;
use crate::config::Config;
use crate::event::{Event, EventSender, TurnId};
use crate::machine::{self, Action, TurnSummary};
use crate::ollama::{Client, Message};
use crate::speech::pipeline::Speaker;
use crate::speech::stt::Stt;

/// The device handles the loop drives. Dropping them stops their actors.
pub struct Devices {
    pub capture: Capture,
    pub speaker: Speaker,
    pub stt: Arc<Stt>,
    pub ollama: Client,
    /// `None` when GPIO is unavailable (the control socket still works).
    pub button: Option<Button>,
    /// Cancel handles of in-flight STT runs and Ollama requests, by turn.
    transcribing: HashMap<TurnId, cancel::Token>,
    asking: HashMap<TurnId, cancel::Token>,
}

impl Devices {
    /// Builds every device from the config. GPIO problems are logged, not fatal.
    pub fn new(config: &Config, events: &EventSender) -> anyhow::Result<Devices> {
        let button = match Button::spawn(&config.button, events.clone()) {
            Ok(b) => Some(b),
            Err(why) => {
                tracing::warn!("GPIO button unavailable, using the control socket only: {why}");
                None
            }
        };
        Ok(Devices {
            capture: Capture::spawn(&config.audio, events.clone()),
            speaker: Speaker::spawn(config, Some(events.clone()))?,
            stt: Arc::new(Stt::new(&config.stt)),
            ollama: Client::new(&config.ollama),
            button,
            transcribing: HashMap::new(),
            asking: HashMap::new(),
        })
    }

    /// Swaps the audio, STT and Ollama handles for ones built from `config` (called when idle).
    pub fn reconfigure(&mut self, config: &Config, events: &EventSender) -> anyhow::Result<()> {
        let ollama = Client::new(&config.ollama);
        let speaker = Speaker::spawn(config, Some(events.clone()))?;
        self.capture = Capture::spawn(&config.audio, events.clone());
        self.speaker = speaker;
        self.stt = Arc::new(Stt::new(&config.stt));
        self.ollama = ollama;
        Ok(())
    }

    /// Stops everything in flight: audio, hooks, requests. Handles drop with `self`.
    pub fn shutdown(&mut self) {
        self.speaker.stop();
        self.capture.cancel();
        for (_, k) in self.transcribing.drain() {
            k.cancel();
        }
        for (_, c) in self.asking.drain() {
            c.cancel();
        }
        if let Some(b) = &self.button {
            b.set_led(button::Led::Idle);
        }
    }

    pub fn dispatch(&mut self, action: Action, events: &EventSender) {
        match action {
            Action::StartCapture { turn, detect_end } => self.capture.start(turn, detect_end),
            Action::StopCapture { turn } => self.capture.stop(turn),
            Action::CancelCapture => self.capture.cancel(),
            Action::Transcribe { turn, recording } => {
                let cancel = cancel::Token::new();
                self.transcribing.insert(turn, cancel.clone());
                let stt = Arc::clone(&self.stt);
                let tx = events.clone();
                spawn_worker("stt", move || {
                    let result = stt.transcribe(&recording.clip, &cancel);
                    let _ = tx.send(Event::Transcribed { turn, result });
                });
            }
            Action::CancelTranscribe { turn } => {
                if let Some(k) = self.transcribing.remove(&turn) {
                    k.cancel();
                }
            }
            Action::Ask {
                turn,
                question,
                history,
            } => {
                self.transcribing.remove(&turn);
                let cancel = cancel::Token::new();
                self.asking.insert(turn, cancel.clone());
                let client = self.ollama.clone();
                let tx = events.clone();
                spawn_worker("ollama", move || {
                    let result = client.ask(&Message::from_history(&history), &question, &cancel);
                    let _ = tx.send(Event::Answered { turn, result });
                });
            }
            Action::CancelAsk { turn } => {
                if let Some(c) = self.asking.remove(&turn) {
                    c.cancel();
                }
            }
            Action::Speak { turn, text } => {
                self.asking.remove(&turn);
                self.speaker.speak(turn, text);
            }
            Action::StopSpeaking => self.speaker.stop(),
            Action::Earcon(e) => self.speaker.earcon(match e {
                machine::Earcon::Listening => earcons::Earcon::Listening,
                machine::Earcon::Stopped => earcons::Earcon::Stopped,
                machine::Earcon::Error => earcons::Earcon::Error,
            }),
            Action::StartTimer { turn, kind, after } => {
                let tx = events.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(Event::Timer { turn, kind });
                });
            }
            Action::Led(led) => {
                if let Some(b) = &self.button {
                    b.set_led(match led {
                        machine::Led::Idle => button::Led::Idle,
                        machine::Led::Listening => button::Led::Listening,
                        machine::Led::Thinking => button::Led::Thinking,
                        machine::Led::Speaking => button::Led::Speaking,
                        machine::Led::Error => button::Led::Error,
                    });
                }
            }
            Action::LogTurn(s) => log_turn(&s),
            Action::ForgetConversation => tracing::info!("conversation forgotten"),
        }
    }
}

/// Blocking work (a hook, an HTTP request) on its own short-lived thread, off the loop.
fn spawn_worker(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        // The machine then waits for a result that never comes; a cancel or the next press
        // recovers, and the log says why.
        tracing::error!(error = %e, "cannot start a {name} thread");
    }
}

/// The per-turn summary: one INFO line, journald fields without prefix.
fn log_turn(s: &TurnSummary) {
    let glitch = s.outcome == machine::Outcome::Glitch;
    // Stage fields the turn never reached are `None` and left out of the line altogether.
    macro_rules! summary {
        ($level:expr) => {
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
                "turn"
            )
        };
    }
    // A brushed button is noise in the journal; keep it for debugging only.
    if glitch {
        summary!(tracing::Level::DEBUG);
    } else {
        summary!(tracing::Level::INFO);
    }
}
