//! The TTS side of one reply: its text comes in pieces (`Inbox`), its sentences go to the TTS
//! hook as soon as each is complete, in order, and the clips go to the player a bounded
//! lookahead ahead of playback.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant, SystemTime};

use crate::audio::Clip;
use crate::audio::playback::Remote;
use crate::cancel;
use crate::event::Failure;
use crate::text::runs::runs;
use crate::text::sentences::{PATIENCE, Rules, Sentence, Splitter};
use crate::tts::Tts;

/// The text of one reply, handed from the speaker's handle to its TTS worker piece by piece.
#[derive(Default)]
pub(super) struct Inbox {
    state: Mutex<Letters>,
    changed: Condvar,
}

#[derive(Default)]
struct Letters {
    pieces: Vec<String>,
    /// No more pieces will come.
    closed: bool,
    /// Said after the text, in sentences of its own (the cut-off message).
    notice: Option<String>,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Letters> {
        // Plain data: consistent even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until text has come, the text has ended, or `cancel` fires; returns the pieces
    /// and, once the text has ended, `Some` notice to say after it.
    /// With `patience`, gives up waiting after that long (and returns nothing).
    fn take(
        &self,
        cancel: &cancel::Token,
        patience: Option<Duration>,
    ) -> (Vec<String>, Option<Option<String>>) {
        let deadline = patience.map(|p| Instant::now() + p);
        let mut letters = self.lock();
        while letters.pieces.is_empty() && !letters.closed && !cancel.is_cancelled() {
            letters = match deadline {
                None => self
                    .changed
                    .wait(letters)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.changed
                        .wait_timeout(letters, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        let ended = letters.closed.then(|| letters.notice.take());
        (std::mem::take(&mut letters.pieces), ended)
    }

    fn wake(&self) {
        let _letters = self.lock();
        self.changed.notify_all();
    }
}

/// The sending end of an `Inbox`; dropping it ends the text.
pub(super) struct Writer(Arc<Inbox>);

impl Writer {
    pub(super) fn new() -> (Writer, Arc<Inbox>) {
        let inbox = Arc::new(Inbox::default());
        (Writer(inbox.clone()), inbox)
    }

    pub(super) fn put(&self, piece: String) {
        self.0.lock().pieces.push(piece);
        self.0.changed.notify_all();
    }

    /// Ends the text, with a last piece given in the same step (the worker then sees the whole
    /// of a reply that came whole at once, and knows its last sentence).
    pub(super) fn finish(self, last: Option<String>) {
        let mut letters = self.0.lock();
        letters.pieces.extend(last);
        letters.closed = true;
        // `drop(self)` notifies the worker.
    }

    /// Ends the text; `notice` is said after it, never run on from its last words ("Then The
    /// answer was cut off." when the reply was cut after "Then").
    pub(super) fn finish_with(self, notice: Option<String>) {
        let mut letters = self.0.lock();
        letters.notice = notice;
        letters.closed = true;
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.changed.notify_all();
    }
}

/// One synthesized (or failed) sentence, with when its hook ran.
pub(super) struct Synth {
    pub index: usize,
    pub lang: String,
    /// Known to be the reply's last sentence (no pause after it).
    pub last: bool,
    /// A run of the sentence that goes on in the next clip (no pause after it either).
    pub joined: bool,
    pub result: Result<Clip, Failure>,
    pub took: std::time::Duration,
    pub started_at: SystemTime,
    pub ended_at: SystemTime,
}

/// Synthesizes the sentences of the text in `inbox` as they complete, until the text ends,
/// `cancel` fires or the player hangs up; returns how many sentences the text had so far.
/// While the first sentence is synthesized, `output` opens. The splitter decides each sentence
/// from what has arrived, so how the text was cut into pieces changes nothing.
pub(super) fn synthesize(
    tts: &Tts,
    inbox: &Arc<Inbox>,
    rules: &Rules,
    cancel: &cancel::Token,
    output: &Remote,
    out: &mpsc::SyncSender<Synth>,
) -> usize {
    // A cancel must not wait for the next piece of text.
    let _wake = cancel.on_cancel({
        let inbox = inbox.clone();
        move || inbox.wake()
    });
    // `None` once the text has ended.
    let mut splitter = Some(Splitter::new(rules));
    let mut ready: VecDeque<Sentence> = VecDeque::new();
    let mut count = 0;
    let mut index = 0;
    // Something is held back to see what follows it: wait for more text only so long.
    let mut waiting = false;
    loop {
        // Everything that has come so far, waiting only while nothing is ready to speak.
        while let Some(split) = splitter.as_mut()
            && (ready.is_empty() || has_mail(inbox))
        {
            let (pieces, ended) = inbox.take(cancel, waiting.then_some(PATIENCE));
            if cancel.is_cancelled() {
                return count;
            }
            let mut new: Vec<Sentence>;
            if pieces.is_empty() && ended.is_none() {
                // The text paused for `PATIENCE`: what waited to see the next word is said.
                new = split.settle();
                waiting = false;
            } else {
                new = pieces.iter().flat_map(|p| split.push(p)).collect();
                if ended.is_none() {
                    // All that has come is in: a sentence its mark and blank end is said now.
                    new.extend(split.release());
                    waiting = true;
                } else if let (Some(notice), Some(split)) = (ended, splitter.take()) {
                    new.extend(split.finish_with(notice.as_deref()));
                }
            }
            count += new.len();
            ready.extend(new);
        }
        let Some(Sentence { text, lang }) = ready.pop_front() else {
            return count;
        };
        // A word of another script gets its own voice, spoken with no pause before the rest.
        let parts = runs(&text, &lang, &rules.languages);
        let n = parts.len();
        for (k, run) in parts.into_iter().enumerate() {
            if cancel.is_cancelled() {
                return count;
            }
            if index == 0 && k == 0 {
                output.open();
            }
            let started = Instant::now();
            let started_at = SystemTime::now();
            let mut result = tts.synthesize(run.text, &run.lang, cancel);
            if k + 1 < n
                && let Ok(clip) = &mut result
            {
                trim_silence(clip, JOIN_GAP);
            }
            let synth = Synth {
                index,
                lang: run.lang,
                joined: k + 1 < n,
                last: k + 1 == n && splitter.is_none() && ready.is_empty(),
                result,
                took: started.elapsed(),
                started_at,
                ended_at: SystemTime::now(),
            };
            if out.send(synth).is_err() {
                return count;
            }
        }
        index += 1;
    }
}

/// The silence kept at the end of a run that the next run of the sentence follows: engines
/// end each clip with a pause (espeak-ng: 0.3 s) that would cut the sentence into pieces.
const JOIN_GAP: Duration = Duration::from_millis(60);

/// Cuts the silence at the end of `clip` down to `keep`.
fn trim_silence(clip: &mut Clip, keep: Duration) {
    let channels = usize::from(clip.channels.max(1));
    let Some(last) = clip.samples.iter().rposition(|s| s.abs() > 1e-3) else {
        return;
    };
    let keep = (keep.as_secs_f64() * f64::from(clip.rate)) as usize * channels;
    let end = (last / channels + 1) * channels + keep;
    clip.samples.truncate(end);
}

fn has_mail(inbox: &Inbox) -> bool {
    let letters = inbox.lock();
    !letters.pieces.is_empty() || letters.closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joined_run_keeps_a_short_gap_of_its_silence() {
        let mut samples = vec![0.0; 100];
        samples.extend([0.5, -0.5]);
        samples.extend(vec![0.0; 3000]);
        let mut clip = Clip {
            samples,
            rate: 1000,
            channels: 2,
        };
        trim_silence(&mut clip, Duration::from_millis(60));
        assert_eq!(clip.samples.len(), 102 + 120, "a frame is two samples");
        let mut quiet = Clip {
            samples: vec![0.0; 10],
            rate: 1000,
            channels: 1,
        };
        trim_silence(&mut quiet, Duration::ZERO);
        assert_eq!(quiet.samples.len(), 10, "all silence is left alone");
    }
}
