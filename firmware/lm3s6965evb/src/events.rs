//! WS-Eventing on this image (issue 16, feature `eventing`): Pull delivery only, with small
//! fixed bounds.
//!
//! The agent does the work (wsbmc-agent's `eventing`: Subscribe, Renew, GetStatus, Unsubscribe,
//! Pull, expiry, the quota fault, the per-subscription queue that drops its oldest and reports
//! DroppedEvents); every SEL record the log task stores raises its CIM_InstCreation, and a
//! threshold crossing's (assert or deassert) its CIM_AlertIndication too. This module sets the
//! bounds and the render gate. Queued events are kept as their SEL record and rendered into the
//! Pull that takes them (wsbmc-agent's `eventing-deferred`), so the log task renders nothing
//! and a full queue holds tens of bytes, not kilobytes. Push and PushWithAck are delivered by
//! src/push.rs with the `push` feature (a deferred event rendered as its message is made);
//! without it, or in Events mode, a Subscribe is answered
//! `wse:DeliveryModeRequestedUnavailable`. Subscriptions are not kept across a restart: the
//! store is RAM, erased at every start.

use wsbmc_agent::Agent;

/// Live subscriptions at most; the next Subscribe is answered with the quota fault. Two: one
/// console and one spare (a console that lost its subscription's identifier resubscribes
/// before the old one expires).
pub const MAX_SUBSCRIPTIONS: usize = 2;

/// Undelivered events per subscription. A threshold crossing raises two (its SEL record's
/// CIM_InstCreation and its CIM_AlertIndication), so two hold one crossing between Pulls; a
/// third event drops the oldest and the next Pull reports it with DroppedEvents. Each queued
/// event is its 16-byte record, its part and a borrowed action (wsbmc-eventing's
/// `Event::deferred`, ~40 B with the queue slot): when they were kept rendered (~1.5 KiB each),
/// both queues full took 3,578 B more heap on QEMU, more than `mem::HEAP_SIZE`'s arithmetic
/// leaves spare, and the log task rendered them with no free-heap check.
pub const MAX_QUEUE: usize = 2;

/// Free heap a Pull needs per deferred event it renders: the markup (at most
/// `wsbmc_eventing::table::DEFERRED_LEN`, 2 KiB) goes into the response, plus about 1 KiB the
/// renderer holds while it builds the instance. Arithmetic, not a measurement: an upper bound.
pub(crate) const RENDER_PER_EVENT: usize = 3 * 1024;

/// The render gate: a Pull renders its events only with room for them beside what the request
/// already holds, else it is answered `wsa:EndpointUnavailable` (as a request without
/// `HANDLE_RESERVE` free is answered 503) and the events stay queued for the next Pull.
fn room_to_render(events: usize) -> bool {
    crate::mem::heap_free() >= events.saturating_mul(RENDER_PER_EVENT)
}

/// Applies the bounds and the render gate; before the HTTP tasks start.
pub fn init(agent: &Agent) {
    agent.set_event_bounds(MAX_SUBSCRIPTIONS, MAX_QUEUE);
    agent.set_render_gate(room_to_render);
}
