//! The sentence cutter: clean text in, one character at a time, sentences out as soon as they
//! are decided. A sentence ends at a sentence mark (judged by the character or two after it),
//! at a line break, or at the speaking-time limit (at the best clause, sentence or word
//! boundary before it).
//!
//! A sentence shorter than `min` is not sent alone: it runs on into the next one (so "Yes."
//! or "好。" is said with what follows), unless the next one starts in another script ("好。I
//! will go", "你呢？Tôi thích…"): one voice would read one of them wrongly. A complete sentence is held until the next letter
//! arrives, so that a fragment without letters after it ("…", "】", "42.") is said with it
//! instead of alone; engines fail on a lone "】". A fragment without letters that has nothing
//! to join is spoken only if it holds digits. What is decided never depends on where the
//! input was cut into pushes.

use super::ends::{CLOSERS, is_cjk, is_clause_mark, is_end, is_terminal, units};
use crate::text::lang::{Group, group, is_letter};

/// Bounds on a sentence's speaking time, in `ends::UNITS_PER_SECOND` units, and on its
/// characters (punctuation takes no time to say, but an engine still reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub min: u32,
    pub max: u32,
    pub max_chars: usize,
}

#[derive(Debug)]
pub(super) struct Cutter {
    limits: Limits,
    /// The sentence being read.
    cur: String,
    /// What is known about `cur`, kept up to date per character.
    scan: Scan,
    /// A space is owed before the next character (spaces are collapsed and never trail).
    space: bool,
    /// A line ended inside `cur`: the next character decides between a space and none.
    join: bool,
    end: End,
    /// A finished sentence waiting for the next letter.
    held: Option<Piece>,
    /// A short sentence `cur` runs on past: where it ends and the script of its last letter,
    /// until the next letter shows whether the next sentence is in the same script.
    short: Option<(usize, Group)>,
}

/// A finished piece of text and its speaking time.
#[derive(Debug)]
struct Piece {
    text: String,
    units: u32,
    chars: usize,
    letter: bool,
    alnum: bool,
}

impl Piece {
    fn of(text: &str) -> Piece {
        let scan = Scan::of(text);
        Piece {
            text: text.to_string(),
            units: scan.units,
            chars: scan.chars,
            letter: scan.first_letter.is_some(),
            alnum: scan.first_alnum.is_some(),
        }
    }
}

/// Facts about `cur` and its best cut points (byte offset, units and characters before it).
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    units: u32,
    chars: usize,
    word: u32,
    /// Byte offsets of the first letter and the first letter or digit.
    first_letter: Option<usize>,
    first_alnum: Option<usize>,
    /// The end of the last sentence that `cur` runs on past (short, or without letters).
    sentence: Option<Point>,
    clause: Option<Point>,
    space: Option<Point>,
}

#[derive(Debug, Clone, Copy)]
struct Point {
    at: usize,
    units: u32,
    chars: usize,
}

/// Where the reader is in a possible sentence end; offsets are into `cur`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Text,
    /// Terminal marks (and maybe closers) from `start`, ending before the character now read.
    Marks {
        start: usize,
    },
    /// Marks from `start` up to the space at `space`.
    Space {
        start: usize,
        space: usize,
    },
}

impl Scan {
    /// Adds `c`, which sits at byte `at` of the text.
    fn add(&mut self, c: char, at: usize) {
        if c == ' ' {
            self.space = Some(self.point(at));
        }
        let letter = is_letter(c);
        self.units += units(c, letter, &mut self.word);
        self.chars += 1;
        if letter {
            self.first_letter.get_or_insert(at);
        }
        if letter || c.is_numeric() {
            self.first_alnum.get_or_insert(at);
        }
        if is_clause_mark(c) {
            self.clause = Some(self.point(at + c.len_utf8()));
        }
    }

    fn point(&self, at: usize) -> Point {
        Point {
            at,
            units: self.units,
            chars: self.chars,
        }
    }

    fn of(text: &str) -> Scan {
        let mut scan = Scan::default();
        for (at, c) in text.char_indices() {
            scan.add(c, at);
        }
        scan
    }
}

impl Cutter {
    pub(super) fn new(limits: Limits) -> Cutter {
        Cutter {
            // A cut always leaves a character or more on each side.
            limits: Limits {
                min: limits.min,
                max: limits.max.max(8),
                max_chars: limits.max_chars.max(4),
            },
            cur: String::new(),
            scan: Scan::default(),
            space: false,
            join: false,
            end: End::Text,
            held: None,
            short: None,
        }
    }

    /// The text pauses: `after` is the blank that followed the last character, if any (not
    /// yet put: it comes before the next word). Ends the sentence whose marks and blank
    /// decide it whatever word comes next, or its line (with `all`, any mark that would end
    /// the text), and says the held sentence.
    pub(super) fn release(&mut self, after: Option<char>, all: bool, out: &mut impl FnMut(String)) {
        let blank = after.is_some();
        if after == Some('\n') {
            self.line_end(out);
        } else if let End::Marks { start } = self.end {
            let end = self.cur.len();
            let ends = if all {
                is_end(&self.cur, start, end, None, None)
            } else {
                blank
                    && [Some('A'), Some('a')]
                        .into_iter()
                        .all(|after| is_end(&self.cur, start, end, Some(' '), after))
            };
            if ends {
                self.end = End::Text;
                self.sentence_end(end, out);
            }
        }
        if let Some(held) = self.held.take() {
            out(held.text);
        }
    }

    /// A cutter with the same limits and nothing read.
    pub(super) fn fresh(&self) -> Cutter {
        Cutter::new(self.limits)
    }

    /// The limits in force (raised to the smallest that can cut).
    #[cfg(test)]
    pub(super) fn limits(&self) -> Limits {
        self.limits
    }

    pub(super) fn put(&mut self, c: char, out: &mut impl FnMut(String)) {
        if c == '\n' {
            return self.line_end(out);
        }
        if c.is_whitespace() {
            // At the start of a line, `join` decides instead.
            self.space = !self.cur.is_empty() && !self.join;
            return;
        }
        let space = std::mem::take(&mut self.space);
        let join = std::mem::take(&mut self.join);
        if space || join && !self.cur.ends_with(is_cjk) && !is_cjk(c) {
            self.read(' ', out);
        }
        self.read(c, out);
    }

    /// The text is complete: says what is left.
    pub(super) fn finish(&mut self, out: &mut impl FnMut(String)) {
        self.line_end(out);
        if !self.cur.is_empty() {
            let rest = Piece::of(&self.cur);
            self.say(rest, out);
        }
        if let Some(held) = self.held.take() {
            out(held.text);
        }
    }

    fn read(&mut self, c: char, out: &mut impl FnMut(String)) {
        let at = self.cur.len();
        self.cur.push(c);
        self.scan.add(c, at);
        self.end = match self.end {
            End::Text if is_terminal(c) => End::Marks { start: at },
            End::Text => End::Text,
            End::Marks { start } if is_terminal(c) || CLOSERS.contains(&c) => {
                // Closers after marks belong to them ("走吧。”"); a new mark after a closer
                // does not start a second run.
                End::Marks { start }
            }
            End::Marks { start } if c == ' ' => End::Space { start, space: at },
            End::Marks { start } => self.judge(start, at, Some(c), None, out),
            End::Space { start, space } => self.judge(start, space, Some(' '), Some(c), out),
        };
        if let Some((at, before)) = self.short
            && is_letter(c)
        {
            self.short = None;
            if group(c).is_some_and(|g| g != before) {
                self.split_short(at, out);
            }
        }
        if self.held.is_some()
            && is_letter(c)
            && let Some(held) = self.held.take()
        {
            out(held.text);
        }
        // A cut at a word can leave the rest still over; the next cut is then a hard one.
        while self.scan.units > self.limits.max || self.scan.chars > self.limits.max_chars {
            self.cut(out);
        }
    }

    /// Decides whether the marks from `start` to `end` end a sentence; returns the state for
    /// the character just read (the last of `cur`), which may start new marks.
    fn judge(
        &mut self,
        start: usize,
        end: usize,
        next: Option<char>,
        after: Option<char>,
        out: &mut impl FnMut(String),
    ) -> End {
        if is_end(&self.cur, start, end, next, after) {
            self.sentence_end(end, out);
        }
        match self.cur.chars().next_back() {
            Some(c) if is_terminal(c) => End::Marks {
                start: self.cur.len() - c.len_utf8(),
            },
            _ => End::Text,
        }
    }

    fn line_end(&mut self, out: &mut impl FnMut(String)) {
        self.space = false;
        match self.end {
            End::Marks { start } => {
                self.judge(start, self.cur.len(), None, None, out);
            }
            End::Space { start, space } => {
                self.judge(start, space, None, None, out);
            }
            End::Text => {}
        }
        self.end = End::Text;
        if !self.cur.is_empty() {
            self.sentence_end(self.cur.len(), out);
            self.join = !self.cur.is_empty();
        }
    }

    /// A sentence ends at byte `at` of `cur`: hold it if it is long enough and has letters,
    /// join it to the held one if it has none, or else let `cur` run on past it.
    fn sentence_end(&mut self, at: usize, out: &mut impl FnMut(String)) {
        let rest = self.cur[at..].trim_start();
        // What is after the end, its blank included, is not part of the sentence.
        let rest_scan = Scan::of(&self.cur[at..]);
        let units = self.scan.units - rest_scan.units;
        let chars = self.scan.chars - rest_scan.chars;
        let letter = self.scan.first_letter.is_some_and(|i| i < at);
        let whole = letter && units >= self.limits.min;
        // Decided before any copy: a short sentence that runs on costs nothing here.
        if whole || !letter && self.fits(units, chars) {
            let piece = Piece {
                text: self.cur[..at].trim_end().to_string(),
                units,
                chars,
                letter,
                alnum: self.scan.first_alnum.is_some_and(|i| i < at),
            };
            let rest_at = self.cur.len() - rest.len();
            self.keep(piece, out);
            self.restart(rest_at);
        } else {
            self.scan.sentence = Some(Point { at, units, chars });
            // The last letter is near the end (looking further would make hostile runs of
            // marks quadratic).
            self.short = self.cur[..at]
                .chars()
                .rev()
                .take(64)
                .find_map(group)
                .map(|g| (at, g));
        }
    }

    /// The short sentence ending at byte `at` of `cur` is followed by one in another script:
    /// it ends there after all.
    fn split_short(&mut self, at: usize, out: &mut impl FnMut(String)) {
        let rest_at = self.cur.len() - self.cur[at..].trim_start().len();
        let piece = Piece::of(self.cur[..at].trim_end());
        self.keep(piece, out);
        self.restart(rest_at);
    }

    /// Whether a piece of this length fits into the held sentence.
    fn fits(&self, units: u32, chars: usize) -> bool {
        self.held.as_ref().is_some_and(|h| {
            h.units + units <= self.limits.max && h.chars + 1 + chars <= self.limits.max_chars
        })
    }

    /// A finished piece: held if it has letters (the sentence held before it is said), added
    /// to the held sentence if it has none.
    fn keep(&mut self, piece: Piece, out: &mut impl FnMut(String)) {
        match &mut self.held {
            Some(h) if !piece.letter => {
                if !(h.text.ends_with(is_cjk) || piece.text.starts_with(is_cjk)) {
                    h.text.push(' ');
                    h.chars += 1;
                }
                h.text.push_str(&piece.text);
                h.units += piece.units;
                h.chars += piece.chars;
            }
            _ => {
                if let Some(h) = self.held.replace(piece) {
                    out(h.text);
                }
            }
        }
    }

    /// Over a limit: cuts `cur` at its best point with enough before it, else just before the
    /// character that went over. Requiring a quarter of the limit before any cut keeps the
    /// work per character constant however the text is shaped.
    fn cut(&mut self, out: &mut impl FnMut(String)) {
        let l = self.limits;
        let enough = |p: &Point, part: u32| {
            let within = p.units <= l.max && p.chars <= l.max_chars;
            within && (p.units * part >= l.max || p.chars * part as usize >= l.max_chars)
        };
        let s = self.scan;
        let best = s
            .sentence
            .filter(|p| enough(p, 4))
            .or(s.clause.filter(|p| enough(p, 2)))
            .or(s.space.filter(|p| enough(p, 4)));
        let (point, piece) = match best {
            // What a point recorded is what is before it: no need to read it again.
            Some(p) => (
                p.at,
                Piece {
                    text: self.cur[..p.at].trim_end().to_string(),
                    units: p.units,
                    chars: p.chars,
                    letter: s.first_letter.is_some_and(|i| i < p.at),
                    alnum: s.first_alnum.is_some_and(|i| i < p.at),
                },
            ),
            None => {
                let last = self.cur.char_indices().next_back().map_or(0, |(i, _)| i);
                (last, Piece::of(self.cur[..last].trim_end()))
            }
        };
        let rest_at = self.cur.len() - self.cur[point..].trim_start().len();
        if !piece.text.is_empty() {
            self.say(piece, out);
        }
        self.restart(rest_at);
        if self.scan.first_letter.is_some()
            && let Some(h) = self.held.take()
        {
            out(h.text);
        }
    }

    /// A piece that ends for good: with letters it waits for the next letter; without, it is
    /// added to the held sentence, said alone if it has digits, or dropped.
    fn say(&mut self, piece: Piece, out: &mut impl FnMut(String)) {
        if piece.letter || self.fits(piece.units, piece.chars) {
            self.keep(piece, out);
        } else if piece.alnum {
            if let Some(h) = self.held.take() {
                out(h.text);
            }
            out(piece.text);
        }
    }

    /// `cur` keeps only what starts at byte `rest_at`, its facts read afresh (the rest is
    /// short, or a cut just consumed a quarter of a limit).
    fn restart(&mut self, rest_at: usize) {
        self.short = None;
        self.cur.drain(..rest_at);
        self.scan = Scan::of(&self.cur);
        self.end = match self.cur.chars().next_back() {
            Some(c) if is_terminal(c) => {
                let marks = self.cur.chars().rev().take_while(|&c| is_terminal(c));
                End::Marks {
                    start: self.cur.len() - marks.map(char::len_utf8).sum::<usize>(),
                }
            }
            _ => End::Text,
        };
    }
}
