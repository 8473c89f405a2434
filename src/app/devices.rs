//! The devices the loop drives, one small trait per actor: the real ones implement them here,
//! the loop's tests implement them with fakes that record each call.
//!
//! Every method returns at once; results come back as `Event`s. Capture and the speaker are
//! actors built with the event sender; STT and Ollama have no thread of their own, so each call
//! gets the sender and runs on a short-lived worker thread that honours its `cancel::Token`.
//!
//! A transcriber that can hear the recording while it is made (a Wyoming server) hands out a
//! `Live` at the press; its feed goes to the microphone, and the handle to `transcribe`.

use std::time::Duration;

use crate::audio::capture::{Capture, Feed, Listen};
use crate::audio::{Clip, earcons::Earcon};
use crate::bus::EventSender;
use crate::cancel;
use crate::event::{Event, TurnId};
use crate::machine::Exchange;
use crate::ollama::{self, Message};
use crate::speaker::pipeline::Speaker;
use crate::stt::Stt;
use crate::stt::live::Live;

/// The devices rebuilt from the config at start-up and on reload. Dropping them stops their
/// actors.
pub struct Devices {
    pub microphone: Box<dyn Microphone>,
    pub speaker: Box<dyn Loudspeaker>,
    pub stt: Box<dyn Transcriber>,
    pub ollama: Box<dyn Responder>,
}

/// Records a turn: posts `CaptureStarted`, `SpeechEnded` and `Captured`; with a feed, also hands
/// the recording on as it is made.
pub trait Microphone {
    fn start(&self, turn: TurnId, listen: Listen);
    fn stop(&self, turn: TurnId);
    /// Drops the recording; nothing is posted.
    fn cancel(&self);
}

/// Speaks replies sentence by sentence (posts `Spoken`) and plays earcons.
pub trait Loudspeaker {
    fn speak(&self, turn: TurnId, text: String);
    /// A piece of a reply still arriving: spoken as its sentences complete.
    fn speak_part(&self, turn: TurnId, text: String);
    /// The last piece was given: speak the rest, then `tail`; posts `Spoken`.
    fn end_speech(&self, turn: TurnId, tail: Option<String>);
    /// Silences speech at once; the reply being spoken still posts its `Spoken`.
    fn stop(&self);
    fn earcon(&self, earcon: Earcon);
    /// Starts (or ends) the repeating thinking cue; the next sound of any kind also ends it.
    fn thinking_cue(&self, on: bool);
    /// The everyday volume, percent of `audio.volume`.
    fn set_volume(&self, percent: u8);
    /// Opens the output now and holds it open for `hold`: a timer rings within it.
    fn ready(&self, hold: Duration);
}

/// Transcribes a recording; posts `Transcribed` unless the process ends first.
pub trait Transcriber {
    /// A transcription that hears the recording while it is made, if this backend can: the
    /// feed for the microphone and the handle for `transcribe`. Dropping the handle hangs up.
    fn live(&self) -> Option<(Feed, Live)>;
    /// Transcribes `clip`, or with `live` (its recording has ended) waits for that transcript.
    fn transcribe(
        &self,
        turn: TurnId,
        clip: Clip,
        live: Option<Live>,
        cancel: cancel::Token,
        events: &EventSender,
    );
}

/// Asks the model, with the remembered exchanges; posts `Replying` for each piece of a streamed
/// reply, then `Answered`. `lang` is the question's language.
pub trait Responder {
    fn ask(
        &self,
        turn: TurnId,
        question: String,
        history: Vec<Exchange>,
        lang: String,
        cancel: cancel::Token,
        events: &EventSender,
    );
    /// Gets the model loaded for a question about to come, in the background.
    fn load(&self);
}

impl Microphone for Capture {
    fn start(&self, turn: TurnId, listen: Listen) {
        Capture::start(self, turn, listen);
    }
    fn stop(&self, turn: TurnId) {
        Capture::stop(self, turn);
    }
    fn cancel(&self) {
        Capture::cancel(self);
    }
}

impl Loudspeaker for Speaker {
    fn speak(&self, turn: TurnId, text: String) {
        Speaker::speak(self, turn, text);
    }
    fn speak_part(&self, turn: TurnId, text: String) {
        Speaker::speak_part(self, turn, text);
    }
    fn end_speech(&self, turn: TurnId, tail: Option<String>) {
        Speaker::end_speech(self, turn, tail);
    }
    fn stop(&self) {
        Speaker::stop(self);
    }
    fn earcon(&self, earcon: Earcon) {
        Speaker::earcon(self, earcon);
    }
    fn thinking_cue(&self, on: bool) {
        Speaker::thinking_cue(self, on);
    }
    fn set_volume(&self, percent: u8) {
        Speaker::set_volume(self, percent);
    }
    fn ready(&self, hold: Duration) {
        Speaker::ready(self, hold);
    }
}

impl Transcriber for Stt {
    fn live(&self) -> Option<(Feed, Live)> {
        Stt::live(self)
    }

    fn transcribe(
        &self,
        turn: TurnId,
        clip: Clip,
        live: Option<Live>,
        cancel: cancel::Token,
        events: &EventSender,
    ) {
        let (stt, events) = (self.clone(), events.clone());
        spawn_worker("stt", move || {
            let result = match live {
                Some(live) => stt.finish(live, &cancel),
                None => stt.transcribe(&clip, &cancel),
            };
            let _ = events.send(Event::Transcribed { turn, result });
        });
    }
}

impl Responder for ollama::Client {
    fn ask(
        &self,
        turn: TurnId,
        question: String,
        history: Vec<Exchange>,
        lang: String,
        cancel: cancel::Token,
        events: &EventSender,
    ) {
        let (client, events) = (self.clone(), events.clone());
        spawn_worker("ollama", move || {
            let history = Message::from_history(&history);
            let mut piece = |text: &str| {
                let text = text.to_string();
                let _ = events.send(Event::Replying { turn, text });
            };
            // The local time ($TZ, else /etc/localtime), read here at the edge: the client
            // and the prompt take it as an argument.
            let q = ollama::Question {
                history: &history,
                text: &question,
                lang: &lang,
                now: Some(jiff::Timestamp::now().to_zoned(crate::app::system_zone())),
            };
            let result = client.ask_question(&q, &cancel, Some(&mut piece));
            let _ = events.send(Event::Answered { turn, result });
        });
    }

    fn load(&self) {
        ollama::Client::load(self);
    }
}

/// Blocking work (a hook, an HTTP request) on its own short-lived thread, off the loop.
fn spawn_worker(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        // The machine then waits for a result that never comes; a cancel or the next press
        // recovers, and the log says why.
        tracing::error!(error = %e, "cannot start a {name} thread");
    }
}
