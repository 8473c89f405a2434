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
