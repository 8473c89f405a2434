//! Ollama base URLs: the strict form for the config file and the lenient `$OLLAMA_HOST` forms.
//!
//! `$OLLAMA_HOST` follows the official clients (ollama-python `_parse_host`, Go `envconfig`):
//! a bare host gets `http://` and port 11434, `:port` means 127.0.0.1, an explicit scheme
//! without a port means 80/443, and a path prefix is kept.

pub const DEFAULT_URL: &str = "http://127.0.0.1:11434";

/// A config-file URL: scheme required. Returns the URL without a trailing slash.
pub fn parse_url(text: &str) -> Result<String, String> {
    let t = text.trim();
    let Some((scheme, rest)) = t.split_once("://") else {
        return Err(format!("\"{t}\" has no scheme; write \"http://{t}\""));
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "scheme \"{scheme}\" is not supported; use http:// or https://"
        ));
    }
    let (hostport, _) = split_path(rest);
    if hostport.is_empty() {
        return Err(format!("\"{t}\" has no host"));
    }
    check_port(hostport)?;
    Ok(t.trim_end_matches('/').to_string())
}

/// `$OLLAMA_HOST` in any form the official clients accept.
pub fn from_env(value: &str) -> Result<String, String> {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if v.is_empty() {
        return Ok(DEFAULT_URL.to_string());
    }
    let (scheme, rest, default_port) = match v.split_once("://") {
        Some(("http", r)) => ("http", r, "80"),
        Some(("https", r)) => ("https", r, "443"),
        Some((s, _)) => return Err(format!("OLLAMA_HOST scheme \"{s}\" is not supported")),
        None => ("http", v, "11434"),
    };
    let (hostport, path) = split_path(rest);
    let (host, port) = split_port(hostport);
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let port = port.unwrap_or(default_port);
    if port.parse::<u16>().is_err() {
        return Err(format!("OLLAMA_HOST port \"{port}\" is not a number"));
    }
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(format!(
        "{scheme}://{host}:{port}{}",
        path.trim_end_matches('/')
    ))
}

fn split_path(rest: &str) -> (&str, &str) {
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

/// Splits `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address or a bare host.
fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if let Some(end) = hostport.find(']') {
        let host = &hostport[..=end];
        let port = hostport[end + 1..].strip_prefix(':');
        return (host, port);
    }
    match hostport.matches(':').count() {
        1 => {
            let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
            (h, Some(p))
        }
        _ => (hostport, None),
    }
}

fn check_port(hostport: &str) -> Result<(), String> {
    match split_port(hostport).1 {
        Some(p) if p.parse::<u16>().is_err() => Err(format!("port \"{p}\" is not a number")),
        _ => Ok(()),
    }
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
            assert_eq!(
                from_env(input).as_deref(),
                Ok(want),
                "OLLAMA_HOST={input:?}"
            );
        }
    }

    #[test]
    fn env_rejects_nonsense() {
        assert!(from_env("ftp://x").is_err());
        assert!(from_env("host:notaport").is_err());
    }

    #[test]
    fn config_url_needs_a_scheme() {
        assert_eq!(parse_url("http://pi:11434/").unwrap(), "http://pi:11434");
        assert!(
            parse_url("pi:11434")
                .unwrap_err()
                .contains("http://pi:11434")
        );
        assert!(parse_url("ftp://pi").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("http://pi:99999").is_err());
    }
}
