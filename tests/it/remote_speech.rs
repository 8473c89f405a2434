//! Remote speech from the command line, on real servers: Wyoming STT (pocketsphinx) and TTS
//! (espeak-ng) built with the official Python `wyoming` package, and an OpenAI-compatible
//! `/v1/audio/speech` returning espeak-ng audio (`tests/wyoming/servers.py`). `voicebox listen`,
//! `say` and `check` run as children on the test sound card.
//!
//! The daemon with both directions remote is in `remote_turns.rs`.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use crate::support::config::Config;
use crate::support::sound::{Audio, speaker_files, spoken_mic};
use crate::support::speech_servers::Server;

const QUESTION: &str = "what is the capital of france";
const THREE: &str =
    "The weather is fine today. I will water the garden. Then we can have lunch outside.";

struct Run {
    output: Output,
    stdout: String,
    stderr: String,
}

/// `voicebox ARGS` with `config`, the test sound card, the microphone playing `mic`.
fn voicebox(dir: &Path, config: &Config, mic: Option<&Path>, args: &[&str]) -> Run {
    let config = config.write(dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_voicebox"));
    c.arg("--config")
        .arg(&config)
        .args(args)
        .env("ALSA_CONFIG_PATH", support::alsa_conf())
        .env("VOICEBOX_TEST_SPK", speaker_files(dir))
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .env_remove("JOURNAL_STREAM")
        .env_remove("VOICEBOX_TEST_MIC")
        .env_remove("VOICEBOX_TTS_API_KEY")
        .env_remove("VOICEBOX_STT_API_KEY");
    if let Some(m) = mic {
        c.env("VOICEBOX_TEST_MIC", m);
    }
    let output = c.output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        output,
    }
}

#[test]
fn listen_transcribes_over_wyoming_plain_and_streamed_transcripts() {
    for flags in [&[][..], &["--stream"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let stt = Server::start(dir, "stt", flags);
        let mic = spoken_mic(dir, QUESTION);
        let mut config = Config::new();
        config.set("stt", "url", &stt.wyoming_url());
        let run = voicebox(dir, &config, Some(&mic), &["listen", "--seconds", "4"]);
        assert!(run.output.status.success(), "{flags:?}: {}", run.stderr);
        assert_eq!(
            run.stdout,
            format!("{QUESTION}\n"),
            "{flags:?}: {}",
            run.stderr
        );

        // The protocol's order, the audio as 16 kHz 16-bit mono, all of the recording sent.
        // The server logs the hang-up a moment after voicebox has printed and exited.
        stt.wait_for("disconnected", 1);
        assert_eq!(
            stt.sequence(),
            [
                "transcribe",
                "audio-start",
                "audio-chunk",
                "audio-stop",
                "decoded",
                "disconnected"
            ],
            "{flags:?}"
        );
        let start = &stt.received("audio-start")[0]["data"];
        assert_eq!(
            (
                start["rate"].as_u64(),
                start["width"].as_u64(),
                start["channels"].as_u64()
            ),
            (Some(16000), Some(2), Some(1))
        );
        let bytes: u64 = stt
            .received("audio-chunk")
            .iter()
            .map(|c| c["bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(bytes, 4 * 16000 * 2, "four seconds of audio");
    }
}

#[test]
fn say_speaks_three_sentences_with_one_synthesize_each() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tts = Server::start(dir, "tts", &[]);
    let mut config = Config::speaker(&["false"]);
    config.set("tts", "url", &tts.wyoming_url());
    let run = voicebox(dir, &config, None, &["say", THREE]);
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(
        tts.synthesized(),
        [
            "The weather is fine today.",
            "I will water the garden.",
            "Then we can have lunch outside."
        ]
    );
    let spoken = Audio::read(dir).speech();
    assert_eq!(spoken.len(), 3, "stretches {spoken:?}\n{}", run.stderr);
    assert!(run.stderr.contains("sentences=3"), "{}", run.stderr);
}

#[test]
fn an_openai_speech_server_speaks_wav_and_pcm() {
    for format in ["wav", "pcm"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let server = Server::start(dir, "openai", &["--token", "sekrit"]);
        let mut config = Config::speaker(&["false"]);
        config
            .set("tts", "url", &server.speech_url())
            .set("tts", "model", "\"kokoro\"")
            .set("tts", "response_format", &format!("\"{format}\""))
            .set("tts", "api_key", "\"sekrit\"");
        let run = voicebox(dir, &config, None, &["say", THREE]);
        assert!(run.output.status.success(), "{format}: {}", run.stderr);
        let requests = server.received("request");
        assert_eq!(requests.len(), 3, "{format}: one request per sentence");
        let first = &requests[0];
        assert_eq!(first["path"], "/v1/audio/speech");
        assert_eq!(first["authorization"], "Bearer sekrit");
        assert_eq!(
            first["json"],
            serde_json::json!({"model": "kokoro", "input": "The weather is fine today.",
                "voice": "alloy", "response_format": format})
        );
        let spoken = Audio::read(dir).speech();
        assert_eq!(
            spoken.len(),
            3,
            "{format}: stretches {spoken:?}\n{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("sekrit"),
            "the token was logged:\n{}",
            run.stderr
        );

        // A wrong token is refused, said so, and never shown.
        config.set("tts", "api_key", "\"wrong-token\"");
        let run = voicebox(dir, &config, None, &["say", "Hello there."]);
        assert!(!run.output.status.success());
        assert!(
            run.stderr.contains("HTTP 401") && run.stderr.contains("tts.api_key"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("wrong-token"), "{}", run.stderr);
    }
}

#[test]
fn credentials_in_a_speech_url_go_as_basic_auth_and_are_never_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = Server::start(dir, "openai", &[]);
    let url = server
        .speech_url()
        .replace("http://", "http://reader:pa55word@");
    let mut config = Config::speaker(&["false"]);
    config.set("tts", "url", &url);
    let run = voicebox(dir, &config, None, &["say", "Hello there."]);
    assert!(run.output.status.success(), "{}", run.stderr);
    // base64("reader:pa55word")
    assert_eq!(
        server.received("request")[0]["authorization"],
        "Basic cmVhZGVyOnBhNTV3b3Jk"
    );
    assert!(!run.stderr.contains("pa55word"), "{}", run.stderr);
    let run = voicebox(dir, &config, None, &["check"]);
    assert!(!run.stdout.contains("pa55word"), "{}", run.stdout);
    // Shown as the issue-12 form: the user, the password as ***.
    assert!(
        run.stdout
            .contains("OpenAI-compatible http://reader:***@127.0.0.1:"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_tts_server_that_stalls_mid_sentence_times_out_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tts = Server::start(dir, "tts", &["--stall"]);
    let mut config = Config::speaker(&["false"]);
    config
        .set("tts", "url", &tts.wyoming_url())
        .set("tts", "timeout_ms", "1500");
    let started = std::time::Instant::now();
    let run = voicebox(dir, &config, None, &["say", "Hello there."]);
    assert!(!run.output.status.success());
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    assert!(
        run.stderr.contains("did not answer within 1500 ms"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("failed for every sentence"),
        "{}",
        run.stderr
    );
    // Only the error earcon was played: a short chirp, no speech.
    assert!(Audio::read(dir).speech().is_empty());
    assert_eq!(
        tts.wait_for("disconnected", 1).len(),
        1,
        "the connection was closed"
    );
}

#[test]
fn check_shows_what_the_servers_offer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stt = Server::start(dir, "stt", &["--stream"]);
    let tts = Server::start(dir, "tts", &[]);
    let mut config = Config::new();
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("tts", "url", &tts.wyoming_url());
    let run = voicebox(dir, &config, None, &["check"]);
    let line = |prefix: &str| {
        run.stdout
            .lines()
            .find(|l| l.contains(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line:\n{}", run.stdout))
            .to_string()
    };
    let stt_line = line(" stt: ");
    assert!(stt_line.starts_with("ok"), "{stt_line}");
    assert!(
        stt_line.contains("pocketsphinx 0.8 (models: en-us [en]), streaming"),
        "{stt_line}"
    );
    let tts_line = line(" tts: ");
    assert!(tts_line.starts_with("ok"), "{tts_line}");
    assert!(
        tts_line.contains("espeak-ng 1.51 (voices: en-us+klatt [en], cmn-latn-pinyin [zh])"),
        "{tts_line}"
    );
    assert!(tts_line.contains("Hz"), "it synthesized \"ok\": {tts_line}");

    // Nothing listening: the lines say so and check fails.
    drop((stt, tts));
    let run = voicebox(dir, &config, None, &["check"]);
    assert!(!run.output.status.success());
    let fails: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") && l.contains("cannot connect to the Wyoming server"))
        .collect();
    assert_eq!(fails.len(), 2, "{}", run.stdout);
}

/// The voice name and language of each `synthesize` a Wyoming TTS server received.
fn voices(tts: &Server) -> Vec<(Option<String>, String)> {
    tts.received("synthesize")
        .iter()
        .map(|e| {
            let v = &e["data"]["voice"];
            let name = v["name"].as_str().map(str::to_string);
            (name, v["language"].as_str().unwrap_or("?").to_string())
        })
        .collect()
}

#[test]
fn wyoming_servers_are_told_each_language_and_the_voices_written_for_them() {
    const MIXED: &str = "Hello there, how are you today? 你觉得这个主意怎么样？";
    // The built-in voice table names espeak-ng voices: a server gets only each language.
    let tmp = tempfile::tempdir().unwrap();
    let tts = Server::start(tmp.path(), "tts", &[]);
    let mut config = Config::new();
    config
        .set("tts", "url", &tts.wyoming_url())
        .lines("audio", "sentence_pause_ms = 700\nlinger_ms = 100");
    let run = voicebox(tmp.path(), &config, None, &["say", MIXED]);
    assert!(run.output.status.success(), "{}", run.stderr);
    let en_zh = |en: Option<&str>, zh: Option<&str>| {
        vec![
            (en.map(str::to_string), "en".to_string()),
            (zh.map(str::to_string), "zh".to_string()),
        ]
    };
    assert_eq!(voices(&tts), en_zh(None, None));

    // A table written for the server: each sentence's voice by name too.
    let tmp = tempfile::tempdir().unwrap();
    let tts = Server::start(tmp.path(), "tts", &[]);
    config.set("tts", "url", &tts.wyoming_url()).lines(
        "tts.voices",
        "en = \"en-us+klatt\"\nzh = \"cmn-latn-pinyin\"",
    );
    let run = voicebox(tmp.path(), &config, None, &["say", MIXED]);
    assert!(run.output.status.success(), "{}", run.stderr);
    assert_eq!(
        voices(&tts),
        en_zh(Some("en-us+klatt"), Some("cmn-latn-pinyin"))
    );

    // stt.language goes with the transcribe request.
    let tmp = tempfile::tempdir().unwrap();
    let stt = Server::start(tmp.path(), "stt", &[]);
    let mic = spoken_mic(tmp.path(), QUESTION);
    let mut config = Config::new();
    config
        .set("stt", "url", &stt.wyoming_url())
        .set("stt", "language", "\"en\"");
    let run = voicebox(
        tmp.path(),
        &config,
        Some(&mic),
        &["listen", "--seconds", "4"],
    );
    assert!(run.output.status.success(), "{}", run.stderr);
    let asked = stt.received("transcribe");
    assert_eq!(asked[0]["data"]["language"], "en", "{asked:?}");
}
