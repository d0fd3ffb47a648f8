//! Eventing URIs (reference/wsman.md §3.1, §3.11). Emitted exactly as written here: the DMTF
//! forms, never openwsman's misspelt `wbmem` ones (those are only accepted on input, see
//! [`crate::subscribe::DeliveryMode::from_uri`]).

pub use wsbmc_wsman::ns::{WSA, WSE, WSEN, WSMAN};

pub const SUBSCRIBE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe";
pub const SUBSCRIBE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscribeResponse";
pub const RENEW: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Renew";
pub const RENEW_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/RenewResponse";
pub const GET_STATUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/GetStatus";
pub const GET_STATUS_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/GetStatusResponse";
pub const UNSUBSCRIBE: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Unsubscribe";
pub const UNSUBSCRIBE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/UnsubscribeResponse";
pub const SUBSCRIPTION_END: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscriptionEnd";

/// SubscriptionEnd statuses.
pub const STATUS_DELIVERY_FAILURE: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/DeliveryFailure";
pub const STATUS_SOURCE_SHUTTING_DOWN: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/SourceShuttingDown";
pub const STATUS_SOURCE_CANCELLING: &str =
    "http://schemas.xmlsoap.org/ws/2004/08/eventing/SourceCancelling";

/// Delivery modes.
pub const MODE_PUSH: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/DeliveryModes/Push";
pub const MODE_PUSH_WITH_ACK: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck";
pub const MODE_EVENTS: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events";
pub const MODE_PULL: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull";

/// Delivery actions.
pub const EVENTS: &str = MODE_EVENTS;
pub const EVENT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Event";
pub const HEARTBEAT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat";
pub const DROPPED_EVENTS: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/DroppedEvents";
pub const ACK: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack";

/// The bookmark that asks for everything the source still holds.
pub const BOOKMARK_EARLIEST: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest";

/// Security profiles for delivery (`wsman:Auth Profile=`, DSP0226 annex C).
pub const PROFILE_HTTP_BASIC: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic";
pub const PROFILE_HTTP_DIGEST: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest";
pub const PROFILE_HTTPS_BASIC: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic";
pub const PROFILE_HTTPS_DIGEST: &str =
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/digest";

/// WS-Trust and WS-Security, for the delivery credentials openwsman sends in `wst:IssuedTokens`.
pub use wsbmc_wsman::ns::WST;
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Policy 2002/12, which Windows Event Collector wraps its NotifyTo authentication in.
pub const POLICY: &str = "http://schemas.xmlsoap.org/ws/2002/12/policy";
/// `auth:Authentication` in a Windows Event Collector policy.
pub const MS_AUTH: &str = "http://schemas.microsoft.com/wbem/wsman/1/authentication";
/// Filter dialect accepted (compared case-insensitively, as wsman does).
pub const DIALECT_WQL: &str = wsbmc_wsman::ns::dialect::WQL;
