//! A transcriber that hears the recording while it is made: the microphone gets the feed at
//! the press, the `Transcribe` of that recording claims the live transcription, and every
//! other way a recording can end hangs it up.

use super::*;

/// A harness whose transcriber is live; the receiver yields each live transcription's hang-up
/// token in the order they started.
fn live_harness() -> (Harness, std::sync::mpsc::Receiver<cancel::Token>) {
    let h = Harness::new(ButtonMode::Hold);
    let (tx, rx) = std::sync::mpsc::channel();
    h.log.borrow_mut().live = Some(tx);
    (h, rx)
}

fn next_token(rx: &std::sync::mpsc::Receiver<cancel::Token>) -> cancel::Token {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a live transcription was started")
}

#[tokio::test(start_paused = true)]
async fn the_recording_is_fed_while_made_and_its_transcribe_claims_it() {
    let (mut h, tokens) = live_harness();
    h.reach(State::Transcribing).await;
    let token = next_token(&tokens);
    assert_eq!(
        h.calls()[..1],
        [Call::StartFeeding(1)],
        "the feed goes with the start"
    );
    assert!(
        h.calls().contains(&Call::TranscribeLive(1)),
        "{:?}",
        h.calls()
    );
    assert!(!token.is_cancelled(), "the claimed transcription goes on");
    assert!(h.app.driver.live.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_recording_that_is_not_transcribed_hangs_up() {
    // Each way: silence, a failed capture, a cancel while listening, a glitch, a new press.
    let endings: [(&str, Vec<Event>); 4] = [
        ("silence", vec![captured(1, false)]),
        (
            "failed capture",
            vec![Event::Captured {
                turn: 1,
                result: Err(failure(FailureClass::AudioFailed)),
            }],
        ),
        ("cancel", vec![Event::control(ControlCommand::Cancel)]),
        (
            "glitch",
            vec![
                Event::control(ControlCommand::Press),
                Event::control(ControlCommand::Release),
            ],
        ),
    ];
    for (what, events) in endings {
        let (mut h, tokens) = live_harness();
        if what == "glitch" {
            // A press released at once: the capture is cancelled, nothing is transcribed.
            for e in events {
                h.post(e).await;
            }
        } else {
            h.post(Event::control(ControlCommand::Tap)).await;
            h.post(Event::CaptureStarted { turn: 1 }).await;
            for e in events {
                h.post(e).await;
            }
        }
        let token = next_token(&tokens);
        assert!(token.is_cancelled(), "{what}: not hung up; {:?}", h.calls());
        assert!(h.app.driver.live.is_none(), "{what}");
        assert!(
            !h.calls()
                .iter()
                .any(|c| matches!(c, Call::TranscribeLive(_) | Call::Transcribe(_))),
            "{what}: {:?}",
            h.calls()
        );
    }

    // A press that abandons a transcription cancels it (its worker hangs up) and starts a new
    // live one for the new recording; shutdown hangs that one up.
    let (mut h, tokens) = live_harness();
    h.reach(State::Transcribing).await;
    let _first = next_token(&tokens);
    h.post(Event::control(ControlCommand::Press)).await;
    assert!(h.last_token().is_cancelled(), "the abandoned transcription");
    let second = next_token(&tokens);
    assert!(
        !second.is_cancelled(),
        "the new recording's transcription runs"
    );
    assert_eq!(h.app.driver.live.as_ref().map(|l| l.turn), Some(2));
    h.shut_down().await;
    assert!(second.is_cancelled(), "shutdown hangs up");
}
