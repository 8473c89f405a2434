//! The Ollama client: one blocking request per question, retried with backoff under one
//! deadline, every failure turned into a user-meaningful class with a one-line fix.
//!
//! - `client`  the `Client`: requests, the retry loop, the reply log line.
//! - `health`  `voicebox check`: is the server reachable, is the model there.
//! - `wire`    JSON request and (lenient) reply shapes.
//! - `error`   classification of one failed attempt → retry or not, and the message.
//! - `backoff` the pure retry schedule.
//! - `stream`  the NDJSON reader for `ollama.stream = true`.
//!
//! This is the only module that uses ureq.

mod backoff;
mod client;
mod error;
mod health;
mod stream;
mod wire;

pub use client::Client;
pub use health::Health;

/// One remembered turn of the conversation, for `/api/chat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// Entry points for `tests/fuzz.rs` (not an API): the reply parsers are private to this
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
        let _ = stream::read(body, cap, |e| error::Problem::Dropped(e.to_string()));
    }
}
