//! The pure state machine: every product decision as `(Event, now) -> Vec<Action>`.
//!
//! No IO, no tokio, no clock: time comes in as an argument, effects go out as `Action`s, so every
//! rule below is a row in a table test. States: Idle → Listening → Transcribing → Thinking →
//! Speaking → Idle.
//!
//! # The rules (each is tested in `tests.rs`)
//!
//! Gestures. A control-socket `press`/`release` is the button's press/release.
//! - Hold mode (push-to-talk): a press starts listening at once (not on release, so the first
//!   word is not clipped); the release stops it and capture records the post-roll. A press
//!   shorter than `min_press` is a glitch (bounce, a brushed button): the capture is cancelled,
//!   nothing is transcribed, and no sound plays (a cue for every brush would annoy).
//! - Toggle mode: a press starts listening (end-of-speech detection on); the next press, or
//!   `SpeechEnded`, stops it. The press that started it must still last `min_press`, otherwise
//!   it is the same glitch as above.
//! - `tap` is the toggle gesture in both modes (a script cannot hold a button).
//! - Long press (`long_press`, toggle mode): cancels whatever is happening and forgets the
//!   conversation, acknowledged with the "stopped" earcon. In hold mode holding the button IS
//!   talking, so a 2 s hold must not cancel; there the long-press gesture is a hold of at least
//!   `long_press` in which no speech was heard (instead of "didn't catch that").
//! - A press while Transcribing or Thinking abandons the turn (its late result carries an old
//!   turn id and is dropped, never spoken); in hold mode it starts listening for a new turn, in
//!   toggle mode (and for a tap) it stops with the "stopped" earcon so the press is heard.
//! - A press while Speaking stops playback at once (barge-in); in hold mode it also starts
//!   listening. The interrupted reply stays in the conversation memory: part of it was heard.
//! - `cancel` from any state goes to Idle quietly (no earcon, no message).
//! - A press held longer than `max_record` (a script that crashed between `ctl press` and
//!   `ctl release`) ends as if released when the next press comes, which then starts a new
//!   gesture; a second press within that time is ignored. Whatever is ignored (that press, a
//!   release with no press held, a tap while the recording already stops) says so with
//!   `Action::Ignored`, which the control socket answers instead of `ok`.
//! - The "listening" earcon plays when capture reports its first frame (`CaptureStarted`), so
//!   it means "the microphone is really open", and capture never waits for it.
//!
//! Streamed replies: the first piece of a reply (`Replying`) moves Thinking to Speaking, and
//! every piece goes to the speaker as it comes (`SpeakPart`); the end of the request
//! (`Answered`) ends the speech (`EndSpeech`). A stream that breaks off after a piece keeps what
//! was spoken and ends with the cut-off message (`cut_off`), never a retry. A press or cancel
//! while a reply is still arriving also cancels its request, so the server stops generating.
//!
//! Failures are heard, never only logged: a capture, STT or Ollama `Failure` speaks its class's
//! message, in the language of the question (`stt.language` when set, else the language of the
//! last transcript, else `tts.language`); a silent or too-short recording speaks "didn't catch that" without calling STT, as
//! does an empty transcript; an empty reply speaks the bad-reply message. When speech output
//! itself failed (every sentence failed, or the device did not open) only the error earcon is
//! left. Retries happen inside the Ollama client, before anything is spoken; the machine speaks
//! each reply at most once.
//!
//! Memory: the last `turns` exchanges, at most `max_chars` characters (oldest dropped first),
//! passed in every `Ask`; forgotten `idle_forget` after the last turn (a one-shot timer) and on
//! the long-press gesture.
//!
//! Everyday use (volume, announcements, the follow-up window, the thinking cue): the rules are
//! listed in `everyday.rs`.

mod action;
mod everyday;
mod gesture;
mod memory;
mod results;
#[cfg(test)]
mod tests;
mod turn;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use action::{Action, Earcon, Exchange, Led, Outcome, TurnSummary};
use memory::Memory;
use turn::Turn;

use crate::config::{ButtonMode, Config, Messages};
use crate::event::{ControlCommand, Event, FailureClass, TimerKind, ToolUse, TurnId};
use crate::text::lang::Languages;

/// The part of the config the machine decides with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: ButtonMode,
    pub min_press: Duration,
    pub long_press: Duration,
    pub max_record: Duration,
    pub min_record: Duration,
    pub turns: usize,
    pub max_chars: usize,
    pub idle_forget: Duration,
    pub follow_up: Duration,
    pub thinking_cue: Duration,
    pub messages: Messages,
    /// How a transcript's language is read, and the default language.
    pub languages: Languages,
    /// `stt.language`: the language spoken to the box, when fixed.
    pub stt_language: Option<String>,
    /// `ollama.warm_up`: have the model loaded while the user speaks.
    pub warm_up: bool,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            mode: config.button.mode,
            min_press: config.button.min_press,
            long_press: config.button.long_press,
            max_record: config.audio.max_record,
            min_record: config.audio.min_record,
            turns: config.conversation.turns,
            max_chars: config.conversation.max_chars,
            idle_forget: config.conversation.idle_forget,
            follow_up: config.conversation.follow_up,
            thinking_cue: config.audio.thinking_cue,
            messages: config.messages.clone(),
            languages: Languages {
                latin: config.tts.language.clone(),
                han: config.tts.han.clone(),
            },
            stt_language: config.stt.language.clone(),
            warm_up: config.ollama.warm_up,
        }
    }
}

/// The state the outside world sees (`status`, STATUS=, the LED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle,
    Listening,
    Transcribing,
    Thinking,
    Speaking,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Listening => "listening",
            Self::Transcribing => "transcribing",
            Self::Thinking => "thinking",
            Self::Speaking => "speaking",
        }
    }
}

#[derive(Debug)]
enum Speech {
    /// A reply: `answer` is what has arrived so far.
    Reply {
        question: String,
        answer: String,
        end: ReplyEnd,
        /// The tool calls the question led to (known once the request has ended).
        tools: Vec<ToolUse>,
    },
    /// A failure message; the outcome is already decided.
    Notice(Outcome),
    /// `ctl say`: nothing to remember.
    Announcement,
}

/// How much of a reply being spoken has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyEnd {
    /// Streamed, and its request is still open: more may come.
    Arriving,
    /// All of it is with the speaker.
    Complete,
    /// The stream broke off; the speaker says so after what arrived.
    CutOff,
}

#[derive(Debug)]
enum Phase {
    Idle,
    Listening {
        turn: Turn,
        /// The press that started it (hold mode: its release stops it).
        held_by: Option<u64>,
        detect_end: bool,
        /// Set once StopCapture was sent: how long the button was held (zero if not held).
        stopping: Option<Duration>,
    },
    Transcribing {
        turn: Turn,
    },
    Thinking {
        turn: Turn,
        question: String,
    },
    Speaking {
        turn: Turn,
        speech: Speech,
    },
}

/// The button (or control-socket press) currently held down.
#[derive(Debug)]
struct Press {
    id: u64,
    at: Instant,
    /// A gesture already used this press; its release does nothing.
    consumed: bool,
}

#[derive(Debug)]
pub struct Machine {
    settings: Settings,
    phase: Phase,
    memory: Memory,
    button: Option<Press>,
    last_turn: TurnId,
    last_press: u64,
    /// Only the newest ForgetConversation timer counts.
    forget_generation: u64,
    /// A reply stopped by barge-in or cancel: its summary waits for the speaker's report
    /// (which carries first_audio_ms and sentences), then is logged.
    draining: Option<TurnSummary>,
    last_outcome: Option<(TurnId, Outcome)>,
    /// The language of the last transcript: failure messages are spoken in it.
    question_lang: Option<String>,
    /// The everyday volume, percent.
    volume: u8,
    /// `ctl say` texts waiting for the box to be idle, oldest first.
    announcements: VecDeque<String>,
}

impl Machine {
    pub fn new(settings: Settings) -> Self {
        let memory = Memory::new(settings.turns, settings.max_chars);
        Self {
            settings,
            phase: Phase::Idle,
            memory,
            button: None,
            last_turn: 0,
            last_press: 0,
            forget_generation: 0,
            draining: None,
            last_outcome: None,
            question_lang: None,
            volume: 100,
            announcements: VecDeque::new(),
        }
    }

    /// Starts at a saved volume (percent) instead of 100.
    pub fn with_volume(mut self, percent: u8) -> Self {
        self.volume = percent.min(100);
        self
    }

    pub fn volume(&self) -> u8 {
        self.volume
    }

    /// Applies a reloaded config (SIGHUP) without disturbing the turn in progress.
    pub fn reconfigure(&mut self, settings: Settings) {
        self.memory.set_bounds(settings.turns, settings.max_chars);
        self.settings = settings;
    }

    pub fn state(&self) -> State {
        match self.phase {
            Phase::Idle => State::Idle,
            Phase::Listening { .. } => State::Listening,
            Phase::Transcribing { .. } => State::Transcribing,
            Phase::Thinking { .. } => State::Thinking,
            Phase::Speaking { .. } => State::Speaking,
        }
    }

    /// Ends the machine for shutdown: cancels the turn in progress and returns every summary
    /// not yet logged, including one still waiting for the speaker's report.
    pub fn finish_all(&mut self, now: Instant) -> Vec<TurnSummary> {
        let mut out = Vec::new();
        self.cancel(now, &mut out);
        let mut summaries: Vec<TurnSummary> = out
            .into_iter()
            .filter_map(|a| match a {
                Action::LogTurn(s) => Some(s),
                _ => None,
            })
            .collect();
        summaries.extend(self.draining.take());
        summaries
    }

    /// One JSON line for the control socket's `status`: `{"state":"idle","turn":3,
    /// "last_turn":3,"last_outcome":"answered","remembered":2,"volume":60}`.
    pub fn status_json(&self) -> String {
        let turn = match &self.phase {
            Phase::Idle => None,
            Phase::Listening { turn, .. }
            | Phase::Transcribing { turn }
            | Phase::Thinking { turn, .. }
            | Phase::Speaking { turn, .. } => Some(turn.id),
        };
        serde_json::json!({
            "state": self.state().as_str(),
            "turn": turn,
            "last_turn": self.last_outcome.map(|(t, _)| t),
            "last_outcome": self.last_outcome.map(|(_, o)| o.as_str()),
            "remembered": self.memory.len(),
            "volume": self.volume,
        })
        .to_string()
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Button { pressed: true } | Event::Control(ControlCommand::Press, _) => {
                self.press(now, &mut out)
            }
            Event::Button { pressed: false } | Event::Control(ControlCommand::Release, _) => {
                self.release(now, &mut out)
            }
            Event::Control(ControlCommand::Tap, _) => self.toggle(None, now, &mut out),
            Event::Control(ControlCommand::Cancel, _) => self.cancel(now, &mut out),
            Event::Volume(change) => self.change_volume(change, &mut out),
            Event::Announce(text) => self.announce(text, now, &mut out),
            Event::CaptureStarted { turn } => {
                if self.listening(turn).is_some() {
                    out.push(Action::Earcon(Earcon::Listening));
                }
            }
            Event::SpeechEnded { turn } => {
                if self.listening(turn).is_some_and(|detect_end| detect_end) {
                    self.stop_listening(Duration::ZERO, true, &mut out);
                }
            }
            Event::Captured { turn, result } => self.captured(turn, result, now, &mut out),
            Event::Transcribed { turn, result } => self.transcribed(turn, result, now, &mut out),
            Event::Replying { turn, text } => self.replying(turn, text, &mut out),
            Event::Answered { turn, result } => self.answered(turn, result, now, &mut out),
            Event::Spoken { turn, report } => self.spoken(turn, &report, now, &mut out),
            Event::Timer { turn, kind } => self.timer(turn, kind, now, &mut out),
        }
        out
    }

    /// The class's message in the language of the question (`stt.language` when set, else the
    /// last transcript's, else `tts.language`).
    fn message(&self, class: FailureClass) -> Option<String> {
        let s = &self.settings;
        class
            .message(&s.messages, self.lang(), &s.languages.latin)
            .map(str::to_string)
    }

    /// The language of the question: `stt.language` when set, else the last transcript's,
    /// else `tts.language`.
    fn lang(&self) -> &str {
        let s = &self.settings;
        s.stt_language
            .as_deref()
            .or(self.question_lang.as_deref())
            .unwrap_or(&s.languages.latin)
    }

    /// Speaks the class's message (the turn stays in Speaking until `Spoken`), or ends quietly
    /// for a class that has no message.
    fn say_failure(
        &mut self,
        turn: Turn,
        class: FailureClass,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match self.message(class) {
            Some(text) => {
                let mut turn = turn;
                turn.cue = false; // the message's first sound ends it
                out.push(Action::Speak {
                    turn: turn.id,
                    text,
                });
                out.push(Action::Led(Led::Error));
                self.phase = Phase::Speaking {
                    turn,
                    speech: Speech::Notice(Outcome::Failed(class)),
                };
            }
            None => self.finish(turn, Outcome::Cancelled, Led::Idle, now, out),
        }
    }

    /// Stops whatever the current turn is doing and logs it with `outcome`; the phase becomes
    /// Idle but no LED or timer is sent (the caller either goes idle or starts a new turn).
    fn abandon(&mut self, outcome: Outcome, now: Instant, out: &mut Vec<Action>) {
        let turn = match self.take_phase() {
            Phase::Idle => return,
            Phase::Listening { turn, .. } => {
                out.push(Action::CancelCapture);
                turn
            }
            Phase::Transcribing { turn } => {
                out.push(Action::CancelTranscribe { turn: turn.id });
                turn
            }
            Phase::Thinking { turn, .. } => {
                out.push(Action::CancelAsk { turn: turn.id });
                turn
            }
            Phase::Speaking { turn, speech } => {
                out.push(Action::StopSpeaking);
                match speech {
                    Speech::Reply { .. } | Speech::Announcement => {
                        let mut summary = turn.summary(outcome, now);
                        if let Speech::Reply {
                            question,
                            answer,
                            end,
                            tools,
                        } = speech
                        {
                            if end == ReplyEnd::Arriving {
                                out.push(Action::CancelAsk { turn: turn.id });
                            }
                            self.memory.remember(&question, &answer, tools);
                        } else {
                            summary.announcement = true;
                            // Stopping one announcement silences the ones waiting too.
                            self.announcements.clear();
                        }
                        // Log once the speaker reports how far it got.
                        if let Some(older) = self.draining.replace(summary) {
                            out.push(Action::LogTurn(older));
                        }
                        self.last_outcome = Some((turn.id, outcome));
                        return;
                    }
                    // Cutting a failure message short does not change what went wrong: the
                    // log keeps the failure ("unreachable"), not "interrupted".
                    Speech::Notice(failure) => {
                        return self.log(turn.summary(failure, now), out);
                    }
                }
            }
        };
        if turn.cue {
            out.push(Action::StopThinkingCue);
        }
        self.log(turn.summary(outcome, now), out);
    }

    fn finish(
        &mut self,
        turn: Turn,
        outcome: Outcome,
        led: Led,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if turn.cue {
            out.push(Action::StopThinkingCue);
        }
        self.log(turn.summary(outcome, now), out);
        self.go_idle(led, now, out);
    }

    fn log(&mut self, summary: TurnSummary, out: &mut Vec<Action>) {
        self.last_outcome = Some((summary.turn_id, summary.outcome));
        out.push(Action::LogTurn(summary));
    }

    /// Idle, with the LED set and, if anything is remembered, a fresh idle-forget timer; or,
    /// when an announcement is waiting, speaking it.
    fn go_idle(&mut self, led: Led, now: Instant, out: &mut Vec<Action>) {
        self.phase = Phase::Idle;
        if let Some(text) = self.announcements.pop_front() {
            return self.start_announcement(text, now, out);
        }
        out.push(Action::Led(led));
        if !self.memory.is_empty() {
            self.forget_generation += 1;
            out.push(Action::StartTimer {
                turn: self.forget_generation,
                kind: TimerKind::ForgetConversation,
                after: self.settings.idle_forget,
            });
        }
    }

    fn take_phase(&mut self) -> Phase {
        std::mem::replace(&mut self.phase, Phase::Idle)
    }
}
