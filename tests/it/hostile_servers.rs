//! Servers that are wrong or hostile, on loopback, against the real binary: credentials in the
//! URL (sent as HTTP Basic, never printed), redirects (reported, never followed) and text with
//! control characters (never reaching the terminal raw).

use crate::support::cli::{error_line, text, voicebox, voicebox_with};
use crate::support::config::Config;
use crate::support::fake_ollama::{FakeOllama, Reply};

const PASSWORD: &str = "hunter2-never-print-me";
const JSON: &str = "application/json; charset=utf-8";

/// `Basic base64("me:" + PASSWORD)`.
fn basic() -> String {
    use base64::Engine as _;
    let pair = format!("me:{PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn no_password(what: &str, out: &std::process::Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let t = text(bytes);
        assert!(!t.contains(PASSWORD), "{what}: password on {stream}:\n{t}");
    }
}

#[test]
fn url_credentials_are_sent_as_basic_auth_and_printed_nowhere() {
    let dir = tempfile::tempdir().unwrap();

    // ollama.url: a good answer at TRACE, then a refused one (its error line names the URL).
    let fake = FakeOllama::start(vec![
        Reply::generate("Fine."),
        Reply::send(403, "text/html", "<html>no</html>"),
    ]);
    let url = format!("http://me:{PASSWORD}@127.0.0.1:{}/", fake.port());
    let shown = format!("http://me:***@127.0.0.1:{}", fake.port());
    let cfg = Config::ollama(&url).write(dir.path());
    let out = voicebox(&cfg, "trace", &["ask", "hi", "--no-speak"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&shown), "{}", text(&out.stderr));
    no_password("ask at trace", &out);
    let out = voicebox(&cfg, "trace", &["ask", "hi", "--no-speak"]);
    assert!(!out.status.success());
    assert!(error_line(&text(&out.stderr)).contains(&shown));
    no_password("a failed ask", &out);
    let requests = fake.requests();
    for r in &requests {
        assert_eq!(r.path, "/api/generate");
        assert_eq!(r.header("authorization"), Some(basic().as_str()));
    }

    // `check` names the server with the password hidden.
    let fake = FakeOllama::start(vec![
        Reply::fixture("version-ok.json"),
        Reply::fixture("tags-ok.json"),
    ]);
    let url = format!("http://me:{PASSWORD}@127.0.0.1:{}", fake.port());
    let cfg = Config::ollama(&url).write(dir.path());
    let out = voicebox(&cfg, "trace", &["check"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "ollama: http://me:***@127.0.0.1:{} reachable",
            fake.port()
        )),
        "{stdout}"
    );
    no_password("check", &out);
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(basic().as_str())
    );

    // $OLLAMA_HOST in the official clients' short form, with user info.
    let fake = FakeOllama::start(vec![Reply::generate("Fine.")]);
    let mut no_url = Config::new();
    no_url.lines(
        "ollama",
        "model = \"llama3.2\"\nendpoint = \"generate\"\nwarm_up = false",
    );
    let cfg = no_url.write(dir.path());
    let host = format!("me:{PASSWORD}@127.0.0.1:{}", fake.port());
    let out = voicebox_with(
        &cfg,
        "trace",
        &["ask", "hi", "--no-speak"],
        &[("OLLAMA_HOST", &host)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    no_password("$OLLAMA_HOST", &out);
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(basic().as_str())
    );

    // A config error in a URL with a password: exit 78, located, password hidden.
    let cfg = Config::ollama(&format!("http://me:{PASSWORD}@127.0.0.1:70000")).write(dir.path());
    let out = voicebox(&cfg, "trace", &["ask", "hi", "--no-speak"]);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("me:***@"),
        "{}",
        text(&out.stderr)
    );
    no_password("a config error", &out);
}

#[test]
fn a_redirect_is_reported_naming_its_location_and_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    // The server a redirect points at: whatever it would say must never be taken as the answer.
    let elsewhere = FakeOllama::start(vec![Reply::generate("From the wrong server."); 5]);
    for code in [301, 302, 303, 307, 308] {
        let location = format!(
            "http://x:{PASSWORD}@127.0.0.1:{}/api/generate",
            elsewhere.port()
        );
        let fake = FakeOllama::start(vec![
            Reply::send(code, "text/html", "<html>moved</html>").header("Location", &location),
            Reply::generate("never asked twice"),
        ]);
        let cfg = Config::ollama(&fake.url()).write(dir.path());
        let out = voicebox(&cfg, "debug", &["ask", "hi", "--no-speak"]);
        assert!(!out.status.success(), "{code}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        let line = error_line(&stderr);
        let shown = format!(
            "redirecting to http://x:***@127.0.0.1:{}/api/generate",
            elsewhere.port()
        );
        assert!(
            line.contains(&format!("answered {code}")) && line.contains(&shown),
            "{line}"
        );
        assert!(line.contains("ollama.url"), "{line}");
        no_password("a redirect", &out);
        assert_eq!(
            fake.requests().len(),
            1,
            "{code}: a redirect is not retried"
        );
    }
    assert!(elsewhere.requests().is_empty(), "a redirect was followed");
}

#[test]
fn server_text_cannot_drive_the_terminal_or_forge_a_check_line() {
    let dir = tempfile::tempdir().unwrap();
    // A version that retitles the terminal and forges an `ok` line; a model name that clears
    // the screen (C1 CSI), listed because the configured model is missing.
    let version = r#"{"version":"0.5.1\u001b]0;pwned\u0007\nok   forged"}"#;
    let tags = r#"{"models":[{"name":"evil\u009b2J\u001b[2J:latest"}]}"#;
    let fake = FakeOllama::start(vec![
        Reply::send(200, JSON, version),
        Reply::send(200, JSON, tags),
    ]);
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = voicebox(&cfg, "warn", &["check"]);
    let stdout = text(&out.stdout);
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
    assert!(
        !stdout.lines().any(|l| l.starts_with("ok   forged")),
        "{stdout}"
    );
    assert!(
        stdout.contains("version 0.5.1]0;pwned ok   forged"),
        "{stdout}"
    );
    // A failure message quotes it with its control characters escaped, so it shows what is there.
    assert!(stdout.contains(r"evil\u{9b}2J\u{1b}[2J:latest"), "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("ok ") || l.starts_with("FAIL ")),
        "{stdout}"
    );

    // The model's reply keeps its lines and loses its escapes.
    let reply = "Hello\u{1b}]0;pwned\u{7} world.\nSecond\u{9b}2J line.\u{1b}c";
    let fake = FakeOllama::start(vec![Reply::generate(reply)]);
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = voicebox(&cfg, "info", &["ask", "hi", "--no-speak"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello]0;pwned world.\nSecond2J line.c\n");
    // The server's model name in the INFO log line is escaped, not raw.
    let fake = FakeOllama::start(vec![Reply::send(
        200,
        JSON,
        r#"{"model":"m\u001b[2J\nforged","response":"Hi.","done":true}"#,
    )]);
    let cfg = Config::ollama(&fake.url()).write(dir.path());
    let out = voicebox(&cfg, "info", &["ask", "hi", "--no-speak"]);
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.lines().any(|l| l.starts_with("forged")),
        "{stderr:?}"
    );
    assert!(stderr.contains(r"model=m\u{1b}[2J\nforged"), "{stderr}");
}
