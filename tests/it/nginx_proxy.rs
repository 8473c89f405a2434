//! End to end through a real nginx: its own 502 while Ollama is down, recovery when Ollama
//! comes up, and its 504 when Ollama is slower than `proxy_read_timeout`.
//!
//! Runs Debian's `/usr/sbin/nginx` (package nginx-light) unprivileged-capable: loopback port,
//! temp prefix. As root (CI) the worker drops to `nobody`, which the 0755 prefix allows.

use crate::support;

use std::time::Duration;

use crate::support::config::Config;
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::nginx::Nginx;
use voicebox::cancel::Token;
use voicebox::event::FailureClass;
use voicebox::ollama::Client;

#[test]
fn recovers_when_the_upstream_comes_up_between_attempts() {
    let upstream = support::free_port();
    let nginx = Nginx::start(&format!(
        "location / {{ proxy_pass http://127.0.0.1:{upstream}; }}"
    ));
    // Backoff of ≥ 750 ms (1 s − 25 % jitter) leaves ample time to bring the upstream up.
    let cfg = Config::ollama(&nginx.url())
        .lines(
            "ollama",
            "attempts = 4\nbackoff_initial_ms = 1000\nbackoff_max_ms = 2000",
        )
        .parse()
        .ollama;
    let client = Client::new(&cfg);
    let asking = std::thread::spawn(move || client.ask(&[], "hello", &Token::new()));

    // nginx logs the refused upstream connect before it answers the client with its 502.
    let refused = nginx.wait_log("connect() failed", Duration::from_secs(30));
    assert!(refused.is_some(), "nginx never tried the upstream");
    let fake = FakeOllama::start_on(upstream, vec![Reply::generate("Through the proxy.")]);

    let answer = asking.join().unwrap().unwrap();
    assert_eq!(answer.text, "Through the proxy.");
    assert!(answer.attempts >= 2, "attempts {}", answer.attempts);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.requests()[0].json()["stream"], false);
}

#[test]
fn a_proxy_timeout_is_too_slow_and_retried_once() {
    let fake = FakeOllama::start(vec![Reply::Hang, Reply::Hang, Reply::Hang]);
    let nginx = Nginx::start(&format!(
        "location / {{ proxy_pass http://127.0.0.1:{}; proxy_read_timeout 1s; }}",
        fake.port()
    ));
    let cfg = Config::ollama(&nginx.url())
        .lines("ollama", "attempts = 3")
        .parse()
        .ollama;
    let f = Client::new(&cfg)
        .ask(&[], "tell me a long story", &Token::new())
        .unwrap_err();
    assert_eq!(f.class, FailureClass::TooSlow, "{}", f.message);
    assert!(f.message.contains("504"), "{}", f.message);
    assert!(f.message.contains("proxy_read_timeout"), "{}", f.message);
    assert_eq!(fake.requests().len(), 2, "a 504 is retried at most once");
}

#[test]
fn a_down_upstream_is_the_proxys_502_not_ollama() {
    let upstream = support::free_port();
    let nginx = Nginx::start(&format!(
        "location / {{ proxy_pass http://127.0.0.1:{upstream}; }}"
    ));
    let cfg = Config::ollama(&nginx.url())
        .lines("ollama", "attempts = 2")
        .parse()
        .ollama;
    let f = Client::new(&cfg)
        .ask(&[], "hello", &Token::new())
        .unwrap_err();
    assert_eq!(f.class, FailureClass::ProxyError);
    assert!(f.message.contains("502 Bad Gateway"), "{}", f.message);
    assert!(f.message.contains("the proxy's own error page, not Ollama"));
}
