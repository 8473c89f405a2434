//! `voicebox run` with remote speech, end to end: the Wyoming servers of
//! `tests/wyoming/servers.py` (official Python package, pocketsphinx, espeak-ng), the fake
//! Ollama, the test sound card, journald. What the servers logged tells what reached them, and
//! when.

use crate::support;

use std::time::{Duration, SystemTime};

use crate::support::config::Config;
use crate::support::daemon::{Daemon, long_story};
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::journald::{field, has_count, num};
use crate::support::sound::{Audio, PacedMic, spoken_mic};
use crate::support::speech_servers::Server;

const QUESTION: &str = "what is the capital of france";
const ANSWER: &str = "Paris is the capital of France. It lies on the river Seine. \
                      About two million people live in the city.";

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn a_spoken_question_is_answered_with_both_directions_remote() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "stt", &[]);
    let tts = Server::start(dir, "tts", &[]);
    let fake = FakeOllama::start(vec![Reply::chat(ANSWER)]);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("tts", "url", &tts.wyoming_url())
        // Nothing local is left to run.
        .set("stt", "command", &Config::argv(&["false"]))
        .set("tts", "command", &Config::argv(&["false"]));
    let d = Daemon::start(dir, &config, &spoken_mic(dir, QUESTION));

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());
    let asked = fake.requests()[0].json();
    assert_eq!(
        asked["messages"].as_array().unwrap().last().unwrap()["content"],
        QUESTION
    );
    assert_eq!(
        tts.synthesized(),
        [
            "Paris is the capital of France.",
            "It lies on the river Seine.",
            "About two million people live in the city."
        ]
    );
    assert_eq!(Audio::read(dir).speech().len(), 3);
    let turn = d.turn_summary(1);
    assert_eq!(num(&turn, "TRANSCRIPT_CHARS"), QUESTION.len() as i64);
    assert!(has_count(&turn, "STT_MS"), "{turn}");
    assert_eq!(
        stt.wait_for("disconnected", 1).len(),
        1,
        "one connection per turn"
    );
}

#[test]
fn audio_reaches_the_stt_server_while_the_button_is_still_held() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "stt", &[]);
    let fake = FakeOllama::start(vec![Reply::chat(ANSWER)]);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("audio", "buffer_frames", "512")
        .set("audio", "max_record_s", "10");
    // A microphone in real time: 0.5 s of silence, the question (~2 s), then silence.
    let mic = PacedMic::new(dir, &spoken_mic(dir, QUESTION));
    let d = Daemon::start(dir, &config, &mic.fifo);

    d.send("press");
    // A second of audio has arrived at the server, and the user is still speaking.
    let one_second = 16000 * 2;
    let got = support::poll(support::PATIENCE, Duration::from_millis(20), || {
        let bytes: u64 = stt
            .received("audio-chunk")
            .iter()
            .map(|c| c["bytes"].as_u64().unwrap())
            .sum();
        (bytes >= one_second).then_some(bytes)
    });
    assert!(
        got.is_some(),
        "no audio reached the server: {:?}",
        stt.log()
    );
    assert_eq!(
        d.status()["state"],
        "listening",
        "the recording is still going on"
    );
    assert!(stt.received("audio-stop").is_empty());
    // Hold until the question has been said (3 s of audio), then let go.
    support::poll(support::PATIENCE, Duration::from_millis(20), || {
        let bytes: u64 = stt
            .received("audio-chunk")
            .iter()
            .map(|c| c["bytes"].as_u64().unwrap())
            .sum();
        (bytes >= 3 * one_second).then_some(())
    })
    .expect("three seconds of audio");
    let released = unix(SystemTime::now());
    d.send("release");
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());
    // Recognised (this test is about timing; a paced FIFO under a loaded machine now and then
    // costs pocketsphinx a small word, so only the gist is required here).
    let asked = fake.requests()[0].json();
    let question = asked["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    assert!(
        question.as_str().unwrap().contains("capital of france"),
        "{question}"
    );

    // By the server's clock: most chunks came before the release, audio-stop after it.
    let chunks = stt.received("audio-chunk");
    let before = chunks
        .iter()
        .filter(|c| c["t"].as_f64().unwrap() < released)
        .count();
    assert!(
        before * 10 >= chunks.len() * 8,
        "{before} of {} chunks before the release",
        chunks.len()
    );
    let stop = stt.received("audio-stop")[0]["t"].as_f64().unwrap();
    assert!(stop > released, "audio-stop came before the release");
}

#[test]
fn an_stt_server_that_stalls_times_out_and_the_failure_is_spoken() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "stt", &["--stall"]);
    let fake = FakeOllama::start(vec![]);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("stt", "timeout_ms", "2000");
    let d = Daemon::start(dir, &config, &spoken_mic(dir, QUESTION));

    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "stt_failed", "{}", d.journal_text());
    // "Speech recognition failed." was heard, through the local espeak-ng hook.
    assert_eq!(Audio::read(dir).speech().len(), 1);
    assert!(fake.requests().is_empty(), "nothing was asked");
    // voicebox hung up at its timeout, not before: 2 s after the end of the audio.
    let stop = stt.received("audio-stop")[0]["t"].as_f64().unwrap();
    let hung_up = stt.wait_for("disconnected", 1)[0]["t"].as_f64().unwrap();
    assert!(
        (2.0..10.0).contains(&(hung_up - stop)),
        "hung up {:.2} s after audio-stop",
        hung_up - stop
    );
}

#[test]
fn a_barge_in_closes_the_tts_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Audio in real time: a sentence takes as long to arrive as to say.
    let tts = Server::start(dir, "tts", &["--pace"]);
    let (story, _) = long_story();
    let fake = FakeOllama::start(vec![Reply::chat(&story)]);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "command", &Config::fixed_stt("tell me a story"))
        .set("tts", "url", &tts.wyoming_url())
        .set("audio", "max_record_s", "30");
    let d = Daemon::start(dir, &config, &spoken_mic(dir, QUESTION));

    d.talk(1);
    d.wait_state("speaking");
    // The second sentence is on its way when the press comes.
    tts.wait_for("audio-stop-sent", 1);
    tts.wait_for("synthesize", 2);
    let pressed = unix(SystemTime::now());
    d.send("press");
    d.wait_status("listening for turn 2", |s| s["turn"] == 2);
    // Every connection is closed, the one cut short within a second of the press.
    let synthesized = tts.received("synthesize").len();
    let closed = tts.wait_for("disconnected", synthesized);
    let last = closed.last().unwrap()["t"].as_f64().unwrap();
    assert!(
        last - pressed < 1.0,
        "closed {:.3} s after the press",
        last - pressed
    );
    let finished = tts.received("audio-stop-sent").len();
    assert!(
        finished < synthesized,
        "the cut sentence was not finished: {:?}",
        tts.sequence()
    );
    assert!(
        synthesized < 10,
        "the rest of the story was never asked for: {synthesized}"
    );
    d.send("cancel");
    assert_eq!(d.wait_turn_end(2), "cancelled");
    let turn = d.turn_summary(1);
    assert_eq!(field(&turn, "OUTCOME"), "interrupted");
}

/// `ctl cancel` while the recording is being uploaded to an OpenAI-compatible STT server that
/// never answers: the client hangs up within a second (the server logs when the connection
/// closed), instead of holding the upload open until `stt.timeout_ms`.
#[test]
fn a_cancel_hangs_up_an_stt_upload_within_a_second() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "openai", &["--stall"]);
    let fake = FakeOllama::start(vec![Reply::chat(ANSWER)]);
    let url = stt
        .speech_url()
        .replace("/v1/audio/speech", "/v1/audio/transcriptions");
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "url", &url)
        .set("stt", "timeout_ms", "60000");
    let d = Daemon::start(dir, &config, &spoken_mic(dir, QUESTION));

    d.talk(1);
    let upload = stt.wait_for("upload", 1);
    assert!(upload[0]["bytes"].as_u64() > Some(1000), "{upload:?}");
    let cancelled = unix(SystemTime::now());
    d.send("cancel");
    assert_eq!(d.wait_turn_end(1), "cancelled", "{}", d.journal_text());
    let gone = stt.wait_for("disconnected", 1)[0]["t"].as_f64().unwrap();
    assert!(
        gone - cancelled < 1.0,
        "the upload was hung up {:.2} s after the cancel",
        gone - cancelled
    );
    assert!(
        fake.requests().iter().all(|r| !r.path.contains("chat")),
        "no question was asked"
    );
}
