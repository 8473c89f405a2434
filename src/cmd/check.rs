//! `voicebox check`: the doctor. One line per check, `ok` or `FAIL`, non-zero exit if any fails.
//!
//! Each area contributes a function returning its `Line`s; hooks, audio and GPIO checks are
//! appended to `check` as more functions.

use crate::audio::devices::{self, Direction};
use crate::button::{Button, Role};
use crate::config::Config;
use crate::ollama::{Client, ToolSupport};
use crate::stt::Stt;
use crate::tts::Tts;
use crate::tts::voice;

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
    lines.extend(voices_line(config));
    lines.push(stt_line(config));
    lines.extend(audio_lines(config));
    lines.push(gpio_line(config));
    lines.extend(mcp_lines(config));
    for line in &lines {
        // Server versions, model names and hook output are in these lines: one line each, no
        // control characters, so nothing can forge an `ok` line or drive the terminal.
        let text = crate::printable::one_line(&line.text);
        println!("{} {text}", if line.ok { "ok  " } else { "FAIL" });
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
    let client = Client::new(o);
    let health = client.check();
    let mut lines = vec![match health.version {
        Ok(v) => Line::ok(format!("ollama: {} reachable, version {v}", client.url())),
        Err(f) => Line::fail(format!("ollama: {}", f.message)),
    }];
    let model_there = matches!(health.model, Some(Ok(_)));
    lines.push(match health.model {
        Some(Ok(name)) => Line::ok(format!("ollama: model {name} is on the server")),
        Some(Err(f)) => Line::fail(format!("ollama: {}", f.message)),
        None => Line::fail(format!(
            "ollama: model {} not checked (server unreachable)",
            o.model
        )),
    });
    // Tools go only with /api/chat, and only to a model the server has.
    let wanted = config.tools.enabled && o.endpoint == crate::config::Endpoint::Chat;
    if wanted && model_there {
        lines.push(tools_line(&client, &o.model));
    }
    lines
}

/// Whether the model can call the tools (timers, alarms, the volume by voice).
fn tools_line(client: &Client, model: &str) -> Line {
    match client.tool_support() {
        Ok(ToolSupport::Yes) => Line::ok(format!(
            "ollama: model {model} supports tools (timers, alarms, volume by voice)"
        )),
        Ok(ToolSupport::No) => Line::fail(format!(
            "ollama: model {model} does not support tools, so it cannot set timers or alarms (it is asked without them); set ollama.model to one that does (qwen2.5, qwen3, llama3.2), or tools.enabled = false"
        )),
        Ok(ToolSupport::Unknown) => Line::ok(format!(
            "ollama: the server does not say whether {model} supports tools (it lists no capabilities; Ollama 0.6.4 and later do)"
        )),
        Err(f) => Line::fail(format!(
            "ollama: cannot tell whether the model supports tools: {}",
            f.message
        )),
    }
}

/// The TTS hook runs and produces audio.
fn tts_line(config: &Config) -> Line {
    match Tts::new(&config.tts).check() {
        Ok(what) => Line::ok(format!("tts: {what}")),
        Err(f) => Line::fail(format!("tts: {}", f.message)),
    }
}

/// Every voice in `[tts.voices]` exists: for espeak-ng in its voice list, for other engines by
/// synthesizing with each (only when the command uses `{voice}`).
fn voices_line(config: &Config) -> Option<Line> {
    let tts = &config.tts;
    if !tts.command.iter().any(|a| a.contains("{voice}")) {
        return None;
    }
    let program = tts.command.first().map_or("", String::as_str);
    if voice::is_espeak(&tts.command) {
        return Some(
            match voice::missing_espeak_voices(program, tts.voices.values().map(String::as_str)) {
                Ok(missing) if missing.is_empty() => Line::ok(format!(
                    "tts: {program} has all {} voices of [tts.voices]",
                    tts.voices.len()
                )),
                Ok(missing) => Line::fail(format!(
                    "tts: {program} has no voice {}; see `{program} --voices` and fix [tts.voices]",
                    missing.join(", ")
                )),
                Err(e) => Line::fail(format!("tts: cannot list the voices: {e}")),
            },
        );
    }
    let engine = Tts::new(tts);
    let failed: Vec<String> = tts
        .voices
        .keys()
        .filter_map(|lang| {
            let e = engine
                .synthesize("ok", lang, &crate::cancel::Token::new())
                .err()?;
            Some(format!("{lang} ({})", e.message))
        })
        .collect();
    Some(if failed.is_empty() {
        Line::ok(format!(
            "tts: every voice of [tts.voices] speaks ({})",
            tts.voices.len()
        ))
    } else {
        Line::fail(format!(
            "tts: these voices of [tts.voices] fail: {}",
            failed.join("; ")
        ))
    })
}

/// The STT hook is installed and starts (or the HTTP endpoint is configured).
fn stt_line(config: &Config) -> Line {
    match Stt::new(&config.stt).check() {
        Ok(what) => Line::ok(format!("stt: {what}")),
        Err(why) => Line::fail(format!("stt: {why}")),
    }
}

/// The configured input and output devices exist, by the rule capture and playback use.
fn audio_lines(config: &Config) -> Vec<Line> {
    let line = |direction, name: &str| match devices::find(direction, name) {
        Ok(_) => Line::ok(format!("audio: {direction} device \"{name}\" is present")),
        Err(e) => Line::fail(format!("audio: {e}")),
    };
    vec![
        line(Direction::Input, &config.audio.input_device),
        line(Direction::Output, &config.audio.output_device),
    ]
}

/// The GPIO buttons (and LED) can be claimed, if configured.
fn gpio_line(config: &Config) -> Line {
    let pins = Role::pins(&config.button);
    if pins.is_empty() && config.button.led_gpio.is_none() {
        return Line::ok(
            "gpio: no button configured (button.gpio); the control socket is the trigger",
        );
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    match Button::spawn(&config.button, tx) {
        Ok(_) => {
            let pins: Vec<String> = pins
                .iter()
                .map(|(n, role)| match &config.button.chip {
                    Some(chip) => format!("{} on {} line {n}", role.name(), chip.display()),
                    None => format!("{} on BCM {n}", role.name()),
                })
                .collect();
            Line::ok(format!("gpio: {} usable", pins.join(", ")))
        }
        Err(why) => Line::fail(format!("gpio: {why}")),
    }
}

/// One line per `[[tools.mcp]]` server: connected and how many tools, or why not. The servers
/// are tried at once, each within a bound (a stdio server may take seconds to start).
fn mcp_lines(config: &Config) -> Vec<Line> {
    let timeout = config
        .tools
        .call_timeout
        .max(std::time::Duration::from_secs(30));
    std::thread::scope(|scope| {
        let probes: Vec<_> = config
            .tools
            .mcp
            .iter()
            .map(|server| {
                (
                    server,
                    scope.spawn(move || crate::mcp::probe(server, timeout)),
                )
            })
            .collect();
        probes
            .into_iter()
            .map(|(server, probe)| {
                let name = &server.name;
                match probe.join() {
                    Ok(Ok(n)) => Line::ok(format!(
                        "mcp {name}: connected, {n} tool{} ({})",
                        if n == 1 { "" } else { "s" },
                        server.target()
                    )),
                    Ok(Err(why)) => Line::fail(format!("mcp {name}: {why}")),
                    Err(_) => Line::fail(format!("mcp {name}: the check failed")),
                }
            })
            .collect()
    })
}
