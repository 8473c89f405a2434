//! The feed: a recording handed on while it is made, so that a streaming recogniser hears the
//! user while they are still speaking instead of after the release.
//!
//! The real-time callback is not involved: it keeps writing into its preallocated buffer. The
//! actor thread, which already reads that buffer every poll, resamples what is new to 16 kHz
//! and sends it; the channel is unbounded, but a recording is bounded by `audio.max_record_s`.

use std::sync::mpsc;

use super::STT_RATE;
use crate::audio::resample;

/// What a feed carries: 16 kHz mono samples in order, then `End` once the recording is
/// complete (post-roll included). A feed that closes without `End` was dropped: a cancel, a
/// failed device, a newer recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Fed {
    Audio(Vec<f32>),
    End,
}

/// The sending end, handed to `Capture::start` (the receiving end is the recogniser's).
pub type Feed = mpsc::Sender<Fed>;

/// The actor's side of a feed: resamples captured mono audio and sends it on.
pub(super) struct Feeder {
    tx: Feed,
    resampler: resample::Stream,
}

impl Feeder {
    pub fn new(tx: Feed, rate: u32) -> Feeder {
        Feeder {
            tx,
            resampler: resample::Stream::new(rate, STT_RATE),
        }
    }

    /// Sends what `mono` completes; a recogniser that hung up is not the recording's problem.
    pub fn push(&mut self, mono: &[f32]) {
        let out = self.resampler.push(mono);
        if !out.is_empty() {
            let _ = self.tx.send(Fed::Audio(out));
        }
    }

    /// The tail of the resampler, then `End`.
    pub fn finish(self) {
        let tail = self.resampler.finish();
        if !tail.is_empty() {
            let _ = self.tx.send(Fed::Audio(tail));
        }
        let _ = self.tx.send(Fed::End);
    }
}
