//! The turn in progress: its id, when it started, and the figures its summary reports.

use std::time::Instant;

use super::{Outcome, TurnSummary};
use crate::event::TurnId;

/// The figures of the turn in progress, collected for its summary.
#[derive(Debug)]
pub(super) struct Turn {
    pub(super) id: TurnId,
    pub(super) started: Instant,
    pub(super) record_ms: Option<u64>,
    pub(super) stt_ms: Option<u64>,
    pub(super) ollama_ms: Option<u64>,
    pub(super) transcript_chars: usize,
    pub(super) response_chars: usize,
    pub(super) attempts: u32,
    /// Opened by a reply's question, not by a press.
    pub(super) follow_up: bool,
    /// The thinking cue is playing for this turn (and the speaker has not taken it over).
    pub(super) cue: bool,
}

impl Turn {
    pub(super) fn new(id: TurnId, now: Instant) -> Turn {
        Turn {
            id,
            started: now,
            record_ms: None,
            stt_ms: None,
            ollama_ms: None,
            transcript_chars: 0,
            response_chars: 0,
            attempts: 0,
            follow_up: false,
            cue: false,
        }
    }

    pub(super) fn summary(&self, outcome: Outcome, now: Instant) -> TurnSummary {
        TurnSummary {
            turn_id: self.id,
            announcement: false,
            outcome,
            record_ms: self.record_ms,
            stt_ms: self.stt_ms,
            ollama_ms: self.ollama_ms,
            first_audio_ms: None,
            total_ms: crate::event::ms(now.saturating_duration_since(self.started)),
            transcript_chars: self.transcript_chars,
            response_chars: self.response_chars,
            sentences: 0,
            attempts: self.attempts,
        }
    }
}
