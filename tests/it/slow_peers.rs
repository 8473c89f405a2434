//! Speech servers that are never quite silent: the `--drip` Wyoming servers of
//! `tests/wyoming/servers.py` (official Python package) read one byte every 0.4 s and answer one
//! byte every 0.4 s. `timeout_ms` bounds the whole sentence or transcription, not each read:
//! `say`, `listen` and a daemon turn give up at it, say so, and hang up.

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::sound::{speaker_files, spoken_mic};
use crate::support::speech_servers::Server;

/// Well under what a dripping answer takes (minutes), well over the timeouts used here plus a
/// loaded machine's start-up.
const BOUND: Duration = Duration::from_secs(20);

/// `voicebox ARGS` with `config`, the test sound card, the microphone playing `mic`.
fn voicebox(
    dir: &Path,
    config: &Config,
    mic: Option<&Path>,
    args: &[&str],
) -> (ExitStatus, String, String) {
    let config = config.write(dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_voicebox"));
    c.arg("--config")
        .arg(&config)
        .args(args)
        .env("ALSA_CONFIG_PATH", crate::support::alsa_conf())
        .env("VOICEBOX_TEST_SPK", speaker_files(dir))
        .env("NO_COLOR", "1")
        .env_remove("JOURNAL_STREAM")
        .env_remove("VOICEBOX_TEST_MIC");
    if let Some(m) = mic {
        c.env("VOICEBOX_TEST_MIC", m);
    }
    let mut child = c
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    // A client that would wait for ever is killed (and fails the test), not waited on.
    let status = crate::support::poll(2 * BOUND, Duration::from_millis(20), || {
        child.try_wait().unwrap()
    });
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("still running after {:?}: {stderr}", 2 * BOUND);
    };
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap_or_default();
    (status, stdout, stderr)
}

#[test]
fn say_gives_up_on_a_dripping_tts_server_at_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tts = Server::start(dir, "tts", &["--drip"]);
    let mut config = Config::speaker(&["false"]);
    config
        .set("tts", "url", &tts.wyoming_url())
        .set("tts", "timeout_ms", "1500");
    let started = Instant::now();
    let (status, _, stderr) = voicebox(dir, &config, None, &["say", "Hello there."]);
    let took = started.elapsed();
    assert!(!status.success(), "{stderr}");
    assert!(took < BOUND, "took {took:?}: {stderr}");
    assert!(stderr.contains("1500 ms"), "the deadline used: {stderr}");
    assert_eq!(tts.wait_for("disconnected", 1).len(), 1, "hung up on");
}

#[test]
fn listen_gives_up_on_a_dripping_stt_server_at_its_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "stt", &["--drip"]);
    let mic = spoken_mic(dir, "what is the capital of france");
    let mut config = Config::new();
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("stt", "timeout_ms", "1500");
    let started = Instant::now();
    let (status, stdout, stderr) =
        voicebox(dir, &config, Some(&mic), &["listen", "--seconds", "2"]);
    let took = started.elapsed();
    assert!(!status.success(), "{stderr}");
    assert!(took < BOUND, "took {took:?}: {stderr}");
    assert!(stderr.contains("1500 ms"), "the deadline used: {stderr}");
    assert!(stdout.trim().is_empty(), "no transcript printed");
    assert_eq!(stt.wait_for("disconnected", 1).len(), 1, "hung up on");
}

#[test]
fn a_daemon_turn_with_dripping_servers_ends_and_the_box_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "stt", &["--drip"]);
    let tts = Server::start(dir, "tts", &["--drip"]);
    let fake = FakeOllama::start(vec![Reply::chat("Fine.")]);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("stt", "timeout_ms", "1500")
        .set("tts", "url", &tts.wyoming_url())
        .set("tts", "timeout_ms", "1500")
        .set("audio", "max_record_s", "2");
    let d = Daemon::start(dir, &config, &spoken_mic(dir, "hello"));

    // A spoken turn: the transcription drips, and is given up at stt.timeout_ms.
    let started = Instant::now();
    d.talk(1);
    let outcome = d.wait_turn_end(1);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    assert_ne!(outcome, "answered", "{}", d.journal_text());
    assert!(
        d.journal_text().contains("1500 ms"),
        "the deadline used:\n{}",
        d.journal_text()
    );
    assert_eq!(stt.wait_for("disconnected", 1).len(), 1, "hung up on");
    assert!(fake.requests().is_empty(), "nothing was heard to ask");

    // An announcement: its synthesis drips, and is given up at tts.timeout_ms.
    let started = Instant::now();
    d.send("say Dinner is ready.");
    d.wait_turn_end(2);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    assert!(
        !tts.wait_for("disconnected", 1).is_empty(),
        "the TTS server was hung up on"
    );
    assert_eq!(d.status()["state"], "idle");
}
