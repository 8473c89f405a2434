//! The Wyoming protocol client (`stt.url` / `tts.url` = `tcp://host:port`): the servers of the
//! Home Assistant voice ecosystem (wyoming-faster-whisper, wyoming-piper, …).
//!
//! - `codec` the wire format: a JSON header line, a data section, a payload.
//! - `conn`  one TCP connection: connect and overall timeouts, hang-up on cancel.
//! - `stt`   `transcribe`, `audio-start`, chunks while the user speaks, `audio-stop` → transcript.
//! - `tts`   one `synthesize` per sentence → `audio-start`, chunks, `audio-stop`.
//! - `info`  `describe` → `info`, for `voicebox check`.
//!
//! Wyoming has no authentication and no encryption: it is for servers on the LAN.

pub mod codec;
mod conn;
pub mod info;
pub mod stt;
#[cfg(test)]
mod tests;
pub mod tts;

pub use conn::Error;
