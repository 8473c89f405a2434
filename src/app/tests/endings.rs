//! However a turn ends, the loop keeps no cancel handle of it, cancels the work it cut short,
//! and logs one summary with the right outcome.

use super::*;

use FailureClass as C;
use State::{Listening, Speaking, Thinking, Transcribing};

#[derive(Debug, Clone, Copy)]
enum Ending {
    Answered,
    CaptureFailed,
    NothingHeard,
    TranscriptionFailed(FailureClass),
    EmptyTranscript,
    AskFailed(FailureClass),
    EmptyReply,
    NothingSpeakable,
    SpeechFailed,
    Cancelled(State),
    /// A tap while transcribing or thinking.
    Abandoned(State),
    /// A press while speaking (hold mode): the reply stops, a new turn listens.
    BargeIn,
    Shutdown(State),
}

const CLASSES: [FailureClass; 11] = [
    C::Unreachable,
    C::ProxyError,
    C::TooSlow,
    C::ModelMissing,
    C::Rejected,
    C::Unauthorized,
    C::BadReply,
    C::DidntCatch,
    C::SttFailed,
    C::AudioFailed,
    C::Cancelled,
];
const STAGES: [State; 4] = [Listening, Transcribing, Thinking, Speaking];

fn endings() -> Vec<Ending> {
    use Ending::*;
    let mut all = vec![
        Answered,
        CaptureFailed,
        NothingHeard,
        EmptyTranscript,
        EmptyReply,
        NothingSpeakable,
        SpeechFailed,
        Abandoned(Transcribing),
        Abandoned(Thinking),
        BargeIn,
    ];
    // Whatever class a device reports: the loop must not care.
    all.extend(CLASSES.map(TranscriptionFailed));
    all.extend(CLASSES.map(AskFailed));
    all.extend(STAGES.map(Cancelled));
    all.extend(STAGES.map(Shutdown));
    all
}

/// Plays turn 1 to `ending`; returns the outcomes it must log.
async fn play(h: &mut Harness, ending: Ending) -> Vec<&'static str> {
    use Ending::*;
    let stopped = SpeechReport {
        sentences: 2,
        stopped: true,
        ..SpeechReport::default()
    };
    match ending {
        Answered => {
            h.reach(Speaking).await;
            h.post(spoken(1, heard(2))).await;
            vec!["answered"]
        }
        CaptureFailed => {
            h.reach(Listening).await;
            let result = Err(failure(C::AudioFailed));
            h.post(Event::Captured { turn: 1, result }).await;
            h.hear_notice().await;
            vec!["audio_failed"]
        }
        NothingHeard => {
            h.reach(Listening).await;
            h.post(Event::SpeechEnded { turn: 1 }).await;
            h.post(captured(1, false)).await;
            h.hear_notice().await;
            vec!["didnt_catch"]
        }
        TranscriptionFailed(class) => {
            h.reach(Transcribing).await;
            h.post(transcribed(1, Err(class))).await;
            h.hear_notice().await;
            vec![class.as_str()]
        }
        EmptyTranscript => {
            h.reach(Transcribing).await;
            h.post(transcribed(1, Ok(" \n"))).await;
            h.hear_notice().await;
            vec!["didnt_catch"]
        }
        AskFailed(class) => {
            h.reach(Thinking).await;
            h.post(answered(1, Err(class))).await;
            h.hear_notice().await;
            vec![class.as_str()]
        }
        EmptyReply => {
            h.reach(Thinking).await;
            h.post(answered(1, Ok(" "))).await;
            h.hear_notice().await;
            vec!["bad_reply"]
        }
        NothingSpeakable => {
            h.reach(Speaking).await;
            h.post(spoken(1, SpeechReport::default())).await;
            h.hear_notice().await;
            vec!["bad_reply"]
        }
        SpeechFailed => {
            h.reach(Speaking).await;
            let report = SpeechReport {
                sentences: 2,
                failed: 2,
                ..SpeechReport::default()
            };
            h.post(spoken(1, report)).await;
            vec!["speech_failed"]
        }
        Cancelled(stage) => {
            h.reach(stage).await;
            h.post(Event::control(ControlCommand::Cancel)).await;
            if stage == Speaking {
                h.post(spoken(1, stopped)).await;
            }
            vec!["cancelled"]
        }
        Abandoned(stage) => {
            h.reach(stage).await;
            h.post(Event::control(ControlCommand::Tap)).await;
            vec!["abandoned"]
        }
        BargeIn => {
            h.reach(Speaking).await;
            h.post(Event::Button { pressed: true }).await;
            assert_eq!(h.state(), Listening, "the press listens at once");
            h.post(spoken(1, stopped)).await;
            // Ends the new turn, which is not what this case is about.
            h.post(Event::control(ControlCommand::Cancel)).await;
            vec!["interrupted", "cancelled"]
        }
        Shutdown(stage) => {
            h.reach(stage).await;
            h.shut_down().await;
            vec!["cancelled"]
        }
    }
}

/// Endings that cut an STT run or an Ollama request short.
fn cuts_a_job(ending: Ending) -> bool {
    use Ending::*;
    matches!(
        ending,
        Cancelled(Transcribing | Thinking)
            | Abandoned(Transcribing | Thinking)
            | Shutdown(Transcribing | Thinking)
    )
}

#[tokio::test(start_paused = true)]
async fn every_ending_drops_its_cancel_handles_and_logs_its_outcome() {
    let mut wrong = Vec::new();
    for ending in endings() {
        let mut h = Harness::new(ButtonMode::Hold);
        let want = play(&mut h, ending).await;
        if !h.jobs().is_empty() {
            wrong.push(format!("{ending:?}: still kept {:?}", h.jobs()));
        }
        if cuts_a_job(ending) && !h.last_token().is_cancelled() {
            wrong.push(format!("{ending:?}: the cut job was not cancelled"));
        }
        if h.logs.outcomes() != want {
            wrong.push(format!("{ending:?}: logged {:?}", h.logs.outcomes()));
        }
        if h.state() != State::Idle {
            wrong.push(format!("{ending:?}: ended in {:?}", h.state()));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
