//! IPMI sensor type codes (IPMI 2.0 table 42-3).

use crate::names::{Packed, total_len};

/// An IPMI sensor type byte.
///
/// A newtype rather than an enum because the byte comes off the wire (SDR, SEL, IPMB events) and
/// every value must round-trip, including reserved and OEM codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SensorType(pub u8);

/// Names as the IPMI specification spells them; consoles and SEL text show these, so they follow
/// the spec rather than ipmitool's abbreviations. Indexed by code, 0x00..=0x2C.
const NAMES: [&str; 0x2D] = [
    "Reserved",
    "Temperature",
    "Voltage",
    "Current",
    "Fan",
    "Physical Security",
    "Platform Security Violation Attempt",
    "Processor",
    "Power Supply",
    "Power Unit",
    "Cooling Device",
    "Other Units-based Sensor",
    "Memory",
    "Drive Slot (Bay)",
    "POST Memory Resize",
    "System Firmware Progress",
    "Event Logging Disabled",
    "Watchdog 1",
    "System Event",
    "Critical Interrupt",
    "Button / Switch",
    "Module / Board",
    "Microcontroller / Coprocessor",
    "Add-in Card",
    "Chassis",
    "Chip Set",
    "Other FRU",
    "Cable / Interconnect",
    "Terminator",
    "System Boot / Restart Initiated",
    "Boot Error",
    "Base OS Boot / Installation Status",
    "OS Stop / Shutdown",
    "Slot / Connector",
    "System ACPI Power State",
    "Watchdog 2",
    "Platform Alert",
    "Entity Presence",
    "Monitor ASIC / IC",
    "LAN",
    "Management Subsystem Health",
    "Battery",
    "Session Audit",
    "Version Change",
    "FRU State",
];
static PACKED: Packed<0x2D, { total_len(&NAMES) }> = Packed::new(&NAMES);

impl SensorType {
    pub const RESERVED: Self = Self(0x00);
    pub const TEMPERATURE: Self = Self(0x01);
    pub const VOLTAGE: Self = Self(0x02);
    pub const CURRENT: Self = Self(0x03);
    pub const FAN: Self = Self(0x04);
    pub const PHYSICAL_SECURITY: Self = Self(0x05);
    pub const PLATFORM_SECURITY: Self = Self(0x06);
    pub const PROCESSOR: Self = Self(0x07);
    pub const POWER_SUPPLY: Self = Self(0x08);
    pub const POWER_UNIT: Self = Self(0x09);
    pub const COOLING_DEVICE: Self = Self(0x0A);
    pub const OTHER_UNITS_BASED: Self = Self(0x0B);
    pub const MEMORY: Self = Self(0x0C);
    pub const DRIVE_SLOT: Self = Self(0x0D);
    pub const POST_MEMORY_RESIZE: Self = Self(0x0E);
    pub const SYSTEM_FIRMWARE_PROGRESS: Self = Self(0x0F);
    pub const EVENT_LOGGING_DISABLED: Self = Self(0x10);
    pub const WATCHDOG_1: Self = Self(0x11);
    pub const SYSTEM_EVENT: Self = Self(0x12);
    pub const CRITICAL_INTERRUPT: Self = Self(0x13);
    pub const BUTTON_SWITCH: Self = Self(0x14);
    pub const MODULE_BOARD: Self = Self(0x15);
    pub const MICROCONTROLLER: Self = Self(0x16);
    pub const ADD_IN_CARD: Self = Self(0x17);
    pub const CHASSIS: Self = Self(0x18);
    pub const CHIP_SET: Self = Self(0x19);
    pub const OTHER_FRU: Self = Self(0x1A);
    pub const CABLE_INTERCONNECT: Self = Self(0x1B);
    pub const TERMINATOR: Self = Self(0x1C);
    pub const SYSTEM_BOOT_INITIATED: Self = Self(0x1D);
    pub const BOOT_ERROR: Self = Self(0x1E);
    pub const OS_BOOT: Self = Self(0x1F);
    pub const OS_STOP: Self = Self(0x20);
    pub const SLOT_CONNECTOR: Self = Self(0x21);
    pub const SYSTEM_ACPI_POWER_STATE: Self = Self(0x22);
    pub const WATCHDOG_2: Self = Self(0x23);
    pub const PLATFORM_ALERT: Self = Self(0x24);
    pub const ENTITY_PRESENCE: Self = Self(0x25);
    pub const MONITOR_ASIC: Self = Self(0x26);
    pub const LAN: Self = Self(0x27);
    pub const MANAGEMENT_SUBSYSTEM_HEALTH: Self = Self(0x28);
    pub const BATTERY: Self = Self(0x29);
    pub const SESSION_AUDIT: Self = Self(0x2A);
    pub const VERSION_CHANGE: Self = Self(0x2B);
    pub const FRU_STATE: Self = Self(0x2C);

    /// Codes 0xC0..=0xFF are OEM-defined: their meaning depends on the manufacturer ID.
    pub const fn is_oem(self) -> bool {
        self.0 >= 0xC0
    }

    /// The specification's name; "OEM reserved" and "Reserved" for the ranges without one, so
    /// a caller always has text to show.
    pub const fn name(self) -> &'static str {
        if self.is_oem() {
            "OEM reserved"
        } else {
            match PACKED.get(self.0 as usize) {
                Some(name) => name,
                None => "Reserved",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_table() {
        assert_eq!(SensorType::TEMPERATURE.name(), "Temperature");
        assert_eq!(SensorType::FAN.name(), "Fan");
        assert_eq!(
            SensorType::OTHER_UNITS_BASED.name(),
            "Other Units-based Sensor"
        );
        assert_eq!(SensorType::WATCHDOG_2.name(), "Watchdog 2");
        assert_eq!(
            SensorType::MANAGEMENT_SUBSYSTEM_HEALTH.name(),
            "Management Subsystem Health"
        );
        assert_eq!(SensorType::FRU_STATE.name(), "FRU State");
    }

    #[test]
    fn reserved_and_oem_ranges_have_text() {
        assert_eq!(SensorType(0x2D).name(), "Reserved");
        assert_eq!(SensorType(0xBF).name(), "Reserved");
        assert_eq!(SensorType(0xC0).name(), "OEM reserved");
        assert_eq!(SensorType(0xFF).name(), "OEM reserved");
        assert!(SensorType(0xC0).is_oem());
        assert!(!SensorType(0xBF).is_oem());
    }

    #[test]
    fn every_code_has_a_nonempty_name() {
        for code in 0..=u8::MAX {
            assert!(!SensorType(code).name().is_empty());
        }
    }
}
