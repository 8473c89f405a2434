//! URLs from the config and the environment, with their credentials kept apart.
//!
//! A proxy with HTTP Basic authentication in front of Ollama (which has none of its own) is
//! configured as `http://user:pass@host/`. A `Url` sends those credentials as an
//! `Authorization: Basic` header (`authorization`), requests go to `base` (no user info, so no
//! HTTP library can echo it back in an error), and it shows itself — Display, Debug, every log
//! line, `check`, every message — as `http://user:***@host`. `redact` does the same for text
//! that failed to parse. Every URL key (`ollama.url`, `$OLLAMA_HOST`, `stt.url`, …) is one.

use std::fmt;

use base64::Engine as _;
use percent_encoding::percent_decode_str;

#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    scheme: String,
    /// `scheme://host[:port][/path]`: what requests are sent to.
    base: String,
    /// The user as written (percent-encoded), shown; `None` without user info.
    user: Option<String>,
    /// Whether a password was given (it is never shown).
    has_password: bool,
    /// `Basic base64(user:password)`, from the percent-decoded parts.
    authorization: Option<String>,
}

impl Url {
    /// Parses `scheme://[user[:password]@]host[:port][/path]`. The port must be 1–65535, IPv6
    /// hosts are in brackets, and the URL holds no spaces or control characters. The trailing
    /// slash of the path is dropped (paths are appended to `base`). Errors never hold the
    /// password.
    pub fn parse(text: &str) -> Result<Url, String> {
        let t = text.trim();
        let shown = redact(t);
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "\"{}\" contains spaces or control characters",
                shown.escape_default()
            ));
        }
        let Some((scheme, rest)) = t.split_once("://") else {
            return Err(format!(
                "\"{shown}\" has no scheme; write \"http://{shown}\""
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("\"{shown}\" has no valid scheme"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (host, port) = split_port(hostport);
        if host.is_empty() || host == "[]" {
            return Err(format!("\"{shown}\" has no host"));
        }
        if host.contains(':') && !host.starts_with('[') {
            return Err(format!(
                "\"{shown}\": write an IPv6 address in brackets, e.g. http://[::1]:11434"
            ));
        }
        if let Some(p) = port
            && !p.parse::<u16>().is_ok_and(|p| p >= 1)
        {
            return Err(format!(
                "\"{shown}\": port \"{p}\" is not a number from 1 to 65535"
            ));
        }
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, password)) => (Some(user), Some(password)),
                None => (Some(u), None),
            },
            None => (None, None),
        };
        let decode = |part: &str| {
            percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| {
                    format!("\"{shown}\": the user or password is not valid percent-encoded UTF-8")
                })
        };
        let authorization = match user {
            Some(u) => {
                let pair = format!("{}:{}", decode(u)?, decode(password.unwrap_or(""))?);
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            None => None,
        };
        Ok(Url {
            base: format!("{scheme}://{hostport}{}", path.trim_end_matches('/')),
            scheme,
            user: user.map(str::to_string),
            has_password: password.is_some(),
            authorization,
        })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The URL without user info, e.g. `http://pi:11434/ollama`: where requests go.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `base` with `path` appended (`path` starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `Authorization` header value for the URL's user info, if it has any.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    /// The `Authorization` header of a request to this URL: `Bearer token` when a token is
    /// configured, else the user info's Basic (the config refuses both at once).
    pub fn authorization_with(&self, token: Option<&str>) -> Option<String> {
        match token {
            Some(t) => Some(format!("Bearer {t}")),
            None => self.authorization.clone(),
        }
    }
}

impl fmt::Display for Url {
    /// `http://user:***@host:port/path`; without user info, the URL itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(user) = &self.user else {
            return f.write_str(&self.base);
        };
        let rest = &self.base[self.scheme.len() + 3..];
        let password = if self.has_password { ":***" } else { "" };
        write!(f, "{}://{user}{password}@{rest}", self.scheme)
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({self})")
    }
}

/// Any URL-like text with the password of its user info replaced by `***` (for text that is
/// not a valid `Url`: a parse error, a server's `Location` header).
pub fn redact(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => text.split_at(i + 3),
        None => ("", text),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            let hidden = if rest[..at].contains(':') { ":***" } else { "" };
            format!("{scheme}{user}{hidden}@{}", &rest[at + 1..])
        }
        None => text.to_string(),
    }
}

/// Splits `host:port`, `[v6]:port` or `[v6]`; a bare IPv6 address or host has no port.
pub fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if hostport.starts_with('[')
        && let Some(end) = hostport.find(']')
    {
        return (&hostport[..=end], hostport[end + 1..].strip_prefix(':'));
    }
    match hostport.matches(':').count() {
        1 => {
            let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
            (h, Some(p))
        }
        _ => (hostport, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_become_basic_auth_and_are_never_shown() {
        // (text, base, shown, decoded "user:password" in the header)
        for (text, base, shown, pair) in [
            (
                "http://pi:11434/",
                "http://pi:11434",
                "http://pi:11434",
                None,
            ),
            (
                "http://u:s3cret@pi:11434/x",
                "http://pi:11434/x",
                "http://u:***@pi:11434/x",
                Some("u:s3cret"),
            ),
            (
                "https://bob@box.lan/ollama/",
                "https://box.lan/ollama",
                "https://bob@box.lan/ollama",
                Some("bob:"),
            ),
            // Percent-encoded user info is decoded for the header; an '@' in the password too.
            (
                "http://me%40home:p%3Aw@d@[::1]:8080",
                "http://[::1]:8080",
                "http://me%40home:***@[::1]:8080",
                Some("me@home:p:w@d"),
            ),
            ("HTTP://a:b@h", "http://h", "http://a:***@h", Some("a:b")),
        ] {
            let u = Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(u.base(), base, "{text}");
            assert_eq!(u.to_string(), shown, "{text}");
            assert_eq!(format!("{u:?}"), format!("Url({shown})"));
            let decoded = u.authorization().map(|h| {
                let b64 = h.strip_prefix("Basic ").unwrap();
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                String::from_utf8(raw).unwrap()
            });
            assert_eq!(decoded.as_deref(), pair, "{text}");
        }
    }

    #[test]
    fn bad_urls_are_refused_without_showing_the_password() {
        for (text, words) in [
            ("pi:11434", "has no scheme; write \"http://pi:11434\""),
            ("u:hunter2@pi:11434", "\"http://u:***@pi:11434\""),
            (
                "http://u:hunter2@pi:99999",
                "port \"99999\" is not a number from 1 to 65535",
            ),
            ("http://u:hunter2@pi:0", "port \"0\""),
            ("http://u:hunter2@pi:", "port \"\""),
            ("http://u:hunter2@:80", "has no host"),
            ("http://", "has no host"),
            ("http://u:hunter2@::1:80/", "IPv6 address in brackets"),
            ("http://u:hun ter2@pi", "spaces or control characters"),
            ("http://u:hunter2\n@pi", "spaces or control characters"),
            ("http://u:%ff@pi", "percent-encoded"),
        ] {
            let e = Url::parse(text).unwrap_err();
            assert!(e.contains(words), "{text:?}: {e}");
            assert!(
                !e.contains("hunter2") && !e.contains("hun ter2"),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn redact_hides_only_the_password() {
        for (text, want) in [
            ("http://u:p@h/a@b", "http://u:***@h/a@b"),
            ("http://h/path?x=a:b@c", "http://h/path?x=a:b@c"),
            ("u:p@h", "u:***@h"),
            ("http://tok@h", "http://tok@h"),
            ("no url at all", "no url at all"),
        ] {
            assert_eq!(redact(text), want, "{text}");
        }
    }
}
