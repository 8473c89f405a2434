//! The everyday volume: a percent (0..=100) turned into a gain under the installation's trim
//! (`audio.volume`), on a perceptual curve.
//!
//! Why this curve: perceived loudness grows with amplitude to the power of about 0.6 (Stevens'
//! power law: loudness ~ intensity^0.3), so the amplitude `(percent/100)^(1/0.6)` makes each
//! step of the percent sound like an equal step of loudness: 50 % sounds about half as loud as
//! 100 % (-10 dB), 10 % is a quiet room voice (-33 dB). A linear gain would put most of the
//! audible change in the bottom fifth of the range.

/// The curve's gain for each percent, 0..=100, computed when the program is compiled. Why not
/// `powf` at run time: it is libm's, and its first call maps libm's tables into the daemon,
/// 0.2 MiB of idle RSS for eleven distinct values.
const CURVE: [f32; 101] = curve();

/// `(p/100)^(5/3)` for each percent p, as `x * cbrt(x)^2`, the cube root by Newton's method
/// (from 1, which converges for every x in 0..=1 well within the iterations given).
const fn curve() -> [f32; 101] {
    let mut out = [0.0; 101];
    let mut p = 1;
    while p <= 100 {
        let x = p as f64 / 100.0;
        let mut y = 1.0;
        let mut i = 0;
        while i < 60 {
            y = (2.0 * y + x / (y * y)) / 3.0;
            i += 1;
        }
        out[p] = (x * y * y) as f32;
        p += 1;
    }
    out
}

/// The playback gain for `percent` of `trim` (`audio.volume`).
pub fn gain(percent: u8, trim: f32) -> f32 {
    trim * CURVE[usize::from(percent.min(100))]
}

#[cfg(test)]
mod tests {
    use super::gain;

    fn db(g: f32) -> f32 {
        20.0 * g.log10()
    }

    #[test]
    fn the_curve_is_perceptual_and_bounded_by_the_trim() {
        assert_eq!(gain(100, 1.0), 1.0);
        assert_eq!(gain(100, 0.5), 0.5, "100 % is the trim");
        assert_eq!(gain(0, 1.0), 0.0);
        assert_eq!(gain(250, 1.0), 1.0, "more than 100 % is 100 %");
        // Half the loudness at half the percent: about -10 dB.
        assert!(
            (db(gain(50, 1.0)) + 10.0).abs() < 0.1,
            "{}",
            db(gain(50, 1.0))
        );
        assert!(
            (db(gain(10, 1.0)) + 33.3).abs() < 0.1,
            "{}",
            db(gain(10, 1.0))
        );
        // The table is the curve: amplitude = share^(1/0.6).
        for p in 0..=100u8 {
            let exact = (f32::from(p) / 100.0).powf(5.0 / 3.0);
            assert!(
                (gain(p, 1.0) - exact).abs() < 1e-6,
                "{p}: {} vs {exact}",
                gain(p, 1.0)
            );
        }
        // Every step is quieter than the one above it.
        let steps: Vec<f32> = (0..=10).map(|s| gain(s * 10, 1.0)).collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    }
}
