//! The step language of the machine's table tests: events in, actions out, both as short text.
//!
//! Steps are `EVENT@MS`, separated by spaces; `hold:STATE` or `toggle:STATE` stands for the
//! steps that bring turn 1 to `listening`, `transcribing`, `thinking` or `speaking` in that
//! button mode (by 4500 ms). Events:
//!
//! | text | event |
//! |---|---|
//! | `press`, `release` | the button |
//! | `ctl-press`, `ctl-release`, `tap`, `cancel` | control-socket commands |
//! | `started(T)`, `speech-ended(T)` | `CaptureStarted`, `SpeechEnded` of turn T |
//! | `captured(T)` | 1.5 s with speech; `captured(T,0.2s)`, `captured(T,2.8s,silent)` |
//! | `transcribed(T,"text")`, `answered(T,"text")` | a transcript, a reply |
//! | `replying(T,"text")` | a piece of a streamed reply |
//! | `captured(T,C)`, `transcribed(T,C)`, `answered(T,C)` | a failure of class C (`too_slow`) |
//! | `spoken(T)` | two sentences played (first audio at 150 ms) |
//! | `spoken(T,sentences=3,failed=1)` | only what is listed (keys below) |
//! | `timer(T,KIND)` | `LongPress`, `MaxRecord`, `ForgetConversation`, `ThinkingCue` |
//! | `volume(N)`, `volume-up`, `volume-down` | `ctl volume N`, a volume step |
//! | `say("text")` | `ctl say text` |
//!
//! `spoken` keys: `sentences=N`, `failed=N`, `first_audio=MS`, `stopped`, `device_error` (the
//! output did not open).
//! Actions print as `start 1 detect`, `start 2 detect within 5000` (a follow-up window, ms),
//! `stop 1`, `ask 1 "question" h0` (h: exchanges remembered), `speak 1 "text"` or
//! `speak 1 <didnt_catch>` (the `messages.*` sentence of that class; `<zh:didnt_catch>` in
//! `[messages.zh]`), `speak_part 1 "text"`, `end_speech 1` or `end_speech 1 <cut_off>`,
//! `earcon Stopped`, `timer LongPress 1 2000` (kind, id, ms), `led Idle`, `log 1 answered`
//! (turn, outcome; `announce 2 announced` for an announcement), `forget`, `cue`, `stop_cue`,
//! `volume 40`, `dropped 12` (an announcement of 12 characters)...; a step's actions are joined
//! by "; ".

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use crate::audio::Clip;
use crate::config::{self, ButtonMode, Messages};
use crate::event::{
    Answer, ControlCommand, Event, Failure, FailureClass, Recording, SpeechReport, TimerKind,
    Transcript, TurnId, VolumeChange,
};
use crate::machine::{Action, Machine, Settings};

/// Every failure class, for parsing `C` and naming spoken messages.
const CLASSES: [FailureClass; 12] = [
    FailureClass::Unreachable,
    FailureClass::ProxyError,
    FailureClass::TooSlow,
    FailureClass::ModelMissing,
    FailureClass::Rejected,
    FailureClass::Unauthorized,
    FailureClass::BadReply,
    FailureClass::DidntCatch,
    FailureClass::SttFailed,
    FailureClass::AudioFailed,
    FailureClass::CutOff,
    FailureClass::Cancelled,
];

/// The machine's settings from the default config, in `mode`.
pub fn settings(mode: ButtonMode) -> Settings {
    let config = config::parse(config::DEFAULT_TOML, None, &|_| None).unwrap();
    let mut s = Settings::from_config(&config);
    s.mode = mode;
    s
}

static MESSAGES: LazyLock<Messages> = LazyLock::new(|| settings(ButtonMode::Hold).messages);

/// Feeds `steps` to a new machine; returns it and the actions of every step.
pub fn run(mode: ButtonMode, steps: &str) -> (Machine, Vec<Vec<Action>>) {
    run_with(settings(mode), steps)
}

/// `run` with settings of the test's own.
pub fn run_with(settings: Settings, steps: &str) -> (Machine, Vec<Vec<Action>>) {
    let t0 = Instant::now();
    let mut m = Machine::new(settings);
    let all = parse(steps)
        .into_iter()
        .map(|(ms, e)| m.handle(e, t0 + Duration::from_millis(ms)))
        .collect();
    (m, all)
}

/// A step's actions as text, joined by "; ".
pub fn shorts(actions: &[Action]) -> String {
    actions.iter().map(short).collect::<Vec<_>>().join("; ")
}

fn short(a: &Action) -> String {
    match a {
        Action::StartCapture {
            turn,
            detect_end,
            speech_within,
        } => {
            let within =
                speech_within.map_or(String::new(), |w| format!(" within {}", w.as_millis()));
            format!(
                "start {turn}{}{within}",
                if *detect_end { " detect" } else { "" }
            )
        }
        Action::LoadModel => "load".into(),
        Action::StopCapture { turn } => format!("stop {turn}"),
        Action::CancelCapture => "cancel_capture".into(),
        Action::Transcribe { turn, .. } => format!("transcribe {turn}"),
        Action::CancelTranscribe { turn } => format!("cancel_stt {turn}"),
        Action::Ask {
            turn,
            question,
            history,
            ..
        } => format!("ask {turn} {question:?} h{}", history.len()),
        Action::CancelAsk { turn } => format!("cancel_ask {turn}"),
        Action::Speak { turn, text } => format!("speak {turn} {}", spoken_text(text)),
        Action::SpeakPart { turn, text } => format!("speak_part {turn} {text:?}"),
        Action::EndSpeech { turn, tail: None } => format!("end_speech {turn}"),
        Action::EndSpeech {
            turn,
            tail: Some(tail),
        } => format!("end_speech {turn} {}", spoken_text(tail)),
        Action::StopSpeaking => "stop_speaking".into(),
        Action::Earcon(e) => format!("earcon {e:?}"),
        Action::StartTimer { turn, kind, after } => {
            format!("timer {kind:?} {turn} {}", after.as_millis())
        }
        Action::Led(l) => format!("led {l:?}"),
        Action::LogTurn(s) => {
            let what = if s.announcement { "announce" } else { "log" };
            format!("{what} {} {}", s.turn_id, s.outcome.as_str())
        }
        Action::ForgetConversation => "forget".into(),
        // The reason up to its colon: "ignored press".
        Action::Ignored(why) => format!("ignored {}", why.split(' ').next().unwrap_or("")),
        // The reason's first words: "warn no speech".
        Action::Warn(why) => {
            let words: Vec<&str> = why.split(' ').take(2).collect();
            format!("warn {}", words.join(" "))
        }
        Action::StartThinkingCue => "cue".into(),
        Action::StopThinkingCue => "stop_cue".into(),
        Action::SetVolume(v) => format!("volume {v}"),
        Action::AnnouncementDropped { chars } => format!("dropped {chars}"),
    }
}

/// `<class>` for a class's English message, `<lang:class>` for another language's, else the
/// text quoted.
fn spoken_text(text: &str) -> String {
    let message = MESSAGES.languages().find_map(|lang| {
        CLASSES
            .iter()
            .find(|c| c.message(&MESSAGES, lang, "en") == Some(text))
            .map(|c| (lang, c.as_str()))
    });
    match message {
        Some(("en", class)) => format!("<{class}>"),
        Some((lang, class)) => format!("<{lang}:{class}>"),
        None => format!("{text:?}"),
    }
}

/// `(ms, event)` for each step of `text`.
pub fn parse(text: &str) -> Vec<(u64, Event)> {
    let mut steps = Vec::new();
    for token in split_outside_quotes(text, char::is_whitespace) {
        match token.rsplit_once('@') {
            Some((event_text, ms)) => {
                let ms = ms
                    .parse()
                    .unwrap_or_else(|_| panic!("bad time in {token:?}"));
                steps.push((ms, event(event_text)));
            }
            None => steps.extend(parse(&path(&token))),
        }
    }
    steps
}

/// The steps that bring turn 1 to a state: `hold:thinking`.
fn path(token: &str) -> String {
    // Each entry: the steps that lead from the state before to this one.
    let (hold, toggle): ([&str; 4], [&str; 4]) = (
        [
            "press@0",
            "release@1500 captured(1)@1800",
            r#"transcribed(1,"what is the capital of france")@2500"#,
            r#"answered(1,"Paris. It is lovely.")@4500"#,
        ],
        [
            "press@0 release@200",
            "press@1500 release@1600 captured(1)@1900",
            r#"transcribed(1,"what is the capital of france")@2500"#,
            r#"answered(1,"Paris. It is lovely.")@4500"#,
        ],
    );
    let (mode, state) = token
        .split_once(':')
        .unwrap_or_else(|| panic!("neither EVENT@MS nor MODE:STATE: {token:?}"));
    let legs = match mode {
        "hold" => hold,
        "toggle" => toggle,
        _ => panic!("no button mode {mode:?} in {token:?}"),
    };
    let n = match state {
        "listening" => 1,
        "transcribing" => 2,
        "thinking" => 3,
        "speaking" => 4,
        _ => panic!("no path to {state:?} in {token:?}"),
    };
    legs[..n].join(" ")
}

/// One event: `name` or `name(arg,...)`.
pub fn event(text: &str) -> Event {
    let (name, args) = match text.split_once('(') {
        Some((name, rest)) => {
            let inside = rest
                .strip_suffix(')')
                .unwrap_or_else(|| panic!("no closing parenthesis: {text:?}"));
            (name, split_outside_quotes(inside, |c| c == ','))
        }
        None => (text, Vec::new()),
    };
    let turn = || -> TurnId {
        let arg = args
            .first()
            .unwrap_or_else(|| panic!("no turn in {text:?}"));
        arg.parse()
            .unwrap_or_else(|_| panic!("bad turn in {text:?}"))
    };
    let rest = args.get(1..).unwrap_or_default();
    match name {
        "press" => Event::Button { pressed: true },
        "release" => Event::Button { pressed: false },
        "ctl-press" => Event::control(ControlCommand::Press),
        "ctl-release" => Event::control(ControlCommand::Release),
        "tap" => Event::control(ControlCommand::Tap),
        "cancel" => Event::control(ControlCommand::Cancel),
        "volume-up" => Event::Volume(VolumeChange::Up),
        "volume-down" => Event::Volume(VolumeChange::Down),
        "volume" => Event::Volume(VolumeChange::Set(turn() as u8)),
        "say" => Event::Announce(quoted(&args, text)),
        "started" => Event::CaptureStarted { turn: turn() },
        "speech-ended" => Event::SpeechEnded { turn: turn() },
        "captured" => Event::Captured {
            turn: turn(),
            result: failure(rest).map_or_else(|| Ok(recording(rest)), Err),
        },
        "transcribed" => Event::Transcribed {
            turn: turn(),
            result: failure(rest).map_or_else(
                || {
                    Ok(Transcript {
                        text: quoted(rest, text),
                        stt_ms: 700,
                    })
                },
                Err,
            ),
        },
        "answered" => Event::Answered {
            turn: turn(),
            result: failure(rest).map_or_else(|| Ok(answer(&quoted(rest, text))), Err),
        },
        "replying" => Event::Replying {
            turn: turn(),
            text: quoted(rest, text),
        },
        "spoken" => Event::Spoken {
            turn: turn(),
            report: report(rest),
        },
        "timer" => Event::Timer {
            turn: turn(),
            kind: match rest {
                [k] if k == "LongPress" => TimerKind::LongPress,
                [k] if k == "MaxRecord" => TimerKind::MaxRecord,
                [k] if k == "ForgetConversation" => TimerKind::ForgetConversation,
                [k] if k == "ThinkingCue" => TimerKind::ThinkingCue,
                _ => panic!("bad timer kind in {text:?}"),
            },
        },
        _ => panic!("no event {name:?} in {text:?}"),
    }
}

/// `Some` when the one argument is a failure class name.
fn failure(args: &[String]) -> Option<Failure> {
    let [name] = args else { return None };
    let class = CLASSES.iter().find(|c| c.as_str() == name)?;
    Some(Failure::new(*class, "test failure"))
}

/// `[SECSs][,silent]`: 1.5 s with speech by default.
fn recording(args: &[String]) -> Recording {
    let mut secs = 1.5f32;
    let mut has_speech = true;
    for a in args {
        match a.strip_suffix('s').and_then(|n| n.parse().ok()) {
            Some(s) => secs = s,
            None if a == "silent" => has_speech = false,
            None => panic!("bad recording argument {a:?}"),
        }
    }
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

fn answer(text: &str) -> Answer {
    Answer {
        text: text.into(),
        attempts: 3,
        ollama_ms: 2000,
        model: "llama3.2".into(),
        done_reason: Some("stop".into()),
        tools: Vec::new(),
    }
}

/// No arguments: two sentences played (first audio 150 ms, 3 s in all). Otherwise only what
/// the arguments say.
fn report(args: &[String]) -> SpeechReport {
    if args.is_empty() {
        return SpeechReport {
            sentences: 2,
            first_audio_ms: Some(150),
            total_ms: 3000,
            ..SpeechReport::default()
        };
    }
    let mut r = SpeechReport::default();
    for a in args {
        let number = |v: &str| -> u64 { v.parse().unwrap_or_else(|_| panic!("bad {a:?}")) };
        match a.split_once('=') {
            Some(("sentences", v)) => r.sentences = number(v) as usize,
            Some(("failed", v)) => r.failed = number(v) as usize,
            Some(("first_audio", v)) => r.first_audio_ms = Some(number(v)),
            None if a == "stopped" => r.stopped = true,
            None if a == "device_error" => r.device_error = Some("no such device".into()),
            _ => panic!("bad report argument {a:?}"),
        }
    }
    r
}

/// The one quoted argument, unescaped (`\n`, `\"`, `\\`).
fn quoted(args: &[String], text: &str) -> String {
    let [arg] = args else {
        panic!("want one \"text\" or a failure class in {text:?}")
    };
    let inner = arg
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a quoted text or a failure class: {arg:?} in {text:?}"));
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
        } else if let Some(e) = chars.next() {
            out.push(if e == 'n' { '\n' } else { e });
        }
    }
    out
}

/// Splits at `sep` characters that are not inside "quotes" or (parentheses); drops empty parts.
fn split_outside_quotes(text: &str, sep: impl Fn(char) -> bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut in_quotes, mut escaped, mut depth) = (false, false, 0);
    for c in text.chars() {
        let split = !in_quotes && depth == 0 && sep(c);
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes => depth -= 1,
            _ => {}
        }
        if split {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}
