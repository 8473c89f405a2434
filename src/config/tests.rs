//! Table tests for config parsing and validation.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse_str(text: &str) -> Result<Config, ConfigError> {
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
    assert_eq!(shipped.ollama.url, DEFAULT_URL);
    assert_eq!(shipped.ollama.attempts, 3);
    assert_eq!(shipped.ollama.backoff_initial, Duration::from_millis(500));
    assert!(!shipped.ollama.stream);
    assert_eq!(shipped.tts.command, ["espeak-ng", "--stdout", "--stdin"]);
    assert_eq!(shipped.button.gpio, None);
    assert_eq!(shipped.button.mode, ButtonMode::Hold);
    assert_eq!(shipped.ollama.options["num_predict"], 256);
}

#[test]
fn user_values_override_defaults() {
    let c = parse_str("[ollama]\nurl = \"https://box.lan/ollama/\"\nattempts = 5\n[button]\ngpio = 17\nmode = \"toggle\"\n").unwrap();
    assert_eq!(c.ollama.url, "https://box.lan/ollama");
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

#[test]
fn invalid_values_are_located_and_explained() {
    let cases: &[(&str, &str, usize, &str)] = &[
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
    ];
    for (text, key, line, hint) in cases {
        let e = parse_str(text).unwrap_err();
        assert_eq!(&e.key, key, "{text}");
        assert_eq!(e.line, *line, "{text}: {e}");
        assert!(e.message.contains(hint), "{text}: {}", e.message);
    }
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
    assert_eq!(c.ollama.url, "http://10.0.0.5:11434");
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
        (c.ollama.url.as_str(), c.ollama.api_key.as_deref()),
        ("http://a:1", Some("k2"))
    );
}

#[test]
fn control_socket_default_follows_the_runtime_dir() {
    let systemd = |k: &str| (k == "RUNTIME_DIRECTORY").then(|| "/run/voicebox".to_string());
    assert_eq!(
        parse("", None, &systemd).unwrap().control.socket,
        Path::new("/run/voicebox/control.sock")
    );
    let laptop = |k: &str| (k == "XDG_RUNTIME_DIR").then(|| "/run/user/1000".to_string());
    assert_eq!(
        parse("", None, &laptop).unwrap().control.socket,
        Path::new("/run/user/1000/voicebox.sock")
    );
    assert!(
        parse("", None, &no_env)
            .unwrap()
            .control
            .socket
            .starts_with("/tmp")
    );
}

#[test]
fn path_choice_and_missing_files() {
    let env = |k: &str| (k == "VOICEBOX_CONFIG").then(|| "/x/from-env.toml".to_string());
    assert_eq!(
        choose_path(Some(Path::new("/a.toml")), &env),
        (PathBuf::from("/a.toml"), true)
    );
    assert_eq!(
        choose_path(None, &env),
        (PathBuf::from("/x/from-env.toml"), true)
    );
    assert_eq!(
        choose_path(None, &no_env),
        (PathBuf::from(DEFAULT_PATH), false)
    );
    let missing = Path::new("/nonexistent/voicebox.toml");
    assert!(
        load(missing, false).is_ok(),
        "a missing default file means the defaults"
    );
    let e = load(missing, true).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
}
