//! Energy-based speech checks on mono samples: "is there any speech?" and end-of-speech.
//!
//! Both work on 20 ms windows compared with `audio.speech_threshold` (an RMS level). A few
//! loud windows in a row are needed to count as speech, so a click or a button knock alone
//! does not send a clip to STT.

use std::time::Duration;

/// Window length for the RMS checks.
pub const WINDOW: Duration = Duration::from_millis(20);
/// Loud windows (in total) a clip needs to count as speech: 100 ms.
pub const MIN_SPEECH_WINDOWS: u32 = 5;

fn window_len(rate: u32) -> usize {
    ((rate as u64 * WINDOW.as_millis() as u64 / 1000) as usize).max(1)
}

fn rms(s: &[f32]) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    let sum: f64 = s.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    (sum / s.len() as f64).sqrt() as f32
}

/// Whether at least `MIN_SPEECH_WINDOWS` 20 ms windows of `mono` rise above `threshold`.
pub fn has_speech(mono: &[f32], rate: u32, threshold: f32) -> bool {
    let loud = mono
        .chunks(window_len(rate))
        .filter(|w| rms(w) > threshold)
        .count();
    loud >= MIN_SPEECH_WINDOWS as usize
}

/// Toggle mode's end-of-speech detector: after speech was heard, `end_silence` of quiet
/// windows in a row (the hangover) ends the utterance. Fed incrementally as samples arrive.
#[derive(Debug, Clone)]
pub struct EndDetector {
    window: usize,
    threshold: f32,
    quiet_needed: u32,
    sum_sq: f64,
    filled: usize,
    loud_windows: u32,
    quiet_run: u32,
    ended: bool,
}

impl EndDetector {
    pub fn new(rate: u32, threshold: f32, end_silence: Duration) -> Self {
        let quiet_needed = (end_silence.as_millis() / WINDOW.as_millis()).max(1) as u32;
        Self {
            window: window_len(rate),
            threshold,
            quiet_needed,
            sum_sq: 0.0,
            filled: 0,
            loud_windows: 0,
            quiet_run: 0,
            ended: false,
        }
    }

    /// Whether enough loud windows have been heard to count as speech (the same test as
    /// `has_speech`).
    pub fn heard_speech(&self) -> bool {
        self.loud_windows >= MIN_SPEECH_WINDOWS
    }

    /// Feeds mono samples; returns true exactly once, when the utterance has ended.
    pub fn push(&mut self, samples: &[f32]) -> bool {
        if self.ended {
            return false;
        }
        for &s in samples {
            self.sum_sq += f64::from(s) * f64::from(s);
            self.filled += 1;
            if self.filled < self.window {
                continue;
            }
            let loud = (self.sum_sq / self.window as f64).sqrt() as f32 > self.threshold;
            self.sum_sq = 0.0;
            self.filled = 0;
            if loud {
                self.loud_windows += 1;
                self.quiet_run = 0;
            } else if self.loud_windows >= MIN_SPEECH_WINDOWS {
                self.quiet_run += 1;
                if self.quiet_run >= self.quiet_needed {
                    self.ended = true;
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16000;

    /// `(loud?, milliseconds)` segments → samples (a 300 Hz tone at 0.3 or silence).
    fn signal(parts: &[(bool, u32)]) -> Vec<f32> {
        let mut out = Vec::new();
        for &(loud, ms) in parts {
            for i in 0..(RATE * ms / 1000) {
                let t = i as f32 / RATE as f32;
                let v = (2.0 * std::f32::consts::PI * 300.0 * t).sin() * 0.3;
                out.push(if loud { v } else { 0.0 });
            }
        }
        out
    }

    #[test]
    fn has_speech_table() {
        for (parts, want) in [
            (&[(false, 2000)][..], false),
            (&[(true, 40), (false, 1000)][..], false), // a click
            (&[(false, 500), (true, 200), (false, 500)][..], true),
            (&[(true, 60), (false, 100), (true, 60)][..], true), // 6 loud windows in total
            (&[][..], false),
        ] {
            assert_eq!(has_speech(&signal(parts), RATE, 0.01), want, "{parts:?}");
        }
    }

    #[test]
    fn quiet_noise_below_the_threshold_is_not_speech() {
        let noise: Vec<f32> = (0..RATE)
            .map(|i| if i % 2 == 0 { 0.005 } else { -0.005 })
            .collect();
        assert!(!has_speech(&noise, RATE, 0.01));
        assert!(has_speech(&noise, RATE, 0.001));
    }

    /// Feeds `parts` in odd-sized pieces; returns the sample index where the end fired.
    fn end_at(parts: &[(bool, u32)], end_silence_ms: u64) -> Option<usize> {
        let s = signal(parts);
        let mut d = EndDetector::new(RATE, 0.01, Duration::from_millis(end_silence_ms));
        let mut fired = None;
        for (i, piece) in s.chunks(333).enumerate() {
            if d.push(piece) {
                assert!(fired.is_none(), "fired twice");
                fired = Some(i * 333 + piece.len());
            }
        }
        fired
    }

    #[test]
    fn end_detector_table() {
        let ms = |m: u32| (RATE * m / 1000) as usize;
        // Speech then enough silence: ends between 1200 ms and one window + one piece later.
        let at = end_at(&[(true, 500), (false, 2000)], 1200).unwrap();
        assert!(at >= ms(1700) && at <= ms(1700) + ms(20) + 333, "{at}");
        // A pause shorter than the hangover does not end it; the later silence does.
        let at = end_at(
            &[(true, 300), (false, 800), (true, 300), (false, 1500)],
            1200,
        )
        .unwrap();
        assert!(at >= ms(2600), "{at}");
        // Silence only, or a click then silence: never ends (max_record does).
        assert_eq!(end_at(&[(false, 5000)], 1200), None);
        assert_eq!(end_at(&[(true, 40), (false, 5000)], 1200), None);
        // Speech that never stops: no end.
        assert_eq!(end_at(&[(true, 5000)], 1200), None);
    }

    #[test]
    fn heard_speech_agrees_with_has_speech() {
        for parts in [
            &[(false, 2000)][..],
            &[(true, 40), (false, 1000)][..],
            &[(false, 500), (true, 200), (false, 500)][..],
            &[(true, 60), (false, 100), (true, 60)][..],
        ] {
            let s = signal(parts);
            let mut d = EndDetector::new(RATE, 0.01, Duration::from_millis(1200));
            d.push(&s);
            assert_eq!(d.heard_speech(), has_speech(&s, RATE, 0.01), "{parts:?}");
        }
    }
}
