//! WS-Eventing on this image (issue 16, feature `eventing`): Pull delivery only, with bounds
//! this heap can hold.
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
/// CIM_InstCreation, ~1.3 KiB rendered, and its CIM_AlertIndication, ~1 KiB), so two hold one
/// crossing between Pulls; a third event drops the oldest and the next Pull reports it with
/// DroppedEvents. Each subscription holds its own copy, so at the bounds 2 × 2 events, ~4.6 KiB
/// of heap. The heap arithmetic (`mem::HEAP_SIZE`) leaves about that while the log task
/// renders an event: the long-lived state, two request bodies and one response being sent
/// take ~24.5 KiB of 32, the rendering ~2.5 KiB. A request is handled only with
/// `HANDLE_RESERVE` free (else 503), so full queues cost requests, never a reset.
pub const MAX_QUEUE: usize = 2;

/// Applies the bounds; before the HTTP tasks start.
pub fn init(agent: &Agent) {
    agent.set_event_bounds(MAX_SUBSCRIPTIONS, MAX_QUEUE);
}
