//! Table tests for the ringing rules (`machine/ringing.rs`): a user's timer that fell due.
//! Rows read as in `tests.rs`; `tools.ring_s` is the default 60 s.

use super::*;
use crate::machine::State::{Ringing, Thinking};

#[rustfmt::skip]
const RINGING: &[Row] = &[
    ("rings at once when idle, in its language", HOLD, r#"due(zh,"喝茶")@0"#, r#"earcon Alarm; speak 1 "时间到：喝茶。"; led Speaking"#, Ringing),
    ("no label: time's up", HOLD, "due(en)@0", r#"earcon Alarm; speak 1 "Time's up."; led Speaking"#, Ringing),
    ("Vietnamese", HOLD, r#"due(vi,"uống trà")@0"#, r#"earcon Alarm; speak 1 "Hết giờ: uống trà."; led Speaking"#, Ringing),
    ("a language without messages: tts.language's", HOLD, r#"due(de,"Tee")@0"#, r#"earcon Alarm; speak 1 "Time's up: Tee."; led Speaking"#, Ringing),
    ("missed while the box was off: said so first", HOLD, r#"due(zh,"喝茶",missed=07:00)@0"#, r#"earcon Alarm; speak 1 "我关机的时候，07:00 有一个提醒。 时间到：喝茶。"; led Speaking"#, Ringing),
    ("its words said: a pause, then again", HOLD, r#"due(en,"tea")@0 spoken(1)@2000"#, "timer Ring 1 2000", Ringing),
    ("the pause over: rings again", HOLD, r#"due(en,"tea")@0 spoken(1)@2000 timer(1,Ring)@4000"#, r#"earcon Alarm; speak 1 "Time's up: tea.""#, Ringing),
    ("stops by itself after ring_s", HOLD, r#"due(en,"tea")@0 spoken(1)@2000 timer(1,Ring)@4000 spoken(1)@58500"#, "ring_end rang_out 2; led Idle", Idle),
    ("a press silences it and starts nothing (hold)", HOLD, "due(en)@0 press@1000", "stop_speaking; ring_end pressed 1; led Idle", Idle),
    ("its release does nothing", HOLD, "due(en)@0 press@1000 release@1500", "", Idle),
    ("a press silences it and starts nothing (toggle: no long press)", TOGGLE, "due(en)@0 press@1000", "stop_speaking; ring_end pressed 1; led Idle", Idle),
    ("the next press talks again", HOLD, "due(en)@0 press@1000 release@1500 press@3000", "start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("ctl press silences it", HOLD, "due(en)@0 ctl-press@1000", "stop_speaking; ring_end pressed 1; led Idle", Idle),
    ("a tap silences it", HOLD, "due(en)@0 tap@1000", "stop_speaking; ring_end pressed 1; led Idle", Idle),
    ("cancel silences it", HOLD, "due(en)@0 cancel@1000", "stop_speaking; ring_end cancelled 1; led Idle", Idle),
    ("the silenced ring's late report is ignored", HOLD, "due(en)@0 press@1000 spoken(1,stopped)@1100", "", Idle),
    ("a stale pause is ignored", HOLD, "due(en)@0 spoken(1)@1500 press@2000 timer(1,Ring)@3500", "", Idle),
    ("one due while another rings joins it", HOLD, r#"due(en,"tea")@0 due(zh,"喝茶")@10 spoken(1)@2000 timer(1,Ring)@4000"#, r#"earcon Alarm; speak 1 "Time's up: tea. 时间到：喝茶。""#, Ringing),
    ("...and rings a full ring_s from when it joined", HOLD, r#"due(en,"tea")@0 spoken(1)@2000 due(en,"eggs")@50000 timer(1,Ring)@50100 spoken(1)@58500"#, "timer Ring 1 2000", Ringing),
    // Getting the speaker ready (tools.ring_ready_s before): held RING_READY_HOLD past the due time.
    ("due soon: the speaker readied, nothing heard", HOLD, "soon(5000)@0", "ready_speaker 10000", Idle),
    ("...then it rings as ever", HOLD, "soon(5000)@0 due(en)@5000", r#"earcon Alarm; speak 1 "Time's up."; led Speaking"#, Ringing),
    ("due soon while listening: readied, the turn goes on", HOLD, "press@0 soon(5000)@500", "ready_speaker 10000", Listening),
    ("due soon while thinking: readied", HOLD, "hold:thinking soon(3000)@3000", "ready_speaker 8000", Thinking),
    ("due soon while ringing: readied", HOLD, "due(en)@0 soon(5000)@100", "ready_speaker 10000", Ringing),
    ("no beep for a volume step while ringing", HOLD, "due(en)@0 volume-down@500", "volume 90", Ringing),
    ("an announcement waits for the ring", HOLD, r#"due(en)@0 say("Hi.")@500"#, "", Ringing),
    ("...and a press silences both", HOLD, r#"due(en)@0 say("Hi.")@500 press@1000"#, "stop_speaking; ring_end pressed 1; led Idle", Idle),
    // During a turn: never lost, rung as soon as the box is idle.
    ("due while thinking: waits", HOLD, r#"hold:thinking due(en,"tea")@3000"#, "", Thinking),
    ("due while listening: waits", HOLD, r#"press@0 due(en,"tea")@500"#, "", Listening),
    ("rings as soon as the reply ends", HOLD, r#"hold:speaking due(en,"tea")@5000 spoken(1)@6000"#, r#"log 1 answered; earcon Alarm; speak 2 "Time's up: tea."; led Speaking"#, Ringing),
    ("a reply that asks opens no follow-up while a ring waits", HOLD, r#"hold:thinking answered(1,"Shall I go on?")@4500 due(en)@5000 spoken(1)@6000"#, r#"log 1 answered; earcon Alarm; speak 2 "Time's up."; led Speaking"#, Ringing),
    ("rings before a waiting announcement", HOLD, r#"hold:speaking say("Hi.")@4900 due(en)@5000 spoken(1)@6000"#, r#"log 1 answered; earcon Alarm; speak 2 "Time's up."; led Speaking"#, Ringing),
    ("a tap that abandons the turn does not drop it", HOLD, "hold:thinking due(en)@3000 tap@3200", r#"cancel_ask 1; log 1 abandoned; earcon Stopped; earcon Alarm; speak 2 "Time's up."; led Speaking"#, Ringing),
    ("a cancel of the turn does not drop it", HOLD, "hold:thinking due(en)@3000 cancel@3200", r#"cancel_ask 1; log 1 cancelled; earcon Alarm; speak 2 "Time's up."; led Speaking"#, Ringing),
    ("a barge-in press: the new turn first, then it rings", HOLD, "hold:speaking due(en)@5000 press@5100", "stop_speaking; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("after an announcement", HOLD, r#"say("Hi.")@0 due(en)@100 spoken(1)@900"#, r#"announce 1 announced; earcon Alarm; speak 2 "Time's up."; led Speaking"#, Ringing),
];

#[test]
fn ringing() {
    check(RINGING);
}

#[test]
fn status_says_ringing() {
    let (m, _) = run(HOLD, "due(en)@0");
    assert_eq!(m.status()["state"], "ringing");
    assert_eq!(m.status()["turn"], 1);
}

#[test]
fn a_ring_lasts_ring_s_and_repeats_until_then() {
    let mut s = settings(HOLD);
    s.ring = Duration::from_secs(10);
    // Each ring's words take 1.5 s, then the 2 s pause: rings at 0, 3.5, 7 s; the third's
    // words end at 8.5 s, too late for another (8.5 + 2 >= 10).
    let (m, all) = run_with(
        s,
        "due(en)@0 spoken(1)@1500 timer(1,Ring)@3500 spoken(1)@5000 timer(1,Ring)@7000 spoken(1)@8500",
    );
    assert_eq!(shorts(all.last().unwrap()), "ring_end rang_out 3; led Idle");
    assert_eq!(m.state(), Idle);
}
