//! One blocking recording for `voicebox listen`, through the same actor the daemon uses.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::{Capture, Listen};
use crate::config;
use crate::event::{Event, Failure, FailureClass, Recording};

/// When `record` stops.
pub enum StopWhen {
    /// After this much captured audio (capped by `audio.max_record`).
    After(Duration),
    /// When the sender sends or hangs up (e.g. Enter was pressed), or at `audio.max_record`.
    Signal(mpsc::Receiver<()>),
}

/// Records once, blocking; with a `feed`, the recording also goes there as it is made.
pub fn record(
    audio: &config::Audio,
    stop: StopWhen,
    feed: Option<super::Feed>,
) -> Result<Recording, Failure> {
    let mut audio = audio.clone();
    let signal = match stop {
        StopWhen::After(d) => {
            audio.max_record = audio.max_record.min(d);
            audio.post_roll = Duration::ZERO;
            None
        }
        StopWhen::Signal(rx) => Some(rx),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let capture = Arc::new(Capture::spawn(&audio, tx));
    let listen = Listen {
        feed,
        ..Listen::default()
    };
    capture.start(1, listen);
    if let Some(signal) = signal {
        let c = Arc::downgrade(&capture);
        // Detached: it may wait on stdin forever; the process ends without it.
        std::thread::spawn(move || {
            let _ = signal.recv();
            if let Some(c) = c.upgrade() {
                c.stop(1);
            }
        });
    }
    while let Some(ev) = rx.blocking_recv() {
        if let Event::Captured { result, .. } = ev {
            return result;
        }
    }
    Err(Failure::new(
        FailureClass::AudioFailed,
        "the capture thread ended without a recording",
    ))
}
