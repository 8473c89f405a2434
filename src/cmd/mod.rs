//! One file per subcommand; `dispatch` picks one.

mod ask;
mod check;
mod ctl;
mod devices;
mod handed;
mod listen;
mod run;
mod say;

use std::path::PathBuf;

use crate::cli::Command;
use crate::config::Config;

/// The daemon's real devices for a config (`benches/whole_turn/main.rs` drives the loop with them).
pub use run::devices;

/// Runs a subcommand. `config_path` is kept so the daemon can re-read it on SIGHUP.
pub fn dispatch(command: Command, config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    match command {
        Command::Run => run::run(config, config_path),
        Command::Ask { text, no_speak } => ask::ask(&config, &text, !no_speak),
        Command::Say { text } => say::say(&config, &text),
        Command::Listen { seconds } => listen::listen(&config, seconds),
        Command::Check => check::check(&config),
        Command::Devices => devices::devices(&config),
        Command::Ctl { command } => ctl::ctl(&config, &command.line()),
    }
}
