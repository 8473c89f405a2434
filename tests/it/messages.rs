//! Messages say what happened, against hostile peers made here: a server that answered too
//! slowly is not "unreachable", an oversized header is not "cannot reach Ollama", a stalled
//! stream reports the limit it gave up at, a bidirectional override never reaches the terminal,
//! and `ask` with nothing to say exits non-zero.

use std::path::Path;
use std::process::Output;

use crate::support::cli::{error_line, text, voicebox_with};
use crate::support::config::Config;
use crate::support::fake_ollama::{FakeOllama, Pace, Reply};
use crate::support::sound::spoken_mic;

/// `voicebox ARGS` on the test sound card, the microphone saying a few words.
fn on_the_card(dir: &Path, config: &Config, args: &[&str]) -> Output {
    let mic = spoken_mic(dir, "hello there");
    let cfg = config.write(dir);
    voicebox_with(
        &cfg,
        "warn",
        args,
        &[
            (
                "ALSA_CONFIG_PATH",
                crate::support::alsa_conf().to_str().unwrap(),
            ),
            ("VOICEBOX_TEST_MIC", mic.to_str().unwrap()),
            ("NO_COLOR", "1"),
        ],
    )
}

#[test]
fn an_http_stt_server_that_accepts_but_answers_slowly_is_too_slow_not_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // It takes the upload, then sends nothing (its headers would come after the timeout).
    let server = FakeOllama::start(vec![Reply::Hang]);
    let mut config = Config::new();
    config
        .set(
            "stt",
            "url",
            &Config::string(&format!(
                "http://127.0.0.1:{}/v1/audio/transcriptions",
                server.port()
            )),
        )
        .set("stt", "timeout_ms", "1000");
    let out = on_the_card(dir, &config, &["listen", "--seconds", "1"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("answered too slowly") && line.contains("1000 ms"),
        "{line}"
    );
    assert!(!line.contains("unreachable"), "{line}");
}

#[test]
fn a_200_kb_response_header_from_ollama_is_not_cannot_reach_ollama() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = FakeOllama::start(vec![
        Reply::generate("Hi.").header("X-Padding", &"a".repeat(200_000)),
    ]);
    let mut config = Config::ollama(&fake.url());
    config.lines("ollama", "attempts = 1");
    let cfg = config.write(tmp.path());
    let out = voicebox_with(&cfg, "warn", &["ask", "hi", "--no-speak"], &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let line = error_line(&stderr);
    assert!(!line.contains("cannot reach"), "{line}");
    assert!(line.contains("response headers of over"), "{line}");
}

#[test]
fn a_stalled_stream_reports_the_limit_it_gave_up_at() {
    let tmp = tempfile::tempdir().unwrap();
    // The first word at once, the next ten seconds later: the stream stalls.
    let fake = FakeOllama::start(vec![Reply::Paced(Pace::new(
        0,
        0.1,
        "Hello there, how are you?",
    ))]);
    let mut config = Config::ollama(&fake.url());
    config.lines(
        "ollama",
        "stream = true\nattempts = 1\nrequest_timeout_s = 1\ndeadline_s = 8",
    );
    let cfg = config.write(tmp.path());
    let out = voicebox_with(&cfg, "warn", &["ask", "hi", "--no-speak"], &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let line = error_line(&stderr);
    assert!(line.contains("within 1.0 s"), "{line}");
    assert!(!line.contains("8.0 s"), "{line}");
}

#[test]
fn bidi_controls_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A transcript with a right-to-left override: "exe.txt" would show as "txt.exe".
    let mut config = Config::new();
    // (U+202E in UTF-8 as octal escapes: the config file itself stays ASCII.)
    config.set(
        "stt",
        "command",
        &Config::argv(&[
            "sh",
            "-c",
            r"cat > /dev/null; printf 'open \342\200\256txt.exe\n'",
        ]),
    );
    let out = on_the_card(dir, &config, &["listen", "--seconds", "1"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stdout, "open txt.exe\n");

    // A server version with one, in `check`.
    let fake = FakeOllama::start(vec![
        Reply::send(
            200,
            "application/json",
            "{\"version\":\"0.5.1\u{202e}evil\u{2066}\"}",
        ),
        Reply::fixture("tags-ok.json"),
    ]);
    let cfg = Config::ollama(&fake.url()).write(dir);
    let out = voicebox_with(&cfg, "warn", &["check"], &[]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("0.5.1evil"), "{stdout}");
    for c in ['\u{202e}', '\u{2066}'] {
        assert!(!stdout.contains(c), "{stdout:?}");
    }
}

#[test]
fn ask_exits_non_zero_when_there_was_nothing_to_say() {
    let tmp = tempfile::tempdir().unwrap();
    for empty in ["", "  \n "] {
        let fake = FakeOllama::start(vec![Reply::generate(empty)]);
        let cfg = Config::ollama(&fake.url()).write(tmp.path());
        let out = voicebox_with(&cfg, "warn", &["ask", "hi", "--no-speak"], &[]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{empty:?}: {stderr}");
        assert!(
            error_line(&stderr).contains("nothing to say"),
            "{empty:?}: {stderr}"
        );
    }
}
