//! Speech: text for the ear (cleanup, sentences, each sentence's language and voice), speech
//! to text and text to speech (hooks, or Wyoming and OpenAI-compatible servers), and the
//! sentence-wise speaking pipeline, also for a reply that is still arriving.

pub mod cleanup;
pub mod lang;
pub mod live;
mod openai_tts;
pub mod pipeline;
pub mod runs;
pub mod sentences;
pub mod stt;
mod stt_http;
mod synth;
pub mod tts;
pub mod voice;
pub mod wyoming;
