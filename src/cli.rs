//! The command line: subcommands and global flags (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "voicebox",
    version,
    about = "Push-button voice box daemon: button → mic → STT → Ollama → TTS → speaker"
)]
pub struct Cli {
    /// Config file (default: $VOICEBOX_CONFIG, else /etc/voicebox/voicebox.toml, else built-in defaults)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (what systemd starts)
    Run,
    /// One turn from text: ask Ollama, print the reply and speak it sentence by sentence
    Ask {
        /// The question
        #[arg(allow_hyphen_values = true)]
        text: String,
        /// Print the reply only; do not speak it
        #[arg(long)]
        no_speak: bool,
    },
    /// Speak TEXT through the TTS hook and the speaker
    Say {
        /// What to say (may start with '-')
        #[arg(allow_hyphen_values = true)]
        text: String,
    },
    /// Record, transcribe and print the transcript
    Listen {
        /// Seconds to record (default: until Enter on a terminal, else audio.max_record_s)
        #[arg(long)]
        seconds: Option<f64>,
    },
    /// Check config, server, model, hooks, audio devices and GPIO; non-zero exit if any fails
    Check,
    /// List audio input and output devices
    Devices,
    /// Send a command to a running daemon's control socket
    Ctl {
        /// press, release, tap, cancel or status
        #[arg(value_parser = ["press", "release", "tap", "cancel", "status"])]
        command: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_flag_is_accepted_before_and_after_the_subcommand() {
        for args in [
            &["voicebox", "--config", "/a.toml", "ask", "hi", "--no-speak"][..],
            &["voicebox", "ask", "hi", "--no-speak", "--config", "/a.toml"][..],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("/a.toml")));
            assert!(matches!(cli.command, Command::Ask { no_speak: true, .. }));
        }
    }

    #[test]
    fn ctl_rejects_unknown_commands() {
        assert!(Cli::try_parse_from(["voicebox", "ctl", "explode"]).is_err());
        assert!(Cli::try_parse_from(["voicebox", "ctl", "tap"]).is_ok());
    }
}
