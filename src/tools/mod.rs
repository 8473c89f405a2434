//! The tools the model may call: built-in ones as typed, checked calls, and what runs them.
//!
//! This file is the seam between the tool loop (asking Ollama with `tools`, checking each call,
//! sending results back as `role: "tool"` messages) and the places where the state lives (the
//! daemon's timers and volume, MCP servers). A call exists only once its arguments are checked:
//! ranges, types and lengths are enforced where the model's JSON is read, so an `Executor` never
//! sees `seconds: -5` or a 1 MB label.
//!
//! - `builtin` the built-in tools' definitions (Ollama's `tools` format) and `check`.
//! - `clock`   the time context each question's system prompt carries.
//!
//! The rounds of calls live in `ollama::rounds`; `voicebox ask`'s executor, which hands calls to
//! the daemon through the control socket (`tool {json}` → `ok TEXT` | `error: TEXT`), in
//! `cmd::handed`.

mod builtin;
pub mod clock;
pub mod daemon;

pub use builtin::{MAX_LABEL_CHARS, MAX_TIMER_SECONDS, NAMES, check, definitions};

use crate::event::VolumeChange;

/// A built-in tool call with checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `set_timer` {seconds: 1–86400, label?}
    SetTimer { seconds: u32, label: Option<String> },
    /// `set_alarm` {time: "HH:MM" 24 h local, date?: "YYYY-MM-DD", label?}; a reminder is an
    /// alarm with a label.
    SetAlarm {
        hour: u8,
        minute: u8,
        date: Option<jiff::civil::Date>,
        label: Option<String>,
    },
    /// `list_timers` {}
    ListTimers,
    /// `cancel_timer` {label?, all?}
    CancelTimer { label: Option<String>, all: bool },
    /// `set_volume` {percent?: 0–100, change?: "up" | "down"}
    SetVolume(VolumeChange),
}

/// Runs checked calls where their state lives: in the daemon's loop, or in the daemon reached
/// through its control socket (`voicebox ask`). Two implementations exist (the daemon's and
/// `ask`'s), and tests add fakes, so this is a trait. Called from the blocking Ollama worker
/// thread; an implementation may block briefly (bounded) on the daemon's answer.
///
/// `Ok` and `Err` texts both go back to the model as the tool message; `Err` is an error the
/// model can explain to the user ("too many timers: at most 20").
pub trait Executor: Send + Sync {
    /// `lang` is the question's language code ("zh", "en"...): a timer rings in the language it
    /// was set in.
    fn run(&self, call: Call, lang: &str) -> Result<String, String>;

    /// Tools offered beyond the built-in ones (MCP servers'), each in Ollama's `tools` shape
    /// (`{"type": "function", "function": {"name", "description", "parameters"}}`).
    fn extra_tools(&self) -> Vec<serde_json::Value> {
        Vec::new()
    }

    /// Runs a call to a tool that is not built in; `None` when nobody offers `name`.
    fn run_extra(
        &self,
        name: &str,
        arguments: &serde_json::Value,
    ) -> Option<Result<String, String>> {
        let _ = (name, arguments);
        None
    }
}
