//! The Ollama client against a server that generates at a model's pace: streamed text is handed
//! on as it arrives, a cancelled question hangs up at once, one question at a time, and the
//! background model load.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::support::config::Config;
use crate::support::fake_ollama::{FakeOllama, Pace, Reply};
use voicebox::cancel::Token;
use voicebox::event::FailureClass;
use voicebox::ollama::Client;

const REPLY: &str =
    "Paris is the capital of France. It lies on the Seine. About two million people live there.";

fn client(fake: &FakeOllama, extra: &str) -> Client {
    Config::client(&fake.url(), extra)
}

#[test]
fn streamed_text_is_handed_on_before_the_reply_has_ended() {
    let fake = FakeOllama::start(vec![Reply::Paced(Pace::new(100, 20.0, REPLY))]);
    let pieces: Arc<Mutex<Vec<(String, SystemTime)>>> = Arc::default();
    let got = pieces.clone();
    let answer = client(&fake, "stream = true")
        .ask_streaming(&[], "Where is Paris?", &Token::new(), &mut |t| {
            got.lock().unwrap().push((t.to_string(), SystemTime::now()));
        })
        .unwrap();
    assert_eq!(answer.text, REPLY);
    let run = &fake.runs()[0];
    let pieces = pieces.lock().unwrap();
    let text: String = pieces.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(text, REPLY, "every piece, in order, nothing twice");
    // The first sentence was in hand before the server had made the second.
    let mut so_far = String::new();
    let first_sentence_at = pieces
        .iter()
        .find_map(|(t, at)| {
            so_far.push_str(t);
            so_far.contains("France.").then_some(*at)
        })
        .unwrap();
    let second_made = run.sent_through("Paris is the capital of France. It lies on the Seine.");
    assert!(first_sentence_at < second_made.unwrap(), "{run:?}");
}

#[test]
fn a_cut_stream_is_not_retried_once_text_was_handed_on() {
    let fake = FakeOllama::start(vec![
        Reply::Paced(Pace::new(0, 50.0, REPLY).cut_after(10)),
        Reply::generate("A second, different reply."),
    ]);
    let mut text = String::new();
    let f = client(&fake, "stream = true")
        .ask_streaming(&[], "Where is Paris?", &Token::new(), &mut |t| {
            text.push_str(t)
        })
        .unwrap_err();
    assert_ne!(f.class, FailureClass::Cancelled, "{f}");
    assert_eq!(text, "Paris is the capital of France. It lies on");
    assert_eq!(
        fake.requests().len(),
        1,
        "a retry would repeat what was said"
    );
    // Without a consumer of the pieces (the whole answer wanted), the same cut is retried.
    let fake = FakeOllama::start(vec![
        Reply::Paced(Pace::new(0, 50.0, REPLY).cut_after(10)),
        Reply::Paced(Pace::new(0, 50.0, REPLY)),
    ]);
    let answer = client(&fake, "stream = true")
        .ask(&[], "Where is Paris?", &Token::new())
        .unwrap();
    assert_eq!((answer.text.as_str(), answer.attempts), (REPLY, 2));
}

#[test]
fn a_cancelled_question_hangs_up_within_a_second_streamed_or_not() {
    for stream in [false, true] {
        // Not streamed: the server is still generating, nothing sent. Streamed: the first
        // tokens are out, the rest comes slowly.
        let pace = if stream {
            Pace::new(0, 2.0, REPLY)
        } else {
            Pace::new(60_000, 20.0, REPLY)
        };
        let fake = FakeOllama::start(vec![Reply::Paced(pace)]);
        let c = client(
            &fake,
            &format!("stream = {stream}\nrequest_timeout_s = 120"),
        );
        let token = Token::new();
        let asking = {
            let (c, token) = (c.clone(), token.clone());
            std::thread::spawn(move || c.ask_streaming(&[], "hi", &token, &mut |_| {}))
        };
        fake.wait_run("a request in flight", |r| !stream || !r.sent.is_empty());
        let cancelled = SystemTime::now();
        let t0 = Instant::now();
        token.cancel();
        let f = asking.join().unwrap().unwrap_err();
        assert_eq!(f.class, FailureClass::Cancelled, "stream {stream}");
        assert!(t0.elapsed() < Duration::from_secs(1), "stream {stream}");
        let after = fake.hang_up_after(cancelled);
        assert!(after < Duration::from_secs(1), "stream {stream}: {after:?}");
    }
}

#[test]
fn a_new_question_cancels_the_one_in_flight() {
    let fake = FakeOllama::start(vec![
        Reply::Paced(Pace::new(60_000, 20.0, REPLY)),
        Reply::generate("The second question's answer."),
    ]);
    let c = client(&fake, "request_timeout_s = 120");
    let first = {
        let c = c.clone();
        std::thread::spawn(move || c.ask(&[], "first", &Token::new()))
    };
    fake.wait_run("the first question", |_| true);
    let second = c.ask(&[], "second", &Token::new()).unwrap();
    assert_eq!(second.text, "The second question's answer.");
    assert_eq!(
        first.join().unwrap().unwrap_err().class,
        FailureClass::Cancelled
    );
    assert!(fake.runs()[0].hung_up.is_some(), "{:?}", fake.runs());
}

#[test]
fn a_load_runs_in_the_background_once_and_never_holds_up_a_question() {
    let fake = FakeOllama::start(vec![
        Reply::generate("Answered while the model loads."),
        Reply::generate("Answered."),
    ])
    .answer_loads(vec![Reply::Paced(Pace::new(60_000, 20.0, ""))]);
    let c = client(&fake, "warm_up = true\nrequest_timeout_s = 120");
    let t0 = Instant::now();
    c.load();
    assert!(t0.elapsed() < Duration::from_millis(100), "load() blocked");
    support::poll(support::PATIENCE, Duration::from_millis(5), || {
        (!fake.loads().is_empty()).then_some(())
    })
    .expect("no load request");
    assert!(fake.requests().is_empty(), "a load is not a question");
    let load = &fake.loads()[0];
    assert_eq!(
        (load.path.as_str(), load.json()["prompt"].as_str()),
        ("/api/generate", Some(""))
    );
    assert_eq!(load.json()["keep_alive"], "30m");
    // A second load while the first is in flight is skipped; a question goes ahead at once.
    c.load();
    let answer = c.ask(&[], "hi", &Token::new()).unwrap();
    assert_eq!(answer.text, "Answered while the model loads.");
    assert!(fake.runs()[0].ended.is_none(), "the load was still running");
    assert_eq!(fake.loads().len(), 1);

    // With warm_up off, no load is asked for.
    let fake = FakeOllama::start(vec![]).answer_loads(vec![]);
    client(&fake, "warm_up = false").load();
    std::thread::sleep(Duration::from_millis(200));
    assert!(fake.loads().is_empty());
}
