//! Table tests for the machine: gestures, cancels, failures, stale turns, speech output, memory.
//!
//! A row is one case: its name, the button mode, the steps fed to a new machine, the actions of
//! the last step and the state after it. Steps are written in the small language of
//! `machine/tests/steps.rs` (`press@0 release@1500 captured(1)@1800`, `hold:thinking`). Turn ids
//! start at 1. The tables are long on purpose: one rule of `machine/mod.rs` per row.

mod everyday;
mod steps;

use std::time::{Duration, Instant};

use super::State::{self, Idle, Listening, Speaking, Transcribing};
use super::*;
use crate::config::ButtonMode;
use steps::{event, run, run_with, settings, shorts};

const HOLD: ButtonMode = ButtonMode::Hold;
const TOGGLE: ButtonMode = ButtonMode::Toggle;

/// (name, mode, steps, actions of the last step, state after it)
type Row = (&'static str, ButtonMode, &'static str, &'static str, State);

fn check(rows: &[Row]) {
    for &(name, mode, steps, want, state) in rows {
        check_one(name, mode, steps, want, state);
    }
}

fn check_one(name: &str, mode: ButtonMode, steps: &str, want: &str, state: State) {
    let (m, all) = run(mode, steps);
    let last = all.last().map(|a| shorts(a)).unwrap_or_default();
    assert_eq!(last, want, "{name}: actions of the last step");
    assert_eq!(m.state(), state, "{name}: state after");
}

#[rustfmt::skip]
const GESTURES: &[Row] = &[
    // Hold mode.
    ("hold: press listens at once, no end detection", HOLD, "press@0", "start 1; load; timer MaxRecord 1 30000; led Listening", Listening),
    ("hold: release stops (post-roll is capture's job)", HOLD, "press@0 release@900", "stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("hold: a press shorter than min_press is a quiet glitch", HOLD, "press@0 release@119", "cancel_capture; log 1 glitch; led Idle", Idle),
    ("hold: exactly min_press counts as a press", HOLD, "press@0 release@120", "stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("hold: a long hold is talking, no long-press timer", HOLD, "press@0 release@5000", "stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("hold: a long silent hold forgets the conversation", HOLD, "press@0 release@2500 captured(1,2.8s,silent)@2800", "forget; earcon Stopped; log 1 forgotten; led Idle", Idle),
    ("hold: a short silent hold is 'didn't catch that'", HOLD, "press@0 release@1000 captured(1,1.3s,silent)@1300", "warn no speech; speak 1 <didnt_catch>; led Error", Speaking),
    ("hold: a second press without release is ignored, and says so", HOLD, "press@0 press@300", "ignored press", Listening),
    ("hold: release without a press is ignored, and says so", HOLD, "release@0", "ignored release", Idle),
    ("hold: a press held just under max_record still blocks the next", HOLD, "ctl-press@0 press@29999", "ignored press", Listening),
    ("hold: a press held for max_record ends at the next press, which starts a turn", HOLD, "ctl-press@0 press@30000", "stop 1; led Thinking; timer ThinkingCue 1 1500; cancel_capture; log 1 abandoned; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("hold: a lost release does not make the button dead while speaking", HOLD, r#"ctl-press@0 timer(1,MaxRecord)@30000 captured(1)@30100 transcribed(1,"q")@31000 answered(1,"A.")@32000 press@40000"#, "stop_speaking; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("hold: after a stale press ended, its late release is the new press's", HOLD, "ctl-press@0 press@30000 release@31000", "stop 2; led Thinking; timer ThinkingCue 2 1500", Listening),
    ("hold: press while transcribing abandons and listens again", HOLD, "hold:transcribing press@2000", "cancel_stt 1; log 1 abandoned; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("hold: press while thinking abandons and listens again", HOLD, "hold:thinking press@3000", "cancel_ask 1; log 1 abandoned; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("hold: press while speaking stops playback and listens (barge-in)", HOLD, "hold:speaking press@5000", "stop_speaking; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("hold: a quick re-press during post-roll starts a fresh turn", HOLD, "press@0 release@1000 press@1100", "cancel_capture; log 1 abandoned; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("hold: control press/release are the button", HOLD, "ctl-press@0 ctl-release@800", "stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("hold: a press stops a tap-started recording; its release does nothing", HOLD, "tap@0 press@2000 release@2100", "", Listening),
    // Toggle mode.
    ("toggle: press listens with end detection and arms the long press", TOGGLE, "press@0", "timer LongPress 1 2000; start 1 detect; load; timer MaxRecord 1 30000; led Listening", Listening),
    ("toggle: release keeps listening", TOGGLE, "press@0 release@200", "", Listening),
    ("toggle: a too-short press is a glitch", TOGGLE, "press@0 release@50", "cancel_capture; log 1 glitch; led Idle", Idle),
    ("toggle: the next press stops", TOGGLE, "press@0 release@200 press@3000", "timer LongPress 2 2000; stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("toggle: a short stopping press is not a glitch", TOGGLE, "press@0 release@200 press@3000 release@3030", "", Listening),
    ("toggle: end of speech stops with the stopped earcon", TOGGLE, "press@0 release@200 speech-ended(1)@4000", "stop 1; earcon Stopped; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("toggle: long press while listening cancels and forgets", TOGGLE, "press@0 timer(1,LongPress)@2000", "cancel_capture; log 1 cancelled; forget; earcon Stopped; led Idle", Idle),
    ("toggle: long press after release does nothing", TOGGLE, "press@0 release@200 timer(1,LongPress)@2000", "", Listening),
    ("toggle: release after a long press does nothing", TOGGLE, "press@0 timer(1,LongPress)@2000 release@2500", "", Idle),
    ("toggle: a press whose release was lost ends at the next press after max_record", TOGGLE, "ctl-press@0 timer(1,LongPress)@2000 press@31000", "timer LongPress 2 2000; start 2 detect; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("toggle: before max_record that next press is ignored", TOGGLE, "ctl-press@0 timer(1,LongPress)@2000 press@5000", "ignored press", Idle),
    ("toggle: long press while thinking cancels the request and forgets", TOGGLE, "toggle:thinking press@3000 timer(3,LongPress)@5000", "forget; earcon Stopped; led Idle", Idle),
    ("toggle: press while transcribing abandons with the stopped earcon", TOGGLE, "toggle:transcribing press@2000", "timer LongPress 3 2000; cancel_stt 1; log 1 abandoned; earcon Stopped; led Idle", Idle),
    ("toggle: press while thinking abandons with the stopped earcon", TOGGLE, "toggle:thinking press@3000", "timer LongPress 3 2000; cancel_ask 1; log 1 abandoned; earcon Stopped; led Idle", Idle),
    ("toggle: press while speaking only stops playback", TOGGLE, "toggle:speaking press@5000", "timer LongPress 3 2000; stop_speaking; led Idle; timer ForgetConversation 1 300000", Idle),
    // Tap, in both modes.
    ("tap starts listening with end detection in hold mode", HOLD, "tap@0", "start 1 detect; load; timer MaxRecord 1 30000; led Listening", Listening),
    ("tap stops listening in hold mode", HOLD, "tap@0 tap@3000", "stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("a tap while the recording already stops is ignored, and says so", HOLD, "tap@0 tap@3000 tap@3100", "ignored tap", Listening),
    ("end of speech stops a tap in hold mode", HOLD, "tap@0 speech-ended(1)@3000", "stop 1; earcon Stopped; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("end of speech is ignored for a held recording", HOLD, "press@0 speech-ended(1)@3000", "", Listening),
    ("tap in toggle mode behaves as a press", TOGGLE, "tap@0 tap@3000", "stop 1; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("tap while speaking stops playback in hold mode too", HOLD, "hold:speaking tap@5000", "stop_speaking; led Idle; timer ForgetConversation 1 300000", Idle),
    ("tap while thinking abandons in hold mode", HOLD, "hold:thinking tap@3000", "cancel_ask 1; log 1 abandoned; earcon Stopped; led Idle", Idle),
    // Max record.
    ("max record stops with the stopped earcon", HOLD, "press@0 timer(1,MaxRecord)@30000", "stop 1; earcon Stopped; led Thinking; timer ThinkingCue 1 1500", Listening),
    ("release after max record does nothing", HOLD, "press@0 timer(1,MaxRecord)@30000 release@31000", "", Listening),
    ("capture ending by itself gets the stopped earcon", HOLD, "press@0 captured(1,30s)@30000", "earcon Stopped; led Thinking; timer ThinkingCue 1 1500; transcribe 1", Transcribing),
    ("capture started plays the listening earcon", TOGGLE, "press@0 started(1)@30", "earcon Listening", Listening),
];

#[test]
fn gestures() {
    check(GESTURES);
}

/// `cancel` from any state goes to Idle quietly: no earcon, no message.
#[rustfmt::skip]
const CANCELS: &[Row] = &[
    ("cancel when idle (hold)", HOLD, "cancel@9000", "", Idle),
    ("cancel while listening (hold)", HOLD, "hold:listening cancel@9000", "cancel_capture; log 1 cancelled; led Idle", Idle),
    ("cancel while transcribing (hold)", HOLD, "hold:transcribing cancel@9000", "cancel_stt 1; log 1 cancelled; led Idle", Idle),
    ("cancel while thinking (hold)", HOLD, "hold:thinking cancel@9000", "cancel_ask 1; log 1 cancelled; led Idle", Idle),
    ("cancel while speaking (hold)", HOLD, "hold:speaking cancel@9000", "stop_speaking; led Idle; timer ForgetConversation 1 300000", Idle),
    ("cancel when idle (toggle)", TOGGLE, "cancel@9000", "", Idle),
    ("cancel while listening (toggle)", TOGGLE, "toggle:listening cancel@9000", "cancel_capture; log 1 cancelled; led Idle", Idle),
    ("cancel while transcribing (toggle)", TOGGLE, "toggle:transcribing cancel@9000", "cancel_stt 1; log 1 cancelled; led Idle", Idle),
    ("cancel while thinking (toggle)", TOGGLE, "toggle:thinking cancel@9000", "cancel_ask 1; log 1 cancelled; led Idle", Idle),
    ("cancel while speaking (toggle)", TOGGLE, "toggle:speaking cancel@9000", "stop_speaking; led Idle; timer ForgetConversation 1 300000", Idle),
];

#[test]
fn cancel_from_every_state_is_quiet() {
    check(CANCELS);
}

/// A silent or too-short recording, or an empty transcript, speaks "didn't catch that"
/// without asking Ollama (and the first two without calling STT), and says why at WARN.
#[rustfmt::skip]
const DIDNT_CATCH: &[Row] = &[
    ("silent recording", HOLD, "press@0 release@1000 captured(1,1.5s,silent)@1300", "warn no speech; speak 1 <didnt_catch>; led Error", Speaking),
    ("shorter than min_record (300 ms)", HOLD, "press@0 release@1000 captured(1,0.2s)@1300", "warn the recording; speak 1 <didnt_catch>; led Error", Speaking),
    ("blank transcript", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"  \n")@2000"#, "warn speech recognition; speak 1 <didnt_catch>; led Error", Speaking),
    ("empty transcript", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"")@2000"#, "warn speech recognition; speak 1 <didnt_catch>; led Error", Speaking),
];

#[test]
fn didnt_catch_without_stt() {
    check(DIDNT_CATCH);
}

/// When speech output itself fails (every sentence, or the device), only the error earcon is
/// left; a reply with nothing speakable says so.
#[rustfmt::skip]
const SPEECH_OUTPUT: &[Row] = &[
    ("every sentence of the reply failed", HOLD, "hold:speaking spoken(1,sentences=2,failed=2)@6000", "earcon Error; log 1 speech_failed; led Error", Idle),
    ("the output device failed for the reply", HOLD, "hold:speaking spoken(1,device_error)@6000", "earcon Error; log 1 speech_failed; led Error", Idle),
    ("an empty reply", HOLD, r#"hold:thinking answered(1,"")@9000"#, "warn the model's; speak 1 <bad_reply>; led Error", Speaking),
    ("nothing speakable in the reply", HOLD, "hold:speaking spoken(1,sentences=0)@6000", "warn nothing in; speak 1 <bad_reply>; led Error", Speaking),
    ("some sentences failed: still answered", HOLD, "hold:speaking spoken(1,sentences=3,failed=1)@6000", "log 1 answered; led Idle; timer ForgetConversation 1 300000", Idle),
    ("every sentence of a failure message failed", HOLD, "press@0 release@1000 captured(1,1s,silent)@1300 spoken(1,sentences=2,failed=2)@2000", "earcon Error; log 1 speech_failed; led Error", Idle),
    ("the output device failed for a failure message", HOLD, "press@0 release@1000 captured(1,1s,silent)@1300 spoken(1,device_error)@2000", "earcon Error; log 1 speech_failed; led Error", Idle),
    ("nothing speakable in a failure message", HOLD, "press@0 release@1000 captured(1,1s,silent)@1300 spoken(1,sentences=0)@2000", "earcon Error; log 1 speech_failed; led Error", Idle),
    ("barge-in on a failure message keeps the failure outcome", HOLD, "press@0 release@1000 captured(1,audio_failed)@1300 press@1500", "stop_speaking; log 1 audio_failed; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
];

#[test]
fn speech_output_failures_get_the_error_earcon() {
    check(SPEECH_OUTPUT);
}

/// A streamed reply is spoken piece by piece as it arrives; its request's end ends the speech;
/// a failure after the first piece keeps what was spoken and adds the cut-off message; a press,
/// cancel or speaker failure while it arrives hangs up its request.
#[rustfmt::skip]
const STREAMED: &[Row] = &[
    ("the first piece speaks at once", HOLD, r#"hold:thinking replying(1,"It is noon.")@5000"#, r#"speak_part 1 "It is noon."; led Speaking"#, Speaking),
    ("later pieces follow it", HOLD, r#"hold:thinking replying(1,"It")@5000 replying(1," is noon.")@5100"#, r#"speak_part 1 " is noon.""#, Speaking),
    ("the request's end ends the speech", HOLD, r#"hold:thinking replying(1,"It is noon.")@5000 answered(1,"It is noon.")@6000"#, "end_speech 1", Speaking),
    ("the speech's end answers the turn", HOLD, r#"hold:thinking replying(1,"It is noon.")@5000 answered(1,"It is noon.")@6000 spoken(1)@7000"#, "log 1 answered; led Idle; timer ForgetConversation 1 300000", Idle),
    ("a failure after a piece is a cut-off", HOLD, r#"hold:thinking replying(1,"It is")@5000 answered(1,proxy_error)@6000"#, "end_speech 1 <cut_off>; led Error", Speaking),
    ("a cut-off reply is logged once spoken", HOLD, r#"hold:thinking replying(1,"It is")@5000 answered(1,bad_reply)@6000 spoken(1)@7000"#, "log 1 cut_off; led Idle; timer ForgetConversation 1 300000", Idle),
    ("barge-in while it arrives hangs up", HOLD, r#"hold:thinking replying(1,"It is")@5000 press@5500"#, "stop_speaking; cancel_ask 1; start 2; load; timer MaxRecord 2 30000; led Listening", Listening),
    ("a toggle press while it arrives hangs up", TOGGLE, r#"toggle:thinking replying(1,"It is")@5000 press@5500"#, "timer LongPress 3 2000; stop_speaking; cancel_ask 1; led Idle; timer ForgetConversation 1 300000", Idle),
    ("cancel while it arrives hangs up", HOLD, r#"hold:thinking replying(1,"It is")@5000 cancel@5500"#, "stop_speaking; cancel_ask 1; led Idle; timer ForgetConversation 1 300000", Idle),
    ("the output failing while it arrives hangs up", HOLD, r#"hold:thinking replying(1,"It is")@5000 spoken(1,device_error)@5100"#, "cancel_ask 1; earcon Error; log 1 speech_failed; led Error", Idle),
    ("a piece after the end is ignored", HOLD, r#"hold:thinking replying(1,"It is noon.")@5000 answered(1,"It is noon.")@6000 replying(1,"late")@6100"#, "", Speaking),
    ("a whole reply after all is spoken whole", HOLD, r#"hold:thinking answered(1,"It is noon.")@6000 replying(1,"late")@6100"#, "", Speaking),
];

#[test]
fn streamed_replies() {
    check(STREAMED);
}

/// (steps up to a failure of class C, C): the failure speaks C's message, and the end of that
/// message logs the turn with outcome C.
#[rustfmt::skip]
const FAILURES: &[(&str, &str)] = &[
    ("press@0 release@1000 captured(1,audio_failed)@1300", "audio_failed"),
    ("hold:transcribing transcribed(1,stt_failed)@2000", "stt_failed"),
    ("hold:thinking answered(1,unreachable)@9000", "unreachable"),
    ("hold:thinking answered(1,proxy_error)@9000", "proxy_error"),
    ("hold:thinking answered(1,too_slow)@9000", "too_slow"),
    ("hold:thinking answered(1,model_missing)@9000", "model_missing"),
    ("hold:thinking answered(1,rejected)@9000", "rejected"),
    ("hold:thinking answered(1,unauthorized)@9000", "unauthorized"),
    ("hold:thinking answered(1,bad_reply)@9000", "bad_reply"),
];

#[test]
fn every_failure_is_heard() {
    for (steps, class) in FAILURES {
        let (m, all) = run(HOLD, &format!("{steps} spoken(1)@9500"));
        let [.., failed, spoken] = all.as_slice() else {
            panic!("{steps}: too few steps")
        };
        assert_eq!(shorts(failed), format!("speak 1 <{class}>; led Error"));
        assert_eq!(shorts(spoken), format!("log 1 {class}; led Idle"));
        assert_eq!(m.state(), Idle, "{class}");
    }
}

/// A failure is said in the language of the question: that of the transcript, or of the last
/// one when there is none (a silent recording after a Chinese question).
#[rustfmt::skip]
const LANGUAGES: &[Row] = &[
    ("Chinese question", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"今天天气怎么样")@2000 answered(1,unreachable)@9000"#, "speak 1 <zh:unreachable>; led Error", Speaking),
    ("Chinese with a Latin word", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"Python是什么")@2000 answered(1,too_slow)@9000"#, "speak 1 <zh:too_slow>; led Error", Speaking),
    ("Vietnamese question", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"Thời tiết hôm nay thế nào")@2000 answered(1,unreachable)@9000"#, "speak 1 <vi:unreachable>; led Error", Speaking),
    ("Japanese question", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"今日の天気はどうですか")@2000 answered(1,unreachable)@9000"#, "speak 1 <ja:unreachable>; led Error", Speaking),
    ("English question", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"what time is it")@2000 answered(1,unreachable)@9000"#, "speak 1 <unreachable>; led Error", Speaking),
    ("a language without messages: English", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"안녕하세요")@2000 answered(1,unreachable)@9000"#, "speak 1 <unreachable>; led Error", Speaking),
    ("silence after a Chinese question", HOLD, r#"press@0 release@1000 captured(1)@1300 transcribed(1,"你好吗")@2000 answered(1,"很好。")@3000 spoken(1)@4000 press@5000 release@6000 captured(2,1.5s,silent)@6300"#, "warn no speech; speak 2 <zh:didnt_catch>; led Error", Speaking),
];

#[test]
fn failures_are_said_in_the_language_of_the_question() {
    check(LANGUAGES);
    // stt.language, when set, says what language is spoken.
    let mut settings = settings(HOLD);
    settings.stt_language = Some("vi".into());
    let (_, all) = steps::run_with(
        settings,
        r#"press@0 release@1000 captured(1)@1300 transcribed(1,"hello")@2000 answered(1,unreachable)@9000"#,
    );
    assert_eq!(
        shorts(all.last().unwrap()),
        "speak 1 <vi:unreachable>; led Error"
    );
}

/// (name, steps): each abandons turn 1 (now on turn 2, or idle) and then delivers one of turn
/// 1's late results, which must do nothing. Every row runs in both modes.
#[rustfmt::skip]
const STALE: &[(&str, &str)] = &[
    ("capture after cancel", "press@0 cancel@500 captured(1)@900"),
    ("transcript after barge-in", r#"hold:transcribing press@2000 transcribed(1,"old")@2600"#),
    ("answer after abandon", r#"hold:thinking press@3000 answered(1,"old reply")@4000"#),
    ("a reply's piece after abandon", r#"hold:thinking press@3000 replying(1,"old")@4000"#),
    ("a reply's piece after barge-in", r#"hold:thinking replying(1,"It")@3500 press@4000 replying(1," was")@4100"#),
    ("answer after cancel", r#"hold:thinking cancel@3000 answered(1,"old reply")@4000"#),
    ("failure after abandon", "hold:thinking press@3000 answered(1,unreachable)@4000"),
    ("end of speech of an old turn", "tap@0 cancel@500 tap@600 speech-ended(1)@900"),
    ("max record of an old turn", "press@0 release@500 press@600 timer(1,MaxRecord)@30000"),
    ("long press of an old press", "ctl-press@0 release@300 timer(1,LongPress)@2000"),
    ("answer for a turn never asked", r#"answered(7,"hello")@0"#),
    ("old answer while the new turn thinks", r#"hold:thinking press@3000 release@4000 captured(2)@4300 transcribed(2,"new question")@5000 answered(1,"old reply")@6000"#),
    ("old transcript while the new turn transcribes", r#"hold:transcribing press@2000 release@3000 captured(2)@3300 transcribed(1,"old question")@3400"#),
    ("old capture while the new turn listens", "tap@0 cancel@500 tap@600 captured(1)@700"),
];

#[test]
fn stale_turn_results_are_dropped() {
    for (name, steps) in STALE {
        for mode in [HOLD, TOGGLE] {
            let (_, all) = run(mode, steps);
            let last = all.last().map(|a| shorts(a));
            assert_eq!(last.as_deref(), Some(""), "{name} ({mode:?})");
        }
    }
}

/// The model load at a press is the machine's decision: with `ollama.warm_up` off, a press
/// asks for none.
#[test]
fn a_press_loads_the_model_only_with_warm_up() {
    let mut s = settings(HOLD);
    s.warm_up = false;
    let (_, all) = run_with(s, "press@0");
    assert_eq!(
        shorts(all.last().unwrap()),
        "start 1; timer MaxRecord 1 30000; led Listening"
    );
    let (_, all) = run(HOLD, "press@0");
    assert_eq!(
        shorts(all.last().unwrap()),
        "start 1; load; timer MaxRecord 1 30000; led Listening"
    );
}

#[test]
fn happy_path_hold_mode_exact_actions() {
    let (m, all) = run(
        HOLD,
        r#"press@0 started(1)@40 release@1500 captured(1)@1800
           transcribed(1,"  what is the capital of france \n")@2500
           answered(1,"Paris. It is lovely.")@4500 spoken(1)@7500"#,
    );
    let got: Vec<String> = all.iter().map(|a| shorts(a)).collect();
    assert_eq!(
        got,
        [
            "start 1; load; timer MaxRecord 1 30000; led Listening",
            "earcon Listening",
            "stop 1; led Thinking; timer ThinkingCue 1 1500",
            "transcribe 1",
            r#"ask 1 "what is the capital of france" h0"#,
            r#"speak 1 "Paris. It is lovely."; led Speaking"#,
            "log 1 answered; led Idle; timer ForgetConversation 1 300000",
        ]
    );
    assert_eq!(m.state(), Idle);

    // The summary carries every stage's figure.
    let Some(Action::LogTurn(s)) = all[6].first() else {
        panic!("no summary: {:?}", all[6]);
    };
    assert_eq!(
        *s,
        TurnSummary {
            turn_id: 1,
            announcement: false,
            outcome: Outcome::Answered,
            record_ms: Some(1500),
            stt_ms: Some(700),
            ollama_ms: Some(2000),
            first_audio_ms: Some(150),
            total_ms: 7500,
            transcript_chars: "what is the capital of france".len(),
            response_chars: "Paris. It is lovely.".chars().count(),
            sentences: 2,
            attempts: 3,
        }
    );
    assert_eq!(
        m.status_json(),
        r#"{"last_outcome":"answered","last_turn":1,"remembered":1,"state":"idle","turn":null,"volume":100}"#
    );
}

#[test]
fn a_reply_is_spoken_once() {
    // Duplicate deliveries of the same answer or report must not speak or log twice.
    let (_, all) = run(
        HOLD,
        r#"hold:speaking answered(1,"Paris. It is lovely.")@4600 spoken(1)@7000 spoken(1)@7100
           answered(1,"Paris. It is lovely.")@7200"#,
    );
    let steps: Vec<String> = all.iter().map(|a| shorts(a)).collect();
    let count = |what: &str| {
        let actions = steps.iter().flat_map(|s| s.split("; "));
        actions.filter(|a| a.starts_with(what)).count()
    };
    assert_eq!(count("speak "), 1, "{steps:?}");
    assert_eq!(count("log "), 1, "{steps:?}");
}

#[test]
fn a_reply_is_remembered_only_if_some_of_it_was_heard() {
    // (how speaking the reply went, exchanges remembered afterwards)
    let cases = [
        ("sentences=2,failed=2", 0),
        ("device_error", 0),
        ("sentences=0", 0),
        ("sentences=3,failed=1", 1),
    ];
    for (report, remembered) in cases {
        let (m, _) = run(HOLD, &format!("hold:speaking spoken(1,{report})@6000"));
        assert_eq!(m.memory.len(), remembered, "{report}");
    }
}

#[test]
fn barge_in_logs_the_interrupted_turn_with_the_speakers_figures() {
    let (m, all) = run(
        HOLD,
        "hold:speaking press@5000 spoken(1,sentences=1,first_audio=120,stopped)@5020",
    );
    let last = all.last().unwrap();
    let [Action::LogTurn(s)] = last.as_slice() else {
        panic!("want one summary, got {}", shorts(last));
    };
    assert_eq!(s.outcome, Outcome::Interrupted);
    assert_eq!(s.first_audio_ms, Some(120));
    assert_eq!(s.sentences, 1);
    assert_eq!(s.total_ms, 5000);
    // The new turn listens on, and the interrupted reply was remembered.
    assert_eq!(m.state(), Listening);
    assert_eq!(m.memory.len(), 1);
    assert!(m.status_json().contains(r#""last_outcome":"interrupted""#));
}

#[test]
fn conversation_memory_feeds_ask_and_is_forgotten() {
    // Two turns: the second Ask carries the first exchange.
    let (mut m, all) = run(
        HOLD,
        r#"hold:speaking spoken(1)@7000 press@10000 release@11000 captured(2)@11300
           transcribed(2,"and of germany")@12000"#,
    );
    let Some(Action::Ask { history, .. }) = all.last().unwrap().first() else {
        panic!("no ask");
    };
    assert_eq!(
        history,
        &[Exchange {
            question: "what is the capital of france".into(),
            answer: "Paris. It is lovely.".into(),
            tools: Vec::new(),
        }]
    );

    // A stale forget timer (generation 1, superseded by nothing yet: turn 2 is running) does
    // nothing while a turn runs.
    let t = Instant::now();
    let feed = |m: &mut Machine, e: &str| shorts(&m.handle(event(e), t));
    assert_eq!(feed(&mut m, "timer(1,ForgetConversation)"), "");
    assert_eq!(m.memory.len(), 1);
    // Finish turn 2: generation 2 is armed; generation 1 is now stale.
    feed(&mut m, r#"answered(2,"Berlin.")"#);
    let done = feed(&mut m, "spoken(2)");
    assert!(
        done.ends_with("timer ForgetConversation 2 300000"),
        "{done}"
    );
    assert_eq!(feed(&mut m, "timer(1,ForgetConversation)"), "");
    assert_eq!(feed(&mut m, "timer(2,ForgetConversation)"), "forget");
    assert_eq!(m.memory.len(), 0);
    // Nothing left to forget: a repeat does nothing.
    assert_eq!(feed(&mut m, "timer(2,ForgetConversation)"), "");
}

#[test]
fn memory_bounds_come_from_settings_and_reload() {
    let mut s = settings(HOLD);
    s.turns = 2;
    let mut m = Machine::new(s.clone());
    let t = Instant::now();
    for turn in 1..=3u64 {
        for e in [
            "tap".to_string(),
            "tap".to_string(),
            format!("captured({turn})"),
            format!(r#"transcribed({turn},"q{turn}")"#),
            format!(r#"answered({turn},"a")"#),
            format!("spoken({turn})"),
        ] {
            m.handle(event(&e), t);
        }
    }
    let q: Vec<String> = m.memory.history().into_iter().map(|e| e.question).collect();
    assert_eq!(q, ["q2", "q3"]);
    s.max_chars = 3;
    m.reconfigure(s);
    assert_eq!(m.memory.len(), 1);
    s = settings(HOLD);
    s.turns = 0;
    m.reconfigure(s);
    assert_eq!(m.memory.len(), 0);
}

#[test]
fn status_reports_the_turn_in_progress() {
    let (m, _) = run(HOLD, "hold:thinking");
    assert_eq!(
        m.status_json(),
        r#"{"last_outcome":null,"last_turn":null,"remembered":0,"state":"thinking","turn":1,"volume":100}"#
    );
}

#[test]
fn shutdown_while_speaking_still_logs_the_turn() {
    let (mut m, _) = run(HOLD, "hold:speaking");
    assert_eq!(m.state(), Speaking);
    let t0 = Instant::now();
    let summaries = m.finish_all(t0 + Duration::from_secs(9));
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0].outcome, Outcome::Cancelled);
    assert_eq!(m.state(), Idle);
    assert!(
        m.finish_all(t0 + Duration::from_secs(10)).is_empty(),
        "logged once"
    );
}

#[test]
fn the_question_goes_with_its_language_and_its_tool_calls_are_remembered() {
    let t = Instant::now();
    let mut m = Machine::new(settings(HOLD));
    let ask = |actions: Vec<Action>| {
        actions.into_iter().find_map(|a| match a {
            Action::Ask { lang, history, .. } => Some((lang, history)),
            _ => None,
        })
    };
    for e in ["tap", "tap", "captured(1)"] {
        m.handle(event(e), t);
    }
    let (lang, _) = ask(m.handle(event(r#"transcribed(1,"三分钟后提醒我关火")"#), t)).unwrap();
    assert_eq!(lang, "zh");
    let set = crate::event::ToolUse {
        name: "set_timer".into(),
        arguments: r#"{"label":"关火","seconds":180}"#.into(),
        result: "timer set".into(),
    };
    let answer = crate::event::Answer {
        text: "好的。".into(),
        attempts: 1,
        ollama_ms: 900,
        model: "qwen3".into(),
        done_reason: Some("stop".into()),
        tools: vec![set.clone()],
    };
    m.handle(
        Event::Answered {
            turn: 1,
            result: Ok(answer),
        },
        t,
    );
    m.handle(event("spoken(1)"), t);
    for e in ["tap", "tap", "captured(2)"] {
        m.handle(event(e), t);
    }
    let (lang, history) = ask(m.handle(event(r#"transcribed(2,"cancel that timer")"#), t)).unwrap();
    assert_eq!(lang, "en");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].tools, [set]);
    // stt.language, when set, is the question's language whatever the transcript looks like.
    let mut s = settings(HOLD);
    s.stt_language = Some("vi".into());
    let mut m = Machine::new(s);
    for e in ["tap", "tap", "captured(1)"] {
        m.handle(event(e), t);
    }
    let (lang, _) = ask(m.handle(event(r#"transcribed(1,"hello")"#), t)).unwrap();
    assert_eq!(lang, "vi");
}
