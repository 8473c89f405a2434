//! Cancellation for blocking work: one cloneable token that hooks, Ollama requests and the
//! speaking pipeline watch, with child tokens and callbacks that run on cancel.
//!
//! A callback is how a cancel reaches work that is blocked in the kernel: the hook runner
//! registers one that kills the hook's process group, and a blocking HTTP request can register
//! one that shuts its socket down. Waiting code that only pauses (a retry backoff) uses
//! `wait_timeout`, which wakes at once on cancel.
//!
//! Async code (the loop, the control socket, the signal handlers) uses tokio's
//! `CancellationToken` instead: it needs a future to `select!` on, which blocking code cannot
//! wait for without a runtime. Timers need neither: the machine ignores a stale timer by its id,
//! and pending ones end with the runtime.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Cancels blocking work from another thread. Clones share one state; `child` makes a token
/// that a cancel of this one also cancels, but not the other way round.
#[derive(Clone, Default)]
pub struct Token {
    inner: Arc<Inner>,
    /// A child's registration with its parent, removed when the last clone of the child drops.
    _parent: Option<Arc<OnCancel>>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    cancelled: Condvar,
}

type Callback = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    cancelled: bool,
    next_id: u64,
    callbacks: Vec<(u64, Callback)>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking callback runs outside the lock, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cancel(&self) {
        let callbacks = {
            let mut state = self.lock();
            if state.cancelled {
                return;
            }
            state.cancelled = true;
            std::mem::take(&mut state.callbacks)
        };
        self.cancelled.notify_all();
        // Outside the lock: a callback may take time (kill a process group) or touch a child.
        for (_, callback) in callbacks {
            callback();
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Token {
    pub fn new() -> Token {
        Token::default()
    }

    /// Cancels this token and its children, running every registered callback once.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.lock().cancelled
    }

    /// Waits up to `d`; true when cancelled (at once if it already was).
    pub fn wait_timeout(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        let mut state = self.inner.lock();
        while !state.cancelled {
            let now = Instant::now();
            if now >= end {
                return false;
            }
            state = match self.inner.cancelled.wait_timeout(state, end - now) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }

    /// A token cancelled with this one, or on its own.
    pub fn child(&self) -> Token {
        let child = Token::new();
        let weak: Weak<Inner> = Arc::downgrade(&child.inner);
        let link = self.on_cancel(move || {
            if let Some(inner) = weak.upgrade() {
                inner.cancel();
            }
        });
        Token {
            inner: child.inner,
            _parent: Some(Arc::new(link)),
        }
    }

    /// Runs `f` once when this token is cancelled, or now if it already is. Dropping the
    /// returned guard unregisters `f` (when the work it would stop has ended).
    #[must_use = "dropping the guard unregisters the callback"]
    pub fn on_cancel(&self, f: impl FnOnce() + Send + 'static) -> OnCancel {
        let mut state = self.inner.lock();
        if state.cancelled {
            drop(state);
            f();
            return OnCancel {
                inner: Weak::new(),
                id: 0,
            };
        }
        state.next_id += 1;
        let id = state.next_id;
        state.callbacks.push((id, Box::new(f)));
        OnCancel {
            inner: Arc::downgrade(&self.inner),
            id,
        }
    }
}

/// A registered on-cancel callback; dropping it unregisters the callback if it has not run.
pub struct OnCancel {
    inner: Weak<Inner>,
    id: u64,
}

impl Drop for OnCancel {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.lock().callbacks.retain(|(id, _)| *id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn cancel_reaches_clones_and_children_but_not_parents() {
        let parent = Token::new();
        let child = parent.child();
        let grandchild = child.child();
        let other = parent.child();
        other.cancel();
        assert!(other.is_cancelled());
        assert!(!parent.is_cancelled() && !child.is_cancelled());
        parent.clone().cancel();
        assert!(parent.is_cancelled() && child.is_cancelled() && grandchild.is_cancelled());
    }

    #[test]
    fn callbacks_run_once_now_or_on_cancel_and_not_after_their_guard_drops() {
        let runs = Arc::new(AtomicUsize::new(0));
        let count = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        let token = Token::new();
        let kept = token.on_cancel(count(&runs));
        drop(token.on_cancel(count(&runs)));
        token.cancel();
        token.cancel();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "only the kept one, once");
        // Registered after the cancel: runs at once (a hook started just after a stop).
        let _late = token.on_cancel(count(&runs));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        drop(kept);
    }

    #[test]
    fn dropped_children_leave_nothing_registered_with_their_parent() {
        let parent = Token::new();
        for _ in 0..100 {
            let child = parent.child();
            drop(child.clone());
        }
        assert!(parent.inner.lock().callbacks.is_empty());
    }

    #[test]
    fn wait_timeout_wakes_on_cancel_from_another_thread() {
        let token = Token::new();
        assert!(!token.wait_timeout(Duration::from_millis(1)));
        let t2 = token.child();
        let waiter = std::thread::spawn(move || t2.wait_timeout(Duration::from_secs(600)));
        token.cancel();
        assert!(waiter.join().unwrap());
        assert!(
            token.wait_timeout(Duration::from_secs(600)),
            "already cancelled"
        );
    }
}
