//! Software Inventory (DMTF DSP1023): which firmware the BMC runs, and which firmware the parts
//! it manages run, as CIM_SoftwareIdentity, tied to the systems by CIM_ElementSoftwareIdentity
//! and CIM_InstalledSoftwareIdentity.
//!
//! Index 0 is always the BMC's own firmware, from [`SystemInfo`] (every image knows its version,
//! build date and which image it is); the rest come from [`crate::Platform::firmware`]: the host
//! BIOS when the board file names it, and each IPMB satellite controller as its Get Device ID
//! answered. The model manages one host, so everything but the BMC's firmware belongs to it.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use wsbmc_wsman::text::{Dec, Hex, cat};

use crate::datetime::CimDateTime;
use crate::model::SystemInfo;
use crate::schema::{
    CIM_DEPENDENCY, CIM_LOGICAL_ELEMENT, CimType, ClassDef, DEPENDENCY_KEYS, INSTANCE_ID, a, class,
    k, p, r,
};
use crate::value::{Instance, Value};

/// A firmware image's identity (DSP1023 CIM_SoftwareIdentity).
pub static CIM_SOFTWARE_IDENTITY: ClassDef = class(
    "CIM_SoftwareIdentity",
    &CIM_LOGICAL_ELEMENT,
    INSTANCE_ID,
    &[
        p("BuildNumber", CimType::Uint16),
        a("ClassificationDescriptions", CimType::String),
        a("Classifications", CimType::Uint16),
        a("IdentityInfoType", CimType::String),
        a("IdentityInfoValue", CimType::String),
        k("InstanceID"),
        p("IsEntity", CimType::Boolean),
        p("MajorVersion", CimType::Uint16),
        p("Manufacturer", CimType::String),
        p("MinorVersion", CimType::Uint16),
        p("ReleaseDate", CimType::DateTime),
        p("RevisionNumber", CimType::Uint16),
        a("TargetTypes", CimType::String),
        p("VersionString", CimType::String),
    ],
);

/// Software identity → the element it runs on (DSP1023 §7.3: the installed, current version).
pub static CIM_ELEMENT_SOFTWARE_IDENTITY: ClassDef = class(
    "CIM_ElementSoftwareIdentity",
    &CIM_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[
        a("ElementSoftwareStatus", CimType::Uint16),
        p("UpgradeCondition", CimType::Uint16),
    ],
);

/// System → the software installed in it (DSP1023 §7.4).
pub static CIM_INSTALLED_SOFTWARE_IDENTITY: ClassDef = ClassDef {
    name: "CIM_InstalledSoftwareIdentity",
    parent: None,
    is_abstract: false,
    keys: &["InstalledSoftware", "System"],
    props: &[r("InstalledSoftware"), r("System")],
};

/// Which wsbmc image is running: the BMC firmware's TargetTypes and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// `cargo run`: the agent on a development machine (simulated or Linux devices).
    Host,
    /// The embedded-Linux image for AST2600-class BMCs.
    Ast2600,
    /// The bare-metal embassy image (lm3s6965evb).
    BareMetal,
}

impl Image {
    pub const fn id(self) -> &'static str {
        match self {
            Image::Host => "wsbmc-host",
            Image::Ast2600 => "wsbmc-ast2600",
            Image::BareMetal => "wsbmc-bare-metal",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Image::Host => "host agent",
            Image::Ast2600 => "AST2600 embedded-Linux image",
            Image::BareMetal => "bare-metal image (lm3s6965evb)",
        }
    }
}

/// What a piece of firmware is, for Classifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmwareKind {
    /// The host's system firmware: 11 BIOS/FCode.
    HostBios,
    /// A satellite management controller's firmware: 10 Firmware.
    Controller,
}

/// One piece of firmware besides the BMC's own, as the platform knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareView {
    /// Stable within the board: `bios`, or a satellite's device name from the board file. The
    /// InstanceID is built from it, so EPRs survive restarts and firmware updates.
    pub id: String,
    pub kind: FirmwareKind,
    /// Human-readable name ("Host BIOS", "psu2_mc firmware").
    pub element_name: String,
    /// VersionString exactly as the source spells it.
    pub version: String,
    /// Major, minor and revision, when the version has that shape.
    pub numbers: Option<(u16, u16, Option<u16>)>,
    pub manufacturer: Option<String>,
    /// Release date, seconds since 1970, when known.
    pub release_secs: Option<i64>,
    /// IdentityInfoType / IdentityInfoValue pairs (IPMI manufacturer and product IDs).
    pub identity: Vec<(String, String)>,
}

impl FirmwareView {
    /// A satellite controller's firmware from its IPMI Get Device ID reply (IPMI 2.0 §20.1):
    /// major revision in binary, minor revision in BCD ("1.23"), the IANA manufacturer ID and
    /// the product ID.
    pub fn from_device_id(
        name: &str,
        address: u8,
        major: u8,
        minor_bcd: u8,
        manufacturer_id: u32,
        product_id: u16,
        device_id: u8,
    ) -> Self {
        let minor = u16::from(minor_bcd >> 4) * 10 + u16::from(minor_bcd & 0x0F);
        let version = if (minor_bcd >> 4) < 10 && (minor_bcd & 0x0F) < 10 {
            cat(&[
                Dec::new(major).as_str(),
                ".",
                Hex::upper(minor_bcd.into(), 2).as_str(),
            ])
        } else {
            // Not BCD: shown as the raw byte rather than as a wrong decimal.
            cat(&[
                Dec::new(major).as_str(),
                ".0x",
                Hex::upper(minor_bcd.into(), 2).as_str(),
            ])
        };
        Self {
            id: String::from(name),
            kind: FirmwareKind::Controller,
            element_name: cat(&[name, " firmware"]),
            version,
            numbers: ((minor_bcd >> 4) < 10 && (minor_bcd & 0x0F) < 10).then_some((
                u16::from(major),
                minor,
                None,
            )),
            manufacturer: None,
            release_secs: None,
            identity: alloc::vec![
                (
                    String::from("IPMI Manufacturer ID"),
                    String::from(Dec::new(manufacturer_id).as_str())
                ),
                (
                    String::from("IPMI Product ID"),
                    cat(&["0x", Hex::upper(product_id.into(), 4).as_str()])
                ),
                (
                    String::from("IPMI Device ID"),
                    cat(&["0x", Hex::upper(device_id.into(), 2).as_str()])
                ),
                (
                    String::from("IPMB Slave Address"),
                    cat(&["0x", Hex::upper(address.into(), 2).as_str()])
                ),
            ],
        }
    }
}

/// The InstanceID prefix of every firmware identity.
const ID_PREFIX: &str = "wsbmc:firmware:";
/// The BMC firmware's id under [`ID_PREFIX`].
pub const BMC_ID: &str = "bmc";

pub fn keys_of(id: &str) -> [(&'static str, Cow<'static, str>); 1] {
    [("InstanceID", Cow::Owned(cat(&[ID_PREFIX, id])))]
}

/// `major.minor.revision` of a version string, when it starts with that shape ("0.1.0",
/// "2.4", "1.2.3-rc1").
fn numbers_of(version: &str) -> Option<(u16, u16, Option<u16>)> {
    // One pass over the bytes: `split('.')` with a parse per part cost the bare-metal image
    // ~0.25 KiB more flash for this one version string. A part is one or more digits up to
    // 65535, ended by '.', or by '-', '+', ' ' or the end, which end the numbers too; what
    // follows a third part is not read.
    let mut numbers = [0u16; 3];
    let mut parts = 0;
    let mut n: u32 = 0;
    let mut digits = false;
    let mut bytes = version.bytes();
    loop {
        let b = bytes.next();
        match b {
            Some(d @ b'0'..=b'9') => {
                n = n * 10 + u32::from(d - b'0');
                if n > u32::from(u16::MAX) {
                    return None;
                }
                digits = true;
            }
            Some(b'.' | b'-' | b'+' | b' ') | None => {
                if !digits {
                    return None;
                }
                *numbers.get_mut(parts)? = n as u16;
                parts += 1;
                if b != Some(b'.') || parts == 3 {
                    break;
                }
                n = 0;
                digits = false;
            }
            Some(_) => return None,
        }
    }
    let [major, minor, revision] = numbers;
    (parts >= 2).then_some((major, minor, (parts == 3).then_some(revision)))
}

fn common<'a>(
    i: &mut Instance<'a>,
    id: &str,
    element_name: Cow<'a, str>,
    version: &'a str,
    numbers: Option<(u16, u16, Option<u16>)>,
) {
    i.set_keys(&mut keys_of(id));
    // A text, not a `Value`: cloning a `Value` linked its whole `Clone` (every variant, the
    // boxed EPR's too) into the bare-metal image for this one call.
    i.set("Caption", Value::Str(element_name.clone()));
    i.set("ElementName", Value::Str(element_name));
    i.set_str("VersionString", version);
    let (major, minor, revision) = match numbers {
        Some((ma, mi, rev)) => (
            Value::U16(ma),
            Value::U16(mi),
            rev.map_or(Value::Null, Value::U16),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    i.set("MajorVersion", major);
    i.set("MinorVersion", minor);
    i.set("RevisionNumber", revision);
    // BuildNumber is left NULL (unset renders as NULL).
    // The identity describes firmware that is really there, not an update package.
    i.set_bool("IsEntity", true);
    i.set_empty("ClassificationDescriptions");
    i.set_u16("HealthState", 0);
    i.set_u16s("OperationalStatus", &[0]);
    i.set_str("Status", "Unknown");
    i.set_empty("StatusDescriptions");
}

/// The BMC's own firmware: this build, on this image.
pub fn bmc_instance(system: &SystemInfo) -> Instance<'_> {
    let mut i = Instance::with_capacity(&CIM_SOFTWARE_IDENTITY, 24);
    common(
        &mut i,
        BMC_ID,
        Cow::Owned(cat(&[&system.product, " BMC firmware"])),
        &system.version,
        numbers_of(&system.version),
    );
    i.set_string(
        "Description",
        cat(&[
            &system.product,
            " ",
            &system.version,
            " firmware of the baseboard management controller, ",
            system.image.description(),
        ]),
    );
    i.set_str("Manufacturer", &system.vendor);
    i.set(
        "ReleaseDate",
        system
            .build_secs
            .map_or(Value::Null, |s| Value::DateTime(CimDateTime::Timestamp(s))),
    );
    // 10 Firmware.
    i.set_u16s("Classifications", &[10]);
    i.set_strs("TargetTypes", &[system.image.id()]);
    i.set_empty("IdentityInfoType");
    i.set_empty("IdentityInfoValue");
    i
}

/// Firmware the platform reports (host BIOS, satellite controllers).
pub fn instance(view: &FirmwareView) -> Instance<'_> {
    let mut i = Instance::with_capacity(&CIM_SOFTWARE_IDENTITY, 24);
    common(
        &mut i,
        &view.id,
        Cow::Borrowed(&view.element_name),
        &view.version,
        view.numbers.or_else(|| numbers_of(&view.version)),
    );
    let (class, what) = match view.kind {
        FirmwareKind::HostBios => (11, "System firmware of the managed host"),
        FirmwareKind::Controller => (10, "Firmware of a satellite management controller"),
    };
    i.set_str("Description", what);
    i.set_u16s("Classifications", &[class]);
    i.set("Manufacturer", Value::opt_str(view.manufacturer.as_deref()));
    i.set(
        "ReleaseDate",
        view.release_secs
            .map_or(Value::Null, |s| Value::DateTime(CimDateTime::Timestamp(s))),
    );
    i.set_empty("TargetTypes");
    i.set(
        "IdentityInfoType",
        Value::Array(view.identity.iter().map(|(t, _)| Value::str(t)).collect()),
    );
    i.set(
        "IdentityInfoValue",
        Value::Array(view.identity.iter().map(|(_, v)| Value::str(v)).collect()),
    );
    i
}

/// ElementSoftwareIdentity's own properties: the firmware is installed and the one running
/// (ElementSoftwareStatus 2 Current, 6 Installed); the BMC cannot say how it may be upgraded
/// (UpgradeCondition 0 Unknown).
pub fn element_values(i: &mut Instance<'_>) {
    i.set_u16s("ElementSoftwareStatus", &[2, 6]);
    i.set_u16("UpgradeCondition", 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers() {
        assert_eq!(numbers_of("0.1.0"), Some((0, 1, Some(0))));
        assert_eq!(numbers_of("2.4"), Some((2, 4, None)));
        assert_eq!(numbers_of("1.2.3-rc1"), Some((1, 2, Some(3))));
        assert_eq!(numbers_of("v1"), None);
        assert_eq!(numbers_of("1.x.3"), None);
        assert_eq!(numbers_of(""), None);
        assert_eq!(numbers_of("3.1+build 7"), Some((3, 1, None)));
        assert_eq!(numbers_of("1.2.3.x"), Some((1, 2, Some(3))));
        assert_eq!(numbers_of("01.2"), Some((1, 2, None)));
        assert_eq!(numbers_of("1.2."), None);
        assert_eq!(numbers_of("1..2"), None);
        assert_eq!(numbers_of("1"), None);
        assert_eq!(numbers_of("+1.2"), None);
        assert_eq!(numbers_of("65535.0"), Some((65535, 0, None)));
        assert_eq!(numbers_of("65536.0"), None);
        assert_eq!(numbers_of("1.2.99999999999999999999999"), None);
        assert_eq!(numbers_of("4.5.6 beta"), Some((4, 5, Some(6))));
        assert_eq!(numbers_of("-1.2"), None);
    }

    #[test]
    fn device_id_versions_are_bcd() {
        let f = FirmwareView::from_device_id("psu2_mc", 0x58, 1, 0x23, 0x1A2B, 0x0102, 0x20);
        assert_eq!(f.version, "1.23");
        assert_eq!(f.numbers, Some((1, 23, None)));
        assert_eq!(f.identity[0].1, "6699");
        assert_eq!(f.identity[1].1, "0x0102");
        let odd = FirmwareView::from_device_id("x", 0x58, 1, 0xAB, 0, 0, 0);
        assert_eq!(odd.version, "1.0xAB");
        assert_eq!(odd.numbers, None);
    }

    #[test]
    fn instances_conform_to_the_class() {
        let mut system = SystemInfo::new("h");
        system.build_secs = Some(1_700_000_000);
        let bmc = bmc_instance(&system);
        let f = FirmwareView::from_device_id("psu2_mc", 0x58, 1, 0x23, 1, 2, 3);
        let sat = instance(&f);
        for i in [&bmc, &sat] {
            for prop in CIM_SOFTWARE_IDENTITY.properties() {
                assert!(
                    i.get(prop.name).is_none_or(|v| v.conforms(prop)),
                    "{}",
                    prop.name
                );
            }
        }
    }
}
