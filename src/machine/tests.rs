//! Table tests for the machine: gestures, failures, stale turns, memory.
//!
//! Each case feeds events at millisecond offsets and compares the actions of the last event
//! (in a compact text form) and the state after it. Turn ids start at 1.

use std::time::{Duration, Instant};

use super::*;
use crate::audio::Clip;
use crate::config::{self, ButtonMode};
use crate::event::{
    Answer, ControlCommand, Event, Failure, FailureClass, Recording, SpeechReport, Transcript,
};

fn settings(mode: ButtonMode) -> Settings {
    let config = config::parse(config::DEFAULT_TOML, None, &|_| None).unwrap();
    let mut s = Settings::from_config(&config);
    s.mode = mode;
    s
}

const HOLD: ButtonMode = ButtonMode::Hold;
const TOGGLE: ButtonMode = ButtonMode::Toggle;

// Event builders.
fn press() -> Event {
    Event::Button { pressed: true }
}
fn release() -> Event {
    Event::Button { pressed: false }
}
fn ctl(c: ControlCommand) -> Event {
    Event::Control(c)
}
fn tap() -> Event {
    ctl(ControlCommand::Tap)
}
fn cancel() -> Event {
    ctl(ControlCommand::Cancel)
}
/// A recording of `secs` seconds, with or without speech.
fn recording(secs: f32, has_speech: bool) -> Recording {
    Recording {
        clip: Clip {
            samples: vec![0.0; (secs * 16000.0) as usize],
            rate: 16000,
            channels: 1,
        },
        record_ms: (secs * 1000.0) as u64,
        has_speech,
        overruns: 0,
    }
}
fn captured(turn: TurnId) -> Event {
    Event::Captured {
        turn,
        result: Ok(recording(1.5, true)),
    }
}
fn captured_with(turn: TurnId, secs: f32, has_speech: bool) -> Event {
    Event::Captured {
        turn,
        result: Ok(recording(secs, has_speech)),
    }
}
fn fail(class: FailureClass) -> Failure {
    Failure::new(class, "test failure")
}
fn transcribed(turn: TurnId, text: &str) -> Event {
    Event::Transcribed {
        turn,
        result: Ok(Transcript {
            text: text.into(),
            stt_ms: 700,
        }),
    }
}
fn answer(text: &str) -> Answer {
    Answer {
        text: text.into(),
        attempts: 3,
        ollama_ms: 2000,
        model: "llama3.2".into(),
        done_reason: Some("stop".into()),
    }
}
fn answered(turn: TurnId, text: &str) -> Event {
    Event::Answered {
        turn,
        result: Ok(answer(text)),
    }
}
fn report(sentences: usize) -> SpeechReport {
    SpeechReport {
        sentences,
        first_audio_ms: Some(150),
        total_ms: 3000,
        ..SpeechReport::default()
    }
}
fn spoken(turn: TurnId) -> Event {
    Event::Spoken {
        turn,
        report: report(2),
    }
}
fn timer(turn: TurnId, kind: TimerKind) -> Event {
    Event::Timer { turn, kind }
}

/// The compact text form of an action used in the tables.
fn short(a: &Action) -> String {
    match a {
        Action::StartCapture { turn, detect_end } => {
            format!("start {turn}{}", if *detect_end { " detect" } else { "" })
        }
        Action::StopCapture { turn } => format!("stop {turn}"),
        Action::CancelCapture => "cancel_capture".into(),
        Action::Transcribe { turn, .. } => format!("transcribe {turn}"),
        Action::CancelTranscribe { turn } => format!("cancel_stt {turn}"),
        Action::Ask {
            turn,
            question,
            history,
        } => format!("ask {turn} {question:?} h{}", history.len()),
        Action::CancelAsk { turn } => format!("cancel_ask {turn}"),
        Action::Speak { turn, text } => format!("speak {turn} {text:?}"),
        Action::StopSpeaking => "stop_speaking".into(),
        Action::Earcon(e) => format!("earcon {e:?}"),
        Action::StartTimer { turn, kind, after } => {
            format!("timer {kind:?} {turn} {}", after.as_millis())
        }
        Action::Led(l) => format!("led {l:?}"),
        Action::LogTurn(s) => format!("log {} {}", s.turn_id, s.outcome.as_str()),
        Action::ForgetConversation => "forget".into(),
    }
}

/// Feeds `(ms, event)` steps; returns the machine and the actions of every step.
fn feed(mode: ButtonMode, steps: Vec<(u64, Event)>) -> (Machine, Vec<Vec<Action>>) {
    let t0 = Instant::now();
    let mut m = Machine::new(settings(mode));
    let all = steps
        .into_iter()
        .map(|(ms, e)| m.handle(e, t0 + Duration::from_millis(ms)))
        .collect();
    (m, all)
}

fn shorts(actions: &[Action]) -> Vec<String> {
    actions.iter().map(short).collect()
}

struct Case {
    name: &'static str,
    mode: ButtonMode,
    steps: Vec<(u64, Event)>,
    /// Actions of the last step.
    last: &'static [&'static str],
    state: State,
}

fn check(cases: Vec<Case>) {
    for c in cases {
        let (m, all) = feed(c.mode, c.steps);
        let got = shorts(all.last().unwrap());
        assert_eq!(got, c.last, "case {:?}: actions of the last event", c.name);
        assert_eq!(m.state(), c.state, "case {:?}: state after", c.name);
    }
}

/// Steps that bring a hold-mode machine to the given state of turn 1.
fn hold_to(state: State) -> Vec<(u64, Event)> {
    let mut s = vec![(0, press())];
    if state == State::Listening {
        return s;
    }
    s.extend([(1500, release()), (1800, captured(1))]);
    if state == State::Transcribing {
        return s;
    }
    s.push((2500, transcribed(1, "what is the capital of france")));
    if state == State::Thinking {
        return s;
    }
    s.push((4500, answered(1, "Paris. It is lovely.")));
    s
}

/// The same for toggle mode (the press stops listening instead of the release).
fn toggle_to(state: State) -> Vec<(u64, Event)> {
    let mut s = vec![(0, press()), (200, release())];
    if state == State::Listening {
        return s;
    }
    s.extend([(1500, press()), (1600, release()), (1900, captured(1))]);
    if state == State::Transcribing {
        return s;
    }
    s.push((2500, transcribed(1, "what is the capital of france")));
    if state == State::Thinking {
        return s;
    }
    s.push((4500, answered(1, "Paris. It is lovely.")));
    s
}

fn with(mut steps: Vec<(u64, Event)>, more: Vec<(u64, Event)>) -> Vec<(u64, Event)> {
    steps.extend(more);
    steps
}

#[test]
fn happy_path_hold_mode_exact_actions() {
    let (m, all) = feed(
        HOLD,
        vec![
            (0, press()),
            (40, Event::CaptureStarted { turn: 1 }),
            (1500, release()),
            (1800, captured(1)),
            (2500, transcribed(1, "  what is the capital of france \n")),
            (4500, answered(1, "Paris. It is lovely.")),
            (7500, spoken(1)),
        ],
    );
    let got: Vec<Vec<String>> = all.iter().map(|a| shorts(a)).collect();
    let want: Vec<Vec<&str>> = vec![
        vec!["start 1", "timer MaxRecord 1 30000", "led Listening"],
        vec!["earcon Listening"],
        vec!["stop 1", "led Thinking"],
        vec!["transcribe 1"],
        vec!["ask 1 \"what is the capital of france\" h0"],
        vec!["speak 1 \"Paris. It is lovely.\"", "led Speaking"],
        vec![
            "log 1 answered",
            "led Idle",
            "timer ForgetConversation 1 300000",
        ],
    ];
    assert_eq!(got, want);
    assert_eq!(m.state(), State::Idle);

    // The summary carries every stage's figure.
    let Some(Action::LogTurn(s)) = all[6].first() else {
        panic!("no summary: {:?}", all[6]);
    };
    assert_eq!(
        *s,
        TurnSummary {
            turn_id: 1,
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
        r#"{"last_outcome":"answered","last_turn":1,"remembered":1,"state":"idle","turn":null}"#
    );
}

#[test]
fn gestures() {
    use State::*;
    check(vec![
        // Hold mode.
        Case {
            name: "hold: press listens at once, no end detection",
            mode: HOLD,
            steps: vec![(0, press())],
            last: &["start 1", "timer MaxRecord 1 30000", "led Listening"],
            state: Listening,
        },
        Case {
            name: "hold: release stops (post-roll is capture's job)",
            mode: HOLD,
            steps: vec![(0, press()), (900, release())],
            last: &["stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "hold: a press shorter than min_press is a quiet glitch",
            mode: HOLD,
            steps: vec![(0, press()), (119, release())],
            last: &["cancel_capture", "log 1 glitch", "led Idle"],
            state: Idle,
        },
        Case {
            name: "hold: exactly min_press counts as a press",
            mode: HOLD,
            steps: vec![(0, press()), (120, release())],
            last: &["stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "hold: a long hold is talking, no long-press timer",
            mode: HOLD,
            steps: vec![(0, press()), (5000, release())],
            last: &["stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "hold: a long silent hold forgets the conversation",
            mode: HOLD,
            steps: vec![
                (0, press()),
                (2500, release()),
                (2800, captured_with(1, 2.8, false)),
            ],
            last: &["forget", "earcon Stopped", "log 1 forgotten", "led Idle"],
            state: Idle,
        },
        Case {
            name: "hold: a short silent hold is 'didn't catch that'",
            mode: HOLD,
            steps: vec![
                (0, press()),
                (1000, release()),
                (1300, captured_with(1, 1.3, false)),
            ],
            last: &["speak 1 \"Sorry, I didn't catch that.\"", "led Error"],
            state: Speaking,
        },
        Case {
            name: "hold: a second press without release is ignored",
            mode: HOLD,
            steps: vec![(0, press()), (300, press())],
            last: &[],
            state: Listening,
        },
        Case {
            name: "hold: release without a press is ignored",
            mode: HOLD,
            steps: vec![(0, release())],
            last: &[],
            state: Idle,
        },
        Case {
            name: "hold: press while transcribing abandons and listens again",
            mode: HOLD,
            steps: with(hold_to(Transcribing), vec![(2000, press())]),
            last: &[
                "cancel_stt 1",
                "log 1 abandoned",
                "start 2",
                "timer MaxRecord 2 30000",
                "led Listening",
            ],
            state: Listening,
        },
        Case {
            name: "hold: press while thinking abandons and listens again",
            mode: HOLD,
            steps: with(hold_to(Thinking), vec![(3000, press())]),
            last: &[
                "cancel_ask 1",
                "log 1 abandoned",
                "start 2",
                "timer MaxRecord 2 30000",
                "led Listening",
            ],
            state: Listening,
        },
        Case {
            name: "hold: press while speaking stops playback and listens (barge-in)",
            mode: HOLD,
            steps: with(hold_to(Speaking), vec![(5000, press())]),
            last: &[
                "stop_speaking",
                "start 2",
                "timer MaxRecord 2 30000",
                "led Listening",
            ],
            state: Listening,
        },
        Case {
            name: "hold: a quick re-press during post-roll starts a fresh turn",
            mode: HOLD,
            steps: vec![(0, press()), (1000, release()), (1100, press())],
            last: &[
                "cancel_capture",
                "log 1 abandoned",
                "start 2",
                "timer MaxRecord 2 30000",
                "led Listening",
            ],
            state: Listening,
        },
        Case {
            name: "hold: control press/release are the button",
            mode: HOLD,
            steps: vec![
                (0, ctl(ControlCommand::Press)),
                (800, ctl(ControlCommand::Release)),
            ],
            last: &["stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "hold: a press stops a tap-started recording; its release does nothing",
            mode: HOLD,
            steps: vec![(0, tap()), (2000, press()), (2100, release())],
            last: &[],
            state: Listening,
        },
        // Toggle mode.
        Case {
            name: "toggle: press listens with end detection and arms the long press",
            mode: TOGGLE,
            steps: vec![(0, press())],
            last: &[
                "timer LongPress 1 2000",
                "start 1 detect",
                "timer MaxRecord 1 30000",
                "led Listening",
            ],
            state: Listening,
        },
        Case {
            name: "toggle: release keeps listening",
            mode: TOGGLE,
            steps: vec![(0, press()), (200, release())],
            last: &[],
            state: Listening,
        },
        Case {
            name: "toggle: a too-short press is a glitch",
            mode: TOGGLE,
            steps: vec![(0, press()), (50, release())],
            last: &["cancel_capture", "log 1 glitch", "led Idle"],
            state: Idle,
        },
        Case {
            name: "toggle: the next press stops",
            mode: TOGGLE,
            steps: vec![(0, press()), (200, release()), (3000, press())],
            last: &["timer LongPress 2 2000", "stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "toggle: a short stopping press is not a glitch",
            mode: TOGGLE,
            steps: vec![
                (0, press()),
                (200, release()),
                (3000, press()),
                (3030, release()),
            ],
            last: &[],
            state: Listening,
        },
        Case {
            name: "toggle: end of speech stops with the stopped earcon",
            mode: TOGGLE,
            steps: vec![
                (0, press()),
                (200, release()),
                (4000, Event::SpeechEnded { turn: 1 }),
            ],
            last: &["stop 1", "earcon Stopped", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "toggle: long press while listening cancels and forgets",
            mode: TOGGLE,
            steps: vec![(0, press()), (2000, timer(1, TimerKind::LongPress))],
            last: &[
                "cancel_capture",
                "log 1 cancelled",
                "forget",
                "earcon Stopped",
                "led Idle",
            ],
            state: Idle,
        },
        Case {
            name: "toggle: long press after release does nothing",
            mode: TOGGLE,
            steps: vec![
                (0, press()),
                (200, release()),
                (2000, timer(1, TimerKind::LongPress)),
            ],
            last: &[],
            state: Listening,
        },
        Case {
            name: "toggle: release after a long press does nothing",
            mode: TOGGLE,
            steps: vec![
                (0, press()),
                (2000, timer(1, TimerKind::LongPress)),
                (2500, release()),
            ],
            last: &[],
            state: Idle,
        },
        Case {
            name: "toggle: long press while thinking cancels the request and forgets",
            mode: TOGGLE,
            steps: with(
                toggle_to(Thinking),
                vec![(3000, press()), (5000, timer(3, TimerKind::LongPress))],
            ),
            last: &["forget", "earcon Stopped", "led Idle"],
            state: Idle,
        },
        Case {
            name: "toggle: press while transcribing abandons with the stopped earcon",
            mode: TOGGLE,
            steps: with(toggle_to(Transcribing), vec![(2000, press())]),
            last: &[
                "timer LongPress 3 2000",
                "cancel_stt 1",
                "log 1 abandoned",
                "earcon Stopped",
                "led Idle",
            ],
            state: Idle,
        },
        Case {
            name: "toggle: press while thinking abandons with the stopped earcon",
            mode: TOGGLE,
            steps: with(toggle_to(Thinking), vec![(3000, press())]),
            last: &[
                "timer LongPress 3 2000",
                "cancel_ask 1",
                "log 1 abandoned",
                "earcon Stopped",
                "led Idle",
            ],
            state: Idle,
        },
        Case {
            name: "toggle: press while speaking only stops playback",
            mode: TOGGLE,
            steps: with(toggle_to(Speaking), vec![(5000, press())]),
            last: &[
                "timer LongPress 3 2000",
                "stop_speaking",
                "led Idle",
                "timer ForgetConversation 1 300000",
            ],
            state: Idle,
        },
        // Tap, in both modes.
        Case {
            name: "tap starts listening with end detection in hold mode",
            mode: HOLD,
            steps: vec![(0, tap())],
            last: &["start 1 detect", "timer MaxRecord 1 30000", "led Listening"],
            state: Listening,
        },
        Case {
            name: "tap stops listening in hold mode",
            mode: HOLD,
            steps: vec![(0, tap()), (3000, tap())],
            last: &["stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "end of speech stops a tap in hold mode",
            mode: HOLD,
            steps: vec![(0, tap()), (3000, Event::SpeechEnded { turn: 1 })],
            last: &["stop 1", "earcon Stopped", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "end of speech is ignored for a held recording",
            mode: HOLD,
            steps: vec![(0, press()), (3000, Event::SpeechEnded { turn: 1 })],
            last: &[],
            state: Listening,
        },
        Case {
            name: "tap in toggle mode behaves as a press",
            mode: TOGGLE,
            steps: vec![(0, tap()), (3000, tap())],
            last: &["stop 1", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "tap while speaking stops playback in hold mode too",
            mode: HOLD,
            steps: with(hold_to(Speaking), vec![(5000, tap())]),
            last: &[
                "stop_speaking",
                "led Idle",
                "timer ForgetConversation 1 300000",
            ],
            state: Idle,
        },
        Case {
            name: "tap while thinking abandons in hold mode",
            mode: HOLD,
            steps: with(hold_to(Thinking), vec![(3000, tap())]),
            last: &[
                "cancel_ask 1",
                "log 1 abandoned",
                "earcon Stopped",
                "led Idle",
            ],
            state: Idle,
        },
        // Max record.
        Case {
            name: "max record stops with the stopped earcon",
            mode: HOLD,
            steps: vec![(0, press()), (30000, timer(1, TimerKind::MaxRecord))],
            last: &["stop 1", "earcon Stopped", "led Thinking"],
            state: Listening,
        },
        Case {
            name: "release after max record does nothing",
            mode: HOLD,
            steps: vec![
                (0, press()),
                (30000, timer(1, TimerKind::MaxRecord)),
                (31000, release()),
            ],
            last: &[],
            state: Listening,
        },
        Case {
            name: "capture ending by itself gets the stopped earcon",
            mode: HOLD,
            steps: vec![(0, press()), (30000, captured_with(1, 30.0, true))],
            last: &["earcon Stopped", "led Thinking", "transcribe 1"],
            state: Transcribing,
        },
        Case {
            name: "capture started plays the listening earcon",
            mode: TOGGLE,
            steps: vec![(0, press()), (30, Event::CaptureStarted { turn: 1 })],
            last: &["earcon Listening"],
            state: Listening,
        },
    ]);
}

#[test]
fn cancel_from_every_state_is_quiet() {
    use State::*;
    let cases = [
        (Idle, vec![] as Vec<&str>),
        (
            Listening,
            vec!["cancel_capture", "log 1 cancelled", "led Idle"],
        ),
        (
            Transcribing,
            vec!["cancel_stt 1", "log 1 cancelled", "led Idle"],
        ),
        (
            Thinking,
            vec!["cancel_ask 1", "log 1 cancelled", "led Idle"],
        ),
        (
            Speaking,
            vec![
                "stop_speaking",
                "led Idle",
                "timer ForgetConversation 1 300000",
            ],
        ),
    ];
    for mode in [HOLD, TOGGLE] {
        for (state, want) in &cases {
            let mut steps = match (state, mode) {
                (Idle, _) => vec![],
                (s, ButtonMode::Hold) => hold_to(*s),
                (s, ButtonMode::Toggle) => toggle_to(*s),
            };
            steps.push((9000, cancel()));
            let (m, all) = feed(mode, steps);
            let got = shorts(all.last().unwrap());
            assert_eq!(&got, want, "cancel in {state:?} ({mode:?})");
            assert!(
                !got.iter()
                    .any(|a| a.starts_with("earcon") || a.starts_with("speak")),
                "cancel must be quiet: {got:?}"
            );
            assert_eq!(m.state(), Idle);
        }
    }
}

#[test]
fn every_failure_is_heard() {
    use FailureClass::*;
    let messages = settings(HOLD).messages;
    // (what fails, class, spoken message)
    let stage_failures = [
        ("capture", AudioFailed, messages.audio_failed.clone()),
        ("stt", SttFailed, messages.stt_failed.clone()),
        ("ollama", Unreachable, messages.unreachable.clone()),
        ("ollama", ProxyError, messages.proxy_error.clone()),
        ("ollama", TooSlow, messages.too_slow.clone()),
        ("ollama", ModelMissing, messages.model_missing.clone()),
        ("ollama", Rejected, messages.rejected.clone()),
        ("ollama", Unauthorized, messages.unauthorized.clone()),
        ("ollama", BadReply, messages.bad_reply.clone()),
    ];
    for (stage, class, message) in stage_failures {
        let mut steps = vec![(0, press()), (1000, release())];
        match stage {
            "capture" => steps.push((
                1300,
                Event::Captured {
                    turn: 1,
                    result: Err(fail(class)),
                },
            )),
            "stt" => {
                steps.push((1300, captured(1)));
                steps.push((
                    2000,
                    Event::Transcribed {
                        turn: 1,
                        result: Err(fail(class)),
                    },
                ));
            }
            _ => {
                steps.push((1300, captured(1)));
                steps.push((2000, transcribed(1, "hello there")));
                steps.push((
                    9000,
                    Event::Answered {
                        turn: 1,
                        result: Err(fail(class)),
                    },
                ));
            }
        }
        let n = steps.len();
        steps.push((9500, spoken(1)));
        let (m, all) = feed(HOLD, steps);
        assert_eq!(
            shorts(&all[n - 1]),
            [format!("speak 1 {message:?}"), "led Error".to_string()],
            "{class:?}"
        );
        assert_eq!(
            shorts(&all[n]),
            [format!("log 1 {}", class.as_str()), "led Idle".to_string()],
            "{class:?}"
        );
        assert_eq!(m.state(), State::Idle);
    }
}

#[test]
fn didnt_catch_without_stt() {
    let didnt = format!("speak 1 {:?}", settings(HOLD).messages.didnt_catch);
    // (recording seconds, has speech, transcript or None when STT must not be called)
    let cases: [(f32, bool, Option<&str>); 4] = [
        (1.5, false, None),        // silent
        (0.2, true, None),         // shorter than min_record (300 ms)
        (1.5, true, Some("  \n")), // empty transcript
        (1.5, true, Some("")),
    ];
    for (secs, speech, transcript) in cases {
        let mut steps = vec![
            (0, press()),
            (1000, release()),
            (1300, captured_with(1, secs, speech)),
        ];
        if let Some(t) = transcript {
            steps.push((2000, transcribed(1, t)));
        }
        let (_, all) = feed(HOLD, steps);
        let flat: Vec<String> = all.iter().flat_map(|a| shorts(a)).collect();
        assert_eq!(
            flat.iter().any(|a| a.starts_with("transcribe")),
            transcript.is_some(),
            "{secs} s, speech {speech}: {flat:?}"
        );
        assert!(!flat.iter().any(|a| a.starts_with("ask")), "{flat:?}");
        assert_eq!(
            shorts(all.last().unwrap()),
            [didnt.clone(), "led Error".into()],
            "{secs} s speech {speech} transcript {transcript:?}"
        );
    }
}

#[test]
fn speech_output_failures_get_the_error_earcon() {
    let failed_all = SpeechReport {
        sentences: 2,
        failed: 2,
        ..SpeechReport::default()
    };
    let device = SpeechReport {
        device_error: Some("no such device".into()),
        ..SpeechReport::default()
    };
    let nothing = SpeechReport::default();
    let some_failed = SpeechReport {
        sentences: 3,
        failed: 1,
        ..SpeechReport::default()
    };
    let error = ["earcon Error", "log 1 speech_failed", "led Error"];
    // (report for the reply, actions of its Spoken, remembered afterwards)
    let cases: Vec<(SpeechReport, Vec<&str>, usize)> = vec![
        (failed_all.clone(), error.to_vec(), 0),
        (device.clone(), error.to_vec(), 0),
        // Nothing speakable in the reply: say so.
        (
            nothing.clone(),
            vec![
                "speak 1 \"The server sent an answer I couldn't read.\"",
                "led Error",
            ],
            0,
        ),
        (
            some_failed,
            vec![
                "log 1 answered",
                "led Idle",
                "timer ForgetConversation 1 300000",
            ],
            1,
        ),
    ];
    for (rep, want, remembered) in cases {
        let steps = with(
            hold_to(State::Speaking),
            vec![(
                6000,
                Event::Spoken {
                    turn: 1,
                    report: rep.clone(),
                },
            )],
        );
        let (m, all) = feed(HOLD, steps);
        assert_eq!(shorts(all.last().unwrap()), want, "{rep:?}");
        assert_eq!(m.memory.len(), remembered, "{rep:?}");
    }

    // A failure message that cannot be spoken either: the earcon.
    for rep in [failed_all, device, nothing] {
        let steps = vec![
            (0, press()),
            (1000, release()),
            (1300, captured_with(1, 1.0, false)),
            (
                2000,
                Event::Spoken {
                    turn: 1,
                    report: rep.clone(),
                },
            ),
        ];
        let (_, all) = feed(HOLD, steps);
        assert_eq!(shorts(all.last().unwrap()), error, "{rep:?}");
    }
}

#[test]
fn stale_turn_results_are_dropped() {
    // Each case abandons turn 1 (now on turn 2 or idle) and then delivers turn 1's late result.
    let late: Vec<(&str, Vec<(u64, Event)>)> = vec![
        (
            "capture after cancel",
            vec![(0, press()), (500, cancel()), (900, captured(1))],
        ),
        (
            "transcript after barge-in",
            with(
                hold_to(State::Transcribing),
                vec![(2000, press()), (2600, transcribed(1, "old"))],
            ),
        ),
        (
            "answer after abandon",
            with(
                hold_to(State::Thinking),
                vec![(3000, press()), (4000, answered(1, "old reply"))],
            ),
        ),
        (
            "answer after cancel",
            with(
                hold_to(State::Thinking),
                vec![(3000, cancel()), (4000, answered(1, "old reply"))],
            ),
        ),
        (
            "failure after abandon",
            with(
                hold_to(State::Thinking),
                vec![
                    (3000, press()),
                    (
                        4000,
                        Event::Answered {
                            turn: 1,
                            result: Err(fail(FailureClass::Unreachable)),
                        },
                    ),
                ],
            ),
        ),
        (
            "end of speech of an old turn",
            vec![
                (0, tap()),
                (500, cancel()),
                (600, tap()),
                (900, Event::SpeechEnded { turn: 1 }),
            ],
        ),
        (
            "max record of an old turn",
            vec![
                (0, press()),
                (500, release()),
                (600, press()),
                (30000, timer(1, TimerKind::MaxRecord)),
            ],
        ),
        (
            "long press of an old press",
            vec![
                (0, ctl(ControlCommand::Press)),
                (300, release()),
                (2000, timer(1, TimerKind::LongPress)),
            ],
        ),
        (
            "answer for a turn never asked",
            vec![(0, answered(7, "hello"))],
        ),
        (
            "old answer while the new turn thinks",
            with(
                hold_to(State::Thinking),
                vec![
                    (3000, press()),
                    (4000, release()),
                    (4300, captured(2)),
                    (5000, transcribed(2, "new question")),
                    (6000, answered(1, "old reply")),
                ],
            ),
        ),
        (
            "old transcript while the new turn transcribes",
            with(
                hold_to(State::Transcribing),
                vec![
                    (2000, press()),
                    (3000, release()),
                    (3300, captured(2)),
                    (3400, transcribed(1, "old question")),
                ],
            ),
        ),
        (
            "old capture while the new turn listens",
            vec![
                (0, tap()),
                (500, cancel()),
                (600, tap()),
                (700, captured(1)),
            ],
        ),
    ];
    for (name, steps) in late {
        for mode in [HOLD, TOGGLE] {
            let (_, all) = feed(mode, steps_clone(&steps));
            assert_eq!(
                shorts(all.last().unwrap()),
                Vec::<String>::new(),
                "{name} ({mode:?})"
            );
        }
    }
}

/// Rebuilds a step list (events are not `Clone`: recordings are big and never copied in the app).
fn steps_clone(steps: &[(u64, Event)]) -> Vec<(u64, Event)> {
    steps
        .iter()
        .map(|(ms, e)| {
            let e = match e {
                Event::Button { pressed } => Event::Button { pressed: *pressed },
                Event::Control(c) => Event::Control(*c),
                Event::CaptureStarted { turn } => Event::CaptureStarted { turn: *turn },
                Event::SpeechEnded { turn } => Event::SpeechEnded { turn: *turn },
                Event::Captured { turn, result } => Event::Captured {
                    turn: *turn,
                    result: result.clone(),
                },
                Event::Transcribed { turn, result } => Event::Transcribed {
                    turn: *turn,
                    result: result.clone(),
                },
                Event::Answered { turn, result } => Event::Answered {
                    turn: *turn,
                    result: result.clone(),
                },
                Event::Spoken { turn, report } => Event::Spoken {
                    turn: *turn,
                    report: report.clone(),
                },
                Event::Timer { turn, kind } => Event::Timer {
                    turn: *turn,
                    kind: *kind,
                },
            };
            (*ms, e)
        })
        .collect()
}

#[test]
fn barge_in_on_a_failure_message_keeps_the_failure_outcome() {
    let steps = vec![
        (0, press()),
        (1000, release()),
        (
            1300,
            Event::Captured {
                turn: 1,
                result: Err(fail(FailureClass::AudioFailed)),
            },
        ),
        (1500, press()),
    ];
    let (m, all) = feed(HOLD, steps);
    assert_eq!(
        shorts(all.last().unwrap()),
        [
            "stop_speaking",
            "log 1 audio_failed",
            "start 2",
            "timer MaxRecord 2 30000",
            "led Listening"
        ]
    );
    assert_eq!(m.state(), State::Listening);
}

#[test]
fn a_reply_is_spoken_once() {
    // Duplicate deliveries of the same answer or report must not speak or log twice.
    let steps = with(
        hold_to(State::Speaking),
        vec![
            (4600, answered(1, "Paris. It is lovely.")),
            (7000, spoken(1)),
            (7100, spoken(1)),
            (7200, answered(1, "Paris. It is lovely.")),
        ],
    );
    let (_, all) = feed(HOLD, steps);
    let flat: Vec<String> = all.iter().flat_map(|a| shorts(a)).collect();
    assert_eq!(
        flat.iter().filter(|a| a.starts_with("speak")).count(),
        1,
        "{flat:?}"
    );
    assert_eq!(
        flat.iter().filter(|a| a.starts_with("log")).count(),
        1,
        "{flat:?}"
    );
}

#[test]
fn barge_in_logs_the_interrupted_turn_with_the_speakers_figures() {
    let stopped = SpeechReport {
        sentences: 1,
        first_audio_ms: Some(120),
        stopped: true,
        ..SpeechReport::default()
    };
    let steps = with(
        hold_to(State::Speaking),
        vec![
            (5000, press()),
            (
                5020,
                Event::Spoken {
                    turn: 1,
                    report: stopped,
                },
            ),
        ],
    );
    let (m, all) = feed(HOLD, steps);
    let last = all.last().unwrap();
    let [Action::LogTurn(s)] = last.as_slice() else {
        panic!("want one summary, got {:?}", shorts(last));
    };
    assert_eq!(s.outcome, Outcome::Interrupted);
    assert_eq!(s.first_audio_ms, Some(120));
    assert_eq!(s.sentences, 1);
    assert_eq!(s.total_ms, 5000);
    // The new turn listens on, and the interrupted reply was remembered.
    assert_eq!(m.state(), State::Listening);
    assert_eq!(m.memory.len(), 1);
    assert!(m.status_json().contains(r#""last_outcome":"interrupted""#));
}

#[test]
fn conversation_memory_feeds_ask_and_is_forgotten() {
    // Two turns: the second Ask carries the first exchange.
    let mut steps = hold_to(State::Speaking);
    steps.extend([
        (7000, spoken(1)),
        (10_000, press()),
        (11_000, release()),
        (11_300, captured(2)),
        (12_000, transcribed(2, "and of germany")),
    ]);
    let (mut m, all) = feed(HOLD, steps);
    let Some(Action::Ask { history, .. }) = all.last().unwrap().first() else {
        panic!("no ask");
    };
    assert_eq!(
        history,
        &[Exchange {
            question: "what is the capital of france".into(),
            answer: "Paris. It is lovely.".into(),
        }]
    );

    // A stale forget timer (generation 1, superseded by nothing yet: turn 2 is running) does
    // nothing while a turn runs.
    let t = Instant::now();
    assert!(
        m.handle(timer(1, TimerKind::ForgetConversation), t)
            .is_empty()
    );
    assert_eq!(m.memory.len(), 1);
    // Finish turn 2: generation 2 is armed; generation 1 is now stale.
    m.handle(answered(2, "Berlin."), t);
    let done = shorts(&m.handle(spoken(2), t));
    assert_eq!(done.last().unwrap(), "timer ForgetConversation 2 300000");
    assert!(
        m.handle(timer(1, TimerKind::ForgetConversation), t)
            .is_empty()
    );
    assert_eq!(
        shorts(&m.handle(timer(2, TimerKind::ForgetConversation), t)),
        ["forget"]
    );
    assert_eq!(m.memory.len(), 0);
    // Nothing left to forget: a repeat does nothing.
    assert!(
        m.handle(timer(2, TimerKind::ForgetConversation), t)
            .is_empty()
    );
}

#[test]
fn memory_bounds_come_from_settings_and_reload() {
    let mut s = settings(HOLD);
    s.turns = 2;
    let mut m = Machine::new(s.clone());
    let t = Instant::now();
    for turn in 1..=3u64 {
        m.handle(tap(), t);
        m.handle(tap(), t);
        m.handle(captured(turn), t);
        m.handle(transcribed(turn, &format!("q{turn}")), t);
        m.handle(answered(turn, "a"), t);
        m.handle(spoken(turn), t);
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
    let (m, _) = feed(HOLD, hold_to(State::Thinking));
    assert_eq!(
        m.status_json(),
        r#"{"last_outcome":null,"last_turn":null,"remembered":0,"state":"thinking","turn":1}"#
    );
}

#[test]
fn shutdown_while_speaking_still_logs_the_turn() {
    let (mut m, _) = feed(ButtonMode::Hold, hold_to(State::Speaking));
    assert_eq!(m.state(), State::Speaking);
    let t0 = Instant::now();
    let summaries = m.finish_all(t0 + Duration::from_secs(9));
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0].outcome, Outcome::Cancelled);
    assert_eq!(m.state(), State::Idle);
    assert!(
        m.finish_all(t0 + Duration::from_secs(10)).is_empty(),
        "logged once"
    );
}
