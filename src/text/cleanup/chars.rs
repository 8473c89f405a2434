//! The first stage of the cleanup: the characters themselves. Whole terminal escape sequences
//! go (not just their ESC: "31m" is never spoken), invisible format characters go (zero-width
//! spaces and joiners, bidi controls, soft hyphens: inside a word they make espeak-ng spell it
//! out), and what is left is normalised to NFC (decomposed Vietnamese tone marks reach the
//! engine composed), with NFKC for the fullwidth ASCII letters and digits and the halfwidth
//! katakana (２０２５年 is read as 2025年).
//!
//! Streaming: normalisation works on segments that start at a character that cannot combine
//! with what is before it, so a chunk boundary between a letter and its tone mark changes
//! nothing; a segment is held only until the next such character, and never grows past
//! `MAX_SEGMENT` (hostile runs of combining marks cost linear time).

use unicode_normalization::char::{canonical_combining_class, decompose_compatible};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// More combining marks than any real text stacks (the Stream-Safe Text Format allows 30).
const MAX_SEGMENT: usize = 32;
/// An unterminated operating-system command (a window title) swallows no more than this.
const MAX_OSC: usize = 256;

#[derive(Debug, Default)]
pub(super) struct Chars {
    escape: Escape,
    /// The segment being normalised: a starter and what may combine with it.
    segment: Vec<char>,
}

/// Where the reader is in a terminal escape sequence (ECMA-48).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    Text,
    /// After ESC.
    Esc,
    /// After ESC and intermediate bytes ("ESC ( B").
    Intermediate,
    /// A control sequence ("ESC [ 31 m"): parameters and intermediates up to a final byte.
    Csi,
    /// An operating-system command ("ESC ] 0 ; title BEL"), this many characters in.
    Osc(usize),
    /// ESC inside an OSC: "\" ends it.
    OscEsc,
}

impl Chars {
    /// One character of the reply; `None` is its end.
    pub(super) fn put(&mut self, c: Option<char>, out: &mut impl FnMut(Option<char>)) {
        let Some(c) = c else {
            self.flush(out);
            return out(None);
        };
        if !self.skip_escape(c) && !is_invisible(c) {
            self.normalise(c, out);
        }
    }

    /// The text pauses: a lone blank is passed on (nothing combines with it); with `all`, a
    /// lone mark too ("。"). A letter waits on: its tone mark may be in the next chunk.
    pub(super) fn pause(&mut self, all: bool, out: &mut impl FnMut(Option<char>)) {
        if matches!(self.segment[..], [c] if c.is_whitespace() || all && !c.is_alphanumeric()) {
            self.flush(out);
        }
    }

    /// Whether `c` is part of an escape sequence (and so dropped).
    fn skip_escape(&mut self, c: char) -> bool {
        let (next, skip) = match (self.escape, c) {
            (_, '\u{1b}') if !matches!(self.escape, Escape::Osc(_)) => (Escape::Esc, true),
            (Escape::Text, '\u{9b}') => (Escape::Csi, true),
            (Escape::Text, '\u{9d}') => (Escape::Osc(0), true),
            (Escape::Text, _) => (Escape::Text, false),
            (Escape::Esc, '[') => (Escape::Csi, true),
            (Escape::Esc, ']') => (Escape::Osc(0), true),
            (Escape::Esc | Escape::Intermediate, ' '..='/') => (Escape::Intermediate, true),
            // A final byte ends a two- or three-character sequence ("ESC c", "ESC ( B").
            (Escape::Esc | Escape::Intermediate, '0'..='~') => (Escape::Text, true),
            (Escape::Csi, '0'..='?' | ' '..='/') => (Escape::Csi, true),
            (Escape::Csi, '@'..='~') => (Escape::Text, true),
            (Escape::Osc(_), '\u{7}' | '\u{9c}') => (Escape::Text, true),
            (Escape::Osc(_), '\u{1b}') => (Escape::OscEsc, true),
            (Escape::Osc(n), c) if n < MAX_OSC && !c.is_control() => (Escape::Osc(n + 1), true),
            (Escape::OscEsc, '\\') => (Escape::Text, true),
            // Anything else breaks the sequence off: what was read of it stays dropped, and
            // `c` is text again (a line break, a letter of another script).
            (_, _) => (Escape::Text, false),
        };
        self.escape = next;
        skip
    }

    fn normalise(&mut self, c: char, out: &mut impl FnMut(Option<char>)) {
        if starts_segment(c) || self.segment.len() >= MAX_SEGMENT {
            self.flush(out);
        }
        self.segment.push(c);
    }

    fn flush(&mut self, out: &mut impl FnMut(Option<char>)) {
        match self.segment[..] {
            [] => {}
            // Most text: a character that needs nothing.
            [c] if c < '\u{300}' => out(Some(c)),
            _ => {
                let wide = self.segment.iter().any(|&c| is_compat_form(c));
                if wide {
                    let mut compat = Vec::with_capacity(self.segment.len());
                    for &c in &self.segment {
                        if is_compat_form(c) {
                            decompose_compatible(c, |d| compat.push(d));
                        } else {
                            compat.push(c);
                        }
                    }
                    compat.into_iter().nfc().for_each(|c| out(Some(c)));
                } else {
                    self.segment
                        .iter()
                        .copied()
                        .nfc()
                        .for_each(|c| out(Some(c)));
                }
            }
        }
        self.segment.clear();
    }
}

/// Whether `c` can start a normalisation segment: nothing before it can combine with it.
fn starts_segment(c: char) -> bool {
    if c < '\u{300}' {
        return true;
    }
    // The halfwidth voiced sound marks combine with the kana before them under NFKC.
    if matches!(c, '\u{FF9E}' | '\u{FF9F}') {
        return false;
    }
    canonical_combining_class(c) == 0 && is_nfc_quick(std::iter::once(c)) != IsNormalized::Maybe
}

/// Fullwidth ASCII letters and digits and halfwidth katakana: read as their usual forms.
/// Fullwidth punctuation (！？，：；（）) stays: it is how Chinese is written, and the sentence
/// cutter reads it as such.
fn is_compat_form(c: char) -> bool {
    matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '\u{FF66}'..='\u{FF9F}')
}

/// Format characters nothing reads aloud: zero-width space, joiners and non-joiners, word
/// joiner, byte-order mark, soft hyphen, and the bidi marks, embeddings, overrides and
/// isolates (which also reorder what a terminal shows).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{61C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}
