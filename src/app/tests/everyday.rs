//! The loop's side of everyday use: the volume reaches the speaker and the state file and
//! survives a restart, announcements are logged by length only, a question's follow-up
//! window reaches the microphone, the thinking cue follows the paused clock.

use super::*;
use crate::event::VolumeChange;

fn volume(h: &Harness) -> Option<u8> {
    h.log.borrow().volume
}

#[tokio::test(start_paused = true)]
async fn the_volume_reaches_the_speaker_and_survives_a_restart() {
    let h = Harness::new(ButtonMode::Hold);
    assert_eq!(volume(&h), Some(100), "no state yet: full volume");
    let mut h = h;
    h.post(Event::Volume(VolumeChange::Set(40))).await;
    assert_eq!(volume(&h), Some(40));
    h.post(Event::Volume(VolumeChange::Down)).await;
    assert_eq!(volume(&h), Some(30));
    assert_eq!(
        h.calls(),
        [Call::Earcon(Earcon::Volume)],
        "only the step beeps"
    );
    assert!(
        h.logs
            .lines()
            .iter()
            .any(|l| l.contains("volume volume=30"))
    );

    // A restart: a new loop on the same state directory starts where the old one was.
    let Harness { state_dir, .. } = h;
    let h = Harness::with_state(ButtonMode::Hold, state_dir);
    assert_eq!(volume(&h), Some(30));
    assert_eq!(h.app.machine.volume(), 30);

    // A reload builds a new speaker: it gets the level too.
    let mut h = h;
    *h.next_config.borrow_mut() = Some(test_config(ButtonMode::Hold));
    h.log.borrow_mut().volume = None;
    h.reloads.try_send(()).unwrap();
    h.step().await;
    assert_eq!((h.built(), volume(&h)), (2, Some(30)));

    // A damaged file: a warning, full volume, and the next change rewrites it.
    let Harness { state_dir, .. } = h;
    std::fs::write(state_dir.path().join("state.json"), "{\"vol").unwrap();
    let mut h = Harness::with_state(ButtonMode::Hold, state_dir);
    assert_eq!(volume(&h), Some(100));
    let lines = h.logs.lines().join("\n");
    assert!(
        lines.contains("WARN") && lines.contains("damaged state file"),
        "{lines}"
    );
    h.post(Event::Volume(VolumeChange::Set(70))).await;
    let text = std::fs::read_to_string(h.state_dir.path().join("state.json")).unwrap();
    assert_eq!(text.trim(), r#"{"volume":70}"#);
}

#[tokio::test(start_paused = true)]
async fn an_announcement_is_logged_by_its_length_only() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.post(Event::Announce("Tea is ready. Come down.".into()))
        .await;
    assert_eq!(
        h.calls(),
        [Call::Speak(1, "Tea is ready. Come down.".into())]
    );
    h.post(spoken(1, heard(2))).await;
    let info = h.logs.info();
    assert_eq!(info.len(), 1, "{info:#?}");
    assert!(
        info[0].contains("announcement") && info[0].contains("response_chars=24"),
        "{info:#?}"
    );
    assert!(info[0].contains("outcome=\"announced\"") && info[0].contains("sentences=2"));
    assert!(!info[0].contains("Tea"), "the text is private: {info:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_question_opens_a_follow_up_window_at_the_microphone() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(State::Thinking).await;
    h.post(answered(1, Ok("It is noon. Hungry?"))).await;
    h.post(spoken(1, heard(2))).await;
    assert_eq!(h.state(), State::Listening);
    // The follow-up question may come: the model is loaded meanwhile, as for a press.
    assert!(
        h.calls().ends_with(&[Call::Start(2), Call::Load]),
        "{:?}",
        h.calls()
    );
    let window = h.app.config.conversation.follow_up;
    assert_eq!(h.log.borrow().windows, [None, Some(window)]);
    // Nobody answers: quietly idle, logged at DEBUG only.
    h.post(captured(2, false)).await;
    assert_eq!(h.state(), State::Idle);
    assert!(!h.calls().iter().any(|c| matches!(c, Call::Speak(2, _))));
    assert_eq!(h.logs.outcomes(), ["answered", "no_follow_up"]);
    assert_eq!(h.logs.info().len(), 1, "one INFO line: the answered turn");
}

#[tokio::test(start_paused = true)]
async fn the_thinking_cue_starts_on_the_clock_and_stops_with_the_turn() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(State::Thinking).await;
    let cue = h.app.config.audio.thinking_cue;
    // Waiting for the answer, the loop's next wake-up is the cue's timer.
    let before = tokio::time::Instant::now();
    h.step().await;
    assert!(tokio::time::Instant::now() - before <= cue);
    assert_eq!(h.calls().last(), Some(&Call::ThinkingCue(true)));
    // The answer's own audio ends it in the speaker; a cancel has to say so.
    h.post(Event::control(ControlCommand::Cancel)).await;
    assert_eq!(h.calls().last(), Some(&Call::ThinkingCue(false)));
    assert_eq!(h.state(), State::Idle);
}
