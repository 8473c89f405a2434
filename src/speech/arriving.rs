//! Sentences of a reply that arrives in pieces (a streamed reply): each sentence is handed out
//! as soon as it is complete, the rest when the reply ends.
//!
//! A thin adapter over the batch cleanup and splitter, until the incremental ones (issue 11)
//! take its place behind the same three methods: text is buffered until a sentence end (a
//! terminal mark and the space after it, or a line break), and the buffered text up to there is
//! cleaned and split as a whole reply would be. A cut is kept only where the batch splitter ends
//! a sentence too, with the text after it in view ("Dr. Smith" is not cut after "Dr."), so the
//! sentences are the ones the batch splitter gives, merged only within what was cut.

use super::{cleanup, sentences};

/// Sentence ends tried, from the latest backwards, per `ready` call.
const CANDIDATES: usize = 4;

#[derive(Debug)]
pub struct Sentences {
    /// Text received and not yet handed out.
    pending: String,
    /// Characters in `pending`.
    chars: usize,
    /// `pending` is scanned for sentence ends up to here (a byte offset), once.
    scanned: usize,
    /// Sentence ends found in `pending` (byte offsets just past them), in order.
    ends: Vec<usize>,
    /// Inside a code fence at `scanned`: no sentence ends there.
    in_fence: bool,
    /// `scanned` is at the start of a line.
    line_start: bool,
    min_chars: usize,
    max_chars: usize,
}

impl Sentences {
    pub fn new(min_chars: usize, max_chars: usize) -> Sentences {
        Sentences {
            pending: String::new(),
            chars: 0,
            scanned: 0,
            ends: Vec::new(),
            in_fence: false,
            line_start: true,
            min_chars,
            max_chars: max_chars.max(1),
        }
    }

    /// Adds the next piece of the reply.
    pub fn push(&mut self, piece: &str) {
        self.pending.push_str(piece);
        self.chars += piece.chars().count();
        self.scan();
    }

    /// The sentences complete so far, cleaned for speech; none if the text so far ends inside
    /// the first one. A sentence that reaches `max_chars` without an end is cut at a word
    /// boundary (the splitter picks the best clause boundary inside).
    pub fn ready(&mut self) -> Vec<String> {
        let cut = self
            .ends
            .iter()
            .rev()
            .take(CANDIDATES)
            .copied()
            .find(|&end| self.cut_holds(end))
            .or_else(|| self.word_boundary_past_max());
        let Some(end) = cut else {
            return Vec::new();
        };
        let head: String = self.pending.drain(..end).collect();
        self.chars -= head.chars().count();
        self.scanned -= end;
        self.ends.retain(|&e| e > end);
        for e in &mut self.ends {
            *e -= end;
        }
        self.split(&head, self.min_chars)
    }

    /// The end of the reply: the sentences of whatever is left.
    pub fn finish(&mut self) -> Vec<String> {
        let rest = std::mem::take(&mut self.pending);
        *self = Sentences::new(self.min_chars, self.max_chars);
        self.split(&rest, self.min_chars)
    }

    fn split(&self, text: &str, min_chars: usize) -> Vec<String> {
        sentences::split(&cleanup::for_speech(text), min_chars, self.max_chars)
    }

    /// Finds the sentence ends in the newly arrived text: past each line break, and past each
    /// terminal mark (with closing quotes) that whitespace follows; never inside a code fence.
    /// A mark whose next character has not arrived, or a line start that may yet become a
    /// fence, waits for the next piece.
    fn scan(&mut self) {
        while let Some(c) = self.pending[self.scanned..].chars().next() {
            let at = self.scanned;
            if self.line_start {
                let line = self.pending[at..].trim_start_matches([' ', '\t']);
                let fence = ["```", "~~~"];
                if !line.contains('\n') && fence.iter().any(|f| f.starts_with(line)) {
                    return;
                }
                if fence.iter().any(|f| line.starts_with(f)) {
                    self.in_fence = !self.in_fence;
                }
            }
            let next = self.pending[at + c.len_utf8()..].chars().next();
            let ends_here = match c {
                '\n' => true,
                '.' | '!' | '?' | '…' => match next {
                    None => return,
                    Some(n) => n.is_whitespace(),
                },
                // Full-width marks need no space after them.
                '。' | '！' | '？' | '；' => match next {
                    None => return,
                    Some(_) => true,
                },
                _ => false,
            };
            self.scanned = at + c.len_utf8();
            self.line_start = c == '\n';
            if ends_here && !self.in_fence {
                self.ends.push(self.scanned);
            }
        }
    }

    /// A cut at `end` gives the batch splitter's sentences: long enough to stand alone, and the
    /// splitter ends a sentence there even with the text after it in view.
    fn cut_holds(&self, end: usize) -> bool {
        let head = self.split(&self.pending[..end], 0);
        let total: usize = head.iter().map(|s| s.chars().count()).sum();
        if head.is_empty() || total < self.min_chars {
            return false;
        }
        let whole = self.split(&self.pending, 0);
        whole.len() > head.len() && whole.starts_with(&head)
    }

    /// When the text has grown past `max_chars` without a sentence end (and outside code): the
    /// last word boundary.
    fn word_boundary_past_max(&self) -> Option<usize> {
        if self.chars <= self.max_chars || self.in_fence {
            return None;
        }
        self.pending
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, _)| i)
            .filter(|&i| i > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` one by one; returns the sentences handed out after each, then at the end.
    fn feed(pieces: &[&str], min: usize, max: usize) -> Vec<Vec<String>> {
        let mut s = Sentences::new(min, max);
        let mut out: Vec<Vec<String>> = pieces
            .iter()
            .map(|p| {
                s.push(p);
                s.ready()
            })
            .collect();
        out.push(s.finish());
        out
    }

    #[test]
    fn a_sentence_is_out_when_the_next_one_starts() {
        let got = feed(
            &[
                "Paris is",
                " the capital.",
                " It lies",
                " on the Seine.",
                " Yes",
            ],
            0,
            240,
        );
        let empty: Vec<String> = Vec::new();
        assert_eq!(got[0], empty);
        assert_eq!(got[1], empty, "the mark alone does not end it");
        assert_eq!(got[2], ["Paris is the capital."]);
        assert_eq!(got[4], ["It lies on the Seine."]);
        assert_eq!(got[5], ["Yes"]);
    }

    #[test]
    fn the_batch_splitter_has_the_last_word_on_ends() {
        // "Dr." is no sentence end, whatever follows; a short start waits for more.
        let got = feed(
            &["Ask Dr. ", "Smith today. ", "Ok. ", "Then go home. "],
            12,
            240,
        );
        let out: Vec<String> = got.concat();
        assert_eq!(out, ["Ask Dr. Smith today.", "Ok. Then go home."]);
        assert!(got[0].is_empty());
    }

    #[test]
    fn whole_text_at_once_is_the_batch_split() {
        let text = "# Basil\n\nSure. Here is how:\n- Water it **daily**.\n- Give it sun!\n```\ncode\n```\nDone.";
        let mut s = Sentences::new(12, 240);
        s.push(text);
        let batch = sentences::split(&cleanup::for_speech(text), 12, 240);
        assert_eq!(s.finish(), batch);
        // Piece by piece, nothing is lost or reordered, and no code is read out.
        let pieces: Vec<String> = text.chars().map(String::from).collect();
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let squeeze = |v: Vec<String>| v.concat().replace(char::is_whitespace, "");
        let got = squeeze(feed(&refs, 12, 240).concat());
        assert_eq!(got, squeeze(batch));
    }

    #[test]
    fn no_end_in_sight_cuts_past_max_at_a_word() {
        let words = "word ".repeat(30);
        let got = feed(&[&words, "more"], 0, 40);
        assert!(!got[0].is_empty(), "{got:?}");
        for s in got.concat() {
            assert!(s.chars().count() <= 40, "{s:?}");
            assert!(!s.contains("wor ") && !s.ends_with("wor"), "{s:?}");
        }
    }

    #[test]
    fn chinese_full_width_marks_end_sentences_without_spaces() {
        let got = feed(&["你好。", "今天天气很好。", "再见"], 0, 240);
        assert_eq!(got[1], ["你好。"]);
        assert_eq!(got[2], ["今天天气很好。"]);
        assert_eq!(got[3], ["再见"]);
    }
}
