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
//! - `app`      the one `select!` loop: events → machine → actions → device handles.
//! - `shutdown` SIGTERM/SIGINT → one cancellation token; SIGHUP → reload.
//! - `systemd`  sd_notify: READY, STATUS, WATCHDOG, STOPPING.
//! - `hook`     runs TTS/STT helpers from argv arrays, with timeouts and process-group kills.
//! - `ollama`   the blocking Ollama client: retries, backoff, error classes (ureq; the other
//!   ureq user is `speech::stt_http`, the optional HTTP transcription endpoint).
//! - `speech`   text cleanup, sentence splitting, the TTS and STT hooks, the speaking pipeline.
//! - `audio`    `Clip`, WAV, resampling, energy (speech detection), earcons, and the capture
//!   (cpal) and playback (rodio) actors.
//! - `button`   the GPIO button and LED (the only rppal user).
//! - `gpio_cdev` the same on the kernel's GPIO character device, `button.chip` (the only
//!   gpiocdev user).
//! - `control`  the control socket (`voicebox ctl`).
//! - `cmd`      one file per subcommand.
//! - (tests only) `fuzz`, the stable mutation fuzzer over every parser outside bytes reach, and
//!   `testing`, helpers for tests that re-run their own binary.

pub mod app;
pub mod audio;
pub mod button;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod control;
pub mod event;
#[cfg(test)]
mod fuzz;
pub mod gpio_cdev;
pub mod hook;
pub mod logging;
pub mod machine;
pub mod ollama;
pub mod shutdown;
pub mod speech;
pub mod systemd;
#[cfg(test)]
mod testing;
