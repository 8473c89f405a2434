//! `voicebox check`: the doctor. One line per check, `ok` or `FAIL`, non-zero exit if any fails.
//!
//! Each area contributes a function returning its `Line`s; hooks, audio and GPIO checks are
//! appended to `check` as more functions.

use crate::audio::capture;
use crate::button::Button;
use crate::config::Config;
use crate::ollama::Client;
use crate::speech::stt::Stt;
use crate::speech::tts::Tts;

/// One check's outcome as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub ok: bool,
    pub text: String,
}

impl Line {
    fn ok(text: impl Into<String>) -> Self {
        Line {
            ok: true,
            text: text.into(),
        }
    }
    fn fail(text: impl Into<String>) -> Self {
        Line {
            ok: false,
            text: text.into(),
        }
    }
}

pub fn check(config: &Config) -> anyhow::Result<()> {
    let mut lines = vec![config_line(config)];
    lines.extend(ollama_lines(config));
    lines.push(tts_line(config));
    lines.push(stt_line(config));
    lines.extend(audio_lines(config));
    lines.push(gpio_line(config));
    for line in &lines {
        println!("{} {}", if line.ok { "ok  " } else { "FAIL" }, line.text);
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if failed > 0 {
        anyhow::bail!("{failed} of {} checks failed", lines.len());
    }
    Ok(())
}

fn config_line(config: &Config) -> Line {
    match &config.source {
        Some(p) => Line::ok(format!("config: {}", p.display())),
        None => Line::ok("config: built-in defaults (no config file)"),
    }
}

/// Server reachable (and its version), model present.
fn ollama_lines(config: &Config) -> Vec<Line> {
    let o = &config.ollama;
    let client = match Client::new(o) {
        Ok(c) => c,
        Err(e) => {
            return vec![Line::fail(format!(
                "ollama: cannot set up the client: {e:#}"
            ))];
        }
    };
    let health = client.check();
    let mut lines = vec![match health.version {
        Ok(v) => Line::ok(format!("ollama: {} reachable, version {v}", client.url())),
        Err(f) => Line::fail(format!("ollama: {}", f.message)),
    }];
    lines.push(match health.model {
        Some(Ok(name)) => Line::ok(format!("ollama: model {name} is on the server")),
        Some(Err(f)) => Line::fail(format!("ollama: {}", f.message)),
        None => Line::fail(format!(
            "ollama: model {} not checked (server unreachable)",
            o.model
        )),
    });
    lines
}

/// The TTS hook runs and produces audio.
fn tts_line(config: &Config) -> Line {
    match Tts::new(&config.tts).check() {
        Ok(what) => Line::ok(format!("tts: {what}")),
        Err(f) => Line::fail(format!("tts: {}", f.message)),
    }
}

/// The STT hook is installed and starts (or the HTTP endpoint is configured).
fn stt_line(config: &Config) -> Line {
    match Stt::new(&config.stt).check() {
        Ok(what) => Line::ok(format!("stt: {what}")),
        Err(why) => Line::fail(format!("stt: {why}")),
    }
}

/// The configured input and output devices exist.
fn audio_lines(config: &Config) -> Vec<Line> {
    let (inputs, outputs) = capture::list_devices();
    let find = |kind: &str, name: &str, list: &[capture::DeviceInfo]| {
        let found = list.iter().any(|d| d.id == name || d.description == name)
            || (name == "default" && !list.is_empty());
        if found {
            Line::ok(format!("audio: {kind} device \"{name}\" is present"))
        } else {
            Line::fail(format!(
                "audio: {kind} device \"{name}\" not found; run `voicebox devices` and set audio.{kind}_device"
            ))
        }
    };
    vec![
        find("input", &config.audio.input_device, &inputs),
        find("output", &config.audio.output_device, &outputs),
    ]
}

/// The GPIO button (and LED) can be claimed, if configured.
fn gpio_line(config: &Config) -> Line {
    if config.button.gpio.is_none() && config.button.led_gpio.is_none() {
        return Line::ok(
            "gpio: no button configured (button.gpio); the control socket is the trigger",
        );
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    match Button::spawn(&config.button, tx) {
        Ok(_) => Line::ok(match &config.button.chip {
            Some(chip) => format!(
                "gpio: button on {} line {:?} is usable",
                chip.display(),
                config.button.gpio
            ),
            None => format!("gpio: button on BCM {:?} is usable", config.button.gpio),
        }),
        Err(why) => Line::fail(format!("gpio: {why}")),
    }
}
