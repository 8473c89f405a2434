//! The conversation memory: the last few exchanges, bounded in turns and in characters.

use std::collections::VecDeque;

use super::action::Exchange;
use crate::event::ToolUse;

#[derive(Debug)]
pub(super) struct Memory {
    turns: usize,
    max_chars: usize,
    exchanges: VecDeque<Exchange>,
}

impl Memory {
    pub(super) fn new(turns: usize, max_chars: usize) -> Self {
        Self {
            turns,
            max_chars,
            exchanges: VecDeque::new(),
        }
    }

    /// New bounds (config reload); applied at once.
    pub(super) fn set_bounds(&mut self, turns: usize, max_chars: usize) {
        self.turns = turns;
        self.max_chars = max_chars;
        self.trim();
    }

    /// Remembers an exchange with the tool calls it led to (each counted in `max_chars` as its
    /// name, arguments and result), so a follow-up such as "cancel that timer" has them.
    pub(super) fn remember(&mut self, question: &str, answer: &str, tools: Vec<ToolUse>) {
        self.exchanges.push_back(Exchange {
            question: question.to_string(),
            answer: answer.to_string(),
            tools,
        });
        self.trim();
    }

    /// Drops the oldest exchanges until both bounds hold, so a request never grows without
    /// limit. An exchange longer than `max_chars` on its own is not kept at all.
    fn trim(&mut self) {
        while self.exchanges.len() > self.turns {
            self.exchanges.pop_front();
        }
        while self.chars() > self.max_chars {
            self.exchanges.pop_front();
        }
    }

    fn chars(&self) -> usize {
        self.exchanges
            .iter()
            .map(|e| {
                let tools: usize = e
                    .tools
                    .iter()
                    .map(|t| {
                        t.name.chars().count()
                            + t.arguments.chars().count()
                            + t.result.chars().count()
                    })
                    .sum();
                e.question.chars().count() + e.answer.chars().count() + tools
            })
            .sum()
    }

    pub(super) fn history(&self) -> Vec<Exchange> {
        self.exchanges.iter().cloned().collect()
    }

    pub(super) fn forget(&mut self) {
        self.exchanges.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.exchanges.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.exchanges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions(m: &Memory) -> Vec<String> {
        m.history().into_iter().map(|e| e.question).collect()
    }

    /// (turns, max_chars, exchanges as (question, answer), questions kept)
    type Case<'a> = (usize, usize, &'a [(&'a str, &'a str)], &'a [&'a str]);

    #[test]
    fn bounds_drop_the_oldest_first() {
        let cases: &[Case] = &[
            (0, 1000, &[("a", "b")], &[]),
            (
                2,
                1000,
                &[("q1", "a"), ("q2", "a"), ("q3", "a")],
                &["q2", "q3"],
            ),
            (
                9,
                6,
                &[("q1", "a"), ("q2", "a"), ("q3", "a")],
                &["q2", "q3"],
            ),
            (9, 5, &[("q1", "a"), ("q2", "a"), ("q3", "a")], &["q3"]),
            (9, 3, &[("q1", "a"), ("too long", "x")], &[]),
            // Characters, not bytes: "é" counts once.
            (9, 4, &[("éé", "é"), ("ü", "üü")], &["ü"]),
            (9, 3, &[("éé", "é")], &["éé"]),
        ];
        for (turns, max_chars, input, want) in cases {
            let mut m = Memory::new(*turns, *max_chars);
            for (q, a) in *input {
                m.remember(q, a, Vec::new());
            }
            assert_eq!(questions(&m), *want, "turns {turns} max_chars {max_chars}");
        }
    }

    #[test]
    fn tool_calls_are_remembered_and_count_toward_the_bound() {
        let timer = || {
            vec![ToolUse {
                name: "set_timer".into(),
                arguments: r#"{"seconds":180}"#.into(),
                result: "set".into(),
            }]
        };
        // 2 + 2 + 9 + 15 + 3 = 31 characters with the tool call, 4 without.
        let mut m = Memory::new(9, 31);
        m.remember("q1", "a1", timer());
        assert_eq!(m.history()[0].tools, timer());
        let mut m = Memory::new(9, 30);
        m.remember("q1", "a1", timer());
        assert!(m.is_empty(), "too long with its tool call");
    }

    #[test]
    fn new_bounds_apply_at_once_and_forget_clears() {
        let mut m = Memory::new(5, 1000);
        for q in ["q1", "q2", "q3"] {
            m.remember(q, "a", Vec::new());
        }
        m.set_bounds(1, 1000);
        assert_eq!(questions(&m), ["q3"]);
        m.forget();
        assert!(m.is_empty());
        assert_eq!(m.len(), 0);
    }
}
