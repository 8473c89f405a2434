//! A transcription that runs while the user speaks: the capture feeds it, the turn claims its
//! transcript once the recording is handed on, and dropping it unclaimed hangs up.
//!
//! The work runs on its own thread from the press on; only the wait for the result is the
//! turn's. A recording that is never transcribed (a glitch, silence, a cancel) drops its `Live`,
//! which cancels the work: the connection closes at once.

use std::sync::mpsc;
use std::time::Duration;

use crate::audio::capture::{Fed, Feed};
use crate::cancel;
use crate::event::{Failure, FailureClass};

/// A transcript and how long it took after the end of the recording.
pub type Heard = Result<(String, Duration), Failure>;

/// The turn's handle on a running transcription.
pub struct Live {
    result: mpsc::Receiver<Heard>,
    hang_up: cancel::Token,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("hung_up", &self.hang_up.is_cancelled())
            .finish()
    }
}

impl Live {
    /// Runs `work` on its own thread with the receiving end of the feed and the hang-up token;
    /// returns the feed for the capture and the handle for the turn.
    pub fn spawn(
        work: impl FnOnce(&mpsc::Receiver<Fed>, &cancel::Token) -> Heard + Send + 'static,
    ) -> (Feed, Live) {
        let (feed, audio) = mpsc::channel();
        let (tx, result) = mpsc::channel();
        let hang_up = cancel::Token::new();
        let token = hang_up.clone();
        let spawned = std::thread::Builder::new()
            .name("stt-live".into())
            .spawn(move || {
                let _ = tx.send(work(&audio, &token));
            });
        if let Err(e) = spawned {
            // `tx` went down with the closure: `wait` reports the closed channel.
            tracing::error!(error = %e, "cannot start a live transcription thread");
        }
        (feed, Live { result, hang_up })
    }

    /// Waits for the transcript; `cancel` hangs up and returns `Cancelled`.
    pub fn wait(self, cancel: &cancel::Token) -> Heard {
        let hang_up = self.hang_up.clone();
        let _guard = cancel.on_cancel(move || hang_up.cancel());
        let heard = self.result.recv().unwrap_or_else(|_| {
            Err(Failure::new(
                FailureClass::SttFailed,
                "the transcription thread ended without a result",
            ))
        });
        if cancel.is_cancelled() {
            return Err(Failure::new(
                FailureClass::Cancelled,
                "transcription cancelled",
            ));
        }
        heard
    }

    /// Whether this transcription was hung up (for the loop's tests).
    pub fn hung_up(&self) -> bool {
        self.hang_up.is_cancelled()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.hang_up.cancel();
    }
}
