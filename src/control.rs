//! The control socket: a Unix stream socket with one command per line (`press`, `release`,
//! `tap`, `cancel`, `status`, `volume N|up|down`, `say TEXT`, `timers`, `tool JSON`), so
//! scripts, home automation and `voicebox ctl` drive the daemon like a finger, and `voicebox
//! ask` hands it the model's tool calls (`tool {"name":…,"arguments":{…},"lang":"zh"}`,
//! answered `ok TEXT` or `error: TEXT`).
//!
//! Every line gets exactly one reply line: `ok`, `ignored: why` (the machine did nothing with
//! a gesture, e.g. a second press while one is held), the status JSON, or `error: ...`. Bad
//! input never ends the server; an over-long line is answered with an error and skipped. A
//! client has `LINE_DEADLINE` to send each line, so silent or trickling clients cannot hold the
//! `MAX_CLIENTS` slots and lock everyone else out.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::bus::EventSender;
use crate::event::{ControlCommand, Event, VolumeChange};
use crate::tools::{self, Call};

/// Longest accepted line: room for an announcement of a few sentences (`say TEXT`); it bounds
/// memory per client, and what waits to be said (the machine keeps at most 8).
pub const MAX_LINE: usize = 4096;
/// What the error for an unknown command lists.
const COMMANDS: &str =
    "try press, release, tap, cancel, status, volume N|up|down, say TEXT, timers, tool JSON";
/// Clients served at once; more wait in the kernel's accept queue.
const MAX_CLIENTS: usize = 32;
/// How long a client may take to send a line, or to take its reply, before it is closed: a
/// script sends at once, so only a stuck or silent client ever hits it.
pub const LINE_DEADLINE: Duration = Duration::from_secs(2);
/// How long a gesture waits for the loop to say what became of it.
const VERDICT_WAIT: Duration = Duration::from_secs(5);

/// What one line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Command(ControlCommand),
    Status,
    Volume(VolumeChange),
    /// An announcement: the rest of the line, as written.
    Say(String),
    /// The pending timers as JSON (label, due, seconds_left).
    Timers,
    /// A tool call, checked as the model's are.
    Tool {
        call: Call,
        lang: String,
    },
}

/// Parses one line (surrounding whitespace and the command's case ignored). The error is the
/// reply line.
pub fn parse_line(line: &str) -> Result<Request, String> {
    let line = line.trim();
    let (word, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(w, r)| (w, r.trim()));
    let bare = |request| if rest.is_empty() { Some(request) } else { None };
    let request = match word.to_ascii_lowercase().as_str() {
        "press" => bare(Request::Command(ControlCommand::Press)),
        "release" => bare(Request::Command(ControlCommand::Release)),
        "tap" => bare(Request::Command(ControlCommand::Tap)),
        "cancel" => bare(Request::Command(ControlCommand::Cancel)),
        "status" => bare(Request::Status),
        "volume" => return volume(rest).map(Request::Volume),
        "say" if rest.is_empty() => {
            return Err("error: say needs the text to speak, e.g. `say Dinner is ready.`".into());
        }
        "say" => Some(Request::Say(rest.to_string())),
        "timers" => bare(Request::Timers),
        "tool" => return tool(rest),
        _ => None,
    };
    request.ok_or_else(|| {
        let shown: String = line
            .chars()
            .take(40)
            .flat_map(char::escape_default)
            .collect();
        format!("error: unknown command \"{shown}\"; {COMMANDS}")
    })
}

/// `volume`'s argument: a percent, `up` or `down`.
fn volume(arg: &str) -> Result<VolumeChange, String> {
    match arg.to_ascii_lowercase().as_str() {
        "up" => Ok(VolumeChange::Up),
        "down" => Ok(VolumeChange::Down),
        n => n
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 100)
            .map(VolumeChange::Set)
            .ok_or_else(|| "error: volume takes a percent from 0 to 100, up or down".into()),
    }
}

/// `tool`'s argument: `{"name": "set_timer", "arguments": {...}, "lang": "zh"}` (`arguments`
/// may be left out for a call without any, `lang` defaults to English), checked by
/// `tools::check` as a model's call is.
fn tool(json: &str) -> Result<Request, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        name: String,
        #[serde(default)]
        arguments: Option<serde_json::Value>,
        #[serde(default)]
        lang: Option<String>,
    }
    let usage = r#"tool takes one JSON object: {"name": "set_timer", "arguments": {"seconds": 60}, "lang": "en"}"#;
    let raw: Raw = serde_json::from_str(json).map_err(|e| format!("error: {usage} ({e})"))?;
    let lang = raw.lang.unwrap_or_else(|| "en".into());
    let lang_ok = (1..=16).contains(&lang.len())
        && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !lang_ok {
        return Err("error: lang must be a language code such as \"zh\" or \"en\"".into());
    }
    let arguments = raw.arguments.unwrap_or_else(|| serde_json::json!({}));
    let call = tools::check(&raw.name, &arguments).map_err(|e| format!("error: {e}"))?;
    Ok(Request::Tool { call, lang })
}

/// Serves the socket until `shutdown`, then removes the socket file.
///
/// A stale socket file (no daemon answering on it) is replaced; a live one is an error, and
/// so is a non-socket file at the path (it is never deleted).
pub async fn serve(
    path: &Path,
    events: EventSender,
    status: watch::Receiver<String>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = bind(path)?;
    serve_on(listener, path, events, status, shutdown).await
}

/// `serve` on a socket already bound with `bind` (the daemon binds before it reports ready,
/// so a socket problem fails the start instead of leaving a box nobody can trigger).
pub async fn serve_on(
    listener: UnixListener,
    path: &Path,
    events: EventSender,
    status: watch::Receiver<String>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(socket = %path.display(), "control socket listening");
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    continue;
                }
            },
        };
        let (events, status, shutdown) = (events.clone(), status.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                r = client(stream, &events, &status) => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "control client ended");
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(socket = %path.display(), error = %e, "cannot remove the control socket");
    }
    Ok(())
}

/// Binds the socket at `path` with mode 0660, replacing a stale one of ours. Another user's
/// socket is never connected to nor removed (in a shared directory it may have been planted).
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "{} exists and is not a socket; remove it or set control.socket to another path",
                path.display()
            );
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            bail!(
                "{} is a socket of another user (uid {}); voicebox neither talks to nor removes it: if it is stale, remove it yourself, else set control.socket to a path in a directory only you can write",
                path.display(),
                meta.uid()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another voicebox is already listening on {}; stop it first (`systemctl stop voicebox`) or set control.socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {} for control.socket", dir.display()))?;
    }
    let listener = UnixListener::bind(path).with_context(|| {
        format!(
            "cannot listen on {}; check the directory's permissions or set control.socket",
            path.display()
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("cannot set mode 0660 on {}", path.display()))?;
    Ok(listener)
}

async fn client(
    stream: UnixStream,
    events: &EventSender,
    status: &watch::Receiver<String>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::with_capacity(64);
    loop {
        buf.clear();
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 1);
        let Ok(n) = timeout(LINE_DEADLINE, limited.read_until(b'\n', &mut buf)).await else {
            return Ok(()); // silent too long: the slot goes to someone else
        };
        if n? == 0 {
            return Ok(());
        }
        if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE {
            let refusal = format!("error: line longer than {MAX_LINE} bytes\n");
            deadline(write.write_all(refusal.as_bytes())).await?;
            // Skip the rest of that line without keeping it, then carry on.
            if !deadline(skip_line(&mut reader)).await? {
                return Ok(());
            }
            continue;
        }
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        // An event to send and answer "ok", or (Err) the reply line itself.
        let event = match parse_line(&line) {
            // A gesture is answered with the loop's verdict: done, or ignored and why.
            Ok(Request::Command(c)) => Err(gesture(c, events).await),
            Ok(Request::Volume(v)) => Ok(Event::Volume(v)),
            Ok(Request::Say(text)) => Ok(Event::Announce(text)),
            // The list is JSON already: the reply is that line.
            Ok(Request::Timers) => Err(match tool_call(Call::ListTimers, "en", events).await {
                Ok(json) => json,
                Err(e) => format!("error: {e}"),
            }),
            Ok(Request::Tool { call, lang }) => Err(match tool_call(call, &lang, events).await {
                Ok(text) => format!("ok {text}"),
                Err(e) => format!("error: {e}"),
            }),
            Ok(Request::Status) => {
                let s = status.borrow().clone();
                // One line, whatever the status producer put in.
                Err(s.replace('\n', " "))
            }
            Err(e) => Err(e),
        };
        let reply = match event.map(|e| events.send(e)) {
            Ok(Ok(())) => "ok".to_string(),
            Ok(Err(_)) => "error: the daemon is shutting down".to_string(),
            Err(line) => line,
        };
        deadline(write.write_all(format!("{reply}\n").as_bytes())).await?;
    }
}

/// Sends a gesture to the loop and waits for its verdict: the reply line.
async fn gesture(c: ControlCommand, events: &EventSender) -> String {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    if events.send(Event::Control(c, Some(tx))).is_err() {
        return "error: the daemon is shutting down".to_string();
    }
    match answer(rx).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(why)) => format!("ignored: {why}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Hands a checked call to the loop and waits (bounded) for its answer; one line either way.
async fn tool_call(call: Call, lang: &str, events: &EventSender) -> Result<String, String> {
    let (reply, rx) = std::sync::mpsc::sync_channel(1);
    let event = Event::ToolCall {
        call,
        lang: lang.to_string(),
        reply,
    };
    if events.send(event).is_err() {
        return Err("the daemon is shutting down".into());
    }
    answer(rx).await?.map(|t| t.replace(['\n', '\r'], " "))
}

/// Waits (bounded by `VERDICT_WAIT`) for the loop's answer on a std channel: the core's
/// events carry no async runtime's types. The loop runs on this same thread and answers as
/// soon as it handles the event, so this looks again after letting it run: a few milliseconds
/// while a client waits, and no thread kept for it afterwards. `Err`: why no answer came.
async fn answer<T>(rx: std::sync::mpsc::Receiver<T>) -> Result<T, String> {
    let start = tokio::time::Instant::now();
    loop {
        match rx.try_recv() {
            Ok(answer) => return Ok(answer),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                return Err("the daemon is shutting down".into());
            }
            Err(std::sync::mpsc::TryRecvError::Empty) if start.elapsed() >= VERDICT_WAIT => {
                return Err(format!(
                    "the daemon did not answer within {} s",
                    VERDICT_WAIT.as_secs()
                ));
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
}

/// Reads up to and including the next newline, keeping nothing; false at EOF.
async fn skip_line(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
) -> std::io::Result<bool> {
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(false);
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
            }
        }
    }
}

/// `io` within `LINE_DEADLINE`; past it the client counts as gone.
async fn deadline<T>(io: impl Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    timeout(LINE_DEADLINE, io)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_line_table() {
        use ControlCommand::*;
        let unknown = |shown: &str| Err(format!("error: unknown command \"{shown}\"; {COMMANDS}"));
        let bad_volume = Err("error: volume takes a percent from 0 to 100, up or down".to_string());
        for (line, want) in [
            ("press", Ok(Request::Command(Press))),
            ("release\n", Ok(Request::Command(Release))),
            ("  TAP \r\n", Ok(Request::Command(Tap))),
            ("cancel", Ok(Request::Command(Cancel))),
            ("status", Ok(Request::Status)),
            ("volume 40", Ok(Request::Volume(VolumeChange::Set(40)))),
            ("Volume  0\n", Ok(Request::Volume(VolumeChange::Set(0)))),
            ("volume 100", Ok(Request::Volume(VolumeChange::Set(100)))),
            ("volume UP", Ok(Request::Volume(VolumeChange::Up))),
            ("volume down", Ok(Request::Volume(VolumeChange::Down))),
            ("volume 101", bad_volume.clone()),
            ("volume -1", bad_volume.clone()),
            ("volume", bad_volume.clone()),
            ("volume loud", bad_volume),
            (
                "say  Dinner is ready.  Come down! \n",
                Ok(Request::Say("Dinner is ready.  Come down!".into())),
            ),
            ("SAY 你好", Ok(Request::Say("你好".into()))),
            (
                "say  ",
                Err("error: say needs the text to speak, e.g. `say Dinner is ready.`".into()),
            ),
            ("explode", unknown("explode")),
            ("", unknown("")),
            ("press now", unknown("press now")),
            ("status please", unknown("status please")),
            ("timers", Ok(Request::Timers)),
            ("TIMERS\n", Ok(Request::Timers)),
            ("timers all", unknown("timers all")),
            (
                r#"tool {"name":"set_timer","arguments":{"seconds":180,"label":"关火"},"lang":"zh"}"#,
                Ok(Request::Tool {
                    call: Call::SetTimer {
                        seconds: 180,
                        label: Some("关火".into()),
                    },
                    lang: "zh".into(),
                }),
            ),
            (
                r#"tool {"name":"list_timers"}"#,
                Ok(Request::Tool {
                    call: Call::ListTimers,
                    lang: "en".into(),
                }),
            ),
        ] {
            assert_eq!(parse_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn tool_lines_are_checked_as_the_models_calls_are() {
        for (line, want) in [
            ("tool", "tool takes one JSON object"),
            ("tool {", "tool takes one JSON object"),
            (r#"tool {"name":"set_timer","args":{}}"#, "unknown field"),
            (r#"tool {"name":"launch_rockets"}"#, "launch_rockets"),
            (
                r#"tool {"name":"set_timer","arguments":{"seconds":-5}}"#,
                "seconds",
            ),
            (
                r#"tool {"name":"set_timer","arguments":{"seconds":"60"}}"#,
                "seconds",
            ),
            (
                r#"tool {"name":"set_timer","arguments":{"seconds":60},"lang":"../x"}"#,
                "lang must be a language code",
            ),
        ] {
            let e = parse_line(line).unwrap_err();
            assert!(e.starts_with("error: ") && e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn unknown_commands_are_shown_escaped_and_short() {
        let e = parse_line(&format!("{}\u{1b}[2J", "x".repeat(100))).unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e}");
        assert!(e.len() < 170, "{e}");
    }
}
