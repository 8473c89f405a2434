//! Test configs built key by key: one starting point per kind of test, `set` to change a key,
//! `write` to put the file where the binary reads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A config file as sections of `key = value` lines (values are TOML: quote strings with
/// `Config::string`, build arrays with `Config::argv`). Keys not set keep their defaults.
#[derive(Clone, Default)]
pub struct Config {
    sections: BTreeMap<String, Vec<(String, String)>>,
}

impl Config {
    /// Every key at its default.
    pub fn new() -> Config {
        Config::default()
    }

    /// One request to the server at `url`: `/api/generate`, fast retries, no warm-up.
    pub fn ollama(url: &str) -> Config {
        let mut c = Config::new();
        c.lines(
            "ollama",
            &format!(
                "url = {}\nmodel = \"llama3.2\"\nendpoint = \"generate\"\nattempts = 3\n\
                 backoff_initial_ms = 20\nbackoff_max_ms = 80\nconnect_timeout_ms = 2000\n\
                 request_timeout_s = 10\ndeadline_s = 30\nwarm_up = false",
                Config::string(url)
            ),
        );
        c
    }

    /// The client the daemon would build for the server at `url` (`Config::ollama`), with
    /// `extra` lines under `[ollama]`.
    pub fn client(url: &str, extra: &str) -> voicebox::ollama::Client {
        voicebox::ollama::Client::new(&Config::ollama(url).lines("ollama", extra).parse().ollama)
    }

    /// `voicebox run` against `url`: `/api/chat` (the default) with generous timeouts (the
    /// suite shares two cores), clear gaps between sentences, a linger long enough that the
    /// unpaced output writes well over 0.35 s of silence after each sound, short recordings
    /// (the unpaced microphone fills `max_record_s` within milliseconds).
    pub fn daemon(url: &str) -> Config {
        let mut c = Config::ollama(url);
        c.lines(
            "ollama",
            "endpoint = \"chat\"\nrequest_timeout_s = 20\ndeadline_s = 60",
        )
        .lines(
            "audio",
            "sentence_pause_ms = 700\nlinger_ms = 300\nmax_record_s = 5",
        )
        // No thinking cue: it starts by the wall clock, so a slow turn on a busy host (retries,
        // a remote STT) sets it off, and on the unpaced test card its ticks are separated by
        // only as much silence as the starved device thread wrote: they run together into a
        // stretch as long as a word (a 0.57 s "sentence" before the three of a reply, once).
        // The cue's own tests turn it on.
        .set("audio", "thinking_cue_ms", "0")
        .set("button", "min_press_ms", "50");
        c
    }

    /// `voicebox say` through the TTS hook `tts`: every sentence its own call, clear gaps
    /// between sentences and a short linger (the unpaced file device writes silence as fast as
    /// it can while open).
    pub fn speaker(tts: &[&str]) -> Config {
        let mut c = Config::new();
        c.set("tts", "command", &Config::argv(tts))
            .set("tts", "min_sentence_s", "0")
            .lines("audio", "sentence_pause_ms = 700\nlinger_ms = 100");
        c
    }

    /// Sets `section.key` to the TOML `value`, replacing an earlier one.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> &mut Config {
        let lines = self.sections.entry(section.to_string()).or_default();
        lines.retain(|(k, _)| k != key);
        lines.push((key.to_string(), value.to_string()));
        self
    }

    /// `set` for each `key = value` line of `lines`.
    pub fn lines(&mut self, section: &str, lines: &str) -> &mut Config {
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not `key = value`: {line:?}"));
            self.set(section, key.trim(), value.trim());
        }
        self
    }

    /// A string as a TOML value.
    pub fn string(s: &str) -> String {
        format!("{s:?}")
    }

    /// An argv array as a TOML value.
    pub fn argv(args: &[&str]) -> String {
        let quoted: Vec<String> = args.iter().map(|a| Config::string(a)).collect();
        format!("[{}]", quoted.join(", "))
    }

    /// An STT hook that ignores the recording and "hears" `text` (where a test is about what
    /// happens after transcription, pocketsphinx's CPU time buys nothing).
    pub fn fixed_stt(text: &str) -> String {
        Config::argv(&["sh", "-c", &format!("cat > /dev/null; echo {text}")])
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for (section, lines) in &self.sections {
            out.push_str(&format!("[{section}]\n"));
            for (k, v) in lines {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out.push('\n');
        }
        out
    }

    /// Writes the file as `dir/voicebox.toml` and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("voicebox.toml");
        std::fs::write(&path, self.text()).unwrap();
        path
    }

    /// The validated config, with no environment leaking in.
    pub fn parse(&self) -> voicebox::config::Config {
        voicebox::config::parse(&self.text(), None, &|_| None)
            .unwrap_or_else(|e| panic!("test config: {e}\n{}", self.text()))
    }
}
