//! Deterministic physical inputs.
//!
//! A reading must be reproducible from (seed, device, channel, time) alone, with no hidden
//! state, so that two runs with the same seed see the same board and a test can predict what a
//! driver should read. Hashing is a local splitmix64 rather than std's `DefaultHasher`, whose
//! algorithm is not promised to stay the same between Rust releases.

/// Domain separation so a channel's phase and its noise draws are independent streams.
const SALT_PHASE: u64 = 0x0050_4841_5345;
const SALT_NOISE: u64 = 0x004E_4F49_5345;

/// One channel's physical quantity over time, in the channel's native units (m°C, mV, mA, mW,
/// RPM): `base + swing·sin(2π·t/period + phase) + noise`, where the phase is derived from the
/// seed and the channel's identity and the noise is uniform in `[-noise, noise]`, redrawn once
/// per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waveform {
    pub base: i32,
    pub swing: i32,
    /// Zero means no sinusoid (the value is `base` plus noise).
    pub period_ms: u32,
    pub noise: i32,
}

impl Waveform {
    pub const fn constant(value: i32) -> Self {
        Waveform {
            base: value,
            swing: 0,
            period_ms: 0,
            noise: 0,
        }
    }

    pub const fn new(base: i32, swing: i32, period_ms: u32, noise: i32) -> Self {
        Waveform {
            base,
            swing,
            period_ms,
            noise,
        }
    }

    /// The phase in radians this waveform gets for `key`.
    pub fn phase(key: &ChannelKey<'_>) -> f64 {
        unit(key.hash(SALT_PHASE)) * std::f64::consts::TAU
    }

    pub fn sample(&self, key: &ChannelKey<'_>, t_ms: u64) -> i32 {
        let mut v = f64::from(self.base);
        if self.period_ms != 0 && self.swing != 0 {
            let cycle = (t_ms % u64::from(self.period_ms)) as f64 / f64::from(self.period_ms);
            let angle = std::f64::consts::TAU * cycle + Self::phase(key);
            v += f64::from(self.swing) * angle.sin();
        }
        if self.noise > 0 {
            let r = unit(key.hash(SALT_NOISE ^ (t_ms / 1000).wrapping_mul(0x9E37_79B9)));
            let span = 2.0 * f64::from(self.noise) + 1.0;
            v += (r * span).floor() - f64::from(self.noise);
        }
        v.round().clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    }
}

/// Identifies one physical input: which board (seed), which bus and address, which channel.
#[derive(Debug, Clone, Copy)]
pub struct ChannelKey<'a> {
    pub seed: u64,
    pub bus: &'a str,
    pub address: u8,
    pub channel: u8,
}

impl ChannelKey<'_> {
    fn hash(&self, salt: u64) -> u64 {
        let mut h = splitmix64(self.seed ^ salt);
        for &b in self.bus.as_bytes() {
            h = splitmix64(h ^ u64::from(b));
        }
        h = splitmix64(h ^ (u64::from(self.address) << 8 | u64::from(self.channel)));
        splitmix64(h)
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps a hash to [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u64, channel: u8) -> ChannelKey<'static> {
        ChannelKey {
            seed,
            bus: "i2c1",
            address: 0x48,
            channel,
        }
    }

    #[test]
    fn constant_is_constant() {
        let w = Waveform::constant(42_000);
        for t in [0, 1, 999, 1_000_000] {
            assert_eq!(w.sample(&key(1, 0), t), 42_000);
        }
    }

    #[test]
    fn noise_stays_in_bounds_and_holds_for_a_second() {
        let w = Waveform::new(0, 0, 0, 50);
        let mut seen_nonzero = false;
        for s in 0..200u64 {
            let v = w.sample(&key(s, 0), 5_000);
            assert!((-50..=50).contains(&v));
            assert_eq!(v, w.sample(&key(s, 0), 5_999));
            seen_nonzero |= v != 0;
        }
        assert!(seen_nonzero);
    }

    #[test]
    fn swing_bounds_and_period() {
        let w = Waveform::new(1000, 100, 10_000, 0);
        for t in (0..20_000).step_by(137) {
            let v = w.sample(&key(7, 1), t);
            assert!((900..=1100).contains(&v), "{v}");
            assert_eq!(v, w.sample(&key(7, 1), t + 10_000));
        }
    }

    #[test]
    fn phase_depends_on_seed_and_channel() {
        assert_eq!(Waveform::phase(&key(1, 0)), Waveform::phase(&key(1, 0)));
        assert_ne!(Waveform::phase(&key(1, 0)), Waveform::phase(&key(2, 0)));
        assert_ne!(Waveform::phase(&key(1, 0)), Waveform::phase(&key(1, 1)));
    }
}
