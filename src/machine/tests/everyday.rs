//! Table tests for the everyday rules (`machine/everyday.rs`): volume, announcements, the
//! follow-up window and the thinking cue. Rows read as in `tests.rs`.

use super::*;
use crate::machine::State::Thinking;

#[rustfmt::skip]
const VOLUME: &[Row] = &[
    ("setting a level is silent", HOLD, "volume(40)@0", "volume 40", Idle),
    ("setting the same level does nothing", HOLD, "volume(100)@0", "", Idle),
    ("more than 100 is 100", HOLD, "volume(40)@0 volume(250)@10", "volume 100", Idle),
    ("a step down beeps at the new level", HOLD, "volume-down@0", "volume 90; earcon Volume", Idle),
    ("a step up at the top still beeps", HOLD, "volume-up@0", "earcon Volume", Idle),
    ("a step down at zero still beeps", HOLD, "volume(0)@0 volume-down@10", "earcon Volume", Idle),
    ("steps land on multiples of ten (down)", HOLD, "volume(45)@0 volume-down@10", "volume 40; earcon Volume", Idle),
    ("steps land on multiples of ten (up)", HOLD, "volume(45)@0 volume-up@10", "volume 50; earcon Volume", Idle),
    ("no beep into the open microphone", HOLD, "volume(50)@0 press@10 volume-up@100", "volume 60", Listening),
    ("no beep over a reply: its voice is the confirmation", HOLD, "hold:speaking volume-down@5000", "volume 90", Speaking),
    ("a beep while thinking", HOLD, "hold:thinking volume-down@3000", "volume 90; earcon Volume", Thinking),
];

#[test]
fn volume() {
    check(VOLUME);
}

#[rustfmt::skip]
const ANNOUNCEMENTS: &[Row] = &[
    ("spoken at once when idle", HOLD, r#"say("Dinner is ready.")@0"#, r#"speak 1 "Dinner is ready."; led Speaking"#, Speaking),
    ("logged as an announcement when heard", HOLD, r#"say("Hi.")@0 spoken(1)@900"#, "announce 1 announced; led Idle", Idle),
    ("waits while a turn runs", HOLD, r#"hold:thinking say("Hi.")@3000"#, "", Thinking),
    ("spoken when the turn ends", HOLD, r#"hold:speaking say("Hi.")@5000 spoken(1)@6000"#, r#"log 1 answered; speak 2 "Hi."; led Speaking"#, Speaking),
    ("in order", HOLD, r#"hold:thinking say("A.")@3000 say("B.")@3100 answered(1,"Noon.")@4000 spoken(1)@5000 spoken(2)@6000"#, r#"announce 2 announced; speak 3 "B."; led Speaking"#, Speaking),
    ("a press stops it like a reply (hold)", HOLD, r#"say("Hi.")@0 press@500"#, "stop_speaking; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("a press stops it like a reply (toggle)", TOGGLE, r#"say("Hi.")@0 press@500"#, "timer LongPress 1 2000; stop_speaking; led Idle", Idle),
    ("a stopped one is logged with the speaker's report", HOLD, r#"say("Hi.")@0 press@500 spoken(1,stopped,sentences=2)@600"#, "announce 1 interrupted", Listening),
    ("stopping one drops the ones waiting", HOLD, r#"say("A.")@0 say("B.")@10 tap@20"#, "stop_speaking; led Idle", Idle),
    ("cancel drops the ones waiting", HOLD, r#"hold:thinking say("A.")@3000 cancel@3200"#, "cancel_ask 1; log 1 cancelled; led Idle", Idle),
    ("the long press drops the ones waiting", TOGGLE, r#"press@0 say("A.")@100 timer(1,LongPress)@2000"#, "cancel_capture; log 1 cancelled; forget; earcon Stopped; led Idle", Idle),
    ("unheard: the error earcon", HOLD, r#"say("Hi.")@0 spoken(1,sentences=2,failed=2)@900"#, "earcon Error; announce 1 speech_failed; led Error", Idle),
    ("nothing speakable: the error earcon", HOLD, r#"say("😊")@0 spoken(1,sentences=0)@900"#, "earcon Error; announce 1 speech_failed; led Error", Idle),
];

#[test]
fn announcements() {
    check(ANNOUNCEMENTS);
}

#[test]
fn waiting_announcements_are_bounded_and_never_remembered() {
    let mut steps = String::from("hold:thinking");
    for i in 0..=crate::machine::everyday::MAX_WAITING_ANNOUNCEMENTS {
        steps.push_str(&format!(r#" say("Number {i}.")@{}"#, 3000 + i));
    }
    let (m, all) = run(HOLD, &steps);
    assert_eq!(shorts(&all[all.len() - 2]), "");
    assert_eq!(
        shorts(&all[all.len() - 1]),
        "dropped 9",
        "the newest is dropped"
    );
    assert_eq!(
        m.announcements.len(),
        crate::machine::everyday::MAX_WAITING_ANNOUNCEMENTS
    );

    let (m, _) = run(HOLD, r#"say("Hi.")@0 spoken(1)@900"#);
    assert_eq!(m.memory.len(), 0);
}

/// Turn 1, from the press to the reply "Paris. Want to know more?" played to the end.
const QUESTION: &str = r#"press@0 release@1500 captured(1)@1800 transcribed(1,"capital of france")@2500 answered(1,"Paris. Want to know more?")@4500 spoken(1)@7000"#;

/// (name, steps after `QUESTION` in hold mode, actions of the last step, state after it)
#[rustfmt::skip]
const AFTER_A_QUESTION: &[(&str, &str, &str, State)] = &[
    ("a question reopens the microphone", "", "log 1 answered; start 2 detect within 5000; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("with the listening earcon", "started(2)@7050", "earcon Listening", Listening),
    ("nobody speaks: idle without a word", "started(2)@7050 captured(2,5s,silent)@12000", "log 2 no_follow_up; led Idle; timer ForgetConversation 1 300000", Idle),
    ("a click is not an answer either", "captured(2,0.2s)@8000", "log 2 no_follow_up; led Idle; timer ForgetConversation 1 300000", Idle),
    ("noise that transcribes to nothing", r#"speech-ended(2)@9000 captured(2)@9300 transcribed(2,"")@9800"#, "log 2 no_follow_up; led Idle; timer ForgetConversation 1 300000", Idle),
    ("speech ends on a pause, as in toggle mode", "speech-ended(2)@9000", "stop 2; earcon Stopped; led Thinking; timer ThinkingCue 2 1500", Listening),
    ("the memory continues", r#"speech-ended(2)@9000 captured(2)@9300 transcribed(2,"yes please")@9800"#, r#"ask 2 "yes please" h1"#, Thinking),
    ("a press takes over with push-to-talk", "press@8000", "cancel_capture; log 2 no_follow_up; start 3; load; timer MaxRecord 3 30000; led Listening", Listening),
    ("its release stops that turn", "press@8000 release@9500", "stop 3; led Thinking; timer ThinkingCue 3 1500", Listening),
    ("a tap stops listening", "tap@8000", "stop 2; led Thinking; timer ThinkingCue 2 1500", Listening),
    ("cancel in the window", "cancel@8000", "cancel_capture; log 2 cancelled; led Idle; timer ForgetConversation 1 300000", Idle),
];

#[test]
fn follow_up() {
    for &(name, after, want, state) in AFTER_A_QUESTION {
        check_one(name, HOLD, &format!("{QUESTION} {after}"), want, state);
    }
}

#[rustfmt::skip]
const NO_FOLLOW_UP: &[Row] = &[
    ("a statement does not reopen it", HOLD, "hold:speaking spoken(1)@7000", "log 1 answered; led Idle; timer ForgetConversation 1 300000", Idle),
    ("a question cut short does not", TOGGLE, r#"toggle:thinking answered(1,"Want more?")@4500 press@5000"#, "timer LongPress 3 2000; stop_speaking; led Idle; timer ForgetConversation 1 300000", Idle),
    ("an announcement waiting goes first", HOLD, r#"hold:thinking say("Hi.")@3000 answered(1,"Want more?")@4500 spoken(1)@7000"#, r#"log 1 answered; speak 2 "Hi."; led Speaking"#, Speaking),
];

#[test]
fn no_follow_up() {
    check(NO_FOLLOW_UP);
}

#[test]
fn follow_up_zero_never_listens_without_a_press() {
    let mut s = settings(HOLD);
    s.follow_up = Duration::ZERO;
    let (_, all) = run_with(s, QUESTION);
    let last = shorts(&all[all.len() - 1]);
    assert_eq!(
        last,
        "log 1 answered; led Idle; timer ForgetConversation 1 300000"
    );
}

#[rustfmt::skip]
const THINKING_CUE: &[Row] = &[
    ("starts while thinking", HOLD, "hold:thinking timer(1,ThinkingCue)@4000", "cue", Thinking),
    ("starts while transcribing", HOLD, "hold:transcribing timer(1,ThinkingCue)@3300", "cue", Transcribing),
    ("starts during the post-roll", HOLD, "press@0 release@1000 timer(1,ThinkingCue)@2500", "cue", Listening),
    ("starts once", HOLD, "hold:thinking timer(1,ThinkingCue)@4000 timer(1,ThinkingCue)@4100", "", Thinking),
    ("not over a failure message", HOLD, "press@0 release@1000 captured(1,1s,silent)@1300 timer(1,ThinkingCue)@2500", "", Speaking),
    ("not for an older turn", HOLD, "hold:thinking press@3000 timer(1,ThinkingCue)@4000", "", Listening),
    ("the reply's first audio ends it (in the speaker)", HOLD, r#"hold:thinking timer(1,ThinkingCue)@4000 answered(1,"Noon.")@5000"#, r#"speak 1 "Noon."; led Speaking"#, Speaking),
    ("so does a failure message's", HOLD, "hold:thinking timer(1,ThinkingCue)@4000 answered(1,unreachable)@9000", "speak 1 <unreachable>; led Error", Speaking),
    ("cancel stops it", HOLD, "hold:thinking timer(1,ThinkingCue)@4000 cancel@5000", "cancel_ask 1; stop_cue; log 1 cancelled; led Idle", Idle),
    ("a new press stops it (hold)", HOLD, "hold:thinking timer(1,ThinkingCue)@4000 press@5000", "cancel_ask 1; stop_cue; log 1 abandoned; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("a press stops it (toggle)", TOGGLE, "toggle:thinking timer(1,ThinkingCue)@4000 press@5000", "timer LongPress 3 2000; cancel_ask 1; stop_cue; log 1 abandoned; earcon Stopped; led Idle", Idle),
];

#[test]
fn thinking_cue() {
    check(THINKING_CUE);
}

#[test]
fn thinking_cue_zero_is_off() {
    let mut s = settings(HOLD);
    s.thinking_cue = Duration::ZERO;
    let (_, all) = run_with(s, "press@0 release@1000");
    assert_eq!(shorts(&all[1]), "stop 1; led Thinking");
}
