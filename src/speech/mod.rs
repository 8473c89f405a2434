//! Speech: text for the ear (whole or arriving in pieces), speech to text and text to speech
//! (hooks, or Wyoming and OpenAI-compatible servers), and the sentence-wise speaking pipeline.

pub mod arriving;
pub mod cleanup;
pub mod live;
mod openai_tts;
pub mod pipeline;
pub mod sentences;
pub mod stt;
mod stt_http;
mod synth;
pub mod tts;
pub mod wyoming;
