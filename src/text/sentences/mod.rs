//! A reply, cleaned and cut into sentences for speech, each with its language: one TTS call per
//! sentence, none too short to be worth a call, none so long that its synthesis is unbounded.
//!
//! Streaming: `Splitter::push` takes the reply in chunks as it arrives and returns each
//! sentence as soon as it is decided (its end mark and the character or two after it have
//! arrived, or it reached the length limit at a word boundary); `finish` returns the rest.
//! `split` is push everything, then finish. The output never depends on how the reply was
//! chunked: cleanup, cutting and language detection all decide from what they have seen.
//!
//! Limits are speaking time, the same in every language: a CJK character is about a syllable,
//! a Latin-script word about one and a half (`ends::units`). A sentence shorter than
//! `tts.min_sentence_s` runs on into the next; none is longer than `tts.max_sentence_s`.
//!
//! Invariant (property-tested): every letter and digit of the cleaned reply is spoken once, in
//! order; only spaces change, and punctuation with no word to go with is dropped.

mod cutter;
mod ends;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use cutter::Limits;

/// How long a streamed reply may pause before a sentence that waits to see what follows its
/// end mark is said anyway.
pub const PATIENCE: Duration = Duration::from_millis(150);
pub use ends::UNITS_PER_SECOND;

use super::cleanup::Cleaner;
use super::lang::{Context, Languages};
use crate::config;

/// One sentence to synthesize: its text and the language it is written in (a code such as
/// "en", "zh", "vi": the key of its voice in `[tts.voices]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub text: String,
    pub lang: String,
}

/// How replies are cut and labelled: from `[tts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub limits: Limits,
    pub languages: Languages,
}

impl Rules {
    pub fn new(tts: &config::Tts) -> Rules {
        Rules {
            limits: Limits::from_secs(tts.min_sentence, tts.max_sentence),
            languages: Languages {
                latin: tts.language.clone(),
                han: tts.han.clone(),
            },
        }
    }
}

impl Limits {
    /// Speaking-time bounds; the character bound is twice the time bound in units (most text
    /// takes a unit or more per character; only punctuation takes none).
    pub fn from_secs(min: Duration, max: Duration) -> Limits {
        let units = |d: Duration| (d.as_secs_f64() * f64::from(UNITS_PER_SECOND)).round() as u32;
        Limits {
            min: units(min),
            max: units(max),
            max_chars: 2 * units(max) as usize,
        }
    }
}

/// Cuts a reply pushed in chunks into sentences.
#[derive(Debug)]
pub struct Splitter {
    cleaner: Cleaner,
    cutter: cutter::Cutter,
    languages: Languages,
    context: Context,
}

impl Splitter {
    pub fn new(rules: &Rules) -> Splitter {
        Splitter {
            cleaner: Cleaner::default(),
            cutter: cutter::Cutter::new(rules.limits),
            languages: rules.languages.clone(),
            context: Context::default(),
        }
    }

    /// The next chunk of the reply; returns the sentences it completed, in order.
    pub fn push(&mut self, chunk: &str) -> Vec<Sentence> {
        let mut texts = Vec::new();
        let cutter = &mut self.cutter;
        self.cleaner
            .push(chunk, &mut |c| cutter.put(c, &mut |s| texts.push(s)));
        self.label(texts)
    }

    /// The reply is complete: the sentences still held back.
    pub fn finish(mut self) -> Vec<Sentence> {
        let mut texts = Vec::new();
        let cutter = &mut self.cutter;
        self.cleaner
            .finish(&mut |c| cutter.put(c, &mut |s| texts.push(s)));
        cutter.finish(&mut |s| texts.push(s));
        self.label(texts)
    }

    /// The reply pauses here (nothing more has come for now): returns the sentences its end
    /// mark and the blank after it decide ("…in the morning. "), and the one held back to
    /// see whether a fragment without letters follows. An end that needs the next word
    /// ("etc. ") or could take a closing quote ("开门。") waits for more text or `settle`.
    /// Sentences come out as from one `push` of all the text only while chunks arrive
    /// together; a pause between them may cut them otherwise (a "】" after a pause is not
    /// joined to the sentence before it).
    pub fn release(&mut self) -> Vec<Sentence> {
        self.pause(false)
    }

    /// The reply has paused for a while (`PATIENCE`): every end is judged as if the text
    /// stopped here, and what is decided comes out.
    pub fn settle(&mut self) -> Vec<Sentence> {
        self.pause(true)
    }

    fn pause(&mut self, all: bool) -> Vec<Sentence> {
        let mut texts = Vec::new();
        let cutter = &mut self.cutter;
        let put = &mut |c| cutter.put(c, &mut |s| texts.push(s));
        let after = if all {
            self.cleaner.settle(put)
        } else {
            self.cleaner.pause(put)
        };
        cutter.release(after, all, &mut |s| texts.push(s));
        self.label(texts)
    }

    /// The reply is complete, and `notice` (what the box says about it, such as "The answer
    /// was cut off.") follows in sentences of its own: never run on from the reply's last
    /// words, however short they are.
    pub fn finish_with(self, notice: Option<&str>) -> Vec<Sentence> {
        let fresh = Splitter {
            cleaner: Cleaner::default(),
            cutter: self.cutter.fresh(),
            languages: self.languages.clone(),
            context: Context::default(),
        };
        let mut sentences = self.finish();
        if let Some(notice) = notice {
            let mut fresh = fresh;
            sentences.extend(fresh.push(notice));
            sentences.extend(fresh.finish());
        }
        sentences
    }

    fn label(&mut self, texts: Vec<String>) -> Vec<Sentence> {
        texts
            .into_iter()
            .map(|text| Sentence {
                lang: self.languages.detect(&text, &mut self.context),
                text,
            })
            .collect()
    }
}

/// Cleans and cuts a whole reply.
pub fn split(text: &str, rules: &Rules) -> Vec<Sentence> {
    let mut splitter = Splitter::new(rules);
    let mut sentences = splitter.push(text);
    sentences.extend(splitter.finish());
    sentences
}
