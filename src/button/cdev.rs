//! The button and LED on the kernel's GPIO character device, `/dev/gpiochipN` (the only gpiocdev
//! user): any Linux board, selected by `button.chip`. rppal (rppal.rs) stays the Raspberry Pi's.
//!
//! The kernel debounces (in the chip when it can, else in gpiolib's software debouncer) and
//! queues the edges; a watcher thread sleeps in poll(2) on the line request and on a stop socket,
//! so idle costs nothing and dropping the handle ends the thread and releases the line.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use gpiocdev::line::{Bias, EdgeDetection, EdgeKind, Value};
use gpiocdev::{Chip, Request};

use super::{EdgeFilter, Role};
use crate::bus::EventSender;
use crate::config;

/// Why a line of the kernel GPIO chip cannot be used; it displays as one line with the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chip or the kernel refused (`describe` says what to do for each errno).
    #[error("{}", describe(cause, chip, *line))]
    Chip {
        chip: PathBuf,
        line: u8,
        cause: gpiocdev::Error,
    },
    /// An offset the chip does not have (the kernel only says EINVAL).
    #[error(
        "GPIO button disabled: line {line} does not exist on {} ({label}, lines 0 to {last}); set button.gpio / button.led_gpio to a line offset that `gpioinfo {name}` lists",
        chip.display()
    )]
    NoSuchLine {
        chip: PathBuf,
        line: u8,
        label: String,
        last: u32,
        name: String,
    },
    /// The watcher's stop socket or thread could not be made.
    #[error("GPIO button disabled: cannot start the button {what}: {cause}")]
    Start {
        what: &'static str,
        cause: std::io::Error,
    },
}
// No `source` on any of them: the message already says what the cause said, and a chain would
// repeat it.

/// The error for a refusal of `line` on `chip`.
fn refused(chip: &Path, line: u8) -> impl FnOnce(gpiocdev::Error) -> Error {
    move |cause| Error::Chip {
        chip: chip.to_path_buf(),
        line,
        cause,
    }
}

/// Who holds the lines, as `gpioinfo` shows it.
const CONSUMER: &str = "voicebox";

/// The watched button line. Dropping it stops the watcher and releases the line.
pub struct Watch {
    stop: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // Closing our end makes the watcher's end readable (EOF): it leaves poll at once.
        self.stop = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Requests `line` on `chip` as a debounced input with both edges, and posts the event of its
/// `role` for each change of the pressed state. The error is one line saying what to do.
pub fn watch(
    chip: &Path,
    line: u8,
    role: Role,
    config: &config::Button,
    events: EventSender,
) -> Result<Watch, Error> {
    check_line(chip, line)?;
    let mut builder = Request::builder();
    builder
        .on_chip(chip)
        .with_consumer(CONSUMER)
        .with_line(u32::from(line))
        .as_input()
        .with_bias(if config.pull_up {
            Bias::PullUp
        } else {
            Bias::PullDown
        })
        .with_edge_detection(EdgeDetection::BothEdges);
    if !config.debounce.is_zero() {
        builder.with_debounce_period(config.debounce);
    }
    let request = builder.request().map_err(refused(chip, line))?;
    let high = request
        .value(u32::from(line))
        .map_err(refused(chip, line))?
        == Value::Active;
    let filter = EdgeFilter::new(config.active_low, high);
    let (stop, stop_rx) = UnixStream::pair().map_err(|cause| Error::Start {
        what: "stop socket",
        cause,
    })?;
    let thread = std::thread::Builder::new()
        .name("button".into())
        .spawn(move || watcher(&request, role, filter, &stop_rx, &events))
        .map_err(|cause| Error::Start {
            what: "thread",
            cause,
        })?;
    tracing::info!(
        chip = %chip.display(),
        line,
        role = role.name(),
        active_low = config.active_low,
        pull_up = config.pull_up,
        debounce_ms = config.debounce.as_millis() as u64,
        "GPIO button ready"
    );
    Ok(Watch {
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Requests `line` on `chip` as an output, low, and returns the setter the LED actor drives.
pub fn led(chip: &Path, line: u8) -> Result<impl FnMut(bool) + Send + 'static, Error> {
    check_line(chip, line)?;
    let request = Request::builder()
        .on_chip(chip)
        .with_consumer(CONSUMER)
        .with_line(u32::from(line))
        .as_output(Value::Inactive)
        .request()
        .map_err(refused(chip, line))?;
    let offset = u32::from(line);
    Ok(move |on: bool| {
        let value = if on { Value::Active } else { Value::Inactive };
        // An LED that cannot be set is not worth stopping for; the button still works.
        let _ = request.set_value(offset, value);
    })
}

/// Waits for edges or the stop signal; never polls on a timer.
fn watcher(
    request: &Request,
    role: Role,
    mut filter: EdgeFilter,
    stop: &UnixStream,
    events: &EventSender,
) {
    let mut fds = [
        libc::pollfd {
            fd: request.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!("GPIO button stopped: poll failed: {e}");
            return;
        }
        if fds[1].revents != 0 {
            // Stop: EOF (the handle dropped) or any byte.
            let _ = (&*stop).read(&mut [0u8; 1]);
            return;
        }
        if fds[0].revents == 0 {
            continue;
        }
        // Drain what the kernel queued; has_edge_event does not block.
        while request.has_edge_event().unwrap_or(false) {
            match request.read_edge_event() {
                Ok(edge) => {
                    let rising = edge.kind == EdgeKind::Rising;
                    if let Some(event) = filter.edge(rising).and_then(|p| role.event(p)) {
                        let _ = events.send(event);
                    }
                }
                Err(e) => {
                    tracing::error!("GPIO button stopped: cannot read an edge: {e}");
                    return;
                }
            }
        }
    }
}

/// A precise message for an offset the chip does not have (the kernel only says EINVAL).
fn check_line(chip: &Path, line: u8) -> Result<(), Error> {
    let info = Chip::from_path(chip)
        .and_then(|c| c.info())
        .map_err(refused(chip, line))?;
    if u32::from(line) >= info.num_lines {
        return Err(Error::NoSuchLine {
            chip: chip.to_path_buf(),
            line,
            label: info.label,
            last: info.num_lines.saturating_sub(1),
            name: info.name,
        });
    }
    Ok(())
}

/// One line: what failed and what to do about it.
fn describe(e: &gpiocdev::Error, chip: &Path, line: u8) -> String {
    use gpiocdev::Error as E;
    let chip = chip.display();
    let errno = match e {
        E::Os(n) => Some(n.0),
        E::Uapi(_, gpiocdev_uapi::Error::Os(n)) => Some(n.0),
        _ => None,
    };
    match (e, errno) {
        (E::GpioChip(path, _), _) => format!(
            "GPIO button disabled: {} is not a GPIO chip; set button.chip to one that `ls /dev/gpiochip*` lists",
            path.display()
        ),
        (_, Some(libc::ENOENT)) => format!(
            "GPIO button disabled: {chip} does not exist; set button.chip to one that `ls /dev/gpiochip*` lists, or remove it on a Raspberry Pi"
        ),
        (_, Some(libc::EACCES | libc::EPERM)) => format!(
            "GPIO button disabled: permission denied on {chip}; the service user needs the gpio group (`sudo usermod -aG gpio voicebox`) and the chip must belong to it (the package's udev rule does that: `sudo udevadm trigger -s gpio`), then restart"
        ),
        (_, Some(libc::EBUSY)) => format!(
            "GPIO button disabled: line {line} on {chip} is already in use (another program, driver or overlay; `gpioinfo` shows who); free it or choose another button.gpio / button.led_gpio"
        ),
        _ => format!(
            "GPIO button disabled: {chip} line {line}: {e}; check button.chip and button.gpio against `gpioinfo`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpiocdev_uapi::Errno;
    use std::path::PathBuf;

    /// The shipped defaults with a button on line 3 of `chip`, as a user would write it.
    fn button(chip: &str) -> config::Button {
        let text = format!("[button]\nchip = \"{chip}\"\ngpio = 3\n");
        config::parse(&text, None, &|_| None)
            .expect("a valid config")
            .button
    }

    #[test]
    fn errors_are_one_line_with_a_fix() {
        let chip = Path::new("/dev/gpiochip1");
        let busy = gpiocdev::Error::Uapi(
            gpiocdev::UapiCall::GetLine,
            gpiocdev_uapi::Error::Os(Errno(libc::EBUSY)),
        );
        for (e, needle) in [
            (gpiocdev::Error::Os(Errno(libc::ENOENT)), "does not exist"),
            (gpiocdev::Error::Os(Errno(libc::EACCES)), "gpio group"),
            (busy, "line 3 on /dev/gpiochip1 is already in use"),
            (
                gpiocdev::Error::GpioChip(PathBuf::from("/dev/null"), NOT_GPIO),
                "/dev/null is not a GPIO chip",
            ),
            (gpiocdev::Error::Os(Errno(libc::EIO)), "gpioinfo"),
        ] {
            let m = describe(&e, chip, 3);
            assert!(m.starts_with("GPIO button disabled: "), "{m}");
            assert!(m.contains(needle), "{needle}: {m}");
            assert!(!m.contains('\n'), "{m}");
        }
    }

    const NOT_GPIO: gpiocdev::chip::ErrorKind = gpiocdev::chip::ErrorKind::NotGpioDevice;

    /// Real files that are not GPIO chips: the kernel and gpiocdev refuse them, and the button
    /// says which file and what to set, through the same `Button::spawn` the daemon calls.
    #[test]
    fn spawn_on_a_missing_or_wrong_chip_says_why() {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        for (chip, needle) in [
            ("/dev/gpiochip-voicebox-test-missing", "does not exist"),
            ("/dev/null", "/dev/null is not a GPIO chip"),
            ("/etc/hostname", "is not a GPIO chip"),
        ] {
            let e = crate::button::Button::spawn(&button(chip), tx.clone())
                .err()
                .unwrap_or_else(|| panic!("{chip} accepted"))
                .to_string();
            assert!(
                e.contains(needle) && e.contains("button.chip"),
                "{chip}: {e}"
            );
            let led_only = config::Button {
                gpio: None,
                led_gpio: Some(4),
                ..button(chip)
            };
            let e = crate::button::Button::spawn(&led_only, tx.clone())
                .err()
                .unwrap_or_else(|| panic!("{chip} accepted for the LED"))
                .to_string();
            assert!(e.contains(needle), "{chip}: {e}");
        }
    }
}
