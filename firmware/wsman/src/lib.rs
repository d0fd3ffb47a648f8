//! WS-Management (DMTF DSP0226) over SOAP 1.2, as the managed side sees it.
//!
//! The crate turns request bytes into a typed request, dispatches it to a [`provider::Provider`],
//! and writes the response or fault envelope. It keeps enumeration contexts and pages responses
//! by the client's MaxEnvelopeSize. It is `no_std` + `alloc` so the same code runs on the
//! bare-metal image; every allocation it makes is bounded by a limit in [`service::Limits`].
//!
//! Pipeline (wire format and meaning kept apart): [`envelope`] turns bytes into a typed
//! [`envelope::Request`] (all header rules and limits applied), [`service::Service`] decides,
//! [`respond`] renders the typed response or fault; the fault catalogue is [`FaultKind::spec`].
//!
//! What a [`Provider`] can rely on, and must do:
//! - Everything it writes lands inside an envelope that declares the prefixes `a` (addressing),
//!   `w` (wsman), `xsi` and `cim`; it declares its own class prefix (e.g. `xmlns:p=<class URI>`).
//! - [`write_epr`] renders EPR content (Address + ReferenceParameters) for reference-typed
//!   properties; the service uses it for EPR/ObjectAndEPR items. Emitted EPRs should carry the
//!   `__cimnamespace` selector.
//! - `Target::namespace` is the request's `__cimnamespace`; it is never among `selectors`.
//!   Selector names are unique (case-insensitively); matching them is the provider's job
//!   (InsufficientSelectors / UnexpectedSelectors / InvalidValue for "not found").
//! - `put` gets the first element of the SOAP Body (the new instance) and must write the
//!   resulting instance (winrm needs a non-empty PutResponse).
//! - `invoke` gets the method name from the Action (`<ResourceURI>/<Method>`) and the
//!   `<Method>_INPUT` element (matched case-insensitively, any namespace); it writes
//!   `<p:Method_OUTPUT>` with `ReturnValue`. An unknown method → `Fault::action_mismatch()`.
//! - `next_item` must be free of side effects: an item that does not fit the envelope is
//!   dropped and asked for again with the old cursor on the next Pull.
//! - The all-classes URI, WQL text and association filters are passed through untouched; a
//!   provider that does not support one answers CannotProcessFilter / FilteringNotSupported.
#![no_std]

extern crate alloc;

mod casefold;
pub mod duration;
pub mod enumeration;
pub mod envelope;
#[cfg(feature = "eventing")]
pub mod events;
pub mod fault;
pub mod ns;
pub mod provider;
pub mod respond;
pub mod rng;
pub mod service;
#[cfg(feature = "stream")]
pub mod stream;
pub mod text;
pub mod wql;
pub mod xml;

#[cfg(feature = "eventing")]
pub use events::{EventOp, EventPull, EventRequest, EventSource};
pub use fault::{Fault, FaultDetail, FaultKind, FaultSpec, Quoted, SoapCode};
pub use provider::{
    Cursor, EnumSpec, Epr, Filter, Identity, Property, PropertyValue, Provider, Representation,
    Selector, SelectorValue, Target,
};
pub use respond::write_epr;
/// The roles [`Service::handle_as`] authorizes with.
pub use service::Role;
pub use service::{Limits, Reply, ReplyKind, RequestMeta, Service};
#[cfg(feature = "stream")]
pub use stream::{Broken, ReplyStream};
pub use xml::XmlWriter;
