//! One question as rounds of `/api/chat`: offer the tools, run the calls the reply makes, send
//! each result back as a `role: "tool"` message after the assistant message that made the
//! calls, and ask again, at most `tools.max_rounds` times; then the model's words are the
//! answer, or a short built-in message in the question's language.
//!
//! Every round is an ordinary exchange (`client.rs`): the same backoff, the one deadline of the
//! question, the same hang-up on cancel. Hostile replies stay bounded: at most
//! `MAX_CALLS_PER_ROUND` calls run per reply (the rest are answered as errors, or dropped past
//! `MAX_CALLS_KEPT`), huge arguments are not echoed back, results are cut to
//! `MAX_RESULT_CHARS`, and the last round offers no tools, so the model has to speak.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::config;
use crate::event::ToolUse;
use crate::tools::{self, Executor};

use super::wire::ChatMessage;

/// Calls run from one reply; more are answered "not run".
pub const MAX_CALLS_PER_ROUND: usize = 5;
/// Calls kept (echoed back and answered) from one reply; past this they are dropped.
const MAX_CALLS_KEPT: usize = 8;
/// Arguments longer than this (as JSON) are not echoed back to the server.
const MAX_ECHO_BYTES: usize = 2048;
/// A tool's result as sent to the model.
const MAX_RESULT_CHARS: usize = 2000;
/// A tool's result as remembered for follow-ups.
const MAX_REMEMBERED_CHARS: usize = 200;

/// A question and what it needs besides its text.
pub struct Question<'a> {
    /// The conversation so far, oldest first.
    pub history: &'a [super::Message],
    pub text: &'a str,
    /// The question's language ("zh", "en"...): the time context, the tools' timers and the
    /// built-in message are in it. Empty: `tts.language`'s.
    pub lang: &'a str,
    /// Local time now, for the time context; `None` leaves it out.
    pub now: Option<jiff::Zoned>,
}

/// What the client needs to offer tools: the `[tools]` keys, where calls run, and the words
/// for a question whose rounds ran out.
pub(super) struct Tooling {
    pub cfg: config::Tools,
    pub executor: Arc<dyn Executor>,
    pub messages: config::Messages,
    pub default_lang: String,
}

impl Tooling {
    /// The built-in tools and any the executor adds (MCP servers').
    pub fn definitions(&self) -> Vec<Value> {
        let mut defs = tools::definitions();
        defs.extend(self.executor.extra_tools());
        defs
    }

    /// Said when the rounds ran out and the model said nothing.
    pub fn unfinished(&self, lang: &str) -> String {
        let lang = if lang.is_empty() {
            &self.default_lang
        } else {
            lang
        };
        self.messages
            .get("tool_unfinished", lang, &self.default_lang)
            .to_string()
    }
}

/// One call as the server sent it, read leniently (a call without a name is answered "no
/// such tool", never dropped).
pub(super) struct ToolCall {
    pub id: Option<String>,
    pub name: String,
    pub arguments: Value,
}

impl ToolCall {
    fn read(raw: &Value) -> ToolCall {
        let f = &raw["function"];
        ToolCall {
            id: raw["id"].as_str().map(str::to_string),
            name: f["name"].as_str().unwrap_or_default().to_string(),
            arguments: f["arguments"].clone(),
        }
    }
}

/// The calls of one reply, bounded, and the assistant message that echoes them.
pub(super) fn take_calls(text: &str, raw: &[Value]) -> (ChatMessage, Vec<ToolCall>) {
    let kept = &raw[..raw.len().min(MAX_CALLS_KEPT)];
    let echoed = kept
        .iter()
        .map(|c| {
            let args_len =
                serde_json::to_string(&c["function"]["arguments"]).map_or(0, |s| s.len());
            if args_len <= MAX_ECHO_BYTES {
                return c.clone();
            }
            let mut c = c.clone();
            c["function"]["arguments"] = json!({});
            c
        })
        .collect();
    let message = ChatMessage {
        tool_calls: echoed,
        ..ChatMessage::new("assistant", text)
    };
    (message, kept.iter().map(ToolCall::read).collect())
}

/// Runs the calls of one reply in order: the tool messages to send back, and what to
/// remember. `dropped` calls past `MAX_CALLS_KEPT` are mentioned in the last message.
pub(super) fn run_calls(
    calls: &[ToolCall],
    dropped: usize,
    executor: &dyn Executor,
    lang: &str,
) -> (Vec<ChatMessage>, Vec<ToolUse>) {
    let mut messages = Vec::with_capacity(calls.len());
    let mut uses = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let result = if i < MAX_CALLS_PER_ROUND {
            run_one(call, executor, lang)
        } else {
            Err(format!(
                "not run: at most {MAX_CALLS_PER_ROUND} tool calls are run from one reply"
            ))
        };
        let mut content = match result {
            Ok(text) => text,
            Err(why) => format!("error: {why}"),
        };
        if i + 1 == calls.len() && dropped > 0 {
            content.push_str(&format!(
                " ({dropped} more calls in the same reply were ignored)"
            ));
        }
        let content = bounded(&content, MAX_RESULT_CHARS);
        tracing::debug!(tool = %crate::printable::escaped(&bounded(&call.name, 40)), result = %crate::printable::escaped(&content), "tool call");
        uses.push(ToolUse {
            name: bounded(&call.name, 40),
            arguments: remembered_arguments(&call.arguments),
            result: bounded(&content, MAX_REMEMBERED_CHARS),
        });
        messages.push(ChatMessage {
            tool_name: Some(call.name.clone()).filter(|n| n.len() <= 200),
            tool_call_id: call.id.clone().filter(|n| n.len() <= 200),
            ..ChatMessage::new("tool", &content)
        });
    }
    (messages, uses)
}

fn run_one(call: &ToolCall, executor: &dyn Executor, lang: &str) -> Result<String, String> {
    if !tools::NAMES.contains(&call.name.as_str())
        && let Some(result) = executor.run_extra(&call.name, &call.arguments)
    {
        return result;
    }
    let checked = tools::check(&call.name, &call.arguments)?;
    executor.run(checked, lang)
}

/// Arguments worth remembering: compact JSON, or `{}` when they are too long to keep.
fn remembered_arguments(arguments: &Value) -> String {
    match serde_json::to_string(arguments) {
        Ok(s) if s.len() <= 200 && !arguments.is_null() => s,
        _ => "{}".to_string(),
    }
}

/// `text` cut to `max` characters (with "…").
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Call;
    use std::sync::Mutex;

    /// Records each checked call; answers from a script of results.
    #[derive(Default)]
    struct Fake {
        ran: Mutex<Vec<(Call, String)>>,
    }

    impl Executor for Fake {
        fn run(&self, call: Call, lang: &str) -> Result<String, String> {
            self.ran.lock().unwrap().push((call, lang.to_string()));
            Ok("done".into())
        }
    }

    fn call(name: &str, args: Value) -> Value {
        json!({"function": {"name": name, "arguments": args}})
    }

    #[test]
    fn a_hundred_calls_run_five_answer_eight_and_say_the_rest_were_ignored() {
        let raw: Vec<Value> = (0..100)
            .map(|i| call("set_timer", json!({"seconds": i + 1})))
            .collect();
        let (assistant, calls) = take_calls("", &raw);
        assert_eq!(assistant.tool_calls.len(), MAX_CALLS_KEPT);
        assert_eq!(calls.len(), MAX_CALLS_KEPT);
        let fake = Fake::default();
        let (messages, uses) = run_calls(&calls, raw.len() - calls.len(), &fake, "zh");
        assert_eq!(fake.ran.lock().unwrap().len(), MAX_CALLS_PER_ROUND);
        assert_eq!(fake.ran.lock().unwrap()[0].1, "zh");
        assert_eq!(messages.len(), MAX_CALLS_KEPT);
        assert_eq!(uses.len(), MAX_CALLS_KEPT);
        assert_eq!(messages[0].content, "done");
        assert!(messages[5].content.starts_with("error: not run: at most 5"));
        assert!(
            messages[7]
                .content
                .ends_with("(92 more calls in the same reply were ignored)")
        );
        assert!(
            messages
                .iter()
                .all(|m| m.role == "tool" && m.tool_name.as_deref() == Some("set_timer"))
        );
    }

    #[test]
    fn hostile_calls_are_answered_as_errors_and_bounded() {
        let huge = "x".repeat(1 << 20);
        let raw = vec![
            json!({"id": "call_1", "function": {"index": 0, "name": "get_weather", "arguments": {}}}),
            call("set_timer", json!({"seconds": "180"})),
            call("set_timer", json!({"seconds": 1_000_000_000_000u64})),
            call("set_timer", json!({"seconds": 5, "label": huge})),
            json!({"function": {}}),
        ];
        let (assistant, calls) = take_calls("", &raw);
        // The huge arguments are not echoed back; the others are, as sent (id and index too).
        assert_eq!(assistant.tool_calls[3]["function"]["arguments"], json!({}));
        assert_eq!(assistant.tool_calls[0], raw[0]);
        let fake = Fake::default();
        let (messages, uses) = run_calls(&calls, 0, &fake, "en");
        assert!(fake.ran.lock().unwrap().is_empty(), "nothing absurd ran");
        let contents: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
        assert!(contents[0].starts_with("error: there is no tool named \"get_weather\""));
        assert!(contents[1].contains("not a string"));
        assert!(contents[2].contains("not 1000000000000"));
        assert!(contents[3].contains("at most 60 characters"));
        assert!(contents[4].contains("no tool named \"\""));
        assert_eq!(messages[0].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(messages[1].tool_call_id, None);
        // Remembered compactly.
        assert_eq!(uses[3].arguments, "{}");
        assert_eq!(uses[1].arguments, r#"{"seconds":"180"}"#);
        assert!(
            uses.iter()
                .all(|u| u.result.chars().count() <= MAX_REMEMBERED_CHARS + 1)
        );
    }

    #[test]
    fn extra_tools_go_to_the_executor_and_builtins_are_checked_first() {
        struct Extra;
        impl Executor for Extra {
            fn run(&self, _: Call, _: &str) -> Result<String, String> {
                Ok("builtin".into())
            }
            fn run_extra(&self, name: &str, _: &Value) -> Option<Result<String, String>> {
                (name == "HassTurnOn").then(|| Ok("light on".into()))
            }
        }
        let calls = [
            ToolCall::read(&call("HassTurnOn", json!({"name": "kitchen"}))),
            ToolCall::read(&call("list_timers", json!({}))),
            ToolCall::read(&call("nope", json!({}))),
        ];
        let (messages, _) = run_calls(&calls, 0, &Extra, "en");
        assert_eq!(messages[0].content, "light on");
        assert_eq!(messages[1].content, "builtin");
        assert!(messages[2].content.starts_with("error: there is no tool"));
    }

    #[test]
    fn bounded_cuts_on_characters() {
        assert_eq!(bounded("关火关火", 2), "关火…");
        assert_eq!(bounded("ok", 2), "ok");
    }
}
