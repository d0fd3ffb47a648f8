//! The faults of DSP0226 section 10 (reference/wsman.md §4.2, tables E and M).
//!
//! wsman's [`FaultKind`] catalogue has no eventing kinds yet, and this crate must not edit it
//! (the wiring session adds them). So the eventing kinds are catalogued here with wsman's own
//! [`FaultSpec`] type, and [`EventingFault::to_wsman`] hands back a wsman [`Fault`] for the
//! kinds wsman already renders (CannotProcessFilter, QuotaLimit, UnsupportedFeature, ...).

use alloc::string::String;
use wsbmc_wsman::{Fault, FaultKind, FaultSpec, SoapCode};

/// Which fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `wse:DeliveryModeRequestedUnavailable`: a mode this source does not offer.
    DeliveryModeRequestedUnavailable,
    /// `wse:InvalidExpirationTime`: zero, negative, past or malformed Expires.
    InvalidExpirationTime,
    /// `wse:UnsupportedExpirationType`: a date-time where the source has no wall clock.
    UnsupportedExpirationType,
    /// `wse:FilteringNotSupported`.
    FilteringNotSupported,
    /// `wse:FilteringRequestedUnavailable`: a filter dialect other than WQL.
    FilteringRequestedUnavailable,
    /// `wse:EventSourceUnableToProcess`: the request is understood but cannot be honoured.
    EventSourceUnableToProcess,
    /// `wse:UnableToRenew`: Renew of an unknown or ended subscription.
    UnableToRenew,
    /// `wse:InvalidMessage`: the Subscribe body is not one.
    InvalidMessage,
    /// `wsman:InvalidBookmark`.
    InvalidBookmark,
    /// `wsman:CannotProcessFilter`: a WQL text that does not parse or is too long.
    CannotProcessFilter,
    /// `wsman:UnsupportedFeature`.
    UnsupportedFeature,
    /// `wsman:QuotaLimit`: the subscription table is full.
    QuotaLimit,
    /// `wsman:EncodingLimit`: a field past this crate's bounds.
    EncodingLimit,
    /// `wsa:DestinationUnreachable`: GetStatus/Unsubscribe/Pull of an unknown subscription.
    DestinationUnreachable,
    /// `wsman:DeliveryRefused`: what a sink answers to refuse deliveries (parsed, not sent).
    DeliveryRefused,
}

/// `wsman:FaultDetail` values the eventing faults use; rendered `…/faultDetail/<Name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// InvalidBookmark: the record it names is no longer held.
    Expired,
    /// InvalidBookmark: not a bookmark this source wrote.
    Invalid,
    /// EventSourceUnableToProcess: NotifyTo or EndTo is not an http(s) URL.
    UnusableAddress,
    /// UnsupportedFeature: no delivery security profile this source can use.
    AuthorizationMode,
    /// UnsupportedFeature: an element of the Subscribe this source does not implement.
    Heartbeats,
    Bookmarks,
    MaxElements,
    MaxTime,
    MaxEnvelopeSize,
    MaxEnvelopePolicy,
    DeliveryRetries,
    FormatMismatch,
    Locale,
    /// UnsupportedFeature: a ContentEncoding other than UTF-8 / UTF-16.
    EncodingType,
    /// FilteringRequestedUnavailable: a push mode needs a filter on this resource.
    FilteringRequired,
    /// EncodingLimit: a field longer or more numerous than the source keeps.
    ServiceEnvelopeLimit,
    /// EncodingLimit: a MaxEnvelopeSize under DSP0226's floor of 8192.
    MinimumEnvelopeLimit,
}

impl Detail {
    pub const fn name(self) -> &'static str {
        match self {
            Detail::Expired => "Expired",
            Detail::Invalid => "Invalid",
            Detail::UnusableAddress => "UnusableAddress",
            Detail::AuthorizationMode => "AuthorizationMode",
            Detail::Heartbeats => "Heartbeats",
            Detail::Bookmarks => "Bookmarks",
            Detail::MaxElements => "MaxElements",
            Detail::MaxTime => "MaxTime",
            Detail::MaxEnvelopeSize => "MaxEnvelopeSize",
            Detail::MaxEnvelopePolicy => "MaxEnvelopePolicy",
            Detail::DeliveryRetries => "DeliveryRetries",
            Detail::FormatMismatch => "FormatMismatch",
            Detail::Locale => "Locale",
            Detail::EncodingType => "EncodingType",
            Detail::FilteringRequired => "FilteringRequired",
            Detail::ServiceEnvelopeLimit => "ServiceEnvelopeLimit",
            Detail::MinimumEnvelopeLimit => "MinimumEnvelopeLimit",
        }
    }
}

/// A fault decided by this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventingFault {
    pub kind: Kind,
    pub detail: Option<Detail>,
    /// Human text appended to the standard reason. Never carries a credential.
    pub message: Option<String>,
}

impl EventingFault {
    pub const fn new(kind: Kind) -> Self {
        Self {
            kind,
            detail: None,
            message: None,
        }
    }

    pub const fn with_detail(kind: Kind, detail: Detail) -> Self {
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

    /// How this fault goes on the wire: code, subcode, action, reason, Windows code.
    ///
    /// Windows codes are the `ERROR_WSMAN_*` values for the condition. Those of
    /// UnsupportedExpirationType, FilteringNotSupported, FilteringRequestedUnavailable and
    /// EventSourceUnableToProcess are inferred: Windows numbers the WS-Eventing faults
    /// consecutively in the submission's order (DeliveryModeRequestedUnavailable 0x8033801E,
    /// InvalidExpirationTime …1F, UnableToRenew …24, InvalidMessage …25 are documented), and
    /// these four fall between.
    pub const fn spec(&self) -> FaultSpec {
        use wsbmc_wsman::ns::action::FAULT_EVENTING as E;
        use wsbmc_wsman::ns::{WSE, WSMAN};
        const fn e(local: &'static str, reason: &'static str, code: u32) -> FaultSpec {
            FaultSpec {
                code: SoapCode::Sender,
                subcode: Some(("e", WSE, local)),
                action: E,
                reason,
                windows_code: code,
            }
        }
        match self.kind {
            Kind::DeliveryModeRequestedUnavailable => e(
                "DeliveryModeRequestedUnavailable",
                "The requested delivery mode is not supported.",
                2150858782,
            ),
            Kind::InvalidExpirationTime => e(
                "InvalidExpirationTime",
                "The expiration time is not valid.",
                2150858783,
            ),
            Kind::UnsupportedExpirationType => e(
                "UnsupportedExpirationType",
                "The specified expiration type is not supported.",
                2150858784,
            ),
            Kind::FilteringNotSupported => e(
                "FilteringNotSupported",
                "Filtering over the event source is not supported.",
                2150858785,
            ),
            Kind::FilteringRequestedUnavailable => e(
                "FilteringRequestedUnavailable",
                "The requested filter dialect is not supported.",
                2150858786,
            ),
            Kind::EventSourceUnableToProcess => e(
                "EventSourceUnableToProcess",
                "The event source cannot process the subscription.",
                2150858787,
            ),
            Kind::UnableToRenew => e(
                "UnableToRenew",
                "The subscription could not be renewed.",
                2150858788,
            ),
            Kind::InvalidMessage => e(
                "InvalidMessage",
                "The request message has unknown or invalid content.",
                2150858789,
            ),
            Kind::InvalidBookmark => FaultSpec {
                code: SoapCode::Sender,
                subcode: Some(("w", WSMAN, "InvalidBookmark")),
                action: wsbmc_wsman::ns::action::FAULT_WSMAN,
                reason: "The bookmark supplied with the subscription is not valid.",
                windows_code: 2150858808,
            },
            Kind::DeliveryRefused => FaultSpec {
                code: SoapCode::Receiver,
                subcode: Some(("w", WSMAN, "DeliveryRefused")),
                action: wsbmc_wsman::ns::action::FAULT_WSMAN,
                reason: "The receiver refuses to accept further deliveries.",
                windows_code: 2150858804,
            },
            Kind::CannotProcessFilter => FaultKind::CannotProcessFilter.spec(),
            Kind::UnsupportedFeature => FaultKind::UnsupportedFeature.spec(),
            Kind::QuotaLimit => FaultKind::QuotaLimit.spec(),
            Kind::EncodingLimit => FaultKind::EncodingLimit.spec(),
            Kind::DestinationUnreachable => FaultKind::DestinationUnreachable.spec(),
        }
    }

    /// The `wsman:FaultDetail` URI, if the fault has a detail.
    pub fn detail_uri(&self) -> Option<String> {
        self.detail.map(|d| {
            let mut s = String::from(wsbmc_wsman::ns::FAULT_DETAIL);
            s.push_str(d.name());
            s
        })
    }

    /// The same fault as a wsman [`Fault`], for the kinds wsman already renders and whose
    /// detail (if any) wsman knows; `None` for the eventing-only kinds, which the wiring session
    /// adds to wsman's catalogue from [`Self::spec`].
    pub fn to_wsman(&self) -> Option<Fault> {
        use wsbmc_wsman::FaultDetail as D;
        let kind = match self.kind {
            Kind::CannotProcessFilter => FaultKind::CannotProcessFilter,
            Kind::UnsupportedFeature => FaultKind::UnsupportedFeature,
            Kind::QuotaLimit => FaultKind::QuotaLimit,
            Kind::EncodingLimit => FaultKind::EncodingLimit,
            Kind::DestinationUnreachable => FaultKind::DestinationUnreachable,
            _ => return None,
        };
        let detail = match self.detail {
            None => None,
            Some(Detail::MaxEnvelopeSize) => Some(D::MaxEnvelopeSize),
            Some(Detail::Locale) => Some(D::Locale),
            Some(Detail::EncodingType) => Some(D::EncodingType),
            Some(Detail::ServiceEnvelopeLimit) => Some(D::ServiceEnvelopeLimit),
            Some(Detail::MinimumEnvelopeLimit) => Some(D::MinimumEnvelopeLimit),
            Some(Detail::FilteringRequired) => Some(D::FilteringRequired),
            Some(_) => return None,
        };
        Some(Fault {
            kind,
            detail,
            message: self.message.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventing_kinds_use_the_eventing_namespace_and_fault_action() {
        for kind in [
            Kind::DeliveryModeRequestedUnavailable,
            Kind::InvalidExpirationTime,
            Kind::UnsupportedExpirationType,
            Kind::FilteringNotSupported,
            Kind::FilteringRequestedUnavailable,
            Kind::EventSourceUnableToProcess,
            Kind::UnableToRenew,
            Kind::InvalidMessage,
        ] {
            let spec = EventingFault::new(kind).spec();
            let (prefix, ns, _) = spec.subcode.unwrap();
            assert_eq!((prefix, ns), ("e", wsbmc_wsman::ns::WSE));
            assert_eq!(
                spec.action,
                "http://schemas.xmlsoap.org/ws/2004/08/eventing/fault"
            );
            assert_eq!(spec.code, SoapCode::Sender);
            assert!(EventingFault::new(kind).to_wsman().is_none());
        }
    }

    #[test]
    fn wsman_kinds_map_onto_wsmans_catalogue() {
        let f = EventingFault::with_detail(Kind::QuotaLimit, Detail::ServiceEnvelopeLimit)
            .message("full");
        let w = f.to_wsman().unwrap();
        assert_eq!(w.kind, FaultKind::QuotaLimit);
        assert_eq!(w.message.as_deref(), Some("full"));
        assert_eq!(f.spec(), FaultKind::QuotaLimit.spec());
        // A detail wsman has no name for keeps the fault here.
        let f = EventingFault::with_detail(Kind::UnsupportedFeature, Detail::Heartbeats);
        assert!(f.to_wsman().is_none());
    }

    #[test]
    fn detail_uris() {
        let f = EventingFault::with_detail(Kind::InvalidBookmark, Detail::Expired);
        assert_eq!(
            f.detail_uri().as_deref(),
            Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/Expired")
        );
        assert_eq!(f.spec().windows_code, 2150858808);
        assert_eq!(EventingFault::new(Kind::UnableToRenew).detail_uri(), None);
    }
}
