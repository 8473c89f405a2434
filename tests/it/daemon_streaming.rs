//! `voicebox run` against a server that generates at a model's pace (the fake's `Paced`
//! replies): a streamed reply is heard as it arrives, a cut stream keeps what was said and says
//! so, a question nobody waits for is hung up, and the model is loaded while the user speaks.
//!
//! Timestamps cross the process boundary as wall-clock time: the fake records when it sent each
//! token and when the client hung up; the daemon logs when each sentence started playing.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::fake_ollama::paced::tokens;
use crate::support::fake_ollama::{FakeOllama, Pace, Reply};
use crate::support::journald::{field, num};
use crate::support::sound::{Audio, tone_mic};
use crate::support::{poll, script};

const FIRST: &str = "Paris is the capital of France.";
const SECOND: &str = "It lies on the river Seine.";
const ANSWER: &str = "Paris is the capital of France. It lies on the river Seine. \
                      About two million people live in the city.";

/// A streaming daemon that hears "where is paris" and writes every sentence it synthesizes, one
/// per line, to `DIR/said.txt`.
fn config(url: &str, dir: &Path) -> Config {
    let said = dir.join("said.txt");
    let tts = script(
        dir,
        "tts.sh",
        &format!(
            "text=$(cat); printf '%s\\n' \"$text\" >> '{}'; printf '%s' \"$text\" | exec espeak-ng --stdout --stdin",
            said.display()
        ),
    );
    let mut c = Config::daemon(url);
    c.set("ollama", "stream", "true")
        .set("stt", "command", &Config::fixed_stt("where is paris"))
        .set("tts", "command", &Config::argv(&[tts.to_str().unwrap()]));
    c
}

fn said(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("said.txt")).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

#[test]
fn the_first_sentence_is_heard_before_the_server_has_produced_the_second() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 10 tokens/s: the second sentence takes the server 0.7 s after the first one's end.
    let fake = FakeOllama::start(vec![Reply::Paced(Pace::new(200, 10.0, ANSWER))]);
    let d = Daemon::start(dir, &config(&fake.url(), dir), &tone_mic(dir));
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());

    let run = &fake.runs()[0];
    assert!(run.streamed, "{run:?}");
    let first_played = d.wait_entry("sentence 1 played", |e| {
        e["MESSAGE"] == "sentence played" && e["TURN"] == "1" && e["SENTENCE"] == "1"
    });
    let second_made = run
        .sent_through(&format!("{FIRST} {SECOND}"))
        .expect("the server sent the second sentence");
    let ahead_ms = (unix_ns(second_made) - num(&first_played, "PLAY_START_NS")) / 1_000_000;
    assert!(
        ahead_ms > 0,
        "the first sentence started {} ms after the server made the second",
        -ahead_ms
    );
    assert_eq!(
        said(dir),
        [FIRST, SECOND, "About two million people live in the city."]
    );
    assert_eq!(Audio::read(dir).speech().len(), 3);

    // One reply line with the whole reply's length; the summary agrees.
    let replies = d.wait_log("ollama reply", 1);
    assert_eq!(replies.len(), 1, "{}", d.journal_text());
    assert_eq!(
        num(&replies[0], "RESPONSE_CHARS"),
        ANSWER.chars().count() as i64
    );
    assert_eq!(num(&replies[0], "ATTEMPTS"), 1);
    let turn = d.turn_summary(1);
    assert_eq!(num(&turn, "RESPONSE_CHARS"), ANSWER.chars().count() as i64);
    assert_eq!(num(&turn, "SENTENCES"), 3);
}

#[test]
fn a_finished_sentence_is_spoken_while_the_model_pauses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The model stops for 3 s after the first sentence.
    let first = tokens(FIRST).len();
    let fake = FakeOllama::start(vec![Reply::Paced(
        Pace::new(200, 20.0, ANSWER).pause_after(first, 3000),
    )]);
    let d = Daemon::start(dir, &config(&fake.url(), dir), &tone_mic(dir));
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());
    let run = &fake.runs()[0];
    let first_played = d.wait_entry("sentence 1 played", |e| {
        e["MESSAGE"] == "sentence played" && e["TURN"] == "1" && e["SENTENCE"] == "1"
    });
    let resumed = unix_ns(run.sent[first]);
    let started = num(&first_played, "PLAY_START_NS");
    assert!(
        started < resumed - 2_000_000_000,
        "the first sentence started {} ms before the model went on, not while it paused",
        (resumed - started) / 1_000_000
    );
    assert_eq!(
        said(dir),
        [FIRST, SECOND, "About two million people live in the city."]
    );
}

#[test]
fn a_stream_a_proxy_delivers_at_once_is_spoken_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut body = String::new();
    for t in tokens(ANSWER) {
        let line = serde_json::json!({"model": "llama3.2",
            "message": {"role": "assistant", "content": t}, "done": false});
        body.push_str(&format!("{line}\n"));
    }
    body.push_str(r#"{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#);
    body.push('\n');
    let fake = FakeOllama::start(vec![Reply::ndjson(&body, body.len())]);
    let d = Daemon::start(dir, &config(&fake.url(), dir), &tone_mic(dir));
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());
    assert_eq!(said(dir).len(), 3, "{:?}", said(dir));
    assert_eq!(fake.requests()[0].json()["stream"], true);
}

#[test]
fn a_stream_cut_midway_keeps_what_was_said_repeats_nothing_and_says_it_was_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let arrived = format!("{FIRST} It lies on");
    let cut_after = tokens(&arrived).len();
    let fake = FakeOllama::start(vec![
        Reply::Paced(Pace::new(100, 20.0, ANSWER).cut_after(cut_after)),
        Reply::chat("A retry would say this."),
    ]);
    let d = Daemon::start(dir, &config(&fake.url(), dir), &tone_mic(dir));
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "cut_off", "{}", d.journal_text());

    let said = said(dir);
    assert_eq!(said.first().map(String::as_str), Some(FIRST), "{said:?}");
    // The notice is a sentence of its own, not run on from the fragment before it.
    assert_eq!(
        said.last().map(String::as_str),
        Some("The answer was cut off."),
        "{said:?}"
    );
    let mut unique = said.clone();
    unique.dedup();
    assert_eq!(unique, said, "a sentence was said twice");
    assert!(said.iter().all(|s| !s.contains("retry")), "{said:?}");
    assert_eq!(fake.requests().len(), 1, "no retry once text was spoken");
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "cut_off");
    assert_eq!(num(&turn, "RESPONSE_CHARS"), arrived.chars().count() as i64);
    assert!(
        !d.journal().iter().any(|e| e["MESSAGE"] == "ollama reply"),
        "a cut reply is not a reply"
    );
}

#[test]
fn a_question_nobody_waits_for_is_hung_up_within_a_second() {
    // (streamed, what ends it, the state it ends): a cancel or a new press while the server
    // is still thinking (nothing sent yet), or while the streamed reply is being spoken.
    let cases = [
        (false, "cancel", "thinking"),
        (false, "press", "thinking"),
        (true, "press", "speaking"),
        (true, "cancel", "speaking"),
    ];
    for (stream, gesture, state) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // Thinking: a minute to the first token. Speaking: 2 tokens/s, so the first
        // sentence is still arriving.
        let pace = if stream {
            Pace::new(0, 2.0, ANSWER)
        } else {
            Pace::new(60_000, 20.0, ANSWER)
        };
        let fake = FakeOllama::start(vec![Reply::Paced(pace)]);
        let mut c = config(&fake.url(), dir);
        c.set("ollama", "stream", &stream.to_string())
            .set("ollama", "request_timeout_s", "120");
        let d = Daemon::start(dir, &c, &tone_mic(dir));
        d.talk(1);
        d.wait_state(state);
        fake.wait_run("a question", |_| true);
        let sent = SystemTime::now();
        d.send(gesture);
        let after = fake.hang_up_after(sent);
        assert!(
            after < Duration::from_secs(1),
            "{gesture} while {state} (stream {stream}): hung up after {after:?}"
        );
        if gesture == "press" {
            d.send("release");
        }
    }
}

#[test]
fn the_model_loads_during_the_press_and_the_question_does_not_wait_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The start-up warm-up is answered at once; the load at the press takes a minute.
    let fake = FakeOllama::start(vec![
        Reply::chat("Paris is the capital of France."),
        Reply::chat("It lies on the river Seine."),
    ])
    .answer_loads(vec![
        Reply::loaded(),
        Reply::Paced(Pace::new(60_000, 20.0, "")),
    ]);
    let mut c = config(&fake.url(), dir);
    c.set("ollama", "warm_up", "true")
        .set("ollama", "stream", "false")
        .set("ollama", "request_timeout_s", "120");
    let d = Daemon::start(dir, &c, &tone_mic(dir));
    d.wait_log("ollama model warmed up", 1);

    let pressed = SystemTime::now();
    d.send("press");
    d.wait_status("turn 1 recorded", |s| {
        s["turn"] == 1 && s["state"] != "listening" || s["last_turn"] == 1
    });
    let released = SystemTime::now();
    d.send("release");
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());

    let loads = fake.loads();
    assert_eq!(loads.len(), 2, "start-up and press: {loads:?}");
    let load = &loads[1];
    assert!(
        pressed <= load.received && load.received <= released,
        "the load did not arrive during the press"
    );
    assert_eq!(load.json()["prompt"], "");
    let question = &fake.requests()[0];
    assert!(question.received >= load.received);
    let loading = &fake.runs()[0];
    assert!(
        loading.ended.is_none() && loading.hung_up.is_none(),
        "the question was answered while the load was still running: {loading:?}"
    );

    // A press while that load is still in flight asks for no other.
    d.talk(2);
    assert_eq!(d.wait_turn_end(2), "answered");
    assert_eq!(fake.loads().len(), 2);
    assert!(
        poll(
            Duration::from_millis(200),
            Duration::from_millis(20),
            || { (fake.loads().len() > 2).then_some(()) }
        )
        .is_none()
    );
}
