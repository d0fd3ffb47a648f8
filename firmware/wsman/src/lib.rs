//! WS-Management (DMTF DSP0226) over SOAP 1.2, as the managed side sees it.
//!
//! The crate turns request bytes into a typed request, dispatches it to a [`provider::Provider`],
//! and writes the response or fault envelope. It keeps enumeration contexts and pages responses
//! by the client's MaxEnvelopeSize. It is `no_std` + `alloc` so the same code runs on the
//! bare-metal image; every allocation it makes is bounded by a limit in [`service::Limits`].
#![no_std]

extern crate alloc;

pub mod fault;
pub mod ns;
pub mod provider;
pub mod service;
pub mod xml;

pub use fault::{Fault, FaultDetail, FaultKind};
pub use provider::{
    Cursor, EnumSpec, Epr, Filter, Identity, Provider, Selector, SelectorValue, Target,
};
pub use service::{Limits, Reply, RequestMeta, Service};
pub use xml::XmlWriter;
