//! A subscription as bytes for the store, so it survives a restart (issue 16; bmcweb lost its
//! subscriptions on reboot, reference/anchors.md).
//!
//! The encoding is one CBOR array, its first item the format [`VERSION`]. What is kept: the
//! identifier, owner, all the Subscribe terms (delivery credentials included: the source must
//! present them to the sink, so they cannot be hashed; the store is the device's own flash),
//! the time left, the bookmark and the count of dropped events. The queue is not kept: after a
//! restart the wiring replays from the SEL after the bookmark, so nothing is lost or sent twice.
//!
//! The monotonic clock restarts with the image, so the expiry is kept as the time left at
//! encoding and, where the image has a wall clock ([`Clock::unix_ms`]), as the absolute Unix
//! time it falls at: a restarted image with a wall clock gives the subscription back the expiry
//! it was granted at its last Subscribe or Renew, down time included (issue 16; the record is
//! rewritten only when the subscription changes, so the time left alone would restart at the
//! value of the last write). Without a wall clock the time left is all there is.
//!
//! Version 2 added the subscription manager's address (the `wsa:To` the Subscribe arrived on,
//! which SubscriptionEnd names) and the absolute expiry; version 1 records still decode.
//!
//! Decoding trusts nothing: every length is checked against [`subscribe::Limits`] and every
//! code against its enum, and anything else is a typed [`PersistError`], never a panic.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::deliver::State;
use crate::subscribe::{
    self, AuthScheme, Bookmark, ConnectionRetry, ContentEncoding, Credentials, DeliveryAuth,
    DeliveryMode, Endpoint, EnvelopePolicy, Expires, RefParam, Subscribe,
};
use crate::table::{Clock, Subscription};

/// The format written; a decoder reads it and version 1, and refuses any other.
pub const VERSION: u8 = 2;

/// Items in the top-level array of version 1.
const ITEMS_V1: u64 = 23;
/// Items in the top-level array of version 2: version 1's, the manager address and the
/// absolute expiry.
const ITEMS: u64 = 25;

/// Why stored bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistError {
    /// Written by another format version.
    Version(u8),
    /// Not a subscription record: truncated, wrong types, out-of-range values, too long.
    Corrupt,
}

impl From<minicbor::decode::Error> for PersistError {
    fn from(_: minicbor::decode::Error) -> Self {
        PersistError::Corrupt
    }
}

type Enc<'a> = Encoder<&'a mut Vec<u8>>;
type EncResult = Result<(), minicbor::encode::Error<core::convert::Infallible>>;

fn opt<T>(
    e: &mut Enc<'_>,
    v: Option<T>,
    f: impl FnOnce(&mut Enc<'_>, T) -> EncResult,
) -> EncResult {
    match v {
        Some(v) => f(e, v),
        None => e.null().map(|_| ()),
    }
}

fn endpoint(e: &mut Enc<'_>, ep: &Endpoint) -> EncResult {
    e.array(2)?
        .str(&ep.address)?
        .array(ep.params.len() as u64)?;
    for p in &ep.params {
        e.array(3)?.str(&p.namespace)?.str(&p.local)?.str(&p.text)?;
    }
    Ok(())
}

const fn mode_code(m: DeliveryMode) -> u8 {
    match m {
        DeliveryMode::Push => 0,
        DeliveryMode::PushWithAck => 1,
        DeliveryMode::Events => 2,
        DeliveryMode::Pull => 3,
    }
}

/// Encodes `sub` as it stands at `now_ms`, on an image without a wall clock (the expiry is
/// kept as the time left only).
pub fn encode(sub: &Subscription, now_ms: u64) -> Vec<u8> {
    encode_at(sub, Clock::monotonic(now_ms))
}

/// Encodes `sub` as it stands at `clock`; with a wall clock the expiry is also kept as the
/// Unix time it falls at.
pub fn encode_at(sub: &Subscription, clock: Clock) -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail; an error here would only be a bug in this function.
    let _ = encode_into(&mut Encoder::new(&mut buf), sub, clock);
    buf
}

fn encode_into(e: &mut Enc<'_>, sub: &Subscription, clock: Clock) -> EncResult {
    let now_ms = clock.now_ms;
    let t = &sub.terms;
    e.array(ITEMS)?.u8(VERSION)?.str(&sub.id)?.str(&sub.owner)?;
    e.u8(mode_code(t.mode))?;
    opt(e, t.notify_to.as_ref(), endpoint)?;
    opt(e, t.end_to.as_ref(), endpoint)?;
    e.u64(sub.remaining_ms(now_ms))?;
    match sub.granted {
        Expires::After(ms) => e.array(2)?.u8(0)?.u64(ms)?,
        #[cfg(feature = "datetime")]
        Expires::At(at) => e.array(2)?.u8(1)?.u64(at)?,
    };
    opt(e, t.heartbeat_ms, |e, v| e.u64(v).map(|_| ()))?;
    e.bool(t.send_bookmarks)?;
    opt(e, t.bookmark, |e, b| {
        match b {
            Bookmark::Earliest => e.array(1)?.u8(0)?,
            Bookmark::After(r) => e.array(2)?.u8(1)?.u16(r)?,
        };
        Ok(())
    })?;
    opt(e, t.max_elements, |e, v| e.u32(v).map(|_| ()))?;
    opt(e, t.max_time_ms, |e, v| e.u64(v).map(|_| ()))?;
    opt(e, t.max_envelope_size, |e, v| e.u32(v).map(|_| ()))?;
    e.u8(match t.envelope_policy {
        EnvelopePolicy::Notify => 0,
        EnvelopePolicy::Skip => 1,
        EnvelopePolicy::CancelSubscription => 2,
    })?;
    opt(e, t.connection_retry, |e, r| {
        e.array(2)?.u32(r.total)?.u64(r.interval_ms)?;
        Ok(())
    })?;
    opt(e, t.locale.as_deref(), |e, v| e.str(v).map(|_| ()))?;
    opt(e, t.content_encoding, |e, c| {
        e.u8(match c {
            ContentEncoding::Utf8 => 0,
            ContentEncoding::Utf16 => 1,
        })
        .map(|_| ())
    })?;
    opt(e, t.filter.as_deref(), |e, v| e.str(v).map(|_| ()))?;
    opt(e, t.auth.as_ref(), |e, a| {
        e.array(2)?.u8(match a.scheme {
            AuthScheme::Basic => 0,
            AuthScheme::Digest => 1,
        })?;
        opt(e, a.credentials.as_ref(), |e, c| {
            e.array(2)?.str(&c.username)?.str(&c.password)?;
            Ok(())
        })
    })?;
    opt(e, sub.last_record, |e, r| e.u16(r).map(|_| ()))?;
    e.u32(sub.dropped)?;
    opt(e, sub.manager.as_deref(), |e, m| e.str(m).map(|_| ()))?;
    let at = clock
        .unix_ms
        .map(|unix| unix.saturating_add(sub.remaining_ms(now_ms)));
    opt(e, at, |e, v| e.u64(v).map(|_| ()))?;
    Ok(())
}

/// A decoder with the limits every string and list is held to.
struct Reader<'b> {
    d: Decoder<'b>,
    limits: subscribe::Limits,
}

impl<'b> Reader<'b> {
    fn is_null(&mut self) -> Result<bool, PersistError> {
        if self.d.datatype()? == Type::Null {
            self.d.null()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, PersistError>,
    ) -> Result<Option<T>, PersistError> {
        if self.is_null()? {
            return Ok(None);
        }
        f(self).map(Some)
    }

    fn str(&mut self, max: usize) -> Result<String, PersistError> {
        let s = self.d.str()?;
        if s.len() > max {
            return Err(PersistError::Corrupt);
        }
        Ok(s.to_string())
    }

    fn array(&mut self, len: u64) -> Result<(), PersistError> {
        if self.d.array()? != Some(len) {
            return Err(PersistError::Corrupt);
        }
        Ok(())
    }

    fn endpoint(&mut self) -> Result<Endpoint, PersistError> {
        self.array(2)?;
        let address = self.str(self.limits.max_address_len)?;
        let n = self.d.array()?.ok_or(PersistError::Corrupt)?;
        if n > self.limits.max_ref_params as u64 {
            return Err(PersistError::Corrupt);
        }
        let mut params = Vec::new();
        for _ in 0..n {
            self.array(3)?;
            params.push(RefParam {
                namespace: self.str(self.limits.max_address_len)?,
                local: self.str(self.limits.max_ref_param_len)?,
                text: self.str(self.limits.max_ref_param_len)?,
            });
        }
        Ok(Endpoint { address, params })
    }
}

/// Decodes a stored subscription at `now_ms` (the restarted image's clock, no wall clock: the
/// expiry is the time left when it was written). `limits` should be the ones Subscribe parsing
/// uses, so nothing restored is larger than a request could make.
pub fn decode(
    bytes: &[u8],
    now_ms: u64,
    limits: &subscribe::Limits,
) -> Result<Subscription, PersistError> {
    decode_at(bytes, Clock::monotonic(now_ms), limits)
}

/// Decodes a stored subscription at `clock`: with a wall clock and a record that kept its
/// absolute expiry, the subscription expires when it was granted to, however long the image
/// was down (already past: it is restored expired, and the table's next expiry removes it).
pub fn decode_at(
    bytes: &[u8],
    clock: Clock,
    limits: &subscribe::Limits,
) -> Result<Subscription, PersistError> {
    let now_ms = clock.now_ms;
    let mut r = Reader {
        d: Decoder::new(bytes),
        limits: *limits,
    };
    let items = r.d.array()?;
    let version = r.d.u8()?;
    let want = match version {
        1 => ITEMS_V1,
        VERSION => ITEMS,
        _ => return Err(PersistError::Version(version)),
    };
    if items != Some(want) {
        return Err(PersistError::Corrupt);
    }
    let id = r.str(64)?;
    if !id.starts_with("uuid:") {
        return Err(PersistError::Corrupt);
    }
    let owner = r.str(limits.max_credential_len)?;
    let mode = match r.d.u8()? {
        0 => DeliveryMode::Push,
        1 => DeliveryMode::PushWithAck,
        2 => DeliveryMode::Events,
        3 => DeliveryMode::Pull,
        _ => return Err(PersistError::Corrupt),
    };
    let notify_to = r.opt(Reader::endpoint)?;
    if notify_to.is_none() != (mode == DeliveryMode::Pull) {
        return Err(PersistError::Corrupt);
    }
    let end_to = r.opt(Reader::endpoint)?;
    let remaining = r.d.u64()?;
    r.array(2)?;
    let granted = match r.d.u8()? {
        0 => Expires::After(r.d.u64()?),
        #[cfg(feature = "datetime")]
        1 => Expires::At(r.d.u64()?),
        _ => return Err(PersistError::Corrupt),
    };
    let heartbeat_ms = r.opt(|r| Ok(r.d.u64()?))?;
    let send_bookmarks = r.d.bool()?;
    let bookmark = r.opt(|r| {
        let n = r.d.array()?;
        match (n, r.d.u8()?) {
            (Some(1), 0) => Ok(Bookmark::Earliest),
            (Some(2), 1) => Ok(Bookmark::After(r.d.u16()?)),
            _ => Err(PersistError::Corrupt),
        }
    })?;
    let max_elements = r.opt(|r| Ok(r.d.u32()?))?;
    let max_time_ms = r.opt(|r| Ok(r.d.u64()?))?;
    let max_envelope_size = r.opt(|r| Ok(r.d.u32()?))?;
    let envelope_policy = match r.d.u8()? {
        0 => EnvelopePolicy::Notify,
        1 => EnvelopePolicy::Skip,
        2 => EnvelopePolicy::CancelSubscription,
        _ => return Err(PersistError::Corrupt),
    };
    let connection_retry = r.opt(|r| {
        r.array(2)?;
        Ok(ConnectionRetry {
            total: r.d.u32()?,
            interval_ms: r.d.u64()?,
        })
    })?;
    let locale = r.opt(|r| r.str(35))?;
    let content_encoding = r.opt(|r| match r.d.u8()? {
        0 => Ok(ContentEncoding::Utf8),
        1 => Ok(ContentEncoding::Utf16),
        _ => Err(PersistError::Corrupt),
    })?;
    let max_filter = limits.max_filter_len;
    let filter = r.opt(|r| r.str(max_filter))?;
    let max_cred = limits.max_credential_len;
    let auth = r.opt(|r| {
        r.array(2)?;
        let scheme = match r.d.u8()? {
            0 => AuthScheme::Basic,
            1 => AuthScheme::Digest,
            _ => return Err(PersistError::Corrupt),
        };
        let credentials = r.opt(|r| {
            r.array(2)?;
            Ok(Credentials {
                username: r.str(max_cred)?,
                password: r.str(max_cred)?,
            })
        })?;
        Ok(DeliveryAuth {
            scheme,
            credentials,
        })
    })?;
    let last_record = r.opt(|r| Ok(r.d.u16()?))?;
    let dropped = r.d.u32()?;
    let (manager, expires_unix) = if version == 1 {
        (None, None)
    } else {
        let max_address = limits.max_address_len;
        (r.opt(|r| r.str(max_address))?, r.opt(|r| Ok(r.d.u64()?))?)
    };
    let remaining = match (expires_unix, clock.unix_ms) {
        (Some(at), Some(unix)) => at.saturating_sub(unix),
        _ => remaining,
    };
    if r.d.position() != bytes.len() {
        return Err(PersistError::Corrupt);
    }
    // The terms a Subscribe could not have produced: a zero heartbeat would flood the sink.
    let in_terms = heartbeat_ms.is_none_or(|h| h >= limits.min_heartbeat_ms)
        && max_elements.is_none_or(|m| (1..=limits.max_elements).contains(&m))
        && max_time_ms.is_none_or(|m| m > 0)
        && max_envelope_size
            .is_none_or(|m| (subscribe::MIN_ENVELOPE_SIZE..=limits.max_envelope_size).contains(&m))
        && connection_retry.is_none_or(|c| {
            (1..=limits.max_retries).contains(&c.total)
                && c.interval_ms >= limits.min_retry_interval_ms
        });
    if !in_terms {
        return Err(PersistError::Corrupt);
    }
    let terms = Subscribe {
        mode,
        notify_to,
        end_to,
        expires: Some(granted),
        heartbeat_ms,
        send_bookmarks,
        bookmark,
        max_elements,
        max_time_ms,
        max_envelope_size,
        envelope_policy,
        connection_retry,
        locale,
        content_encoding,
        filter,
        auth,
    };
    Ok(Subscription {
        id,
        owner,
        terms,
        expires_at: now_ms.saturating_add(remaining),
        granted,
        queue: Default::default(),
        dropped,
        last_record,
        manager,
        state: State::idle(now_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests_support::terms;
    use crate::table::{Clock, Config, Table};

    fn full() -> Subscription {
        let mut req = terms(DeliveryMode::PushWithAck);
        if let Some(n) = req.notify_to.as_mut() {
            n.params.push(RefParam {
                namespace: crate::ns::WSE.into(),
                local: "Identifier".into(),
                text: "ABC".into(),
            });
        }
        req.end_to = Some(Endpoint {
            address: "https://h/end".into(),
            params: Vec::new(),
        });
        req.expires = Some(Expires::After(600_000));
        req.heartbeat_ms = Some(20_000);
        req.send_bookmarks = true;
        req.bookmark = Some(Bookmark::After(9));
        req.max_elements = Some(20);
        req.max_time_ms = Some(30_000);
        req.max_envelope_size = Some(32_768);
        req.envelope_policy = EnvelopePolicy::CancelSubscription;
        req.connection_retry = Some(ConnectionRetry {
            total: 3,
            interval_ms: 5_000,
        });
        req.locale = Some("de-DE".into());
        req.content_encoding = Some(ContentEncoding::Utf16);
        req.filter = Some("SELECT * FROM CIM_AlertIndication".into());
        req.auth = Some(DeliveryAuth {
            scheme: AuthScheme::Digest,
            credentials: Some(Credentials {
                username: "sink".into(),
                password: " secret ".into(),
            }),
        });
        let mut t = Table::new(Config::default());
        let mut s = t
            .subscribe(req, "admin", Clock::monotonic(1_000), &mut || 99)
            .unwrap()
            .clone();
        s.last_record = Some(17);
        s.dropped = 2;
        s
    }

    #[test]
    fn round_trip_keeps_everything_but_the_queue() {
        let s = full();
        let bytes = encode(&s, 101_000);
        let back = decode(&bytes, 5, &subscribe::Limits::default()).unwrap();
        assert_eq!(back.id, s.id);
        assert_eq!(back.owner, "admin");
        assert_eq!(back.terms.notify_to, s.terms.notify_to);
        assert_eq!(back.terms.auth, s.terms.auth);
        assert_eq!(back.terms.filter, s.terms.filter);
        assert_eq!(back.granted, s.granted);
        // 600 s granted at 1 s, encoded at 101 s: 500 s left from the new clock's 5 ms.
        assert_eq!(back.expires_at, 500_005);
        assert_eq!((back.last_record, back.dropped), (Some(17), 2));
        let mut expect = s.terms.clone();
        expect.expires = Some(s.granted);
        assert_eq!(back.terms, expect);
        // And the pull form, with nothing optional set.
        let mut t = Table::new(Config::default());
        let p = t
            .subscribe(
                terms(DeliveryMode::Pull),
                "u",
                Clock::monotonic(0),
                &mut || 1,
            )
            .unwrap()
            .clone();
        let back = decode(&encode(&p, 0), 0, &subscribe::Limits::default()).unwrap();
        assert_eq!(back.terms.mode, DeliveryMode::Pull);
        assert_eq!(back.terms.notify_to, None);
    }

    #[test]
    fn restored_subscriptions_go_back_in_the_table() {
        let s = full();
        let back = decode(&encode(&s, 1_000), 0, &subscribe::Limits::default()).unwrap();
        let mut t = Table::new(Config::default());
        t.restore(back.clone()).unwrap();
        // Twice is refused, as is a full table.
        assert!(t.restore(back).is_err());
    }

    #[test]
    fn with_a_wall_clock_the_expiry_is_absolute_across_a_restart() {
        let mut s = full();
        s.manager = Some("http://10.0.2.15:5985/wsman".into());
        // 600 s granted at 1 s (monotonic); written at 101 s, when the wall clock read T.
        const T: u64 = 1_700_000_000_000;
        let bytes = encode_at(
            &s,
            Clock {
                now_ms: 101_000,
                unix_ms: Some(T),
            },
        );
        let limits = subscribe::Limits::default();
        // Restarted 200 s of wall time later: 300 s left, not the 500 s left at the write.
        let back = decode_at(
            &bytes,
            Clock {
                now_ms: 5,
                unix_ms: Some(T + 200_000),
            },
            &limits,
        )
        .unwrap();
        assert_eq!(back.expires_at, 300_005);
        assert_eq!(back.manager.as_deref(), Some("http://10.0.2.15:5985/wsman"));
        // Down past the expiry: restored expired, so the table's next expiry removes it.
        let late = decode_at(
            &bytes,
            Clock {
                now_ms: 5,
                unix_ms: Some(T + 900_000),
            },
            &limits,
        )
        .unwrap();
        assert_eq!(late.expires_at, 5);
        let mut t = Table::new(Config::default());
        t.restore(late).unwrap();
        t.expire(6);
        assert!(t.get(&s.id).is_none());
        // A restarted image without a wall clock has only the time left at the write.
        let back = decode(&bytes, 5, &limits).unwrap();
        assert_eq!(back.expires_at, 500_005);
        // Nor does one written without a wall clock carry an absolute expiry.
        let bytes = encode(&s, 101_000);
        let back = decode_at(
            &bytes,
            Clock {
                now_ms: 5,
                unix_ms: Some(T),
            },
            &limits,
        )
        .unwrap();
        assert_eq!(back.expires_at, 500_005);
    }

    #[test]
    fn version_1_records_still_decode() {
        let s = full();
        let mut bytes = encode(&s, 101_000);
        // Version 1 is version 2 without its last two items (here both null).
        assert_eq!(bytes[..3], [0x98, 25, VERSION]);
        assert_eq!(bytes[bytes.len() - 2..], [0xF6, 0xF6]);
        bytes.truncate(bytes.len() - 2);
        bytes.splice(..3, [0x97, 1]);
        let back = decode(&bytes, 5, &subscribe::Limits::default()).unwrap();
        assert_eq!(
            (back.id, back.expires_at, back.manager),
            (s.id, 500_005, None)
        );
    }

    #[test]
    fn other_versions_are_refused_by_version() {
        let mut bytes = encode(&full(), 0);
        // The array header is two bytes (0x98 0x19 = array of 25); the version follows.
        assert_eq!(bytes[2], VERSION);
        bytes[2] = 3;
        assert_eq!(
            decode(&bytes, 0, &subscribe::Limits::default()).unwrap_err(),
            PersistError::Version(3)
        );
    }

    #[test]
    fn every_truncation_and_byte_flip_is_refused_or_decodes_without_panic() {
        let bytes = encode(&full(), 0);
        let limits = subscribe::Limits::default();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], 0, &limits).is_err(), "truncated at {n}");
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x20, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                // Either refused or a subscription within the limits: never a panic.
                if let Ok(s) = decode(&b, 0, &limits) {
                    assert!(s.id.len() <= 64);
                }
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode(&longer, 0, &limits).unwrap_err(),
            PersistError::Corrupt
        );
        assert_eq!(decode(&[], 0, &limits).unwrap_err(), PersistError::Corrupt);
    }

    #[test]
    fn terms_a_subscribe_could_not_make_are_corrupt() {
        let bytes = encode(&full(), 0);
        for tight in [
            subscribe::Limits {
                min_heartbeat_ms: 30_000,
                ..subscribe::Limits::default()
            },
            subscribe::Limits {
                max_elements: 10,
                ..subscribe::Limits::default()
            },
            subscribe::Limits {
                max_envelope_size: 16_384,
                ..subscribe::Limits::default()
            },
            subscribe::Limits {
                max_retries: 2,
                ..subscribe::Limits::default()
            },
        ] {
            assert_eq!(
                decode(&bytes, 0, &tight).unwrap_err(),
                PersistError::Corrupt
            );
        }
    }

    #[test]
    fn lengths_past_the_limits_are_corrupt() {
        let bytes = encode(&full(), 0);
        let tight = subscribe::Limits {
            max_filter_len: 10,
            ..subscribe::Limits::default()
        };
        assert_eq!(
            decode(&bytes, 0, &tight).unwrap_err(),
            PersistError::Corrupt
        );
        let tight = subscribe::Limits {
            max_ref_params: 0,
            ..subscribe::Limits::default()
        };
        assert_eq!(
            decode(&bytes, 0, &tight).unwrap_err(),
            PersistError::Corrupt
        );
    }
}
