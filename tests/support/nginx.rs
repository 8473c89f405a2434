//! A real nginx (Debian's `/usr/sbin/nginx`) on a free loopback port with a temp prefix, for
//! the proxy's own 502/504 pages. Stopped by pid (SIGQUIT, then SIGKILL) when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub struct Nginx {
    child: Child,
    pub port: u16,
    /// nginx's error log, line by line (`error_log stderr`).
    log: Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx with `locations` (the inside of a `server {}` block) and waits until it
    /// accepts connections. Retries with another port if the chosen one was taken meanwhile.
    pub fn start(locations: &str) -> Nginx {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start(locations) {
                Ok(n) => return n,
                Err(e) => last = e,
            }
        }
        panic!("nginx did not start: {last}");
    }

    fn try_start(locations: &str) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().unwrap();
        // The worker may run as `nobody` (master as root): let it into the prefix.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let port = super::free_port();
        let conf = format!(
            "worker_processes 1;\npid nginx.pid;\nerror_log stderr warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n\
               client_body_temp_path tmp/client_body;\n  proxy_temp_path tmp/proxy;\n\
               fastcgi_temp_path tmp/fastcgi;\n  uwsgi_temp_path tmp/uwsgi;\n  scgi_temp_path tmp/scgi;\n\
               server {{\n    listen 127.0.0.1:{port};\n    {locations}\n  }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let mut child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(format!("{}/", dir.path().display()))
            .args(["-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run /usr/sbin/nginx: {e}"))?;
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Nginx {
                    child,
                    port,
                    log,
                    _dir: dir,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                let said: Vec<String> = log.try_iter().collect();
                return Err(format!("exited with {status}: {}", said.join(" | ")));
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                return Err("not listening after 10 s".into());
            }
            // Start-up readiness only: nginx offers no notification without systemd.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Blocks until nginx logs a line containing `needle` (bounded by `limit`).
    pub fn wait_log(&self, needle: &str, limit: Duration) -> Option<String> {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        super::stop_child(&mut self.child, libc::SIGQUIT);
    }
}
