//! Ollama base URLs: the strict form for the config file and the lenient `$OLLAMA_HOST` forms,
//! both as `url::Url` (credentials kept apart, never shown).
//!
//! `$OLLAMA_HOST` follows the official clients (ollama-python `_parse_host`, Go `envconfig`):
//! a bare host gets `http://` and port 11434, `:port` means 127.0.0.1, an explicit scheme
//! without a port means 80/443, and a path prefix is kept.

use crate::url::{Url, split_port};

pub const DEFAULT_URL: &str = "http://127.0.0.1:11434";

/// A config-file URL: http or https, scheme required, user info sent as Basic authentication.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "scheme \"{}\" is not supported; use http:// or https://",
            url.scheme()
        ));
    }
    Ok(url)
}

/// `$OLLAMA_HOST` in any form the official clients accept, user info included
/// (`http://user:pass@host:port`).
pub fn from_env(value: &str) -> Result<Url, String> {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if v.is_empty() {
        return parse_url(DEFAULT_URL);
    }
    let (scheme, rest, default_port) = match v.split_once("://") {
        Some(("http", r)) => ("http", r, "80"),
        Some(("https", r)) => ("https", r, "443"),
        Some((s, _)) => return Err(format!("OLLAMA_HOST scheme \"{s}\" is not supported")),
        None => ("http", v, "11434"),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    // User info first: its ':' is not a port separator.
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let (host, port) = split_port(hostport);
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let port = port.unwrap_or(default_port);
    if !port.parse::<u16>().is_ok_and(|p| p >= 1) {
        return Err(format!(
            "OLLAMA_HOST port \"{port}\" is not a number from 1 to 65535"
        ));
    }
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    parse_url(&format!("{scheme}://{userinfo}{host}:{port}{path}"))
        .map_err(|e| format!("OLLAMA_HOST {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_forms_match_the_official_clients() {
        let cases = [
            ("", "http://127.0.0.1:11434"),
            ("1.2.3.4", "http://1.2.3.4:11434"),
            (":56789", "http://127.0.0.1:56789"),
            ("1.2.3.4:56789", "http://1.2.3.4:56789"),
            ("http://1.2.3.4", "http://1.2.3.4:80"),
            ("https://1.2.3.4", "https://1.2.3.4:443"),
            ("https://1.2.3.4:56789", "https://1.2.3.4:56789"),
            ("example.com", "http://example.com:11434"),
            ("example.com:56789", "http://example.com:56789"),
            ("example.com/path", "http://example.com:11434/path"),
            (
                "https://example.com/ollama/",
                "https://example.com:443/ollama",
            ),
            (
                "[0001:002:003:0004::1]",
                "http://[0001:002:003:0004::1]:11434",
            ),
            ("[::1]:56789", "http://[::1]:56789"),
            ("::1", "http://[::1]:11434"),
            ("\"localhost:1234\"", "http://localhost:1234"),
            ("  0.0.0.0  ", "http://0.0.0.0:11434"),
        ];
        for (input, want) in cases {
            let url = from_env(input).unwrap_or_else(|e| panic!("OLLAMA_HOST={input:?}: {e}"));
            assert_eq!(url.to_string(), want, "OLLAMA_HOST={input:?}");
        }
    }

    #[test]
    fn env_with_user_info_keeps_it_apart() {
        for (input, shown, base) in [
            (
                "http://user:pass@10.0.0.2:8080",
                "http://user:***@10.0.0.2:8080",
                "http://10.0.0.2:8080",
            ),
            (
                "user:pass@box.lan",
                "http://user:***@box.lan:11434",
                "http://box.lan:11434",
            ),
            (
                "https://u:p@[::1]/ollama/",
                "https://u:***@[::1]:443/ollama",
                "https://[::1]:443/ollama",
            ),
            (
                "u:p@:9000",
                "http://u:***@127.0.0.1:9000",
                "http://127.0.0.1:9000",
            ),
        ] {
            let url = from_env(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(url.to_string(), shown, "{input}");
            assert_eq!(url.base(), base, "{input}");
            assert!(url.authorization().is_some(), "{input}");
        }
    }

    #[test]
    fn env_rejects_nonsense() {
        assert!(from_env("ftp://x").is_err());
        assert!(from_env("host:notaport").is_err());
        for bad in [
            "http://u:hunter2@h:99999",
            "u:hunter2@h:0",
            "http://u:hunter2@h:x",
        ] {
            let e = from_env(bad).unwrap_err();
            assert!(
                e.contains("1 to 65535") && !e.contains("hunter2"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn config_url_needs_a_scheme() {
        assert_eq!(
            parse_url("http://pi:11434/").unwrap().base(),
            "http://pi:11434"
        );
        assert!(
            parse_url("pi:11434")
                .unwrap_err()
                .contains("http://pi:11434")
        );
        assert!(parse_url("ftp://pi").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("http://pi:99999").is_err());
        assert!(parse_url("http://u:p@pi:99999").is_err());
    }
}
