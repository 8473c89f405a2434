//! The GPIO push button, the optional volume buttons and the status LED: on a Raspberry Pi
//! through rppal (`rppal.rs`), on other boards (`button.chip`) through the kernel's GPIO
//! character device (`cdev.rs`); the edge, role and LED logic both use is here.
//!
//! The kernel debounces edges (rppal passes `debounce` to the GPIO character device) and calls
//! back on rppal's interrupt thread; the callback only maps the edge to a logical state and
//! posts `Event::Button` (or, for a volume button's press, `Event::Volume`). Gesture logic
//! (hold, toggle, glitch, long press) and volume steps are in `machine`.

pub mod cdev;
pub mod rppal;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::bus::EventSender;
use crate::config;
use crate::event::{Event, VolumeChange};

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

/// The watched input pins, by backend. Dropping them releases the pins.
enum Inputs {
    /// Nothing configured: a button that never fires.
    None,
    /// Held only to be dropped: that releases the pins.
    Rppal {
        _pins: Vec<::rppal::gpio::InputPin>,
    },
    Cdev {
        _lines: Vec<cdev::Watch>,
    },
}

/// What drives the LED pin (true: lit), whichever backend owns it.
type SetLed = Box<dyn FnMut(bool) + Send>;

/// The buttons (and LED) handle. Dropping it releases the pins and stops the LED thread.
pub struct Button {
    _inputs: Inputs,
    led: Option<mpsc::Sender<Led>>,
    led_thread: Option<JoinHandle<()>>,
}

impl Button {
    /// Watches `button.gpio` and the volume buttons (and drives `button.led_gpio`). With none
    /// configured this is a button that never fires (and cannot fail).
    pub fn spawn(config: &config::Button, events: EventSender) -> Result<Button, ButtonError> {
        let pins = Role::pins(config);
        let (inputs, set_led): (Inputs, Option<SetLed>) =
            if pins.is_empty() && config.led_gpio.is_none() {
                (Inputs::None, None)
            } else if let Some(chip) = &config.chip {
                let watch = |(n, role)| cdev::watch(chip, n, role, config, events.clone());
                let lines = pins.into_iter().map(watch).collect::<Result<_, _>>()?;
                let led = match config.led_gpio {
                    Some(n) => Some(Box::new(cdev::led(chip, n)?) as SetLed),
                    None => None,
                };
                (Inputs::Cdev { _lines: lines }, led)
            } else {
                let gpio = rppal::gpio(pins.first().map(|(n, _)| *n))?;
                let watch = |(n, role)| rppal::watch(&gpio, n, role, config, events.clone());
                let inputs = pins.into_iter().map(watch).collect::<Result<_, _>>()?;
                let led = match config.led_gpio {
                    Some(n) => Some(Box::new(rppal::led(&gpio, n)?) as SetLed),
                    None => None,
                };
                (Inputs::Rppal { _pins: inputs }, led)
            };
        let (led, led_thread) = match set_led {
            Some(set) => {
                let (tx, t) = start_led(set)?;
                (Some(tx), Some(t))
            }
            None => (None, None),
        };
        Ok(Button {
            _inputs: inputs,
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
#[derive(Debug, thiserror::Error)]
pub enum ButtonError {
    /// rppal refused the board or a pin.
    #[error(transparent)]
    Rppal(#[from] rppal::Error),
    /// The kernel GPIO chip (`button.chip`) refused.
    #[error(transparent)]
    Chip(#[from] cdev::Error),
    /// The thread that drives the LED could not start.
    #[error("GPIO button disabled: cannot start the LED thread: {0}; restart voicebox")]
    LedThread(std::io::Error),
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
