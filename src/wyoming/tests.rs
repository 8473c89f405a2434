//! The Wyoming client against a scripted socket: what it sends, and what it makes of what a
//! server answers (pings, errors, unplayable audio, streamed transcripts).

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener};
use std::time::Duration;

use serde_json::json;

use super::codec::{self, Event};
use super::conn::Error;
use crate::audio::capture::Fed;
use crate::cancel;
use crate::stt::wyoming as stt;
use crate::tts::wyoming as tts;

/// A one-connection server that reads one event, then writes `answer` and nothing more,
/// and returns what it read until the client hung up.
fn serve(answer: Vec<Event>) -> (String, std::thread::JoinHandle<Vec<Event>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut seen = vec![codec::read(&mut r).unwrap().unwrap()];
        let mut w = s;
        for e in answer {
            w.write_all(&e.encode()).unwrap();
        }
        let _ = w.shutdown(Shutdown::Write);
        while let Ok(Some(e)) = codec::read(&mut r) {
            seen.push(e);
        }
        seen
    });
    (addr, h)
}

fn say(addr: &str) -> Result<crate::audio::Clip, Error> {
    let req = tts::Request {
        addr,
        text: "Xin chào.",
        voice: Some("vi"),
        language: Some("vi"),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
        max_bytes: 1 << 20,
    };
    tts::synthesize(&req, &cancel::Token::new())
}

#[test]
fn a_ping_is_answered_and_an_error_event_is_the_servers_failure_made_safe() {
    let (addr, h) = serve(vec![
        Event::new("ping", json!({})),
        Event::new(
            "error",
            json!({"text": "voice \u{1b}[31mvi\nnot found", "code": "x"}),
        ),
    ]);
    let e = say(&addr).unwrap_err();
    assert!(matches!(e, Error::Server { .. }), "{e}");
    assert!(e.to_string().ends_with("failed: voice [31mvi"), "{e}");
    let seen = h.join().unwrap();
    assert_eq!(seen[0].kind, "synthesize");
    assert_eq!(
        seen[0].data["voice"],
        json!({"name": "vi", "language": "vi"})
    );
    assert_eq!(seen[1].kind, "pong");
}

#[test]
fn a_streamed_transcript_without_a_final_one_is_put_together_from_its_chunks() {
    let (addr, h) = serve(vec![
        Event::new("transcript-start", json!({"language": "en"})),
        Event::new("transcript-chunk", json!({"text": "what "})),
        Event::new("transcript-chunk", json!({"text": "time is it"})),
        Event::new("transcript-stop", json!({})),
    ]);
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(Fed::Audio(vec![0.5; 160])).unwrap();
    tx.send(Fed::End).unwrap();
    let req = stt::Request {
        addr,
        model: Some("small".into()),
        language: Some("en".into()),
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    };
    let heard = stt::transcribe(&req, &rx, &cancel::Token::new()).unwrap();
    assert_eq!(heard.text, "what time is it");
    let seen = h.join().unwrap();
    let kinds: Vec<&str> = seen.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["transcribe", "audio-start", "audio-chunk", "audio-stop"]
    );
    assert_eq!(
        seen[0].data,
        *json!({"name": "small", "language": "en"})
            .as_object()
            .unwrap()
    );
    assert_eq!(seen[2].payload.len(), 320, "160 samples of 16-bit audio");
}

#[test]
fn audio_voicebox_cannot_play_is_refused_by_name() {
    let chunk = |width: u64, rate: u64| {
        Event::new(
            "audio-chunk",
            json!({"rate": rate, "width": width, "channels": 1}),
        )
        .with_payload(vec![0; 8])
    };
    let stop = || Event::new("audio-stop", json!({}));
    for (answer, needle) in [
        (vec![chunk(4, 22050), stop()], "4-byte samples"),
        (
            vec![chunk(2, 0), stop()],
            "an audio-chunk with rate 0, channels 1: not a usable audio format",
        ),
        (
            vec![chunk(2, 22050), chunk(2, 16000), stop()],
            "changing formats",
        ),
        (vec![stop()], "without any audio"),
        (vec![], "closed the connection"),
    ] {
        let (addr, h) = serve(answer);
        let e = say(&addr).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
        h.join().unwrap();
    }
    let (addr, h) = serve(vec![chunk(2, 22050), stop()]);
    let clip = say(&addr).unwrap();
    assert_eq!(
        (clip.rate, clip.channels, clip.samples.len()),
        (22050, 1, 4)
    );
    h.join().unwrap();
}
