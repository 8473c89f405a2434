//! Speech: text for the ear (whole or arriving in pieces), the TTS and STT hooks, and the
//! sentence-wise speaking pipeline.

pub mod arriving;
pub mod cleanup;
pub mod pipeline;
pub mod sentences;
pub mod stt;
mod stt_http;
mod synth;
pub mod tts;
