//! The retry schedule: exponential backoff with jitter, `Retry-After` honoured, all within one
//! deadline. Pure: time and randomness are arguments, so it is tested without sleeping.

use std::time::{Duration, Instant};

/// Jitter spreads retries by ±25 % so several boxes behind one proxy do not retry in step.
const JITTER: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The pause before retry number `retry` (1 = the first retry): `initial · 2^(retry-1)`,
    /// capped at `max`, scaled by `1 + 0.25·jitter` with `jitter` in `[-1, 1]`. A server's
    /// `Retry-After` is a floor: waiting less would only earn another 503.
    pub fn delay(&self, retry: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max);
        let factor = 1.0 + JITTER * jitter.clamp(-1.0, 1.0);
        let jittered = base.mul_f64(factor);
        match retry_after {
            Some(floor) => jittered.max(floor),
            None => jittered,
        }
    }
}

/// When the next attempt may start, or `None` if waiting would leave the deadline behind (so
/// the caller gives up now with the error it has, instead of sleeping into a certain failure).
pub fn next_attempt_at(now: Instant, delay: Duration, deadline: Instant) -> Option<Instant> {
    let at = now.checked_add(delay)?;
    (at < deadline).then_some(at)
}

/// Parses `Retry-After` in its delta-seconds form. The HTTP-date form is ignored: proxies in
/// front of Ollama send seconds, and a wrong clock on a Pi would make a date meaningless.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_caps_and_jitters() {
        let b = Backoff {
            initial: MS(500),
            max: MS(3000),
        };
        // (retry, jitter, retry_after, expected)
        let cases = [
            (1, 0.0, None, MS(500)),
            (2, 0.0, None, MS(1000)),
            (3, 0.0, None, MS(2000)),
            (4, 0.0, None, MS(3000)),
            (30, 0.0, None, MS(3000)),
            (u32::MAX, 0.0, None, MS(3000)),
            (1, 1.0, None, MS(625)),
            (1, -1.0, None, MS(375)),
            (2, 7.0, None, MS(1250)),
            (1, 0.0, Some(Duration::from_secs(2)), MS(2000)),
            (3, 0.0, Some(MS(100)), MS(2000)),
            (0, 0.0, None, MS(500)),
        ];
        for (retry, jitter, after, want) in cases {
            assert_eq!(
                b.delay(retry, jitter, after),
                want,
                "retry {retry} jitter {jitter}"
            );
        }
    }

    #[test]
    fn zero_initial_means_no_pause() {
        let b = Backoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
        };
        assert_eq!(b.delay(3, 1.0, None), Duration::ZERO);
    }

    #[test]
    fn never_sleeps_past_the_deadline() {
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(10);
        assert_eq!(next_attempt_at(t0, MS(500), deadline), Some(t0 + MS(500)));
        assert_eq!(next_attempt_at(t0, Duration::from_secs(10), deadline), None);
        assert_eq!(next_attempt_at(t0, Duration::from_secs(11), deadline), None);
        assert_eq!(next_attempt_at(deadline, Duration::ZERO, deadline), None);
    }

    #[test]
    fn retry_after_seconds_only() {
        let cases = [
            ("3", Some(Duration::from_secs(3))),
            (" 10 ", Some(Duration::from_secs(10))),
            ("0", Some(Duration::ZERO)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("-1", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_retry_after(text), want, "{text:?}");
        }
    }
}
