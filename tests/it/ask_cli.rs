//! `voicebox ask` and `voicebox check` as a user runs them: the real binary against the fake.

use crate::support;

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::cli::{error_line, text, voicebox};
use crate::support::config::Config;
use crate::support::fake_ollama::{FakeOllama, Reply};

#[test]
fn ask_survives_two_502s_and_logs_chars_and_attempts() {
    // Vietnamese and Chinese: characters, not bytes, must be counted.
    let reply = "Xin chào! 你好，天空是蓝色的。";
    let fake = FakeOllama::start(vec![
        Reply::nginx_502(),
        Reply::nginx_502(),
        Reply::generate(reply),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = voicebox(&cfg, "info", &["ask", "hello", "--no-speak"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout), format!("{reply}\n"));
    let line = stderr
        .lines()
        .find(|l| l.contains("ollama reply"))
        .unwrap_or_else(|| panic!("no reply log line in {stderr}"));
    let chars = reply.chars().count();
    assert_ne!(chars, reply.len());
    assert!(line.contains(&format!("response_chars={chars}")), "{line}");
    assert!(line.contains("attempts=3"), "{line}");
    assert!(line.contains("model=llama3.2"), "{line}");
    assert!(line.contains("done_reason=stop"), "{line}");
    assert!(line.contains(" INFO "), "{line}");
    // Each failed attempt says what happened and what comes next.
    let warns: Vec<&str> = stderr.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warns.len(), 2, "{stderr}");
    assert!(
        warns
            .iter()
            .all(|w| w.contains("502") && w.contains("retrying"))
    );
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn ask_against_a_missing_model_fails_once_with_the_pull_fix() {
    let fake = FakeOllama::start(vec![
        Reply::fixture("error-model-not-found.json"),
        Reply::generate("never"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = voicebox(&cfg, "info", &["ask", "hello", "--no-speak"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    let line = error_line(&stderr);
    assert!(line.contains("llama3.2"), "{line}");
    assert!(line.contains("ollama pull llama3.2"), "{line}");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn ask_against_a_down_server_names_the_url_within_the_deadline() {
    let url = format!("http://127.0.0.1:{}", support::free_port());
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::ollama(&url)
        .lines("ollama", "deadline_s = 20")
        .write(dir.path());
    let t0 = Instant::now();
    let out = voicebox(&cfg, "info", &["ask", "hello", "--no-speak"]);
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let line = error_line(&stderr);
    assert!(line.contains(&url), "{line}");
    assert!(line.contains("cannot reach Ollama"), "{line}");
}

#[test]
fn the_token_is_sent_but_never_logged_even_at_trace() {
    let token = "tok-8c1f2e9a-never-log-me";
    let fake = FakeOllama::start(vec![
        Reply::nginx_502(),
        Reply::send(401, "application/json", r#"{"error":"unauthorized"}"#),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::ollama(&fake.url())
        .lines("ollama", &format!("api_key = \"{token}\""))
        .write(dir.path());
    let out = voicebox(&cfg, "trace", &["ask", "hello", "--no-speak"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("DEBUG"),
        "debug logging was not on: {stderr}"
    );
    assert!(!stderr.contains(token), "{stderr}");
    assert!(!text(&out.stdout).contains(token));
    assert!(error_line(&stderr).contains("ollama.api_key"));
    for r in fake.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
    }

    // From the environment too, and on success.
    let fake = FakeOllama::start(vec![Reply::generate("Fine.")]);
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .args(["--config", cfg.to_str().unwrap(), "ask", "hi", "--no-speak"])
        .env("OLLAMA_API_KEY", token)
        .env("RUST_LOG", "trace")
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!text(&out.stderr).contains(token));
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
}

#[test]
fn a_typo_in_the_config_exits_78_naming_key_line_and_valid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("voicebox.toml");
    std::fs::write(&cfg, "[ollama]\nmodel = \"llama3.2\"\nmodle = \"x\"\n").unwrap();
    let out = voicebox(&cfg, "info", &["ask", "hello", "--no-speak"]);
    assert_eq!(out.status.code(), Some(78));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("modle"), "{stderr}");
    assert!(stderr.contains(":3:"), "line 3 not named: {stderr}");
    assert!(
        stderr.contains("attempts"),
        "valid keys not listed: {stderr}"
    );
}

#[test]
fn check_prints_one_line_per_check() {
    let fake = FakeOllama::start(vec![
        Reply::fixture("version-ok.json"),
        Reply::fixture("tags-ok.json"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = voicebox(&cfg, "warn", &["check"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("version 0.5.1"), "{stdout}");
    assert!(stdout.contains("model llama3.2:latest"), "{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("ok ")), "{stdout}");

    let fake = FakeOllama::start(vec![
        Reply::fixture("version-ok.json"),
        Reply::fixture("tags-ok.json"),
    ]);
    let cfg = Config::ollama(&fake.url())
        .lines("ollama", "model = \"qwen3\"")
        .write(dir.path());
    let out = voicebox(&cfg, "warn", &["check"]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    let fail = stdout.lines().find(|l| l.starts_with("FAIL")).unwrap();
    assert!(
        fail.contains("ollama pull qwen3") && fail.contains("llama3.2:latest"),
        "{fail}"
    );
}

#[test]
fn ask_prints_a_streamed_reply_as_it_arrives_and_speaks_it() {
    use std::io::Read;
    use support::fake_ollama::Pace;
    let reply = "Paris is the capital of France. It lies on the river Seine.";
    // 5 tokens a second: the whole reply takes the server about 3 s.
    let fake = FakeOllama::start(vec![Reply::Paced(Pace::new(0, 5.0, reply))]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::ollama(&fake.url());
    cfg.set("ollama", "stream", "true");
    let cfg = cfg.write(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "where is paris", "--no-speak"])
        .env_remove("OLLAMA_HOST")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 5];
    stdout.read_exact(&mut first).unwrap();
    let first_printed = std::time::SystemTime::now();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(format!("{}{rest}", text(&first)), format!("{reply}\n"));
    let ended = fake.runs()[0].ended.unwrap();
    assert!(
        first_printed < ended,
        "the first words were printed only when the reply had ended"
    );

    // Spoken too, on the test sound card: a cut stream is printed as far as it came, spoken,
    // followed by the cut-off message, and the command fails.
    let fake = FakeOllama::start(vec![Reply::Paced(Pace::new(0, 50.0, reply).cut_after(9))]);
    let mut cfg = Config::ollama(&fake.url());
    cfg.set("ollama", "stream", "true")
        .set("audio", "linger_ms", "100");
    let cfg = cfg.write(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .arg("--config")
        .arg(&cfg)
        .args(["ask", "where is paris"])
        .env_remove("OLLAMA_HOST")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "debug")
        .env("ALSA_CONFIG_PATH", support::alsa_conf())
        .env("VOICEBOX_TEST_SPK", "/dev/null")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "Paris is the capital of France. It lies\n"
    );
    let spoken = stderr
        .lines()
        .find(|l| l.contains("reply spoken"))
        .unwrap_or_else(|| panic!("nothing spoken: {stderr}"));
    // "Paris is the capital of France.", "It lies", and the notice on its own (the short
    // fragment once ran on into it: "It lies The answer was cut off.").
    assert_eq!(
        support::log_field(spoken, "sentences").as_deref(),
        Some("3"),
        "{spoken}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn check_verifies_every_configured_voice() {
    let dir = tempfile::tempdir().unwrap();
    let check = |config: &mut Config| {
        let fake = FakeOllama::start(vec![
            Reply::fixture("version-ok.json"),
            Reply::fixture("tags-ok.json"),
        ]);
        let out = voicebox(&config.write(dir.path()), "warn", &["check"]);
        let mut lines = text(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>();
        lines.retain(|l| l.contains("[tts.voices]"));
        drop(fake);
        lines
    };
    let url = "http://127.0.0.1:1";
    // The defaults: every espeak-ng voice of the table exists on this system.
    let mut c = Config::ollama(url);
    let lines = check(&mut c);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("ok   tts: espeak-ng has all"),
        "{lines:?}"
    );
    // A voice espeak-ng does not have.
    c.lines("tts.voices", "en = \"en-us\"\nzh = \"nosuch-voice\"");
    let lines = check(&mut c);
    assert!(
        lines[0].starts_with("FAIL") && lines[0].contains("no voice nosuch-voice"),
        "{lines:?}"
    );
    // Another engine: each voice is tried; the one that fails is named.
    let mut c = Config::ollama(url);
    c.set(
        "tts",
        "command",
        &Config::argv(&[
            "sh",
            "-c",
            "[ \"$0\" = good ] && exec espeak-ng --stdout ok; echo \"no model $0\" >&2; exit 1",
            "{voice}",
        ]),
    )
    .lines("tts.voices", "en = \"good\"\nvi = \"broken\"");
    let lines = check(&mut c);
    assert!(
        lines[0].starts_with("FAIL")
            && lines[0].contains("vi (")
            && lines[0].contains("no model broken"),
        "{lines:?}"
    );
    assert!(!lines[0].contains("en ("), "{lines:?}");
}
