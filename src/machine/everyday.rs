//! The everyday side of the machine: volume, announcements, the thinking cue and when a reply
//! opens a follow-up. The rules (each is a row in `tests/it/everyday.rs`):
//!
//! - Follow-up: a reply heard to the end that ends with a question (`question.rs`) opens the
//!   microphone again without a press, with the listening earcon and LED, ending on a pause as in
//!   toggle mode; memory continues. If nobody starts speaking within `follow_up` (or only noise
//!   too short or too unclear to transcribe was heard), it ends quietly (`no_follow_up`, no
//!   "didn't catch that"). A statement, an interrupted reply, or a waiting announcement never
//!   reopens it. A press or tap in the window is any press (hold mode: a new push-to-talk turn
//!   takes over the open microphone). After `max_follow_ups` follow-ups in a row (counted from
//!   the press that began the chain) a reply that asks does not reopen it: the box goes back to
//!   idle quietly, and a press starts a new chain.
//! - Thinking cue: `thinking_cue` after the question was recorded (release, end of speech, time
//!   limit), if nothing is being said yet, a soft cue repeats until the next sound (the reply's
//!   first audio or a failure message end it in the speaker), or until the turn ends silently.
//! - Volume: a percent of `audio.volume`, 0..=100 in steps of 10 for up/down; a step beeps at the
//!   new level unless the microphone is open (the beep would be recorded) or a reply plays (the
//!   voice itself is the confirmation). Setting a number (`ctl volume 40`) is silent: scripts.
//! - Announcements (`ctl say`): spoken at once when idle, otherwise when the box is next idle,
//!   in order (at most 8 wait; more are dropped and logged). A press or tap stops an
//!   announcement like a reply; stopping one, `cancel` and the long press drop the ones waiting
//!   (quiet means quiet). Logged as "announcement" (length, never text); not remembered in the
//!   conversation, never followed by a follow-up window.

use std::time::Instant;

use super::{Action, Earcon, Led, Machine, Phase, Speech, Turn};
use crate::event::{TimerId, TurnId, VolumeChange};
use crate::text::question;

/// Percent per volume step: ten steps from silent to full.
pub const VOLUME_STEP: u8 = 10;
/// Announcements that may wait for the box to be idle; each is at most a control line.
pub const MAX_WAITING_ANNOUNCEMENTS: usize = 8;

impl Machine {
    pub(super) fn change_volume(&mut self, change: VolumeChange, out: &mut Vec<Action>) {
        let old = self.volume;
        let new = match change {
            VolumeChange::Set(percent) => percent.min(100),
            // Steps land on multiples of the step, so 45 goes up to 50 and down to 40.
            VolumeChange::Up => ((old / VOLUME_STEP + 1) * VOLUME_STEP).min(100),
            VolumeChange::Down => old.div_ceil(VOLUME_STEP).saturating_sub(1) * VOLUME_STEP,
        };
        if new != old {
            self.volume = new;
            out.push(Action::SetVolume(new));
        }
        let step = !matches!(change, VolumeChange::Set(_));
        let quiet = matches!(
            self.phase,
            Phase::Listening { .. } | Phase::Speaking { .. } | Phase::Ringing { .. }
        );
        if step && !quiet {
            // Also at the limit: the beep says "this is as loud (or soft) as it goes".
            out.push(Action::Earcon(Earcon::Volume));
        }
    }

    pub(super) fn announce(&mut self, text: String, now: Instant, out: &mut Vec<Action>) {
        if matches!(self.phase, Phase::Idle) {
            return self.start_announcement(text, now, out);
        }
        if self.announcements.len() >= MAX_WAITING_ANNOUNCEMENTS {
            out.push(Action::AnnouncementDropped {
                chars: text.chars().count(),
            });
            return;
        }
        self.announcements.push_back(text);
    }

    /// Speaks an announcement as a turn of its own (its id keeps its `Spoken` apart).
    pub(super) fn start_announcement(&mut self, text: String, now: Instant, out: &mut Vec<Action>) {
        self.last_turn += 1;
        let mut turn = Turn::new(self.last_turn, now);
        turn.response_chars = text.chars().count();
        out.push(Action::Speak {
            turn: turn.id,
            text,
        });
        out.push(Action::Led(Led::Speaking));
        self.phase = Phase::Speaking {
            turn,
            speech: Speech::Announcement,
        };
    }

    /// Arms the thinking cue for a question that was just recorded.
    pub(super) fn arm_thinking_cue(&self, id: TurnId, out: &mut Vec<Action>) {
        if !self.settings.thinking_cue.is_zero() {
            out.push(Action::StartTimer {
                timer: TimerId::ThinkingCue(id),
                after: self.settings.thinking_cue,
            });
        }
    }

    /// The cue's timer fired: start it if turn `id` is still waiting with nothing to hear.
    pub(super) fn thinking_cue(&mut self, id: TurnId, out: &mut Vec<Action>) {
        let turn = match &mut self.phase {
            Phase::Listening {
                turn,
                stopping: Some(_),
                ..
            }
            | Phase::Transcribing { turn }
            | Phase::Thinking { turn, .. } => turn,
            _ => return,
        };
        if turn.id == id && !turn.cue {
            turn.cue = true;
            out.push(Action::StartThinkingCue);
        }
    }

    /// Whether the reply `answer`, heard to the end, opens a follow-up window: not after
    /// `max_follow_ups` in a row (the box then goes back to idle quietly).
    pub(super) fn follows_up(&self, answer: &str) -> bool {
        !self.settings.follow_up.is_zero()
            && self.follow_ups < self.settings.max_follow_ups
            && self.announcements.is_empty()
            && self.rings.is_empty()
            && question::asks(answer)
    }
}
