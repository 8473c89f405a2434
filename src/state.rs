//! What the daemon keeps across restarts (the everyday volume; the timers beside it): small
//! JSON files in the state directory, `$STATE_DIRECTORY` (systemd's `StateDirectory=voicebox`), else
//! `$XDG_STATE_HOME/voicebox`, else `~/.local/state/voicebox`.
//!
//! Written atomically (a synced temporary file renamed over the old one), so a power cut leaves
//! the old level or the new one, never half a file. A damaged or unreadable file is ignored with
//! a warning: losing the volume must never stop the box from starting. The file is read and
//! written through `read_capped` and `write_atomic`, which other files kept in the same
//! directory use too: whatever sits at the name (a FIFO, a symlink, a huge file) costs no hang,
//! no big read and no write anywhere else.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

const FILE: &str = "state.json";
/// The volume's file is a few dozen bytes; anything past this is not ours.
const CAP: u64 = 4096;

/// The kept state. Unknown fields are ignored, so an older daemon reads a newer file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The everyday volume, percent of `audio.volume`.
    pub volume: Option<u8>,
}

/// Where the state file lives; `None` when no state directory can be found.
#[derive(Debug, Clone)]
pub struct Store {
    file: Option<PathBuf>,
}

impl Store {
    /// The state directory from the environment (see the module doc).
    pub fn locate(env: &dyn Fn(&str) -> Option<String>) -> Store {
        Store {
            file: locate_dir(env).map(|d| d.join(FILE)),
        }
    }

    /// The store of the running process's environment.
    pub fn from_env() -> Store {
        Store::locate(&|k| std::env::var(k).ok())
    }

    /// A store that keeps nothing (tests, or no state directory).
    pub fn none() -> Store {
        Store { file: None }
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The state directory (where other kept files go too); `None` when there is none.
    pub fn dir(&self) -> Option<&Path> {
        self.file.as_deref().and_then(Path::parent)
    }

    /// The kept state; the defaults when there is none, and (with a warning) when it is damaged.
    pub fn load(&self) -> Saved {
        let Some(file) = &self.file else {
            return Saved::default();
        };
        let text = match read_capped(file, CAP) {
            Ok(Some(t)) => t,
            Ok(None) => return Saved::default(),
            Err(e) => {
                tracing::warn!(file = %file.display(), "cannot read the state file, starting from the defaults: {e:#}");
                return Saved::default();
            }
        };
        serde_json::from_slice(&text).unwrap_or_else(|e| {
            tracing::warn!(
                file = %file.display(),
                "ignoring a damaged state file (the volume starts at 100 %; the next change rewrites it): {e}"
            );
            Saved::default()
        })
    }

    /// Writes the state atomically; an error says which file and why.
    pub fn save(&self, saved: &Saved) -> anyhow::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut bytes = serde_json::to_vec(saved)?;
        bytes.push(b'\n');
        write_atomic(file, &bytes)
    }

    /// Another file of the state directory (`timers.json`), read and written by the same rules
    /// as the state file: `None` when there is no state directory.
    pub fn beside(&self, name: &str) -> Option<PathBuf> {
        self.file.as_deref().map(|f| f.with_file_name(name))
    }
}

/// The state directory from `env` (see the module doc); `None` when none can be found.
pub fn locate_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(dirs) = var("STATE_DIRECTORY") {
        // systemd may pass several colon-separated directories; the first is ours.
        Some(PathBuf::from(dirs.split(':').next().unwrap_or(&dirs)))
    } else if let Some(xdg) = var("XDG_STATE_HOME") {
        Some(Path::new(&xdg).join("voicebox"))
    } else {
        var("HOME").map(|home| Path::new(&home).join(".local/state/voicebox"))
    }
}

/// The contents of the regular file at `path`, at most `cap` bytes; `Ok(None)` when there is
/// no file. Opened without following a symlink and without blocking (a FIFO would otherwise
/// hold the caller until a writer comes); anything but a regular file of at most `cap` bytes
/// is an error that says what was found, read no further.
pub fn read_capped(path: &Path, cap: u64) -> anyhow::Result<Option<Vec<u8>>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            anyhow::bail!("it is a symbolic link, which is not followed")
        }
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if !kind.is_file() {
        anyhow::bail!("it is {}, not a regular file", describe(&kind));
    }
    if meta.len() > cap {
        anyhow::bail!(
            "it holds {} bytes, more than the {cap} kept here",
            meta.len()
        );
    }
    // The file may grow between the stat and the read: the read itself stops past the cap.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        anyhow::bail!("it grew past the {cap} bytes kept here while it was read");
    }
    Ok(Some(bytes))
}

/// Replaces the file at `path` with `bytes` atomically: a temporary file beside it, created
/// exclusively (never through whatever already sits at its name), synced, renamed over `path`,
/// the directory synced. The directory is created if missing. An error names the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut f = create_exclusive(&tmp)?;
        let written = f.write_all(bytes).and_then(|()| f.sync_all());
        drop(f);
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        // The rename itself is durable once the directory is synced.
        File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("cannot write the state file {}", path.display()))
}

/// A new file at `tmp`, opened for writing only if it did not exist. Something already there
/// (a temporary file a power cut left, or a link planted to redirect the write) is removed
/// (unlinking a symlink removes the link, never its target) and the creation tried once more.
fn create_exclusive(tmp: &Path) -> std::io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(tmp)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            tracing::warn!(file = %tmp.display(), "removing what was left at the temporary file's name");
            std::fs::remove_file(tmp)?;
            open()
        }
        other => other,
    }
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "something else"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_follows_systemd_then_xdg_then_home() {
        let locate = |pairs: &[(&str, &str)]| {
            let find = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            };
            Store::locate(&find)
        };
        let all = [
            ("STATE_DIRECTORY", "/var/lib/voicebox:/var/lib/other"),
            ("XDG_STATE_HOME", "/home/u/.state"),
            ("HOME", "/home/u"),
        ];
        for (pairs, want) in [
            (&all[..], Some("/var/lib/voicebox/state.json")),
            (&all[1..], Some("/home/u/.state/voicebox/state.json")),
            (&all[2..], Some("/home/u/.local/state/voicebox/state.json")),
            (
                &[("STATE_DIRECTORY", ""), ("HOME", "/h")][..],
                Some("/h/.local/state/voicebox/state.json"),
            ),
            (&[][..], None),
        ] {
            assert_eq!(locate(pairs).file(), want.map(Path::new), "{pairs:?}");
        }
    }

    #[test]
    fn saves_atomically_and_survives_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("deep/voicebox");
        let store = Store {
            file: Some(dir.join(FILE)),
        };
        assert_eq!(store.load(), Saved::default(), "no file yet");
        store.save(&Saved { volume: Some(40) }).unwrap();
        assert_eq!(store.load().volume, Some(40));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE], "no temporary file left behind");
        store.save(&Saved { volume: Some(70) }).unwrap();
        assert_eq!(store.load().volume, Some(70));

        for damage in [
            &b"{\"volume\": 4"[..],
            b"\xff\xfe",
            b"[]",
            b"{\"volume\": 300}",
            b"",
        ] {
            std::fs::write(dir.join(FILE), damage).unwrap();
            assert_eq!(store.load(), Saved::default(), "{damage:?}");
        }
        // A newer daemon's extra fields do not make the file damaged.
        std::fs::write(dir.join(FILE), br#"{"volume": 20, "later": true}"#).unwrap();
        assert_eq!(store.load().volume, Some(20));
        // Nowhere to keep it: nothing is kept, nothing fails.
        Store::none().save(&Saved { volume: Some(1) }).unwrap();
        assert_eq!(Store::none().load(), Saved::default());
    }

    #[test]
    fn odd_things_at_the_name_are_refused_unread() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join(FILE);
        let mkfifo = |p: &Path| {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        };

        // A FIFO with no writer: refused at once, not waited on.
        mkfifo(&file);
        let e = read_capped(&file, CAP).unwrap_err();
        assert!(format!("{e}").contains("named pipe"), "{e}");
        std::fs::remove_file(&file).unwrap();

        // A symlink to a readable file: not followed.
        let elsewhere = dir.join("elsewhere.json");
        std::fs::write(&elsewhere, br#"{"volume": 5}"#).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        let e = read_capped(&file, CAP).unwrap_err();
        assert!(format!("{e}").contains("symbolic link"), "{e}");
        std::fs::remove_file(&file).unwrap();

        // A directory.
        std::fs::create_dir(&file).unwrap();
        let e = read_capped(&file, CAP).unwrap_err();
        assert!(format!("{e}").contains("directory"), "{e}");
        std::fs::remove_dir(&file).unwrap();

        // A file past the cap, and one exactly at it.
        std::fs::write(&file, vec![b' '; CAP as usize + 1]).unwrap();
        let e = read_capped(&file, CAP).unwrap_err();
        assert!(format!("{e}").contains("4097 bytes"), "{e}");
        std::fs::write(&file, vec![b' '; CAP as usize]).unwrap();
        assert_eq!(
            read_capped(&file, CAP).unwrap().unwrap().len(),
            CAP as usize
        );

        // Each is the defaults through the store.
        let store = Store {
            file: Some(file.clone()),
        };
        std::fs::remove_file(&file).unwrap();
        mkfifo(&file);
        assert_eq!(store.load(), Saved::default());
    }

    #[test]
    fn a_link_planted_at_the_temporary_name_is_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store = Store {
            file: Some(dir.join(FILE)),
        };
        let target = dir.join("precious");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("state.json.tmp")).unwrap();
        store.save(&Saved { volume: Some(50) }).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(store.load().volume, Some(50));
        assert!(!dir.join("state.json.tmp").exists(), "the link is gone");
        // A dangling link would be created through by a plain create: not here either.
        let nowhere = dir.join("nowhere");
        std::os::unix::fs::symlink(&nowhere, dir.join("state.json.tmp")).unwrap();
        store.save(&Saved { volume: Some(60) }).unwrap();
        assert!(!nowhere.exists(), "nothing created through the link");
        assert_eq!(store.load().volume, Some(60));
        // A symlink at the file's own name is replaced, its target untouched.
        std::fs::remove_file(dir.join(FILE)).unwrap();
        std::os::unix::fs::symlink(&target, dir.join(FILE)).unwrap();
        store.save(&Saved { volume: Some(70) }).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(store.load().volume, Some(70));
    }

    #[test]
    fn an_unwritable_directory_is_an_error_that_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let store = Store {
            file: Some(blocker.join("voicebox").join(FILE)),
        };
        let e = store.save(&Saved { volume: Some(1) }).unwrap_err();
        assert!(format!("{e:#}").contains("state directory"), "{e:#}");
    }
}
