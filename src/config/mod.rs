//! Configuration: TOML text → validated `Config`, with errors that point at file, line and key.
//!
//! `config/voicebox.toml` is compiled in and is the one source of truth for defaults: a key the
//! user leaves out takes its value from that file. `load` does the IO; `parse` is pure.

mod host;
mod raw;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use host::DEFAULT_URL;
use raw::{F, Raw};

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
    pub tts: Tts,
    pub stt: Stt,
    pub audio: Audio,
    pub button: Button,
    pub control: Control,
    pub messages: Messages,
    /// The file it came from; `None` for the embedded defaults.
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Generate,
    Chat,
}

#[derive(Clone, PartialEq)]
pub struct Ollama {
    /// Base URL without a trailing slash, e.g. `http://pi:11434` or `https://host/ollama`.
    pub url: String,
    pub model: String,
    pub endpoint: Endpoint,
    pub attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub deadline: Duration,
    pub stream: bool,
    pub think: bool,
    pub keep_alive: String,
    pub system_prompt: String,
    pub max_reply_bytes: usize,
    /// Secret: `Ollama`'s Debug impl redacts it, and nothing may log it.
    pub api_key: Option<String>,
    pub use_env_proxy: bool,
    pub warm_up: bool,
    /// The `options` object sent with each request, as JSON.
    pub options: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for Ollama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ollama")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("endpoint", &self.endpoint)
            .field("attempts", &self.attempts)
            .field("stream", &self.stream)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub turns: usize,
    pub max_chars: usize,
    pub idle_forget: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    S16Le,
    F32Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtsFormat {
    Wav,
    Raw {
        rate: u32,
        channels: u16,
        format: SampleFormat,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tts {
    pub command: Vec<String>,
    pub format: TtsFormat,
    pub timeout: Duration,
    pub lookahead: usize,
    pub max_sentence_chars: usize,
    pub min_sentence_chars: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stt {
    pub command: Vec<String>,
    pub url: Option<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub input_device: String,
    pub output_device: String,
    pub buffer_frames: u32,
    pub max_record: Duration,
    pub min_record: Duration,
    pub post_roll: Duration,
    pub speech_threshold: f32,
    pub end_silence: Duration,
    pub volume: f32,
    pub sentence_pause: Duration,
    pub linger: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonMode {
    Hold,
    Toggle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    /// The GPIO character device (`/dev/gpiochipN`) for boards other than a Raspberry Pi; `gpio`
    /// and `led_gpio` are then line offsets on it. `None`: rppal on a Raspberry Pi.
    pub chip: Option<PathBuf>,
    pub gpio: Option<u8>,
    pub active_low: bool,
    pub pull_up: bool,
    pub debounce: Duration,
    pub mode: ButtonMode,
    pub min_press: Duration,
    pub long_press: Duration,
    pub led_gpio: Option<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    pub socket: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Messages {
    pub unreachable: String,
    pub proxy_error: String,
    pub too_slow: String,
    pub model_missing: String,
    pub rejected: String,
    pub unauthorized: String,
    pub bad_reply: String,
    pub didnt_catch: String,
    pub stt_failed: String,
    pub audio_failed: String,
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

/// Which file to read: `--config`, else `$VOICEBOX_CONFIG`, else the default path. The bool says
/// whether the path was chosen explicitly (an explicit missing file is an error).
pub fn choose_path(cli: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> (PathBuf, bool) {
    if let Some(p) = cli {
        return (p.to_path_buf(), true);
    }
    match env("VOICEBOX_CONFIG").filter(|v| !v.is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from(DEFAULT_PATH), false),
    }
}

/// Reads and validates the config. A missing default file means the embedded defaults.
pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
    let env = |k: &str| std::env::var(k).ok();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, Some(path), &env),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
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
    let user: Raw = toml::from_str(text).map_err(|e| syntax_error(&file, text, &e))?;
    let defaults: Raw = toml::from_str(DEFAULT_TOML)
        .map_err(|e| syntax_error("<embedded defaults>", DEFAULT_TOML, &e))?;
    let cx = Cx { file: &file, text };
    build(&cx, user, defaults, env).map(|mut c| {
        c.source = source.map(Path::to_path_buf);
        c
    })
}

struct Cx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Cx<'_> {
    fn err(&self, key: &str, span: Option<Range<usize>>, message: String) -> ConfigError {
        let (line, column) = span.map_or((0, 0), |s| line_col(self.text, s.start));
        ConfigError {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message,
        }
    }

    /// The user's value if given, else the embedded default; with the user's span for errors.
    fn pick<T>(
        &self,
        key: &str,
        user: F<T>,
        def: F<T>,
    ) -> Result<(T, Option<Range<usize>>), ConfigError> {
        match (user, def) {
            (Some(u), _) => {
                let span = u.span();
                Ok((u.into_inner(), Some(span)))
            }
            (None, Some(d)) => Ok((d.into_inner(), None)),
            (None, None) => Err(self.err(key, None, "internal: no default for this key".into())),
        }
    }

    fn int(
        &self,
        key: &str,
        user: F<i64>,
        def: F<i64>,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        let (v, span) = self.pick(key, user, def)?;
        if v < min || v > max {
            return Err(self.err(
                key,
                span,
                format!("{v} is out of range; write a whole number from {min} to {max}"),
            ));
        }
        Ok(v)
    }

    fn ms(
        &self,
        key: &str,
        user: F<i64>,
        def: F<i64>,
        min: i64,
        max: i64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.int(key, user, def, min, max)? as u64
        ))
    }

    fn secs(
        &self,
        key: &str,
        user: F<f64>,
        def: F<f64>,
        min: f64,
        max: f64,
    ) -> Result<Duration, ConfigError> {
        self.ranged(key, user, def, min, max, "seconds")
            .map(Duration::from_secs_f64)
    }

    fn float(
        &self,
        key: &str,
        user: F<f64>,
        def: F<f64>,
        min: f64,
        max: f64,
    ) -> Result<f32, ConfigError> {
        self.ranged(key, user, def, min, max, "a number")
            .map(|v| v as f32)
    }

    fn ranged(
        &self,
        key: &str,
        user: F<f64>,
        def: F<f64>,
        min: f64,
        max: f64,
        what: &str,
    ) -> Result<f64, ConfigError> {
        let (v, span) = self.pick(key, user, def)?;
        if !(min..=max).contains(&v) {
            return Err(self.err(
                key,
                span,
                format!("{v} is out of range; write {what} from {min} to {max}"),
            ));
        }
        Ok(v)
    }

    fn text(
        &self,
        key: &str,
        user: F<String>,
        def: F<String>,
        allow_empty: bool,
    ) -> Result<String, ConfigError> {
        let (v, span) = self.pick(key, user, def)?;
        if !allow_empty && v.trim().is_empty() {
            return Err(self.err(key, span, "must not be empty".into()));
        }
        Ok(v)
    }

    fn choice<T: Copy>(
        &self,
        key: &str,
        user: F<String>,
        def: F<String>,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let (v, span) = self.pick(key, user, def)?;
        options
            .iter()
            .find(|(name, _)| *name == v)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                self.err(
                    key,
                    span,
                    format!("\"{v}\" is not valid; write one of {}", names.join(", ")),
                )
            })
    }

    fn argv(
        &self,
        key: &str,
        user: F<Vec<String>>,
        def: F<Vec<String>>,
    ) -> Result<Vec<String>, ConfigError> {
        let (v, span) = self.pick(key, user, def)?;
        if v.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(self.err(key, span, "needs a program: write an argv array such as [\"espeak-ng\", \"--stdout\", \"--stdin\"]".into()));
        }
        Ok(v)
    }

    /// A BCM number (0..=53) on a Raspberry Pi; with `button.chip`, a line offset on that chip.
    fn pin(&self, key: &str, user: F<i64>, on_chip: bool) -> Result<Option<u8>, ConfigError> {
        match user {
            None => Ok(None),
            Some(p) => {
                let span = p.span();
                let v = p.into_inner();
                if on_chip && !(0..=255).contains(&v) {
                    return Err(self.err(key, Some(span), format!("{v} is not a line offset; write 0 to 255 (`gpioinfo` lists the chip's lines), or remove the key for no GPIO")));
                }
                if !on_chip && !(0..=53).contains(&v) {
                    return Err(self.err(key, Some(span), format!("{v} is not a BCM GPIO number; write 0 to 53 (e.g. 17), or remove the key for no GPIO")));
                }
                Ok(Some(v as u8))
            }
        }
    }

    /// `button.chip`: "gpiochip0" means /dev/gpiochip0; otherwise an absolute path.
    fn chip(&self, user: F<String>) -> Result<Option<PathBuf>, ConfigError> {
        let Some(c) = user else { return Ok(None) };
        let span = c.span();
        let c = c.into_inner();
        if c.starts_with('/') {
            Ok(Some(PathBuf::from(c)))
        } else if !c.is_empty() && !c.contains('/') {
            Ok(Some(Path::new("/dev").join(c)))
        } else {
            Err(self.err("button.chip", Some(span), format!("\"{c}\" is not a GPIO chip; write its name such as \"gpiochip0\" or a path such as \"/dev/gpiochip0\" (`ls /dev/gpiochip*`)")))
        }
    }
}

fn build(
    cx: &Cx,
    u: Raw,
    d: Raw,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let (uo, dd) = (u.ollama, d.ollama);
    let url = match uo.url {
        Some(s) => {
            let span = s.span();
            host::parse_url(s.get_ref()).map_err(|m| cx.err("ollama.url", Some(span), m))?
        }
        None => match env("OLLAMA_HOST") {
            Some(h) => host::from_env(&h).map_err(|m| {
                cx.err(
                    "ollama.url",
                    None,
                    format!("{m} (from $OLLAMA_HOST); fix the variable or set ollama.url"),
                )
            })?,
            None => DEFAULT_URL.to_string(),
        },
    };
    let api_key = match uo.api_key {
        Some(k) => Some(k.into_inner()),
        None => env("OLLAMA_API_KEY"),
    }
    .filter(|k| !k.trim().is_empty());
    let options = match uo.options.or(dd.options) {
        Some(t) => {
            let span = t.span();
            let value = serde_json::to_value(t.into_inner())
                .map_err(|e| cx.err("ollama.options", Some(span), e.to_string()))?;
            match value {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            }
        }
        None => serde_json::Map::new(),
    };
    let request_timeout = cx.secs(
        "ollama.request_timeout_s",
        uo.request_timeout_s,
        dd.request_timeout_s,
        0.1,
        3600.0,
    )?;
    let deadline = cx.secs(
        "ollama.deadline_s",
        uo.deadline_s,
        dd.deadline_s,
        0.1,
        36000.0,
    )?;
    let backoff_initial = cx.ms(
        "ollama.backoff_initial_ms",
        uo.backoff_initial_ms,
        dd.backoff_initial_ms,
        0,
        600_000,
    )?;
    let backoff_max = cx.ms(
        "ollama.backoff_max_ms",
        uo.backoff_max_ms,
        dd.backoff_max_ms,
        0,
        3_600_000,
    )?;
    let ollama = Ollama {
        url,
        model: cx.text("ollama.model", uo.model, dd.model, false)?,
        endpoint: cx.choice(
            "ollama.endpoint",
            uo.endpoint,
            dd.endpoint,
            &[("generate", Endpoint::Generate), ("chat", Endpoint::Chat)],
        )?,
        attempts: cx.int("ollama.attempts", uo.attempts, dd.attempts, 1, 20)? as u32,
        backoff_initial,
        backoff_max: backoff_max.max(backoff_initial),
        connect_timeout: cx.ms(
            "ollama.connect_timeout_ms",
            uo.connect_timeout_ms,
            dd.connect_timeout_ms,
            1,
            600_000,
        )?,
        request_timeout,
        deadline,
        stream: cx.pick("ollama.stream", uo.stream, dd.stream)?.0,
        think: cx.pick("ollama.think", uo.think, dd.think)?.0,
        keep_alive: cx.text("ollama.keep_alive", uo.keep_alive, dd.keep_alive, false)?,
        system_prompt: cx.text(
            "ollama.system_prompt",
            uo.system_prompt,
            dd.system_prompt,
            true,
        )?,
        max_reply_bytes: cx.int(
            "ollama.max_reply_bytes",
            uo.max_reply_bytes,
            dd.max_reply_bytes,
            1024,
            1 << 30,
        )? as usize,
        api_key,
        use_env_proxy: cx
            .pick("ollama.use_env_proxy", uo.use_env_proxy, dd.use_env_proxy)?
            .0,
        warm_up: cx.pick("ollama.warm_up", uo.warm_up, dd.warm_up)?.0,
        options,
    };

    let (uc, dc) = (u.conversation, d.conversation);
    let conversation = Conversation {
        turns: cx.int("conversation.turns", uc.turns, dc.turns, 0, 100)? as usize,
        max_chars: cx.int(
            "conversation.max_chars",
            uc.max_chars,
            dc.max_chars,
            0,
            1_000_000,
        )? as usize,
        idle_forget: cx.secs(
            "conversation.idle_forget_s",
            uc.idle_forget_s,
            dc.idle_forget_s,
            0.0,
            604_800.0,
        )?,
    };

    let (ut, dt) = (u.tts, d.tts);
    let raw_format = TtsFormat::Raw {
        rate: cx.int("tts.raw_rate", ut.raw_rate, dt.raw_rate, 4000, 192_000)? as u32,
        channels: cx.int("tts.raw_channels", ut.raw_channels, dt.raw_channels, 1, 8)? as u16,
        format: cx.choice(
            "tts.raw_sample_format",
            ut.raw_sample_format,
            dt.raw_sample_format,
            &[
                ("s16le", SampleFormat::S16Le),
                ("f32le", SampleFormat::F32Le),
            ],
        )?,
    };
    let min_sentence_chars = cx.int(
        "tts.min_sentence_chars",
        ut.min_sentence_chars,
        dt.min_sentence_chars,
        0,
        1000,
    )? as usize;
    let tts = Tts {
        command: cx.argv("tts.command", ut.command, dt.command)?,
        format: cx.choice(
            "tts.format",
            ut.format,
            dt.format,
            &[("wav", TtsFormat::Wav), ("raw", raw_format)],
        )?,
        timeout: cx.ms("tts.timeout_ms", ut.timeout_ms, dt.timeout_ms, 1, 600_000)?,
        lookahead: cx.int("tts.lookahead", ut.lookahead, dt.lookahead, 1, 16)? as usize,
        max_sentence_chars: cx.int(
            "tts.max_sentence_chars",
            ut.max_sentence_chars,
            dt.max_sentence_chars,
            20,
            10_000,
        )? as usize,
        min_sentence_chars,
    };

    let (us, ds) = (u.stt, d.stt);
    let stt_url = match us.url {
        Some(s) => {
            let span = s.span();
            Some(host::parse_url(s.get_ref()).map_err(|m| cx.err("stt.url", Some(span), m))?)
        }
        None => None,
    };
    let stt = Stt {
        command: cx.argv("stt.command", us.command, ds.command)?,
        url: stt_url,
        timeout: cx.ms("stt.timeout_ms", us.timeout_ms, ds.timeout_ms, 1, 600_000)?,
    };

    let (ua, da) = (u.audio, d.audio);
    let audio = Audio {
        input_device: cx.text(
            "audio.input_device",
            ua.input_device,
            da.input_device,
            false,
        )?,
        output_device: cx.text(
            "audio.output_device",
            ua.output_device,
            da.output_device,
            false,
        )?,
        buffer_frames: cx.int(
            "audio.buffer_frames",
            ua.buffer_frames,
            da.buffer_frames,
            32,
            65536,
        )? as u32,
        max_record: cx.secs(
            "audio.max_record_s",
            ua.max_record_s,
            da.max_record_s,
            0.5,
            600.0,
        )?,
        min_record: cx.ms(
            "audio.min_record_ms",
            ua.min_record_ms,
            da.min_record_ms,
            0,
            10_000,
        )?,
        post_roll: cx.ms(
            "audio.post_roll_ms",
            ua.post_roll_ms,
            da.post_roll_ms,
            0,
            5_000,
        )?,
        speech_threshold: cx.float(
            "audio.speech_threshold",
            ua.speech_threshold,
            da.speech_threshold,
            0.0,
            1.0,
        )?,
        end_silence: cx.ms(
            "audio.end_silence_ms",
            ua.end_silence_ms,
            da.end_silence_ms,
            100,
            60_000,
        )?,
        volume: cx.float("audio.volume", ua.volume, da.volume, 0.0, 2.0)?,
        sentence_pause: cx.ms(
            "audio.sentence_pause_ms",
            ua.sentence_pause_ms,
            da.sentence_pause_ms,
            0,
            10_000,
        )?,
        linger: cx.ms("audio.linger_ms", ua.linger_ms, da.linger_ms, 0, 60_000)?,
    };

    let (ub, db) = (u.button, d.button);
    let chip = cx.chip(ub.chip)?;
    let on_chip = chip.is_some();
    let button = Button {
        chip,
        gpio: cx.pin("button.gpio", ub.gpio, on_chip)?,
        active_low: cx
            .pick("button.active_low", ub.active_low, db.active_low)?
            .0,
        pull_up: cx.pick("button.pull_up", ub.pull_up, db.pull_up)?.0,
        debounce: cx.ms(
            "button.debounce_ms",
            ub.debounce_ms,
            db.debounce_ms,
            0,
            1000,
        )?,
        mode: cx.choice(
            "button.mode",
            ub.mode,
            db.mode,
            &[("hold", ButtonMode::Hold), ("toggle", ButtonMode::Toggle)],
        )?,
        min_press: cx.ms(
            "button.min_press_ms",
            ub.min_press_ms,
            db.min_press_ms,
            0,
            5000,
        )?,
        long_press: cx.ms(
            "button.long_press_ms",
            ub.long_press_ms,
            db.long_press_ms,
            200,
            60_000,
        )?,
        led_gpio: cx.pin("button.led_gpio", ub.led_gpio, on_chip)?,
    };

    let socket = match u.control.socket {
        Some(s) => {
            let span = s.span();
            let p = s.into_inner();
            if !p.starts_with('/') {
                return Err(cx.err("control.socket", Some(span), format!("\"{p}\" is relative; write an absolute path such as \"/run/voicebox/control.sock\"")));
            }
            PathBuf::from(p)
        }
        None => default_socket(env),
    };

    let (um, dm) = (u.messages, d.messages);
    let messages = Messages {
        unreachable: cx.text(
            "messages.unreachable",
            um.unreachable,
            dm.unreachable,
            false,
        )?,
        proxy_error: cx.text(
            "messages.proxy_error",
            um.proxy_error,
            dm.proxy_error,
            false,
        )?,
        too_slow: cx.text("messages.too_slow", um.too_slow, dm.too_slow, false)?,
        model_missing: cx.text(
            "messages.model_missing",
            um.model_missing,
            dm.model_missing,
            false,
        )?,
        rejected: cx.text("messages.rejected", um.rejected, dm.rejected, false)?,
        unauthorized: cx.text(
            "messages.unauthorized",
            um.unauthorized,
            dm.unauthorized,
            false,
        )?,
        bad_reply: cx.text("messages.bad_reply", um.bad_reply, dm.bad_reply, false)?,
        didnt_catch: cx.text(
            "messages.didnt_catch",
            um.didnt_catch,
            dm.didnt_catch,
            false,
        )?,
        stt_failed: cx.text("messages.stt_failed", um.stt_failed, dm.stt_failed, false)?,
        audio_failed: cx.text(
            "messages.audio_failed",
            um.audio_failed,
            dm.audio_failed,
            false,
        )?,
    };

    Ok(Config {
        ollama,
        conversation,
        tts,
        stt,
        audio,
        button,
        control: Control { socket },
        messages,
        source: None,
    })
}

/// Under systemd the unit's `RuntimeDirectory`; on a laptop the user's runtime dir.
fn default_socket(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = env("RUNTIME_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several colon-separated directories; the first is ours.
        let first = dir.split(':').next().unwrap_or(&dir).to_string();
        return Path::new(&first).join("control.sock");
    }
    if let Some(dir) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&dir).join("voicebox.sock");
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/tmp/voicebox-{uid}.sock"))
}

fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    let mut message = e.message().trim().to_string();
    // serde's unknown-field text lists the valid keys; make the fix explicit.
    if message.starts_with("unknown field") {
        message.push_str("; check the spelling (valid keys are listed above) or remove the line");
    } else if message.contains("expected i64") {
        message = message.replace(
            "expected i64",
            "expected an integer (write a whole number without quotes)",
        );
    } else if message.contains("expected f64") {
        message = message.replace(
            "expected f64",
            "expected a number (write it without quotes)",
        );
    }
    ConfigError {
        file: file.to_string(),
        line,
        column,
        key: key_at(text, e.span().map_or(0, |s| s.start)),
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Best-effort dotted key for an error position: the last `[section]` above it plus the key on
/// that line.
fn key_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let section = before
        .lines()
        .filter_map(|l| {
            let t = l.trim();
            (t.starts_with('[') && !t.starts_with("[["))
                .then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        })
        .next_back();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}"),
        (Some(s), None) => s,
        (None, Some(k)) => k.to_string(),
        (None, None) => "(file)".to_string(),
    }
}

#[cfg(test)]
mod tests;
