//! The Ollama client against the fake server: retries, classification, limits, streaming.

use crate::support;

use std::time::{Duration, Instant};

use crate::support::config::Config;
use crate::support::fake_ollama::reply::fixture;
use crate::support::fake_ollama::{FakeOllama, Reply};
use voicebox::cancel::Token;
use voicebox::event::FailureClass;
use voicebox::ollama::{Client, Message};

fn client(fake: &FakeOllama, extra: &str) -> Client {
    Config::client(&fake.url(), extra)
}

fn ask(client: &Client) -> Result<voicebox::event::Answer, voicebox::event::Failure> {
    client.ask(&[], "Why is the sky blue?", &Token::new())
}

#[test]
fn two_502s_then_an_answer_takes_three_attempts() {
    let fake = FakeOllama::start(vec![
        Reply::nginx_502(),
        Reply::nginx_502(),
        Reply::fixture("generate-nonstream-ok.json"),
    ]);
    let answer = ask(&client(&fake, "")).unwrap();
    assert_eq!(
        answer.text,
        "The sky is blue because it is the color of the sky."
    );
    assert_eq!(answer.attempts, 3);
    assert_eq!(answer.done_reason.as_deref(), Some("stop"));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    let body = reqs[0].json();
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/api/generate");
    assert_eq!(body["stream"], false);
    assert_eq!(body["think"], false);
    assert_eq!(body["model"], "llama3.2");
    assert_eq!(body["prompt"], "Why is the sky blue?");
    assert_eq!(body["keep_alive"], "30m");
    assert_eq!(body["options"]["num_predict"], 256);
    assert!(body["system"].as_str().unwrap().contains("voice assistant"));
    assert_eq!(reqs[0].header("authorization"), None);
}

#[test]
fn model_not_found_is_not_retried_and_says_pull() {
    for file in [
        "error-model-not-found.json",
        "error-model-not-found-try-pulling.json",
    ] {
        let fake = FakeOllama::start(vec![Reply::fixture(file), Reply::generate("no")]);
        let f = ask(&client(&fake, "")).unwrap_err();
        assert_eq!(f.class, FailureClass::ModelMissing, "{file}");
        assert!(
            f.message.contains("`ollama pull llama3.2`"),
            "{}",
            f.message
        );
        assert_eq!(fake.requests().len(), 1, "{file}");
    }
}

#[test]
fn three_502s_are_a_proxy_error() {
    let fake = FakeOllama::start(vec![Reply::nginx_502(); 3]);
    let f = ask(&client(&fake, "")).unwrap_err();
    assert_eq!(f.class, FailureClass::ProxyError);
    assert!(f.message.contains("502"), "{}", f.message);
    assert!(f.message.contains("the proxy's own error page, not Ollama"));
    assert!(f.message.contains("gave up after 3 attempts"));
    assert!(!f.message.contains('\n'));
    assert_eq!(fake.requests().len(), 3);
}

#[test]
fn client_errors_are_never_retried() {
    let cases = [
        ("error-invalid-json.json", FailureClass::Rejected),
        ("error-missing-request-body.json", FailureClass::Rejected),
        ("ollama-405-method-not-allowed.txt", FailureClass::Rejected),
    ];
    for (file, class) in cases {
        let fake = FakeOllama::start(vec![Reply::fixture(file), Reply::generate("no")]);
        let f = ask(&client(&fake, "")).unwrap_err();
        assert_eq!(f.class, class, "{file}");
        assert_eq!(fake.requests().len(), 1, "{file}");
    }
    let fake = FakeOllama::start(vec![
        Reply::send(403, "text/plain", ""),
        Reply::generate("no"),
    ]);
    let f = ask(&client(&fake, "")).unwrap_err();
    assert!(f.message.contains("proxy_set_header Host"), "{}", f.message);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn retry_after_is_honoured() {
    let busy = br#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#;
    let fake = FakeOllama::start(vec![
        Reply::send(503, "application/json; charset=utf-8", &busy[..]).header("Retry-After", "1"),
        Reply::generate("Now I have time."),
    ]);
    let t0 = Instant::now();
    let answer = ask(&client(&fake, "")).unwrap();
    assert_eq!(answer.attempts, 2);
    // The configured backoff is 20 ms; only Retry-After can make the pause a second long.
    assert!(t0.elapsed() >= Duration::from_secs(1));

    // A Retry-After past the deadline: give up at once instead of sleeping into a failure.
    let fake = FakeOllama::start(vec![
        Reply::send(503, "text/html", "<html>busy</html>").header("Retry-After", "600"),
        Reply::generate("no"),
    ]);
    let f = ask(&client(&fake, "deadline_s = 5")).unwrap_err();
    assert_eq!(f.class, FailureClass::ProxyError);
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn a_silent_server_times_out_each_attempt() {
    let fake = FakeOllama::start(vec![Reply::Hang, Reply::Hang]);
    let c = client(&fake, "attempts = 2\nrequest_timeout_s = 0.3");
    let f = ask(&c).unwrap_err();
    assert_eq!(f.class, FailureClass::TooSlow, "{}", f.message);
    assert!(f.message.contains("num_predict"));
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn gateway_timeout_is_retried_at_most_once() {
    let fake = FakeOllama::start(vec![
        Reply::nginx_504(),
        Reply::nginx_504(),
        Reply::generate("too late"),
    ]);
    let f = ask(&client(&fake, "attempts = 5")).unwrap_err();
    assert_eq!(f.class, FailureClass::TooSlow);
    assert!(f.message.contains("proxy_read_timeout"), "{}", f.message);
    assert!(f.message.contains("num_predict"));
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn broken_connections_and_bodies_are_retried() {
    let ok = fixture("generate-nonstream-ok.json");
    let cases: Vec<(&str, Reply)> = vec![
        ("reset", Reply::Reset),
        ("close", Reply::Close),
        (
            "truncated",
            Reply::Truncate {
                status: 200,
                content_type: "application/json; charset=utf-8".into(),
                body: ok.clone(),
                sent: ok.len() / 2,
                chunked: false,
            },
        ),
        (
            "garbage json",
            Reply::send(200, "application/json; charset=utf-8", "<<<garbage>>>"),
        ),
        ("not http", Reply::Raw(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec())),
        (
            "html 200",
            Reply::send(200, "text/html", "<html>captive portal</html>"),
        ),
        (
            "json without response",
            Reply::send(200, "application/json", r#"{"version":"0.5.1"}"#),
        ),
    ];
    for (name, bad) in cases {
        let fake = FakeOllama::start(vec![bad, Reply::generate("Recovered.")]);
        let answer = ask(&client(&fake, "")).unwrap_or_else(|f| panic!("{name}: {f}"));
        assert_eq!(answer.text, "Recovered.", "{name}");
        assert_eq!(answer.attempts, 2, "{name}");
    }
}

#[test]
fn a_reply_over_the_cap_is_an_error_not_an_allocation() {
    let fake = FakeOllama::start(vec![Reply::huge(2 << 20), Reply::generate("no")]);
    let f = ask(&client(&fake, "")).unwrap_err();
    assert_eq!(f.class, FailureClass::BadReply);
    assert!(f.message.contains("max_reply_bytes"), "{}", f.message);
    assert_eq!(fake.requests().len(), 1);
    // The same body fits under a larger cap.
    let fake = FakeOllama::start(vec![Reply::huge(2 << 20)]);
    let answer = ask(&client(&fake, "max_reply_bytes = 4194304")).unwrap();
    assert_eq!(answer.text.len(), 2 << 20);
}

#[test]
fn the_bearer_token_is_sent_and_never_shown() {
    let fake = FakeOllama::start(vec![Reply::send(
        401,
        "application/json",
        r#"{"error":"unauthorized"}"#,
    )]);
    let c = client(&fake, "api_key = \"s3cret-token-XYZ\"");
    let f = ask(&c).unwrap_err();
    assert_eq!(f.class, FailureClass::Unauthorized);
    assert!(f.message.contains("ollama.api_key"));
    assert!(!f.message.contains("s3cret-token-XYZ"));
    assert_eq!(
        fake.requests()[0].header("Authorization"),
        Some("Bearer s3cret-token-XYZ")
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn chat_sends_system_history_and_question() {
    let fake = FakeOllama::start(vec![Reply::fixture("chat-nonstream-ok.json")]);
    let c = client(&fake, "endpoint = \"chat\"");
    let history = [Message::user("Hi"), Message::assistant("Hello.")];
    let answer = c.ask(&history, "How are you?", &Token::new()).unwrap();
    assert_eq!(answer.text, "Hello! How are you today?");
    let req = &fake.requests()[0];
    assert_eq!(req.path, "/api/chat");
    let body = req.json();
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(body["messages"][3]["content"], "How are you?");
    assert_eq!(body["stream"], false);
}

#[test]
fn thinking_is_never_spoken() {
    let generate = r#"{"model":"qwen3","created_at":"2026-01-01T00:00:00Z","response":"Four.","thinking":"SECRET-REASONING","done":true,"done_reason":"stop"}"#;
    let chat = r#"{"model":"qwen3","message":{"role":"assistant","content":"Four.","thinking":"SECRET-REASONING"},"done":true}"#;
    for (endpoint, body) in [("generate", generate), ("chat", chat)] {
        let fake = FakeOllama::start(vec![Reply::send(
            200,
            "application/json; charset=utf-8",
            body,
        )]);
        let c = client(&fake, &format!("endpoint = \"{endpoint}\"\nthink = true"));
        let answer = ask(&c).unwrap();
        assert_eq!(answer.text, "Four.");
        assert_eq!(fake.requests()[0].json()["think"], true);
    }
}

#[test]
fn streaming_joins_split_lines() {
    let stream = String::from_utf8(fixture("generate-stream.ndjson")).unwrap();
    for chunk in [1, 5, 4096] {
        let fake = FakeOllama::start(vec![Reply::ndjson(&stream, chunk)]);
        let answer = ask(&client(&fake, "stream = true")).unwrap();
        assert_eq!(answer.text, "That's a fantastic question!", "chunk {chunk}");
        assert_eq!(answer.done_reason.as_deref(), Some("stop"));
        let req = &fake.requests()[0];
        assert_eq!(req.json()["stream"], true);
        assert_eq!(req.header("accept"), Some("application/x-ndjson"));
    }
}

#[test]
fn streaming_mid_stream_error_and_missing_done_are_retried() {
    let ok = String::from_utf8(fixture("generate-stream.ndjson")).unwrap();
    let cut = fixture("generate-stream-truncated-by-proxy.ndjson");
    let cases = vec![
        (
            "mid-stream error",
            Reply::fixture("generate-stream-midstream-error.ndjson"),
        ),
        (
            "no done line, clean end",
            Reply::ndjson(&ok[..ok.rfind("{\"model\"").unwrap()], 16),
        ),
        (
            "cut by the proxy",
            Reply::Truncate {
                status: 200,
                content_type: "application/x-ndjson".into(),
                sent: cut.len(),
                body: cut,
                chunked: true,
            },
        ),
    ];
    for (name, bad) in cases {
        let fake = FakeOllama::start(vec![bad, Reply::ndjson(&ok, 8)]);
        let answer = ask(&client(&fake, "stream = true")).unwrap_or_else(|f| panic!("{name}: {f}"));
        assert_eq!(answer.text, "That's a fantastic question!", "{name}");
        assert_eq!(answer.attempts, 2, "{name}");
    }
    // Every attempt failing mid-stream ends with Ollama's own words.
    let fake = FakeOllama::start(vec![
        Reply::fixture("generate-stream-midstream-error.ndjson");
        3
    ]);
    let f = ask(&client(&fake, "stream = true")).unwrap_err();
    assert!(
        f.message
            .contains("an error was encountered while running the model")
    );
}

#[test]
fn a_streaming_502_switches_to_non_streaming_for_good() {
    let fake = FakeOllama::start(vec![
        Reply::nginx_502(),
        Reply::generate("Plain answer."),
        Reply::generate("Second plain answer."),
    ]);
    let c = client(&fake, "stream = true");
    assert_eq!(ask(&c).unwrap().text, "Plain answer.");
    // A clone shares the decision.
    assert_eq!(ask(&c.clone()).unwrap().text, "Second plain answer.");
    let streams: Vec<bool> = fake
        .requests()
        .iter()
        .map(|r| r.json()["stream"].as_bool().unwrap())
        .collect();
    assert_eq!(streams, [true, false, false]);
}

#[test]
fn cancel_stops_before_and_between_attempts() {
    let fake = FakeOllama::start(vec![Reply::generate("no")]);
    let token = Token::new();
    token.cancel();
    let f = client(&fake, "").ask(&[], "hi", &token).unwrap_err();
    assert_eq!(f.class, FailureClass::Cancelled);
    assert_eq!(fake.requests().len(), 0);

    // A long backoff pause is cut short by the token.
    let fake = FakeOllama::start(vec![Reply::nginx_502(), Reply::generate("no")]);
    let c = client(
        &fake,
        "backoff_initial_ms = 600000\nbackoff_max_ms = 600000\ndeadline_s = 3600",
    );
    let token = Token::new();
    let t2 = token.clone();
    let th = std::thread::spawn(move || c.ask(&[], "hi", &t2));
    assert_eq!(fake.wait_requests(1, Duration::from_secs(30)), 1);
    token.cancel();
    let f = th.join().unwrap().unwrap_err();
    assert_eq!(f.class, FailureClass::Cancelled);
    assert_eq!(fake.requests().len(), 1);
}

/// The client's own guard, kept on purpose: one question at a time. The machine cancels a
/// question it abandons (CancelAsk), but a client is shared (the loop, `check`, a tool round),
/// and a second question must never leave the first one holding a connection: it cancels it,
/// and the first returns Cancelled at once while the second is answered.
#[test]
fn a_new_question_cancels_the_one_still_in_flight() {
    let fake = FakeOllama::start(vec![Reply::Hang, Reply::generate("Rayleigh scattering.")]);
    let c = client(&fake, "request_timeout_s = 120\ndeadline_s = 3600");
    let first = {
        let c = c.clone();
        std::thread::spawn(move || ask(&c))
    };
    assert_eq!(fake.wait_requests(1, Duration::from_secs(30)), 1);
    let started = Instant::now();
    let second = ask(&c).unwrap();
    assert_eq!(second.text, "Rayleigh scattering.");
    let f = first.join().unwrap().unwrap_err();
    assert_eq!(f.class, FailureClass::Cancelled, "{f}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_down_server_is_unreachable_and_named() {
    let url = format!("http://127.0.0.1:{}", support::free_port());
    let c = Client::new(&Config::ollama(&url).parse().ollama);
    let f = ask(&c).unwrap_err();
    assert_eq!(f.class, FailureClass::Unreachable);
    assert!(f.message.contains(&url), "{}", f.message);
    assert!(f.message.contains("connection refused"), "{}", f.message);
}

#[test]
fn warm_up_loads_with_an_empty_prompt() {
    let fake = FakeOllama::start(vec![Reply::send(
        200,
        "application/json; charset=utf-8",
        r#"{"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","response":"","done":true,"done_reason":"load"}"#,
    )]);
    client(&fake, "endpoint = \"chat\"").warm_up().unwrap();
    let req = &fake.requests()[0];
    assert_eq!(req.path, "/api/generate");
    assert_eq!(req.json()["prompt"], "");
    assert_eq!(req.json()["keep_alive"], "30m");
}

#[test]
fn check_reports_version_and_model() {
    let fake = FakeOllama::start(vec![
        Reply::fixture("version-ok.json"),
        Reply::fixture("tags-ok.json"),
    ]);
    let h = client(&fake, "").check();
    assert_eq!(h.version.unwrap(), "0.5.1");
    assert_eq!(h.model.unwrap().unwrap(), "llama3.2:latest");
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/api/version", "/api/tags"]);

    let fake = FakeOllama::start(vec![
        Reply::fixture("version-ok.json"),
        Reply::fixture("tags-ok.json"),
    ]);
    let h = client(&fake, "model = \"qwen3\"").check();
    let f = h.model.unwrap().unwrap_err();
    assert_eq!(f.class, FailureClass::ModelMissing);
    assert!(
        f.message.contains("deepseek-r1:latest, llama3.2:latest"),
        "{}",
        f.message
    );

    let url = format!("http://127.0.0.1:{}", support::free_port());
    let h = Client::new(&Config::ollama(&url).parse().ollama).check();
    assert_eq!(h.version.unwrap_err().class, FailureClass::Unreachable);
    assert!(h.model.is_none());
}
