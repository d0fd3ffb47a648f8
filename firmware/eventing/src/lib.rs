//! WS-Eventing (the 2004/08 submission as DMTF DSP0226 section 10 profiles it), sans IO.
//!
//! The crate decides; it never touches a socket, a clock or the store. Its callers feed it:
//! - [`subscribe::parse`] turns the `wse:Subscribe` body (and the `wst:IssuedTokens` header
//!   openwsman sends delivery credentials in) into typed [`subscribe::Subscribe`] terms, every
//!   bad input answered by the DSP0226 fault ([`fault::EventingFault`]);
//! - [`table::Table`] holds the capped set of subscriptions with their bounded event queues and
//!   answers Subscribe, Renew, GetStatus and Unsubscribe;
//! - the scheduler ([`table::Table::poll`], [`table::Table::complete`]) says which message a
//!   delivery task sends next, given `now`, and takes the sink's answer back as a typed
//!   [`deliver::Outcome`], so retries, back-off, acks and SubscriptionEnd are decided here;
//! - [`render`] writes the response bodies and the delivery envelopes with wsman's writer;
//! - [`persist`] encodes a subscription so it survives a restart.
//!
//! Times are milliseconds of a monotonic clock the caller owns (`now`), plus an optional
//! wall clock for `xs:dateTime` expirations ([`table::Clock`]).
#![no_std]

extern crate alloc;

pub mod datetime;
pub mod deliver;
pub mod fault;
pub mod ns;
pub mod persist;
pub mod render;
pub mod subscribe;
pub mod table;

pub use deliver::{Delivery, DeliveryKind, Outcome};
pub use fault::{Detail, EventingFault, Kind};
pub use subscribe::{Bookmark, DeliveryMode, Subscribe};
pub use table::{Clock, Config, Event, Subscription, Table};
