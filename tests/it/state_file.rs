//! The state file under attack, end to end: whatever sits at `state.json` or at its temporary
//! name (a FIFO, a sparse 1 GB file, a planted symlink), the daemon starts, answers its socket,
//! obeys SIGTERM, keeps its memory small and writes nowhere but its own file.

use std::path::Path;
use std::time::Duration;

use crate::support::config::Config;
use crate::support::daemon::{Daemon, Launch};
use crate::support::procfs;
use crate::support::sound::tone_mic;

/// The daemon, logging as text, its state directory prepared by `plant` before the start.
fn daemon_with(dir: &Path, plant: impl FnOnce(&Path)) -> Daemon {
    let state = dir.join("state/voicebox");
    std::fs::create_dir_all(&state).unwrap();
    plant(&state);
    let mic = tone_mic(dir);
    // Nothing here asks the server.
    let config = Config::daemon("http://127.0.0.1:9");
    Daemon::launch(dir, &config, Launch::new(&mic).text_log())
}

#[test]
fn a_fifo_at_the_state_file_neither_blocks_the_start_nor_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Daemon::launch panics if the control socket does not answer within its patience: a
    // daemon blocked opening the FIFO for reading never gets that far.
    let mut d = daemon_with(dir, |state| {
        let c = std::ffi::CString::new(
            state
                .join("state.json")
                .as_os_str()
                .as_encoded_bytes()
                .to_vec(),
        )
        .unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    });
    assert_eq!(d.status()["volume"], 100, "the defaults");
    let log = d.stderr();
    assert!(
        log.contains("cannot read the state file") && log.contains("named pipe"),
        "the warning says what was found:\n{log}"
    );
    d.stop();
}

#[test]
fn a_sparse_gigabyte_state_file_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut d = daemon_with(dir, |state| {
        let f = std::fs::File::create(state.join("state.json")).unwrap();
        f.set_len(1 << 30).unwrap();
    });
    assert_eq!(d.status()["volume"], 100, "the defaults");
    let hwm_kib = procfs::status_field(d.pid, "VmHWM:");
    assert!(
        (0..100 * 1024).contains(&hwm_kib),
        "peak resident memory {hwm_kib} KiB: the file was read"
    );
    let log = d.stderr();
    assert!(
        log.contains("cannot read the state file") && log.contains("1073741824 bytes"),
        "the warning says what was found:\n{log}"
    );
    d.stop();
}

#[test]
fn a_symlink_planted_at_the_temporary_name_leaves_its_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let target = dir.join("precious.txt");
    std::fs::write(&target, "not the daemon's").unwrap();
    let mut d = daemon_with(dir, |state| {
        std::fs::write(state.join("state.json"), r#"{"volume": 30}"#).unwrap();
        std::os::unix::fs::symlink(&target, state.join("state.json.tmp")).unwrap();
    });
    assert_eq!(d.status()["volume"], 30);
    d.send("volume 50");
    let state = d.state_file();
    let kept = crate::support::poll(Duration::from_secs(10), Duration::from_millis(20), || {
        let text = std::fs::read_to_string(&state).ok()?;
        text.contains("50").then_some(text)
    });
    assert!(
        kept.is_some(),
        "the volume was not kept\n{}",
        d.stderr_tail()
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not the daemon's",
        "written through the planted link"
    );
    assert!(
        !std::fs::symlink_metadata(&state)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the state file is a file of its own"
    );
    d.stop();
}
