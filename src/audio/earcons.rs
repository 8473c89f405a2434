//! Earcons: the short listening-started, listening-stopped, error and volume sounds and the
//! soft thinking cue, generated in code (no asset files to install or lose).

use std::time::Duration;

use super::Clip;

const RATE: u32 = 22050;
const LEVEL: f32 = 0.3;
/// The thinking cue is a background sound: a third of the earcons' level.
const SOFT: f32 = 0.1;
/// The thinking cue repeats this often (a tick, then silence).
pub const THINKING_PERIOD: Duration = Duration::from_millis(1000);

/// Which earcon: the machine's own type, so the app hands it on unmapped (as `Led`).
pub use crate::machine::Earcon;

impl Earcon {
    /// The sound, as mono 22.05 kHz.
    pub fn clip(self) -> Clip {
        let mut samples = Vec::new();
        match self {
            Self::Listening => chirp(&mut samples, 660.0, 990.0, 0.12, LEVEL),
            Self::Stopped => chirp(&mut samples, 990.0, 660.0, 0.12, LEVEL),
            Self::Error => {
                chirp(&mut samples, 330.0, 330.0, 0.12, LEVEL);
                silence(&mut samples, 0.08);
                chirp(&mut samples, 262.0, 262.0, 0.18, LEVEL);
            }
            Self::Volume => chirp(&mut samples, 880.0, 880.0, 0.08, LEVEL),
        }
        mono(samples)
    }
}

/// The thinking cue: a soft, short tick, repeated every `THINKING_PERIOD` while the answer is
/// awaited.
pub fn thinking_cue() -> Clip {
    let mut samples = Vec::new();
    chirp(&mut samples, 440.0, 523.0, 0.08, SOFT);
    mono(samples)
}

fn mono(samples: Vec<f32>) -> Clip {
    Clip {
        samples,
        rate: RATE,
        channels: 1,
    }
}

/// A sine at `level` sweeping linearly from `f0` to `f1` Hz, with 10 ms fades so it does not
/// click.
fn chirp(out: &mut Vec<f32>, f0: f32, f1: f32, secs: f32, level: f32) {
    let n = (RATE as f32 * secs) as usize;
    let fade = (RATE as f32 * 0.010) as usize;
    let mut phase = 0.0f32;
    for i in 0..n {
        let t = i as f32 / n as f32;
        let f = f0 + (f1 - f0) * t;
        phase += 2.0 * std::f32::consts::PI * f / RATE as f32;
        let env = (i.min(n - 1 - i) as f32 / fade as f32).min(1.0);
        out.push(level * env * phase.sin());
    }
}

fn silence(out: &mut Vec<f32>, secs: f32) {
    out.extend(std::iter::repeat_n(0.0, (RATE as f32 * secs) as usize));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero crossings per second: a cheap pitch estimate.
    fn pitch(samples: &[f32]) -> f32 {
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        crossings as f32 / 2.0 / (samples.len() as f32 / RATE as f32)
    }

    #[test]
    fn earcons_are_short_audible_and_distinct() {
        for e in [Earcon::Listening, Earcon::Stopped, Earcon::Error] {
            let c = e.clip();
            assert!(
                c.duration().as_millis() >= 100 && c.duration().as_millis() <= 500,
                "{e:?}"
            );
            assert!(c.rms() > 0.1, "{e:?}");
            assert!(c.samples.iter().all(|s| s.abs() <= LEVEL));
            assert!(c.samples[0].abs() < 0.01, "{e:?} starts with a click");
        }
        let rise = Earcon::Listening.clip().samples;
        let (a, b) = rise.split_at(rise.len() / 2);
        assert!(pitch(b) > pitch(a), "listening rises");
        let fall = Earcon::Stopped.clip().samples;
        let (a, b) = fall.split_at(fall.len() / 2);
        assert!(pitch(b) < pitch(a), "stopped falls");
        assert!(pitch(&Earcon::Error.clip().samples) < 400.0, "error is low");
    }

    #[test]
    fn the_volume_beep_is_short_and_the_thinking_cue_soft() {
        let beep = Earcon::Volume.clip();
        assert!(beep.duration() < Duration::from_millis(100));
        assert!(beep.rms() > 0.1 && beep.samples[0].abs() < 0.01);
        let cue = thinking_cue();
        assert!(
            cue.duration() < THINKING_PERIOD / 5,
            "short within its period"
        );
        let peak = cue.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05 && peak <= SOFT, "soft but audible: {peak}");
        assert!(cue.rms() < Earcon::Listening.clip().rms() / 2.0);
    }
}
