//! The image's own request and protocol limits, before the board file's overrides. A file of its
//! own, with nothing but `wsbmc_wsman` in it, so that the host heap tests
//! (firmware/cim/tests/heap_common) measure against these very constants by including this file,
//! not against a copy that could drift from the image.

use wsbmc_wsman::Limits;

/// Largest request body accepted (413 beyond). Real clients' Get/Enumerate/Pull envelopes are
/// 1.5–4 KiB. The body is buffered on the heap per connection, and a connection waiting for its
/// turn holds one, so the heap budget counts one per connection (see `HEAP_SIZE`).
pub const MAX_BODY: usize = 4 * 1024;
/// Largest response envelope: a client's MaxEnvelopeSize is clamped to it, and enumerations page
/// by bytes to fit. DSP0226's minimum is 8192, so this is also the floor.
pub const MAX_ENVELOPE: usize = 8 * 1024;

/// The WS-Man limits the image starts from (main.rs `wsman_limits` applies the board's).
// The struct update is there for limits added after this list was written (see below).
#[allow(clippy::needless_update)]
pub fn base() -> Limits {
    Limits {
        max_envelope_size: MAX_ENVELOPE,
        default_envelope_size: MAX_ENVELOPE,
        min_envelope_size: MAX_ENVELOPE.min(8192),
        max_request_size: MAX_BODY,
        // The parser's tables are heap the request holds until its response is built. Real
        // clients send 40–80 nodes, 15–25 `=` (namespace declarations, mustUnderstand,
        // xml:lang, selector and option names) and up to ten namespace declarations; a node
        // costs 48 B and the table is reserved whole (vendor/roxmltree/PATCHED.md).
        // firmware/cim/tests/heap_hostile.rs measures every request shape at these limits.
        max_xml_nodes: 128,
        max_xml_attributes: 48,
        max_xml_namespaces: 16,
        max_xml_depth: 24,
        max_enum_contexts: 4,
        enum_context_idle_ms: 60_000,
        max_operation_timeout_ms: 60_000,
        max_batch_items: 64,
        // Each WQL nesting level costs ~232 B of stack on this core; 4 levels fit the stack
        // reserve with room to spare, and a deeper filter is refused with CannotProcessFilter.
        max_filter_depth: 4,
        // Real WQL filters are one or two conditions; a long one is tokenized and parsed while
        // a response is being built.
        max_filter_len: 256,
        // Contexts outlive requests: four plain ones take ~1.2 KiB, and a filter stored whole
        // must not be able to take the heap the next request needs.
        max_context_bytes: 1536,
        // A limit the protocol crate adds later starts at its default instead of breaking the
        // image's build.
        ..Limits::default()
    }
}
