//! The button side of the machine: press, release, tap, cancel, long press and the recording
//! limits (the rules are listed in `mod.rs`).

use std::time::{Duration, Instant};

use super::{Action, Earcon, Led, Machine, Outcome, Phase, Press, Turn};
use crate::config::ButtonMode;
use crate::event::{TimerKind, TurnId};

impl Machine {
    /// `Some(detect_end)` when recording `turn` and not yet stopping.
    pub(super) fn listening(&self, id: TurnId) -> Option<bool> {
        match &self.phase {
            Phase::Listening {
                turn,
                detect_end,
                stopping: None,
                ..
            } if turn.id == id => Some(*detect_end),
            _ => None,
        }
    }

    pub(super) fn press(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(held) = &self.button {
            // A second press without a release (`ctl press` twice): no new gesture...
            if now.saturating_duration_since(held.at) < self.settings.max_record {
                out.push(Action::Ignored(
                    "press ignored: a press is already held; send release (a press held longer than audio.max_record_s ends by itself at the next press)",
                ));
                return;
            }
            // ...unless the held one is older than any recording may last: its release was
            // lost (a crashed script), and it must not make the button dead for good.
            self.release(now, out);
        }
        self.last_press += 1;
        let id = self.last_press;
        self.button = Some(Press {
            id,
            at: now,
            consumed: false,
        });
        match self.settings.mode {
            ButtonMode::Hold => self.hold_press(id, now, out),
            ButtonMode::Toggle => {
                out.push(Action::StartTimer {
                    turn: id,
                    kind: TimerKind::LongPress,
                    after: self.settings.long_press,
                });
                self.toggle(Some(id), now, out);
            }
        }
    }

    pub(super) fn hold_press(&mut self, id: u64, now: Instant, out: &mut Vec<Action>) {
        match &self.phase {
            Phase::Idle => self.begin_listening(Some(id), false, now, out),
            // Push-to-talk takes over an open follow-up window: a new, held turn.
            Phase::Listening {
                turn,
                stopping: None,
                ..
            } if turn.follow_up => {
                self.abandon(Outcome::NoFollowUp, now, out);
                self.begin_listening(Some(id), false, now, out);
            }
            // Listening that no held press controls (a tap started it): this press stops it.
            Phase::Listening { stopping: None, .. } => {
                self.consume_press();
                self.stop_listening(Duration::ZERO, false, out);
            }
            Phase::Speaking { .. } => {
                self.abandon(Outcome::Interrupted, now, out);
                self.begin_listening(Some(id), false, now, out);
            }
            Phase::Listening { .. } | Phase::Transcribing { .. } | Phase::Thinking { .. } => {
                self.abandon(Outcome::Abandoned, now, out);
                self.begin_listening(Some(id), false, now, out);
            }
        }
    }

    /// The toggle gesture: a toggle-mode press (`press` = its id) or a tap (`None`).
    pub(super) fn toggle(&mut self, press: Option<u64>, now: Instant, out: &mut Vec<Action>) {
        match &self.phase {
            Phase::Idle => self.begin_listening(press, true, now, out),
            Phase::Listening { stopping: None, .. } => {
                self.consume_press();
                self.stop_listening(Duration::ZERO, false, out);
            }
            Phase::Listening { .. } => out.push(Action::Ignored(
                "tap ignored: the recording is already stopping; its result is on its way",
            )),
            Phase::Transcribing { .. } | Phase::Thinking { .. } => {
                self.consume_press();
                self.abandon(Outcome::Abandoned, now, out);
                out.push(Action::Earcon(Earcon::Stopped));
                self.go_idle(Led::Idle, now, out);
            }
            Phase::Speaking { .. } => {
                // The sudden silence is the acknowledgement; no earcon on top.
                self.consume_press();
                self.abandon(Outcome::Interrupted, now, out);
                self.go_idle(Led::Idle, now, out);
            }
        }
    }

    pub(super) fn consume_press(&mut self) {
        if let Some(p) = &mut self.button {
            p.consumed = true;
        }
    }

    pub(super) fn release(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(press) = self.button.take() else {
            out.push(Action::Ignored("release ignored: no press is held"));
            return;
        };
        if press.consumed {
            return;
        }
        let Phase::Listening {
            held_by: Some(id),
            stopping: None,
            ..
        } = &self.phase
        else {
            return;
        };
        if *id != press.id {
            return;
        }
        let held = now.saturating_duration_since(press.at);
        if held < self.settings.min_press {
            out.push(Action::CancelCapture);
            if let Phase::Listening { turn, .. } = self.take_phase() {
                self.finish(turn, Outcome::Glitch, Led::Idle, now, out);
            }
        } else if self.settings.mode == ButtonMode::Hold {
            self.stop_listening(held, false, out);
        }
        // Toggle mode: a normal release; listening goes on until the next press or a pause.
    }

    pub(super) fn cancel(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.consume_press();
        // Quiet means quiet: announcements waiting are dropped too.
        self.announcements.clear();
        if matches!(self.phase, Phase::Idle) {
            return;
        }
        self.abandon(Outcome::Cancelled, now, out);
        self.go_idle(Led::Idle, now, out);
    }

    /// Opens the microphone for a new turn. `follow_up`: no press opened it, so it ends on
    /// its own when no speech begins within the follow-up window.
    pub(super) fn begin_listening(
        &mut self,
        held_by: Option<u64>,
        detect_end: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.open_microphone(held_by, detect_end, false, now, out);
    }

    pub(super) fn open_microphone(
        &mut self,
        held_by: Option<u64>,
        detect_end: bool,
        follow_up: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.last_turn += 1;
        let id = self.last_turn;
        out.push(Action::StartCapture {
            turn: id,
            detect_end,
            speech_within: follow_up.then_some(self.settings.follow_up),
        });
        if self.settings.warm_up {
            // A question is on its way: have the model loaded while the user speaks.
            out.push(Action::LoadModel);
        }
        out.push(Action::StartTimer {
            turn: id,
            kind: TimerKind::MaxRecord,
            after: self.settings.max_record,
        });
        out.push(Action::Led(Led::Listening));
        let mut turn = Turn::new(id, now);
        turn.follow_up = follow_up;
        self.phase = Phase::Listening {
            turn,
            held_by,
            detect_end,
            stopping: None,
        };
    }

    /// Sends StopCapture once; `by_box` (end of speech, time limit) adds the "stopped" earcon
    /// because the user did not do it themselves.
    pub(super) fn stop_listening(&mut self, held: Duration, by_box: bool, out: &mut Vec<Action>) {
        if let Phase::Listening { turn, stopping, .. } = &mut self.phase
            && stopping.is_none()
        {
            *stopping = Some(held);
            out.push(Action::StopCapture { turn: turn.id });
            if by_box {
                out.push(Action::Earcon(Earcon::Stopped));
            }
            out.push(Action::Led(Led::Thinking));
            let id = turn.id;
            self.arm_thinking_cue(id, out);
        }
    }

    pub(super) fn timer(
        &mut self,
        id: TurnId,
        kind: TimerKind,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match kind {
            TimerKind::LongPress => {
                let Some(press) = &mut self.button else {
                    return;
                };
                // Fires even if this press already did something (e.g. abandoned a turn in
                // toggle mode): the forget part of the gesture still applies.
                if press.id != id {
                    return;
                }
                press.consumed = true;
                self.announcements.clear();
                self.abandon(Outcome::Cancelled, now, out);
                self.memory.forget();
                self.forget_generation += 1; // a pending idle timer has nothing left to do
                out.push(Action::ForgetConversation);
                out.push(Action::Earcon(Earcon::Stopped));
                self.go_idle(Led::Idle, now, out);
            }
            TimerKind::MaxRecord => {
                if self.listening(id).is_some() {
                    let held = match (&self.phase, &self.button) {
                        (Phase::Listening { held_by, .. }, Some(p)) if *held_by == Some(p.id) => {
                            now.saturating_duration_since(p.at)
                        }
                        _ => Duration::ZERO,
                    };
                    self.stop_listening(held, true, out);
                }
            }
            TimerKind::ThinkingCue => self.thinking_cue(id, out),
            TimerKind::ForgetConversation => {
                if id == self.forget_generation
                    && matches!(self.phase, Phase::Idle)
                    && !self.memory.is_empty()
                {
                    self.memory.forget();
                    out.push(Action::ForgetConversation);
                }
            }
        }
    }
}
