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
    /// Speak TEXT through TTS (hook or server) and the speaker
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
    /// Check config, Ollama, model, speech hooks or servers, audio devices and GPIO; non-zero exit if any fails
    Check,
    /// List audio input and output devices
    Devices,
    /// Send a command to a running daemon's control socket
    Ctl {
        #[command(subcommand)]
        command: CtlCommand,
    },
}

/// What `voicebox ctl` sends: one control-socket line each.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum CtlCommand {
    /// Press the button (and hold it until `release`)
    Press,
    /// Release the button
    Release,
    /// Press and release: start or stop listening in either button mode
    Tap,
    /// Stop whatever the box is doing, quietly
    Cancel,
    /// Print the daemon's state as one JSON line
    Status,
    /// Set the volume: a percent from 0 to 100, or `up` / `down` one step (kept across restarts)
    Volume {
        /// 0..100, up or down
        level: String,
    },
    /// Speak TEXT when the box is idle (while a question is under way, once it has ended)
    Say {
        /// What to say (several words are joined with spaces; may start with '-')
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        text: Vec<String>,
    },
}

impl CtlCommand {
    /// The control-socket line, without its newline (a multi-line text becomes one line).
    pub fn line(&self) -> String {
        match self {
            Self::Press => "press".into(),
            Self::Release => "release".into(),
            Self::Tap => "tap".into(),
            Self::Cancel => "cancel".into(),
            Self::Status => "status".into(),
            Self::Volume { level } => format!("volume {level}"),
            Self::Say { text } => format!("say {}", text.join(" ").replace(['\n', '\r'], " ")),
        }
    }
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
        assert!(
            Cli::try_parse_from(["voicebox", "ctl", "say"]).is_err(),
            "say needs text"
        );
    }

    #[test]
    fn ctl_commands_become_one_line() {
        for (args, want) in [
            (&["tap"][..], "tap"),
            (&["volume", "40"][..], "volume 40"),
            (&["volume", "up"][..], "volume up"),
            (&["say", "Dinner is ready."][..], "say Dinner is ready."),
            (
                &["say", "-5", "degrees", "outside"][..],
                "say -5 degrees outside",
            ),
            (&["say", "Two\nlines"][..], "say Two lines"),
        ] {
            let cli = Cli::try_parse_from(["voicebox", "ctl"].iter().chain(args)).unwrap();
            let Command::Ctl { command } = cli.command else {
                panic!("{args:?}")
            };
            assert_eq!(command.line(), want);
        }
    }
}
