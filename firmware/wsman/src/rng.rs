//! Message ids and enumeration-context tokens.
//!
//! Context tokens are bearer-like handles a client echoes back, so they must not be predictable
//! from ids the service has already sent. Each token is SipHash-2-4 (a keyed PRF) of a counter,
//! keyed from the seed; seeing any number of outputs does not reveal the key. Contexts are also
//! bound to their user, so a guessed token alone would not be enough anyway.

/// A keyed counter-mode generator of 128-bit values.
#[derive(Debug, Clone)]
pub struct TokenGen {
    k0: u64,
    k1: u64,
    counter: u64,
}

impl TokenGen {
    pub fn new(seed: u64) -> Self {
        let mut s = seed;
        let k0 = splitmix(&mut s);
        let k1 = splitmix(&mut s);
        Self { k0, k1, counter: 0 }
    }

    /// The next 128 bits.
    pub fn next_u128(&mut self) -> u128 {
        let c = self.counter;
        self.counter = self.counter.wrapping_add(1);
        let mut msg = [0u8; 16];
        msg[..8].copy_from_slice(&c.to_le_bytes());
        let hi = siphash24(self.k0, self.k1, &msg);
        msg[8] = 1;
        let lo = siphash24(self.k0, self.k1, &msg);
        (u128::from(hi) << 64) | u128::from(lo)
    }

    /// `uuid:XXXXXXXX-XXXX-4XXX-YXXX-XXXXXXXXXXXX`, upper case as Windows writes it.
    pub fn next_uuid(&mut self) -> Uuid {
        format_uuid(self.next_u128())
    }
}

/// A formatted `uuid:` string without allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Uuid([u8; UUID_LEN]);

/// `uuid:` + 36 characters.
pub const UUID_LEN: usize = 41;

impl Uuid {
    /// A stand-in of a real id's length, for measuring an envelope before its ids exist.
    pub const PLACEHOLDER: Uuid = Uuid([b'X'; UUID_LEN]);

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits, dashes and the prefix are ever written.
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl core::fmt::Debug for Uuid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn format_uuid(v: u128) -> Uuid {
    // RFC 4122 version 4 / variant 1 bits, so strict parsers accept the value as a UUID.
    let v = (v & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let mut out = [0u8; UUID_LEN];
    out[..5].copy_from_slice(b"uuid:");
    let mut pos = 5;
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out[pos] = b'-';
            pos += 1;
        }
        let nibble = ((v >> (124 - 4 * i)) & 0xF) as u8;
        out[pos] = b"0123456789ABCDEF"[usize::from(nibble)];
        pos += 1;
    }
    Uuid(out)
}

/// splitmix64: advances `state` and returns its next output. Public so the bare-metal image
/// expands its boot seed (Digest nonce key, password salts) with this one copy.
pub fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SipHash-2-4 (Aumasson & Bernstein).
fn siphash24(k0: u64, k1: u64, msg: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = msg.chunks_exact(8);
    for chunk in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let m = u64::from_le_bytes(b);
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let rem = chunks.remainder();
    last[..rem.len()].copy_from_slice(rem);
    last[7] = msg.len() as u8;
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;

    const K0: u64 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
    const K1: u64 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);

    #[test]
    fn siphash_reference_vectors() {
        assert_eq!(siphash24(K0, K1, &[]), 0x726f_db47_dd0e_0e31);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        assert_eq!(siphash24(K0, K1, &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn uuids_are_well_formed_distinct_and_seeded() {
        let mut a = TokenGen::new(1);
        let mut b = TokenGen::new(1);
        let mut c = TokenGen::new(2);
        let x = a.next_uuid();
        assert_eq!(x, b.next_uuid());
        assert_ne!(x, c.next_uuid());
        assert_ne!(x, a.next_uuid());
        let s = x.as_str();
        assert_eq!(s.len(), UUID_LEN);
        assert!(s.starts_with("uuid:"));
        let parts: alloc::vec::Vec<&str> = s[5..].split('-').collect();
        assert_eq!(
            parts
                .iter()
                .map(|p| p.len())
                .collect::<alloc::vec::Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'A' | b'B'));
        assert!(
            s[5..]
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || b.is_ascii_uppercase())
        );
    }
}
