//! `voicebox run` end to end, one press at a time, with real components: systemd-journald,
//! alsa-lib's `file` plugin as the sound card, espeak-ng, pocketsphinx, a real nginx in front of
//! the fake Ollama, and the control socket as the button. Each test owns its daemon, temp dir,
//! ports and socket; journald is shared and read back by the daemon's `_PID`.
//!
//! The test sound card is unpaced (it plays and records far faster than real time), so audio is
//! judged by counting what reached the output file, never by wall time. After each turn the
//! daemon must be idle again: `assert_idle`.
//!
//! Signals, reload and systemd's notifications are in `daemon_lifecycle.rs`.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::PATIENCE;
use crate::support::config::Config;
use crate::support::daemon::{Daemon, Launch, long_story};
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::journald::{field, has_count, num};
use crate::support::nginx::Nginx;
use crate::support::script;
use crate::support::sound::{Audio, spoken_mic};

const QUESTION: &str = "what is the capital of france";
/// Three sentences, no commas (espeak-ng pauses at commas; only sentence gaps should split).
const ANSWER: &str = "Paris is the capital of France. It lies on the river Seine. \
                      About two million people live in the city.";

#[test]
fn a_spoken_question_is_answered_through_nginx_after_two_502s() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, QUESTION);
    // The fake resets the first two connections; nginx turns each into its own 502 page.
    let fake = FakeOllama::start(vec![Reply::Reset, Reply::Reset, Reply::chat(ANSWER)]);
    let nginx = Nginx::start(&format!(
        "location / {{ proxy_pass http://127.0.0.1:{}; }}",
        fake.port()
    ));
    let d = Daemon::start(dir, &Config::daemon(&nginx.url()), &mic);
    let idle_threads = d.thread_count();
    let idle_fds = d.open_files();

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());

    // The question was transcribed by pocketsphinx and sent, on the third attempt.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        nginx
            .wait_log("reset by peer", Duration::from_secs(5))
            .is_some()
            || nginx
                .wait_log("prematurely closed", Duration::from_secs(1))
                .is_some(),
        "nginx did not see the upstream fail"
    );
    let sent = requests[2].json();
    assert_eq!(requests[2].path, "/api/chat");
    assert_eq!(sent["stream"], false);
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap()["role"], "user");
    assert_eq!(messages.last().unwrap()["content"], QUESTION);

    // The reply was played: one stretch of speech per sentence.
    let spoken = Audio::read(dir).speech();
    assert_eq!(spoken.len(), 3, "stretches of speech: {spoken:?}");

    // The reply line and the turn summary in journald.
    let reply = &d.wait_log("ollama reply", 1)[0];
    assert_eq!(num(reply, "RESPONSE_CHARS"), ANSWER.chars().count() as i64);
    assert_eq!(num(reply, "ATTEMPTS"), 3);
    assert_eq!(field(reply, "SYSLOG_IDENTIFIER"), "voicebox");
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "answered");
    assert_eq!(num(&turn, "ATTEMPTS"), 3);
    assert_eq!(num(&turn, "RESPONSE_CHARS"), ANSWER.chars().count() as i64);
    assert_eq!(
        num(&turn, "TRANSCRIPT_CHARS"),
        QUESTION.chars().count() as i64
    );
    assert_eq!(num(&turn, "SENTENCES"), 3);
    for stage in ["RECORD_MS", "STT_MS", "OLLAMA_MS", "FIRST_AUDIO_MS"] {
        assert!(has_count(&turn, stage), "{stage} missing: {turn}");
    }
    assert!(num(&turn, "RECORD_MS") > 0);
    assert!(num(&turn, "TOTAL_MS") >= num(&turn, "STT_MS") + num(&turn, "OLLAMA_MS"));
    assert_eq!(field(&turn, "PRIORITY"), "5", "INFO");
    // What a user reads about a turn at INFO: the reply line and the summary, nothing else
    // (the retries are warnings, the rest is DEBUG).
    let info: Vec<String> = d
        .journal()
        .iter()
        .filter(|e| field(e, "PRIORITY") == "5")
        .map(|e| field(e, "MESSAGE").to_string())
        .filter(|m| !["voicebox ready", "control socket listening"].contains(&m.as_str()))
        .collect();
    assert_eq!(info, ["ollama reply", "turn"]);

    // Privacy: the transcript and the reply never appear at INFO or above.
    for e in d.journal() {
        if num(&e, "PRIORITY") <= 5 {
            let text = e.to_string();
            assert!(!text.contains("capital of"), "private text at INFO: {e}");
        }
    }

    assert_idle(&d, idle_threads, idle_fds, true);
}

/// Idle means idle: the output closed after its linger, the input closed, no worker thread or
/// child process is left, and the process burns no CPU.
///
/// `lingered`: every output was closed by its linger (not by a stop), so the log shows each
/// open matched by a close; stopped outputs are checked through the threads (cpal runs one
/// thread per open stream).
fn assert_idle(d: &Daemon, idle_threads: usize, idle_fds: usize, lingered: bool) {
    let end = Instant::now() + PATIENCE;
    if lingered {
        loop {
            let j = d.journal();
            let count = |m: &str| j.iter().filter(|e| e["MESSAGE"] == m).count();
            let (opened, closed) = (count("output opened"), count("output closed after linger"));
            if opened > 0 && opened == closed {
                break;
            }
            assert!(
                Instant::now() < end,
                "output opened {opened}×, closed {closed}×"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let end = Instant::now() + PATIENCE;
    while d.thread_count() != idle_threads {
        assert!(
            Instant::now() < end,
            "threads after the turn {:?}, {idle_threads} when idle before it",
            d.threads()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Files, pipes and devices as before the turn: a stream, a pipe to a hook or the `file`
    // plugin's `cat` would show here. Sockets are left out: control clients come and go, and
    // the HTTP client keeps its connection to the server alive for the next question.
    while d.open_files() != idle_fds {
        assert!(
            Instant::now() < end,
            "{} non-socket file descriptors open after the turn, {idle_fds} before it: {:?}",
            d.open_files(),
            d.fds()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let children = d.descendants();
    assert!(children.is_empty(), "child processes left: {children:?}");
    // Ticks, not wall time: a polling loop or an open unpaced stream burns whole seconds of
    // CPU here; an idle process none. One tick of slack for a tick boundary.
    let before = d.cpu_ticks();
    std::thread::sleep(Duration::from_secs(2));
    let after = d.cpu_ticks();
    assert!(
        after - before <= 1,
        "idle daemon used {} ticks",
        after - before
    );
}

#[test]
fn server_down_is_heard_and_the_next_press_is_answered_once_it_is_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, QUESTION);
    let port = support::free_port();
    let mut config = Config::daemon(&format!("http://127.0.0.1:{port}"));
    config.set("ollama", "attempts", "2");
    let d = Daemon::start(dir, &config, &mic);
    let (idle_threads, idle_fds) = (d.thread_count(), d.open_files());

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "unreachable");
    let heard = Audio::read(dir).speech();
    assert!(
        !heard.is_empty(),
        "the failure was not spoken: {:?}",
        Audio::read(dir).stretches()
    );
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "unreachable");
    assert!(
        d.journal()
            .iter()
            .any(|e| e["MESSAGE"] == "reply spoken" && e["TURN"] == "1" && e["SENTENCES"] == "1"),
        "the message was not spoken as one sentence: {}",
        d.journal_text()
    );

    let fake = FakeOllama::start_on(port, vec![Reply::chat("The server is back. Paris it is.")]);
    d.talk(2);
    assert_eq!(d.wait_turn_end(2), "answered", "{}", d.journal_text());
    assert_eq!(field(&d.turn_summary(2), "OUTCOME"), "answered");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let messages = requests[0].json()["messages"].clone();
    assert_eq!(
        messages.as_array().unwrap().last().unwrap()["content"],
        QUESTION
    );
    assert_eq!(Audio::read(dir).speech().len(), heard.len() + 2);
    assert_idle(&d, idle_threads, idle_fds, true);
}

#[test]
fn a_chinese_question_that_fails_is_answered_in_chinese_in_a_chinese_voice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, QUESTION);
    // The default TTS command (nothing configured), through a wrapper that logs what it says.
    let (path, log) = support::logging_espeak(dir);
    let port = support::free_port();
    let mut config = Config::daemon(&format!("http://127.0.0.1:{port}"));
    config.set("ollama", "attempts", "1").set(
        "stt",
        "command",
        &Config::fixed_stt("今天天气怎么样"),
    );
    let d = Daemon::launch(dir, &config, Launch::new(&mic).env("PATH", path));

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "unreachable", "{}", d.journal_text());
    assert_eq!(
        support::espeak_calls(&log),
        [(
            "cmn-latn-pinyin".to_string(),
            "我连不上服务器。".to_string()
        )]
    );
    assert!(
        !Audio::read(dir).speech().is_empty(),
        "the message was not heard"
    );
}

#[test]
fn a_press_while_speaking_stops_the_reply_and_listens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, "tell me a story");
    let (story, sentences) = long_story();
    let fake = FakeOllama::start(vec![Reply::chat(&story)]);
    // espeak-ng at the pace of a slower engine (piper on a Pi): the unpaced test device plays
    // a sentence the moment it is synthesized, so synthesis sets the pace of the reply, and
    // the test must be able to press before the end of it.
    let tts = script(dir, "tts.sh", "sleep 0.3; exec espeak-ng --stdout --stdin");
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "command", &Config::fixed_stt("tell me a story"))
        .set("tts", "command", &Config::argv(&[tts.to_str().unwrap()]))
        // A long recording keeps the second turn in Listening long enough to be seen.
        .set("audio", "max_record_s", "30");
    let d = Daemon::start(dir, &config, &mic);
    let (idle_threads, idle_fds) = (d.thread_count(), d.open_files());

    d.talk(1);
    d.wait_state("speaking");
    // Let the reply be heard first, so the press cuts a reply that is really playing.
    let end = Instant::now() + PATIENCE;
    while Audio::read(dir).speech().is_empty() {
        assert!(Instant::now() < end, "the reply never started playing");
        std::thread::sleep(Duration::from_millis(20));
    }
    d.send("press");
    let s = d.wait_status("listening for turn 2", |s| s["turn"] == 2);
    assert_eq!(s["state"], "listening", "{s}");
    d.send("cancel");
    d.send("release");
    assert_eq!(d.wait_turn_end(2), "cancelled");

    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "interrupted");
    let report = d
        .journal()
        .into_iter()
        .find(|e| e["MESSAGE"] == "reply spoken" && e["TURN"] == "1")
        .expect("the speaker reported on turn 1");
    assert_eq!(field(&report, "STOPPED"), "true");
    assert_eq!(num(&report, "SENTENCES"), sentences as i64);
    let played = d
        .journal()
        .iter()
        .filter(|e| e["MESSAGE"] == "sentence played" && e["TURN"] == "1")
        .count();
    let heard = Audio::read(dir).speech();
    // Uninterrupted, every sentence is one stretch (the first test shows it): 30 here.
    assert!(
        (1..=sentences / 3).contains(&played) && (1..=sentences / 3).contains(&heard.len()),
        "{played} sentences played, {} stretches heard, of {sentences}",
        heard.len()
    );
    // The stopped synthesis, its hook and the stopped output are all gone.
    assert_idle(&d, idle_threads, idle_fds, false);
}

#[test]
fn a_press_on_a_silent_mic_says_it_did_not_catch_that_without_running_stt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let marker = dir.join("stt-ran");
    let fake = FakeOllama::start(vec![]);
    let mut config = Config::daemon(&fake.url());
    config.set(
        "stt",
        "command",
        &Config::argv(&[
            "sh",
            "-c",
            &format!("touch '{}'; echo heard", marker.display()),
        ]),
    );
    let d = Daemon::start(dir, &config, Path::new("/dev/zero"));

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "didnt_catch", "{}", d.journal_text());
    assert!(!marker.exists(), "STT ran on silence");
    assert!(
        !Audio::read(dir).speech().is_empty(),
        "\"didn't catch that\" was not heard: {:?}",
        Audio::read(dir).stretches()
    );
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "didnt_catch");
    assert!(
        turn.get("STT_MS").is_none(),
        "STT never ran, so no STT_MS: {turn}"
    );
    assert!(fake.requests().is_empty());
}
