//! The command line: subcommands and global flags (clap derive).

use std::ffi::OsString;
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

impl Cli {
    /// The command line of this process; exits with clap's message and status on an error, as
    /// `Parser::parse` does.
    pub fn from_env() -> Cli {
        Cli::try_parse_anywhere(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the program name first) with `--config` found anywhere (see
    /// `hoist_config`).
    pub fn try_parse_anywhere<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args = hoist_config(args.into_iter().map(Into::into)).map_err(|()| {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            cmd.error(
                clap::error::ErrorKind::InvalidValue,
                "a value is required for '--config <PATH>' but none was supplied",
            )
        })?;
        Cli::try_parse_from(args)
    }
}

/// `args` with the `--config PATH` / `--config=PATH` found before a `--` moved to the front, right
/// after the program name (the last one given wins). clap takes a global flag after the subcommand too, but not inside a
/// text that takes every remaining word (`ctl say Dinner is ready. --config PATH` would announce
/// "--config PATH" and talk to the default socket). A text that is itself `--config` goes after
/// `--`. A `--config` without a value is an error.
fn hoist_config(args: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>, ()> {
    let mut args = args.into_iter();
    let mut front: Vec<OsString> = args.next().into_iter().collect();
    // The last one given wins, as for any repeated option here.
    let mut config: Vec<OsString> = Vec::new();
    let mut rest = Vec::new();
    let mut ended = false;
    while let Some(arg) = args.next() {
        if ended {
            rest.push(arg);
        } else if arg == "--" {
            ended = true;
            rest.push(arg);
        } else if arg == "--config" {
            match args.next() {
                Some(value) => config = vec![arg, value],
                None => return Err(()),
            }
        } else if arg.as_encoded_bytes().starts_with(b"--config=") {
            config = vec![arg];
        } else {
            rest.push(arg);
        }
    }
    front.extend(config);
    front.extend(rest);
    Ok(front)
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
    /// Print the pending timers and alarms as JSON (label, due time, seconds left)
    Timers,
    /// Run a tool call as the model would, e.g.
    /// '{"name":"set_timer","arguments":{"seconds":180,"label":"关火"},"lang":"zh"}'
    Tool {
        /// The call as one JSON object: name, arguments, lang
        json: String,
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
            Self::Timers => "timers".into(),
            // JSON strings cannot hold a raw newline; outside them it is only spacing.
            Self::Tool { json } => format!("tool {}", json.replace(['\n', '\r'], " ")),
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
    fn config_flag_is_found_anywhere_even_after_a_text_of_many_words() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_anywhere(["voicebox"].iter().chain(args)).unwrap();
            let text = match &cli.command {
                Command::Ctl { command } => command.line(),
                Command::Say { text } | Command::Ask { text, .. } => text.clone(),
                other => format!("{other:?}"),
            };
            (cli.config.map(|p| p.display().to_string()), text)
        };
        let a = Some("/a.toml".to_string());
        for (args, want) in [
            (
                &["ctl", "say", "Dinner is ready.", "--config", "/a.toml"][..],
                (a.clone(), "say Dinner is ready."),
            ),
            (
                &["ctl", "say", "Dinner", "--config=/a.toml", "is", "ready."][..],
                (a.clone(), "say Dinner is ready."),
            ),
            (
                &["ctl", "--config", "/a.toml", "say", "-5", "degrees"][..],
                (a.clone(), "say -5 degrees"),
            ),
            (
                &["say", "Hello.", "--config", "/a.toml"][..],
                (a.clone(), "Hello."),
            ),
            (
                &["--config", "/b.toml", "ask", "Hi", "--config", "/a.toml"][..],
                (a.clone(), "Hi"),
            ),
            // `--` ends the options: a text may be `--config` itself.
            (
                &["ctl", "--config", "/a.toml", "say", "--", "--config", "x"][..],
                (a.clone(), "say --config x"),
            ),
            (
                &["ctl", "say", "--", "-v", "--config", "/a.toml"][..],
                (None, "say -v --config /a.toml"),
            ),
            (&["say", "--", "--config"][..], (None, "--config")),
        ] {
            let (config, text) = parse(args);
            assert_eq!((config, text.as_str()), (want.0, want.1), "{args:?}");
        }
        // A flag without its value is still clap's error, not a text.
        assert!(Cli::try_parse_anywhere(["voicebox", "ctl", "say", "Hi", "--config"]).is_err());
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
            (&["timers"][..], "timers"),
            (
                &["tool", "{\"name\":\n\"list_timers\"}"][..],
                "tool {\"name\": \"list_timers\"}",
            ),
        ] {
            let cli = Cli::try_parse_from(["voicebox", "ctl"].iter().chain(args)).unwrap();
            let Command::Ctl { command } = cli.command else {
                panic!("{args:?}")
            };
            assert_eq!(command.line(), want);
        }
    }
}
