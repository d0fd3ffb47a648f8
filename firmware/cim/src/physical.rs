//! Physical Asset (DSP1011) from the IPMI FRU areas: the chassis and the baseboard (cim.md
//! §4.3). Both always exist; without FRU data their asset fields are NULL rather than invented.

use alloc::borrow::Cow;
use alloc::string::String;

use crate::datetime::{CimDateTime, FRU_EPOCH};
use crate::platform::FruView;
use crate::schema::{CIM_CARD, CIM_CHASSIS};
use crate::value::{Instance, Value};

/// Tags (the PhysicalElement key besides the class). There is one chassis and one baseboard per
/// BMC, so fixed tags are stable; FRU serial numbers would change when a part is replaced.
pub const CHASSIS_TAG: &str = "Chassis";
pub const CARD_TAG: &str = "Baseboard";

pub fn chassis_keys() -> [(&'static str, Cow<'static, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_CHASSIS.name)),
        ("Tag", Cow::Borrowed(CHASSIS_TAG)),
    ]
}

pub fn card_keys() -> [(&'static str, Cow<'static, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_CARD.name)),
        ("Tag", Cow::Borrowed(CARD_TAG)),
    ]
}

/// CIM ChassisPackageType for an SMBIOS chassis type. The two enumerations share their codes
/// except where CIM marks one "SMBIOS Reserved"; those become 1 Other with the SMBIOS name in
/// ChassisTypeDescription (cim.md §4.3), and SMBIOS 2 Unknown is CIM 0 Unknown.
pub fn chassis_package_type(smbios: u8) -> (u16, Option<&'static str>) {
    match smbios {
        2 => (0, None),
        1 | 3..=22 | 24 | 26..=28 => (u16::from(smbios), None),
        23 => (1, Some("Rack Mount Chassis")),
        25 => (1, Some("Multi-system chassis")),
        _ => (1, Some("SMBIOS chassis type outside the CIM enumeration")),
    }
}

fn opt(s: &Option<String>) -> Value<'_> {
    Value::opt_str(s.as_deref())
}

/// The FRU-independent part both packages share.
fn package_common(i: &mut Instance<'_>) {
    // The BMC has no sensor on the package itself, so it cannot vouch for its health.
    i.set_u16("HealthState", 0);
    i.set_u16s("OperationalStatus", &[0]);
    i.set_empty("StatusDescriptions");
    i.set_str("Status", "Unknown");
}

pub fn chassis_instance(fru: Option<&FruView>) -> Instance<'_> {
    let mut i = Instance::with_capacity(&CIM_CHASSIS, 24);
    i.set_keys(&mut chassis_keys());
    i.set_str("Caption", "Chassis");
    i.set_str("Description", "Chassis of the managed host");
    i.set_str("ElementName", "Chassis");
    package_common(&mut i);
    i.set_u16("PackageType", 3);
    let Some(fru) = fru else {
        return i;
    };
    i.set("Manufacturer", opt(&fru.product_manufacturer));
    i.set("Model", opt(&fru.product_name));
    i.set(
        "PartNumber",
        opt(if fru.chassis_part_number.is_some() {
            &fru.chassis_part_number
        } else {
            &fru.product_part_number
        }),
    );
    i.set(
        "SerialNumber",
        opt(if fru.chassis_serial.is_some() {
            &fru.chassis_serial
        } else {
            &fru.product_serial
        }),
    );
    i.set("SKU", opt(&fru.product_part_number));
    i.set("Version", opt(&fru.product_version));
    i.set("UserTracking", opt(&fru.asset_tag));
    if let Some(t) = fru.chassis_type {
        let (cim, text) = chassis_package_type(t);
        i.set_u16("ChassisPackageType", cim);
        i.set("ChassisTypeDescription", Value::opt_str(text));
    }
    i
}

pub fn card_instance(fru: Option<&FruView>) -> Instance<'_> {
    let mut i = Instance::with_capacity(&CIM_CARD, 24);
    i.set_keys(&mut card_keys());
    i.set_str("Caption", "Baseboard");
    i.set_str("Description", "Baseboard of the managed host");
    i.set_str("ElementName", "Baseboard");
    package_common(&mut i);
    i.set_u16("PackageType", 9);
    i.set_bool("HostingBoard", true);
    i.set_bool("CanBeFRUed", true);
    i.set_empty("OperatingVoltages");
    let Some(fru) = fru else {
        return i;
    };
    i.set("Manufacturer", opt(&fru.board_manufacturer));
    i.set("Model", opt(&fru.board_product));
    i.set("SerialNumber", opt(&fru.board_serial));
    i.set("PartNumber", opt(&fru.board_part_number));
    if let Some(minutes) = fru.board_mfg_minutes {
        i.set(
            "ManufactureDate",
            Value::DateTime(CimDateTime::Timestamp(FRU_EPOCH + i64::from(minutes) * 60)),
        );
    }
    i
}

/// ComputerSystemPackage.PlatformGUID: the system GUID as 32 upper-case hex digits (the AMT
/// shape, cim.md §4.3).
pub fn platform_guid(fru: Option<&FruView>) -> Value<'static> {
    let Some(guid) = fru.and_then(|f| f.system_guid) else {
        return Value::Null;
    };
    let mut s = String::with_capacity(32);
    for b in guid {
        s.push_str(wsbmc_wsman::text::Hex::upper(b.into(), 2).as_str());
    }
    Value::string(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chassis_types() {
        assert_eq!(chassis_package_type(17), (17, None));
        assert_eq!(chassis_package_type(2), (0, None));
        assert_eq!(chassis_package_type(23), (1, Some("Rack Mount Chassis")));
        assert_eq!(chassis_package_type(200).0, 1);
    }

    #[test]
    fn fru_fields_land_in_their_properties() {
        let fru = FruView {
            chassis_type: Some(23),
            chassis_serial: Some(String::from("CS1")),
            product_manufacturer: Some(String::from("Example")),
            product_part_number: Some(String::from("PP1")),
            board_mfg_minutes: Some(1),
            board_serial: Some(String::from("BS1")),
            system_guid: Some([0xAB; 16]),
            ..FruView::default()
        };
        let c = chassis_instance(Some(&fru));
        assert_eq!(c.get("SerialNumber"), Some(&Value::str("CS1")));
        assert_eq!(c.get("PartNumber"), Some(&Value::str("PP1")));
        assert_eq!(c.get("ChassisPackageType"), Some(&Value::U16(1)));
        let b = card_instance(Some(&fru));
        assert_eq!(b.get("SerialNumber"), Some(&Value::str("BS1")));
        assert_eq!(
            b.get("ManufactureDate"),
            Some(&Value::DateTime(CimDateTime::Timestamp(FRU_EPOCH + 60)))
        );
        assert_eq!(
            platform_guid(Some(&fru)),
            Value::str("ABABABABABABABABABABABABABABABAB")
        );
        assert_eq!(platform_guid(None), Value::Null);
        assert_eq!(chassis_instance(None).get("SerialNumber"), None);
    }
}
