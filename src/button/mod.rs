//! The GPIO push button, the optional volume buttons and the status LED: on a Raspberry Pi
//! through rppal (the only rppal user), on other boards (`button.chip`) through the kernel's GPIO
//! character device in cdev.rs, which shares the edge, role and LED logic here.
//!
//! The kernel debounces edges (rppal passes `debounce` to the GPIO character device) and calls
//! back on rppal's interrupt thread; the callback only maps the edge to a logical state and
//! posts `Event::Button` (or, for a volume button's press, `Event::Volume`). Gesture logic
//! (hold, toggle, glitch, long press) and volume steps are in `machine`.

pub mod cdev;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rppal::gpio::{Gpio, InputPin, Trigger};

use crate::config;
use crate::event::{Event, EventSender, VolumeChange};

/// What the LED shows: the machine's own type, so the app hands it on unmapped.
pub use crate::machine::Led;

/// How the LED shows a state: a level, or a blink with this half-period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Off,
    On,
    Blink(Duration),
}

fn pattern(led: Led) -> Pattern {
    match led {
        Led::Idle => Pattern::Off,
        Led::Listening | Led::Speaking => Pattern::On,
        Led::Thinking => Pattern::Blink(Duration::from_millis(300)),
        Led::Error => Pattern::Blink(Duration::from_millis(100)),
    }
}

/// The logical pressed state for a pin level (`active_low`: pressed reads low).
pub fn pressed(level_high: bool, active_low: bool) -> bool {
    level_high != active_low
}

/// Turns debounced edges into press/release changes, dropping repeats of the same state (the
/// kernel can still report two edges the same way after a glitch shorter than the debounce).
#[derive(Debug, Clone)]
pub struct EdgeFilter {
    active_low: bool,
    last: bool,
}

impl EdgeFilter {
    /// `level_high`: the pin's level when watching began.
    pub fn new(active_low: bool, level_high: bool) -> Self {
        Self {
            active_low,
            last: pressed(level_high, active_low),
        }
    }

    /// A rising (`true`) or falling edge → `Some(pressed)` when the logical state changed.
    pub fn edge(&mut self, rising: bool) -> Option<bool> {
        let now = pressed(rising, self.active_low);
        (now != self.last).then(|| {
            self.last = now;
            now
        })
    }
}

/// What a watched pin is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Talk,
    VolumeUp,
    VolumeDown,
}

impl Role {
    /// The event for a change to `pressed`: the talk button reports both edges, a volume
    /// button one step per press.
    pub fn event(self, pressed: bool) -> Option<Event> {
        match self {
            Role::Talk => Some(Event::Button { pressed }),
            Role::VolumeUp => pressed.then_some(Event::Volume(VolumeChange::Up)),
            Role::VolumeDown => pressed.then_some(Event::Volume(VolumeChange::Down)),
        }
    }

    /// What the pin is for, in logs and `voicebox check`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Talk => "button",
            Role::VolumeUp => "volume up",
            Role::VolumeDown => "volume down",
        }
    }

    /// The configured input pins and what each is for.
    pub fn pins(config: &config::Button) -> Vec<(u8, Role)> {
        [
            (config.gpio, Role::Talk),
            (config.volume_up_gpio, Role::VolumeUp),
            (config.volume_down_gpio, Role::VolumeDown),
        ]
        .into_iter()
        .filter_map(|(pin, role)| pin.map(|p| (p, role)))
        .collect()
    }
}

/// The buttons (and LED) handle. Dropping it releases the pins and stops the LED thread.
pub struct Button {
    _pins: Vec<InputPin>,
    _lines: Vec<cdev::Watch>,
    led: Option<mpsc::Sender<Led>>,
    led_thread: Option<JoinHandle<()>>,
}

impl Button {
    /// Watches `button.gpio` and the volume buttons (and drives `button.led_gpio`). With none
    /// configured this is a button that never fires (and cannot fail).
    pub fn spawn(config: &config::Button, events: EventSender) -> Result<Button, ButtonError> {
        let inputs = Role::pins(config);
        if inputs.is_empty() && config.led_gpio.is_none() {
            return Ok(Button {
                _pins: Vec::new(),
                _lines: Vec::new(),
                led: None,
                led_thread: None,
            });
        }
        if let Some(chip) = &config.chip {
            let chip_err = ButtonError::Chip;
            let mut lines = Vec::new();
            for (n, role) in inputs {
                lines.push(cdev::watch(chip, n, role, config, events.clone()).map_err(chip_err)?);
            }
            let (led, led_thread) = match config.led_gpio {
                Some(n) => {
                    let (tx, t) = start_led(cdev::led(chip, n).map_err(chip_err)?)?;
                    (Some(tx), Some(t))
                }
                None => (None, None),
            };
            return Ok(Button {
                _pins: Vec::new(),
                _lines: lines,
                led,
                led_thread,
            });
        }
        let on = |pin| move |source| ButtonError::Gpio { pin, source };
        let gpio = Gpio::new().map_err(on(inputs.first().map(|(n, _)| *n)))?;
        let mut pins = Vec::new();
        for (n, role) in inputs {
            pins.push(watch(&gpio, n, role, config, events.clone()).map_err(on(Some(n)))?);
        }
        let (led, led_thread) = match config.led_gpio {
            Some(n) => {
                let mut out = gpio.get(n).map_err(on(Some(n)))?.into_output_low();
                let (tx, t) = start_led(move |on| out.write(on.into()))?;
                (Some(tx), Some(t))
            }
            None => (None, None),
        };
        Ok(Button {
            _pins: pins,
            _lines: Vec::new(),
            led,
            led_thread,
        })
    }

    /// Shows a state on the LED (no-op without `button.led_gpio`).
    pub fn set_led(&self, led: Led) {
        if let Some(tx) = &self.led {
            let _ = tx.send(led);
        }
    }
}

impl Drop for Button {
    fn drop(&mut self) {
        self.led = None;
        if let Some(t) = self.led_thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(
    gpio: &Gpio,
    n: u8,
    role: Role,
    config: &config::Button,
    events: EventSender,
) -> rppal::gpio::Result<InputPin> {
    let pin = gpio.get(n)?;
    let mut input = if config.pull_up {
        pin.into_input_pullup()
    } else {
        pin.into_input_pulldown()
    };
    let mut filter = EdgeFilter::new(config.active_low, input.is_high());
    input.set_async_interrupt(Trigger::Both, Some(config.debounce), move |ev| {
        let rising = match ev.trigger {
            Trigger::RisingEdge => true,
            Trigger::FallingEdge => false,
            _ => return,
        };
        if let Some(event) = filter.edge(rising).and_then(|pressed| role.event(pressed)) {
            let _ = events.send(event);
        }
    })?;
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

type LedThread = (mpsc::Sender<Led>, JoinHandle<()>);

/// Starts the LED actor on its own thread; `set` drives the pin (true: lit).
fn start_led(set: impl FnMut(bool) + Send + 'static) -> Result<LedThread, ButtonError> {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::Builder::new()
        .name("led".into())
        .spawn(move || led_actor(set, &rx))
        .map_err(ButtonError::LedThread)?;
    Ok((tx, t))
}

/// Holds a level while idle (blocking receive, no timer); toggles only while blinking.
fn led_actor(mut set: impl FnMut(bool), rx: &mpsc::Receiver<Led>) {
    let mut current = Pattern::Off;
    let mut lit = false;
    loop {
        let msg = match current {
            Pattern::Blink(half) => match rx.recv_timeout(half) {
                Ok(l) => Some(l),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
            _ => match rx.recv() {
                Ok(l) => Some(l),
                Err(_) => break,
            },
        };
        match msg {
            // A new state starts lit (a blink starts with its "on" half).
            Some(l) => {
                current = pattern(l);
                lit = current != Pattern::Off;
            }
            None => lit = !lit,
        }
        set(lit);
    }
    set(false);
}

/// Why the GPIO button (or its LED) cannot be used; it displays as one line with the fix.
#[derive(Debug)]
pub enum ButtonError {
    /// rppal refused the board or a pin (`pin: None`: the GPIO chip itself).
    Gpio {
        pin: Option<u8>,
        source: rppal::gpio::Error,
    },
    /// The kernel GPIO chip (`button.chip`) refused; the text is the one-line reason and fix.
    Chip(String),
    /// The thread that drives the LED could not start.
    LedThread(std::io::Error),
}

impl std::fmt::Display for ButtonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ButtonError::Gpio { pin, source } => f.write_str(&describe(source, *pin)),
            ButtonError::Chip(why) => f.write_str(why),
            ButtonError::LedThread(e) => write!(
                f,
                "GPIO button disabled: cannot start the LED thread: {e}; restart voicebox"
            ),
        }
    }
}

/// No `source`: the message already says what the cause said, and a chain would repeat it.
impl std::error::Error for ButtonError {}

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
    fn edge_to_logical_table() {
        // (active_low, level_high) -> pressed
        for (active_low, high, want) in [
            (true, false, true),
            (true, true, false),
            (false, true, true),
            (false, false, false),
        ] {
            assert_eq!(pressed(high, active_low), want, "{active_low} {high}");
        }
    }

    #[test]
    fn edge_filter_posts_changes_only() {
        // Active-low button, idle high: fall = press, rise = release, repeats dropped.
        let mut f = EdgeFilter::new(true, true);
        let got: Vec<Option<bool>> = [false, false, true, true, false, true]
            .iter()
            .map(|&rising| f.edge(rising))
            .collect();
        assert_eq!(
            got,
            vec![Some(true), None, Some(false), None, Some(true), Some(false)]
        );
        // Held at start: the first release is reported.
        let mut f = EdgeFilter::new(true, false);
        assert_eq!(f.edge(false), None);
        assert_eq!(f.edge(true), Some(false));
    }

    #[test]
    fn roles_map_pins_and_edges_to_events() {
        let cfg = config::parse(config::DEFAULT_TOML, None, &|_| None)
            .unwrap()
            .button;
        assert!(Role::pins(&cfg).is_empty(), "no pins by default");
        let cfg = config::Button {
            gpio: Some(17),
            volume_down_gpio: Some(6),
            ..cfg
        };
        assert_eq!(Role::pins(&cfg), [(17, Role::Talk), (6, Role::VolumeDown)]);
        let ev = |role: Role, pressed| format!("{:?}", role.event(pressed));
        assert_eq!(ev(Role::Talk, true), "Some(Button { pressed: true })");
        assert_eq!(ev(Role::Talk, false), "Some(Button { pressed: false })");
        assert_eq!(ev(Role::VolumeUp, true), "Some(Volume(Up))");
        assert_eq!(ev(Role::VolumeDown, true), "Some(Volume(Down))");
        assert_eq!(ev(Role::VolumeUp, false), "None", "one step per press");
    }

    #[test]
    fn led_patterns() {
        assert_eq!(pattern(Led::Idle), Pattern::Off);
        assert_eq!(pattern(Led::Listening), Pattern::On);
        assert!(matches!(pattern(Led::Thinking), Pattern::Blink(_)));
        assert!(matches!(pattern(Led::Error), Pattern::Blink(_)));
    }

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
            let m = ButtonError::Gpio {
                pin: Some(17),
                source: e,
            }
            .to_string();
            assert!(m.contains(needle), "{m}");
            assert!(!m.contains('\n'), "{m}");
        }
    }

    fn on_a_pi() -> bool {
        std::fs::read_to_string("/sys/firmware/devicetree/base/model")
            .is_ok_and(|m| m.contains("Raspberry Pi"))
    }

    #[test]
    fn off_a_pi_spawn_says_why() {
        if on_a_pi() {
            return; // this test is about machines without the Pi's GPIO
        }
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = config::Button {
            chip: None,
            gpio: Some(17),
            active_low: true,
            pull_up: true,
            debounce: Duration::from_millis(30),
            mode: config::ButtonMode::Hold,
            min_press: Duration::from_millis(120),
            long_press: Duration::from_secs(2),
            led_gpio: None,
            volume_up_gpio: None,
            volume_down_gpio: None,
        };
        let e = Button::spawn(&cfg, tx.clone()).err().unwrap().to_string();
        assert!(
            e.contains("not a Raspberry Pi") && e.contains("button.gpio"),
            "{e}"
        );
        // Nothing configured: a button that never fires, and no GPIO access at all.
        let none = config::Button { gpio: None, ..cfg };
        let b = Button::spawn(&none, tx).unwrap();
        b.set_led(Led::Thinking);
    }
}
