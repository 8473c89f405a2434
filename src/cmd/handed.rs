//! `voicebox ask`'s tool calls: handed to the running daemon, which keeps the timers and the
//! volume, through its control socket. One line per call, `tool {"name":…,"arguments":{…},
//! "lang":"zh"}`, answered by one line, `ok TEXT` or `error: TEXT`; both go back to the model.
//! With no daemon listening, the model is told there is nobody to keep the timer, so the reply
//! says so instead of promising a ring that never comes.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use crate::tools::{Call, Executor};
use crate::{control, printable};

/// The longest reply line read (a timer list is a few lines of JSON at most).
const MAX_REPLY: u64 = 16 * 1024;

pub struct ToDaemon {
    pub socket: PathBuf,
    /// `tools.call_timeout_s`: how long the daemon may take to answer.
    pub timeout: Duration,
}

impl Executor for ToDaemon {
    fn run(&self, call: Call, lang: &str) -> Result<String, String> {
        let line = format!(
            "tool {}\n",
            serde_json::json!({"name": call.name(), "arguments": call.arguments(), "lang": lang})
        );
        if line.len() > control::MAX_LINE {
            return Err("the call is too long to hand to the daemon".into());
        }
        let no_daemon = |why: &str| {
            tracing::debug!(socket = %self.socket.display(), "no daemon for a tool call: {why}");
            format!(
                "not done: no voicebox daemon is running on this machine ({why}), so there is nothing to keep a timer or an alarm or to change the volume; tell the user to start it (`systemctl start voicebox` or `voicebox run`)"
            )
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        super::ctl::trusted(&self.socket, unsafe { libc::geteuid() })
            .map_err(|e| no_daemon(&e.to_string()))?;
        let mut stream = UnixStream::connect(&self.socket)
            .map_err(|e| no_daemon(&format!("{}: {e}", self.socket.display())))?;
        let io = |e: std::io::Error| format!("the daemon did not answer the call: {e}");
        stream.set_read_timeout(Some(self.timeout)).map_err(io)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        stream.write_all(line.as_bytes()).map_err(io)?;
        let mut reply = String::new();
        BufReader::new(stream)
            .take(MAX_REPLY)
            .read_line(&mut reply)
            .map_err(io)?;
        let reply = printable::one_line(reply.trim_end()).into_owned();
        if let Some(text) = reply.strip_prefix("ok") {
            return Ok(text.trim_start().to_string());
        }
        match reply.strip_prefix("error:") {
            Some(why) => Err(why.trim_start().to_string()),
            None if reply.is_empty() => {
                Err("the daemon closed the connection without an answer".into())
            }
            None => Err(format!("the daemon answered something unexpected: {reply}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A daemon stand-in: answers one connection's line with `reply`, returns the line.
    fn daemon(
        reply: &'static str,
    ) -> (tempfile::TempDir, PathBuf, std::thread::JoinHandle<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let served = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(conn.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            conn.write_all(reply.as_bytes()).unwrap();
            line
        });
        (dir, path, served)
    }

    fn to(socket: PathBuf) -> ToDaemon {
        ToDaemon {
            socket,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn a_call_goes_as_one_tool_line_and_ok_or_error_comes_back() {
        let (_dir, path, served) = daemon("ok timer set: 关火, rings at 12:33\n");
        let call = Call::SetTimer {
            seconds: 180,
            label: Some("关火".into()),
        };
        assert_eq!(
            to(path).run(call, "zh"),
            Ok("timer set: 关火, rings at 12:33".into())
        );
        let line = served.join().unwrap();
        let json = line.strip_prefix("tool ").unwrap();
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "set_timer", "arguments": {"seconds": 180, "label": "关火"}, "lang": "zh"})
        );

        let (_dir, path, _) = daemon("error: too many timers: at most 20\n");
        assert_eq!(
            to(path).run(Call::ListTimers, "en"),
            Err("too many timers: at most 20".into())
        );
        let (_dir, path, _) = daemon("");
        assert!(
            to(path)
                .run(Call::ListTimers, "en")
                .unwrap_err()
                .contains("without an answer")
        );
    }

    #[test]
    fn without_a_daemon_the_model_hears_there_is_nobody_to_keep_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = to(dir.path().join("none.sock"))
            .run(
                Call::SetTimer {
                    seconds: 5,
                    label: None,
                },
                "en",
            )
            .unwrap_err();
        assert!(
            err.starts_with("not done: no voicebox daemon is running"),
            "{err}"
        );
    }
}
