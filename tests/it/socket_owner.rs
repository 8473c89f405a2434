//! Sockets of a second local user (`nobody`, via `setpriv`): `voicebox ctl` never talks to one
//! that may have been planted in a directory others can write, `voicebox run` never removes nor
//! connects to one, and `ctl` does reach one in its owner's own directory (the service's socket
//! under `sudo`).

use crate::support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::config::Config;

/// `voicebox ctl CMD` with `control.socket = socket` (a config written into `dir`).
fn ctl(dir: &Path, socket: &Path, cmd: &str) -> Output {
    let config = Config::new()
        .set(
            "control",
            "socket",
            &Config::string(socket.to_str().unwrap()),
        )
        .write(dir);
    support::cli::voicebox(&config, "warn", &["ctl", cmd])
}

/// Runs `program args` as the unprivileged user `nobody` (uid 65534), a second local user.
fn as_nobody(program: &str, args: &[&str]) -> std::process::Child {
    assert_eq!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() },
        0,
        "this test switches to a second local user with setpriv, which needs root (as the journald tests do)"
    );
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", program])
        .args(args)
        .spawn()
        .expect("run setpriv (util-linux)")
}

/// A socket server as `nobody`: binds `socket`, appends whatever it is sent to `log`, answers
/// with a line of its own.
fn planted(socket: &Path, log: &Path) -> std::process::Child {
    const SERVER: &str = "import os, socket, sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen()\n\
        while True:\n\
        \x20   c, _ = s.accept()\n\
        \x20   open(sys.argv[2], 'ab').write(c.recv(1024))\n\
        \x20   c.sendall(b'{\"state\":\"planted\"}\\n'); c.close()\n";
    // Debian's python3 (python3-venv in .ci/install-deps), not a per-user shim on $PATH.
    let child = as_nobody(
        "/usr/bin/python3",
        &[
            "-c",
            SERVER,
            socket.to_str().unwrap(),
            log.to_str().unwrap(),
        ],
    );
    for _ in 0..500 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(socket.exists(), "the planted server did not start");
    child
}

/// Kills the second user's server when the test ends.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_socket_of_another_user_is_only_used_where_nobody_else_could_have_put_it() {
    use std::os::unix::fs::PermissionsExt;
    // Outside /tmp, in a directory that is root's all the way up and that `nobody` can
    // traverse: /run. Not the target directory: a checkout under `mktemp -d` (mode 0700)
    // keeps `nobody` out of everything below it.
    let dir = tempfile::tempdir_in("/run").unwrap();
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(dir.path(), 0o711).unwrap();

    // A shared directory like /tmp (root's, sticky, world-writable): `nobody` plants a socket.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    mode(&shared, 0o1777).unwrap();
    let socket = shared.join("voicebox.sock");
    let log = shared.join("received");
    let _server = Reap(planted(&socket, &log));
    let out = ctl(dir.path(), &socket, "tap");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ctl talked to a planted socket");
    assert!(stderr.contains("may have been planted"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("planted"));
    // `run` (as root) neither removes it nor connects to it.
    let mut cfg = Config::ollama("http://127.0.0.1:9");
    cfg.set(
        "control",
        "socket",
        &Config::string(socket.to_str().unwrap()),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_voicebox"))
        .args(["--config", cfg.write(dir.path()).to_str().unwrap(), "run"])
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("socket of another user"), "{stderr}");
    assert!(socket.exists(), "run removed another user's socket");
    assert!(!log.exists(), "something was sent to the planted socket");

    // The service's own directory (like /run/voicebox, owned by the voicebox user): root's
    // `ctl` talks to the socket there, as `sudo voicebox ctl` must.
    let service = dir.path().join("service");
    std::fs::create_dir(&service).unwrap();
    std::os::unix::fs::chown(&service, Some(65534), Some(65534)).unwrap();
    mode(&service, 0o750).unwrap();
    let socket = service.join("control.sock");
    let log = service.join("received");
    let _service = Reap(planted(&socket, &log));
    let out = ctl(dir.path(), &socket, "status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"state\":\"planted\"}\n"
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "status\n");
}
