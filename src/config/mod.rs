//! Configuration: TOML text → validated `Config`, with errors that point at file, line and key.
//!
//! `config/voicebox.toml` is compiled in and is the one source of truth for defaults: a key the
//! user leaves out takes its value from that file. `load` does the IO; `parse` is pure.
//!
//! Each key is spelled once, in `keys.rs`: one line with its field, its type and its rule.
//! Adding a key is that line plus its commented default in `config/voicebox.toml`; say
//! `conversation.follow_up_s`:
//!
//! ```text
//! // keys.rs, in `pub struct Conversation from "conversation" via RawConversation { … }`
//! #[key = "follow_up_s"] follow_up: Duration = Secs(0.0, 60.0),
//!
//! # config/voicebox.toml, under [conversation]
//! # When a reply ends with a question, the box listens again for up to this many seconds.
//! follow_up_s = 5
//! ```
//! That gives `config.conversation.follow_up`, refuses `follow_up_s = 90` with
//! `…/voicebox.toml:3:15: conversation.follow_up_s: 90 is out of range; write seconds from 0 to
//! 60`, and the tests walk the new key like every other: its default is present, its range
//! errors are located. `#[key]` is needed only when the TOML name is not the field's. A key with
//! no default wraps its rule in `Optional(…)`; a new kind of value is a new rule in `rules.rs`.
//!
//! Layout: `keys.rs` every key; `section.rs` the macro that turns a key line into a field, a
//! serde field and a check; `rules.rs` the checks and their messages; `locate.rs` file, line,
//! column and key of an error; `host.rs` Ollama URLs and `$OLLAMA_HOST`; `messages.rs` the
//! `[messages]` tables, one per language; `language.rs` the rules of the language keys.

#[macro_use]
mod section;
mod host;
mod keys;
mod language;
mod locate;
mod mcp;
mod messages;
mod rules;

use std::path::{Path, PathBuf};

pub use host::DEFAULT_URL;
pub use keys::{
    Audio, Button, ButtonMode, Control, Conversation, Endpoint, Ollama, SampleFormat, SpeechFormat,
    SpeechServer, Stt, Tools, Tts, TtsFormat,
};
use locate::Place;
pub use messages::{KEYS as MESSAGE_KEYS, Messages};
use section::Reader;

/// The embedded default configuration (also the documented example).
pub const DEFAULT_TOML: &str = include_str!("../../config/voicebox.toml");
/// Where the daemon looks when neither `--config` nor `$VOICEBOX_CONFIG` is given.
pub const DEFAULT_PATH: &str = "/etc/voicebox/voicebox.toml";
/// sysexits.h EX_CONFIG: systemd's `RestartPreventExitStatus=78` stops a restart loop on it.
pub const EXIT_CONFIG: u8 = 78;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub ollama: Ollama,
    pub conversation: Conversation,
    pub tools: Tools,
    pub tts: Tts,
    pub stt: Stt,
    pub audio: Audio,
    pub button: Button,
    pub control: Control,
    pub messages: Messages,
    /// The file it came from; `None` for the embedded defaults.
    pub source: Option<PathBuf>,
}

/// A config problem, located in the file. `main` maps it to exit code 78.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {key}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Dotted key, e.g. `ollama.attempts`; the section or `(file)` when no key applies.
    pub key: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

/// Which file to read, and so what its absence means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Named by `--config` or `$VOICEBOX_CONFIG`: a missing file is an error.
    Explicit(PathBuf),
    /// Nothing named: a missing file means the embedded defaults.
    Default(PathBuf),
}

impl Source {
    pub fn path(&self) -> &Path {
        match self {
            Source::Explicit(p) | Source::Default(p) => p,
        }
    }
}

/// `--config`, else `$VOICEBOX_CONFIG`, else the default path.
pub fn choose_source(cli: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Source {
    if let Some(p) = cli {
        return Source::Explicit(p.to_path_buf());
    }
    match env("VOICEBOX_CONFIG").filter(|v| !v.is_empty()) {
        Some(p) => Source::Explicit(PathBuf::from(p)),
        None => Source::Default(PathBuf::from(DEFAULT_PATH)),
    }
}

/// Reads and validates the config.
pub fn load(source: &Source) -> Result<Config, ConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    let path = source.path();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, Some(path), &env),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && matches!(source, Source::Default(_)) =>
        {
            parse(DEFAULT_TOML, None, &env)
        }
        Err(e) => Err(ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            key: "(file)".into(),
            message: format!(
                "cannot read it ({e}); pass an existing file with --config, or remove --config and $VOICEBOX_CONFIG to use the defaults"
            ),
        }),
    }
}

/// Parses config text; `env` supplies `OLLAMA_HOST`, `OLLAMA_API_KEY` and the runtime dirs.
pub fn parse(
    text: &str,
    source: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let file = source.map_or_else(
        || "<embedded defaults>".to_string(),
        |p| p.display().to_string(),
    );
    let place = Place { file: &file, text };
    let user: Raw = toml::from_str(text).map_err(|e| place.syntax(&e))?;
    let reader = Reader::new(place, env);
    let mut config = build(&reader, user, defaults()?)?;
    config.source = source.map(Path::to_path_buf);
    Ok(config)
}

/// The embedded defaults as serde reads them (a test keeps them valid).
fn defaults() -> Result<Raw, ConfigError> {
    let place = Place {
        file: "<embedded defaults>",
        text: DEFAULT_TOML,
    };
    toml::from_str(DEFAULT_TOML).map_err(|e| place.syntax(&e))
}

/// The file's tables as serde reads them; every table optional, unknown tables refused.
#[derive(Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    ollama: keys::RawOllama,
    conversation: keys::RawConversation,
    tools: keys::RawTools,
    tts: keys::RawTts,
    stt: keys::RawStt,
    audio: keys::RawAudio,
    button: keys::RawButton,
    control: keys::RawControl,
    messages: messages::RawMessages,
}

fn build(reader: &Reader, user: Raw, default: Raw) -> Result<Config, ConfigError> {
    Ok(Config {
        ollama: Ollama::build(reader, user.ollama, default.ollama)?,
        conversation: Conversation::build(reader, user.conversation, default.conversation)?,
        tools: Tools::build(reader, user.tools, default.tools)?,
        tts: Tts::build(reader, user.tts, default.tts)?,
        stt: Stt::build(reader, user.stt, default.stt)?,
        audio: Audio::build(reader, user.audio, default.audio)?,
        button: Button::build(reader, user.button, default.button)?,
        control: Control::build(reader, user.control, default.control)?,
        messages: Messages::build(reader, user.messages, default.messages)?,
        source: None,
    })
}

#[cfg(test)]
mod tests;
