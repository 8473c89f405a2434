//! Speech: text for the ear, the TTS and STT hooks, and the sentence-wise speaking pipeline.

pub mod cleanup;
pub mod lang;
pub mod pipeline;
pub mod sentences;
pub mod stt;
mod stt_http;
pub mod tts;
pub mod voice;
