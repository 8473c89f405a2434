//! Composition root: parse the command line, set up logging, load the config, run a command.

use std::process::ExitCode;

use voicebox::cli::Cli;
use voicebox::config::{self, ConfigError};

fn main() -> ExitCode {
    let cli = Cli::from_env();
    let to_journal = voicebox::logging::init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<ConfigError>() {
                // Always on stderr too: systemd shows it in `systemctl status` and the journal.
                eprintln!("voicebox: config error: {ce}");
                if to_journal {
                    tracing::error!(file = %ce.file, line = ce.line, key = %ce.key, "config error: {}", ce.message);
                }
                return ExitCode::from(config::EXIT_CONFIG);
            }
            // One line, the whole cause chain: this is what the user reads. It may quote a hook
            // or a server, so control characters are removed (escaped in the log).
            let text = format!("{e:#}");
            eprintln!("voicebox: {}", voicebox::printable::one_line(&text));
            if to_journal {
                tracing::error!("{}", voicebox::printable::escaped(&text));
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let source = config::choose_source(cli.config.as_deref(), &env);
    let config = config::load(&source)?;
    voicebox::cmd::dispatch(cli.command, config, source.path().to_path_buf())
}
