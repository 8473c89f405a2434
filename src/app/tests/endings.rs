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
    /// A streamed reply: spoken as it arrives, then ended as `Streamed` says.
    Streamed(StreamEnd),
}

/// How a streamed reply ends after its first piece.
#[derive(Debug, Clone, Copy)]
enum StreamEnd {
    Answered,
    /// The request failed after the first piece.
    CutOff,
    BargeIn,
    Cancelled,
    Shutdown,
    /// The output failed while the reply was still arriving.
    SpeechFailed,
}

const CLASSES: [FailureClass; 12] = [
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
    C::CutOff,
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
    all.extend(
        [
            StreamEnd::Answered,
            StreamEnd::CutOff,
            StreamEnd::BargeIn,
            StreamEnd::Cancelled,
            StreamEnd::Shutdown,
            StreamEnd::SpeechFailed,
        ]
        .map(Streamed),
    );
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
        Streamed(end) => play_streamed(h, end, stopped).await,
    }
}

async fn play_streamed(
    h: &mut Harness,
    end: StreamEnd,
    stopped: SpeechReport,
) -> Vec<&'static str> {
    h.reach(Thinking).await;
    h.post(replying(1, "It is noon.")).await;
    assert_eq!(h.state(), Speaking, "the first piece is spoken at once");
    h.post(replying(1, " Time for lunch.")).await;
    match end {
        StreamEnd::Answered => {
            h.post(answered(1, Ok("It is noon. Time for lunch."))).await;
            h.post(spoken(1, heard(2))).await;
            vec!["answered"]
        }
        StreamEnd::CutOff => {
            h.post(answered(1, Err(C::BadReply))).await;
            h.post(spoken(1, heard(3))).await;
            vec!["cut_off"]
        }
        StreamEnd::BargeIn => {
            h.post(Event::Button { pressed: true }).await;
            h.post(spoken(1, stopped)).await;
            h.post(Event::control(ControlCommand::Cancel)).await;
            vec!["interrupted", "cancelled"]
        }
        StreamEnd::Cancelled => {
            h.post(Event::control(ControlCommand::Cancel)).await;
            h.post(spoken(1, stopped)).await;
            vec!["cancelled"]
        }
        StreamEnd::Shutdown => {
            h.shut_down().await;
            vec!["cancelled"]
        }
        StreamEnd::SpeechFailed => {
            let report = SpeechReport {
                device_error: Some("no such device".into()),
                ..SpeechReport::default()
            };
            h.post(spoken(1, report)).await;
            // The request, hung up, still answers; nobody speaks it.
            h.post(answered(1, Err(C::Cancelled))).await;
            vec!["speech_failed"]
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
            | Streamed(
                StreamEnd::BargeIn
                    | StreamEnd::Cancelled
                    | StreamEnd::Shutdown
                    | StreamEnd::SpeechFailed
            )
    )
}

#[tokio::test(start_paused = true)]
async fn a_streamed_reply_goes_to_the_speaker_piece_by_piece_and_ends_once() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(Thinking).await;
    h.post(replying(1, "It is noon.")).await;
    h.post(replying(1, " Time")).await;
    h.post(answered(1, Ok("It is noon. Time"))).await;
    let speech: Vec<Call> = h
        .calls()
        .into_iter()
        .filter(|c| {
            matches!(
                c,
                Call::Speak(..) | Call::SpeakPart(..) | Call::EndSpeech(..)
            )
        })
        .collect();
    assert_eq!(
        speech,
        [
            Call::SpeakPart(1, "It is noon.".into()),
            Call::SpeakPart(1, " Time".into()),
            Call::EndSpeech(1, None),
        ]
    );
    // Cut off: what arrived stays, the cut-off message is its tail.
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(Thinking).await;
    h.post(replying(1, "It is noon.")).await;
    h.post(answered(1, Err(C::ProxyError))).await;
    let cut_off = h.app.config.messages.get("cut_off", "en", "en").to_string();
    assert_eq!(h.calls().last(), Some(&Call::EndSpeech(1, Some(cut_off))));
    // Pieces of an abandoned turn are never spoken.
    let mut h = Harness::new(ButtonMode::Hold);
    h.reach(Thinking).await;
    h.post(Event::control(ControlCommand::Tap)).await;
    h.post(replying(1, "Too late.")).await;
    assert!(
        !h.calls().iter().any(|c| matches!(c, Call::SpeakPart(..))),
        "{:?}",
        h.calls()
    );
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
