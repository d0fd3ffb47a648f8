//! The WS-Management fault model (reference/wsman.md §4).
//!
//! A `Fault` is what a provider or the dispatcher decides; turning it into the SOAP envelope
//! (Action, Code, Subcode, Reason, FaultDetail, f:WSManFault) is `service`'s job, so the
//! catalogue of codes and texts lives in exactly one place: [`FaultKind::spec`]. The HTTP status
//! (500 for every fault) is the HTTP layer's, from the reply's `ReplyKind::Fault`.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

/// A client's text quoted in a fault message, so where it starts and ends is unambiguous.
///
/// With `verbose-faults` (the host) it is Rust's `Debug` quoting, which escapes quotes, control
/// characters and combining marks; without, it is the text between plain double quotes, since
/// that escaping carries ~2.5 KiB of Unicode tables and code a small image cannot spare (the
/// XML writer escapes the message either way).
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    #[cfg(feature = "verbose-faults")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }

    #[cfg(not(feature = "verbose-faults"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        f.write_str(self.0)?;
        f.write_str("\"")
    }
}

impl Quoted<'_> {
    /// The text `Display` writes, built without `core::fmt` on the images without
    /// `verbose-faults` (crate::text says why).
    pub fn to_text(&self) -> String {
        #[cfg(feature = "verbose-faults")]
        return alloc::format!("{:?}", self.0);
        #[cfg(not(feature = "verbose-faults"))]
        crate::text::cat(&["\"", self.0, "\""])
    }
}

/// Which standard fault (the SOAP subcode, or the SOAP code itself for the two SOAP faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    VersionMismatch,
    MustUnderstand,
    ActionNotSupported,
    DestinationUnreachable,
    EndpointUnavailable,
    InvalidMessageInformationHeader,
    MessageInformationHeaderRequired,
    AccessDenied,
    AlreadyExists,
    CannotProcessFilter,
    Concurrency,
    EncodingLimit,
    InternalError,
    InvalidOptions,
    InvalidParameter,
    InvalidSelectors,
    QuotaLimit,
    SchemaValidationError,
    TimedOut,
    UnsupportedFeature,
    InvalidRepresentation,
    EnumCannotProcessFilter,
    FilterDialectRequestedUnavailable,
    FilteringNotSupported,
    InvalidEnumerationContext,
    InvalidExpirationTime,
    UnsupportedExpirationType,
    /// `wse:DeliveryModeRequestedUnavailable`: a delivery mode this source does not offer.
    #[cfg(feature = "eventing")]
    DeliveryModeRequestedUnavailable,
    /// `wse:InvalidExpirationTime` (WS-Eventing's, not WS-Enumeration's): zero, negative, past
    /// or malformed Expires.
    #[cfg(feature = "eventing")]
    EventInvalidExpirationTime,
    /// `wse:UnsupportedExpirationType`: a date-time where the source has no wall clock.
    #[cfg(feature = "eventing")]
    EventUnsupportedExpirationType,
    /// `wse:FilteringNotSupported`.
    #[cfg(feature = "eventing")]
    EventFilteringNotSupported,
    /// `wse:FilteringRequestedUnavailable`: a filter dialect other than WQL.
    #[cfg(feature = "eventing")]
    FilteringRequestedUnavailable,
    /// `wse:EventSourceUnableToProcess`: understood, but it cannot be honoured.
    #[cfg(feature = "eventing")]
    EventSourceUnableToProcess,
    /// `wse:UnableToRenew`: Renew of an unknown or ended subscription.
    #[cfg(feature = "eventing")]
    UnableToRenew,
    /// `wse:InvalidMessage`: the Subscribe (or Renew) body is not one.
    #[cfg(feature = "eventing")]
    InvalidMessage,
    /// `wsman:InvalidBookmark`.
    #[cfg(feature = "eventing")]
    InvalidBookmark,
    /// `wsman:DeliveryRefused`: what a sink answers to refuse deliveries (parsed, not sent).
    #[cfg(feature = "eventing")]
    DeliveryRefused,
}

impl FaultKind {
    /// Every kind, in declaration order: for tests and conformance suites that must cover each
    /// one. Kept next to the enum so a new kind is added to both in one place.
    pub const ALL: [FaultKind; 27] = [
        FaultKind::VersionMismatch,
        FaultKind::MustUnderstand,
        FaultKind::ActionNotSupported,
        FaultKind::DestinationUnreachable,
        FaultKind::EndpointUnavailable,
        FaultKind::InvalidMessageInformationHeader,
        FaultKind::MessageInformationHeaderRequired,
        FaultKind::AccessDenied,
        FaultKind::AlreadyExists,
        FaultKind::CannotProcessFilter,
        FaultKind::Concurrency,
        FaultKind::EncodingLimit,
        FaultKind::InternalError,
        FaultKind::InvalidOptions,
        FaultKind::InvalidParameter,
        FaultKind::InvalidSelectors,
        FaultKind::QuotaLimit,
        FaultKind::SchemaValidationError,
        FaultKind::TimedOut,
        FaultKind::UnsupportedFeature,
        FaultKind::InvalidRepresentation,
        FaultKind::EnumCannotProcessFilter,
        FaultKind::FilterDialectRequestedUnavailable,
        FaultKind::FilteringNotSupported,
        FaultKind::InvalidEnumerationContext,
        FaultKind::InvalidExpirationTime,
        FaultKind::UnsupportedExpirationType,
    ];

    /// The WS-Eventing kinds (DSP0226 section 10), which only images that serve eventing
    /// carry: their texts are flash the bare-metal image cannot spare.
    #[cfg(feature = "eventing")]
    pub const EVENTING: [FaultKind; 10] = [
        FaultKind::DeliveryModeRequestedUnavailable,
        FaultKind::EventInvalidExpirationTime,
        FaultKind::EventUnsupportedExpirationType,
        FaultKind::EventFilteringNotSupported,
        FaultKind::FilteringRequestedUnavailable,
        FaultKind::EventSourceUnableToProcess,
        FaultKind::UnableToRenew,
        FaultKind::InvalidMessage,
        FaultKind::InvalidBookmark,
        FaultKind::DeliveryRefused,
    ];
}

/// The `wsman:FaultDetail` value; rendered as `…/wsman/faultDetail/<Name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultDetail {
    ActionMismatch,
    InvalidResourceURI,
    InsufficientSelectors,
    UnexpectedSelectors,
    TypeMismatch,
    InvalidValue,
    AmbiguousSelectors,
    DuplicateSelectors,
    MaxEnvelopeSize,
    MaxEnvelopeSizeExceeded,
    MinimumEnvelopeLimit,
    ServiceEnvelopeLimit,
    SelectorLimit,
    OptionLimit,
    CharacterSet,
    EncodingType,
    OperationTimeout,
    AddressingMode,
    EnumerationMode,
    FilteringRequired,
    Locale,
    DataLocale,
    FragmentLevelAccess,
    NotSupported,
    InvalidName,
    InvalidValues,
    MissingValues,
    InvalidNamespace,
    // WS-Eventing (DSP0226 section 10): InvalidBookmark's Expired and Invalid,
    // EventSourceUnableToProcess's UnusableAddress, and the Subscribe elements
    // UnsupportedFeature names.
    #[cfg(feature = "eventing")]
    Expired,
    #[cfg(feature = "eventing")]
    Invalid,
    #[cfg(feature = "eventing")]
    UnusableAddress,
    #[cfg(feature = "eventing")]
    AuthorizationMode,
    #[cfg(feature = "eventing")]
    Heartbeats,
    #[cfg(feature = "eventing")]
    Bookmarks,
    #[cfg(feature = "eventing")]
    MaxElements,
    #[cfg(feature = "eventing")]
    MaxTime,
    #[cfg(feature = "eventing")]
    MaxEnvelopePolicy,
    #[cfg(feature = "eventing")]
    DeliveryRetries,
    #[cfg(feature = "eventing")]
    FormatMismatch,
}

/// A fault decided somewhere below the envelope layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub detail: Option<FaultDetail>,
    /// Extra human text appended to the standard reason (e.g. which selector was wrong). A
    /// `Cow` so that a fixed text is stored as its literal: an owned copy cost every
    /// `.message("...")` call site its own allocate-and-copy code (~3 dozen sites).
    pub message: Option<Cow<'static, str>>,
}

impl Fault {
    pub const fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            detail: None,
            message: None,
        }
    }

    pub const fn with_detail(kind: FaultKind, detail: FaultDetail) -> Self {
        Self {
            kind,
            detail: Some(detail),
            message: None,
        }
    }

    pub fn message(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.message = Some(text.into());
        self
    }

    /// Unknown resource URI or class.
    pub fn unknown_resource() -> Self {
        Self::with_detail(
            FaultKind::DestinationUnreachable,
            FaultDetail::InvalidResourceURI,
        )
    }

    /// The action is not valid for this resource.
    pub fn action_mismatch() -> Self {
        Self::with_detail(FaultKind::ActionNotSupported, FaultDetail::ActionMismatch)
    }
}

/// SOAP 1.2 `s:Code/s:Value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapCode {
    Sender,
    Receiver,
    VersionMismatch,
    MustUnderstand,
}

impl SoapCode {
    /// The QName as written with the `s` prefix every envelope declares.
    pub const fn qname(self) -> &'static str {
        match self {
            SoapCode::Sender => "s:Sender",
            SoapCode::Receiver => "s:Receiver",
            SoapCode::VersionMismatch => "s:VersionMismatch",
            SoapCode::MustUnderstand => "s:MustUnderstand",
        }
    }
}

/// How one fault kind goes on the wire (reference/wsman.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    pub code: SoapCode,
    /// `(prefix, namespace, local name)` of `s:Subcode/s:Value`; `None` for the SOAP-level faults.
    pub subcode: Option<(&'static str, &'static str, &'static str)>,
    /// `wsa:Action` of the fault message.
    pub action: &'static str,
    /// Standard `s:Reason` text.
    pub reason: &'static str,
    /// `f:WSManFault/@Code`: the Windows error code clients map to their own messages.
    pub windows_code: u32,
}

impl FaultKind {
    /// The whole catalogue in one place, so code, subcode, action and text never drift apart.
    ///
    /// Windows codes are the `ERROR_WSMAN_*` values Windows itself sends for the same condition;
    /// where Windows uses a Win32 code instead (access denied, invalid parameter) that is used.
    /// Those of the WS-Eventing kinds UnsupportedExpirationType, FilteringNotSupported,
    /// FilteringRequestedUnavailable and EventSourceUnableToProcess are inferred: Windows numbers
    /// the WS-Eventing faults consecutively in the submission's order (DeliveryModeRequested-
    /// Unavailable 0x8033801E, InvalidExpirationTime …1F, UnableToRenew …24, InvalidMessage …25
    /// are documented), and these four fall between.
    pub const fn spec(self) -> FaultSpec {
        let r = &CATALOGUE[self as usize];
        FaultSpec {
            code: r.code,
            subcode: if r.local.is_empty() {
                None
            } else {
                Some((r.subcode.prefix(), r.subcode.uri(), r.local))
            },
            action: r.action.fault_action(),
            reason: r.reason,
            windows_code: r.windows_code,
        }
    }
}

/// The namespaces of the fault subcodes and actions, as one byte in [`CATALOGUE`] rather than
/// the prefix, URI and action text at every row.
#[derive(Clone, Copy)]
enum Ns {
    Addressing,
    Wsman,
    Transfer,
    Enumeration,
    #[cfg(feature = "eventing")]
    Eventing,
}

impl Ns {
    /// The prefix the fault writer declares for the subcode's namespace.
    const fn prefix(self) -> &'static str {
        match self {
            Ns::Addressing => "a",
            Ns::Wsman => "w",
            Ns::Transfer => "x",
            Ns::Enumeration => "n",
            #[cfg(feature = "eventing")]
            Ns::Eventing => "e",
        }
    }

    const fn uri(self) -> &'static str {
        use crate::ns::{WSA, WSEN, WSMAN, WXF};
        match self {
            Ns::Addressing => WSA,
            Ns::Wsman => WSMAN,
            Ns::Transfer => WXF,
            Ns::Enumeration => WSEN,
            #[cfg(feature = "eventing")]
            Ns::Eventing => crate::ns::WSE,
        }
    }

    /// `wsa:Action` of a fault of this specification.
    const fn fault_action(self) -> &'static str {
        use crate::ns::action::{FAULT_ADDRESSING, FAULT_ENUMERATION, FAULT_TRANSFER, FAULT_WSMAN};
        match self {
            Ns::Addressing => FAULT_ADDRESSING,
            Ns::Wsman => FAULT_WSMAN,
            Ns::Transfer => FAULT_TRANSFER,
            Ns::Enumeration => FAULT_ENUMERATION,
            #[cfg(feature = "eventing")]
            Ns::Eventing => crate::ns::action::FAULT_EVENTING,
        }
    }
}

/// One kind's row of [`FaultKind::spec`]: a table read by index rather than a `match` that
/// builds a [`FaultSpec`] per arm, which cost the bare-metal image's flash once per kind.
struct Row {
    reason: &'static str,
    /// The subcode's local name; empty for the SOAP-level faults, which have none.
    local: &'static str,
    windows_code: u32,
    code: SoapCode,
    subcode: Ns,
    action: Ns,
}

const fn row(
    code: SoapCode,
    subcode: Ns,
    local: &'static str,
    action: Ns,
    reason: &'static str,
    windows_code: u32,
) -> Row {
    Row {
        reason,
        local,
        windows_code,
        code,
        subcode,
        action,
    }
}

/// Every kind's row, in [`FaultKind`]'s declaration order (indexed by the discriminant; the
/// length is checked against the kinds below and every row by the tests).
#[rustfmt::skip]
const CATALOGUE: [Row; KINDS] = [
        // VersionMismatch
        row(SoapCode::VersionMismatch, Ns::Addressing, "", Ns::Addressing, "The SOAP envelope version is not supported; use SOAP 1.2.", 2150858765),
        // MustUnderstand
        row(SoapCode::MustUnderstand, Ns::Addressing, "", Ns::Addressing, "The WS-Management service cannot process a SOAP header in the request that is marked as mustUnderstand.", 2150858768),
        // ActionNotSupported
        row(SoapCode::Sender, Ns::Addressing, "ActionNotSupported", Ns::Addressing, "The action is not supported by the service.", 2150858771),
        // DestinationUnreachable
        row(SoapCode::Sender, Ns::Addressing, "DestinationUnreachable", Ns::Addressing, "No route can be determined to reach the destination role defined by the WS-Addressing To header or the resource URI.", 2150858770),
        // EndpointUnavailable
        row(SoapCode::Receiver, Ns::Addressing, "EndpointUnavailable", Ns::Addressing, "The specified endpoint is currently unavailable.", 2150858772),
        // InvalidMessageInformationHeader
        row(SoapCode::Sender, Ns::Addressing, "InvalidMessageInformationHeader", Ns::Addressing, "A message information header is not valid and the message cannot be processed.", 2150858767),
        // MessageInformationHeaderRequired
        row(SoapCode::Sender, Ns::Addressing, "MessageInformationHeaderRequired", Ns::Addressing, "A required message information header is missing.", 2150858767),
        // AccessDenied
        row(SoapCode::Sender, Ns::Wsman, "AccessDenied", Ns::Wsman, "The sender was not authorized to access the resource.", 5),
        // AlreadyExists
        row(SoapCode::Sender, Ns::Wsman, "AlreadyExists", Ns::Wsman, "The sender attempted to create a resource which already exists.", 183),
        // CannotProcessFilter
        row(SoapCode::Sender, Ns::Wsman, "CannotProcessFilter", Ns::Wsman, "The requested filter could not be processed.", 2150859042),
        // Concurrency
        row(SoapCode::Sender, Ns::Wsman, "Concurrency", Ns::Wsman, "The action could not be completed due to concurrency or locking problems.", 2150858802),
        // EncodingLimit
        row(SoapCode::Sender, Ns::Wsman, "EncodingLimit", Ns::Wsman, "An internal encoding limit was exceeded in a request or would be violated if the message were processed.", 2150858805),
        // InternalError
        row(SoapCode::Receiver, Ns::Wsman, "InternalError", Ns::Wsman, "The service cannot comply with the request due to internal processing errors.", 1359),
        // InvalidOptions
        row(SoapCode::Sender, Ns::Wsman, "InvalidOptions", Ns::Wsman, "One or more options are not valid.", 2150858809),
        // InvalidParameter
        row(SoapCode::Sender, Ns::Wsman, "InvalidParameter", Ns::Wsman, "An operation parameter is not valid.", 87),
        // InvalidSelectors
        row(SoapCode::Sender, Ns::Wsman, "InvalidSelectors", Ns::Wsman, "The WS-Management service cannot process the request because the request contained invalid selectors for the resource.", 2150858843),
        // QuotaLimit
        row(SoapCode::Sender, Ns::Wsman, "QuotaLimit", Ns::Wsman, "The service is busy servicing other requests.", 2150858815),
        // SchemaValidationError
        row(SoapCode::Sender, Ns::Wsman, "SchemaValidationError", Ns::Wsman, "The supplied SOAP message violates the corresponding XML schema definition.", 2150858817),
        // TimedOut
        row(SoapCode::Receiver, Ns::Wsman, "TimedOut", Ns::Wsman, "The operation has timed out.", 2150858793),
        // UnsupportedFeature
        row(SoapCode::Sender, Ns::Wsman, "UnsupportedFeature", Ns::Wsman, "The specified feature is not supported.", 2150858818),
        // InvalidRepresentation
        row(SoapCode::Sender, Ns::Transfer, "InvalidRepresentation", Ns::Transfer, "The XML content is not valid.", 2150858791),
        // EnumCannotProcessFilter
        row(SoapCode::Sender, Ns::Enumeration, "CannotProcessFilter", Ns::Enumeration, "The requested filter could not be processed.", 2150858778),
        // FilterDialectRequestedUnavailable
        row(SoapCode::Sender, Ns::Enumeration, "FilterDialectRequestedUnavailable", Ns::Enumeration, "The requested filtering dialect is not supported.", 2150858777),
        // FilteringNotSupported
        row(SoapCode::Sender, Ns::Enumeration, "FilteringNotSupported", Ns::Enumeration, "Filtered enumeration is not supported.", 2150858776),
        // InvalidEnumerationContext
        row(SoapCode::Receiver, Ns::Enumeration, "InvalidEnumerationContext", Ns::Enumeration, "The supplied enumeration context is not valid.", 2150858779),
        // InvalidExpirationTime
        row(SoapCode::Sender, Ns::Enumeration, "InvalidExpirationTime", Ns::Enumeration, "The expiration time is not valid.", 2150858774),
        // UnsupportedExpirationType
        row(SoapCode::Sender, Ns::Enumeration, "UnsupportedExpirationType", Ns::Enumeration, "The specified expiration type is not supported.", 2150858775),
        #[cfg(feature = "eventing")]
        // DeliveryModeRequestedUnavailable
        row(SoapCode::Sender, Ns::Eventing, "DeliveryModeRequestedUnavailable", Ns::Eventing, "The requested delivery mode is not supported.", 2150858782),
        #[cfg(feature = "eventing")]
        // EventInvalidExpirationTime
        row(SoapCode::Sender, Ns::Eventing, "InvalidExpirationTime", Ns::Eventing, "The expiration time is not valid.", 2150858783),
        #[cfg(feature = "eventing")]
        // EventUnsupportedExpirationType
        row(SoapCode::Sender, Ns::Eventing, "UnsupportedExpirationType", Ns::Eventing, "The specified expiration type is not supported.", 2150858784),
        #[cfg(feature = "eventing")]
        // EventFilteringNotSupported
        row(SoapCode::Sender, Ns::Eventing, "FilteringNotSupported", Ns::Eventing, "Filtering over the event source is not supported.", 2150858785),
        #[cfg(feature = "eventing")]
        // FilteringRequestedUnavailable
        row(SoapCode::Sender, Ns::Eventing, "FilteringRequestedUnavailable", Ns::Eventing, "The requested filter dialect is not supported.", 2150858786),
        #[cfg(feature = "eventing")]
        // EventSourceUnableToProcess
        row(SoapCode::Sender, Ns::Eventing, "EventSourceUnableToProcess", Ns::Eventing, "The event source cannot process the subscription.", 2150858787),
        #[cfg(feature = "eventing")]
        // UnableToRenew
        row(SoapCode::Sender, Ns::Eventing, "UnableToRenew", Ns::Eventing, "The subscription could not be renewed.", 2150858788),
        #[cfg(feature = "eventing")]
        // InvalidMessage
        row(SoapCode::Sender, Ns::Eventing, "InvalidMessage", Ns::Eventing, "The request message has unknown or invalid content.", 2150858789),
        #[cfg(feature = "eventing")]
        // InvalidBookmark
        row(SoapCode::Sender, Ns::Wsman, "InvalidBookmark", Ns::Wsman, "The bookmark supplied with the subscription is not valid.", 2150858808),
        #[cfg(feature = "eventing")]
        // DeliveryRefused
        row(SoapCode::Receiver, Ns::Wsman, "DeliveryRefused", Ns::Wsman, "The receiver refuses to accept further deliveries.", 2150858804),
];

/// How many kinds there are.
#[cfg(not(feature = "eventing"))]
const KINDS: usize = FaultKind::ALL.len();
#[cfg(feature = "eventing")]
const KINDS: usize = FaultKind::ALL.len() + FaultKind::EVENTING.len();

/// Every [`FaultDetail`]'s name in declaration order, space-separated: one string read by the
/// discriminant rather than a `match` of one literal per variant, whose table of (pointer,
/// length) pairs was 8 bytes a name of the bare-metal image's flash. A test checks each name
/// against its variant's. (A macro so that `concat!` can append the WS-Eventing ones.)
macro_rules! common_detail_names {
    () => {
        concat!(
            "ActionMismatch InvalidResourceURI InsufficientSelectors UnexpectedSelectors ",
            "TypeMismatch InvalidValue AmbiguousSelectors DuplicateSelectors MaxEnvelopeSize ",
            "MaxEnvelopeSizeExceeded MinimumEnvelopeLimit ServiceEnvelopeLimit SelectorLimit ",
            "OptionLimit CharacterSet EncodingType OperationTimeout AddressingMode ",
            "EnumerationMode FilteringRequired Locale DataLocale FragmentLevelAccess ",
            "NotSupported InvalidName InvalidValues MissingValues InvalidNamespace",
        )
    };
}
#[cfg(not(feature = "eventing"))]
const DETAIL_NAMES: &str = common_detail_names!();
#[cfg(feature = "eventing")]
const DETAIL_NAMES: &str = concat!(
    common_detail_names!(),
    " Expired Invalid UnusableAddress AuthorizationMode Heartbeats Bookmarks MaxElements",
    " MaxTime MaxEnvelopePolicy DeliveryRetries FormatMismatch",
);

impl FaultDetail {
    /// The local part of the `…/faultDetail/<Name>` URI: the variant's own name.
    pub fn name(self) -> &'static str {
        // By byte, not `split(' ').nth(..)`: core's char-pattern `Split` for one lookup.
        let mut rest = DETAIL_NAMES;
        for _ in 0..self as usize {
            match crate::text::cut(rest, b' ') {
                Some((_, after)) => rest = after,
                None => return "",
            }
        }
        crate::text::cut(rest, b' ').map_or(rest, |(name, _)| name)
    }

    /// Windows has dedicated codes for a few details; they tell a Windows client more than the
    /// kind's generic code.
    pub const fn windows_code(self) -> Option<u32> {
        match self {
            FaultDetail::MaxEnvelopeSize => Some(2150858823),
            FaultDetail::MaxEnvelopeSizeExceeded => Some(2150858824),
            FaultDetail::ServiceEnvelopeLimit => Some(2150858825),
            FaultDetail::SelectorLimit => Some(2150858826),
            FaultDetail::EnumerationMode => Some(2150858886),
            FaultDetail::FilteringRequired => Some(2150858864),
            FaultDetail::CharacterSet => Some(2150858796),
            _ => None,
        }
    }
}

impl Fault {
    /// The `f:WSManFault/@Code` for this fault.
    pub const fn windows_code(&self) -> u32 {
        match self.detail {
            Some(d) => match d.windows_code() {
                Some(c) => c,
                None => self.kind.spec().windows_code,
            },
            None => self.kind.spec().windows_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    /// The catalogue is read by discriminant: a row out of order would give a kind another's
    /// reason and code. Each kind's subcode (or, for the SOAP-level two, its code) is named
    /// like the kind, so a shifted row shows here.
    #[test]
    fn catalogue_rows_are_in_kind_order() {
        let all = FaultKind::ALL.iter().copied();
        #[cfg(feature = "eventing")]
        let all = all.chain(FaultKind::EVENTING);
        let all: alloc::vec::Vec<FaultKind> = all.collect();
        assert_eq!(all.len(), CATALOGUE.len());
        for (i, k) in all.into_iter().enumerate() {
            assert_eq!(k as usize, i, "{k:?}");
            let name = format!("{k:?}");
            let spec = k.spec();
            match spec.subcode {
                Some((_, _, local)) => assert!(name.ends_with(local), "{name} has {local}"),
                None => assert_eq!(spec.code.qname().strip_prefix("s:"), Some(name.as_str())),
            }
        }
    }

    /// [`DETAIL_NAMES`] is read by discriminant: each detail's name is its variant's.
    #[test]
    fn detail_names_are_the_variants() {
        use FaultDetail::*;
        let all = alloc::vec![
            ActionMismatch,
            InvalidResourceURI,
            InsufficientSelectors,
            UnexpectedSelectors,
            TypeMismatch,
            InvalidValue,
            AmbiguousSelectors,
            DuplicateSelectors,
            MaxEnvelopeSize,
            MaxEnvelopeSizeExceeded,
            MinimumEnvelopeLimit,
            ServiceEnvelopeLimit,
            SelectorLimit,
            OptionLimit,
            CharacterSet,
            EncodingType,
            OperationTimeout,
            AddressingMode,
            EnumerationMode,
            FilteringRequired,
            Locale,
            DataLocale,
            FragmentLevelAccess,
            NotSupported,
            InvalidName,
            InvalidValues,
            MissingValues,
            InvalidNamespace
        ];
        #[cfg(feature = "eventing")]
        let all = [
            all,
            alloc::vec![
                Expired,
                Invalid,
                UnusableAddress,
                AuthorizationMode,
                Heartbeats,
                Bookmarks,
                MaxElements,
                MaxTime,
                MaxEnvelopePolicy,
                DeliveryRetries,
                FormatMismatch
            ],
        ]
        .concat();
        let n = all.len();
        for (i, d) in all.into_iter().enumerate() {
            assert_eq!(d as usize, i, "{d:?}");
            assert_eq!(d.name(), format!("{d:?}"));
        }
        assert_eq!(DETAIL_NAMES.split(' ').count(), n);
    }

    /// The host quotes as Rust's `Debug` does (the text its fault messages have always had); the
    /// image only wraps the text in quotes.
    #[test]
    fn quoted_follows_the_verbosity_feature() {
        let q = format!("{}", Quoted("a\"b\n"));
        assert_eq!(Quoted("a\"b\n").to_text(), q);
        if cfg!(feature = "verbose-faults") {
            assert_eq!(q, r#""a\"b\n""#);
        } else {
            assert_eq!(q, "\"a\"b\n\"");
        }
    }
}
