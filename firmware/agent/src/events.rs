//! WS-Eventing on the agent: the subscriptions (wsbmc-eventing's [`Source`]) behind the WS-Man
//! service, fed with the indications each stored SEL record raises (wsbmc-cim's
//! `indication`), and the SEL as the backlog a Bookmark resumes from.
//!
//! Pull is offered by default: it needs no outbound connection, so nothing here waits. The
//! push modes are offered once the image says it runs a delivery task
//! (`Agent::enable_push_delivery`: the std images, and the bare-metal one with its `push`
//! feature); until then Subscribe in another mode is refused with
//! `wse:DeliveryModeRequestedUnavailable`. Indications are raised from what the
//! log task stored, so a threshold edge the per-sensor rate limit kept out of the SEL raises
//! none either, and a replay from a Bookmark yields exactly what was delivered live.

use wsbmc_cim::indication::{self, Indication};
use wsbmc_cim::{LogRecordView, LogView};
use wsbmc_eventing::subscribe::Bookmark;
use wsbmc_eventing::{Backlog, Config, DeliveryMode, Event, Source};
use wsbmc_wsman::{Fault, FaultDetail, FaultKind};

use crate::log::LogShared;

/// The delivery modes every image delivers: Pull needs no delivery task.
pub(crate) const MODES: &[DeliveryMode] = &[DeliveryMode::Pull];

/// The modes an image with a delivery task and deferred events delivers: one event per
/// message, so one is rendered at a time (`Agent::enable_push_delivery`).
#[cfg(feature = "eventing-deferred")]
pub(crate) const DEFERRED_PUSH_MODES: &[DeliveryMode] = &[
    DeliveryMode::Pull,
    DeliveryMode::Push,
    DeliveryMode::PushWithAck,
];

/// Every mode, for an image with a delivery task.
#[cfg_attr(feature = "eventing-deferred", allow(dead_code))]
pub(crate) const ALL_MODES: &[DeliveryMode] = &[
    DeliveryMode::Pull,
    DeliveryMode::Push,
    DeliveryMode::PushWithAck,
    DeliveryMode::Events,
];

/// The subscription table, seeded apart from the service's context tokens.
pub(crate) fn source(seed: u64) -> Source {
    Source::new(Config::default(), seed ^ 0x5eed_e7e4_7000_0001, MODES)
}

/// Live subscriptions at `now_ms`, in table order (the DSP1054 instances' order). A subscription
/// past its expiry that the table has not removed yet is not shown.
#[cfg(feature = "subscription-classes")]
pub(crate) fn live(
    table: &wsbmc_eventing::Table,
    now_ms: u64,
) -> impl Iterator<Item = &wsbmc_eventing::Subscription> {
    table.iter().filter(move |s| s.expires_at > now_ms)
}

/// A subscription as wsbmc-cim's DSP1054 classes show it. The sink credentials stay behind:
/// only the scheme is handed over.
#[cfg(feature = "subscription-classes")]
pub(crate) fn subscription_view(
    sub: &wsbmc_eventing::Subscription,
    now_ms: u64,
) -> wsbmc_cim::subscription::SubscriptionView {
    use wsbmc_cim::subscription::{Mode, SinkAuth, SubscriptionView};
    use wsbmc_eventing::subscribe::{AuthScheme, ContentEncoding};
    let t = &sub.terms;
    SubscriptionView {
        id: sub.id.clone(),
        query: t.filter.clone(),
        mode: match t.mode {
            DeliveryMode::Push => Mode::Push,
            DeliveryMode::PushWithAck => Mode::PushWithAck,
            DeliveryMode::Events => Mode::Events,
            DeliveryMode::Pull => Mode::Pull,
        },
        destination: t.notify_to.as_ref().map(|e| e.address.clone()),
        auth: t.auth.as_ref().map(|a| match a.scheme {
            AuthScheme::Basic => SinkAuth::Basic,
            AuthScheme::Digest => SinkAuth::Digest,
        }),
        content_encoding: t.content_encoding.map(|c| match c {
            ContentEncoding::Utf8 => "UTF-8",
            ContentEncoding::Utf16 => "UTF-16",
        }),
        duration_s: sub.granted.duration_ms().map(|ms| ms / 1000),
        remaining_s: sub.remaining_ms(now_ms) / 1000,
    }
}

/// The SEL as it was last published, seen as a backlog of indications.
pub(crate) struct SelBacklog<'a> {
    pub(crate) log: &'a LogShared,
    pub(crate) system_name: &'a str,
    /// The image's check before a Pull renders deferred events (`Agent::set_render_gate`).
    #[cfg(feature = "eventing-deferred")]
    pub(crate) gate: Option<crate::RenderGate>,
}

/// Hands `offer` the indications SEL record `view` raises, each with its filter check: rendered,
/// or (feature `eventing-deferred`) as the record and the indication's place, to be rendered
/// when a Pull takes it.
fn raise(view: &LogRecordView, system_name: &str, offer: &mut dyn FnMut(Event, &Indication)) {
    #[cfg(feature = "eventing-deferred")]
    {
        let record = view.record.encode();
        for (part, ind) in (0u8..).zip(indication::unrendered(view, system_name).iter()) {
            offer(
                Event::deferred(ind.record_id, ind.action, record, part),
                ind,
            );
        }
    }
    #[cfg(not(feature = "eventing-deferred"))]
    for mut ind in indication::of_record(view, system_name) {
        let body = core::mem::take(&mut ind.body);
        let event = Event::new(Some(ind.record_id), ind.action, body);
        offer(event, &ind);
    }
}

impl Backlog for SelBacklog<'_> {
    fn replay(
        &self,
        bookmark: Bookmark,
        filter: Option<&str>,
        sink: &mut dyn FnMut(Event),
    ) -> Result<(), Fault> {
        let len = self.log.len();
        let from = match bookmark {
            Bookmark::Earliest => 0,
            Bookmark::After(id) => (0..len)
                .find(|&i| self.log.record_id(i) == Some(id))
                .map(|i| i + 1)
                .ok_or_else(|| {
                    Fault::with_detail(FaultKind::InvalidBookmark, FaultDetail::Expired)
                        .message("The SEL no longer holds the record the bookmark names.")
                })?,
        };
        for i in from..len {
            let Some(view) = self.log.record(i) else {
                continue;
            };
            raise(&view, self.system_name, &mut |event, ind| {
                if ind.matches(filter) {
                    sink(event);
                }
            });
        }
        Ok(())
    }

    #[cfg(feature = "eventing-deferred")]
    fn render(&self, record: &[u8; 16], part: u8, out: &mut wsbmc_wsman::XmlWriter) -> bool {
        let view = self.log.view_of(wsbmc_ipmi::sel::Record::decode(record));
        indication::render_part(&view, self.system_name, part, out)
    }

    #[cfg(feature = "eventing-deferred")]
    fn can_render(&self, n: usize) -> bool {
        self.gate.is_none_or(|gate| gate(n))
    }
}

/// Offers the indications of SEL record `id` (just stored and published) to every
/// subscription whose filter selects them. Out of line: inlined into the log task's state
/// machine it costs the bare-metal image more flash.
#[inline(never)]
pub(crate) fn indicate(source: &Source, log: &LogShared, system_name: &str, id: u16, now_ms: u64) {
    let Some(index) = (0..log.len()).rev().find(|&i| log.record_id(i) == Some(id)) else {
        return;
    };
    let Some(view) = log.record(index) else {
        return;
    };
    raise(&view, system_name, &mut |event, ind| {
        source.offer(event, now_ms, &|filter| ind.matches(filter));
    });
}

/// Subscriptions kept in the store so they survive a restart (issue 16).
///
/// A record ([`wsbmc_eventing::persist`]) is larger than one store value
/// ([`wsbmc_store::MAX_VALUE_LEN`]), so it is written in chunks under
/// [`StoreKey::subscription`]`(slot, i)`; each chunk is the CBOR array `[count, bytes]`, so a
/// reader knows how many follow and a chunk left over from an older, longer record is never
/// read as part of a newer one. Chunk 0 is written last: a record cut short by a power loss
/// does not decode and is dropped with a warning at the next start.
///
/// What is written, when: the record of each live subscription whenever it changes (Subscribe,
/// Renew, a delivered bookmark), compared by a hash of its encoding at time zero, so a
/// subscription that only ages writes nothing; its removal when it is gone (Unsubscribe,
/// expiry, the end of delivery). The time left is the time left at the last write: a restart
/// gives a subscription back at most what it had when it last changed, never more than
/// granted, and consoles renew. Delivery credentials are in the record (the source must
/// present them), which is the state directory's store, mode 0600.
#[cfg(feature = "eventing-store")]
pub(crate) mod stored {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use minicbor::decode::{Decode, Decoder, Error};
    use wsbmc_eventing::{Source, persist};
    use wsbmc_store::StoreKey;

    /// Slots: the table's cap ([`wsbmc_eventing::Config`]'s default).
    pub(crate) const SLOTS: usize = 8;
    /// Payload bytes per chunk: with its header, well inside one store value.
    pub(crate) const CHUNK: usize = 192;
    /// Chunks per record at most: 3,072 bytes. A subscription with a full-length filter,
    /// addresses and credentials needs about 2 KiB; a larger one is not kept (warned). Half the
    /// log task's queue, the most one sync may take (`Agent::persist_subscriptions`).
    pub(crate) const MAX_CHUNKS: usize = 16;

    /// What a slot holds on flash.
    #[derive(Debug, Clone)]
    pub(crate) struct Slot {
        pub(crate) id: String,
        fingerprint: u64,
        chunks: u8,
    }

    /// The slots, as last written.
    pub(crate) type Slots = RefCell<[Option<Slot>; SLOTS]>;

    /// One chunk as read back.
    pub(crate) struct Chunk {
        pub(crate) count: u8,
        pub(crate) bytes: Vec<u8>,
    }

    impl<'b, C> Decode<'b, C> for Chunk {
        fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, Error> {
            if d.array()? != Some(2) {
                return Err(Error::message("not a subscription chunk"));
            }
            let count = d.u8()?;
            let bytes = d.bytes()?;
            if bytes.len() > CHUNK || usize::from(count) > MAX_CHUNKS {
                return Err(Error::message("subscription chunk too long"));
            }
            Ok(Self {
                count,
                bytes: bytes.to_vec(),
            })
        }
    }

    /// The CBOR of one chunk.
    fn chunk_value(count: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(payload.len() + 4);
        v.push(0x82);
        v.push(count);
        match payload.len() {
            n @ 0..24 => v.push(0x40 | n as u8),
            n => {
                v.push(0x58);
                v.push(n as u8);
            }
        }
        v.extend_from_slice(payload);
        v
    }

    /// FNV-1a over the record encoded at time zero: what changes when the subscription does.
    pub(crate) fn fingerprint(record: &[u8]) -> u64 {
        record.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    pub(crate) fn slot(id: String, record_at_zero: &[u8], chunks: u8) -> Slot {
        Slot {
            id,
            fingerprint: fingerprint(record_at_zero),
            chunks,
        }
    }

    /// Brings the store in line with the table: `write(key, Some(bytes))` stores a chunk,
    /// `write(key, None)` removes one; it answers false when the log task's queue is full, and
    /// the slot is then tried again at the next call. At most `budget` writes are queued, and
    /// a record is written whole or not at all. Returns the writes queued.
    pub(crate) fn sync(
        source: &Source,
        slots: &Slots,
        now_ms: u64,
        budget: usize,
        mut write: impl FnMut(StoreKey, Option<Vec<u8>>) -> bool,
    ) -> usize {
        let table = source.table().borrow();
        let mut slots = slots.borrow_mut();
        let mut queued = 0;
        // Gone subscriptions first, so their slots are free for new ones.
        for (i, s) in slots.iter_mut().enumerate() {
            let Some(held) = s else { continue };
            if table.get(&held.id).is_some() || queued + usize::from(held.chunks) > budget {
                continue;
            }
            let mut ok = true;
            for c in 0..held.chunks {
                if let Some(key) = StoreKey::subscription(i as u8, c) {
                    ok &= write(key, None);
                    queued += 1;
                }
            }
            if ok {
                *s = None;
            }
        }
        for sub in table.iter() {
            let at_zero = persist::encode(sub, 0);
            let fp = fingerprint(&at_zero);
            let index = slots
                .iter()
                .position(|s| s.as_ref().is_some_and(|s| s.id == sub.id))
                .or_else(|| slots.iter().position(Option::is_none));
            let Some(index) = index else { continue };
            let old = slots[index].as_ref();
            if old.is_some_and(|s| s.fingerprint == fp) {
                continue;
            }
            // With the wall clock the record keeps its absolute expiry too.
            let record = persist::encode_at(sub, source.clock(now_ms));
            let parts: Vec<&[u8]> = record.chunks(CHUNK).collect();
            if parts.len() > MAX_CHUNKS {
                wsbmc_log::warn!(
                    "subscription {}: its record is too large to keep across a restart",
                    sub.id.as_str()
                );
                continue;
            }
            let count = parts.len() as u8;
            let old_chunks = old.map_or(0, |s| s.chunks);
            if queued + usize::from(count.max(old_chunks)) > budget {
                continue;
            }
            let mut ok = true;
            // Chunk 0 last: until it is written, the old record (or none) is what is read.
            for (c, part) in parts.iter().enumerate().rev() {
                if let Some(key) = StoreKey::subscription(index as u8, c as u8) {
                    ok &= write(key, Some(chunk_value(count, part)));
                    queued += 1;
                }
            }
            for c in count..old_chunks {
                if let Some(key) = StoreKey::subscription(index as u8, c) {
                    ok &= write(key, None);
                    queued += 1;
                }
            }
            if ok {
                slots[index] = Some(Slot {
                    id: sub.id.clone(),
                    fingerprint: fp,
                    chunks: count,
                });
            }
        }
        queued
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn chunk_values_decode_back() {
            for n in [0usize, 1, 23, 24, CHUNK] {
                let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
                let v = chunk_value(5, &payload);
                let c: Chunk = minicbor::decode(&v).unwrap();
                assert_eq!((c.count, c.bytes), (5, payload));
            }
            // Refused: another shape, a count past the cap.
            assert!(minicbor::decode::<Chunk>(&[0x81, 0x01]).is_err());
            assert!(minicbor::decode::<Chunk>(&chunk_value(17, b"x")).is_err());
        }
    }
}
