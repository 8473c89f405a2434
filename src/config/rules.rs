//! Rules: how one key's TOML value becomes a field, and what its error tells the user.
//!
//! A rule is a small value (`Int(1, 20)`, `Text::NonEmpty`, `Optional(Pin)`) written once per
//! key in `keys.rs`. Its `Raw` type is what serde reads from the file, so a value of the wrong
//! type is refused with serde's located message before `check` runs.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::host;
use super::keys::SpeechServer;
use crate::url::Url;

/// The environment, as a function so tests pass their own.
pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The range a ranged key accepts; the table test writes values just outside it.
#[cfg_attr(not(test), allow(dead_code))] // read only by the table test
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Bounds {
    Int(i64, i64),
    Float(f64, f64),
}

pub(super) trait Rule<T> {
    /// The TOML type of the key.
    type Raw: DeserializeOwned;
    /// Turns the value into the field, or says what to write instead.
    fn check(&self, raw: Self::Raw) -> Result<T, String>;
    /// Neither the user's file nor the embedded defaults have the key.
    fn absent(&self, _env: Env) -> Result<T, String> {
        Err("internal: no default for this key".into())
    }
    #[cfg_attr(not(test), allow(dead_code))] // read only by the table test
    fn bounds(&self) -> Option<Bounds> {
        None
    }
    /// Post-processes the checked value, e.g. to relate it to a key declared above it.
    fn map<B, F: Fn(T) -> B>(self, f: F) -> Map<Self, F, T>
    where
        Self: Sized,
    {
        Map(self, f, PhantomData)
    }
}

/// A whole number from `.0` to `.1`, as any integer field type the range fits.
pub(super) struct Int(pub i64, pub i64);

impl<T: TryFrom<i64>> Rule<T> for Int {
    type Raw = i64;
    fn check(&self, v: i64) -> Result<T, String> {
        let Int(min, max) = *self;
        if v < min || v > max {
            return Err(format!(
                "{v} is out of range; write a whole number from {min} to {max}"
            ));
        }
        // Unreachable when the range fits the field; the table test checks that it does.
        T::try_from(v).map_err(|_| format!("internal: {v} does not fit the field"))
    }
    fn bounds(&self) -> Option<Bounds> {
        Some(Bounds::Int(self.0, self.1))
    }
}

/// Milliseconds from `.0` to `.1` (the key's name ends in `_ms`).
pub(super) struct Ms(pub i64, pub i64);

impl Rule<Duration> for Ms {
    type Raw = i64;
    fn check(&self, v: i64) -> Result<Duration, String> {
        Int(self.0, self.1).check(v).map(Duration::from_millis)
    }
    fn bounds(&self) -> Option<Bounds> {
        Some(Bounds::Int(self.0, self.1))
    }
}

/// Seconds, fractions allowed, from `.0` to `.1` (the key's name ends in `_s`).
pub(super) struct Secs(pub f64, pub f64);

impl Rule<Duration> for Secs {
    type Raw = f64;
    fn check(&self, v: f64) -> Result<Duration, String> {
        in_range(v, self.0, self.1, "seconds").map(Duration::from_secs_f64)
    }
    fn bounds(&self) -> Option<Bounds> {
        Some(Bounds::Float(self.0, self.1))
    }
}

/// A number from `.0` to `.1`.
pub(super) struct Float(pub f64, pub f64);

impl Rule<f32> for Float {
    type Raw = f64;
    fn check(&self, v: f64) -> Result<f32, String> {
        in_range(v, self.0, self.1, "a number").map(|v| v as f32)
    }
    fn bounds(&self) -> Option<Bounds> {
        Some(Bounds::Float(self.0, self.1))
    }
}

fn in_range(v: f64, min: f64, max: f64, what: &str) -> Result<f64, String> {
    if !(min..=max).contains(&v) {
        return Err(format!(
            "{v} is out of range; write {what} from {min} to {max}"
        ));
    }
    Ok(v)
}

pub(super) struct Flag;

impl Rule<bool> for Flag {
    type Raw = bool;
    fn check(&self, v: bool) -> Result<bool, String> {
        Ok(v)
    }
}

pub(super) enum Text {
    /// Blank text is an error (a device name, a model, a spoken message).
    NonEmpty,
    /// Blank text is a valid choice (an empty system prompt sends none).
    Any,
}

impl Rule<String> for Text {
    type Raw = String;
    fn check(&self, v: String) -> Result<String, String> {
        match self {
            Text::NonEmpty if v.trim().is_empty() => Err("must not be empty".into()),
            _ => Ok(v),
        }
    }
}

/// A command as an argv array, never a shell string.
pub(super) struct Argv;

impl Rule<Vec<String>> for Argv {
    type Raw = Vec<String>;
    fn check(&self, v: Vec<String>) -> Result<Vec<String>, String> {
        if v.first().is_none_or(|p| p.trim().is_empty()) {
            return Err("needs a program: write an argv array such as [\"espeak-ng\", \"--stdout\", \"--stdin\"]".into());
        }
        Ok(v)
    }
}

/// One of the named values.
pub(super) struct Choice<'a, T>(pub &'a [(&'static str, T)]);

impl<T: Clone> Rule<T> for Choice<'_, T> {
    type Raw = String;
    fn check(&self, v: String) -> Result<T, String> {
        if let Some((_, t)) = self.0.iter().find(|(name, _)| *name == v) {
            return Ok(t.clone());
        }
        let names: Vec<String> = self.0.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        Err(format!(
            "\"{v}\" is not valid; write one of {}",
            names.join(", ")
        ))
    }
}

/// A key that has no default: absent means `None`.
pub(super) struct Optional<R>(pub R);

impl<T, R: Rule<T>> Rule<Option<T>> for Optional<R> {
    type Raw = R::Raw;
    fn check(&self, raw: R::Raw) -> Result<Option<T>, String> {
        self.0.check(raw).map(Some)
    }
    fn absent(&self, _env: Env) -> Result<Option<T>, String> {
        Ok(None)
    }
    fn bounds(&self) -> Option<Bounds> {
        self.0.bounds()
    }
}

/// A GPIO number: a BCM number (0..=53) on a Raspberry Pi, or with `button.chip` (`.0` true) a
/// line offset on that chip.
pub(super) struct Pin(pub bool);

impl Rule<u8> for Pin {
    type Raw = i64;
    fn check(&self, v: i64) -> Result<u8, String> {
        let max = if self.0 { 255 } else { 53 };
        u8::try_from(v).ok().filter(|p| *p <= max).ok_or_else(|| {
            if self.0 {
                format!("{v} is not a line offset; write 0 to 255 (`gpioinfo` lists the chip's lines), or remove the key for no GPIO")
            } else {
                format!("{v} is not a BCM GPIO number; write 0 to 53 (e.g. 17), or remove the key for no GPIO")
            }
        })
    }
    fn bounds(&self) -> Option<Bounds> {
        Some(Bounds::Int(0, if self.0 { 255 } else { 53 }))
    }
}

/// `button.chip`: "gpiochip0" means /dev/gpiochip0; otherwise an absolute path.
pub(super) struct Chip;

impl Rule<PathBuf> for Chip {
    type Raw = String;
    fn check(&self, c: String) -> Result<PathBuf, String> {
        if c.starts_with('/') {
            Ok(PathBuf::from(c))
        } else if !c.is_empty() && !c.contains('/') {
            Ok(Path::new("/dev").join(c))
        } else {
            Err(format!(
                "\"{c}\" is not a GPIO chip; write its name such as \"gpiochip0\" or a path such as \"/dev/gpiochip0\" (`ls /dev/gpiochip*`)"
            ))
        }
    }
}

/// An http(s) URL, kept without its trailing slash; user info becomes Basic authentication
/// and is never shown (`url::Url`).
pub(super) struct HttpUrl;

impl Rule<Url> for HttpUrl {
    type Raw = String;
    fn check(&self, v: String) -> Result<Url, String> {
        host::parse_url(&v)
    }
}

/// A speech server: `tcp://host:port` is Wyoming, `http(s)://…` an OpenAI-compatible endpoint.
pub(super) struct SpeechUrl;

impl Rule<SpeechServer> for SpeechUrl {
    type Raw = String;
    fn check(&self, v: String) -> Result<SpeechServer, String> {
        match v.trim().strip_prefix("tcp://") {
            Some(rest) => wyoming_address(rest).map(SpeechServer::Wyoming),
            None => HttpUrl
                .check(v)
                .map(SpeechServer::Http)
                .map_err(|m| format!("{m}; or tcp://host:port for a Wyoming server")),
        }
    }
}

/// `host:port` of a Wyoming server: a port is required (Wyoming has no default port), and there
/// is nothing to put credentials or a path into.
fn wyoming_address(rest: &str) -> Result<String, String> {
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') {
        return Err("Wyoming has no authentication: remove the user:password@ part (keep the server on your LAN)".into());
    }
    if rest.contains('/') {
        return Err(format!(
            "\"tcp://{rest}\" has a path; write tcp://host:port"
        ));
    }
    let port = match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => port,
        _ => {
            return Err(format!(
                "\"tcp://{rest}\" needs a host and a port, e.g. tcp://192.168.1.20:10300 (wyoming-faster-whisper) or :10200 (wyoming-piper)"
            ));
        }
    };
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(rest.to_string()),
        _ => Err(format!("port \"{port}\" is not a number from 1 to 65535")),
    }
}

/// The Ollama server: absent means `$OLLAMA_HOST` in the official clients' forms, else the
/// local default.
pub(super) struct OllamaUrl;

impl Rule<Url> for OllamaUrl {
    type Raw = String;
    fn check(&self, v: String) -> Result<Url, String> {
        host::parse_url(&v)
    }
    fn absent(&self, env: Env) -> Result<Url, String> {
        match env("OLLAMA_HOST") {
            Some(h) => host::from_env(&h).map_err(|m| {
                format!("{m} (from $OLLAMA_HOST); fix the variable or set ollama.url")
            }),
            None => host::parse_url(host::DEFAULT_URL),
        }
    }
}

/// A bearer token, from the file or else from the environment variable `env`; blank means none.
/// It goes into a header, so a line break or other control character in it is a config error
/// (not an "unreachable" server later); and since a request carries one `Authorization`
/// header, so is a token beside a URL that has a user and password (`beside_credentials`).
/// Messages never show the token.
pub(super) struct Secret {
    pub env: &'static str,
    /// The URL key it goes with, when that URL has a user and password of its own.
    pub beside_credentials: Option<&'static str>,
}

impl Secret {
    fn usable(&self, v: Option<String>, from: &str) -> Result<Option<String>, String> {
        let Some(v) = v.filter(|k| !k.trim().is_empty()) else {
            return Ok(None);
        };
        if v.chars().any(char::is_control) {
            return Err(format!(
                "{from} contains a line break or another control character; write the token on one line"
            ));
        }
        if let Some(url_key) = self.beside_credentials {
            return Err(format!(
                "{from} is set and {url_key} has a user and password too; a request carries one Authorization header, so remove one of them"
            ));
        }
        Ok(Some(v))
    }
}

impl Rule<Option<String>> for Secret {
    type Raw = String;
    fn check(&self, v: String) -> Result<Option<String>, String> {
        self.usable(Some(v), "the token")
    }
    fn absent(&self, env: Env) -> Result<Option<String>, String> {
        self.usable(env(self.env), &format!("${}", self.env))
    }
}

/// The control socket: an absolute path, or by default one that works under systemd and on a
/// laptop alike.
pub(super) struct Socket;

impl Rule<PathBuf> for Socket {
    type Raw = String;
    fn check(&self, p: String) -> Result<PathBuf, String> {
        if !p.starts_with('/') {
            return Err(format!(
                "\"{p}\" is relative; write an absolute path such as \"/run/voicebox/control.sock\""
            ));
        }
        Ok(PathBuf::from(p))
    }
    fn absent(&self, env: Env) -> Result<PathBuf, String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Ok(default_socket(env, unsafe { libc::geteuid() }))
    }
}

/// Under systemd the unit's `RuntimeDirectory`; for root (`sudo voicebox ctl`, where sudo has
/// dropped `$XDG_RUNTIME_DIR`) the system service's socket; otherwise the user's runtime dir,
/// `$XDG_RUNTIME_DIR` or else `/run/user/UID`, which logind makes private to the user. Never a
/// guessable name in a directory everyone can write, where another user could plant a socket.
pub(super) fn default_socket(env: Env, uid: u32) -> PathBuf {
    if let Some(dir) = env("RUNTIME_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several colon-separated directories; the first is ours.
        let first = dir.split(':').next().unwrap_or(&dir).to_string();
        return Path::new(&first).join("control.sock");
    }
    if uid == 0 {
        return PathBuf::from(SERVICE_SOCKET);
    }
    if let Some(dir) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&dir).join("voicebox.sock");
    }
    PathBuf::from(format!("/run/user/{uid}/voicebox.sock"))
}

/// The system service's socket (`RuntimeDirectory=voicebox` in the unit).
pub(super) const SERVICE_SOCKET: &str = "/run/voicebox/control.sock";

/// A TOML table passed on as a JSON object (Ollama's `options`).
pub(super) struct JsonObject;

impl Rule<serde_json::Map<String, serde_json::Value>> for JsonObject {
    type Raw = toml::Table;
    fn check(&self, t: toml::Table) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        match serde_json::to_value(t).map_err(|e| e.to_string())? {
            serde_json::Value::Object(m) => Ok(m),
            _ => Ok(serde_json::Map::new()),
        }
    }
}

/// See [`Rule::map`].
pub(super) struct Map<R, F, A>(R, F, PhantomData<fn() -> A>);

impl<A, B, R: Rule<A>, F: Fn(A) -> B> Rule<B> for Map<R, F, A> {
    type Raw = R::Raw;
    fn check(&self, raw: R::Raw) -> Result<B, String> {
        self.0.check(raw).map(&self.1)
    }
    fn absent(&self, env: Env) -> Result<B, String> {
        self.0.absent(env).map(&self.1)
    }
    fn bounds(&self) -> Option<Bounds> {
        self.0.bounds()
    }
}
