//! The button and LED on a Raspberry Pi through rppal (the only rppal user): rppal passes
//! `debounce` to the kernel and calls back on its interrupt thread, where the edge is only mapped
//! to a logical state and posted.

use rppal::gpio::{Gpio, InputPin, Trigger};

use super::{EdgeFilter, Role};
use crate::bus::EventSender;
use crate::config;

/// Why rppal refused the board or a pin (`pin: None`: the GPIO chip itself); it displays as
/// one line with the fix.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(cause, *pin))]
pub struct Error {
    pin: Option<u8>,
    // Not `source`: the message already says what the cause said, and a chain would repeat it.
    cause: rppal::gpio::Error,
}

/// The error for a refusal of `pin`.
fn refused(pin: Option<u8>) -> impl FnOnce(rppal::gpio::Error) -> Error {
    move |cause| Error { pin, cause }
}

/// The Pi's GPIO; `first` names the pin in the error.
pub fn gpio(first: Option<u8>) -> Result<Gpio, Error> {
    Gpio::new().map_err(refused(first))
}

/// Watches pin `n` as a debounced input and posts the event of its `role` for each change of
/// the pressed state. Dropping the pin stops the interrupt.
pub fn watch(
    gpio: &Gpio,
    n: u8,
    role: Role,
    config: &config::Button,
    events: EventSender,
) -> Result<InputPin, Error> {
    let pin = gpio.get(n).map_err(refused(Some(n)))?;
    let mut input = if config.pull_up {
        pin.into_input_pullup()
    } else {
        pin.into_input_pulldown()
    };
    let mut filter = EdgeFilter::new(config.active_low, input.is_high());
    input
        .set_async_interrupt(Trigger::Both, Some(config.debounce), move |ev| {
            let rising = match ev.trigger {
                Trigger::RisingEdge => true,
                Trigger::FallingEdge => false,
                _ => return,
            };
            if let Some(event) = filter.edge(rising).and_then(|pressed| role.event(pressed)) {
                let _ = events.send(event);
            }
        })
        .map_err(refused(Some(n)))?;
    tracing::info!(
        gpio = n,
        role = role.name(),
        active_low = config.active_low,
        pull_up = config.pull_up,
        debounce_ms = config.debounce.as_millis() as u64,
        "GPIO button ready"
    );
    Ok(input)
}

/// Pin `n` as an output, low, and the setter the LED actor drives.
pub fn led(gpio: &Gpio, n: u8) -> Result<impl FnMut(bool) + Send + 'static, Error> {
    let mut out = gpio.get(n).map_err(refused(Some(n)))?.into_output_low();
    Ok(move |on: bool| out.write(on.into()))
}

/// One line: what failed and what to do about it.
fn describe(e: &rppal::gpio::Error, pin: Option<u8>) -> String {
    use rppal::gpio::Error as E;
    let which = pin.map_or_else(|| "GPIO".to_string(), |p| format!("GPIO {p}"));
    match e {
        E::UnknownModel => "GPIO button disabled: this is not a Raspberry Pi (rppal cannot identify the board); remove button.gpio, and use the control socket (`voicebox ctl tap`)".to_string(),
        E::PermissionDenied(path) => format!(
            "GPIO button disabled: permission denied on {path}; add the service user to the gpio group (`sudo usermod -aG gpio voicebox`) and restart"
        ),
        E::PinUsed(p) => format!(
            "GPIO button disabled: GPIO {p} is already in use (another program, driver or overlay); free it or choose another button.gpio / button.led_gpio"
        ),
        E::PinNotAvailable(p) => format!(
            "GPIO button disabled: GPIO {p} does not exist on this board; write a BCM number such as 17 in button.gpio"
        ),
        E::Io(io) => format!("GPIO button disabled: {which}: I/O error: {io}; check that /dev/gpiochip0 exists and the kernel has GPIO support"),
        E::ThreadPanic => format!("GPIO button disabled: {which}: the interrupt thread failed; restart voicebox"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_line_with_a_fix() {
        use rppal::gpio::Error as E;
        for (e, needle) in [
            (E::UnknownModel, "not a Raspberry Pi"),
            (E::PermissionDenied("/dev/gpiomem".into()), "gpio group"),
            (E::PinUsed(17), "GPIO 17 is already in use"),
            (E::PinNotAvailable(99), "does not exist"),
            (E::Io(std::io::Error::other("boom")), "boom"),
        ] {
            let m = super::super::ButtonError::from(refused(Some(17))(e)).to_string();
            assert!(m.contains(needle), "{m}");
            assert!(!m.contains('\n'), "{m}");
        }
    }
}
