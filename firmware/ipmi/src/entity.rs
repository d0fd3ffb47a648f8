//! IPMI entity ID codes (IPMI 2.0 table 43-13): what a sensor watches.

use crate::names::{Packed, total_len};

/// An IPMI entity ID byte. A newtype so chassis-, board-set- and OEM-specific codes round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(pub u8);

/// Indexed by code, 0x00..=0x37. Capitalised like the other names we show, because the CIM
/// Description of a sensor reads "<type> sensor for <entity> <instance>".
const NAMES: [&str; 0x38] = [
    "Unspecified",
    "Other",
    "Unknown",
    "Processor",
    "Disk or Disk Bay",
    "Peripheral Bay",
    "System Management Module",
    "System Board",
    "Memory Module",
    "Processor Module",
    "Power Supply",
    "Add-in Card",
    "Front Panel Board",
    "Back Panel Board",
    "Power System Board",
    "Drive Backplane",
    "System Internal Expansion Board",
    "Other System Board",
    "Processor Board",
    "Power Unit",
    "Power Module",
    "Power Management Board",
    "Chassis Back Panel Board",
    "System Chassis",
    "Sub-Chassis",
    "Other Chassis Board",
    "Disk Drive Bay",
    "Peripheral Bay",
    "Device Bay",
    "Fan Device",
    "Cooling Unit",
    "Cable / Interconnect",
    "Memory Device",
    "System Management Software",
    "System Firmware",
    "Operating System",
    "System Bus",
    "Group",
    "Remote Management Communication Device",
    "External Environment",
    "Battery",
    "Processing Blade",
    "Connectivity Switch",
    "Processor/Memory Module",
    "I/O Module",
    "Processor/IO Module",
    "Management Controller Firmware",
    "IPMI Channel",
    "PCI Bus",
    "PCI Express Bus",
    "SCSI Bus",
    "SATA / SAS Bus",
    "Processor / Front-Side Bus",
    "Real Time Clock",
    // 0x36 was a duplicate of 0x22 and is reserved since IPMI 2.0 errata.
    "Reserved",
    "Air Inlet",
];
static PACKED: Packed<0x38, { total_len(&NAMES) }> = Packed::new(&NAMES);

impl EntityId {
    pub const UNSPECIFIED: Self = Self(0x00);
    pub const OTHER: Self = Self(0x01);
    pub const UNKNOWN: Self = Self(0x02);
    pub const PROCESSOR: Self = Self(0x03);
    pub const DISK: Self = Self(0x04);
    pub const SYSTEM_MANAGEMENT_MODULE: Self = Self(0x06);
    pub const SYSTEM_BOARD: Self = Self(0x07);
    pub const MEMORY_MODULE: Self = Self(0x08);
    pub const POWER_SUPPLY: Self = Self(0x0A);
    pub const ADD_IN_CARD: Self = Self(0x0B);
    pub const FRONT_PANEL_BOARD: Self = Self(0x0C);
    pub const DRIVE_BACKPLANE: Self = Self(0x0F);
    pub const POWER_UNIT: Self = Self(0x13);
    pub const POWER_MODULE: Self = Self(0x14);
    pub const SYSTEM_CHASSIS: Self = Self(0x17);
    pub const FAN: Self = Self(0x1D);
    pub const COOLING_UNIT: Self = Self(0x1E);
    pub const MEMORY_DEVICE: Self = Self(0x20);
    pub const SYSTEM_FIRMWARE: Self = Self(0x22);
    pub const EXTERNAL_ENVIRONMENT: Self = Self(0x27);
    pub const BATTERY: Self = Self(0x28);
    pub const MANAGEMENT_CONTROLLER_FIRMWARE: Self = Self(0x2E);
    pub const AIR_INLET: Self = Self(0x37);
    /// DCMI duplicates of air inlet, processor and baseboard, used by DCMI-conformant BMCs.
    pub const DCMI_AIR_INLET: Self = Self(0x40);
    pub const DCMI_PROCESSOR: Self = Self(0x41);
    pub const DCMI_BASEBOARD: Self = Self(0x42);

    /// Text for any code, so a Description can always be formed.
    pub const fn name(self) -> &'static str {
        match self.0 {
            c if (c as usize) < NAMES.len() => match PACKED.get(c as usize) {
                Some(name) => name,
                None => "Reserved",
            },
            0x40 => "Air Inlet",
            0x41 => "Processor",
            0x42 => "Baseboard",
            0x90..=0xAF => "Chassis-specific",
            0xB0..=0xCF => "Board-set specific",
            0xD0..=0xFF => "OEM",
            _ => "Reserved",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(EntityId::PROCESSOR.name(), "Processor");
        assert_eq!(EntityId::SYSTEM_BOARD.name(), "System Board");
        assert_eq!(EntityId::POWER_SUPPLY.name(), "Power Supply");
        assert_eq!(EntityId::FAN.name(), "Fan Device");
        assert_eq!(
            EntityId::MANAGEMENT_CONTROLLER_FIRMWARE.name(),
            "Management Controller Firmware"
        );
        assert_eq!(EntityId::AIR_INLET.name(), "Air Inlet");
        assert_eq!(EntityId::DCMI_BASEBOARD.name(), "Baseboard");
        assert_eq!(EntityId(0x38).name(), "Reserved");
        assert_eq!(EntityId(0xA0).name(), "Chassis-specific");
        assert_eq!(EntityId(0xC0).name(), "Board-set specific");
        assert_eq!(EntityId(0xD0).name(), "OEM");
    }
}
