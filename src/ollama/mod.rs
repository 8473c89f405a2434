//! The Ollama client: one blocking request per question, retried with backoff under one
//! deadline, every failure turned into a user-meaningful class with a one-line fix; a streamed
//! reply's text handed on as it arrives; a cancelled question hung up at once.
//!
//! - `client`  the `Client`: request bodies, the retry loop, the reply log line.
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
mod stream;
mod wire;

pub use client::Client;
/// Server text made safe for one log line; the speech servers' messages use it too.
pub use health::Health;

use crate::machine::Exchange;

/// One remembered turn of the conversation, for `/api/chat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// The machine's remembered exchanges as chat messages, oldest first: a user and an
    /// assistant message for each.
    pub fn from_history(history: &[Exchange]) -> Vec<Message> {
        history
            .iter()
            .flat_map(|e| {
                [
                    Message {
                        role: Role::User,
                        content: e.question.clone(),
                    },
                    Message {
                        role: Role::Assistant,
                        content: e.answer.clone(),
                    },
                ]
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
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

    #[test]
    fn history_becomes_alternating_chat_messages() {
        let h = vec![
            Exchange {
                question: "q1".into(),
                answer: "a1".into(),
            },
            Exchange {
                question: "q2".into(),
                answer: "a2".into(),
            },
        ];
        let m = Message::from_history(&h);
        let roles: Vec<Role> = m.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [Role::User, Role::Assistant, Role::User, Role::Assistant]
        );
        assert_eq!(m[3].content, "a2");
        assert!(Message::from_history(&[]).is_empty());
    }
}
