//! The JSON Ollama speaks: request bodies we send and lenient shapes of what comes back.
//!
//! Replies are deserialized leniently: every field optional, unknown fields ignored, because
//! servers add fields and leave zero metrics out (`omitempty`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Message, Role};

/// `keep_alive` as Ollama wants it: a bare number means seconds, anything else is a Go duration
/// string (`"30m"`). A unit-less string such as `"300"` would be a 400 on the server.
pub fn keep_alive(text: &str) -> Value {
    match text.trim().parse::<i64>() {
        Ok(n) => Value::from(n),
        Err(_) => Value::from(text.trim()),
    }
}

/// The fields every request carries, whichever endpoint.
#[derive(Debug, Serialize)]
pub struct Common<'a> {
    pub model: &'a str,
    pub stream: bool,
    pub think: bool,
    pub keep_alive: Value,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub options: &'a Map<String, Value>,
}

impl<'a> Common<'a> {
    pub fn new(cfg: &'a crate::config::Ollama, stream: bool) -> Self {
        Self {
            model: &cfg.model,
            stream,
            think: cfg.think,
            keep_alive: keep_alive(&cfg.keep_alive),
            options: &cfg.options,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct GenerateRequest<'a> {
    #[serde(flatten)]
    pub common: Common<'a>,
    pub prompt: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub system: &'a str,
}

#[derive(Debug, Serialize)]
pub struct ChatRequest<'a> {
    #[serde(flatten)]
    pub common: Common<'a>,
    pub messages: &'a [ChatMessage],
    /// The tools offered, in Ollama's `tools` format; absent when none are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<&'a [Value]>,
}

/// One message of a chat request: the system prompt, a question, an answer (with the tool
/// calls it made, as the server sent them), or a tool's result (`tool_name`, and the call's
/// `tool_call_id` when the server gave one).
#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn new(role: &'static str, content: &str) -> Self {
        Self {
            role,
            content: content.to_string(),
            tool_calls: Vec::new(),
            tool_name: None,
            tool_call_id: None,
        }
    }

    pub fn from_history(m: &Message) -> Self {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        };
        Self {
            tool_calls: m.tool_calls.clone(),
            tool_name: m.tool_name.clone(),
            ..Self::new(role, &m.content)
        }
    }
}

/// One reply object: a whole non-streaming body, or one NDJSON line. Covers both endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Reply {
    pub model: Option<String>,
    /// `/api/generate` text.
    pub response: Option<String>,
    /// `/api/chat` text lives in `message.content`.
    pub message: Option<ReplyMessage>,
    /// The reasoning trace; read only so tests can prove it is never spoken.
    pub thinking: Option<String>,
    pub done: Option<bool>,
    pub done_reason: Option<String>,
    /// A mid-stream failure line (`{"error":"..."}`) or an error body.
    pub error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReplyMessage {
    pub content: Option<String>,
    pub thinking: Option<String>,
    /// Calls the model made, each as the server sent it (`function.name`, `function.arguments`,
    /// and on newer servers `id` and `function.index`); read by `ToolCall::read`.
    pub tool_calls: Option<Vec<Value>>,
}

impl Reply {
    /// The words to speak: `response` or `message.content`, never `thinking`.
    pub fn text(&self) -> &str {
        self.response
            .as_deref()
            .or_else(|| self.message.as_ref().and_then(|m| m.content.as_deref()))
            .unwrap_or("")
    }

    /// The tool calls of a chat reply (none for `/api/generate`).
    pub fn tool_calls(&mut self) -> Vec<Value> {
        self.message
            .as_mut()
            .and_then(|m| m.tool_calls.take())
            .unwrap_or_default()
    }

    /// A body counts as an answer only if it has text or says it is done; `{}` or another
    /// JSON document that happens to parse is a bad reply.
    pub fn looks_like_answer(&self) -> bool {
        self.response.is_some() || self.message.is_some() || self.done == Some(true)
    }
}

/// `{"error": "..."}`, the body of every Ollama error status.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug, Deserialize)]
pub struct Version {
    pub version: String,
}

/// `GET /api/tags`. Old servers send `"models": null` for an empty list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Tags {
    pub models: Option<Vec<TagModel>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TagModel {
    pub name: String,
    pub model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let dir = std::env::var("VOICEBOX_FIXTURES").unwrap_or_else(|_| {
            let beside = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/ollama");
            if std::path::Path::new(beside).is_dir() {
                beside.to_string()
            } else {
                "/work/shared/fixtures/ollama".to_string()
            }
        });
        std::fs::read_to_string(format!("{dir}/{name}")).unwrap()
    }

    #[test]
    fn fixtures_parse_to_the_spoken_text() {
        let cases = [
            (
                "generate-nonstream-ok.json",
                "The sky is blue because it is the color of the sky.",
                Some("stop"),
            ),
            (
                "chat-nonstream-ok.json",
                "Hello! How are you today?",
                Some("stop"),
            ),
        ];
        for (file, text, reason) in cases {
            let r: Reply = serde_json::from_str(&fixture(file)).unwrap();
            assert_eq!(r.text(), text, "{file}");
            assert_eq!(r.done_reason.as_deref(), reason, "{file}");
            assert!(r.looks_like_answer());
        }
    }

    #[test]
    fn thinking_is_never_the_text() {
        let r: Reply = serde_json::from_str(
            r#"{"response":"Four.","thinking":"2+2 is 4, say it short","done":true}"#,
        )
        .unwrap();
        assert_eq!(r.text(), "Four.");
        let c: Reply = serde_json::from_str(
            r#"{"message":{"role":"assistant","content":"Hi","thinking":"greet","images":null},"done":true}"#,
        )
        .unwrap();
        assert_eq!(c.text(), "Hi");
    }

    #[test]
    fn other_json_is_not_an_answer() {
        for body in ["{}", r#"{"version":"0.5.1"}"#, "[]"] {
            let ok = serde_json::from_str::<Reply>(body).is_ok_and(|r| r.looks_like_answer());
            assert!(!ok, "{body}");
        }
    }

    #[test]
    fn tags_accept_lists_empty_and_null() {
        let t: Tags = serde_json::from_str(&fixture("tags-ok.json")).unwrap();
        assert!(!t.models.unwrap().is_empty());
        let e: Tags = serde_json::from_str(&fixture("tags-empty.json")).unwrap();
        assert_eq!(e.models.map(|m| m.len()), Some(0));
        let n: Tags = serde_json::from_str(r#"{"models":null}"#).unwrap();
        assert!(n.models.is_none());
    }

    #[test]
    fn keep_alive_numbers_become_numbers() {
        assert_eq!(keep_alive("30m"), Value::from("30m"));
        assert_eq!(keep_alive("300"), Value::from(300));
        assert_eq!(keep_alive("-1"), Value::from(-1));
    }

    #[test]
    fn generate_request_shape() {
        let options = Map::new();
        let body = serde_json::to_value(GenerateRequest {
            common: Common {
                model: "m",
                stream: false,
                think: false,
                keep_alive: keep_alive("30m"),
                options: &options,
            },
            prompt: "hi",
            system: "",
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model":"m","prompt":"hi","stream":false,"think":false,"keep_alive":"30m"})
        );
    }
}
