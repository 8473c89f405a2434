//! The inline stages of the cleanup, within a line: inline code, markdown links, bare URLs.
//! Each holds back only the span it cannot judge yet, and gives it up at the end of the line.

use super::{CODE_OMITTED, Item};

/// Inline code up to this many characters is read as text (`ls`, `cargo build`).
const INLINE_CODE_KEEP: usize = 24;

/// `` `x` `` → x when short, else "Code omitted.". A span closes at the first run of as many
/// backticks as opened it; an unclosed one is read as text without its backticks.
#[derive(Debug, Default)]
pub(super) struct Code {
    state: CodeState,
    /// The code so far, while `Inside`.
    code: String,
}

#[derive(Debug, Default, Clone, Copy)]
enum CodeState {
    #[default]
    Text,
    /// A run of this many backticks, not yet over.
    Opening(usize),
    /// In a span opened by `fence` backticks; `run` backticks just seen.
    Inside { fence: usize, run: usize },
}

impl Code {
    pub(super) fn put(&mut self, item: Item, out: &mut impl FnMut(Item)) {
        self.state = match (self.state, item) {
            (CodeState::Text, Item::Char('`')) => CodeState::Opening(1),
            (CodeState::Opening(n), Item::Char('`')) => CodeState::Opening(n + 1),
            (CodeState::Opening(fence), Item::Char(c)) => {
                self.code.clear();
                self.code.push(c);
                CodeState::Inside { fence, run: 0 }
            }
            (CodeState::Inside { fence, run }, Item::Char('`')) if run + 1 == fence => {
                self.say_code(out);
                CodeState::Text
            }
            (CodeState::Inside { fence, run }, Item::Char('`')) => CodeState::Inside {
                fence,
                run: run + 1,
            },
            (CodeState::Inside { fence, run }, Item::Char(c)) => {
                self.code.extend(std::iter::repeat_n('`', run));
                self.code.push(c);
                CodeState::Inside { fence, run: 0 }
            }
            (CodeState::Inside { .. }, Item::LineEnd) => {
                for c in self.code.chars().filter(|&c| c != '`') {
                    out(Item::Char(c));
                }
                out(Item::LineEnd);
                CodeState::Text
            }
            (_, item) => {
                // Text, or an opening run at the end of the line (dropped).
                out(item);
                CodeState::Text
            }
        };
    }

    fn say_code(&mut self, out: &mut impl FnMut(Item)) {
        let code = self.code.trim();
        let said = if code.chars().count() <= INLINE_CODE_KEEP {
            code
        } else {
            CODE_OMITTED
        };
        for c in said.chars() {
            out(Item::Char(c));
        }
    }
}

/// `[text](url)` and `![alt](url)` → text. A link's text holds no `[`; its target ends at the
/// first `)`. Anything else is passed on as it was (its brackets are dropped later).
#[derive(Debug, Default)]
pub(super) struct Links {
    state: LinkState,
    /// A `!` held back: it is dropped if it starts an image link.
    bang: bool,
    /// Whether the link being read started with `!`.
    image: bool,
    label: String,
    target: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    #[default]
    Text,
    /// After `[`; `bracket`: a `]` just seen (a link if `(` follows).
    Label { bracket: bool },
    /// After `](`.
    Target,
}

impl Links {
    pub(super) fn put(&mut self, item: Item, out: &mut impl FnMut(Item)) {
        match (self.state, item) {
            (LinkState::Text, Item::Char('!')) => {
                if self.bang {
                    out(Item::Char('!'));
                }
                self.bang = true;
            }
            (LinkState::Text, Item::Char('[')) => self.open(),
            (LinkState::Text, item) => {
                if std::mem::take(&mut self.bang) {
                    out(Item::Char('!'));
                }
                out(item);
            }
            (LinkState::Label { bracket: true }, Item::Char('(')) => {
                self.target.clear();
                self.state = LinkState::Target;
            }
            (LinkState::Label { bracket: true }, item) => {
                self.label.push(']');
                self.state = LinkState::Label { bracket: false };
                self.put(item, out);
            }
            (LinkState::Label { .. }, Item::Char('[')) => {
                // The text of a link holds no `[`: the earlier one was not a link.
                self.bang = self.label.ends_with('!');
                if self.bang {
                    self.label.pop();
                }
                self.give_up(out);
                self.open();
            }
            (LinkState::Label { .. }, Item::Char(']')) => {
                self.state = LinkState::Label { bracket: true };
            }
            (LinkState::Label { .. }, Item::Char(c)) => self.label.push(c),
            (LinkState::Target, Item::Char(')')) => {
                for c in self.label.chars() {
                    out(Item::Char(c));
                }
                self.state = LinkState::Text;
            }
            (LinkState::Target, Item::Char(c)) => self.target.push(c),
            (_, Item::LineEnd) => {
                self.give_up(out);
                out(Item::LineEnd);
            }
        }
    }

    fn open(&mut self) {
        self.image = std::mem::take(&mut self.bang);
        self.label.clear();
        self.state = LinkState::Label { bracket: false };
    }

    /// Not a link after all: passes on what was held, as it was.
    fn give_up(&mut self, out: &mut impl FnMut(Item)) {
        let mut say = |s: &str| s.chars().for_each(|c| out(Item::Char(c)));
        if self.image {
            say("!");
        }
        say("[");
        say(&self.label);
        match self.state {
            LinkState::Label { bracket: true } => say("]"),
            LinkState::Target => {
                say("](");
                say(&self.target);
            }
            _ => {}
        }
        self.state = LinkState::Text;
        self.image = false;
    }
}

/// A bare URL is read as its host ("example.com"), or "link" when it has none.
#[derive(Debug, Default)]
pub(super) struct Urls {
    state: UrlState,
    word: String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum UrlState {
    /// Between words.
    #[default]
    Gap,
    /// The word so far could begin a URL.
    Maybe,
    Url,
    /// In a word that is not a URL.
    Word,
}

const SCHEMES: [&str; 4] = ["https://", "http://", "ftp://", "www."];

impl Urls {
    pub(super) fn put(&mut self, item: Item, out: &mut impl FnMut(Item)) {
        let c = match item {
            Item::Char(c) if !c.is_whitespace() => c,
            _ => {
                self.end_word(out);
                out(item);
                return;
            }
        };
        match self.state {
            UrlState::Word => out(item),
            UrlState::Url => self.word.push(c),
            UrlState::Gap | UrlState::Maybe => {
                if self.state == UrlState::Gap {
                    self.word.clear();
                }
                self.word.push(c);
                self.state = self.classify();
                if self.state == UrlState::Word {
                    self.word.chars().for_each(|c| out(Item::Char(c)));
                }
            }
        }
    }

    fn classify(&self) -> UrlState {
        let word = self.word.as_bytes();
        if scheme_len(&self.word).is_some() {
            UrlState::Url
        } else if SCHEMES.iter().any(|s| starts_with(s.as_bytes(), word)) {
            UrlState::Maybe
        } else {
            UrlState::Word
        }
    }

    fn end_word(&mut self, out: &mut impl FnMut(Item)) {
        match self.state {
            UrlState::Maybe => self.word.chars().for_each(|c| out(Item::Char(c))),
            UrlState::Url => say_url(&self.word).chars().for_each(|c| out(Item::Char(c))),
            UrlState::Gap | UrlState::Word => {}
        }
        self.state = UrlState::Gap;
    }
}

/// `a` starts with `b`, ASCII case ignored.
fn starts_with(a: &[u8], b: &[u8]) -> bool {
    a.len() >= b.len() && a[..b.len()].eq_ignore_ascii_case(b)
}

/// The length of the scheme (or `www.`) a URL word starts with.
fn scheme_len(word: &str) -> Option<usize> {
    SCHEMES
        .iter()
        .find(|s| starts_with(word.as_bytes(), s.as_bytes()))
        .map(|s| s.len())
}

/// The host of a URL word, with punctuation that ends the sentence after it kept.
fn say_url(word: &str) -> String {
    let scheme = scheme_len(word).unwrap_or(0);
    let kept = word
        .trim_end_matches(['.', ',', '!', '?', ';', ':', ')'])
        .len()
        .max(scheme);
    let host = word[scheme..]
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or("")
        .trim_start_matches("www.")
        .trim_end_matches(['.', ',', '!', '?', ';', ')']);
    let host = if host.is_empty() { "link" } else { host };
    format!("{host}{}", &word[kept..])
}
