//! Text for the ear: strips what LLMs emit and TTS engines read badly (markdown, code, URLs,
//! emoji, repeated punctuation, control characters, escape sequences, invisible characters),
//! normalises what engines read only in one form (NFC, fullwidth digits) and neutralises what
//! espeak-ng would misparse.
//!
//! Streaming: a reply can be pushed in chunks as it arrives (`Cleaner`), and the output does not
//! depend on where the chunks were cut, because every stage below is a small state machine fed
//! one character at a time that decides only from what it has seen: a chunk boundary is never
//! taken for the end of a line, a word or a code span. Each stage holds back only what it must
//! (an unclosed code span or link, the start of a line until it is known to be a list marker or
//! a table rule, a URL until its end), so the time per character is constant and hostile text
//! (megabytes of "[" or ".!") costs linear time.
//!
//! Line breaks survive (collapsed to one) because the sentence splitter treats them as
//! boundaries between list items. The stages, in order:
//! `chars.rs`  escape sequences, invisible characters, Unicode normalisation;
//! `lines.rs`  control characters, code fences, table and horizontal rules, list/quote markers;
//! `inline.rs` inline code, links, bare URLs;
//! `marks.rs`  symbols and emoji, runs of punctuation, whitespace and leading dashes.

mod chars;
mod inline;
mod lines;
mod marks;
#[cfg(test)]
mod tests;

/// What is said instead of a code block or a long piece of inline code.
const CODE_OMITTED: &str = "Code omitted.";

/// What flows between the stages: a character of a line, or the end of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Char(char),
    LineEnd,
}

/// Cleans a reply pushed in chunks; `for_speech` is the one-call form.
#[derive(Debug, Default)]
pub struct Cleaner {
    chars: chars::Chars,
    lines: lines::Lines,
    code: inline::Code,
    links: inline::Links,
    urls: inline::Urls,
    symbols: marks::Symbols,
    runs: marks::Runs,
    words: marks::Words,
}

impl Cleaner {
    /// Cleans the next piece of the reply; `out` gets the clean characters as soon as they are
    /// decided. Words are separated by one space, lines by one `\n`, with none at either end.
    pub fn push(&mut self, text: &str, out: &mut impl FnMut(char)) {
        for c in text.chars() {
            self.feed(Some(c), out);
        }
    }

    /// The reply is complete: flushes what was held back.
    pub fn finish(&mut self, out: &mut impl FnMut(char)) {
        self.feed(None, out);
    }

    /// The text pauses here (nothing more has come yet): passes on a blank held to see what
    /// follows it, and the end marks before it. Returns the blank the text so far ends in
    /// (`' '` or `'\n'`, not yet passed on: it is written before the next word), which then
    /// decides most sentence ends by itself.
    pub fn pause(&mut self, out: &mut impl FnMut(char)) -> Option<char> {
        self.release(false, out)
    }

    /// The text has paused for a while: passes on everything held only to see what follows
    /// (a mark that a closing quote might follow, a letter a tone mark might follow), as if
    /// the text ended here but for its line. Returns the blank it ends in, as `pause`.
    pub fn settle(&mut self, out: &mut impl FnMut(char)) -> Option<char> {
        self.release(true, out)
    }

    fn release(&mut self, all: bool, out: &mut impl FnMut(char)) -> Option<char> {
        let Cleaner {
            chars,
            lines,
            code,
            links,
            urls,
            symbols,
            runs,
            words,
        } = self;
        chars.pause(all, &mut |c| {
            rest(lines, code, links, urls, symbols, runs, words, c, out)
        });
        let blank = symbols.pause(all, &mut |i| runs.put(i, &mut |i| words.put(i, out)));
        let owed = words.owed();
        if blank || owed.is_some() || all {
            runs.pause(&mut |i| words.put(i, out));
        }
        words.owed().or(blank.then_some(' '))
    }

    fn feed(&mut self, c: Option<char>, out: &mut impl FnMut(char)) {
        let Cleaner {
            chars,
            lines,
            code,
            links,
            urls,
            symbols,
            runs,
            words,
        } = self;
        chars.put(c, &mut |c| {
            rest(lines, code, links, urls, symbols, runs, words, c, out)
        });
    }
}

/// The stages after `chars`.
#[allow(clippy::too_many_arguments)]
fn rest(
    lines: &mut lines::Lines,
    code: &mut inline::Code,
    links: &mut inline::Links,
    urls: &mut inline::Urls,
    symbols: &mut marks::Symbols,
    runs: &mut marks::Runs,
    words: &mut marks::Words,
    c: Option<char>,
    out: &mut impl FnMut(char),
) {
    lines.put(c, &mut |i| {
        code.put(i, &mut |i| {
            links.put(i, &mut |i| {
                urls.put(i, &mut |i| {
                    symbols.put(i, &mut |i| runs.put(i, &mut |i| words.put(i, out)))
                })
            })
        })
    });
}

/// Cleans a whole reply for speech. Never panics; the result has no leading/trailing
/// whitespace.
pub fn for_speech(text: &str) -> String {
    let mut cleaner = Cleaner::default();
    let mut out = String::with_capacity(text.len());
    cleaner.push(text, &mut |c| out.push(c));
    cleaner.finish(&mut |c| out.push(c));
    out
}
