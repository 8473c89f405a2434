//! What the pure core asks the app to do, and the per-turn summary it hands over for the log.

use std::time::Duration;

use crate::event::{FailureClass, Recording, TimerKind, ToolUse, TurnId};

/// A short sound (`audio::earcons` makes each one; the thinking cue is its own action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earcon {
    /// The microphone is open: speak now.
    Listening,
    /// Recording stopped by the box (end of speech, time limit), or a gesture took effect.
    Stopped,
    /// Speech output itself failed, so no spoken message can explain it.
    Error,
    /// A volume step: a short beep at the new level.
    Volume,
}

/// The status LED (the button drives it as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Led {
    Idle,
    Listening,
    Thinking,
    Speaking,
    Error,
}

/// One remembered question and its answer, oldest first in `Action::Ask::history`.
/// The app turns each into a user and an assistant `ollama::Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub question: String,
    pub answer: String,
    /// The tool calls the question led to and their results.
    pub tools: Vec<ToolUse>,
}

/// Everything the machine can ask for. The app dispatches each to a device handle, in order.
#[derive(Debug)]
pub enum Action {
    /// Open the input and record for `turn`; `detect_end` turns on the end-of-speech detector
    /// (toggle mode and taps: nobody holds the button to mark the end). `speech_within`: a
    /// follow-up window; when no speech has begun after that much audio, the recording ends.
    StartCapture {
        turn: TurnId,
        detect_end: bool,
        speech_within: Option<Duration>,
    },
    /// Stop recording after the post-roll; capture then posts `Captured`.
    StopCapture {
        turn: TurnId,
    },
    /// Drop the recording in progress without posting anything.
    CancelCapture,
    /// Transcribe the recording (hook or server); posts `Transcribed`.
    Transcribe {
        turn: TurnId,
        recording: Recording,
    },
    /// Stop the transcription of `turn` if it still runs: kill the hook, hang up on the server
    /// (its late result is ignored anyway).
    CancelTranscribe {
        turn: TurnId,
    },
    /// Ask Ollama, with the remembered exchanges; posts `Answered`.
    Ask {
        turn: TurnId,
        question: String,
        history: Vec<Exchange>,
        /// The question's language (as its failure messages'): the time context and the
        /// timers it sets are in it.
        lang: String,
    },
    /// Cancel the Ollama request of `turn` (its late answer is ignored anyway).
    CancelAsk {
        turn: TurnId,
    },
    /// Speak a reply or a failure message sentence by sentence; posts `Spoken`.
    Speak {
        turn: TurnId,
        text: String,
    },
    /// Speak the next piece of a reply that is still arriving (the first piece starts it);
    /// sentences are spoken as they are complete. `EndSpeech` follows the last piece.
    SpeakPart {
        turn: TurnId,
        text: String,
    },
    /// No more pieces for `turn`: speak what is left, then `tail` (the cut-off message);
    /// posts `Spoken` when done.
    EndSpeech {
        turn: TurnId,
        tail: Option<String>,
    },
    /// Silence now, drop the queue, kill in-flight TTS.
    StopSpeaking,
    Earcon(Earcon),
    /// Have the model loaded while the user speaks (a question is on its way). The client
    /// does it in the background, or not at all while a request of its own runs.
    LoadModel,
    /// Repeat the soft thinking cue until the next sound of any kind (the reply's first audio,
    /// a failure message, an earcon) or `StopThinkingCue`.
    StartThinkingCue,
    StopThinkingCue,
    /// The everyday volume is now this percent: apply it and keep it for the next start.
    SetVolume(u8),
    /// A one-shot timer: after `after`, post `Event::Timer { turn, kind }`. There is no cancel:
    /// the machine ignores timers whose id is no longer current. `turn` is the id space of
    /// `kind`: the turn for `MaxRecord`, the press for `LongPress`, the memory generation for
    /// `ForgetConversation`.
    StartTimer {
        turn: TurnId,
        kind: TimerKind,
        after: Duration,
    },
    Led(Led),
    /// Log the per-turn summary (INFO, journald fields without prefix).
    LogTurn(TurnSummary),
    /// The conversation memory was cleared (idle timeout or long press); log it.
    ForgetConversation,
    /// The gesture did nothing, for this reason: logged, and the control socket's answer.
    Ignored(&'static str),
    /// Why a turn failed when the machine itself decided it (no speech heard, an empty reply):
    /// logged once at WARN, like a stage's failure.
    Warn(String),
    /// Too many announcements were waiting; this one (`chars` long) was dropped. Log it.
    AnnouncementDropped {
        chars: usize,
    },
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The reply was spoken to the end.
    Answered,
    /// A stage failed; the class's message was spoken.
    Failed(FailureClass),
    /// The reply or message could not be spoken (TTS, hook or server, or the output device failed).
    SpeechFailed,
    /// A press shorter than `button.min_press_ms`: ignored.
    Glitch,
    /// `cancel`, or a long press.
    Cancelled,
    /// A new press while transcribing or thinking dropped the turn.
    Abandoned,
    /// A press while speaking stopped the reply (barge-in).
    Interrupted,
    /// Hold mode: a long, silent hold, the push-to-talk way of saying "forget the conversation".
    Forgotten,
    /// An announcement (`ctl say`) was spoken to the end.
    Announced,
    /// A follow-up window closed with nothing said (or a press took over): no turn happened.
    NoFollowUp,
}

impl Outcome {
    /// The `outcome=` value in logs and in the control socket's `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Failed(class) => class.as_str(),
            Self::SpeechFailed => "speech_failed",
            Self::Glitch => "glitch",
            Self::Cancelled => "cancelled",
            Self::Abandoned => "abandoned",
            Self::Interrupted => "interrupted",
            Self::Forgotten => "forgotten",
            Self::Announced => "announced",
            Self::NoFollowUp => "no_follow_up",
        }
    }
}

/// The per-turn log line. Stage figures are `None` when the turn never reached that stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnSummary {
    pub turn_id: TurnId,
    /// An announcement (`ctl say`), not a question: logged as "announcement".
    pub announcement: bool,
    pub outcome: Outcome,
    pub record_ms: Option<u64>,
    pub stt_ms: Option<u64>,
    pub ollama_ms: Option<u64>,
    /// Reply handed to the speaker → first sample played.
    pub first_audio_ms: Option<u64>,
    /// Press → end of the turn.
    pub total_ms: u64,
    pub transcript_chars: usize,
    pub response_chars: usize,
    pub sentences: usize,
    pub attempts: u32,
}
