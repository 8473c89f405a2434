//! Logging setup: journald under systemd, human-readable stderr otherwise; `RUST_LOG` filters both.

use std::io::IsTerminal;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. Safe to call once per process. Returns whether logs go to
/// the journal (then stderr is not the user's terminal).
///
/// `RUST_LOG` takes `target=level` lists (`info,voicebox::ollama=debug`); `Targets` parses that
/// without pulling a regex engine into a binary that must stay small.
pub fn init() -> bool {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));

    // systemd sets JOURNAL_STREAM for services whose stdout/stderr go to the journal.
    let journald = std::env::var_os("JOURNAL_STREAM")
        .and_then(|_| tracing_journald::layer().ok())
        .map(|l| {
            l.with_field_prefix(None)
                .with_syslog_identifier("voicebox".to_string())
        });
    let to_journal = journald.is_some();
    let stderr = journald.is_none().then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            // Colour codes only for a person at a terminal: piped logs must read
            // `response_chars=12`, not escape sequences around it.
            .with_ansi(std::io::stderr().is_terminal())
    });
    let _ = tracing_subscriber::registry()
        .with(journald.with_filter(filter.clone()))
        .with(stderr.with_filter(filter))
        .try_init();

    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "voicebox panicked; this is a bug, please report it");
    }));
    to_journal
}
