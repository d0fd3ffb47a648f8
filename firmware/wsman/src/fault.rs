//! The WS-Management fault model (reference/wsman.md §4).
//!
//! A `Fault` is what a provider or the dispatcher decides; turning it into the SOAP envelope
//! (Action, Code, Subcode, Reason, FaultDetail, f:WSManFault, HTTP 500) is `service`'s job, so the
//! catalogue of codes and texts lives in exactly one place: [`FaultKind::spec`].

use alloc::string::String;

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
}

/// A fault decided somewhere below the envelope layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub detail: Option<FaultDetail>,
    /// Extra human text appended to the standard reason (e.g. which selector was wrong).
    pub message: Option<String>,
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

    pub fn message(mut self, text: impl Into<String>) -> Self {
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
