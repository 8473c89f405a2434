//! The last stages of the cleanup: markdown symbols (a stray `#` too) and emoji, runs of
//! punctuation, and words (one space between words, one line break between lines, no word
//! starting with `-`).

use super::Item;

/// Drops markdown emphasis, brackets, pipes and pictographs. Judges each character by the ones
/// on either side of it, so it runs one character behind.
#[derive(Debug, Default)]
pub(super) struct Symbols {
    prev: Option<char>,
    held: Option<char>,
    /// A space is owed before the next character written (a `|` may take it back).
    space: bool,
    /// The last character written on this line, if any.
    last: Option<char>,
}

impl Symbols {
    pub(super) fn put(&mut self, item: Item, out: &mut impl FnMut(Item)) {
        let next = match item {
            Item::Char(c) => Some(c),
            Item::LineEnd => None,
        };
        if let Some(c) = self.held {
            self.judge(self.prev, c, next, out);
            // (After a pause judged the held character, `prev` is already it.)
            self.prev = self.held;
        }
        self.held = next;
        if item == Item::LineEnd {
            *self = Symbols::default();
            out(item);
        }
    }

    /// The text pauses: a held blank is judged now (nothing after it changes what it is);
    /// with `all`, any held character, as before a line end. Returns whether a blank is owed
    /// after what was written.
    pub(super) fn pause(&mut self, all: bool, out: &mut impl FnMut(Item)) -> bool {
        if let Some(c) = self.held
            && (all || c.is_whitespace())
        {
            self.judge(self.prev, c, None, out);
            self.prev = Some(c);
            self.held = None;
        }
        self.space && self.last.is_some()
    }

    fn judge(
        &mut self,
        prev: Option<char>,
        c: char,
        next: Option<char>,
        out: &mut impl FnMut(Item),
    ) {
        match c {
            '*' | '~' => {}
            // `_` is emphasis at a word edge; inside a word (snake_case) it is a space.
            '_' => {
                if prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric)
                {
                    self.space = true;
                }
            }
            // A `#` standing alone ("One. # Two.", a heading marker not at a line start) is
            // read "hash"; one at a word ("#1", "C#", "#tag") is meant.
            '#' if !prev.is_some_and(char::is_alphanumeric)
                && !next.is_some_and(char::is_alphanumeric) => {}
            // espeak-ng reads `[[...]]` as phonemes; brackets add nothing to speech.
            '[' | ']' | '{' | '}' => {}
            // Table cells and pipes become a pause.
            '|' => {
                if self.last.is_some_and(|l| l != ',') {
                    self.space = false;
                    self.write(',', out);
                }
                self.space = true;
            }
            // Arrows ("->", "=>", "<-") are decoration.
            '-' | '=' if next == Some('>') || prev == Some('<') => self.space = true,
            '<' | '>' if is_arrowish(prev, next) => self.space = true,
            _ if is_pictograph(c) => {}
            _ if c.is_whitespace() => self.space = true,
            _ => self.write(c, out),
        }
    }

    fn write(&mut self, c: char, out: &mut impl FnMut(Item)) {
        if std::mem::take(&mut self.space) && self.last.is_some() {
            out(Item::Char(' '));
        }
        out(Item::Char(c));
        self.last = Some(c);
    }
}

fn is_arrowish(prev: Option<char>, next: Option<char>) -> bool {
    matches!(prev, Some('-' | '=' | '<')) || matches!(next, Some('-' | '=' | '>'))
}

/// Emoji and other pictographs, with their joiners, selectors and skin-tone modifiers.
fn is_pictograph(c: char) -> bool {
    !c.is_ascii()
        && matches!(u32::from(c),
            0x1F000..=0x1FAFF   // mahjong, cards, emoji, symbols & pictographs, skin tones, flags
            | 0x2600..=0x27BF   // misc symbols, dingbats
            | 0x2B00..=0x2BFF   // arrows, stars
            | 0x2190..=0x21FF   // arrows
            | 0x2300..=0x23FF   // technical (⌚ ⏰)
            | 0x25A0..=0x25FF   // geometric shapes
            | 0xFE00..=0xFE0F   // variation selectors
            | 0x200D            // zero-width joiner
            | 0x20E3            // keycap
            | 0xE0020..=0xE007F // tag characters
        )
}

/// Collapses runs of punctuation: "!!!" → "!", "?!" → "?", "。。" → "。", "...." → "...",
/// ",,," → ","; a run of dashes or equals signs is a pause (" — "). Any run of sentence-ending
/// marks becomes one mark, so no run is long.
#[derive(Debug, Default)]
pub(super) struct Runs {
    run: Option<Run>,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    first: char,
    len: usize,
    question: bool,
    exclaim: bool,
    ellipsis: bool,
    only_dots: bool,
}

fn ends_sentence(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '…' | '｡')
}

fn repeats(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '，' | '、' | '；' | '：' | '=' | '-' | '—'
    )
}

impl Run {
    fn new(c: char) -> Run {
        Run {
            first: c,
            len: 0,
            question: false,
            exclaim: false,
            ellipsis: false,
            only_dots: true,
        }
        .with(c)
    }

    fn accepts(&self, c: char) -> bool {
        if ends_sentence(self.first) {
            ends_sentence(c)
        } else {
            c == self.first
        }
    }

    fn with(mut self, c: char) -> Run {
        self.len += 1;
        self.question |= matches!(c, '?' | '？');
        self.exclaim |= matches!(c, '!' | '！');
        self.ellipsis |= c == '…';
        self.only_dots &= c == '.';
        self
    }

    fn say(&self, out: &mut impl FnMut(Item)) {
        let full = !self.first.is_ascii();
        let said = match self.first {
            '=' if self.len == 1 => " = ",
            _ if self.len == 1 => return out(Item::Char(self.first)),
            '-' | '—' | '=' => " — ",
            c if repeats(c) => return out(Item::Char(c)),
            _ if self.question => ["?", "？"][usize::from(full)],
            _ if self.exclaim => ["!", "！"][usize::from(full)],
            _ if self.only_dots && self.len >= 3 => "...",
            _ if self.ellipsis => "…",
            c => return out(Item::Char(c)),
        };
        said.chars().for_each(|c| out(Item::Char(c)));
    }
}

impl Runs {
    /// The text pauses after a blank (or for a while): the run so far is complete.
    pub(super) fn pause(&mut self, out: &mut impl FnMut(Item)) {
        if let Some(run) = self.run.take() {
            run.say(out);
        }
    }

    pub(super) fn put(&mut self, item: Item, out: &mut impl FnMut(Item)) {
        if let (Some(run), Item::Char(c)) = (&mut self.run, item)
            && run.accepts(c)
        {
            *run = run.with(c);
            return;
        }
        if let Some(run) = self.run.take() {
            run.say(out);
        }
        match item {
            Item::Char(c) if ends_sentence(c) || repeats(c) => self.run = Some(Run::new(c)),
            item => out(item),
        }
    }
}

/// One space between words, one line break between non-empty lines, none at either end. A word
/// starting with `-` would be an option to an engine that gets the text in argv: "-5" becomes
/// "−5" (read "minus five"), other leading dashes are dropped, and a word of dashes is "—".
#[derive(Debug, Default)]
pub(super) struct Words {
    in_word: bool,
    /// The word so far is all dashes.
    dashes: bool,
    /// A separator is owed before the next character.
    space: bool,
    newline: bool,
    /// Something was written on this line / at all.
    line_written: bool,
    written: bool,
}

impl Words {
    pub(super) fn put(&mut self, item: Item, out: &mut impl FnMut(char)) {
        let c = match item {
            Item::Char(c) if !c.is_whitespace() => c,
            Item::Char(_) => return self.end_word(out),
            Item::LineEnd => {
                self.end_word(out);
                self.newline |= self.line_written;
                self.line_written = false;
                self.space = false;
                return;
            }
        };
        if !self.in_word {
            self.in_word = true;
            self.dashes = c == '-';
        } else if self.dashes && c != '-' {
            self.dashes = false;
            if c.is_ascii_digit() || c == '.' {
                self.write('−', out);
            }
        }
        if !self.dashes {
            self.write(c, out);
        }
    }

    /// The separator owed before the next character, if any.
    pub(super) fn owed(&self) -> Option<char> {
        if self.newline && self.written {
            Some('\n')
        } else if self.space && self.line_written {
            Some(' ')
        } else {
            None
        }
    }

    fn end_word(&mut self, out: &mut impl FnMut(char)) {
        if std::mem::take(&mut self.dashes) {
            self.write('—', out);
        }
        self.in_word = false;
        self.space = self.line_written;
    }

    fn write(&mut self, c: char, out: &mut impl FnMut(char)) {
        if !self.line_written {
            if std::mem::take(&mut self.newline) && self.written {
                out('\n');
            }
        } else if std::mem::take(&mut self.space) {
            out(' ');
        }
        out(c);
        self.line_written = true;
        self.written = true;
    }
}
