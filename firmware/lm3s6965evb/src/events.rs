//! WS-Eventing on this image (issue 16, feature `eventing`): Pull delivery only, with small
//! fixed bounds.
//!
//! The agent does the work (wsbmc-agent's `eventing`: Subscribe, Renew, GetStatus, Unsubscribe,
//! Pull, expiry, the quota fault, the per-subscription queue that drops its oldest and reports
//! DroppedEvents); every SEL record the log task stores raises its CIM_InstCreation, and a
//! threshold crossing's (assert or deassert) its CIM_AlertIndication too. This module only
//! sets the bounds. Push needs an HTTP client over embassy-net and is not linked; a Subscribe
//! in another mode is answered `wse:DeliveryModeRequestedUnavailable`. Subscriptions are not
//! kept across a restart: the store is RAM, erased at every start.

use wsbmc_agent::Agent;

/// Live subscriptions at most; the next Subscribe is answered with the quota fault. Two: one
/// console and one spare (a console that lost its subscription's identifier resubscribes
/// before the old one expires).
pub const MAX_SUBSCRIPTIONS: usize = 2;

/// Undelivered events per subscription. A threshold crossing raises two (its SEL record's
/// CIM_InstCreation and its CIM_AlertIndication, ~1.5 KiB each rendered), so two hold one
/// crossing between Pulls; a third event drops the oldest and the next Pull reports it with
/// DroppedEvents. The subscriptions share each rendering: both queues full took 3,578 B more
/// heap on QEMU (5,557 B → 9,135 B in use, a crossing and its deassertion unpulled; 6,362 B
/// when each queue held its own copy). That is more than `mem::HEAP_SIZE`'s arithmetic leaves
/// spare (~2.3 KiB beside two request bodies and the largest request): a request that then
/// finds less than `HANDLE_RESERVE` free is answered 503, but the log task renders indications
/// infallibly, between requests but beside the bodies still arriving and a response still
/// being sent, so with both queues full the arithmetic no longer proves it fits by ~1.3 KiB.
/// One reason the feature is off by default.
pub const MAX_QUEUE: usize = 2;

/// Applies the bounds; before the HTTP tasks start.
pub fn init(agent: &Agent) {
    agent.set_event_bounds(MAX_SUBSCRIPTIONS, MAX_QUEUE);
}
