//! The loop's own rules: one error earcon, reloads only when idle, shutdown logs the cut turn,
//! stale results are dropped, timers run on the clock the loop reads.

use super::*;

fn error_earcons(h: &Harness) -> usize {
    let error = Call::Earcon(Earcon::Error);
    h.calls().iter().filter(|c| **c == error).count()
}

#[tokio::test(start_paused = true)]
async fn the_error_earcon_plays_once_when_every_sentence_fails() {
    let all_failed = SpeechReport {
        sentences: 2,
        failed: 2,
        ..SpeechReport::default()
    };
    // A reply nobody heard.
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(State::Speaking).await;
    h.post(spoken(1, all_failed.clone())).await;
    assert_eq!(error_earcons(&h), 1, "{:?}", h.calls());

    // A failure message nobody heard.
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(State::Thinking).await;
    h.post(answered(1, Err(FailureClass::Unreachable))).await;
    h.post(spoken(1, all_failed)).await;
    assert_eq!(error_earcons(&h), 1, "{:?}", h.calls());
    assert_eq!(h.logs.outcomes(), ["speech_failed"]);
}

#[tokio::test(start_paused = true)]
async fn a_reload_is_applied_only_when_idle() {
    let mut h = Harness::new(ButtonMode::Hold);
    let mut new = test_config(ButtonMode::Hold);
    new.ollama.model = "qwen3".into();
    h.reach(State::Thinking).await;
    *h.next_config.borrow_mut() = Some(new);
    h.reloads.try_send(()).unwrap();
    h.step().await;
    assert_eq!(
        (h.built(), h.app.config.ollama.model.as_str()),
        (1, "llama3.2")
    );
    h.post(answered(1, Ok("Noon."))).await;
    assert_eq!(h.built(), 1, "not while speaking either");
    h.post(spoken(1, heard(1))).await;
    assert_eq!(
        (h.built(), h.app.config.ollama.model.as_str()),
        (2, "qwen3")
    );

    // A broken file, or devices that cannot be built, change nothing.
    h.reloads.try_send(()).unwrap();
    h.step().await;
    let mut newer = test_config(ButtonMode::Hold);
    newer.ollama.model = "mistral".into();
    *h.next_config.borrow_mut() = Some(newer);
    *h.rebuild_fails.borrow_mut() = true;
    h.reloads.try_send(()).unwrap();
    h.step().await;
    assert_eq!(
        (h.built(), h.app.config.ollama.model.as_str()),
        (2, "qwen3")
    );
    let lines = h.logs.lines().join("\n");
    assert!(lines.contains("config reload failed"), "{lines}");
    assert!(lines.contains("no such output device"), "{lines}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_logs_the_cut_turn_and_stops_everything() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(State::Thinking).await;
    h.shut_down().await;
    assert_eq!(h.logs.outcomes(), ["cancelled"]);
    let summary = h.logs.lines().into_iter().find(|l| l.contains(": turn "));
    let summary = summary.unwrap();
    assert!(
        summary.contains(" INFO ") && summary.contains("stt_ms=400"),
        "{summary}"
    );
    let calls = h.calls();
    assert!(calls.contains(&Call::StopSpeaking) && calls.contains(&Call::CancelCapture));
    assert!(h.last_token().is_cancelled());
    assert!(h.jobs().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_late_result_of_an_abandoned_turn_is_dropped() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(State::Transcribing).await;
    h.post(Event::control(ControlCommand::Tap)).await;
    h.post(transcribed(1, Ok("too late"))).await;
    assert!(!h.calls().contains(&Call::Ask(1)), "{:?}", h.calls());
    assert!(h.jobs().is_empty());
    assert_eq!(h.state(), State::Idle);
}

#[tokio::test(start_paused = true)]
async fn an_answered_turn_logs_one_info_line_and_timers_follow_the_paused_clock() {
    let mut h = Harness::new(ButtonMode::Hold);
    // A held press of a second is a question, not a glitch: the loop reads tokio's clock.
    h.post(Event::Button { pressed: true }).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    h.post(Event::Button { pressed: false }).await;
    // The model is loaded while the user speaks.
    assert_eq!(h.calls(), [Call::Start(1), Call::Load, Call::Stop(1)]);
    h.post(captured(1, true)).await;
    h.post(transcribed(1, Ok("what time is it"))).await;
    h.post(answered(1, Ok("Noon."))).await;
    h.post(spoken(1, heard(1))).await;
    let info = h.logs.info();
    assert_eq!(info.len(), 1, "{info:#?}");
    assert!(info[0].contains("outcome=\"answered\""), "{info:#?}");

    // Turn 1's thinking-cue and max-record timers fire (stale, ignored), then, five idle
    // minutes after the answer, the forget timer.
    for _ in 0..3 {
        h.step().await;
    }
    let lines = h.logs.lines().join("\n");
    assert!(lines.contains("conversation forgotten"), "{lines}");

    // A tap that nobody stops ends at `audio.max_record_s`, with the "stopped" earcon.
    h.post(Event::control(ControlCommand::Tap)).await;
    h.step().await;
    let calls = h.calls();
    assert!(
        calls.ends_with(&[Call::Stop(2), Call::Earcon(Earcon::Stopped)]),
        "{calls:?}"
    );
}
