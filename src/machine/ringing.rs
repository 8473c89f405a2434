//! The ringing side of the machine: a user's timer or alarm that fell due. The rules (each is a
//! row in `tests/ringing.rs`):
//!
//! - A due timer rings at once when the box is idle: the alarm earcon, then what it says in the
//!   language it was set in (`timer_label` with its label, else `timer_up`; after a restart, a
//!   timer missed while the box was off is first said as missed, `timer_missed`). Timers due
//!   together ring together, each said in turn; one due while another rings joins it.
//! - It rings again after a short pause (`RING_PAUSE`) each time its words end, until `ring`
//!   (`tools.ring_s`) has passed since it began; then the box is idle again (`rang_out`).
//! - Any press (the button, `ctl press`, `tap`) stops the ringing and starts nothing: its
//!   release and its long press do nothing either. `cancel` stops it too. Either drops the
//!   announcements waiting (quiet means quiet).
//! - A timer that falls due during a turn (listening, thinking, a reply, a follow-up window, an
//!   announcement) waits, never lost: it rings as soon as the box is idle, before any
//!   announcement waiting, and a reply heard to the end opens no follow-up window while one
//!   waits. A cancel or press that ends the turn does not drop it.
//! - A volume step while ringing does not beep (the ring is the sound to judge it by).
//! - A timer about to fall due (`tools.ring_ready_s` before, posted by the loop) gets the speaker ready: its output
//!   opened and held until past the due time, so the chime is heard on time even where
//!   opening the output takes seconds. Nothing is heard and the state does not change.

use std::time::{Duration, Instant};

use super::{Action, Earcon, Led, Machine, Phase, Settings, Turn};
use crate::event::{Due, SpeechReport, TimerId, TurnId};

/// The pause between the end of one ring's words and the next chime.
pub const RING_PAUSE: Duration = Duration::from_secs(2);

/// How long the readied output stays open past the due time if the ring has not played by then
/// (it waits for a turn to end, say): its own linger takes over once it plays.
pub const RING_READY_HOLD: Duration = Duration::from_secs(5);

/// A ring in progress.
#[derive(Debug)]
pub(super) struct Ringing {
    /// What it says each time (all the timers due together).
    pub text: String,
    /// When it stops ringing by itself.
    pub until: Instant,
    /// How many times it has rung.
    pub rings: u32,
}

impl Machine {
    /// `Event::TimerDue`: rings now if idle, else when the box is next idle.
    pub(super) fn timer_due(&mut self, due: Due, now: Instant, out: &mut Vec<Action>) {
        match &mut self.phase {
            // Joins the ring in progress: said from the next ring on, for a full `ring` more.
            Phase::Ringing { ringing, .. } => {
                ringing.text.push(' ');
                ringing.text.push_str(&ring_words(&self.settings, &due));
                ringing.until = now + self.settings.ring;
            }
            Phase::Idle => {
                self.rings.push_back(due);
                self.start_ringing(now, out);
            }
            _ => self.rings.push_back(due),
        }
    }

    /// `Event::TimerSoon`: a timer falls due in `left`; get the speaker ready for it, whatever
    /// the box is doing (during a turn the output is open anyway; the hold keeps it so).
    pub(super) fn timer_soon(&mut self, left: Duration, out: &mut Vec<Action>) {
        out.push(Action::ReadySpeaker {
            hold: left + RING_READY_HOLD,
        });
    }

    /// Rings every timer waiting, as one ring.
    pub(super) fn start_ringing(&mut self, now: Instant, out: &mut Vec<Action>) {
        let settings = &self.settings;
        let text: Vec<String> = self
            .rings
            .drain(..)
            .map(|d| ring_words(settings, &d))
            .collect();
        self.last_turn += 1;
        let turn = Turn::new(self.last_turn, now);
        let ringing = Ringing {
            text: text.join(" "),
            until: now + self.settings.ring,
            rings: 0,
        };
        self.phase = Phase::Ringing { turn, ringing };
        self.ring_once(out);
        out.push(Action::Led(Led::Speaking));
    }

    fn ring_once(&mut self, out: &mut Vec<Action>) {
        if let Phase::Ringing { turn, ringing } = &mut self.phase {
            ringing.rings += 1;
            out.push(Action::Earcon(Earcon::Alarm));
            out.push(Action::Speak {
                turn: turn.id,
                text: ringing.text.clone(),
            });
        }
    }

    /// The ring's words were said: pause and ring again, or stop once `ring` has passed.
    pub(super) fn rang(
        &mut self,
        id: TurnId,
        _report: &SpeechReport,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Phase::Ringing { turn, ringing } = &self.phase else {
            return;
        };
        if turn.id != id {
            return;
        }
        if now + RING_PAUSE < ringing.until {
            out.push(Action::StartTimer {
                timer: TimerId::Ring(id),
                after: RING_PAUSE,
            });
        } else {
            let rings = ringing.rings;
            self.phase = Phase::Idle;
            out.push(Action::RingEnded {
                how: "rang_out",
                rings,
            });
            self.go_idle(Led::Idle, now, out);
        }
    }

    /// The pause after a ring ended: ring again if still ringing.
    pub(super) fn ring_again(&mut self, id: TurnId, out: &mut Vec<Action>) {
        if matches!(&self.phase, Phase::Ringing { turn, .. } if turn.id == id) {
            self.ring_once(out);
        }
    }

    pub(super) fn ringing(&self) -> bool {
        matches!(self.phase, Phase::Ringing { .. })
    }

    /// A press, tap or cancel silences the ringing; nothing else happens. Idle afterwards
    /// (or ringing the next timers, if more fell due meanwhile).
    pub(super) fn silence(&mut self, how: &'static str, now: Instant, out: &mut Vec<Action>) {
        if let Phase::Ringing { ringing, .. } = self.take_phase() {
            // Quiet means quiet: what waited to be announced goes too.
            self.announcements.clear();
            out.push(Action::StopSpeaking);
            out.push(Action::RingEnded {
                how,
                rings: ringing.rings,
            });
            self.go_idle(Led::Idle, now, out);
        }
    }
}

/// What one due timer says, in its language.
fn ring_words(settings: &Settings, due: &Due) -> String {
    let m = &settings.messages;
    let fallback = &settings.languages.latin;
    let said = match &due.label {
        Some(label) => m
            .get("timer_label", &due.lang, fallback)
            .replace("{label}", label),
        None => m.get("timer_up", &due.lang, fallback).to_string(),
    };
    match &due.missed {
        Some(time) => {
            let missed = m
                .get("timer_missed", &due.lang, fallback)
                .replace("{time}", time);
            format!("{missed} {said}")
        }
        None => said,
    }
}
