//! The Ollama client: one blocking request per question, retried with backoff under one
//! deadline, every failure turned into a user-meaningful class with a one-line fix; a streamed
//! reply's text handed on as it arrives; a cancelled question hung up at once.
//!
//! - `client`  the `Client`: request bodies, the retry loop, the reply log line.
//! - `rounds`  a question as rounds of tool calls: run them, send the results back, ask again.
//! - `http`    one HTTP exchange: the request, the reply or the `Problem` it came back as.
//! - `load`    keeping the model loaded: at start and at each press, in the background.
//! - `health`  `voicebox check`: is the server reachable, is the model there.
//! - `wire`    JSON request and (lenient) reply shapes.
//! - `error`   classification of one failed attempt → retry or not, and the message.
//! - `backoff` the pure retry schedule.
//! - `stream`  the NDJSON reader for `ollama.stream = true`.
//!
//! ureq is the HTTP client here and in `stt::http` and `tts::http`; nothing
//! else speaks HTTP.

mod backoff;
mod client;
mod error;
mod health;
mod http;
mod load;
mod rounds;
mod stream;
mod wire;

pub use client::Client;
pub use health::{Health, ToolSupport};
pub use rounds::Question;

use crate::machine::Exchange;

/// One remembered message of the conversation, for `/api/chat`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// An assistant message's tool calls, in Ollama's shape.
    pub tool_calls: Vec<serde_json::Value>,
    /// A tool message's tool.
    pub tool_name: Option<String>,
}

impl Message {
    pub fn user(content: &str) -> Message {
        Message::new(Role::User, content)
    }

    pub fn assistant(content: &str) -> Message {
        Message::new(Role::Assistant, content)
    }

    fn new(role: Role, content: &str) -> Message {
        Message {
            role,
            content: content.to_string(),
            tool_calls: Vec::new(),
            tool_name: None,
        }
    }

    /// The machine's remembered exchanges as chat messages, oldest first: the question, the
    /// tool calls it led to and their results (if any), and the answer.
    pub fn from_history(history: &[Exchange]) -> Vec<Message> {
        let mut out = Vec::with_capacity(history.len() * 2);
        for e in history {
            out.push(Message::user(&e.question));
            if !e.tools.is_empty() {
                let calls = e.tools.iter().map(|t| {
                    let arguments = serde_json::from_str::<serde_json::Value>(&t.arguments)
                        .unwrap_or_else(|_| serde_json::json!({}));
                    serde_json::json!({"function": {"name": t.name, "arguments": arguments}})
                });
                out.push(Message {
                    tool_calls: calls.collect(),
                    ..Message::assistant("")
                });
                out.extend(e.tools.iter().map(|t| Message {
                    tool_name: Some(t.name.clone()),
                    ..Message::new(Role::Tool, &t.result)
                }));
            }
            out.push(Message::assistant(&e.answer));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    Tool,
}

/// Entry points for `tests/it/fuzz.rs` (not an API): the reply parsers are private to this
/// module, and the fuzz target is its own crate. The binary never calls it.
#[doc(hidden)]
pub mod fuzz_api {
    use super::{error, stream, wire};

    /// A whole non-streaming body, read as the client reads it.
    pub fn reply(bytes: &[u8]) {
        if let Ok(r) = serde_json::from_slice::<wire::Reply>(bytes) {
            let _ = (r.text().len(), r.looks_like_answer());
        }
    }

    /// An error status's body.
    pub fn error_body(content_type: Option<&str>, bytes: &[u8]) {
        let _ = error::Body::classify(content_type, bytes);
    }

    /// A streamed NDJSON body with a byte cap.
    pub fn ndjson(body: impl std::io::Read, cap: usize) {
        let _ = stream::read(
            body,
            cap,
            |e| error::Problem::Dropped(e.to_string()),
            &mut |_| {},
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ToolUse;

    #[test]
    fn history_becomes_alternating_chat_messages() {
        let h = vec![
            Exchange {
                question: "q1".into(),
                answer: "a1".into(),
                tools: Vec::new(),
            },
            Exchange {
                question: "三分钟后提醒我关火".into(),
                answer: "好的，三分钟后提醒你。".into(),
                tools: vec![ToolUse {
                    name: "set_timer".into(),
                    arguments: r#"{"label":"关火","seconds":180}"#.into(),
                    result: "timer set: 关火, rings at 12:33".into(),
                }],
            },
        ];
        let m = Message::from_history(&h);
        let roles: Vec<Role> = m.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                Role::User,
                Role::Assistant,
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::Assistant
            ]
        );
        assert_eq!(m[1].content, "a1");
        assert!(m[1].tool_calls.is_empty());
        assert_eq!(
            m[3].tool_calls,
            [
                serde_json::json!({"function": {"name": "set_timer", "arguments": {"label": "关火", "seconds": 180}}})
            ]
        );
        assert_eq!(m[4].tool_name.as_deref(), Some("set_timer"));
        assert_eq!(m[4].content, "timer set: 关火, rings at 12:33");
        assert_eq!(m[5].content, "好的，三分钟后提醒你。");
        assert!(Message::from_history(&[]).is_empty());
    }
}
