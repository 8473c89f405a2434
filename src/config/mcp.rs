//! `[[tools.mcp]]`: the MCP servers whose tools the model may call, one table each.
//!
//! ```toml
//! [[tools.mcp]]
//! name = "home"
//! url = "http://homeassistant.local:8123/api/mcp"
//! token = "eyJ…"                       # sent as Authorization: Bearer; never shown
//!
//! [[tools.mcp]]
//! name = "music"
//! command = ["mpd-mcp-server", "--host", "localhost"]   # started by the daemon, no shell
//! ```

use serde::Deserialize;

use super::host;
use super::rules::Rule;
use crate::mcp::{MAX_SERVERS, Server, Transport};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    name: String,
    command: Option<Vec<String>>,
    url: Option<String>,
    token: Option<String>,
}

/// The list of servers; none when the key is absent.
pub(super) struct McpServers;

impl Rule<Vec<Server>> for McpServers {
    type Raw = Vec<RawServer>;
    fn check(&self, raw: Vec<RawServer>) -> Result<Vec<Server>, String> {
        if raw.len() > MAX_SERVERS {
            return Err(format!(
                "{} servers; at most {MAX_SERVERS} [[tools.mcp]] tables are allowed",
                raw.len()
            ));
        }
        let mut servers: Vec<Server> = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let at = format!("table {} (name = \"{}\")", i + 1, r.name.escape_default());
            let server = one(r).map_err(|m| format!("{at}: {m}"))?;
            if servers.iter().any(|s| s.name == server.name) {
                return Err(format!(
                    "{at}: another server has this name; give each its own"
                ));
            }
            servers.push(server);
        }
        Ok(servers)
    }
    fn absent(&self, _env: super::rules::Env) -> Result<Vec<Server>, String> {
        Ok(Vec::new())
    }
}

fn one(r: RawServer) -> Result<Server, String> {
    let name_ok = (1..=32).contains(&r.name.len())
        && r.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(
            "name must be 1-32 letters, digits, '_' or '-' (it prefixes the server's tool names when two collide), e.g. \"home\"".into(),
        );
    }
    let transport = match (r.command, r.url) {
        (Some(_), Some(_)) => {
            return Err(
                "has both command and url; a server is either started (command) or reached (url)"
                    .into(),
            );
        }
        (None, None) => {
            return Err("needs command = [\"program\", \"arg\"…] (a stdio server the daemon starts) or url = \"http://…\" (streamable HTTP)".into());
        }
        (Some(argv), None) => {
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err("command needs a program: write an argv array such as [\"uvx\", \"mcp-server-time\"]".into());
            }
            if argv.iter().any(|a| a.contains('\0')) {
                return Err("command contains a NUL character".into());
            }
            if r.token.is_some() {
                return Err("token goes with url; a command's server gets its secrets from its own arguments or environment".into());
            }
            Transport::Stdio(argv)
        }
        (None, Some(url)) => {
            let url = host::parse_url(&url).map_err(|m| format!("url: {m}"))?;
            let token = r.token.filter(|t| !t.trim().is_empty());
            if let Some(t) = &token {
                if t.chars().any(char::is_control) {
                    return Err("token contains a line break or another control character; write the token on one line".into());
                }
                if url.authorization().is_some() {
                    return Err("token is set and url has a user and password too; a request carries one Authorization header, so remove one of them".into());
                }
            }
            Transport::Http {
                url,
                token: token.map(|t| t.trim().to_string()),
            }
        }
    };
    Ok(Server {
        name: r.name,
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_errors, parse_str};
    use crate::mcp::Transport;

    #[test]
    fn servers_parse_in_order_and_none_by_default() {
        assert!(parse_str("").unwrap().tools.mcp.is_empty());
        let c = parse_str(
            "[[tools.mcp]]\nname = \"home\"\nurl = \"http://ha.lan:8123/api/mcp\"\ntoken = \"s3cret\"\n\
             [[tools.mcp]]\nname = \"music\"\ncommand = [\"mpd-mcp\", \"--port\", \"6600\"]\n",
        )
        .unwrap();
        let [home, music] = &c.tools.mcp[..] else {
            panic!("{:?}", c.tools.mcp);
        };
        assert_eq!(home.name, "home");
        let Transport::Http { url, token } = &home.transport else {
            panic!("{home:?}");
        };
        assert_eq!(url.base(), "http://ha.lan:8123/api/mcp");
        assert_eq!(token.as_deref(), Some("s3cret"));
        let Transport::Stdio(argv) = &music.transport else {
            panic!("{music:?}");
        };
        assert_eq!(argv, &["mpd-mcp", "--port", "6600"]);
        // The token never shows, in the config's Debug either.
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn bad_tables_are_located_and_explained() {
        let server = |body: &str| format!("[tools]\nenabled = true\n\n[[tools.mcp]]\n{body}");
        let cases = [
            (server("name = \"home\"\n"), "needs command"),
            (
                server("name = \"h\"\ncommand = [\"x\"]\nurl = \"http://a\"\n"),
                "both command and url",
            ),
            (
                server("name = \"my home\"\nurl = \"http://a\"\n"),
                "letters, digits",
            ),
            (server("name = \"h\"\ncommand = []\n"), "needs a program"),
            (
                server("name = \"h\"\ncommand = [\"x\"]\ntoken = \"t\"\n"),
                "token goes with url",
            ),
            (server("name = \"h\"\nurl = \"ftp://a\"\n"), "url: scheme"),
            (
                server("name = \"h\"\nurl = \"http://u:p@a\"\ntoken = \"t\"\n"),
                "one Authorization header",
            ),
            (
                server("name = \"h\"\nurl = \"http://a\"\ntoken = \"t\\nX\"\n"),
                "on one line",
            ),
            (
                server("name = \"h\"\nurl = \"http://a\"\ntokn = \"t\"\n"),
                "unknown field `tokn`",
            ),
            (
                format!(
                    "{}[[tools.mcp]]\nname = \"h\"\ncommand = [\"y\"]\n",
                    server("name = \"h\"\ncommand = [\"x\"]\n")
                ),
                "table 2 (name = \"h\"): another server has this name",
            ),
            (
                format!(
                    "[tools]\n{}",
                    "[[tools.mcp]]\nname = \"a\"\ncommand = [\"x\"]\n".repeat(9)
                )
                .replace("[tools]\n[[", "[[")
                .to_string(),
                "at most 8",
            ),
        ];
        let cases: Vec<_> = cases
            .iter()
            .map(|(text, hint)| {
                (
                    text.as_str(),
                    "tools.mcp",
                    text.find("[[tools.mcp]]")
                        .map_or(0, |i| text[..i].lines().count() + 1),
                    *hint,
                )
            })
            .collect();
        // The error points at the first table (where the array starts).
        assert_errors(&cases);
        let e = parse_str(&server(
            "name = \"h\"\nurl = \"http://a\"\ntoken = \"abc\\u0007\"\n",
        ))
        .unwrap_err();
        assert!(!e.to_string().contains("abc"), "{e}");
    }
}
