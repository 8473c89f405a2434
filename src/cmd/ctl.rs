//! `voicebox ctl`: send one command line to a running daemon's control socket, print the reply.
//!
//! Only to a socket that cannot have been planted: ours, root's, or one in a directory where
//! nobody but its owner (and root) can create files. `sudo voicebox ctl` so reaches the system
//! service's `/run/voicebox/control.sock` (the voicebox user's, in its own directory), but never
//! another user's socket in `/tmp`, which would get our command and could answer anything.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::config::Config;
use crate::{control, printable};

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
    // SAFETY: geteuid has no preconditions and cannot fail.
    trusted(path, unsafe { libc::geteuid() })?;
    let mut stream = UnixStream::connect(path).map_err(|e| {
        anyhow!(
            "no voicebox daemon is listening on {} ({e}); start it with `voicebox run` (or `systemctl start voicebox`), or set control.socket to the daemon's socket",
            path.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .with_context(|| format!("sending to {}", path.display()))?;
    let mut reply = String::new();
    BufReader::new(stream)
        .take(64 * 1024)
        .read_line(&mut reply)
        .with_context(|| format!("reading the reply from {}", path.display()))?;
    let reply = printable::one_line(reply.trim_end()).into_owned();
    if reply.is_empty() {
        bail!(
            "the daemon on {} closed the connection without a reply",
            path.display()
        );
    }
    if reply.starts_with("error") {
        bail!("the daemon replied: {reply}");
    }
    if let Some(why) = reply.strip_prefix("ignored: ") {
        bail!("the daemon ignored `{command}`: {why}");
    }
    println!("{reply}");
    Ok(())
}

/// Refuses a socket another user could have planted. A missing path passes (connecting then
/// says nobody listens); a socket is trusted if `me` or root owns it, or if every directory
/// above it belongs to root or to the socket's owner and is not writable by others.
pub(crate) fn trusted(path: &Path, me: u32) -> anyhow::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} is not a socket; set control.socket to the daemon's socket",
            path.display()
        );
    }
    let owner = meta.uid();
    if owner == me || owner == 0 {
        return Ok(());
    }
    let dir = path
        .parent()
        .and_then(|d| std::fs::canonicalize(d).ok())
        .unwrap_or_default();
    let open_dir = dir.ancestors().find(|d| {
        std::fs::metadata(d).map_or(true, |m| {
            (m.uid() != 0 && m.uid() != owner) || m.mode() & 0o002 != 0
        })
    });
    if let Some(open_dir) = open_dir {
        bail!(
            "not talking to {}: it is a socket of another user (uid {owner}) in {}, where others can create files, so it may have been planted there; set control.socket to the daemon's socket",
            path.display(),
            open_dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_sockets_are_refused_and_the_service_socket_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let owner = std::fs::metadata(&path).unwrap().uid();
        // The owner and root always trust it.
        assert!(trusted(&path, owner).is_ok());
        // Someone else trusts it only if it is root's or no directory above it is open to
        // others: the temp dir is private (0700), but /tmp above it is world-writable.
        let other = trusted(&path, owner + 4242);
        if owner == 0 {
            assert!(other.is_ok(), "root's socket");
        } else {
            let e = other.unwrap_err().to_string();
            assert!(
                e.contains("may have been planted") && e.contains("/tmp"),
                "{e}"
            );
        }
        // A missing socket passes (the connect error says nobody listens); a file is refused.
        assert!(trusted(&dir.path().join("none.sock"), 1).is_ok());
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        assert!(trusted(&file, 1).is_err());
    }
}
