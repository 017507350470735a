//! Seeded, deterministic randomness for generated data (SplitMix64), and the GUID and secret
//! shapes built from it. Not for anything secret: the rehearsal data must be reproducible.

/// SplitMix64: tiny, fast, and good enough to vary names and flags.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A generator for one purpose (tenant ids, names, …) so that adding draws in one place
    /// does not shift the values drawn in another.
    pub(crate) fn derive(seed: u64, purpose: &str) -> Self {
        // FNV-1a over the purpose, mixed with the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in purpose.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut r = Rng(seed ^ h);
        r.next_u64();
        r
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A version-4-shaped GUID in Microsoft's lower-case, hyphenated form.
    pub(crate) fn guid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        format_guid(hi, lo)
    }

    /// `n` decimal digits, the first one non-zero.
    pub(crate) fn digits(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        for i in 0..n {
            let d = if i == 0 {
                1 + self.below(9)
            } else {
                self.below(10)
            };
            s.push(char::from(b'0' + d as u8));
        }
        s
    }

    /// A 40-character string shaped like an Entra client secret value (`abc8Q~…`).
    pub(crate) fn client_secret(&mut self) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const BODY: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
        let mut s = String::with_capacity(40);
        for _ in 0..3 {
            s.push(char::from(*self.pick(ALNUM)));
        }
        s.push(char::from(b'0' + self.below(10) as u8));
        s.push_str("Q~");
        for _ in 0..34 {
            s.push(char::from(*self.pick(BODY)));
        }
        s
    }
}

/// A uniform fraction in [0, 1) from a xorshift stream kept in `state` (seeded, so a run of
/// injected faults can be replayed).
pub(crate) fn fraction(state: &mut u64) -> f64 {
    let mut x = *state | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn format_guid(hi: u64, lo: u64) -> String {
    // Version 4 and RFC 4122 variant bits, as real tenant and object ids have.
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// A fresh random GUID (request ids, trace ids): these must differ between runs.
pub(crate) fn fresh_guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        let mut a = Rng::derive(1, "x");
        let mut b = Rng::derive(1, "x");
        assert_eq!(a.guid(), b.guid());
        let g = Rng::derive(2, "x").guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.get(14..15), Some("4"));
        assert!(matches!(g.get(19..20), Some("8" | "9" | "a" | "b")));
        let s = Rng::new(5).client_secret();
        assert_eq!(s.len(), 40);
        assert_eq!(s.get(4..6), Some("Q~"));
        let d = Rng::new(5).digits(8);
        assert_eq!(d.len(), 8);
        assert!(d.bytes().all(|c| c.is_ascii_digit()) && !d.starts_with('0'));
        assert_ne!(
            Rng::derive(1, "x").next_u64(),
            Rng::derive(1, "y").next_u64()
        );
    }
}
