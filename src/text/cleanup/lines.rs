//! The line stage of the cleanup: splits the reply into lines, drops control characters, code
//! fences (said once as "Code omitted."), table and horizontal rules, and list, heading and
//! quote markers.
//!
//! The start of each line is held back until the line is known: not a fence, not a rule, and
//! past its marker. Each check is updated per character, so holding back costs nothing extra;
//! a line that ends while still undecided is judged whole by the same rules.

use super::{CODE_OMITTED, Item};

#[derive(Debug, Default)]
pub(super) struct Lines {
    in_fence: bool,
    state: State,
    /// The current line from its first non-blank character, while `state` is `Head`.
    head: String,
    fence: Fence,
    rule: Rule,
    marker: Marker,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not yet known what the line is; its text so far is in `head`.
    #[default]
    Head,
    /// Speech: the rest of the line flows on.
    Content,
    /// A fence, a rule or code: the rest of the line is dropped.
    Dropped,
}

impl Lines {
    /// One character of the reply; `None` is the end of the reply.
    pub(super) fn put(&mut self, c: Option<char>, out: &mut impl FnMut(Item)) {
        let c = match c {
            None | Some('\n') => return self.end_line(out),
            // Whitespace the rest of the cleanup treats as a space.
            Some('\r' | '\u{0B}' | '\u{0C}') => ' ',
            // NUL, escape sequences, C1 controls: never spoken, and an argv cannot hold a NUL.
            Some(c) if c.is_control() && c != '\t' => return,
            Some(c) => c,
        };
        match self.state {
            State::Content => out(Item::Char(c)),
            State::Dropped => {}
            State::Head if self.head.is_empty() && c.is_whitespace() => {}
            State::Head => {
                let at = self.head.len();
                self.head.push(c);
                self.fence.step(c);
                self.rule.step(c);
                self.marker = self.marker.step(c, at);
                self.decide(out);
            }
        }
    }

    /// Decides the line once its start is unambiguous.
    fn decide(&mut self, out: &mut impl FnMut(Item)) {
        match self.fence.lead {
            Lead::Maybe0 | Lead::Maybe(_) => return,
            Lead::Fence => {
                self.toggle_fence(out);
                self.state = State::Dropped;
                return;
            }
            Lead::Not => {}
        }
        if self.in_fence {
            self.state = State::Dropped;
            return;
        }
        if self.rule.possible() {
            return;
        }
        if let Marker::Done(start) = self.marker {
            for c in self.head[start..].chars() {
                out(Item::Char(c));
            }
            self.state = State::Content;
        }
    }

    fn end_line(&mut self, out: &mut impl FnMut(Item)) {
        match self.state {
            State::Content => out(Item::LineEnd),
            State::Dropped => {}
            State::Head => {
                let line = self.head.trim_end();
                if line.starts_with("```") || line.starts_with("~~~") {
                    self.toggle_fence(out);
                } else if !self.in_fence && !is_table_rule(line) && !is_horizontal_rule(line) {
                    for c in strip_line_marker(line).chars() {
                        out(Item::Char(c));
                    }
                    out(Item::LineEnd);
                }
            }
        }
        // A fresh line, keeping the fence state and the head's allocation.
        let mut head = std::mem::take(&mut self.head);
        head.clear();
        *self = Lines {
            in_fence: self.in_fence,
            head,
            ..Lines::default()
        };
    }

    fn toggle_fence(&mut self, out: &mut impl FnMut(Item)) {
        if !self.in_fence {
            for c in CODE_OMITTED.chars() {
                out(Item::Char(c));
            }
            out(Item::LineEnd);
        }
        self.in_fence = !self.in_fence;
    }
}

/// Whether the line starts with "```" or "~~~".
#[derive(Debug, Default)]
struct Fence {
    lead: Lead,
    first: char,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Lead {
    /// Nothing seen yet.
    #[default]
    Maybe0,
    /// This many fence characters so far.
    Maybe(u8),
    Fence,
    Not,
}

impl Fence {
    /// `c` is a character of the line after its leading blanks.
    fn step(&mut self, c: char) {
        self.lead = match self.lead {
            Lead::Maybe0 if matches!(c, '`' | '~') => {
                self.first = c;
                Lead::Maybe(1)
            }
            Lead::Maybe(2) if c == self.first => Lead::Fence,
            Lead::Maybe(n) if c == self.first => Lead::Maybe(n + 1),
            Lead::Maybe0 | Lead::Maybe(_) => Lead::Not,
            done => done,
        };
    }
}

/// Whether the line can still be a table rule (`|---|:--:|`) or a horizontal rule (`---`,
/// `* * *`), given its characters so far.
#[derive(Debug)]
struct Rule {
    table: bool,
    /// A blank other than a space since the last character (a table rule holds only spaces
    /// inside it; blanks at its end are trimmed).
    odd_blank: bool,
    /// The one character a horizontal rule repeats, once seen.
    repeated: Option<char>,
    horizontal: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            table: true,
            odd_blank: false,
            repeated: None,
            horizontal: true,
        }
    }
}

impl Rule {
    fn step(&mut self, c: char) {
        if c.is_whitespace() {
            self.odd_blank |= c != ' ';
            return;
        }
        self.table &= !self.odd_blank && matches!(c, '|' | '-' | ':');
        self.odd_blank = false;
        match self.repeated {
            None => {
                self.horizontal = matches!(c, '-' | '*' | '_');
                self.repeated = Some(c);
            }
            Some(r) => self.horizontal &= c == r,
        }
    }

    fn possible(&self) -> bool {
        self.table || self.horizontal
    }
}

/// Where a line's content starts after its marker (`> `, `## `, `- [x] `, `12. `), found one
/// character at a time. Positions are byte offsets into the line's head.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Marker {
    /// Skipping blanks and quote marks.
    #[default]
    Start,
    /// This many `#` from this position.
    Hashes(usize, usize),
    /// After a heading's `# `: skipping blanks.
    HeadingGap,
    /// A bullet character at this position.
    Bullet(usize),
    /// After a bullet and its space: skipping blanks.
    BulletGap,
    /// A checkbox from this position, this many of its characters matched.
    Checkbox(usize, u8),
    /// This many digits from this position.
    Digits(usize, usize),
    /// The digits at this position were followed by `.` or `)`.
    DigitMark(usize),
    /// After a number's `. `: skipping blanks.
    NumberGap,
    /// The content starts here.
    Done(usize),
}

impl Marker {
    /// The next state after `c`, which sits at byte `at`.
    fn step(self, c: char, at: usize) -> Marker {
        let next = at + c.len_utf8();
        match self {
            Marker::Start if c.is_whitespace() || c == '>' => Marker::Start,
            Marker::Start if c == '#' => Marker::Hashes(at, 1),
            Marker::Start if BULLETS.contains(&c) => Marker::Bullet(at),
            Marker::Start if c.is_ascii_digit() => Marker::Digits(at, 1),
            Marker::Start => Marker::Done(at),
            Marker::Hashes(start, n) if c == '#' => Marker::Hashes(start, n + 1),
            Marker::Hashes(_, 1..=6) if matches!(c, ' ' | '\t') => Marker::HeadingGap,
            Marker::Hashes(start, _) => Marker::Done(start),
            Marker::Bullet(_) if c == ' ' => Marker::BulletGap,
            Marker::Bullet(start) => Marker::Done(start),
            Marker::BulletGap if c.is_whitespace() => Marker::BulletGap,
            Marker::BulletGap if c == '[' => Marker::Checkbox(at, 1),
            Marker::Checkbox(start, 1) if matches!(c, ' ' | 'x' | 'X') => {
                Marker::Checkbox(start, 2)
            }
            Marker::Checkbox(start, 2) if c == ']' => Marker::Checkbox(start, 3),
            Marker::Checkbox(_, 3) if c == ' ' => Marker::Done(next),
            Marker::Checkbox(start, _) => Marker::Done(start),
            Marker::Digits(start, n) if c.is_ascii_digit() => Marker::Digits(start, n + 1),
            Marker::Digits(start, 1..=3) if matches!(c, '.' | ')') => Marker::DigitMark(start),
            Marker::Digits(start, _) => Marker::Done(start),
            Marker::DigitMark(_) if c == ' ' => Marker::NumberGap,
            Marker::DigitMark(start) => Marker::Done(start),
            Marker::HeadingGap | Marker::BulletGap | Marker::NumberGap if c.is_whitespace() => self,
            Marker::HeadingGap | Marker::BulletGap | Marker::NumberGap => Marker::Done(at),
            Marker::Done(_) => self,
        }
    }
}

const BULLETS: [char; 6] = ['-', '*', '+', '•', '·', '‣'];

/// Removes a heading, bullet, number or quote marker at the start of a whole line (for a line
/// that ended before `Marker` could decide).
fn strip_line_marker(line: &str) -> &str {
    let mut s = line;
    // Quotes may nest ("> > text").
    while let Some(rest) = s.strip_prefix('>') {
        s = rest.trim_start();
    }
    let hashes = s.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) && s[hashes..].starts_with([' ', '\t']) {
        return s[hashes..].trim_start();
    }
    for bullet in BULLETS {
        if let Some(rest) = s.strip_prefix(bullet).and_then(|r| r.strip_prefix(' ')) {
            return strip_checkbox(rest.trim_start());
        }
    }
    // "1. ", "12) "
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &s[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return r.trim_start();
        }
    }
    s
}

fn strip_checkbox(s: &str) -> &str {
    for b in ["[ ] ", "[x] ", "[X] "] {
        if let Some(rest) = s.strip_prefix(b) {
            return rest;
        }
    }
    s
}

/// `|---|:--:|` separates a markdown table's header from its rows.
fn is_table_rule(line: &str) -> bool {
    line.contains('-') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn is_horizontal_rule(line: &str) -> bool {
    let mut t = line.chars().filter(|c| !c.is_whitespace());
    let Some(first) = t.next() else { return false };
    matches!(first, '-' | '*' | '_') && t.clone().all(|c| c == first) && t.count() >= 2
}
