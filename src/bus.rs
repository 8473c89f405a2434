//! The daemon's event channel: device threads, the control socket and the loop's own timers
//! post `Event`s on it; the loop receives them. It is tokio's, so it lives here and not in
//! `event`, which the pure core reads and which depends on no async runtime.

use crate::event::Event;

/// Sending half of the daemon's event channel; device threads post through it without blocking.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<Event>;
/// The loop's half of the event channel.
pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<Event>;
