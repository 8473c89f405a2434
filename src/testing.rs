//! Test-only helpers shared by unit tests.

use std::process::Command;

/// A command that runs this test binary again (for tests of process-wide state: signals,
/// environment). Under a cross runner such as qemu-user the binary cannot be exec'd directly,
/// so `VOICEBOX_TEST_RUNNER` (set by `cross/build-aarch64`) names the runner to put in front.
pub fn rerun_self() -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    match std::env::var("VOICEBOX_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut parts = runner.split_whitespace();
            let mut cmd = Command::new(parts.next().unwrap_or_default());
            cmd.args(parts).arg(exe);
            cmd
        }
        _ => Command::new(exe),
    }
}
