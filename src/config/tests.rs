//! Table tests for config parsing and validation.

use std::time::Duration;

use super::*;
use locate::Place;

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

pub(super) fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse(
        text,
        Some(Path::new("/etc/voicebox/voicebox.toml")),
        &no_env,
    )
}

#[test]
fn the_shipped_file_parses_and_equals_the_empty_file() {
    let shipped = parse(DEFAULT_TOML, None, &no_env).expect("config/voicebox.toml must parse");
    let empty = parse("", None, &no_env).unwrap();
    assert_eq!(
        shipped, empty,
        "every default must come from config/voicebox.toml"
    );
    assert_eq!(shipped.ollama.url.to_string(), DEFAULT_URL);
    assert_eq!(shipped.ollama.attempts, 3);
    assert_eq!(shipped.ollama.backoff_initial, Duration::from_millis(500));
    assert!(!shipped.ollama.stream);
    assert_eq!(
        shipped.tts.command,
        ["espeak-ng", "--stdout", "-v", "{voice}", "--stdin"]
    );
    assert_eq!(shipped.tts.voices["zh"], "cmn-latn-pinyin");
    assert_eq!(shipped.stt.language, None);
    assert_eq!(
        shipped.messages.get("didnt_catch", "zh", "en"),
        "抱歉，我没听清楚。"
    );
    assert_eq!(shipped.button.gpio, None);
    assert_eq!(shipped.button.mode, ButtonMode::Hold);
    assert_eq!(shipped.ollama.options["num_predict"], 256);
}

#[test]
fn user_values_override_defaults() {
    let c = parse_str("[ollama]\nurl = \"https://box.lan/ollama/\"\nattempts = 5\n[button]\ngpio = 17\nmode = \"toggle\"\n").unwrap();
    assert_eq!(c.ollama.url.to_string(), "https://box.lan/ollama");
    assert_eq!(c.ollama.attempts, 5);
    assert_eq!(c.ollama.model, "llama3.2");
    assert_eq!(c.button.gpio, Some(17));
    assert_eq!(c.button.mode, ButtonMode::Toggle);
}

#[test]
fn button_chip_is_a_path_and_lifts_the_bcm_range() {
    assert_eq!(parse_str("").unwrap().button.chip, None);
    let c = parse_str("[button]\nchip = \"gpiochip2\"\ngpio = 99\nled_gpio = 200\n").unwrap();
    assert_eq!(c.button.chip, Some(PathBuf::from("/dev/gpiochip2")));
    assert_eq!((c.button.gpio, c.button.led_gpio), (Some(99), Some(200)));
    let c = parse_str("[button]\nchip = \"/dev/gpiochip0\"\n").unwrap();
    assert_eq!(c.button.chip, Some(PathBuf::from("/dev/gpiochip0")));
}

#[test]
fn typo_names_key_line_and_valid_keys() {
    let e = parse_str("[ollama]\nmodel = \"x\"\nattemps = 3\n").unwrap_err();
    assert_eq!((e.line, e.column), (3, 1), "{e}");
    assert_eq!(e.key, "ollama.attemps");
    assert!(
        e.message.contains("unknown field `attemps`"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("attempts"),
        "lists the valid keys: {}",
        e.message
    );
    assert!(
        e.to_string()
            .starts_with("/etc/voicebox/voicebox.toml:3:1: ollama.attemps:")
    );
}

/// A table the file has no place for is named as unknown at the top level, not as a key of
/// the section above it.
#[test]
fn an_unknown_table_is_unknown_at_the_top_level() {
    for (text, table, line) in [
        (
            "[control]\nsocket = \"/tmp/s\"\n\n[bogus]\nx = 1\n",
            "bogus",
            4,
        ),
        ("[bogus]\n", "bogus", 1),
        ("[audio]\n[bogus.deeper]\nx = 1\n", "bogus.deeper", 2),
        ("[ollama]\nmodel = \"m\"\n[[bogus]]\nx = 1\n", "bogus", 3),
    ] {
        let e = parse_str(text).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), (table, line), "{text}: {e}");
        assert!(
            e.message.starts_with(&format!(
                "unknown table `[{table}]` at the top level (the tables are `ollama`"
            )),
            "{text}: {}",
            e.message
        );
        assert!(e.message.contains("remove the table"), "{}", e.message);
    }
    // A misspelt table inside a known section is still that section's unknown key.
    let e = parse_str("[ollama.bogus]\nx = 1\n").unwrap_err();
    assert_eq!(e.key, "ollama", "{e}");
    assert!(e.message.contains("unknown field `bogus`"), "{}", e.message);
}

/// (config text, the key the error names, its line, a hint its message holds).
pub(super) type ErrorCase<'a> = (&'a str, &'a str, usize, &'a str);

pub(super) fn assert_errors(cases: &[ErrorCase]) {
    for (text, key, line, hint) in cases {
        let e = parse_str(text).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), (*key, *line), "{text}: {e}");
        assert!(e.message.contains(hint), "{text}: {}", e.message);
    }
}

#[test]
fn invalid_values_are_located_and_explained() {
    assert_errors(&[
        (
            "[ollama]\nurl = \"pi:11434\"\n",
            "ollama.url",
            2,
            "http://pi:11434",
        ),
        (
            "[ollama]\nattempts = 0\n",
            "ollama.attempts",
            2,
            "from 1 to 20",
        ),
        (
            "[ollama]\n\nbackoff_initial_ms = -5\n",
            "ollama.backoff_initial_ms",
            3,
            "out of range",
        ),
        (
            "[ollama]\nrequest_timeout_s = -1.0\n",
            "ollama.request_timeout_s",
            2,
            "out of range",
        ),
        (
            "[ollama]\nendpoint = \"completions\"\n",
            "ollama.endpoint",
            2,
            "\"generate\", \"chat\"",
        ),
        ("[tts]\ncommand = []\n", "tts.command", 2, "argv array"),
        ("[button]\ngpio = 99\n", "button.gpio", 2, "BCM"),
        (
            "[button]\nchip = \"gpiochip0\"\ngpio = 300\n",
            "button.gpio",
            3,
            "line offset",
        ),
        (
            "[button]\nchip = \"dev/gpiochip0\"\n",
            "button.chip",
            2,
            "gpiochip0",
        ),
        ("[audio]\nvolume = 7.5\n", "audio.volume", 2, "out of range"),
        (
            "[control]\nsocket = \"voicebox.sock\"\n",
            "control.socket",
            2,
            "absolute",
        ),
    ]);
}

#[test]
fn wrong_type_and_bad_syntax_are_located() {
    let e = parse_str("[ollama]\nattempts = \"three\"\n").unwrap_err();
    assert_eq!((e.line, e.key.as_str()), (2, "ollama.attempts"), "{e}");
    assert!(e.message.contains("integer"), "{}", e.message);
    let e = parse_str("[ollama\nmodel = 1\n").unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn ollama_host_and_api_key_come_from_the_environment() {
    let env = |k: &str| match k {
        "OLLAMA_HOST" => Some("10.0.0.5".to_string()),
        "OLLAMA_API_KEY" => Some("sekrit".to_string()),
        _ => None,
    };
    let c = parse("", None, &env).unwrap();
    assert_eq!(c.ollama.url.to_string(), "http://10.0.0.5:11434");
    assert_eq!(c.ollama.api_key.as_deref(), Some("sekrit"));
    assert!(
        !format!("{c:?}").contains("sekrit"),
        "Debug must redact the token"
    );
    // The file wins over the environment.
    let c = parse(
        "[ollama]\nurl = \"http://a:1\"\napi_key = \"k2\"\n",
        None,
        &env,
    )
    .unwrap();
    assert_eq!(
        (
            c.ollama.url.to_string().as_str(),
            c.ollama.api_key.as_deref()
        ),
        ("http://a:1", Some("k2"))
    );
}

#[test]
fn speech_urls_pick_the_protocol_by_scheme() {
    let c = parse_str(
        "[stt]\nurl = \"tcp://192.168.1.20:10300/\"\n[tts]\nurl = \"https://box.lan/v1/audio/speech/\"\n",
    )
    .unwrap();
    assert_eq!(
        c.stt.url,
        Some(SpeechServer::Wyoming("192.168.1.20:10300".into()))
    );
    let Some(SpeechServer::Http(url)) = &c.tts.url else {
        panic!("{:?}", c.tts.url);
    };
    assert_eq!(url.base(), "https://box.lan/v1/audio/speech");
    assert_eq!(
        parse_str("").unwrap().stt.url,
        None,
        "absent: the command hook"
    );
    for (url, hint) in [
        ("tcp://box.lan", "needs a host and a port"),
        ("tcp://:10300", "needs a host and a port"),
        ("tcp://box:0", "from 1 to 65535"),
        ("tcp://box:99999", "from 1 to 65535"),
        ("tcp://u:p@box:10300", "no authentication"),
        ("tcp://box:10300/x", "has a path"),
        ("udp://box:10300", "tcp://host:port"),
        ("box:10300", "no scheme"),
    ] {
        let e = parse_str(&format!("[stt]\nurl = \"{url}\"\n")).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("stt.url", 2), "{url}: {e}");
        assert!(e.message.contains(hint), "{url}: {}", e.message);
    }
}

#[test]
fn speech_tokens_come_from_the_file_or_the_environment_and_are_never_shown() {
    let env = |k: &str| match k {
        "VOICEBOX_STT_API_KEY" => Some("stt-sekrit".to_string()),
        "VOICEBOX_TTS_API_KEY" => Some("tts-sekrit".to_string()),
        _ => None,
    };
    let c = parse("", None, &env).unwrap();
    assert_eq!(c.stt.api_key.as_deref(), Some("stt-sekrit"));
    assert_eq!(c.tts.api_key.as_deref(), Some("tts-sekrit"));
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("sekrit"),
        "Debug must redact the tokens: {shown}"
    );
    let c = parse_str("[tts]\nurl = \"http://u:pa55@box:8880/v1/audio/speech\"\n").unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("pa55") && shown.contains("http://u:***@box:8880/v1/audio/speech"),
        "{shown}"
    );
    // A token beside a URL with a password: one Authorization header cannot carry both.
    for (section, var) in [
        ("stt", "VOICEBOX_STT_API_KEY"),
        ("tts", "VOICEBOX_TTS_API_KEY"),
    ] {
        let text = format!("[{section}]\nurl = \"http://u:pa55@box:8880/x\"\n");
        let e = parse(&text, None, &env).unwrap_err();
        assert!(
            e.message.contains(&format!(
                "${var} is set and {section}.url has a user and password"
            )),
            "{e}"
        );
    }
}

#[test]
fn url_credentials_are_kept_apart_and_never_shown() {
    let c = parse_str("[ollama]\nurl = \"http://me:hunter2@box.lan:8080/\"\n[stt]\nurl = \"https://s:hunter2@stt.lan/v1/audio/transcriptions\"\n").unwrap();
    assert_eq!(c.ollama.url.base(), "http://box.lan:8080");
    assert!(c.ollama.url.authorization().is_some());
    assert!(
        !format!("{c:?}").contains("hunter2"),
        "Debug must redact: {c:?}"
    );
    // Errors in URL keys are located and never quote the password.
    for text in [
        "[ollama]\nurl = \"http://me:hunter2@box.lan:70000\"\n",
        "[stt]\nurl = \"me:hunter2@box.lan\"\n",
    ] {
        let e = parse_str(text).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(
            e.to_string().contains("me:***@") && !e.to_string().contains("hunter2"),
            "{e}"
        );
    }
    let env =
        |k: &str| (k == "OLLAMA_HOST").then(|| "http://me:hunter2@10.0.0.5:99999".to_string());
    let e = parse("", None, &env).unwrap_err();
    assert!(
        e.message.contains("OLLAMA_HOST") && !e.message.contains("hunter2"),
        "{e}"
    );
}

#[test]
fn api_key_is_one_line_and_not_beside_url_credentials() {
    let e = parse_str("[ollama]\napi_key = \"sek\\nrit\"\n").unwrap_err();
    assert_eq!((e.key.as_str(), e.line), ("ollama.api_key", 2), "{e}");
    assert!(
        e.message.contains("line break") && !e.message.contains("sek"),
        "{e}"
    );
    let env = |k: &str| (k == "OLLAMA_API_KEY").then(|| "token\r\n".to_string());
    let e = parse("", None, &env).unwrap_err();
    assert!(
        e.message.contains("$OLLAMA_API_KEY") && e.message.contains("line break"),
        "{e}"
    );
    let e = parse_str("[ollama]\nurl = \"http://u:p@h\"\napi_key = \"k\"\n").unwrap_err();
    assert!(e.message.contains("one Authorization header"), "{e}");
}

#[test]
fn control_socket_default_is_never_a_guessable_path_in_a_shared_dir() {
    // (environment, effective uid, socket)
    let systemd: &[(&str, &str)] = &[("RUNTIME_DIRECTORY", "/run/voicebox:/run/other")];
    let laptop: &[(&str, &str)] = &[("XDG_RUNTIME_DIR", "/run/user/1000")];
    let root_login: &[(&str, &str)] = &[("XDG_RUNTIME_DIR", "/run/user/0")];
    for (env, uid, want) in [
        (systemd, 998, "/run/voicebox/control.sock"),
        (laptop, 1000, "/run/user/1000/voicebox.sock"),
        // ssh without a login session: logind's directory all the same, never /tmp.
        (&[][..], 1000, "/run/user/1000/voicebox.sock"),
        // `sudo voicebox ctl` (sudo drops $XDG_RUNTIME_DIR) and root's own login shell alike
        // reach the system service's socket.
        (&[][..], 0, "/run/voicebox/control.sock"),
        (root_login, 0, "/run/voicebox/control.sock"),
    ] {
        let lookup = |k: &str| {
            env.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        assert_eq!(
            rules::default_socket(&lookup, uid),
            Path::new(want),
            "{env:?} uid {uid}"
        );
    }
    // What `parse` uses, for this process.
    let laptop = |k: &str| (k == "RUNTIME_DIRECTORY").then(|| "/run/x".to_string());
    assert_eq!(
        parse("", None, &laptop).unwrap().control.socket,
        Path::new("/run/x/control.sock")
    );
}

#[test]
fn source_choice_and_missing_files() {
    let env = |k: &str| (k == "VOICEBOX_CONFIG").then(|| "/x/from-env.toml".to_string());
    assert_eq!(
        choose_source(Some(Path::new("/a.toml")), &env),
        Source::Explicit(PathBuf::from("/a.toml"))
    );
    assert_eq!(
        choose_source(None, &env),
        Source::Explicit(PathBuf::from("/x/from-env.toml"))
    );
    assert_eq!(
        choose_source(None, &no_env),
        Source::Default(PathBuf::from(DEFAULT_PATH))
    );
    let missing = PathBuf::from("/nonexistent/voicebox.toml");
    assert_eq!(
        load(&Source::Default(missing.clone())),
        parse(DEFAULT_TOML, None, &|k| std::env::var(k).ok()),
        "a missing default file means the defaults"
    );
    let e = load(&Source::Explicit(missing)).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
}

/// Every key `keys.rs` defines, with its rule's range, as `build` reads them.
fn every_key() -> Vec<(String, Option<rules::Bounds>)> {
    let place = Place {
        file: "<test>",
        text: "",
    };
    let reader = Reader::new(place, &no_env);
    build(&reader, Raw::default(), defaults().unwrap()).unwrap();
    reader.seen.take()
}

#[test]
fn every_key_is_documented_in_the_shipped_file() {
    let keys = every_key();
    assert!(keys.len() > 50, "only {} keys seen", keys.len());
    for (key, _) in keys {
        // "messages.zh.unreachable" is `unreachable` in `[messages.zh]`.
        let (table, name) = key.rsplit_once('.').unwrap();
        let body = DEFAULT_TOML
            .split(&format!("\n[{table}]\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no [{table}] in config/voicebox.toml"));
        let body = body.split("\n[").next().unwrap_or(body);
        let documented = body.lines().any(|l| {
            let l = l.trim_start_matches("# ");
            l.starts_with(&format!("{name} = "))
        }) || DEFAULT_TOML.contains(&format!("\n[{key}]\n"));
        assert!(
            documented,
            "{key} is not in config/voicebox.toml: add it with its default (commented out when it has none)"
        );
    }
}

#[test]
fn every_range_error_names_the_key_and_the_range() {
    let ranged: Vec<_> = every_key()
        .into_iter()
        .filter_map(|(key, bounds)| bounds.map(|b| (key, b)))
        .collect();
    assert!(ranged.len() > 20, "only {} ranged keys", ranged.len());
    for (key, bounds) in ranged {
        let (table, name) = key.rsplit_once('.').unwrap();
        let write = |value: &str| parse_str(&format!("[{table}]\n{name} = {value}\n"));
        // (as written in TOML, as the message shows it)
        let (inside, outside, min, max) = match bounds {
            rules::Bounds::Int(min, max) => {
                let both = |v: i64| (v.to_string(), v.to_string());
                (
                    [both(min), both(max)],
                    [both(min - 1), both(max + 1)],
                    min.to_string(),
                    max.to_string(),
                )
            }
            rules::Bounds::Float(min, max) => {
                let both = |v: f64| (format!("{v:?}"), v.to_string());
                (
                    [both(min), both(max)],
                    [both(min - 1.0), both(max + 1.0)],
                    min.to_string(),
                    max.to_string(),
                )
            }
        };
        for (v, _) in inside {
            // Also proves the range fits the field's type.
            assert!(write(&v).is_ok(), "{key} = {v}: {:?}", write(&v));
        }
        for (v, shown) in outside {
            let e = write(&v).unwrap_err();
            assert_eq!(
                (e.key.as_str(), e.line, e.column),
                (key.as_str(), 2, name.len() + 4),
                "{e}"
            );
            let text = e.to_string();
            assert!(
                text.contains(&shown) && text.contains(&min) && text.contains(&max),
                "{key} = {v} must name the value and the range {min}..{max}: {text}"
            );
        }
    }
}

#[test]
fn a_rule_may_use_a_key_above_it() {
    let c = parse_str("[ollama]\nbackoff_initial_ms = 9000\nbackoff_max_ms = 100\n").unwrap();
    assert_eq!(c.ollama.backoff_max, Duration::from_millis(9000));
    let c = parse_str("[tts]\nformat = \"raw\"\nraw_rate = 16000\nraw_sample_format = \"f32le\"\n")
        .unwrap();
    assert_eq!(
        c.tts.format,
        TtsFormat::Raw {
            rate: 16000,
            channels: 1,
            format: SampleFormat::F32Le
        }
    );
}
