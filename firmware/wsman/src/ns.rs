//! Namespace and action URIs (reference/wsman.md §2.2, §3.1). Output always uses the Windows
//! prefixes listed here, because some client parsers key on them.

/// A namespace URI as the prefix of its fault action URI (`<namespace>/fault`): a `&str` into
/// the same literal, so the image's flash holds the text once, not once per constant.
const fn without_fault(action: &'static str) -> &'static str {
    action.split_at(action.len() - "/fault".len()).0
}

pub const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1, recognised only to answer VersionMismatch.
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const WSA: &str = without_fault(action::FAULT_ADDRESSING);
pub const WXF: &str = without_fault(action::FAULT_TRANSFER);
pub const WSEN: &str = without_fault(action::FAULT_ENUMERATION);
pub const WSE: &str = without_fault(action::FAULT_EVENTING);
pub const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// WS-Trust, whose `wst:IssuedTokens` header carries openwsman's delivery credentials.
#[cfg(feature = "eventing")]
pub const WST: &str = "http://schemas.xmlsoap.org/ws/2005/02/trust";
pub const WSMID: &str = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd";
/// The misspelling pypsrp and OpenPegasus send; accepted on input only.
pub const WSMID_TYPO: &str = "http://schemas.dmtf.org/wbem/wsman/identify/1/wsmanidentity.xsd";
pub const WSMB: &str = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd";
pub const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/common";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const WSMV: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const WSMANFAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
pub const FAULT_DETAIL: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/";

/// Prefix of every DMTF CIM class resource URI; the class name follows.
pub const CIM_SCHEMA: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
/// The all-classes URI used with filters (DSP0227).
pub const CIM_ALL_CLASSES: &str = "http://schemas.dmtf.org/wbem/wscim/1/*";

pub mod action {
    pub const GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
    pub const GET_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
    pub const PUT: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put";
    pub const PUT_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/PutResponse";
    pub const CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
    pub const CREATE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse";
    pub const DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
    pub const DELETE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
    pub const ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
    pub const ENUMERATE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse";
    pub const PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
    pub const PULL_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse";
    pub const RELEASE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release";
    pub const RELEASE_RESPONSE: &str =
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/ReleaseResponse";
    pub const RENEW: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Renew";
    pub const GET_STATUS: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/GetStatus";

    /// Fault actions (reference/wsman.md §4.2: A, M, T, N, E).
    pub const FAULT_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault";
    pub const FAULT_WSMAN: &str = super::FAULT_DETAIL
        .split_at(super::FAULT_DETAIL.len() - 7)
        .0;
    pub const FAULT_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/fault";
    pub const FAULT_ENUMERATION: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/fault";
    pub const FAULT_EVENTING: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing/fault";
}

/// The `xml:` namespace (for `xml:lang` on Locale/DataLocale).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// W3C WS-Addressing 1.0 anonymous address; some toolkits send it in ReplyTo even with the 2004/08
/// headers, and it means the same thing.
pub const ANONYMOUS_W3C: &str = "http://www.w3.org/2005/08/addressing/anonymous";
/// `m:MachineID`, sent by Windows Event Forwarding clients.
pub const MACHINEID: &str = "http://schemas.microsoft.com/wbem/wsman/1/machineid";
/// `…/secprofile/` + `http/basic` etc.
pub const SECPROFILE: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/";

/// Enumeration filter dialects (reference/wsman.md §3.7); compared case-insensitively.
pub mod dialect {
    pub const SELECTOR: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter";
    pub const WQL: &str = "http://schemas.microsoft.com/wbem/wsman/1/WQL";
    pub const ASSOCIATION: &str =
        "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter";
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    /// The constants cut from longer literals still spell the namespaces.
    #[test]
    fn namespaces_cut_from_fault_actions_are_the_namespaces() {
        assert_eq!(WSA, "http://schemas.xmlsoap.org/ws/2004/08/addressing");
        assert_eq!(WXF, "http://schemas.xmlsoap.org/ws/2004/09/transfer");
        assert_eq!(WSEN, "http://schemas.xmlsoap.org/ws/2004/09/enumeration");
        assert_eq!(WSE, "http://schemas.xmlsoap.org/ws/2004/08/eventing");
        assert_eq!(
            action::FAULT_WSMAN,
            "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
        );
    }

    /// `envelope::parse` matches actions as namespace + verb, and the service renders a
    /// response's action as the request's + `Response`: both rest on these URIs being built so.
    #[test]
    fn actions_are_namespace_verb_and_responses_append_response() {
        use action::*;
        for (verb, request, response) in [
            ("Get", GET, Some(GET_RESPONSE)),
            ("Put", PUT, Some(PUT_RESPONSE)),
            ("Create", CREATE, Some(CREATE_RESPONSE)),
            ("Delete", DELETE, Some(DELETE_RESPONSE)),
        ] {
            assert_eq!(request, format!("{WXF}/{verb}"));
            assert_eq!(response, Some(format!("{request}Response").as_str()));
        }
        for (verb, request, response) in [
            ("Enumerate", ENUMERATE, Some(ENUMERATE_RESPONSE)),
            ("Pull", PULL, Some(PULL_RESPONSE)),
            ("Release", RELEASE, Some(RELEASE_RESPONSE)),
            ("Renew", RENEW, None),
            ("GetStatus", GET_STATUS, None),
        ] {
            assert_eq!(request, format!("{WSEN}/{verb}"));
            if let Some(r) = response {
                assert_eq!(r, format!("{request}Response"));
            }
        }
    }
}
