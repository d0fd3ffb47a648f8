//! The subscription table: capped, each subscription with a bounded queue of undelivered
//! events (DESIGN.md "Events"). Subscribe, Renew, GetStatus and Unsubscribe are answered here;
//! the delivery side of the table is in [`crate::deliver`].
//!
//! A subscription is only visible to the user who made it: Renew, GetStatus, Unsubscribe and
//! Pull by anyone else are answered as for an unknown identifier, so identifiers cannot be
//! probed.

use alloc::borrow::Cow;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use wsbmc_wsman::text::{Dec, cat};

use crate::deliver::State;
use crate::subscribe::{self, ConnectionRetry, Expires, Subscribe};
use wsbmc_wsman::{Fault, FaultKind};

/// The caller's clocks: a monotonic one for everything, and the wall clock when the image has
/// one (only `xs:dateTime` expirations need it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now_ms: u64,
    pub unix_ms: Option<u64>,
}

impl Clock {
    pub const fn monotonic(now_ms: u64) -> Self {
        Self {
            now_ms,
            unix_ms: None,
        }
    }
}

/// One event as delivered: the indication (rendered by cim, now or at delivery) and the SEL
/// record it is, if any, so bookmarks can point into the SEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// SEL RecordID; `None` for events that are not SEL records.
    pub record_id: Option<u16>,
    /// The event's own action URI (`w:Event/@Action`, and the Action of a Push message).
    /// Borrowed for the indication classes' fixed URIs, so a deferred event holds no copy.
    pub action: Cow<'static, str>,
    pub body: Body,
    /// When it was queued, in monotonic ms (set by [`Table::offer`]).
    pub queued_ms: u64,
}

/// What a queued event delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The indication instance's markup (e.g. `<p:CIM_AlertIndication …>…`), rendered when the
    /// event was raised. Shared: every subscription that queues the event holds the one
    /// rendering, not a copy.
    Rendered(Rc<str>),
    /// What the platform renders the markup from when the event is delivered
    /// ([`crate::Backlog::render`]): a SEL record's 16 bytes and which of the indications it
    /// raises (`part`). About 20 bytes queued instead of 1 to 2 KiB: the bare-metal image's
    /// heap cannot hold full queues rendered. Pull delivers these; the push modes' messages
    /// are rendered from [`Body::Rendered`] only (the images that push keep events rendered).
    Deferred { record: [u8; 16], part: u8 },
}

/// What a deferred event is counted as against a Pull's envelope budget before it is rendered:
/// more than any indication cim renders (a threshold record's CIM_InstCreation, the largest,
/// is about 1.5 KiB), so a Pull never takes more than its MaxEnvelopeSize allows.
pub const DEFERRED_LEN: usize = 2048;

impl Event {
    pub fn new(
        record_id: Option<u16>,
        action: impl Into<Cow<'static, str>>,
        body: impl Into<Rc<str>>,
    ) -> Self {
        Self {
            record_id,
            action: action.into(),
            body: Body::Rendered(body.into()),
            queued_ms: 0,
        }
    }

    /// An event rendered when it is delivered ([`Body::Deferred`]).
    pub fn deferred(record_id: u16, action: &'static str, record: [u8; 16], part: u8) -> Self {
        Self {
            record_id: Some(record_id),
            action: Cow::Borrowed(action),
            body: Body::Deferred { record, part },
            queued_ms: 0,
        }
    }

    /// The markup of a rendered event; `None` for a deferred one.
    pub fn rendered(&self) -> Option<&str> {
        match &self.body {
            Body::Rendered(b) => Some(b),
            Body::Deferred { .. } => None,
        }
    }
}

/// The table's bounds and defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Live subscriptions at most; one more answers QuotaLimit.
    pub max_subscriptions: usize,
    /// Undelivered events per subscription; an overflow drops the oldest and counts it.
    pub max_queue: usize,
    /// Lifetime of a subscription that asks for none.
    pub default_expiry_ms: u64,
    /// Longer requested lifetimes are shortened to this (the response says what was granted).
    pub max_expiry_ms: u64,
    /// Retries when the Subscribe has no ConnectionRetry.
    pub default_retry: ConnectionRetry,
    /// Back-off between retries doubles from the retry interval up to this.
    pub max_backoff_ms: u64,
    /// Events mode without MaxTime: how long a partial batch waits.
    pub default_max_time_ms: u64,
    /// Events mode without MaxElements.
    pub default_max_elements: u32,
    /// Envelope budget of a delivery when the Subscribe has no MaxEnvelopeSize.
    pub default_envelope_size: u32,
    /// What Subscribe parsing keeps at most.
    pub limits: subscribe::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_subscriptions: 8,
            max_queue: 32,
            default_expiry_ms: 3_600_000,
            max_expiry_ms: 7 * 86_400_000,
            default_retry: ConnectionRetry {
                total: 3,
                interval_ms: 5_000,
            },
            max_backoff_ms: 300_000,
            default_max_time_ms: 30_000,
            default_max_elements: 20,
            default_envelope_size: 32_767,
            limits: subscribe::Limits::default(),
        }
    }
}

/// One subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// `uuid:…`; the `wse:Identifier` of the subscription manager EPR.
    pub id: String,
    /// The user who subscribed (as the HTTP layer authenticated it).
    pub owner: String,
    pub terms: Subscribe,
    /// When it ends, in monotonic ms.
    pub expires_at: u64,
    /// The expiry as granted, in the form the subscriber asked for (for the responses).
    pub granted: Expires,
    /// Events not yet handed to the delivery task.
    pub(crate) queue: Vec<Event>,
    /// Events dropped (queue overflow, oversize) and not yet reported with DroppedEvents.
    pub dropped: u32,
    /// The SEL RecordID of the last event delivered: the bookmark.
    pub last_record: Option<u16>,
    /// This service's address as the Subscribe reached it (its `wsa:To`), which the
    /// SubscribeResponse named as the SubscriptionManager; a SubscriptionEnd names it too.
    /// `None` when the request had none (the delivery task then names its own default).
    pub manager: Option<String>,
    pub(crate) state: State,
}

impl Subscription {
    /// Undelivered events, oldest first.
    pub fn queued(&self) -> impl Iterator<Item = &Event> {
        self.queue.iter()
    }

    /// Milliseconds left at `now`.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.expires_at.saturating_sub(now_ms)
    }

    /// The bookmark text of the last delivered event, as `w:Bookmark` carries it.
    pub fn bookmark_text(&self) -> Option<String> {
        self.last_record.map(|r| {
            let mut s = String::from(subscribe::BOOKMARK_PREFIX);
            s.push_str(Dec::new(r).as_str());
            s
        })
    }
}

/// Resolves a requested expiry against the clocks: the monotonic deadline and what is
/// granted, lowered to `max_ms`.
fn grant(req: Option<Expires>, clock: Clock, cfg: &Config) -> Result<(u64, Expires), Fault> {
    let (ms, granted) = match req {
        None => (cfg.default_expiry_ms, Expires::After(cfg.default_expiry_ms)),
        Some(Expires::After(ms)) => {
            let ms = ms.min(cfg.max_expiry_ms);
            (ms, Expires::After(ms))
        }
        #[cfg(feature = "datetime")]
        Some(Expires::At(at)) => {
            let Some(unix) = clock.unix_ms else {
                return Err(refusal(
                    FaultKind::EventUnsupportedExpirationType,
                    "This event source has no wall clock; send wse:Expires as an xs:duration.",
                ));
            };
            if at <= unix {
                return Err(refusal(
                    FaultKind::EventInvalidExpirationTime,
                    "wse:Expires is in the past.",
                ));
            }
            let ms = (at - unix).min(cfg.max_expiry_ms);
            // `ms <= at - unix`, so the sum is at most `at`: it cannot overflow.
            (ms, Expires::At(unix + ms))
        }
    };
    Ok((clock.now_ms.saturating_add(ms), granted))
}

/// The capped set of subscriptions.
#[derive(Debug, Clone)]
pub struct Table {
    pub(crate) subs: Vec<Subscription>,
    pub(crate) cfg: Config,
}

fn unknown(kind: FaultKind) -> Fault {
    refusal(kind, "No subscription has this identifier.")
}

/// A fault of `kind` with a fixed text. Out of line: built in place at each of this crate's
/// call sites it cost each one wsman's generic `Fault::message`.
#[inline(never)]
pub(crate) fn refusal(kind: FaultKind, text: &'static str) -> Fault {
    Fault::new(kind).message(text)
}

/// `uuid:` + a version-4 UUID from 128 random bits, upper case as Windows writes it.
pub fn format_uuid(v: u128) -> String {
    let v = (v & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    // By hand rather than `{:0width$X}`: the formatter's padding and radix code is flash the
    // bare-metal image would carry for this one string.
    let hex = |out: &mut String, n: u128, digits: usize| {
        for i in (0..digits).rev() {
            let d = ((n >> (4 * i)) & 0xF) as usize;
            out.push(char::from(
                b"0123456789ABCDEF".get(d).copied().unwrap_or(b'0'),
            ));
        }
    };
    let mut s = String::with_capacity(41);
    s.push_str("uuid:");
    hex(&mut s, v >> 96, 8);
    s.push('-');
    hex(&mut s, (v >> 80) & 0xFFFF, 4);
    s.push('-');
    hex(&mut s, (v >> 64) & 0xFFFF, 4);
    s.push('-');
    hex(&mut s, (v >> 48) & 0xFFFF, 4);
    s.push('-');
    hex(&mut s, v & 0xFFFF_FFFF_FFFF, 12);
    s
}

impl Table {
    pub fn new(cfg: Config) -> Self {
        Self {
            subs: Vec::new(),
            cfg,
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The bounds, for an image that sets its own before the first Subscribe (the bare-metal
    /// one keeps far fewer subscriptions and events than the default). Lowered later, they
    /// bind from then on: subscriptions already granted stay, and a queue already longer than
    /// a lowered `max_queue` keeps its length (each new event drops its oldest) until a Pull
    /// drains it.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.cfg
    }

    pub fn len(&self) -> usize {
        self.subs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Subscription> {
        self.subs.iter()
    }

    pub fn get(&self, id: &str) -> Option<&Subscription> {
        self.subs.iter().find(|s| s.id == id)
    }

    fn index_for(&self, id: &str, owner: &str) -> Option<usize> {
        self.subs
            .iter()
            .position(|s| s.id == id && s.owner == owner)
    }

    /// Creates a subscription; `random` supplies its identifier's 128 bits.
    pub fn subscribe(
        &mut self,
        terms: Subscribe,
        owner: &str,
        clock: Clock,
        random: &mut impl FnMut() -> u128,
    ) -> Result<&Subscription, Fault> {
        self.subscribe_as(terms, owner, clock, &mut || format_uuid(random()))
    }

    /// [`Table::subscribe`] with the identifier made whole by `next_id`: the source passes
    /// wsman's `TokenGen::next_uuid`, which formats the same `uuid:` text from the same bits,
    /// so the image carries one UUID formatter, not two.
    pub(crate) fn subscribe_as(
        &mut self,
        terms: Subscribe,
        owner: &str,
        clock: Clock,
        next_id: &mut impl FnMut() -> String,
    ) -> Result<&Subscription, Fault> {
        self.expire(clock.now_ms);
        if self.subs.len() >= self.cfg.max_subscriptions {
            return Err(Fault::new(FaultKind::QuotaLimit).message(cat(&[
                "This event source keeps at most ",
                Dec::usize(self.cfg.max_subscriptions).as_str(),
                " subscriptions.",
            ])));
        }
        let (expires_at, granted) = grant(terms.expires, clock, &self.cfg)?;
        // 128 random bits do not collide in practice; a broken source must not loop forever:
        // five identifiers are tried.
        let mut tries = 0;
        let id = loop {
            let id = next_id();
            if self.get(&id).is_none() {
                break id;
            }
            tries += 1;
            if tries == 5 {
                return Err(refusal(
                    FaultKind::EventSourceUnableToProcess,
                    "No unique subscription identifier could be made.",
                ));
            }
        };
        self.subs.push(Subscription {
            id,
            owner: owner.to_string(),
            terms,
            expires_at,
            granted,
            queue: Vec::new(),
            dropped: 0,
            last_record: None,
            manager: None,
            state: State::idle(clock.now_ms),
        });
        self.subs
            .last()
            .ok_or_else(|| Fault::new(FaultKind::EventSourceUnableToProcess))
    }

    /// Renew: a new expiry (the default when `expires` is `None`). Unknown → UnableToRenew.
    pub fn renew(
        &mut self,
        id: &str,
        owner: &str,
        expires: Option<Expires>,
        clock: Clock,
    ) -> Result<Expires, Fault> {
        self.expire(clock.now_ms);
        let i = self
            .index_for(id, owner)
            .ok_or_else(|| unknown(FaultKind::UnableToRenew))?;
        let (at, granted) = grant(expires, clock, &self.cfg)?;
        if let Some(s) = self.subs.get_mut(i) {
            s.expires_at = at;
            s.granted = granted;
        }
        Ok(granted)
    }

    /// GetStatus: the time left, as a duration (or a date-time when the wall clock is known
    /// and the subscriber asked in that form).
    pub fn get_status(&mut self, id: &str, owner: &str, clock: Clock) -> Result<Expires, Fault> {
        self.expire(clock.now_ms);
        let s = self
            .index_for(id, owner)
            .and_then(|i| self.subs.get(i))
            .ok_or_else(|| unknown(FaultKind::DestinationUnreachable))?;
        let left = s.remaining_ms(clock.now_ms);
        Ok(match (s.granted, clock.unix_ms) {
            #[cfg(feature = "datetime")]
            (Expires::At(_), Some(unix)) => Expires::At(unix.saturating_add(left)),
            _ => Expires::After(left),
        })
    }

    /// Unsubscribe: removes it (no SubscriptionEnd: the subscriber asked).
    pub fn unsubscribe(
        &mut self,
        id: &str,
        owner: &str,
        now_ms: u64,
    ) -> Result<Subscription, Fault> {
        self.expire(now_ms);
        let i = self
            .index_for(id, owner)
            .ok_or_else(|| unknown(FaultKind::DestinationUnreachable))?;
        Ok(self.subs.remove(i))
    }

    /// Removes subscription `id` whoever owns it, as Unsubscribe does (no SubscriptionEnd). For a
    /// caller that checked its right to first: an Administrator's Delete of the subscription's
    /// DSP1054 instance.
    pub fn remove(&mut self, id: &str) -> Option<Subscription> {
        let i = self.subs.iter().position(|s| s.id == id)?;
        Some(self.subs.remove(i))
    }

    /// Removes expired subscriptions. WS-Eventing sends no SubscriptionEnd for an expiry: the
    /// subscriber knew the time. Their identifiers are not returned: no caller read them, and
    /// collecting them cost the bare-metal image a Vec and a clone per expiry.
    pub fn expire(&mut self, now_ms: u64) {
        self.subs.retain(|s| s.expires_at > now_ms);
    }

    /// Queues `event` on every subscription `wants` accepts (its filter matched: the caller
    /// evaluates the WQL against the indication). A full queue drops its oldest event and
    /// counts it for DroppedEvents.
    pub fn offer(
        &mut self,
        mut event: Event,
        now_ms: u64,
        mut wants: impl FnMut(&Subscription) -> bool,
    ) {
        event.queued_ms = now_ms;
        let cap = self.cfg.max_queue.max(1);
        for s in self.subs.iter_mut().filter(|s| s.expires_at > now_ms) {
            if !wants(s) {
                continue;
            }
            if s.queue.len() >= cap {
                // At most `max_queue` (32) events: shifting them is cheaper in flash than a
                // ring buffer's own code.
                s.queue.remove(0);
                s.dropped = s.dropped.saturating_add(1);
            }
            s.queue.push(event.clone());
        }
    }

    /// Records the address subscription `id` was made through (see [`Subscription::manager`]).
    pub fn set_manager(&mut self, id: &str, manager: &str) {
        if let Some(s) = self.subs.iter_mut().find(|s| s.id == id) {
            s.manager = Some(manager.to_string());
        }
    }

    /// Restores a persisted subscription (see [`crate::persist`]); QuotaLimit when full.
    pub fn restore(&mut self, sub: Subscription) -> Result<(), Fault> {
        if self.subs.len() >= self.cfg.max_subscriptions || self.get(&sub.id).is_some() {
            return Err(Fault::new(FaultKind::QuotaLimit));
        }
        self.subs.push(sub);
        Ok(())
    }
}

/// Test helpers shared by the modules' unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::subscribe::{DeliveryMode, EnvelopePolicy};

    pub(crate) fn terms(mode: DeliveryMode) -> Subscribe {
        Subscribe {
            mode,
            notify_to: (mode != DeliveryMode::Pull).then(|| subscribe::Endpoint {
                address: "http://127.0.0.1:8080/sink".into(),
                params: Vec::new(),
            }),
            end_to: None,
            expires: None,
            heartbeat_ms: None,
            send_bookmarks: false,
            bookmark: None,
            max_elements: None,
            max_time_ms: None,
            max_envelope_size: None,
            envelope_policy: EnvelopePolicy::Notify,
            connection_retry: None,
            locale: None,
            content_encoding: None,
            filter: None,
            auth: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::terms;
    use super::*;
    use crate::subscribe::DeliveryMode;

    fn counter() -> impl FnMut() -> u128 {
        let mut n = 0u128;
        move || {
            n += 1;
            n
        }
    }

    #[test]
    fn uuid_is_version_4_upper_case() {
        let id = format_uuid(u128::MAX);
        assert_eq!(id, "uuid:FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF");
        let id = format_uuid(0);
        assert_eq!(id, "uuid:00000000-0000-4000-8000-000000000000");
        assert_eq!(id.len(), 41);
    }

    #[test]
    fn cap_answers_quota_limit() {
        let mut t = Table::new(Config {
            max_subscriptions: 2,
            ..Config::default()
        });
        let mut r = counter();
        let c = Clock::monotonic(0);
        t.subscribe(terms(DeliveryMode::Push), "u", c, &mut r)
            .unwrap();
        t.subscribe(terms(DeliveryMode::Pull), "u", c, &mut r)
            .unwrap();
        let e = t
            .subscribe(terms(DeliveryMode::Push), "u", c, &mut r)
            .unwrap_err();
        assert_eq!(e.kind, FaultKind::QuotaLimit);
        // An expired one frees its slot.
        let e = t.subscribe(
            terms(DeliveryMode::Push),
            "u",
            Clock::monotonic(3_600_000),
            &mut r,
        );
        assert!(e.is_ok());
    }

    #[test]
    fn bounds_set_after_new_bind_the_next_subscribe_and_offer() {
        let mut t = Table::new(Config::default());
        let cfg = t.config_mut();
        cfg.max_subscriptions = 1;
        cfg.max_queue = 2;
        let mut r = counter();
        let c = Clock::monotonic(0);
        t.subscribe(terms(DeliveryMode::Pull), "u", c, &mut r)
            .unwrap();
        let e = t
            .subscribe(terms(DeliveryMode::Pull), "u", c, &mut r)
            .unwrap_err();
        assert_eq!(e.kind, FaultKind::QuotaLimit);
        for i in 0..3u16 {
            t.offer(Event::new(Some(i), "a", "<x/>"), 1, |_| true);
        }
        let s = t.iter().next().unwrap();
        assert_eq!(s.queued().count(), 2);
        assert_eq!(s.dropped, 1);
    }

    #[test]
    fn colliding_random_source_is_refused_not_looped() {
        let mut t = Table::new(Config::default());
        let mut same = || 7u128;
        let c = Clock::monotonic(0);
        t.subscribe(terms(DeliveryMode::Push), "u", c, &mut same)
            .unwrap();
        let e = t
            .subscribe(terms(DeliveryMode::Push), "u", c, &mut same)
            .unwrap_err();
        assert_eq!(e.kind, FaultKind::EventSourceUnableToProcess);
    }

    /// The source makes identifiers with wsman's formatter: the same text this one makes from
    /// the same 128 bits, and five tries (one call each) before it gives up.
    #[test]
    fn the_source_s_identifiers_are_this_formatter_s() {
        use wsbmc_wsman::rng::TokenGen;
        let (mut a, mut b) = (TokenGen::new(9), TokenGen::new(9));
        for _ in 0..64 {
            assert_eq!(a.next_uuid().as_str(), format_uuid(b.next_u128()));
        }
        let mut t = Table::new(Config::default());
        let c = Clock::monotonic(0);
        let mut calls = 0;
        let mut same = || {
            calls += 1;
            String::from("uuid:x")
        };
        t.subscribe_as(terms(DeliveryMode::Pull), "u", c, &mut same)
            .unwrap();
        let e = t
            .subscribe_as(terms(DeliveryMode::Pull), "u", c, &mut same)
            .unwrap_err();
        assert_eq!(e.kind, FaultKind::EventSourceUnableToProcess);
        assert_eq!(calls, 6);
    }

    #[test]
    fn expiry_duration_is_capped() {
        let mut t = Table::new(Config {
            max_expiry_ms: 10_000,
            ..Config::default()
        });
        let mut r = counter();
        let mut req = terms(DeliveryMode::Push);
        req.expires = Some(Expires::After(60_000));
        let s = t
            .subscribe(req.clone(), "u", Clock::monotonic(5), &mut r)
            .unwrap();
        assert_eq!(s.granted, Expires::After(10_000));
        assert_eq!(s.expires_at, 10_005);
    }

    #[cfg(feature = "datetime")]
    #[test]
    fn date_time_expiry_needs_a_wall_clock() {
        let mut t = Table::new(Config {
            max_expiry_ms: 10_000,
            ..Config::default()
        });
        let mut r = counter();
        let mut req = terms(DeliveryMode::Push);
        req.expires = Some(Expires::At(2_000_000));
        let e = t
            .subscribe(req.clone(), "u", Clock::monotonic(0), &mut r)
            .unwrap_err();
        assert_eq!(e.kind, FaultKind::EventUnsupportedExpirationType);
        let wall = Clock {
            now_ms: 100,
            unix_ms: Some(1_995_000),
        };
        let s = t.subscribe(req.clone(), "u", wall, &mut r).unwrap();
        assert_eq!(s.expires_at, 5_100);
        assert_eq!(s.granted, Expires::At(2_000_000));
        let past = Clock {
            now_ms: 100,
            unix_ms: Some(2_000_000),
        };
        let e = t.subscribe(req, "u", past, &mut r).unwrap_err();
        assert_eq!(e.kind, FaultKind::EventInvalidExpirationTime);
    }

    #[test]
    fn renew_get_status_unsubscribe_and_owner_isolation() {
        let mut t = Table::new(Config::default());
        let mut r = counter();
        let id = t
            .subscribe(
                terms(DeliveryMode::Push),
                "alice",
                Clock::monotonic(0),
                &mut r,
            )
            .unwrap()
            .id
            .clone();
        assert_eq!(
            t.get_status(&id, "alice", Clock::monotonic(600_000))
                .unwrap(),
            Expires::After(3_000_000)
        );
        assert_eq!(
            t.renew(
                &id,
                "alice",
                Some(Expires::After(120_000)),
                Clock::monotonic(600_000)
            )
            .unwrap(),
            Expires::After(120_000)
        );
        assert_eq!(t.get(&id).unwrap().expires_at, 720_000);
        // Another user sees nothing.
        assert_eq!(
            t.renew(&id, "mallory", None, Clock::monotonic(0))
                .unwrap_err()
                .kind,
            FaultKind::UnableToRenew
        );
        assert_eq!(
            t.get_status(&id, "mallory", Clock::monotonic(0))
                .unwrap_err()
                .kind,
            FaultKind::DestinationUnreachable
        );
        assert!(t.unsubscribe(&id, "mallory", 0).is_err());
        assert!(t.unsubscribe(&id, "alice", 0).is_ok());
        assert!(t.is_empty());
        assert_eq!(
            t.unsubscribe(&id, "alice", 0).unwrap_err().kind,
            FaultKind::DestinationUnreachable
        );
    }

    #[test]
    fn renew_after_expiry_is_unable_to_renew() {
        let mut t = Table::new(Config::default());
        let mut r = counter();
        let id = t
            .subscribe(terms(DeliveryMode::Push), "u", Clock::monotonic(0), &mut r)
            .unwrap()
            .id
            .clone();
        let e = t
            .renew(&id, "u", None, Clock::monotonic(3_600_000))
            .unwrap_err();
        assert_eq!(e.kind, FaultKind::UnableToRenew);
        assert!(t.is_empty());
    }

    #[test]
    fn overflow_drops_the_oldest_and_counts_it() {
        let mut t = Table::new(Config {
            max_queue: 3,
            ..Config::default()
        });
        let mut r = counter();
        t.subscribe(terms(DeliveryMode::Pull), "u", Clock::monotonic(0), &mut r)
            .unwrap();
        for i in 0..5u16 {
            t.offer(Event::new(Some(i), "a", "<x/>"), 10, |_| true);
        }
        let s = t.iter().next().unwrap();
        let ids: Vec<_> = s.queued().map(|e| e.record_id).collect();
        assert_eq!(ids, [Some(2), Some(3), Some(4)]);
        assert_eq!(s.dropped, 2);
        assert!(s.queued().all(|e| e.queued_ms == 10));
    }

    #[test]
    fn offer_respects_the_filter_decision() {
        let mut t = Table::new(Config::default());
        let mut r = counter();
        let c = Clock::monotonic(0);
        let a = t
            .subscribe(terms(DeliveryMode::Pull), "u", c, &mut r)
            .unwrap()
            .id
            .clone();
        t.subscribe(terms(DeliveryMode::Pull), "u", c, &mut r)
            .unwrap();
        t.offer(Event::new(None, "a", "<x/>"), 1, |s| s.id == a);
        let counts: Vec<_> = t.iter().map(|s| s.queued().count()).collect();
        assert_eq!(counts, [1, 0]);
    }

    #[test]
    fn bookmark_text_is_the_last_record() {
        let mut t = Table::new(Config::default());
        let mut r = counter();
        let s = t
            .subscribe(terms(DeliveryMode::Pull), "u", Clock::monotonic(0), &mut r)
            .unwrap();
        assert_eq!(s.bookmark_text(), None);
        let mut s = s.clone();
        s.last_record = Some(42);
        assert_eq!(s.bookmark_text().as_deref(), Some("sel:42"));
        assert_eq!(
            subscribe::Bookmark::parse("sel:42").unwrap(),
            subscribe::Bookmark::After(42)
        );
    }
}

#[cfg(test)]
mod size {
    /// The fixed part of a subscription (472 B on a 64-bit host when written, 496 B since it
    /// keeps the manager address SubscriptionEnd names, three words); its heap part is its
    /// strings plus the queue, at most `max_queue` events of 64 B + their markup each. A
    /// change that grows the fixed part past this bound should say why.
    #[test]
    fn fixed_part_of_a_subscription_stays_small() {
        let words = core::mem::size_of::<usize>();
        assert!(core::mem::size_of::<super::Subscription>() <= 63 * words);
        assert!(core::mem::size_of::<super::Event>() <= 8 * words);
    }
}
