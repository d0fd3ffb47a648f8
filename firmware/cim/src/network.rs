//! IP Interface (DMTF DSP1036) of the BMC's management network: one CIM_IPProtocolEndpoint per
//! address the BMC is reached at, hosted by the BMC's own system (CIM_HostedAccessPoint), each
//! with the settings that gave it its address (CIM_IPAssignmentSettingData, or its subclass
//! CIM_StaticIPAssignmentSettingData for a static IPv4 address, which carries the gateway),
//! tied by CIM_ElementSettingData.
//!
//! The addresses come from the platform ([`crate::Platform::ip_endpoint`]): the Linux interfaces
//! on the embedded-Linux image, embassy-net's configuration on bare metal, the listening address
//! on the host agent. The model only places them.

use alloc::borrow::Cow;
use alloc::string::String;
use wsbmc_wsman::text::{Dec, cat};

use crate::model::SystemInfo;
use crate::schema::{
    CIM_COMPUTER_SYSTEM, CIM_ENABLED_LOGICAL_ELEMENT, CIM_HOSTED_DEPENDENCY, CIM_MANAGED_ELEMENT,
    CimType, ClassDef, DEPENDENCY_KEYS, INSTANCE_ID, abstract_class, class, k, p, r,
};
use crate::value::{Instance, Value};

const SAP_KEYS: &[&str] = &[
    "CreationClassName",
    "Name",
    "SystemCreationClassName",
    "SystemName",
];

pub static CIM_SERVICE_ACCESS_POINT: ClassDef = abstract_class(
    "CIM_ServiceAccessPoint",
    Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    SAP_KEYS,
    &[
        k("CreationClassName"),
        k("Name"),
        k("SystemCreationClassName"),
        k("SystemName"),
    ],
);

pub static CIM_PROTOCOL_ENDPOINT: ClassDef = abstract_class(
    "CIM_ProtocolEndpoint",
    Some(&CIM_SERVICE_ACCESS_POINT),
    SAP_KEYS,
    &[
        p("NameFormat", CimType::String),
        p("ProtocolIFType", CimType::Uint16),
    ],
);

/// One IP address of the BMC (DSP1036 §7.2).
pub static CIM_IP_PROTOCOL_ENDPOINT: ClassDef = class(
    "CIM_IPProtocolEndpoint",
    &CIM_PROTOCOL_ENDPOINT,
    SAP_KEYS,
    &[
        p("AddressOrigin", CimType::Uint16),
        p("IPv4Address", CimType::String),
        p("IPv6Address", CimType::String),
        p("IPv6SubnetPrefixLength", CimType::Uint8),
        p("SubnetMask", CimType::String),
    ],
);

pub static CIM_SETTING_DATA: ClassDef = abstract_class(
    "CIM_SettingData",
    Some(&CIM_MANAGED_ELEMENT),
    INSTANCE_ID,
    &[k("InstanceID")],
);

/// How an endpoint got its address (DSP1036 §7.6).
pub static CIM_IP_ASSIGNMENT_SETTING_DATA: ClassDef = class(
    "CIM_IPAssignmentSettingData",
    &CIM_SETTING_DATA,
    INSTANCE_ID,
    &[
        p("AddressOrigin", CimType::Uint16),
        p("ProtocolIFType", CimType::Uint16),
    ],
);

/// A statically configured IPv4 address, with its mask and default gateway (DSP1036 §7.7).
pub static CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA: ClassDef = class(
    "CIM_StaticIPAssignmentSettingData",
    &CIM_IP_ASSIGNMENT_SETTING_DATA,
    INSTANCE_ID,
    &[
        p("GatewayIPv4Address", CimType::String),
        p("IPv4Address", CimType::String),
        p("SubnetMask", CimType::String),
    ],
);

/// The BMC → each of its endpoints.
pub static CIM_HOSTED_ACCESS_POINT: ClassDef = class(
    "CIM_HostedAccessPoint",
    &CIM_HOSTED_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[],
);

/// An endpoint → the settings that gave it its address.
pub static CIM_ELEMENT_SETTING_DATA: ClassDef = ClassDef {
    name: "CIM_ElementSettingData",
    parent: None,
    is_abstract: false,
    keys: &["ManagedElement", "SettingData"],
    props: &[
        p("IsCurrent", CimType::Uint16),
        r("ManagedElement"),
        r("SettingData"),
    ],
};

/// Where an address came from (CIM AddressOrigin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressOrigin {
    /// Configured (the board, the image's init, `--listen`): 3 Static.
    Static,
    /// Leased from a DHCP server: 4 DHCP.
    Dhcp,
    /// IPv6 stateless autoconfiguration: 9 Stateless.
    Stateless,
    /// A link-local address: 10 Link Local (IPv6) / 6 IPv4 Link Local.
    LinkLocal,
    /// The platform cannot tell: 0 Unknown.
    Unknown,
}

/// One address of the BMC's management network, as the platform reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpEndpointView {
    /// The interface's name ("eth0"); with the address family and a per-interface index it is
    /// the endpoint's Name, stable while the interface keeps its addresses.
    pub interface: String,
    /// The address's position among the interface's addresses of this family (0 first).
    pub index: u8,
    pub address: core::net::IpAddr,
    pub prefix_len: u8,
    /// The default gateway on this interface, when there is one (IPv4 only is shown).
    pub gateway: Option<core::net::IpAddr>,
    pub origin: AddressOrigin,
}

impl IpEndpointView {
    fn v4(&self) -> bool {
        self.address.is_ipv4()
    }

    /// The endpoint's Name key: `eth0:IPv4:0`.
    pub fn name(&self) -> String {
        let family = if self.v4() { "IPv4" } else { "IPv6" };
        cat(&[
            &self.interface,
            ":",
            family,
            ":",
            Dec::new(self.index).as_str(),
        ])
    }

    /// ProtocolIFType: 4096 IPv4, 4097 IPv6.
    fn if_type(&self) -> u16 {
        if self.v4() { 4096 } else { 4097 }
    }

    fn origin_code(&self) -> u16 {
        match self.origin {
            AddressOrigin::Static => 3,
            AddressOrigin::Dhcp => 4,
            AddressOrigin::Stateless => 9,
            AddressOrigin::LinkLocal if self.v4() => 6,
            AddressOrigin::LinkLocal => 10,
            AddressOrigin::Unknown => 0,
        }
    }

    /// The dotted IPv4 mask of the prefix length.
    fn mask(&self) -> Option<String> {
        if !self.v4() {
            return None;
        }
        let bits = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len.min(32)))
            .unwrap_or(0);
        Some(ip_text(core::net::Ipv4Addr::from(bits).into()))
    }

    /// Whether its settings are the static IPv4 subclass (which carries the gateway).
    pub fn static_v4(&self) -> bool {
        self.v4() && self.origin == AddressOrigin::Static
    }
}

/// An address as `Display` writes it (dotted IPv4; RFC 5952 IPv6: lowercase hex, the longest run
/// of two or more zero groups as `::`, IPv4-mapped as `::ffff:a.b.c.d`), written here because
/// `core::net`'s formatter links both families' code and its padding support, ~1.7 KiB of the
/// bare-metal image's flash, where only IPv4 ever occurs.
fn ip_text(addr: core::net::IpAddr) -> String {
    let mut out = String::new();
    match addr {
        core::net::IpAddr::V4(v4) => push_v4(&mut out, v4),
        core::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                out.push_str("::ffff:");
                push_v4(&mut out, v4);
            }
            None => push_v6(&mut out, v6.segments()),
        },
    }
    out
}

fn push_v4(out: &mut String, v4: core::net::Ipv4Addr) {
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(Dec::new(octet).as_str());
    }
}

fn push_v6(out: &mut String, groups: [u16; 8]) {
    // The first longest run of zero groups (start, length).
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let push_groups = |out: &mut String, groups: &[u16]| {
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let mut started = false;
            for shift in [12, 8, 4, 0] {
                let nibble = (g >> shift) & 0xF;
                if started || nibble != 0 || shift == 0 {
                    out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                    started = true;
                }
            }
        }
    };
    if best.1 > 1 {
        push_groups(out, &groups[..best.0]);
        out.push_str("::");
        push_groups(out, &groups[best.0 + best.1..]);
    } else {
        push_groups(out, &groups);
    }
}

fn opt(s: Option<String>) -> Value<'static> {
    s.map_or(Value::Null, Value::string)
}

/// An IPv4 address and its mask, as the endpoint and its static settings both carry them.
fn set_v4(i: &mut Instance<'_>, view: &IpEndpointView) {
    i.set_string("IPv4Address", ip_text(view.address));
    i.set("SubnetMask", opt(view.mask()));
}

pub fn endpoint_keys<'a>(
    system: &'a SystemInfo,
    view: &IpEndpointView,
) -> [(&'static str, Cow<'a, str>); 4] {
    [
        (
            "CreationClassName",
            Cow::Borrowed(CIM_IP_PROTOCOL_ENDPOINT.name),
        ),
        ("Name", Cow::Owned(view.name())),
        (
            "SystemCreationClassName",
            Cow::Borrowed(CIM_COMPUTER_SYSTEM.name),
        ),
        ("SystemName", Cow::Borrowed(&system.bmc_name)),
    ]
}

/// InstanceID of an endpoint's settings.
pub fn settings_id(view: &IpEndpointView) -> String {
    cat(&["wsbmc:ip:", &view.name()])
}

pub fn endpoint_instance<'a>(system: &'a SystemInfo, view: &IpEndpointView) -> Instance<'a> {
    let mut i = Instance::with_capacity(&CIM_IP_PROTOCOL_ENDPOINT, 24);
    i.set_keys(&mut endpoint_keys(system, view));
    let label = cat(&[&view.interface, " ", &ip_text(view.address)]);
    i.set_string("Caption", label.clone());
    i.set_string("ElementName", label);
    i.set_str("Description", "An address of the BMC's management network");
    i.set_str("NameFormat", "Interface:Family:Index");
    i.set_u16("ProtocolIFType", view.if_type());
    i.set_u16("AddressOrigin", view.origin_code());
    // The other family's address properties are left NULL (unset renders as NULL).
    if view.v4() {
        set_v4(&mut i, view);
    } else {
        i.set_string("IPv6Address", ip_text(view.address));
        i.set("IPv6SubnetPrefixLength", Value::U8(view.prefix_len));
    }
    // The BMC answers on it: enabled and working.
    i.set_working();
    i
}

pub fn settings_instance(view: &IpEndpointView) -> Instance<'static> {
    let class = if view.static_v4() {
        &CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA
    } else {
        &CIM_IP_ASSIGNMENT_SETTING_DATA
    };
    let mut i = Instance::with_capacity(class, 10);
    i.set_string("InstanceID", settings_id(view));
    let label = cat(&[&view.name(), " settings"]);
    i.set_string("Caption", label.clone());
    i.set_string("ElementName", label);
    i.set_u16("AddressOrigin", view.origin_code());
    i.set_u16("ProtocolIFType", view.if_type());
    if view.static_v4() {
        set_v4(&mut i, view);
        i.set("GatewayIPv4Address", opt(view.gateway.map(ip_text)));
    }
    i
}

/// ElementSettingData's own property: these settings are the ones in effect (1 Is Current).
pub fn element_setting_values(i: &mut Instance<'_>) {
    i.set_u16("IsCurrent", 1);
}

/// The settings class of an endpoint (for the association's reference).
pub fn settings_class(view: &IpEndpointView) -> &'static ClassDef {
    if view.static_v4() {
        &CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA
    } else {
        &CIM_IP_ASSIGNMENT_SETTING_DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn address_text_is_what_display_writes() {
        use alloc::string::ToString;
        let values = [0u16, 1, 0xa, 0x10, 0xff, 0x100, 0xabc, 0x1000, 0xffff];
        // Every pattern of zero and non-zero groups, with varied non-zero values.
        for pattern in 0u32..256 {
            for (k, &v) in values.iter().enumerate().skip(1) {
                let mut g = [0u16; 8];
                for (i, slot) in g.iter_mut().enumerate() {
                    if pattern & (1 << i) != 0 {
                        *slot = values[1 + (k + i) % (values.len() - 1)].max(v / 2).max(1);
                    }
                }
                let a = IpAddr::V6(Ipv6Addr::from(g));
                assert_eq!(ip_text(a), a.to_string(), "{g:x?}");
            }
        }
        for a in [
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::LOCALHOST,
            Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped(),
            Ipv4Addr::new(192, 0, 2, 1).to_ipv6_compatible(),
        ] {
            assert_eq!(ip_text(IpAddr::V6(a)), a.to_string());
        }
        for octets in [
            [0, 0, 0, 0],
            [10, 0, 2, 15],
            [255, 255, 255, 0],
            [1, 20, 100, 199],
        ] {
            let a = IpAddr::V4(Ipv4Addr::from(octets));
            assert_eq!(ip_text(a), a.to_string());
        }
        for n in 0..=255u8 {
            let a = IpAddr::V4(Ipv4Addr::new(n, n, 0, 255 - n));
            assert_eq!(ip_text(a), a.to_string());
        }
    }

    fn v4() -> IpEndpointView {
        IpEndpointView {
            interface: "eth0".into(),
            index: 0,
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 2, 15)),
            prefix_len: 24,
            gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2))),
            origin: AddressOrigin::Static,
        }
    }

    #[test]
    fn masks_and_names() {
        let e = v4();
        assert_eq!(e.name(), "eth0:IPv4:0");
        assert_eq!(e.mask().as_deref(), Some("255.255.255.0"));
        let zero = IpEndpointView {
            prefix_len: 0,
            ..v4()
        };
        assert_eq!(zero.mask().as_deref(), Some("0.0.0.0"));
        let host = IpEndpointView {
            prefix_len: 32,
            ..v4()
        };
        assert_eq!(host.mask().as_deref(), Some("255.255.255.255"));
        let six = IpEndpointView {
            address: IpAddr::V6(Ipv6Addr::LOCALHOST),
            prefix_len: 128,
            origin: AddressOrigin::LinkLocal,
            ..v4()
        };
        assert_eq!(six.mask(), None);
        assert_eq!(six.origin_code(), 10);
        assert!(!six.static_v4());
    }

    #[test]
    fn instances_conform_to_their_classes() {
        let system = SystemInfo::new("h");
        let e = v4();
        let d = IpEndpointView {
            origin: AddressOrigin::Dhcp,
            ..v4()
        };
        for view in [&e, &d] {
            let ep = endpoint_instance(&system, view);
            let st = settings_instance(view);
            for (i, class) in [
                (&ep, &CIM_IP_PROTOCOL_ENDPOINT),
                (&st, settings_class(view)),
            ] {
                for prop in class.properties() {
                    assert!(
                        i.get(prop.name).is_none_or(|v| v.conforms(prop)),
                        "{}",
                        prop.name
                    );
                }
            }
        }
    }
}
