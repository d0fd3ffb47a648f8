//! HTTP Digest (RFC 7616), server side: the `Authorization: Digest ...` parser, the nonces and
//! the nonce-count replay table.
//!
//! Nonces are stateless: `hex(issued_ms ‖ serial ‖ HMAC-SHA256(secret, issued_ms ‖ serial)[..16])`.
//! Hex rather than base64 because the response check needs a hex codec anyway, so the nonce
//! costs no second codec on the bare-metal image (the format is opaque to clients).
//! The server keeps no table of issued nonces, so a flood of 401s costs no memory; the MAC
//! proves a nonce is ours, `issued_ms` lets it expire (`stale=true`), and the serial makes every
//! nonce unique so two clients never share one nonce-count sequence.
//!
//! Replay is refused with a small, fixed table of the nonces in use and the highest `nc` seen for
//! each. When a slot must be reused, the evicted nonce's serial becomes a floor: every nonce at or
//! below it that is not in the table is answered `stale=true`, because the server can no longer
//! tell which of its counts were used. The client just takes the fresh nonce, so the bound costs
//! one extra round trip, never a replay.

use alloc::borrow::Cow;
use alloc::string::String;
use core::cell::RefCell;

use embassy_time::{Duration, Instant};
use hmac::{KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::head::is_token;
use crate::md5::Md5;
use crate::server::put;
use crate::{DigestKeys, REALM};

/// Nonces in use whose nonce-counts are tracked. One per concurrently authenticating client is
/// enough (curl and requests reuse one nonce per session); more only cost a stale round trip.
pub const NONCE_SLOTS: usize = 16;

/// How long a nonce is accepted after it was issued. Short enough that a captured nonce is soon
/// useless, long enough that a console session rarely pays the extra stale round trip.
pub const DEFAULT_NONCE_TTL: Duration = Duration::from_secs(5 * 60);

/// Bytes of the nonce's MAC: 128 bits, as much as needed to make forging one hopeless.
const MAC_LEN: usize = 16;
/// issued_ms (8) + serial (4) + MAC.
const NONCE_RAW: usize = 12 + MAC_LEN;
/// Characters of a nonce: the raw bytes in hex.
const NONCE_HEX: usize = 2 * NONCE_RAW;
/// Longest header parameter value considered (the nonce is 56 characters, a response 64).
const MAX_VALUE: usize = 512;

type HmacSha256 = hmac::Hmac<Sha256>;

/// A hash the server can verify a Digest response with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// The token in `algorithm=`.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn parse(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    pub(crate) fn len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha256 => 32,
        }
    }

    /// H(parts joined with ':'), in the first `len()` bytes.
    pub(crate) fn hash(self, parts: &[&[u8]]) -> [u8; 32] {
        let mut out = [0u8; 32];
        match self {
            Algorithm::Md5 => {
                let mut h = Md5::new();
                feed(&mut h, parts);
                out[..16].copy_from_slice(&h.finalize());
            }
            Algorithm::Sha256 => {
                let mut h = Sha256::new();
                feed(&mut h, parts);
                out.copy_from_slice(&h.finalize());
            }
        }
        out
    }
}

/// What [`feed`] needs of a hash: one `update` behind a vtable, so the ':'-joining loop is
/// compiled once for both algorithms rather than once per hash type.
trait Update {
    fn put(&mut self, data: &[u8]);
}

impl Update for Md5 {
    fn put(&mut self, data: &[u8]) {
        self.update(data);
    }
}

impl Update for Sha256 {
    fn put(&mut self, data: &[u8]) {
        sha2::Digest::update(self, data);
    }
}

fn feed(h: &mut dyn Update, parts: &[&[u8]]) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.put(b":");
        }
        h.put(part);
    }
}

impl DigestKeys {
    /// Computes both HA1s for [`REALM`].
    pub fn derive(user: &str, password: &[u8]) -> Self {
        let parts: [&[u8]; 3] = [user.as_bytes(), REALM.as_bytes(), password];
        let mut md5 = [0u8; 16];
        md5.copy_from_slice(&Algorithm::Md5.hash(&parts)[..16]);
        Self {
            md5,
            sha256: Algorithm::Sha256.hash(&parts),
        }
    }

    fn ha1(&self, algorithm: Algorithm) -> &[u8] {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

/// The parameters of one `Authorization: Digest` header, borrowed where no unescaping was
/// needed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Credentials<'a> {
    /// The value of each of [`PARAMS`], by its index: one table the parser fills by the index
    /// it matched (a field per name cost a match arm each, and its own default and drop).
    pub values: [Option<Cow<'a, str>>; PARAMS.len()],
    pub username_ext: bool,
}

impl Credentials<'_> {
    /// The values borrowed, in [`PARAMS`]' order.
    pub(crate) fn get(&self) -> [Option<&str>; PARAMS.len()] {
        self.values.each_ref().map(|v| v.as_deref())
    }
}

/// Why a header is not even a candidate credential. Every case is answered with a fresh 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    Syntax,
    Duplicate,
    TooLong,
}

/// The parameters [`parse`] keeps, in the order of [`Credentials::values`].
const PARAMS: [&str; 10] = [
    "username",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "cnonce",
    "qop",
    "nc",
    "userhash",
];

/// Parses the part after `Digest `: `name=token` or `name="quoted"` pairs separated by commas.
/// A parameter given twice is refused (which copy would a proxy have checked?); unknown ones
/// are ignored as RFC 7616 asks.
pub(crate) fn parse(params: &str) -> Result<Credentials<'_>, ParseError> {
    let mut creds = Credentials::default();
    let mut rest = params.as_bytes();
    let text = params;
    let mut pos = 0usize;
    loop {
        // Skip blanks and empty list elements (RFC 9110 §5.6.1 allows `a, , b`).
        while let Some(&b) = rest.first() {
            if b == b' ' || b == b'\t' || b == b',' {
                rest = &rest[1..];
                pos += 1;
            } else {
                break;
            }
        }
        if rest.is_empty() {
            return Ok(creds);
        }
        let name_len = rest.iter().take_while(|&&b| is_token(b)).count();
        if name_len == 0 {
            return Err(ParseError::Syntax);
        }
        let name = &text[pos..pos + name_len];
        rest = &rest[name_len..];
        pos += name_len;
        let blanks = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        rest = &rest[blanks..];
        pos += blanks;
        if rest.first() != Some(&b'=') {
            return Err(ParseError::Syntax);
        }
        rest = &rest[1..];
        pos += 1;
        let blanks = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        rest = &rest[blanks..];
        pos += blanks;
        let (value, used): (Cow<'_, str>, usize) = if rest.first() == Some(&b'"') {
            quoted(&text[pos..])?
        } else {
            let n = rest.iter().take_while(|&&b| is_token(b)).count();
            if n == 0 {
                return Err(ParseError::Syntax);
            }
            (Cow::Borrowed(&text[pos..pos + n]), n)
        };
        if value.len() > MAX_VALUE {
            return Err(ParseError::TooLong);
        }
        rest = &rest[used..];
        pos += used;
        let blanks = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        rest = &rest[blanks..];
        pos += blanks;
        match rest.first() {
            None | Some(b',') => {}
            Some(_) => return Err(ParseError::Syntax),
        }
        // One loop over the names: a chain of ten comparisons inlined each one's length check
        // and call on the bare-metal image.
        let Some(slot) = PARAMS
            .iter()
            .position(|p| name.eq_ignore_ascii_case(p))
            .and_then(|i| creds.values.get_mut(i))
        else {
            creds.username_ext |= name.eq_ignore_ascii_case("username*");
            continue;
        };
        if slot.is_some() {
            return Err(ParseError::Duplicate);
        }
        *slot = Some(value);
    }
}

/// A quoted-string at the start of `s`: its unescaped value and the bytes it spans.
fn quoted(s: &str) -> Result<(Cow<'_, str>, usize), ParseError> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let mut escaped = false;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let inner = &s[1..i];
                let value = if escaped {
                    let mut out = String::new();
                    let mut chars = inner.chars();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => out.push(chars.next().ok_or(ParseError::Syntax)?),
                            c => out.push(c),
                        }
                    }
                    Cow::Owned(out)
                } else {
                    Cow::Borrowed(inner)
                };
                return Ok((value, i + 1));
            }
            b'\\' => {
                escaped = true;
                i += 2;
            }
            // Control characters are not allowed in a quoted-string (RFC 9110 §5.6.4).
            b if b < 0x20 && b != b'\t' => return Err(ParseError::Syntax),
            0x7f => return Err(ParseError::Syntax),
            _ => i += 1,
        }
        if i - 1 > MAX_VALUE {
            return Err(ParseError::TooLong);
        }
    }
    Err(ParseError::Syntax)
}

/// A verified nonce's identity and age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceInfo {
    pub serial: u32,
    pub issued_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    serial: u32,
    last_nc: u32,
    used: Instant,
}

/// What a Digest check concluded. The account's index comes with the header's `username`,
/// which the table matched exactly: the caller names the account in its audit without a
/// second walk of the table for the index's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check<'a> {
    /// The response proves the account at this index.
    Ok(usize, Cow<'a, str>),
    /// The nonce was ours but is too old, or its counts can no longer be tracked: challenge
    /// again with `stale=true` so the client retries with the same password.
    Stale,
    /// A well-formed answer to one of our live nonces, for the account at this index, with the
    /// wrong password: a guess, which the account's lockout counts.
    Wrong(usize, Cow<'a, str>),
    /// Anything else: forged nonce, replayed count, malformed, unknown user.
    Denied,
}

/// Nonce issue and nonce-count tracking. Lives inside [`crate::Auth`].
pub(crate) struct Nonces {
    secret: [u8; 32],
    ttl: Duration,
    next_serial: core::cell::Cell<u32>,
    slots: RefCell<[Option<Slot>; NONCE_SLOTS]>,
    /// Nonces with a serial at or below this are stale unless still in `slots`.
    floor: core::cell::Cell<Option<u32>>,
}

impl Nonces {
    pub(crate) fn new() -> Self {
        Self {
            secret: [0; 32],
            ttl: DEFAULT_NONCE_TTL,
            next_serial: core::cell::Cell::new(0),
            slots: RefCell::new([None; NONCE_SLOTS]),
            floor: core::cell::Cell::new(None),
        }
    }

    pub(crate) fn set_secret(&mut self, secret: [u8; 32]) {
        self.secret = secret;
        self.slots.get_mut().fill(None);
        self.floor.set(None);
    }

    pub(crate) fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    fn mac(&self, payload: &[u8; 12]) -> [u8; MAC_LEN] {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an all-zero MAC
        // rather than panic if that ever changed (the nonce would then simply never verify).
        let mut out = [0u8; MAC_LEN];
        if let Ok(mut mac) = HmacSha256::new_from_slice(&self.secret) {
            mac.update(payload);
            out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        }
        out
    }

    /// A fresh nonce, appended to `out` ([`NONCE_HEX`] lowercase hex digits).
    pub(crate) fn issue(&self, now: Instant, out: &mut String) {
        let serial = self.next_serial.get();
        self.next_serial.set(serial.wrapping_add(1));
        let mut raw = [0u8; NONCE_RAW];
        raw[..8].copy_from_slice(&now.as_millis().to_be_bytes());
        raw[8..12].copy_from_slice(&serial.to_be_bytes());
        let mut payload = [0u8; 12];
        payload.copy_from_slice(&raw[..12]);
        raw[12..].copy_from_slice(&self.mac(&payload));
        let mut text = [0u8; NONCE_HEX];
        hex_into(&raw, &mut text);
        // Hex digits are ASCII, so this never fails.
        if let Ok(text) = core::str::from_utf8(&text) {
            out.push_str(text);
        }
    }

    /// Checks a nonce's MAC; `None` when it is not one of ours (or not from this boot).
    pub(crate) fn open(&self, nonce: &str) -> Option<NonceInfo> {
        let mut raw = [0u8; NONCE_RAW];
        decode_hex(nonce, &mut raw)?;
        let mut payload = [0u8; 12];
        payload.copy_from_slice(&raw[..12]);
        if !bool::from(self.mac(&payload).ct_eq(&raw[12..])) {
            return None;
        }
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&raw[..8]);
        let mut serial = [0u8; 4];
        serial.copy_from_slice(&raw[8..12]);
        Some(NonceInfo {
            serial: u32::from_be_bytes(serial),
            issued_ms: u64::from_be_bytes(ms),
        })
    }

    fn expired(&self, info: NonceInfo, now: Instant) -> bool {
        now.as_millis().saturating_sub(info.issued_ms) > self.ttl.as_millis()
            || info.issued_ms > now.as_millis()
    }

    /// Whether `nc` for this nonce is new; records it when it is. Returns `None` when the nonce
    /// is too old to be tracked (answer stale).
    fn record(&self, info: NonceInfo, nc: u32, now: Instant) -> Option<bool> {
        let mut slots = self.slots.borrow_mut();
        if let Some(slot) = slots.iter_mut().flatten().find(|s| s.serial == info.serial) {
            if nc <= slot.last_nc {
                return Some(false);
            }
            slot.last_nc = nc;
            slot.used = now;
            return Some(true);
        }
        if self
            .floor
            .get()
            .is_some_and(|floor| serial_le(info.serial, floor))
        {
            return None;
        }
        // A free slot, else the least recently used one, whose serial becomes the floor.
        let mut victim = 0;
        let mut oldest = Instant::MAX;
        for (i, slot) in slots.iter().enumerate() {
            match slot {
                None => {
                    victim = i;
                    break;
                }
                Some(s) if s.used < oldest => {
                    oldest = s.used;
                    victim = i;
                }
                Some(_) => {}
            }
        }
        if let Some(Some(evicted)) = slots.get(victim) {
            let floor = match self.floor.get() {
                Some(f) if serial_le(evicted.serial, f) => f,
                _ => evicted.serial,
            };
            self.floor.set(Some(floor));
        }
        if let Some(slot) = slots.get_mut(victim) {
            *slot = Some(Slot {
                serial: info.serial,
                last_nc: nc,
                used: now,
            });
        }
        Some(true)
    }

    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.slots.borrow().iter().flatten().count()
    }
}

/// Serial order that survives the u32 wrap (RFC 1982 style).
fn serial_le(a: u32, b: u32) -> bool {
    a == b || b.wrapping_sub(a) < 0x8000_0000
}

/// What the account table offers [`verify`]: the index and Digest keys of a user name.
pub(crate) trait Lookup {
    /// Owned keys: the table may sit behind a `RefCell` borrowed only for the lookup.
    fn find(&self, user: &str) -> Option<(usize, DigestKeys)>;
}

/// Verifies one Digest `Authorization` for a request to `target` with `method`.
pub(crate) fn verify<'a>(
    nonces: &Nonces,
    accounts: &impl Lookup,
    params: &'a str,
    method: &str,
    target: &str,
    offered: &[Algorithm],
    now: Instant,
) -> Check<'a> {
    let Ok(mut c) = parse(params) else {
        return Check::Denied;
    };
    let [
        user,
        realm,
        nonce,
        uri,
        response,
        algorithm,
        cnonce,
        qop,
        nc,
        userhash,
    ] = c.get();
    if c.username_ext || userhash.is_some_and(|v| v != "false") {
        // RFC 7616 username* and userhash are not supported; such clients fall back to Basic.
        return Check::Denied;
    }
    let (
        Some(user),
        Some(realm),
        Some(nonce),
        Some(uri),
        Some(response),
        Some(cnonce),
        Some(qop),
        Some(nc),
    ) = (user, realm, nonce, uri, response, cnonce, qop, nc)
    else {
        // RFC 2069 style (no qop) is refused: without nc there is no replay protection.
        return Check::Denied;
    };
    let algorithm = match algorithm {
        None => Algorithm::Md5,
        Some(token) => match Algorithm::parse(token) {
            Some(a) => a,
            None => return Check::Denied,
        },
    };
    if !offered.contains(&algorithm)
        || realm != REALM
        || !qop.eq_ignore_ascii_case("auth")
        || uri != target
        || cnonce.is_empty()
    {
        return Check::Denied;
    }
    let Some(nc_value) = parse_nc(nc) else {
        return Check::Denied;
    };
    let Some(info) = nonces.open(nonce) else {
        return Check::Denied;
    };
    let mut expected_bin = [0u8; 32];
    let len = algorithm.len();
    if decode_hex(response, &mut expected_bin[..len]).is_none() {
        return Check::Denied;
    }
    let Some((index, keys)) = accounts.find(user) else {
        return Check::Denied;
    };
    let mut ha1_hex = [0u8; 64];
    let ha1_hex = hex(keys.ha1(algorithm), &mut ha1_hex);
    let mut ha2_hex = [0u8; 64];
    let ha2 = algorithm.hash(&[method.as_bytes(), uri.as_bytes()]);
    let ha2_hex = hex(&ha2[..len], &mut ha2_hex);
    let want = algorithm.hash(&[
        ha1_hex,
        nonce.as_bytes(),
        nc.as_bytes(),
        cnonce.as_bytes(),
        qop.as_bytes(),
        ha2_hex,
    ]);
    // The user name, moved out of the parsed values (index 0 of `PARAMS`) now that nothing
    // else borrows them.
    let user = c.values[0].take().unwrap_or_default();
    if !bool::from(want[..len].ct_eq(&expected_bin[..len])) {
        return Check::Wrong(index, user);
    }
    // Proven; only now may the count be consumed, so nobody without the password can burn a
    // legitimate client's counts.
    if nonces.expired(info, now) {
        return Check::Stale;
    }
    match nonces.record(info, nc_value, now) {
        Some(true) => Check::Ok(index, user),
        Some(false) => Check::Denied,
        None => Check::Stale,
    }
}

/// `nc` is exactly 8 hex digits (RFC 7616 §3.4).
fn parse_nc(nc: &str) -> Option<u32> {
    if nc.len() != 8 {
        return None;
    }
    // By hand: `u32::from_str_radix` is ~170 B of the bare-metal image for these eight digits.
    nc.bytes()
        .try_fold(0u32, |n, b| Some(n << 4 | u32::from(hex_val(b)?)))
}

fn decode_hex(text: &str, out: &mut [u8]) -> Option<()> {
    let bytes = text.as_bytes();
    if bytes.len() != out.len() * 2 {
        return None;
    }
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_val(pair[0])?;
        let lo = hex_val(pair[1])?;
        out[i] = hi << 4 | lo;
    }
    Some(())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes` into the first `2 * bytes.len()` bytes of `out` (as many as fit).
pub(crate) fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

fn hex<'a>(bytes: &[u8], out: &'a mut [u8; 64]) -> &'a [u8] {
    let len = bytes.len().min(32) * 2;
    hex_into(bytes, &mut out[..len]);
    &out[..len]
}

/// Appends one `WWW-Authenticate: Digest ...` line per offered algorithm, all carrying `nonce`.
/// Plain string pieces rather than `write!`: the challenge is on every 401, and this keeps
/// core::fmt's argument machinery out of it.
pub(crate) fn write_challenges(head: &mut String, offered: &[Algorithm], nonce: &str, stale: bool) {
    for algorithm in offered {
        put(head, "WWW-Authenticate: Digest realm=\"");
        put(head, REALM);
        put(head, "\", qop=\"auth\", algorithm=");
        put(head, algorithm.token());
        put(head, ", nonce=\"");
        put(head, nonce);
        head.push('"');
        if stale {
            put(head, ", stale=true");
        }
        put(head, "\r\n");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    /// A client's side of the computation, written independently of `verify` (hex strings all
    /// the way), to check the server against.
    pub(crate) fn client_response(
        algorithm: Algorithm,
        user: &str,
        password: &str,
        nonce: &str,
        nc: &str,
        cnonce: &str,
        uri: &str,
    ) -> String {
        let h = |s: &str| -> String {
            let d = algorithm.hash(&[s.as_bytes()]);
            d[..algorithm.len()]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let ha1 = h(&format!("{user}:{REALM}:{password}"));
        let ha2 = h(&format!("POST:{uri}"));
        h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
    }

    #[test]
    fn parse_nc_reads_eight_hex_digits() {
        let old = |nc: &str| {
            if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(nc, 16).ok()
        };
        for nc in [
            "00000001",
            "0000000a",
            "0000000A",
            "ffffffff",
            "FFFFFFFF",
            "deadBEEF",
            "1234567",
            "123456789",
            "",
            "+0000001",
            "-0000001",
            "0000000g",
            "0000 001",
            "0x000001",
            "\u{661}000000",
            "00000001\n",
        ] {
            assert_eq!(parse_nc(nc), old(nc), "{nc:?}");
        }
        for n in (0..=u32::MAX).step_by(65_521) {
            let lower = alloc::format!("{n:08x}");
            let upper = alloc::format!("{n:08X}");
            assert_eq!(parse_nc(&lower), Some(n));
            assert_eq!(parse_nc(&upper), Some(n));
        }
    }

    #[test]
    fn md5_matches_rfc2617_example() {
        // RFC 2617 §3.5 (the algorithm has not changed): Mufasa / "Circle Of Life".
        let ha1 = Algorithm::Md5.hash(&[b"Mufasa", b"testrealm@host.com", b"Circle Of Life"]);
        let mut buf = [0u8; 64];
        let ha1_hex = hex(&ha1[..16], &mut buf).to_vec();
        let ha2 = Algorithm::Md5.hash(&[b"GET", b"/dir/index.html"]);
        let mut buf2 = [0u8; 64];
        let ha2_hex = hex(&ha2[..16], &mut buf2).to_vec();
        let resp = Algorithm::Md5.hash(&[
            &ha1_hex,
            b"dcd98b7102dd2f0e8b11d0f600bfb0c093",
            b"00000001",
            b"0a4f113b",
            b"auth",
            &ha2_hex,
        ]);
        let mut buf3 = [0u8; 64];
        assert_eq!(
            hex(&resp[..16], &mut buf3),
            b"6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn sha256_matches_rfc7616_example() {
        // RFC 7616 §3.9.1 (SHA-256, qop=auth, GET).
        let ha1 = Algorithm::Sha256.hash(&[b"Mufasa", b"http-auth@example.org", b"Circle of Life"]);
        let mut b1 = [0u8; 64];
        let ha1_hex = hex(&ha1, &mut b1).to_vec();
        let ha2 = Algorithm::Sha256.hash(&[b"GET", b"/dir/index.html"]);
        let mut b2 = [0u8; 64];
        let ha2_hex = hex(&ha2, &mut b2).to_vec();
        let resp = Algorithm::Sha256.hash(&[
            &ha1_hex,
            b"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            b"00000001",
            b"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            b"auth",
            &ha2_hex,
        ]);
        let mut b3 = [0u8; 64];
        assert_eq!(
            hex(&resp, &mut b3),
            b"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn parser_reads_tokens_quoted_strings_and_escapes() {
        let c = parse(
            r#"username="Mu\"fasa", realm="WSMAN",nonce="abc" , uri="/wsman", qop=auth, nc=00000001, cnonce="x", response="ff", algorithm=SHA-256, extra="ignored""#,
        )
        .expect("valid header");
        let [
            user,
            realm,
            _,
            uri,
            response,
            algorithm,
            cnonce,
            qop,
            nc,
            userhash,
        ] = c.get();
        assert_eq!(user, Some("Mu\"fasa"));
        assert_eq!(realm, Some("WSMAN"));
        assert_eq!(uri, Some("/wsman"));
        assert_eq!(response, Some("ff"));
        assert_eq!(cnonce, Some("x"));
        assert_eq!(qop, Some("auth"));
        assert_eq!(nc, Some("00000001"));
        assert_eq!(algorithm, Some("SHA-256"));
        assert_eq!(userhash, None);
        assert!(matches!(c.values[2], Some(Cow::Borrowed("abc"))));
        assert!(matches!(c.values[0], Some(Cow::Owned(_))));
    }

    /// Each parameter name, in any case, fills its own field and no other; `username*` is
    /// flagged, not stored.
    #[test]
    fn each_parameter_fills_its_field() {
        use alloc::format;
        for (i, name) in PARAMS.iter().enumerate() {
            let header = format!("{}=v{i}", name.to_ascii_uppercase());
            let c = parse(&header).expect("valid header");
            for (j, field) in c.get().into_iter().enumerate() {
                let want = format!("v{i}");
                assert_eq!(field, (i == j).then_some(want.as_str()), "{name}");
            }
            assert!(!c.username_ext);
        }
        let c = parse("Username*=UTF-8''x").expect("valid header");
        assert!(c.username_ext && c.get()[0].is_none());
    }

    #[test]
    fn parser_refuses_hostile_headers_without_panicking() {
        let long = "a".repeat(MAX_VALUE + 1);
        let long_quoted = format!("username=\"{long}\"");
        let long_token = format!("username={long}");
        let cases: Vec<(&str, ParseError)> = alloc::vec![
            ("username", ParseError::Syntax),
            ("username=", ParseError::Syntax),
            ("=x", ParseError::Syntax),
            ("username=\"unterminated", ParseError::Syntax),
            ("username=\"ends in escape\\", ParseError::Syntax),
            ("username=\"a\" junk", ParseError::Syntax),
            ("username=a b", ParseError::Syntax),
            ("username=\"a\rb\"", ParseError::Syntax),
            ("nonce=a, nonce=b", ParseError::Duplicate),
            ("NONCE=a, nonce=a", ParseError::Duplicate),
            (&long_quoted, ParseError::TooLong),
            (&long_token, ParseError::TooLong),
            ("username=\"é\", realm=\u{0}", ParseError::Syntax),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).err(), Some(want), "{input:?}");
        }
        assert!(parse("").is_ok());
        assert!(parse(" , ,").is_ok());
        // Multibyte UTF-8 inside a quoted string is kept intact.
        let c = parse("username=\"é\\\"ü\"").expect("valid");
        assert_eq!(c.get()[0], Some("é\"ü"));
    }

    #[test]
    fn nonces_verify_and_forgeries_do_not() {
        let mut nonces = Nonces::new();
        nonces.set_secret([7; 32]);
        let now = Instant::from_millis(1_000);
        let mut a = String::new();
        let mut b = String::new();
        nonces.issue(now, &mut a);
        nonces.issue(now, &mut b);
        assert_ne!(a, b, "every nonce is unique");
        let info = nonces.open(&a).expect("our nonce");
        assert_eq!(info.issued_ms, 1_000);
        // Flip one character: the MAC no longer matches.
        let mut forged: Vec<u8> = a.clone().into_bytes();
        forged[3] = if forged[3] == b'0' { b'1' } else { b'0' };
        assert!(
            nonces
                .open(core::str::from_utf8(&forged).expect("ascii"))
                .is_none()
        );
        assert!(nonces.open("").is_none());
        assert!(nonces.open("!!!!").is_none());
        assert!(nonces.open(&a[..NONCE_HEX - 2]).is_none());
        assert!(nonces.open(&format!("{a}00")).is_none());
        assert!(nonces.open(&format!("g{}", &a[1..])).is_none());
        assert!(nonces.open(&"A".repeat(200)).is_none());
        // Another boot (another secret) does not accept it.
        let mut other = Nonces::new();
        other.set_secret([8; 32]);
        assert!(other.open(&a).is_none());
    }

    #[test]
    fn replay_table_is_bounded_and_never_accepts_a_count_twice() {
        let mut nonces = Nonces::new();
        nonces.set_secret([1; 32]);
        let mut t = 0u64;
        let mut infos = Vec::new();
        for _ in 0..NONCE_SLOTS + 4 {
            let mut n = String::new();
            nonces.issue(Instant::from_millis(t), &mut n);
            infos.push(nonces.open(&n).expect("ours"));
        }
        for info in &infos {
            t += 1;
            assert_eq!(nonces.record(*info, 1, Instant::from_millis(t)), Some(true));
        }
        assert_eq!(nonces.tracked(), NONCE_SLOTS);
        // Every evicted nonce is now stale rather than replayable.
        for info in &infos[..4] {
            assert_eq!(nonces.record(*info, 1, Instant::from_millis(t)), None);
            assert_eq!(nonces.record(*info, 2, Instant::from_millis(t)), None);
        }
        // A tracked one refuses its old count and takes a higher one.
        let last = infos[NONCE_SLOTS + 3];
        assert_eq!(nonces.record(last, 1, Instant::from_millis(t)), Some(false));
        assert_eq!(nonces.record(last, 2, Instant::from_millis(t)), Some(true));
        assert_eq!(nonces.record(last, 2, Instant::from_millis(t)), Some(false));
    }

    #[test]
    fn serial_order_wraps() {
        assert!(serial_le(1, 2));
        assert!(serial_le(5, 5));
        assert!(!serial_le(3, 2));
        assert!(serial_le(u32::MAX, 1));
        assert!(!serial_le(1, u32::MAX));
    }
}
