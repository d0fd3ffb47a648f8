//! The delivery scheduler, sans IO: which message a delivery task sends next, and what the
//! sink's answer means.
//!
//! The delivery task loops: `poll(now)` → render the message (`render::delivery`) →
//! send it over HTTP(S) → `complete(id, outcome, now)`; when `poll` has nothing it sleeps until
//! [`Table::next_wakeup`] or a new event. One message per subscription is in flight at a time,
//! so PushWithAck and Events wait for their ack before the next, and Push keeps order too.
//!
//! - Push: one event per message; any 2xx answer delivers it.
//! - PushWithAck: one event per message with `wsman:AckRequested`; only an Ack delivers it.
//! - Events: a batch when MaxElements events wait, or the oldest has waited MaxTime, or the
//!   next event would not fit MaxEnvelopeSize; acked like PushWithAck.
//! - Pull: nothing is sent; [`Table::pull`] hands the queue to a `wsen:Pull`.
//! - DroppedEvents goes first whenever events were dropped; a Heartbeat goes when nothing was
//!   sent for the heartbeat interval.
//! - A message that fails (no answer, a transport error, an unexpected status or fault) is
//!   retried after the retry interval, doubling each time up to the cap, ConnectionRetry
//!   `Total` times; then the subscription ends with SubscriptionEnd/DeliveryFailure to EndTo.
//!   `wsman:DeliveryRefused` ends it at once, without SubscriptionEnd (as WinRM does,
//!   reference/deploy.md §3).

use alloc::string::String;
use alloc::vec::Vec;

use crate::ns;
use crate::subscribe::{DeliveryMode, EnvelopePolicy};
use crate::table::{Config, Event, Subscription, Table};
use wsbmc_wsman::{Fault, FaultKind};

/// What kind of message is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// One event (Push, PushWithAck): Action is the event's.
    Event,
    /// A `wsman:Events` batch (feature `events`).
    #[cfg(feature = "events")]
    Events,
    Heartbeat,
    /// `wsman:DroppedEvents` reporting this many.
    DroppedEvents(u32),
    /// `wse:SubscriptionEnd` to EndTo, with this status URI; sent once, never retried.
    SubscriptionEnd(&'static str),
}

/// A message to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub kind: DeliveryKind,
    /// 0 for the first try.
    pub attempt: u32,
}

/// The sink's answer, as the HTTP client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer; `acked` when its body was a `wsman:Ack` relating to the message.
    Accepted { acked: bool },
    /// A `wsman:DeliveryRefused` fault: end the subscription at once.
    Refused,
    /// No answer, a connection or TLS error, a timeout, or any other status or fault.
    Failed,
}

/// Why a subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The sink refused deliveries.
    Refused,
    /// Retries ran out.
    DeliveryFailure,
    /// An event larger than MaxEnvelopeSize under `Policy="CancelSubscription"`.
    Cancelled,
}

/// A subscription the scheduler ended (the caller removes it from the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub id: String,
    pub reason: EndReason,
}

/// A subscription's delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// Nothing in flight; `last_sent_ms` drives heartbeats.
    Idle { last_sent_ms: u64 },
    /// A message is out; its events (if any) are held here until the answer.
    InFlight {
        kind: DeliveryKind,
        events: Vec<Event>,
        attempt: u32,
    },
    /// A try failed (or a SubscriptionEnd is owed); send again at `until`.
    Backoff {
        kind: DeliveryKind,
        events: Vec<Event>,
        attempt: u32,
        until: u64,
    },
}

impl State {
    pub(crate) const fn idle(now_ms: u64) -> Self {
        State::Idle {
            last_sent_ms: now_ms,
        }
    }
}

/// Envelope bytes of a delivery besides its events, as an upper bound: the fixed headers and
/// body frame, plus the address and reference parameters echoed as headers (a test in
/// `render` checks the bound against rendered envelopes).
pub fn frame_len(sub: &Subscription) -> usize {
    let to = sub.terms.notify_to.as_ref();
    1_200
        + to.map_or(0, |e| {
            e.address.len()
                + e.params
                    .iter()
                    .map(|p| 2 * p.local.len() + p.namespace.len() + 2 * p.text.len() + 40)
                    .sum::<usize>()
        })
}

/// Bytes one event adds to an Events batch, as an upper bound.
pub fn event_len(event: &Event) -> usize {
    let body = match &event.body {
        crate::table::Body::Rendered(b) => b.len(),
        crate::table::Body::Deferred { .. } => crate::table::DEFERRED_LEN,
    };
    body + 2 * event.action.len() + 40
}

/// A pull's hand-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullBatch {
    pub events: Vec<Event>,
    /// Events dropped since the last pull (render them as DroppedEvents before the items).
    pub dropped: u32,
}

/// Classifies the sink's HTTP answer to a delivery whose `wsa:MessageID` was `message_id`.
///
/// - 2xx: delivered; `acked` when the body is a SOAP envelope with Action `…/wsman/Ack` and a
///   `wsa:RelatesTo` naming the message (an Ack for another message is no ack).
/// - a SOAP fault whose subcode is `wsman:DeliveryRefused` (any status): refused.
/// - anything else (other statuses and faults, a body that is not XML): failed, retried.
///
/// The body is parsed with wsman's bounded parser and `limits`; a body past them is a failure.
pub fn classify(
    status: u16,
    body: &[u8],
    message_id: &str,
    limits: &wsbmc_wsman::Limits,
) -> Outcome {
    let text = core::str::from_utf8(body).ok().map(str::trim);
    let doc = text
        .filter(|t| !t.is_empty() && t.len() <= limits.max_request_size)
        .and_then(|t| wsbmc_wsman::envelope::parse_document(t, limits).ok());
    let refused = doc.as_ref().is_some_and(|d| {
        d.descendants().any(|n| {
            n.tag_name().name() == "Value"
                && n.tag_name().namespace() == Some(wsbmc_wsman::ns::SOAP)
                && n.parent().is_some_and(|p| p.tag_name().name() == "Subcode")
                && n.text().is_some_and(|v| {
                    let v = v.trim();
                    // The QName's prefix must be bound to the wsman namespace.
                    // Split at the colon's byte: `split_once(':')` links a char searcher here.
                    let colon = v.bytes().position(|b| b == b':').unwrap_or(v.len());
                    v.split_at_checked(colon).is_some_and(|(prefix, local)| {
                        local == ":DeliveryRefused"
                            && n.lookup_namespace_uri(Some(prefix)) == Some(ns::WSMAN)
                    })
                })
        })
    });
    if refused {
        return Outcome::Refused;
    }
    if !(200..300).contains(&status) {
        return Outcome::Failed;
    }
    let acked = doc.as_ref().is_some_and(|d| {
        let header_text = |local: &str| {
            d.descendants()
                .find(|n| n.tag_name().name() == local && n.tag_name().namespace() == Some(ns::WSA))
                .and_then(|n| n.text())
                .map(str::trim)
        };
        header_text("Action") == Some(ns::ACK) && header_text("RelatesTo") == Some(message_id)
    });
    Outcome::Accepted { acked }
}

/// The oldest `n` queued events (fewer if the queue holds fewer), taken off the queue: for a
/// Pull, an Events batch and a single Event alike, one out-of-line copy. The rest split off
/// into a queue of their own, not drained: drain's drop glue and its collect were 0.9 KiB of
/// the bare-metal image's Push.
#[inline(never)]
fn take_oldest(queue: &mut Vec<Event>, n: usize) -> Vec<Event> {
    let mut events = core::mem::take(queue);
    *queue = events.split_off(n.min(events.len()));
    events
}

impl Subscription {
    fn retry(&self, cfg: &Config) -> crate::subscribe::ConnectionRetry {
        self.terms.connection_retry.unwrap_or(cfg.default_retry)
    }

    #[cfg(feature = "events")]
    fn max_elements(&self, cfg: &Config) -> usize {
        self.terms
            .max_elements
            .unwrap_or(cfg.default_max_elements)
            .max(1) as usize
    }

    fn max_time(&self, cfg: &Config) -> u64 {
        self.terms.max_time_ms.unwrap_or(cfg.default_max_time_ms)
    }

    fn envelope_budget(&self, cfg: &Config) -> usize {
        self.terms
            .max_envelope_size
            .unwrap_or(cfg.default_envelope_size) as usize
    }

    /// Whether its events go in batches (Events mode). Without the `events` feature a
    /// [`crate::Source`] refuses that mode, so the batching code is left out of the build.
    fn batches(&self) -> bool {
        self.terms.mode.built() && self.terms.mode == DeliveryMode::Events
    }

    /// The events of the message in flight (or waiting to be retried).
    pub fn in_flight(&self) -> &[Event] {
        match &self.state {
            State::InFlight { events, .. } | State::Backoff { events, .. } => events,
            State::Idle { .. } => &[],
        }
    }

    /// Drops queued events too large for one envelope, per the MaxEnvelopeSize policy; true
    /// when the policy cancels the subscription.
    fn drop_oversize(&mut self, budget: usize) -> bool {
        let frame = frame_len(self);
        let policy = self.terms.envelope_policy;
        let mut cancel = false;
        let mut dropped = 0u32;
        self.queue.retain(|e| {
            let fits = frame + event_len(e) <= budget;
            if !fits {
                match policy {
                    EnvelopePolicy::Notify => dropped = dropped.saturating_add(1),
                    EnvelopePolicy::Skip => {}
                    EnvelopePolicy::CancelSubscription => cancel = true,
                }
            }
            fits
        });
        self.dropped = self.dropped.saturating_add(dropped);
        cancel
    }

    /// What to send now, if anything, moving it in flight.
    fn next(&mut self, now: u64, cfg: &Config) -> Option<(DeliveryKind, u32)> {
        let last_sent_ms = match &mut self.state {
            State::InFlight { .. } => return None,
            State::Backoff {
                until,
                kind,
                events,
                attempt,
            } => {
                if now < *until {
                    return None;
                }
                let (kind, attempt) = (*kind, *attempt);
                let events = core::mem::take(events);
                self.state = State::InFlight {
                    kind,
                    events,
                    attempt,
                };
                return Some((kind, attempt));
            }
            State::Idle { last_sent_ms } => *last_sent_ms,
        };
        if self.terms.mode == DeliveryMode::Pull {
            return None;
        }
        let budget = self.envelope_budget(cfg);
        let (kind, events) = if self.drop_oversize(budget) {
            self.queue.clear();
            (
                DeliveryKind::SubscriptionEnd(ns::STATUS_SOURCE_CANCELLING),
                Vec::new(),
            )
        } else if self.dropped > 0 {
            (DeliveryKind::DroppedEvents(self.dropped), Vec::new())
        } else if !self.queue.is_empty() {
            let (kind, n) = self.due_events(now, cfg, budget)?;
            (kind, take_oldest(&mut self.queue, n))
        } else if self
            .terms
            .heartbeat_ms
            .is_some_and(|h| now.saturating_sub(last_sent_ms) >= h)
        {
            (DeliveryKind::Heartbeat, Vec::new())
        } else {
            return None;
        };
        self.state = State::InFlight {
            kind,
            events,
            attempt: 0,
        };
        Some((kind, 0))
    }

    /// What the queue sends now: its oldest event, or in Events mode (feature `events`) the
    /// batch that fits one envelope, up to MaxElements, once it is full or the oldest has
    /// waited MaxTime (`None` until then).
    #[cfg_attr(not(feature = "events"), allow(unused_variables))]
    fn due_events(&self, now: u64, cfg: &Config, budget: usize) -> Option<(DeliveryKind, usize)> {
        #[cfg(feature = "events")]
        if self.terms.mode == DeliveryMode::Events {
            let oldest = self.queue.first().map_or(now, |e| e.queued_ms);
            let max = self.max_elements(cfg);
            // Events that fit one envelope, up to MaxElements.
            let mut size = frame_len(self);
            let mut n = 0;
            for e in self.queue.iter().take(max) {
                if size + event_len(e) > budget {
                    break;
                }
                size += event_len(e);
                n += 1;
            }
            let full = n == max || n < self.queue.len();
            if !full && now.saturating_sub(oldest) < self.max_time(cfg) {
                return None;
            }
            return Some((DeliveryKind::Events, n));
        }
        Some((DeliveryKind::Event, 1))
    }

    /// The earliest time something becomes due without a new event.
    fn wakeup(&self, cfg: &Config) -> u64 {
        let timer = match &self.state {
            State::InFlight { .. } => None,
            State::Backoff { until, .. } => Some(*until),
            State::Idle { last_sent_ms } => {
                let batch = if self.batches() {
                    self.queue
                        .first()
                        .map(|e| e.queued_ms.saturating_add(self.max_time(cfg)))
                } else {
                    None
                };
                let heartbeat = if self.terms.mode == DeliveryMode::Pull {
                    None
                } else {
                    self.terms
                        .heartbeat_ms
                        .map(|h| last_sent_ms.saturating_add(h))
                };
                match (batch, heartbeat) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        };
        timer.map_or(self.expires_at, |t| t.min(self.expires_at))
    }
}

impl Table {
    /// The next message to send at `now`, if any; it stays in flight until [`Self::complete`].
    /// Expired subscriptions are removed first.
    pub fn poll(&mut self, now_ms: u64) -> Option<Delivery> {
        self.expire(now_ms);
        let cfg = &self.cfg;
        self.subs.iter_mut().find_map(|s| {
            s.next(now_ms, cfg).map(|(kind, attempt)| Delivery {
                id: s.id.clone(),
                kind,
                attempt,
            })
        })
    }

    /// When the delivery task must call [`Self::poll`] again at the latest (a batch's MaxTime,
    /// a heartbeat, a retry, an expiry); `None` with no subscriptions.
    pub fn next_wakeup(&self) -> Option<u64> {
        self.subs.iter().map(|s| s.wakeup(&self.cfg)).min()
    }

    /// Feeds back the sink's answer to the message in flight for `id`. Returns the
    /// subscription's end if this ended it (it is then gone from the table; when a
    /// SubscriptionEnd is owed to EndTo, it stays until that is sent). An answer for a
    /// subscription with nothing in flight (unsubscribed meanwhile) is ignored.
    pub fn complete(&mut self, id: &str, outcome: Outcome, now_ms: u64) -> Option<Ended> {
        let i = self.subs.iter().position(|s| s.id == id)?;
        let s = self.subs.get_mut(i)?;
        if !matches!(s.state, State::InFlight { .. }) {
            return None;
        }
        let State::InFlight {
            kind,
            events,
            attempt,
        } = core::mem::replace(&mut s.state, State::idle(now_ms))
        else {
            return None;
        };
        // One removal for every way a subscription ends (its drop inlined once, not thrice).
        let reason = if let DeliveryKind::SubscriptionEnd(status) = kind {
            if status == ns::STATUS_SOURCE_CANCELLING {
                EndReason::Cancelled
            } else {
                EndReason::DeliveryFailure
            }
        } else {
            match outcome {
                Outcome::Accepted { acked } if acked || !s.terms.mode.acked() => {
                    if let Some(r) = events.iter().rev().find_map(|e| e.record_id) {
                        s.last_record = Some(r);
                    }
                    if let DeliveryKind::DroppedEvents(n) = kind {
                        s.dropped = s.dropped.saturating_sub(n);
                    }
                    return None;
                }
                Outcome::Refused => EndReason::Refused,
                Outcome::Accepted { .. } | Outcome::Failed => {
                    let retry = s.retry(&self.cfg);
                    let attempt = attempt.saturating_add(1);
                    if attempt <= retry.total {
                        let shift = (attempt - 1).min(20);
                        let wait = retry
                            .interval_ms
                            .saturating_mul(1u64 << shift)
                            .min(self.cfg.max_backoff_ms);
                        s.state = State::Backoff {
                            kind,
                            events,
                            attempt,
                            until: now_ms.saturating_add(wait),
                        };
                        return None;
                    }
                    if s.terms.end_to.is_some() {
                        // Sent by the next poll; its completion removes the subscription.
                        s.queue.clear();
                        s.state = State::Backoff {
                            kind: DeliveryKind::SubscriptionEnd(ns::STATUS_DELIVERY_FAILURE),
                            events: Vec::new(),
                            attempt: 0,
                            until: now_ms,
                        };
                        return None;
                    }
                    EndReason::DeliveryFailure
                }
            }
        };
        self.subs.remove(i);
        Some(Ended {
            id: String::from(id),
            reason,
        })
    }

    /// Hands up to `max_elements` queued events within about `max_bytes` to a `wsen:Pull` on a
    /// Pull-mode subscription; the bookmark moves to the last one handed over.
    pub fn pull(
        &mut self,
        id: &str,
        owner: &str,
        max_elements: u32,
        max_bytes: usize,
        now_ms: u64,
    ) -> Result<PullBatch, Fault> {
        self.expire(now_ms);
        let s = self
            .subs
            .iter_mut()
            .find(|s| s.id == id && s.owner == owner && s.terms.mode == DeliveryMode::Pull)
            .ok_or_else(|| {
                Fault::new(FaultKind::DestinationUnreachable)
                    .message("No pull subscription has this identifier.")
            })?;
        let mut size = 0usize;
        let mut n = 0usize;
        for e in s.queue.iter().take(max_elements.max(1) as usize) {
            size += event_len(e);
            // The first event always goes, or an oversized one would block the queue for
            // good; the caller's envelope pager decides what to do with it.
            if n > 0 && size > max_bytes {
                break;
            }
            n += 1;
        }
        let events = take_oldest(&mut s.queue, n);
        if let Some(r) = events.iter().rev().find_map(|e| e.record_id) {
            s.last_record = Some(r);
        }
        let dropped = core::mem::take(&mut s.dropped);
        Ok(PullBatch { events, dropped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribe::{ConnectionRetry, Endpoint, Subscribe};
    use crate::table::Clock;
    use crate::table::tests_support::terms;

    #[test]
    fn take_oldest_takes_from_the_front_and_at_most_what_is_queued() {
        let mut q: Vec<Event> = (1..=4)
            .map(|i| Event::new(Some(i), "urn:a", "<x/>"))
            .collect();
        let ids = |v: &[Event]| v.iter().map(|e| e.record_id).collect::<Vec<_>>();
        assert_eq!(ids(&take_oldest(&mut q, 1)), [Some(1)]);
        assert_eq!(ids(&q), [Some(2), Some(3), Some(4)]);
        assert_eq!(ids(&take_oldest(&mut q, 9)), [Some(2), Some(3), Some(4)]);
        assert!(q.is_empty());
        assert!(take_oldest(&mut q, 1).is_empty());
    }

    fn table_with(mode: DeliveryMode, edit: impl FnOnce(&mut Subscribe)) -> (Table, String) {
        table_cfg(Config::default(), mode, edit)
    }

    fn table_cfg(
        cfg: Config,
        mode: DeliveryMode,
        edit: impl FnOnce(&mut Subscribe),
    ) -> (Table, String) {
        let mut t = Table::new(cfg);
        let mut req = terms(mode);
        edit(&mut req);
        let id = t
            .subscribe(req, "u", Clock::monotonic(0), &mut || 1)
            .unwrap()
            .id
            .clone();
        (t, id)
    }

    fn ev(r: u16) -> Event {
        Event::new(Some(r), "http://example/Alert", "<p:A/>")
    }

    fn end_to() -> Option<Endpoint> {
        Some(Endpoint {
            address: "http://127.0.0.1:9/end".into(),
            params: Vec::new(),
        })
    }

    const ACK: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack</a:Action><a:RelatesTo>uuid:M</a:RelatesTo></s:Header><s:Body/></s:Envelope>"#;

    fn fault(subcode: &str) -> alloc::string::String {
        alloc::format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:x="urn:other"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code></s:Fault></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn sink_answers_are_classified() {
        let l = wsbmc_wsman::Limits::default();
        assert_eq!(
            classify(200, ACK.as_bytes(), "uuid:M", &l),
            Outcome::Accepted { acked: true }
        );
        assert_eq!(
            classify(200, ACK.as_bytes(), "uuid:N", &l),
            Outcome::Accepted { acked: false }
        );
        assert_eq!(
            classify(204, b"", "uuid:M", &l),
            Outcome::Accepted { acked: false }
        );
        assert_eq!(
            classify(202, b"not xml", "uuid:M", &l),
            Outcome::Accepted { acked: false }
        );
        assert_eq!(
            classify(500, fault("w:DeliveryRefused").as_bytes(), "uuid:M", &l),
            Outcome::Refused
        );
        assert_eq!(
            classify(400, fault("w:DeliveryRefused").as_bytes(), "uuid:M", &l),
            Outcome::Refused
        );
        // The name alone in another namespace is not the wsman fault.
        assert_eq!(
            classify(500, fault("x:DeliveryRefused").as_bytes(), "uuid:M", &l),
            Outcome::Failed
        );
        // A QName splits at its first colon; no prefix is no namespace.
        for value in ["DeliveryRefused", "w:w:DeliveryRefused", ":DeliveryRefused"] {
            assert_eq!(
                classify(500, fault(value).as_bytes(), "uuid:M", &l),
                Outcome::Failed,
                "{value}"
            );
        }
        assert_eq!(
            classify(500, fault("w:InternalError").as_bytes(), "uuid:M", &l),
            Outcome::Failed
        );
        assert_eq!(classify(401, b"", "uuid:M", &l), Outcome::Failed);
        assert_eq!(
            classify(200, &[0xFF, 0xFE], "uuid:M", &l),
            Outcome::Accepted { acked: false }
        );
    }

    #[test]
    fn push_sends_one_event_at_a_time_in_order() {
        let (mut t, id) = table_with(DeliveryMode::Push, |_| {});
        t.offer(ev(1), 1, |_| true);
        t.offer(ev(2), 1, |_| true);
        let d = t.poll(2).unwrap();
        assert_eq!((d.kind, d.attempt), (DeliveryKind::Event, 0));
        assert_eq!(t.get(&id).unwrap().in_flight()[0].record_id, Some(1));
        // Nothing else while it is in flight.
        assert_eq!(t.poll(3), None);
        assert_eq!(t.complete(&id, Outcome::Accepted { acked: false }, 4), None);
        assert_eq!(t.get(&id).unwrap().last_record, Some(1));
        assert_eq!(t.poll(5).unwrap().kind, DeliveryKind::Event);
        assert_eq!(t.get(&id).unwrap().in_flight()[0].record_id, Some(2));
    }

    #[test]
    fn push_with_ack_waits_for_the_ack() {
        let (mut t, id) = table_with(DeliveryMode::PushWithAck, |_| {});
        t.offer(ev(1), 1, |_| true);
        t.poll(2).unwrap();
        // A 2xx without an Ack is not a delivery: retried after the back-off.
        t.complete(&id, Outcome::Accepted { acked: false }, 3);
        assert_eq!(t.get(&id).unwrap().last_record, None);
        assert_eq!(t.poll(4), None);
        let d = t.poll(3 + 5_000).unwrap();
        assert_eq!((d.kind, d.attempt), (DeliveryKind::Event, 1));
        t.complete(&id, Outcome::Accepted { acked: true }, 5_004);
        assert_eq!(t.get(&id).unwrap().last_record, Some(1));
    }

    #[cfg(feature = "events")]
    #[test]
    fn events_batches_by_max_elements_and_max_time() {
        let (mut t, id) = table_with(DeliveryMode::Events, |r| {
            r.max_elements = Some(3);
            r.max_time_ms = Some(1_000);
        });
        t.offer(ev(1), 0, |_| true);
        t.offer(ev(2), 100, |_| true);
        // Two of three and MaxTime not reached: wait, and say until when.
        assert_eq!(t.poll(500), None);
        assert_eq!(t.next_wakeup(), Some(1_000));
        t.offer(ev(3), 600, |_| true);
        t.offer(ev(4), 600, |_| true);
        assert_eq!(t.poll(600).unwrap().kind, DeliveryKind::Events);
        let ids: Vec<_> = t
            .get(&id)
            .unwrap()
            .in_flight()
            .iter()
            .map(|e| e.record_id)
            .collect();
        assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        t.complete(&id, Outcome::Accepted { acked: true }, 700);
        assert_eq!(t.get(&id).unwrap().last_record, Some(3));
        // The fourth goes alone once MaxTime has passed since it was queued.
        assert_eq!(t.poll(1_599), None);
        assert_eq!(t.poll(1_600).unwrap().kind, DeliveryKind::Events);
        assert_eq!(t.get(&id).unwrap().in_flight().len(), 1);
    }

    #[cfg(feature = "events")]
    #[test]
    fn events_batches_by_max_envelope_size() {
        let (mut t, id) = table_with(DeliveryMode::Events, |r| {
            r.max_elements = Some(50);
            r.max_envelope_size = Some(8192);
        });
        let big = "x".repeat(3000);
        for i in 0..3 {
            t.offer(Event::new(Some(i), "a", big.clone()), 0, |_| true);
        }
        // Two 3 KB events fit 8 KiB with the frame; the third would not: two go now.
        assert_eq!(t.poll(1).unwrap().kind, DeliveryKind::Events);
        assert_eq!(t.get(&id).unwrap().in_flight().len(), 2);
    }

    #[test]
    fn oversize_event_follows_the_policy() {
        let huge = "x".repeat(9000);
        // Notify: dropped and reported.
        let (mut t, id) = table_with(DeliveryMode::Push, |r| r.max_envelope_size = Some(8192));
        t.offer(Event::new(Some(1), "a", huge.clone()), 0, |_| true);
        assert_eq!(t.poll(1).unwrap().kind, DeliveryKind::DroppedEvents(1));
        t.complete(&id, Outcome::Accepted { acked: false }, 2);
        assert_eq!(t.get(&id).unwrap().dropped, 0);
        // Skip: silently gone.
        let (mut t, _) = table_with(DeliveryMode::Push, |r| {
            r.max_envelope_size = Some(8192);
            r.envelope_policy = EnvelopePolicy::Skip;
        });
        t.offer(Event::new(Some(1), "a", huge.clone()), 0, |_| true);
        assert_eq!(t.poll(1), None);
        // CancelSubscription: SubscriptionEnd (SourceCancelling), then gone.
        let (mut t, id) = table_with(DeliveryMode::Push, |r| {
            r.max_envelope_size = Some(8192);
            r.envelope_policy = EnvelopePolicy::CancelSubscription;
        });
        t.offer(Event::new(Some(1), "a", huge), 0, |_| true);
        assert_eq!(
            t.poll(1).unwrap().kind,
            DeliveryKind::SubscriptionEnd(ns::STATUS_SOURCE_CANCELLING)
        );
        let end = t.complete(&id, Outcome::Failed, 2).unwrap();
        assert_eq!(end.reason, EndReason::Cancelled);
        assert!(t.is_empty());
    }

    #[test]
    fn dropped_events_go_before_the_next_events() {
        let cfg = Config {
            max_queue: 2,
            ..Config::default()
        };
        let (mut t, id) = table_cfg(cfg, DeliveryMode::Push, |_| {});
        for i in 0..4 {
            t.offer(ev(i), 0, |_| true);
        }
        assert_eq!(t.poll(1).unwrap().kind, DeliveryKind::DroppedEvents(2));
        // Drops while the report is out are kept for the next report.
        t.offer(ev(9), 1, |_| true);
        t.complete(&id, Outcome::Accepted { acked: false }, 2);
        assert_eq!(t.get(&id).unwrap().dropped, 1);
        assert_eq!(t.poll(3).unwrap().kind, DeliveryKind::DroppedEvents(1));
    }

    #[cfg(feature = "events")]
    #[test]
    fn heartbeats_when_idle_only() {
        let (mut t, id) = table_with(DeliveryMode::Events, |r| r.heartbeat_ms = Some(10_000));
        assert_eq!(t.poll(9_999), None);
        assert_eq!(t.next_wakeup(), Some(10_000));
        assert_eq!(t.poll(10_000).unwrap().kind, DeliveryKind::Heartbeat);
        t.complete(&id, Outcome::Accepted { acked: true }, 10_050);
        // The interval restarts at the last send.
        assert_eq!(t.poll(20_000), None);
        assert_eq!(t.poll(20_050).unwrap().kind, DeliveryKind::Heartbeat);
        // An event due at the same time goes instead of the heartbeat.
        t.complete(&id, Outcome::Accepted { acked: true }, 20_050);
        t.offer(ev(1), 25_000, |_| true);
        assert_eq!(t.poll(60_000).unwrap().kind, DeliveryKind::Events);
        // No heartbeats in Pull mode.
        let (mut t, _) = table_with(DeliveryMode::Pull, |r| r.heartbeat_ms = Some(1_000));
        assert_eq!(t.poll(5_000), None);
    }

    #[test]
    fn failures_back_off_exponentially_then_end_with_delivery_failure() {
        let (mut t, id) = table_with(DeliveryMode::Push, |r| {
            r.connection_retry = Some(ConnectionRetry {
                total: 3,
                interval_ms: 1_000,
            });
            r.end_to = end_to();
        });
        t.offer(ev(1), 0, |_| true);
        let mut now = 0;
        assert_eq!(t.poll(now).unwrap().attempt, 0);
        for (attempt, wait) in [(1, 1_000), (2, 2_000), (3, 4_000)] {
            assert_eq!(t.complete(&id, Outcome::Failed, now), None);
            assert_eq!(t.next_wakeup(), Some(now + wait));
            assert_eq!(t.poll(now + wait - 1), None);
            now += wait;
            let d = t.poll(now).unwrap();
            assert_eq!((d.kind, d.attempt), (DeliveryKind::Event, attempt));
            // The retry carries the same event.
            assert_eq!(t.get(&id).unwrap().in_flight()[0].record_id, Some(1));
        }
        // The fourth failure is past Total=3: SubscriptionEnd to EndTo, sent once.
        assert_eq!(t.complete(&id, Outcome::Failed, now), None);
        assert_eq!(
            t.poll(now).unwrap().kind,
            DeliveryKind::SubscriptionEnd(ns::STATUS_DELIVERY_FAILURE)
        );
        let end = t.complete(&id, Outcome::Failed, now).unwrap();
        assert_eq!(end.reason, EndReason::DeliveryFailure);
        assert!(t.is_empty());
    }

    #[test]
    fn back_off_is_capped() {
        let cfg = Config {
            max_backoff_ms: 3_000,
            default_retry: ConnectionRetry {
                total: 10,
                interval_ms: 1_000,
            },
            ..Config::default()
        };
        let (mut t, id) = table_cfg(cfg, DeliveryMode::Push, |_| {});
        t.offer(ev(1), 0, |_| true);
        let mut now = 0;
        for _ in 0..6 {
            t.poll(now).unwrap();
            t.complete(&id, Outcome::Failed, now);
            let next = t.next_wakeup().unwrap();
            assert!(next - now <= 3_000, "{}", next - now);
            now = next;
        }
    }

    #[test]
    fn failure_without_end_to_ends_silently() {
        let (mut t, id) = table_with(DeliveryMode::Push, |r| {
            r.connection_retry = Some(ConnectionRetry {
                total: 1,
                interval_ms: 1_000,
            });
        });
        t.offer(ev(1), 0, |_| true);
        t.poll(0).unwrap();
        t.complete(&id, Outcome::Failed, 0);
        t.poll(1_000).unwrap();
        let end = t.complete(&id, Outcome::Failed, 1_000).unwrap();
        assert_eq!(end.reason, EndReason::DeliveryFailure);
        assert!(t.is_empty());
    }

    #[test]
    fn refused_ends_at_once_without_subscription_end() {
        let (mut t, id) = table_with(DeliveryMode::PushWithAck, |r| r.end_to = end_to());
        t.offer(ev(1), 0, |_| true);
        t.poll(0).unwrap();
        let end = t.complete(&id, Outcome::Refused, 1).unwrap();
        assert_eq!(end.reason, EndReason::Refused);
        assert!(t.is_empty());
        assert_eq!(t.poll(2), None);
    }

    #[test]
    fn stale_outcomes_are_ignored() {
        let (mut t, id) = table_with(DeliveryMode::Push, |_| {});
        assert_eq!(t.complete(&id, Outcome::Failed, 0), None);
        assert_eq!(t.complete("uuid:nope", Outcome::Refused, 0), None);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn pull_hands_over_the_queue_with_the_dropped_count() {
        let cfg = Config {
            max_queue: 3,
            ..Config::default()
        };
        let (mut t, id) = table_cfg(cfg, DeliveryMode::Pull, |_| {});
        for i in 0..5 {
            t.offer(ev(i), 0, |_| true);
        }
        assert_eq!(t.poll(1), None);
        let b = t.pull(&id, "u", 2, 100_000, 1).unwrap();
        assert_eq!((b.events.len(), b.dropped), (2, 2));
        assert_eq!(t.get(&id).unwrap().last_record, Some(3));
        let b = t.pull(&id, "u", 10, 100_000, 1).unwrap();
        assert_eq!((b.events.len(), b.dropped), (1, 0));
        assert!(t.pull(&id, "u", 10, 100_000, 1).unwrap().events.is_empty());
        // Another user sees no such subscription.
        assert_eq!(
            t.pull(&id, "v", 1, 1, 1).unwrap_err().kind,
            FaultKind::DestinationUnreachable
        );
    }

    #[test]
    fn push_subscriptions_are_not_pullable() {
        let (mut t, id) = table_with(DeliveryMode::Push, |_| {});
        assert_eq!(
            t.pull(&id, "u", 1, 1, 0).unwrap_err().kind,
            FaultKind::DestinationUnreachable
        );
    }

    #[test]
    fn pull_honours_the_byte_budget_but_always_moves() {
        let (mut t, id) = table_with(DeliveryMode::Pull, |_| {});
        for i in 0..3 {
            t.offer(Event::new(Some(i), "a", "x".repeat(1000)), 0, |_| true);
        }
        assert_eq!(t.pull(&id, "u", 10, 10, 0).unwrap().events.len(), 1);
        assert_eq!(t.pull(&id, "u", 10, 2_200, 0).unwrap().events.len(), 2);
    }

    #[test]
    fn expiry_is_a_wakeup_and_removes_the_subscription() {
        let (mut t, _) = table_with(DeliveryMode::Push, |r| {
            r.expires = Some(crate::subscribe::Expires::After(5_000))
        });
        assert_eq!(t.next_wakeup(), Some(5_000));
        t.offer(ev(1), 5_000, |_| true);
        assert_eq!(t.poll(5_000), None);
        assert!(t.is_empty());
    }
}
