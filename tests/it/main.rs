//! The integration and end-to-end tests: one test binary (one link step) with a module per
//! subject, as ripgrep's `tests/` does. Each module runs the real binary or library against real
//! components (the ALSA file plugin, espeak-ng, pocketsphinx, nginx, journald, the official
//! Wyoming package); `support` is what they share. Run one subject with its module path, e.g.
//! `cargo test --test it fuzz:: -- --nocapture`.

#[path = "../support/mod.rs"]
mod support;

mod alsa_messages;
mod ask_cli;
mod capture;
mod config_anywhere;
mod control;
mod daemon_lifecycle;
mod daemon_streaming;
mod daemon_turns;
mod everyday;
mod fuzz;
mod hostile_hooks;
mod hostile_servers;
mod journald_logging;
mod listen;
mod mcp_servers;
mod messages;
mod nginx_proxy;
mod ollama_client;
mod ollama_latency;
mod remote_speech;
mod remote_turns;
mod slow_peers;
mod soak;
mod socket_owner;
mod speaker_stop;
mod speech_languages;
mod speech_out;
mod speech_text;
mod state_file;
mod systemd_unit;
mod timers;
mod tool_calls;
mod wyoming_codec;
