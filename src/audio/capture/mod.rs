//! Microphone capture: the handle the daemon and `voicebox listen` drive. An actor thread opens
//! the input on `start` and closes it when the recording ends, so an idle box holds no stream.
//!
//! - `actor`  the thread: one recording at a time, commands honoured while it runs.
//! - `stream` the cpal input stream and its real-time callback.
//! - `record` one blocking recording for `voicebox listen`.
//! - `feed`   the recording handed on while it is made (to a streaming recogniser).
//!
//! Every `start` ends in exactly one `Captured` (unless cancelled or superseded), also when the
//! actor thread is gone: the machine then speaks the microphone failure instead of waiting.
//! (Unless nobody else holds the event channel: then it closes, which `record` reports.)
//!
//! Durations that decide what is kept (post-roll, `max_record`, `listen --seconds`) are counted
//! in captured samples, not wall time: the same on a real microphone, and correct on an unpaced
//! test device that delivers audio far faster than real time.

mod actor;
mod feed;
mod record;
mod stream;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use feed::{Fed, Feed};
pub use record::{StopWhen, record};

use tokio::sync::mpsc::WeakUnboundedSender;

use crate::bus::EventSender;
use crate::config;
use crate::event::{Event, Failure, FailureClass, TurnId};

/// Recordings are handed on at the rate STT engines expect.
pub const STT_RATE: u32 = 16_000;

/// Handle to the capture actor. Dropping it stops the actor (and any open stream).
pub struct Capture {
    tx: Option<mpsc::Sender<Cmd>>,
    thread: Option<JoinHandle<()>>,
    /// Where `start` reports a failure itself when the actor cannot. Weak, so that the handle
    /// alone does not hold the channel open: `record` sees it close when the actor dies.
    events: WeakUnboundedSender<Event>,
}

/// How a recording ends besides `stop` and `max_record`, and where else it goes.
#[derive(Debug, Default)]
pub struct Listen {
    /// Post `SpeechEnded` after speech and `end_silence` of quiet (toggle mode, taps).
    pub detect_end: bool,
    /// A follow-up window: when no speech has begun after this much audio, the recording ends
    /// there (and posts `Captured`, without speech).
    pub speech_within: Option<Duration>,
    /// Hand the recording on as it is made (16 kHz mono), ending with `Fed::End` when it is
    /// complete.
    pub feed: Option<Feed>,
}

#[derive(Debug)]
enum Cmd {
    Start { turn: TurnId, listen: Listen },
    Stop { turn: TurnId },
    Cancel,
}

impl Capture {
    /// Starts the actor thread. Nothing is opened until `start`.
    pub fn spawn(audio: &config::Audio, events: EventSender) -> Capture {
        let (tx, rx) = mpsc::channel();
        let weak = events.downgrade();
        let audio = audio.clone();
        let thread = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || actor::run(&audio, &events, &rx));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // The receiver went down with the closure, so every `start` answers with a
                // failure instead of hanging.
                tracing::error!(error = %e, "cannot start the capture thread");
                None
            }
        };
        Capture {
            tx: Some(tx),
            thread,
            events: weak,
        }
    }

    /// Opens the input and records for `turn`: posts `CaptureStarted` on the first frame, then
    /// what `listen` asks for. A recording already running is dropped without a result.
    pub fn start(&self, turn: TurnId, listen: Listen) {
        if !self.send(Cmd::Start { turn, listen })
            && let Some(events) = self.events.upgrade()
        {
            let _ = events.send(Event::Captured {
                turn,
                result: Err(Failure::new(
                    FailureClass::AudioFailed,
                    "the capture thread is not running (it could not start or it crashed); restart voicebox",
                )),
            });
        }
    }

    /// Keeps recording for `post_roll`, then posts `Captured` and closes the input.
    pub fn stop(&self, turn: TurnId) {
        self.send(Cmd::Stop { turn });
    }

    /// Drops the recording and closes the input; nothing is posted.
    pub fn cancel(&self) {
        self.send(Cmd::Cancel);
    }

    /// Whether the actor took the command.
    fn send(&self, cmd: Cmd) -> bool {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(cmd).is_ok());
        if !sent {
            tracing::error!("the capture thread is gone; the microphone cannot be used");
        }
        sent
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How many samples `d` is at `rate`.
fn samples_for(d: Duration, rate: u32) -> usize {
    (d.as_secs_f64() * f64::from(rate)).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_counts_follow_the_rate() {
        assert_eq!(samples_for(Duration::from_millis(250), 48000), 12000);
        assert_eq!(samples_for(Duration::from_secs(4), 16000), 64000);
        assert_eq!(samples_for(Duration::ZERO, 44100), 0);
    }

    #[test]
    fn start_without_an_actor_posts_the_microphone_failure() {
        let (events, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // The actor's end of the channel is gone, as when its thread crashed or never started.
        let (tx, actor_end) = mpsc::channel();
        drop(actor_end);
        let capture = Capture {
            tx: Some(tx),
            thread: None,
            events: events.downgrade(),
        };
        capture.start(7, Listen::default());
        capture.stop(7);
        match rx.try_recv() {
            Ok(Event::Captured {
                turn: 7,
                result: Err(f),
            }) => {
                assert_eq!(f.class, FailureClass::AudioFailed);
                assert!(f.message.contains("restart voicebox"), "{}", f.message);
            }
            other => panic!("expected a failed capture, got {other:?}"),
        }
        assert!(rx.try_recv().is_err(), "one start, one reply");
    }
}
