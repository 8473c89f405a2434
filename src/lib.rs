//! voicebox: a push-button voice box daemon for Raspberry Pi class boards.
//!
//! # Layout
//!
//! The pure core decides, actors do the IO, `main` wires them together (see `shared/design.md`).
//!
//! - `config`   TOML → validated `Config`; `config/voicebox.toml` is compiled in as the defaults.
//! - `cli`      the command line (clap).
//! - `logging`  journald under systemd, stderr otherwise.
//! - `event`    the one closed `Event` enum and the plain data it carries.
//! - `machine`  the pure state machine: `(Event, now) -> Vec<Action>`; every product decision.
//! - `app`      the one `select!` loop: events → machine → actions → the device traits
//!   (`app::Devices`); `cmd/run.rs` builds the real devices, the loop's tests fakes.
//! - `cancel`   the cancel token of blocking work (hooks, Ollama requests, speech).
//! - `shutdown` SIGTERM/SIGINT → one cancellation token; SIGHUP → reload.
//! - `systemd`  sd_notify: READY, STATUS, WATCHDOG, STOPPING.
//! - `hook`     runs TTS/STT helpers from argv arrays, with timeouts and process-group kills.
//! - `ollama`   the blocking Ollama client: retries, backoff, error classes (ureq; the other
//!   ureq users are `stt::http` and `tts::http`, the OpenAI-compatible servers).
//! - `text`     pure text work: cleanup, sentence splitting (streaming: `sentences::Splitter`),
//!   each sentence's language (`lang`), whether a reply ends with a question (`question`).
//! - `stt`      speech to text: the hook, an OpenAI-compatible server (`http`), a Wyoming
//!   server (`wyoming`), and the live transcription that hears a recording while it is made.
//! - `tts`      text to speech: the hook, an OpenAI-compatible server (`http`), a Wyoming
//!   server (`wyoming`), and the voice for each sentence's language (`voice`).
//! - `speaker`  the speaking pipeline: a reply, whole or arriving, sentence by sentence through
//!   TTS a bounded lookahead ahead of playback.
//! - `wyoming`  what both directions share of the Wyoming protocol: codec, connection, `info`.
//! - `audio`    `Clip`, WAV, resampling, energy (speech detection), earcons, the volume curve,
//!   finding devices by name (`devices`, which also keeps alsa-lib's messages off stderr), and
//!   the capture (cpal) and playback (rodio) actors.
//! - `button`   the GPIO button, volume buttons and LED: `button::rppal` on a Raspberry Pi (the
//!   only rppal user), `button::cdev` on the kernel's GPIO character device, `button.chip` (the
//!   only gpiocdev user).
//! - `control`  the control socket (`voicebox ctl`).
//! - `url`      URLs with credentials kept apart: sent as HTTP Basic, shown as `user:***@`.
//! - `printable` outside text made safe for the terminal and the log (control characters).
//! - `state`    what is kept across restarts (the volume), in the state directory.
//! - `tools`    the tools the model may call: their definitions, `check` (a model's call → a
//!   typed `Call` or the error it is told), the `Executor` that runs calls, and `clock`, the
//!   time context of each question's prompt.
//! - `cmd`      one file per subcommand.
//! - (tests only) `testing`, helpers for tests that re-run their own binary. The stable
//!   mutation fuzzer over every parser outside bytes reach is `tests/it/fuzz.rs`; the
//!   integration tests are one binary, `tests/it`, a module per subject.

pub mod app;
pub mod audio;
pub mod button;
pub mod cancel;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod event;
pub mod hook;
pub mod http;
pub mod logging;
pub mod machine;
pub mod ollama;
pub mod printable;
pub mod shutdown;
pub mod speaker;
pub mod state;
pub mod stt;
pub mod systemd;
#[cfg(test)]
mod testing;
pub mod text;
pub mod tools;
pub mod tts;
pub mod url;
pub mod wyoming;
