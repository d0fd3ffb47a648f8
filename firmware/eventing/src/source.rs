//! The event source a platform hands wsman's service: the subscription table behind wsman's
//! [`EventSource`] seam, so the service's dispatch of Subscribe, Renew, GetStatus, Unsubscribe
//! and `wsen:Pull` lands here.
//!
//! [`Source`] outlives requests (the platform keeps it); [`Source::with`] makes the per-request
//! view that also borrows what the platform knows of the past ([`Backlog`], the SEL), the way
//! wsman's provider is a short-lived view over the model. Only the modes the platform can
//! deliver are accepted ([`Source::new`]'s `modes`): a subscription that would never be
//! delivered is refused with `wse:DeliveryModeRequestedUnavailable` rather than granted.

use alloc::string::String;
use core::cell::RefCell;

use wsbmc_wsman::events::{EventOp, EventPull, EventRequest, EventSource};
use wsbmc_wsman::rng::TokenGen;
use wsbmc_wsman::{Fault, FaultDetail, FaultKind, XmlWriter};

use crate::render;
use crate::subscribe::{self, Bookmark, DeliveryMode};
use crate::table::{Clock, Config, Event, Subscription, Table, refusal};

/// What the platform knows of events before a subscription: the SEL, for Bookmarks.
pub trait Backlog {
    /// Hands `sink` the events of the SEL records after `bookmark` (every record held, for
    /// `Earliest`), oldest first, that `filter` (the subscription's WQL, `None` for all)
    /// selects; `wsman:InvalidBookmark`/`Expired` when the record the bookmark names is no
    /// longer held. One at a time: the subscription's bounded queue takes them (dropping the
    /// oldest and counting them past its cap), so a long SEL is never held rendered at once.
    fn replay(
        &self,
        bookmark: Bookmark,
        filter: Option<&str>,
        sink: &mut dyn FnMut(Event),
    ) -> Result<(), Fault>;

    /// Writes the markup of a deferred event ([`crate::table::Body::Deferred`]) into `out`:
    /// indication `part` of the SEL record `record`. False when it cannot (nothing written);
    /// a platform that queues none never is asked.
    fn render(&self, _record: &[u8; 16], _part: u8, _out: &mut XmlWriter) -> bool {
        false
    }

    /// Whether `n` deferred events can be rendered into a Pull's response now. A platform
    /// whose heap can run short says no, and the Pull is answered `wsa:EndpointUnavailable`
    /// (as its requests are answered 503 then) with every event still queued.
    fn can_render(&self, _n: usize) -> bool {
        true
    }
}

/// A backlog that holds nothing: a Subscribe with a bookmark resuming after a record is
/// refused as expired, and `earliest` replays nothing.
pub struct NoBacklog;

impl Backlog for NoBacklog {
    fn replay(
        &self,
        bookmark: Bookmark,
        _: Option<&str>,
        _: &mut dyn FnMut(Event),
    ) -> Result<(), Fault> {
        match bookmark {
            Bookmark::Earliest => Ok(()),
            Bookmark::After(_) => Err(expired()),
        }
    }
}

fn expired() -> Fault {
    Fault::with_detail(FaultKind::InvalidBookmark, FaultDetail::Expired)
        .message("The record the bookmark names is no longer held.")
}

/// The subscriptions and what deciding on them needs between requests.
pub struct Source {
    table: RefCell<Table>,
    ids: RefCell<TokenGen>,
    modes: &'static [DeliveryMode],
    /// Unix milliseconds, where the platform has a wall clock (for `xs:dateTime` expiries).
    wall: Option<fn() -> u64>,
    /// Whether the platform's delivery task speaks TLS: without it an https NotifyTo or EndTo
    /// is refused at Subscribe rather than granted and never delivered. Without `push` no
    /// address is kept, so there is nothing to check.
    #[cfg(feature = "push")]
    https: bool,
}

impl Source {
    /// `seed` feeds subscription identifiers (real entropy in production); `modes` are the
    /// delivery modes the platform delivers.
    pub fn new(cfg: Config, seed: u64, modes: &'static [DeliveryMode]) -> Self {
        Self {
            table: RefCell::new(Table::new(cfg)),
            ids: RefCell::new(TokenGen::new(seed)),
            modes,
            wall: None,
            #[cfg(feature = "push")]
            https: true,
        }
    }

    /// Replaces the delivery modes accepted from now on: an image that runs a delivery task
    /// (the std images) adds the push modes to what it was built with.
    pub fn set_modes(&mut self, modes: &'static [DeliveryMode]) {
        self.modes = modes;
    }

    /// Refuses https NotifyTo and EndTo addresses from now on (`wse:EventSourceUnableToProcess`
    /// with `wsman:UnusableAddress`): for a platform whose delivery task has no TLS client (the
    /// bare-metal image).
    pub fn set_http_only(&mut self) {
        #[cfg(feature = "push")]
        {
            self.https = false;
        }
    }

    /// Gives the source a wall clock, so Expires may be a date-time.
    pub fn set_wall_clock(&mut self, wall: fn() -> u64) {
        self.wall = Some(wall);
    }

    /// The table, for the delivery task, persistence and diagnostics.
    pub fn table(&self) -> &RefCell<Table> {
        &self.table
    }

    /// The clocks at `now_ms`: the wall clock's reading too when the source has one (what
    /// [`crate::persist::encode_at`] keeps an absolute expiry with).
    pub fn clock(&self, now_ms: u64) -> Clock {
        Clock {
            now_ms,
            unix_ms: self.wall.map(|f| f()),
        }
    }

    /// The per-request view the service dispatches to.
    pub fn with<'a>(&'a self, backlog: &'a dyn Backlog) -> View<'a> {
        View {
            source: self,
            backlog,
        }
    }

    /// Queues `event` on every live subscription whose filter `matches` accepts: the platform
    /// evaluates the WQL against the indication's own properties, which only it knows.
    pub fn offer(&self, event: Event, now_ms: u64, matches: &dyn Fn(Option<&str>) -> bool) {
        self.table
            .borrow_mut()
            .offer(event, now_ms, |s| matches(s.terms.filter.as_deref()));
    }
}

/// A per-request view of a [`Source`] with the platform's backlog and filter evaluation.
pub struct View<'a> {
    source: &'a Source,
    backlog: &'a dyn Backlog,
}

/// The request's `wse:Identifier`, borrowed from the request: the table only compares it.
fn identifier<'a>(req: &EventRequest<'a, '_>, unknown: FaultKind) -> Result<&'a str, Fault> {
    req.header
        .and_then(subscribe::identifier)
        .ok_or_else(|| refusal(unknown, "The request has no wse:Identifier header."))
}

impl View<'_> {
    fn subscribe(&self, req: &EventRequest<'_, '_>, out: &mut XmlWriter) -> Result<(), Fault> {
        let src = self.source;
        let body = req.body.ok_or_else(|| {
            refusal(
                FaultKind::InvalidMessage,
                "The body holds no wse:Subscribe.",
            )
        })?;
        let limits = src.table.borrow().config().limits;
        let terms = subscribe::parse(body, req.header, &limits)?;
        if !src.modes.contains(&terms.mode) || !terms.mode.built() {
            return Err(refusal(
                FaultKind::DeliveryModeRequestedUnavailable,
                if src.modes == [DeliveryMode::Pull] {
                    "This event source delivers in Pull mode only."
                } else {
                    "This event source does not deliver in that mode."
                },
            ));
        }
        #[cfg(feature = "push")]
        if !src.https
            && [terms.notify_to.as_ref(), terms.end_to.as_ref()]
                .into_iter()
                .flatten()
                .any(subscribe::Endpoint::is_https)
        {
            return Err(Fault::with_detail(
                FaultKind::EventSourceUnableToProcess,
                FaultDetail::UnusableAddress,
            )
            .message("This event source delivers over http only, not https."));
        }
        let bookmark = terms.bookmark;
        let filter = terms.filter.clone();
        let clock = src.clock(req.now_ms);
        let mut ids = src.ids.borrow_mut();
        let mut next_id = || String::from(ids.next_uuid().as_str());
        let mut table = src.table.borrow_mut();
        let id = table
            .subscribe_as(terms, req.user, clock, &mut next_id)?
            .id
            .clone();
        // The address the SubscribeResponse names as the manager, kept for SubscriptionEnd.
        if let Some(to) = req.to.filter(|t| t.len() <= limits.max_address_len) {
            table.set_manager(&id, to);
        }
        if let Some(b) = bookmark {
            let now = req.now_ms;
            let replayed = self.backlog.replay(b, filter.as_deref(), &mut |e| {
                table.offer(e, now, |s| s.id == id);
            });
            // A bookmark that cannot be honoured leaves no subscription behind.
            if let Err(f) = replayed {
                let _ = table.unsubscribe(&id, req.user, now);
                return Err(f);
            }
        }
        let sub = table
            .get(&id)
            .ok_or_else(|| Fault::new(FaultKind::EventSourceUnableToProcess))?;
        let pull = (sub.terms.mode == DeliveryMode::Pull).then_some(id.as_str());
        render::subscribe_response(out, sub, req.to.unwrap_or(""), pull);
        Ok(())
    }

    fn renew(&self, req: &EventRequest<'_, '_>, out: &mut XmlWriter) -> Result<(), Fault> {
        let id = identifier(req, FaultKind::UnableToRenew)?;
        let expires = match req.body {
            Some(b) => subscribe::parse_renew(b)?,
            None => None,
        };
        let clock = self.source.clock(req.now_ms);
        let granted = self
            .source
            .table
            .borrow_mut()
            .renew(id, req.user, expires, clock)?;
        render::renew_response(out, granted);
        Ok(())
    }

    fn get_status(&self, req: &EventRequest<'_, '_>, out: &mut XmlWriter) -> Result<(), Fault> {
        let id = identifier(req, FaultKind::DestinationUnreachable)?;
        let clock = self.source.clock(req.now_ms);
        let left = self
            .source
            .table
            .borrow_mut()
            .get_status(id, req.user, clock)?;
        render::get_status_response(out, left);
        Ok(())
    }

    fn unsubscribe(&self, req: &EventRequest<'_, '_>) -> Result<Subscription, Fault> {
        let id = identifier(req, FaultKind::DestinationUnreachable)?;
        self.source
            .table
            .borrow_mut()
            .unsubscribe(id, req.user, req.now_ms)
    }
}

impl EventSource for View<'_> {
    fn handle(&self, req: &EventRequest<'_, '_>, out: &mut XmlWriter) -> Result<(), Fault> {
        match req.op {
            EventOp::Subscribe => self.subscribe(req, out),
            EventOp::Renew => self.renew(req, out),
            EventOp::GetStatus => self.get_status(req, out),
            EventOp::Unsubscribe => self.unsubscribe(req).map(|_| ()),
        }
    }

    /// Each event goes as a `w:Event` item with its action (the shape of an Events-mode
    /// batch), after a `w:DroppedEvents` item when the queue overflowed since the last Pull.
    fn pull(&self, pull: &EventPull<'_>, out: &mut XmlWriter) -> Option<Result<(), Fault>> {
        let mut table = self.source.table.borrow_mut();
        table.expire(pull.now_ms);
        let sub = table.iter().find(|s| {
            s.id == pull.context && s.owner == pull.user && s.terms.mode == DeliveryMode::Pull
        })?;
        // Checked before the queue gives anything up, so a refused Pull loses no event.
        let deferred = sub
            .queued()
            .take(pull.max_elements.max(1) as usize)
            .filter(|e| e.rendered().is_none())
            .count();
        if deferred > 0 && !self.backlog.can_render(deferred) {
            return Some(Err(refusal(
                FaultKind::EndpointUnavailable,
                "The event source is short of memory to render events; pull again.",
            )));
        }
        let batch = match table.pull(
            pull.context,
            pull.user,
            pull.max_elements,
            pull.budget,
            pull.now_ms,
        ) {
            Ok(b) => b,
            Err(f) => return Some(Err(f)),
        };
        if batch.events.is_empty() && batch.dropped == 0 {
            return Some(Err(refusal(
                FaultKind::TimedOut,
                "No event arrived for this subscription; pull again.",
            )));
        }
        if batch.dropped > 0 {
            render::dropped_events(out, batch.dropped);
        }
        // A deferred event is rendered here, into the response, and nowhere else, by the code
        // that renders a Push message's (render.rs).
        render::event_items(out, &batch.events, self.backlog);
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests_support::terms;
    use alloc::string::ToString;
    use core::cell::Cell;

    /// Renders a deferred event as the record's first byte and its part, when its gate is open.
    struct Renderer {
        open: Cell<bool>,
        asked: Cell<usize>,
    }

    impl Backlog for Renderer {
        fn replay(
            &self,
            _: Bookmark,
            _: Option<&str>,
            _: &mut dyn FnMut(Event),
        ) -> Result<(), Fault> {
            Ok(())
        }
        fn render(&self, record: &[u8; 16], part: u8, out: &mut XmlWriter) -> bool {
            out.raw(&alloc::format!(
                "<p:R n=\"{}\" part=\"{part}\"/>",
                record[0]
            ));
            true
        }
        fn can_render(&self, n: usize) -> bool {
            self.asked.set(n);
            self.open.get()
        }
    }

    fn pull(view: &View<'_>, id: &str) -> Result<String, Fault> {
        let mut out = XmlWriter::new();
        let pull = EventPull {
            context: id,
            user: "u",
            now_ms: 2,
            max_elements: 10,
            budget: 64 * 1024,
        };
        view.pull(&pull, &mut out)
            .expect("a pull subscription")
            .map(|()| out.into_string())
    }

    #[test]
    fn deferred_events_are_rendered_by_the_backlog_when_pulled_and_kept_when_it_cannot() {
        let source = Source::new(Config::default(), 1, &[DeliveryMode::Pull]);
        let id = {
            let mut table = source.table().borrow_mut();
            let mut n = 0u128;
            let sub = table
                .subscribe(
                    terms(DeliveryMode::Pull),
                    "u",
                    Clock::monotonic(0),
                    &mut || {
                        n += 1;
                        n
                    },
                )
                .expect("subscribed");
            sub.id.to_string()
        };
        let record = [7u8; 16];
        source.offer(Event::deferred(7, "urn:a", record, 0), 1, &|_| true);
        source.offer(Event::deferred(7, "urn:b", record, 1), 1, &|_| true);
        // Queued as the record, not as markup.
        assert!(
            source
                .table()
                .borrow()
                .get(&id)
                .expect("live")
                .queued()
                .all(|e| e.rendered().is_none())
        );
        let backlog = Renderer {
            open: Cell::new(false),
            asked: Cell::new(0),
        };
        let view = source.with(&backlog);
        let refused = pull(&view, &id).expect_err("the gate is shut");
        assert_eq!(refused.kind, FaultKind::EndpointUnavailable);
        assert_eq!(backlog.asked.get(), 2);
        backlog.open.set(true);
        let body = pull(&view, &id).expect("pulled");
        assert_eq!(
            body,
            "<w:Event Action=\"urn:a\"><p:R n=\"7\" part=\"0\"/></w:Event>\
             <w:Event Action=\"urn:b\"><p:R n=\"7\" part=\"1\"/></w:Event>"
        );
        // Taken: the next Pull times out.
        assert_eq!(
            pull(&view, &id).expect_err("empty").kind,
            FaultKind::TimedOut
        );
    }

    /// An image without a TLS client refuses an https NotifyTo or EndTo with the addressing
    /// fault, and still takes http ones.
    #[cfg(feature = "push")]
    #[test]
    fn an_http_only_source_refuses_https_addresses_at_subscribe() {
        use crate::ns;
        use wsbmc_wsman::events::{EventOp, EventRequest};
        let subscribe = |source: &Source, notify: &str, end: &str| {
            let xml = alloc::format!(
                r#"<e:Subscribe xmlns:e="{}" xmlns:a="{}"><e:EndTo><a:Address>{end}</a:Address></e:EndTo><e:Delivery Mode="{}"><e:NotifyTo><a:Address>{notify}</a:Address></e:NotifyTo></e:Delivery></e:Subscribe>"#,
                ns::WSE,
                ns::WSA,
                DeliveryMode::Push.uri(),
            );
            let doc = roxmltree::Document::parse(&xml).unwrap();
            let req = EventRequest {
                op: EventOp::Subscribe,
                user: "u",
                now_ms: 0,
                header: None,
                body: Some(doc.root_element()),
                to: None,
                resource_uri: None,
            };
            let mut out = XmlWriter::new();
            source.with(&NoBacklog).subscribe(&req, &mut out)
        };
        const MODES: &[DeliveryMode] = &[DeliveryMode::Pull, DeliveryMode::Push];
        let mut source = Source::new(Config::default(), 1, MODES);
        assert!(subscribe(&source, "https://h/s", "http://h/e").is_ok());
        source.set_http_only();
        for (notify, end) in [("https://h/s", "http://h/e"), ("http://h/s", "HTTPS://h/e")] {
            let f = subscribe(&source, notify, end).expect_err("https refused");
            assert_eq!(
                (f.kind, f.detail),
                (
                    FaultKind::EventSourceUnableToProcess,
                    Some(FaultDetail::UnusableAddress)
                )
            );
        }
        assert!(subscribe(&source, "http://h/s", "http://h/e").is_ok());
        assert_eq!(source.table().borrow().len(), 2);
    }
}
