//! WS-Eventing (the 2004/08 submission as DMTF DSP0226 section 10 profiles it), sans IO.
//!
//! The crate decides; it never touches a socket, a clock or the store. Its callers feed it:
//! - [`subscribe::parse`] turns the `wse:Subscribe` body (and the `wst:IssuedTokens` header
//!   openwsman sends delivery credentials in) into typed [`subscribe::Subscribe`] terms, every
//!   bad input answered by the DSP0226 fault (a wsman [`wsbmc_wsman::Fault`]: the eventing
//!   kinds and details live in wsman's one catalogue, behind its `eventing` feature);
//! - [`table::Table`] holds the capped set of subscriptions with their bounded event queues and
//!   answers Subscribe, Renew, GetStatus and Unsubscribe;
//! - the scheduler ([`table::Table::poll`], [`table::Table::complete`]) says which message a
//!   delivery task sends next, given `now`, and takes the sink's answer back as a typed
//!   [`deliver::Outcome`], so retries, back-off, acks and SubscriptionEnd are decided here;
//! - [`render`] writes the response bodies and the delivery envelopes with wsman's writer;
//! - [`persist`] (feature `persist`) encodes a subscription so it survives a restart.
//! - [`source::Source`] is the table behind wsman's `EventSource` seam: wsman's service
//!   dispatches Subscribe, Renew, GetStatus, Unsubscribe and Pulls on a pull subscription's
//!   context to it ([`wsbmc_wsman::Service::handle_with_events`]).
//!
//! Times are milliseconds of a monotonic clock the caller owns (`now`), plus an optional
//! wall clock for `xs:dateTime` expirations ([`table::Clock`]).
//!
//! What this crate leaves to its callers (the wiring):
//! - wsman dispatch: route the eventing actions ([`ns::SUBSCRIBE`], [`ns::RENEW`],
//!   [`ns::GET_STATUS`], [`ns::UNSUBSCRIBE`], and `wsen:Pull` on a Pull subscription's context)
//!   here, with the authenticated user as the owner; render the bodies with [`render`] into
//!   wsman's response envelope; faults are wsman's own.
//! - events: render each indication (cim), evaluate each subscription's WQL filter against it,
//!   and [`Table::offer`] it with the SEL RecordID; on Subscribe with a [`Bookmark`], offer
//!   the SEL records after it (or all for `earliest`) to that subscription only, or answer
//!   InvalidBookmark/Expired when the record is gone.
//! - delivery: a task that loops on [`Table::poll`], renders with [`render::delivery`], posts
//!   it over HTTP(S) with the subscription's [`subscribe::DeliveryAuth`], classifies the answer
//!   with [`deliver::classify`] and feeds it to [`Table::complete`]; it sleeps until
//!   [`Table::next_wakeup`] or a new event.
//! - the store: [`persist::encode`] after Subscribe, Renew and each delivered bookmark,
//!   [`persist::decode`] + [`Table::restore`] at start, delete on Unsubscribe, expiry and
//!   [`deliver::Ended`].
#![no_std]

extern crate alloc;

pub mod datetime;
pub mod deliver;
pub mod ns;
#[cfg(feature = "persist")]
pub mod persist;
pub mod render;
pub mod source;
pub mod subscribe;
pub mod table;

pub use deliver::{Delivery, DeliveryKind, Outcome};
pub use source::{Backlog, NoBacklog, Source};
pub use subscribe::{Bookmark, DeliveryMode, Subscribe};
pub use table::{Clock, Config, Event, Subscription, Table};
