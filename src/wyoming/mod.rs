//! The Wyoming protocol client (`stt.url` / `tts.url` = `tcp://host:port`): the servers of the
//! Home Assistant voice ecosystem (wyoming-faster-whisper, wyoming-piper, …).
//!
//! What both directions share lives here; each direction's exchange lives with it:
//!
//! - `codec` the wire format: a JSON header line, a data section, a payload.
//! - `conn`  one TCP connection: connect and overall timeouts, hang-up on cancel.
//! - `info`  `describe` → `info`, for `voicebox check`.
//! - `crate::stt::wyoming` `transcribe`, `audio-start`, chunks while the user speaks,
//!   `audio-stop` → transcript.
//! - `crate::tts::wyoming` one `synthesize` per sentence → `audio-start`, chunks, `audio-stop`.
//!
//! Wyoming has no authentication and no encryption: it is for servers on the LAN.

pub mod codec;
pub(crate) mod conn;
pub mod info;
#[cfg(test)]
mod tests;

pub use conn::Error;
