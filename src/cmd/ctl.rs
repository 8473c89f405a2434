//! `voicebox ctl`: send one command line to a running daemon's control socket, print the reply.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::config::Config;
use crate::control;

/// Sends `command` (one control-socket line) and prints the reply.
pub fn ctl(config: &Config, command: &str) -> anyhow::Result<()> {
    // Checked here with the daemon's own parser, so a mistake is explained before connecting.
    if let Err(reply) = control::parse_line(command) {
        bail!("{}", reply.trim_start_matches("error: "));
    }
    if command.len() > control::MAX_LINE {
        bail!(
            "the command is {} bytes; the control socket takes lines of at most {} (split a long announcement into several `ctl say`)",
            command.len(),
            control::MAX_LINE
        );
    }
    let path = &config.control.socket;
    let mut stream = UnixStream::connect(path).map_err(|e| {
        anyhow!(
            "no voicebox daemon is listening on {} ({e}); start it with `voicebox run` (or `systemctl start voicebox`), or set control.socket to the daemon's socket",
            path.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .with_context(|| format!("sending to {}", path.display()))?;
    let mut reply = String::new();
    BufReader::new(stream)
        .take(64 * 1024)
        .read_line(&mut reply)
        .with_context(|| format!("reading the reply from {}", path.display()))?;
    let reply = reply.trim_end();
    if reply.is_empty() {
        bail!(
            "the daemon on {} closed the connection without a reply",
            path.display()
        );
    }
    if reply.starts_with("error") {
        bail!("the daemon replied: {reply}");
    }
    println!("{reply}");
    Ok(())
}
