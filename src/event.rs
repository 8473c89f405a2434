//! The one closed set of events the daemon loop reacts to, and the plain data they carry.
//!
//! Device actors post these from their own threads; `machine` turns them into actions.
//! Types here are plain data so the pure core depends on no device crate.

use std::time::Duration;

use crate::audio::Clip;

/// Numbers one press-to-silence cycle; late results of an abandoned turn are recognised by it.
pub type TurnId = u64;

/// Sending half of the daemon's event channel; device threads post through it without blocking.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<Event>;
pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<Event>;

#[derive(Debug)]
pub enum Event {
    /// A debounced GPIO edge; `pressed` is the logical state (active-low already applied).
    Button { pressed: bool },
    /// A control-socket command (the same gestures a finger makes, plus cancel). The loop
    /// answers the `Reply`, if any, with what became of it before the machine sees the event.
    Control(ControlCommand, Option<Reply>),
    /// `ctl volume N|up|down`, or a volume button.
    Volume(VolumeChange),
    /// `ctl say TEXT`: an announcement to speak when the box is idle.
    Announce(String),
    /// The capture stream delivered its first frame for this turn.
    CaptureStarted { turn: TurnId },
    /// Toggle mode: the end-of-speech detector heard enough silence after speech.
    SpeechEnded { turn: TurnId },
    /// Capture finished (post-roll included) or failed to open the device.
    Captured {
        turn: TurnId,
        result: Result<Recording, Failure>,
    },
    /// The transcription finished (hook or server).
    Transcribed {
        turn: TurnId,
        result: Result<Transcript, Failure>,
    },
    /// A piece of a streamed reply arrived (its request is still open); `Answered` follows.
    Replying { turn: TurnId, text: String },
    /// The Ollama request finished (after its retries).
    Answered {
        turn: TurnId,
        result: Result<Answer, Failure>,
    },
    /// Playback of a reply (or of a spoken error) ended, was stopped, or failed.
    Spoken { turn: TurnId, report: SpeechReport },
    /// A one-shot timer the machine asked for fired.
    Timer { turn: TurnId, kind: TimerKind },
}

/// Where the loop tells a control-socket client what became of its command: `Err(why)` when
/// the machine ignored it.
pub type Reply = tokio::sync::oneshot::Sender<Result<(), String>>;

impl Event {
    /// A control-socket command whose client waits for no answer.
    pub fn control(command: ControlCommand) -> Event {
        Event::Control(command, None)
    }

    /// Takes a control command's reply channel out, so the event can go to the machine.
    pub fn take_reply(&mut self) -> Option<Reply> {
        match self {
            Event::Control(_, reply) => reply.take(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlCommand {
    Press,
    Release,
    /// A press and release in one: start (or stop) listening in either button mode.
    Tap,
    Cancel,
}

/// How the everyday volume (a percent of `audio.volume`) changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeChange {
    /// Set it to this percent (0..=100; more is taken as 100).
    Set(u8),
    /// One step up or down (a button press, `ctl volume up|down`).
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// The button has been held for `button.long_press_ms`.
    LongPress,
    /// The recording reached `audio.max_record_s`.
    MaxRecord,
    /// `conversation.idle_forget_s` passed since the last turn.
    ForgetConversation,
    /// `audio.thinking_cue_ms` passed since the question was recorded.
    ThinkingCue,
}

/// A finished recording, resampled to 16 kHz mono.
#[derive(Debug, Clone)]
pub struct Recording {
    pub clip: Clip,
    /// Length of the recording, counted in captured samples (equal to wall time on a real
    /// device; correct on the unpaced test device too).
    pub record_ms: u64,
    /// Whether any stretch rose above `audio.speech_threshold`.
    pub has_speech: bool,
    /// Input overruns counted by the real-time callback.
    pub overruns: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    pub stt_ms: u64,
}

/// A reply from Ollama, ready to speak.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    pub attempts: u32,
    pub ollama_ms: u64,
    pub model: String,
    pub done_reason: Option<String>,
    /// The tool calls the question led to, in order, and what came of each.
    pub tools: Vec<ToolUse>,
}

/// One tool call a question made and its result, compact: remembered with the exchange so a
/// follow-up ("cancel that timer") knows what was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolUse {
    pub name: String,
    /// The checked arguments as compact JSON (bounded: a huge one is not kept).
    pub arguments: String,
    /// What the tool answered (`error: ...` when it refused), bounded.
    pub result: String,
}

/// How a turn's speech went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeechReport {
    pub sentences: usize,
    /// Sentences whose synthesis failed or timed out (skipped).
    pub failed: usize,
    /// Reply handed over → first sample given to the device.
    pub first_audio_ms: Option<u64>,
    /// TTS time (hook or server) for the first sentence.
    pub tts_first_ms: Option<u64>,
    pub total_ms: u64,
    /// Stopped early by `stop` (barge-in, cancel, shutdown).
    pub stopped: bool,
    /// The output device could not be opened.
    pub device_error: Option<String>,
}

impl SpeechReport {
    /// There was something to say and TTS (hook or server) failed for every sentence of it, so
    /// nothing was heard (the one definition the machine and the CLI commands share).
    pub fn every_sentence_failed(&self) -> bool {
        self.sentences > 0 && self.failed >= self.sentences
    }
}

/// What went wrong, in the classes a user hears (each has a `messages.*` sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    Unreachable,
    ProxyError,
    TooSlow,
    ModelMissing,
    Rejected,
    Unauthorized,
    BadReply,
    DidntCatch,
    SttFailed,
    AudioFailed,
    /// A streamed reply broke off after part of it was handed on to be spoken.
    CutOff,
    Cancelled,
}

impl FailureClass {
    /// The name used in logs (`outcome=...`) and in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::ProxyError => "proxy_error",
            Self::TooSlow => "too_slow",
            Self::ModelMissing => "model_missing",
            Self::Rejected => "rejected",
            Self::Unauthorized => "unauthorized",
            Self::BadReply => "bad_reply",
            Self::DidntCatch => "didnt_catch",
            Self::SttFailed => "stt_failed",
            Self::AudioFailed => "audio_failed",
            Self::CutOff => "cut_off",
            Self::Cancelled => "cancelled",
        }
    }

    /// The sentence the box speaks for this class in `lang` (else in `fallback`, else in
    /// English); `None`: stay quiet, e.g. after a user's cancel.
    pub fn message<'a>(
        self,
        m: &'a crate::config::Messages,
        lang: &str,
        fallback: &str,
    ) -> Option<&'a str> {
        match self {
            Self::Cancelled => None,
            class => Some(m.get(class.as_str(), lang, fallback)),
        }
    }
}

/// A failure with its class and a one-line, actionable message for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
}

impl Failure {
    /// The message often quotes a hook's stderr or a server's words: control characters in it
    /// are escaped (`\n`, `\u{1b}`), so it is one line, safe for the log and the terminal.
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match crate::printable::escaped(&message) {
            std::borrow::Cow::Borrowed(_) => message,
            std::borrow::Cow::Owned(escaped) => escaped,
        };
        Self { class, message }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Milliseconds of a duration, saturating, for log fields.
pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
