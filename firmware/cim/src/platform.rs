//! What the model cannot do itself, supplied by the agent.
//!
//! The model is synchronous and owns nothing that talks to hardware: power control, the SEL,
//! FRU data and persistence all belong to the agent's tasks. [`Platform`] is the narrow, sync
//! window onto them. Every method answers from state the agent already holds (or queues work
//! for a task and returns at once), so a WS-Man request still never waits on a bus or on flash.
//!
//! Implementations typically hold `RefCell`s and borrow them inside each method; the model
//! never keeps anything it gets from here across calls.

use alloc::string::String;
use alloc::vec::Vec;

use wsbmc_ipmi::Text;
use wsbmc_ipmi::fru::{Fru, FruError};
use wsbmc_ipmi::sel::{Record, TIMESTAMP_UNSPECIFIED};
use wsbmc_monitor::Thresholds;

/// The host's power as the BMC last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    On,
    Off,
    /// The BMC cannot tell (no power-good line, or not read yet).
    Unknown,
}

/// A change of host power a console may ask for. Each maps onto one IPMI Chassis Control action
/// (cim.md §4.1): power up, power down, ACPI soft shutdown, power cycle, hard reset, diagnostic
/// interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerTransition {
    On,
    /// Immediate power removal.
    OffHard,
    /// Ask the OS to shut down (ACPI power button); the host decides when power goes.
    OffSoft,
    /// Off, then on again.
    Cycle,
    /// Hard reset without removing power.
    Reset,
    /// Pulse the diagnostic interrupt (NMI).
    DiagnosticInterrupt,
}

impl PowerTransition {
    pub const ALL: [PowerTransition; 6] = [
        PowerTransition::On,
        PowerTransition::OffHard,
        PowerTransition::OffSoft,
        PowerTransition::Cycle,
        PowerTransition::Reset,
        PowerTransition::DiagnosticInterrupt,
    ];
}

/// What became of a power request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Queued for the power task; it completes asynchronously.
    Accepted,
    /// Another power request is still being carried out.
    Busy,
    /// This platform cannot do that transition.
    Unsupported,
    /// The platform tried and could not (e.g. the power controller did not answer).
    Failed,
}

/// A console's change cannot be made to survive a restart right now (the store is not mounted,
/// its last write failed, or the queue to it is full): the change is refused before anything
/// is changed, so what a console reads is always what a restart would show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotPersisted;

impl NotPersisted {
    /// wsman:InternalError, which DSP0226 names for failures to reach hardware.
    pub(crate) fn fault(self) -> wsbmc_wsman::Fault {
        crate::model::internal("the settings store cannot keep the change; nothing was changed")
    }
}

/// What became of a request to clear the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearOutcome {
    Cleared,
    Unsupported,
    Failed,
}

/// One record of the log as the platform stores it, with the sensor it names. The model renders
/// it (cim.md §3.2, `crate::log`); the platform never formats a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecordView {
    /// The IPMI SEL record, as stored.
    pub record: Record,
    /// The sensor a system event record names (by the record's sensor number), for its
    /// DeviceID and Description; `None` for a number the platform does not know, which is
    /// shown as `Sensor(<number>.0.32)`, and for records that name no sensor.
    pub sensor: Option<RecordSensor>,
    /// Who a Session Audit record is about and who made the change, which its 16 bytes have
    /// no room for (issue 15): kept by the platform beside the record; `None` when it kept
    /// nothing for this record (any other record, or one whose names were overwritten).
    #[cfg(feature = "accounts")]
    pub audit: Option<AuditNames>,
}

/// The names beside a Session Audit (sensor type 2Ah) SEL record.
#[cfg(feature = "accounts")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditNames {
    /// The account the record is about, or the name a failed login claimed; `None` when the
    /// claimed name was withheld (not a name any account could have: it may be a mistyped
    /// password, so it is never kept).
    pub user: Option<String>,
    /// Who made an account change (an Administrator's name, `provision`, or `wsbmc user`
    /// on the BMC's console); `None` for logins and lockouts.
    pub by: Option<String>,
}

/// A sensor as a SEL record names it: what its DeviceID is made of besides the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSensor {
    pub name: String,
    pub lun: u8,
    /// The owner's slave address (0x20 for the BMC).
    pub owner: u8,
}

impl LogRecordView {
    /// A record with no names beside it. Platforms outside this crate build views with this,
    /// so a build whose cim has `accounts` while the platform's crate does not (cargo unifies
    /// features across a workspace build) still compiles: the names are then never kept.
    pub fn new(record: Record, sensor: Option<RecordSensor>) -> Self {
        Self {
            record,
            sensor,
            #[cfg(feature = "accounts")]
            audit: None,
        }
    }

    /// The IPMI SEL Record ID.
    pub fn record_id(&self) -> u16 {
        self.record.id.0
    }

    /// The raw SEL timestamp (seconds since 1970, or the IPMI pre-init values), IPMI's
    /// "unspecified" for records that carry none.
    pub fn timestamp(&self) -> u32 {
        self.record.timestamp().unwrap_or(TIMESTAMP_UNSPECIFIED)
    }
}

/// The System Event Log, as the model reads it. Indices are positions in the log, oldest first;
/// they are only meaningful for the duration of one call.
pub trait LogView {
    /// Records currently in the log.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record at `index`, or `None` past the end.
    fn record(&self, index: usize) -> Option<LogRecordView>;

    /// The RecordID of the record at `index`, without rendering it. Enumeration cursors hold
    /// RecordIDs, not positions, because positions shift when the log wraps.
    fn record_id(&self, index: usize) -> Option<u16> {
        self.record(index).map(|r| r.record_id())
    }

    /// Where an enumeration resumes whose next record is RecordID `next`: that record's
    /// position, or the first after it if it is missing; the oldest record's if `next` was
    /// overwritten before it was reached; the end if `next` is not written yet. RecordIDs run
    /// in order through the cycle 1..=0xFFFE (IPMI), and 0xFFFF, one past the last, stands
    /// for 1.
    fn resume_position(&self, next: u16) -> usize {
        let Some(first) = self.record_id(0) else {
            return 0;
        };
        // Steps from the oldest record: RecordIDs grow from it through the cycle.
        let dist = |id: u16| (i32::from(id) - i32::from(first)).rem_euclid(0xFFFE);
        let d = dist(next);
        if d >= 0xFFFE / 2 {
            // Before the oldest: overwritten before the enumeration reached it.
            return 0;
        }
        // The first record at or after `next`: a binary search, as the distances grow with the
        // position (gaps left by damage included).
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.record_id(mid).is_none_or(|id| dist(id) >= d) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// How many records fit (CIM MaxNumberOfRecords); `None` when the store cannot say.
    fn capacity(&self) -> Option<u64> {
        None
    }

    /// Whether the oldest records are overwritten when full (the classic SEL stops instead).
    fn wraps(&self) -> bool {
        false
    }

    /// Whether records were dropped because the log was full.
    fn overflowed(&self) -> bool {
        false
    }

    /// Whether event logging is on (IPMI Global Enables "System Event Logging").
    fn enabled(&self) -> bool {
        true
    }
}

/// The IPMI FRU areas the physical classes are built from (Platform Management FRU Information
/// Storage Definition v1.0, decoded). Absent fields are `None`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FruView {
    /// Chassis Info area: SMBIOS chassis type code.
    pub chassis_type: Option<u8>,
    pub chassis_part_number: Option<String>,
    pub chassis_serial: Option<String>,
    /// Board Info area: manufacturing date, minutes since 1996-01-01 00:00 UTC.
    pub board_mfg_minutes: Option<u32>,
    pub board_manufacturer: Option<String>,
    pub board_product: Option<String>,
    pub board_serial: Option<String>,
    pub board_part_number: Option<String>,
    /// Product Info area.
    pub product_manufacturer: Option<String>,
    pub product_name: Option<String>,
    pub product_part_number: Option<String>,
    pub product_version: Option<String>,
    pub product_serial: Option<String>,
    pub asset_tag: Option<String>,
    /// The system GUID (16 bytes, IPMI Get System GUID order), for ComputerSystemPackage.
    pub system_guid: Option<[u8; 16]>,
}

/// By hand: each text through one out-of-line copy ([`clone_text`]), where the derived clone
/// inlined a String clone per field into the platform's `fru` (flash, on the bare-metal image).
impl Clone for FruView {
    fn clone(&self) -> Self {
        let t = clone_text;
        FruView {
            chassis_type: self.chassis_type,
            chassis_part_number: t(&self.chassis_part_number),
            chassis_serial: t(&self.chassis_serial),
            board_mfg_minutes: self.board_mfg_minutes,
            board_manufacturer: t(&self.board_manufacturer),
            board_product: t(&self.board_product),
            board_serial: t(&self.board_serial),
            board_part_number: t(&self.board_part_number),
            product_manufacturer: t(&self.product_manufacturer),
            product_name: t(&self.product_name),
            product_part_number: t(&self.product_part_number),
            product_version: t(&self.product_version),
            product_serial: t(&self.product_serial),
            asset_tag: t(&self.asset_tag),
            system_guid: self.system_guid,
        }
    }
}

#[inline(never)]
fn clone_text(text: &Option<String>) -> Option<String> {
    text.clone()
}

impl FruView {
    /// The decoded areas as the CIM model reads them. An area that is corrupt is left out and
    /// reported to `corrupt` with its name, so each image logs it its own way; the other areas
    /// still count. No system GUID: that is not in the FRU areas.
    pub fn from_fru(fru: &Fru<'_>, mut corrupt: impl FnMut(&'static str, FruError)) -> Self {
        let s = fru_text;
        let mut v = FruView::default();
        match fru.chassis() {
            Ok(Some(c)) => {
                v.chassis_type = Some(c.chassis_type);
                v.chassis_part_number = s(c.part_number);
                v.chassis_serial = s(c.serial_number);
            }
            Ok(None) => {}
            Err(e) => corrupt("chassis", e),
        }
        match fru.board() {
            Ok(Some(b)) => {
                v.board_mfg_minutes = (b.mfg_minutes != 0).then_some(b.mfg_minutes);
                v.board_manufacturer = s(b.manufacturer);
                v.board_product = s(b.product_name);
                v.board_serial = s(b.serial_number);
                v.board_part_number = s(b.part_number);
            }
            Ok(None) => {}
            Err(e) => corrupt("board", e),
        }
        match fru.product() {
            Ok(Some(p)) => {
                v.product_manufacturer = s(p.manufacturer);
                v.product_name = s(p.product_name);
                v.product_part_number = s(p.part_number);
                v.product_version = s(p.version);
                v.product_serial = s(p.serial_number);
                v.asset_tag = s(p.asset_tag);
            }
            Ok(None) => {}
            Err(e) => corrupt("product", e),
        }
        v
    }
}

/// A FRU field's text, `None` when empty. Out of line: the text decoder, inlined at the
/// fields, cost the bare-metal image 180 B of flash more than the calls do.
#[inline(never)]
fn fru_text(t: Text<'_>) -> Option<String> {
    let v: String = t.chars().collect();
    (!v.is_empty()).then_some(v)
}

/// A discrete (state) sensor, from a compact SDR or the board file. Its identity fields follow
/// the numeric sensors' so DeviceIDs have one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscreteSensorView {
    pub name: String,
    pub number: u8,
    pub owner: u8,
    pub lun: u8,
    pub entity_id: u8,
    pub entity_instance: u8,
    /// IPMI sensor type (table 42-3).
    pub sensor_type: u8,
    /// Every state string CurrentState can take (the offsets enabled in the SDR).
    pub possible_states: Vec<String>,
    /// The asserted state(s), joined with `.,` as Windows does; `None` when there is no reading.
    pub current_state: Option<String>,
    /// CIM HealthState derived from the asserted offsets' severity.
    pub health_state: u16,
    pub poll_ms: u32,
}

/// Everything the model asks of the agent.
pub trait Platform {
    /// The host's current power state.
    fn host_power(&self) -> PowerState;

    /// The transition being carried out right now, if any; shown as RequestedState.
    fn power_in_progress(&self) -> Option<PowerTransition> {
        None
    }

    /// The transitions this board can perform; the capabilities classes advertise exactly
    /// these, and requests for others are answered "not supported" without calling
    /// [`Platform::request_power`].
    fn power_transitions(&self) -> &[PowerTransition] {
        &[]
    }

    /// Starts a transition. Must return at once: the agent's power task does the work.
    fn request_power(&self, target: PowerTransition) -> RequestOutcome;

    /// Whether a settings change could be kept now; asked before a Put or
    /// RestoreDefaultThresholds changes anything, which answers a fault on `Err`. Must stay
    /// true until the [`Platform::persist_thresholds`] that follows (nothing runs in between:
    /// a request is handled synchronously).
    fn can_persist(&self) -> Result<(), NotPersisted> {
        Ok(())
    }

    /// A console changed a sensor's thresholds (Put or RestoreDefaultThresholds); the monitor
    /// already holds the new values, this makes them survive a restart.
    fn persist_thresholds(&self, key: &str, thresholds: &Thresholds);

    /// The System Event Log, when the platform keeps one.
    fn log(&self) -> Option<&dyn LogView> {
        None
    }

    /// Erases the log (CIM_RecordLog.ClearLog).
    fn clear_log(&self) -> ClearOutcome {
        ClearOutcome::Unsupported
    }

    /// Decoded FRU data of the chassis, baseboard and product. Borrowed: each physical
    /// instance reads a few of its texts, where a copy per instance cloned all twelve.
    fn fru(&self) -> Option<&FruView> {
        None
    }

    /// How many discrete sensors there are.
    fn discrete_sensor_count(&self) -> usize {
        0
    }

    /// Discrete sensor `index` with its current state.
    fn discrete_sensor(&self, _index: usize) -> Option<DiscreteSensorView> {
        None
    }

    /// How many pieces of firmware besides the BMC's own the platform knows (DSP1023).
    fn firmware_count(&self) -> usize {
        0
    }

    /// Firmware `index`: the host BIOS the board file names, satellite controllers as their
    /// Get Device ID answered. Read once by the platform, never on a request.
    fn firmware(&self, _index: usize) -> Option<crate::software::FirmwareView> {
        None
    }

    /// How many addresses the BMC's management network has (DSP1036).
    fn ip_endpoint_count(&self) -> usize {
        0
    }

    /// Address `index` of the management network, as the image last read it.
    fn ip_endpoint(&self, _index: usize) -> Option<crate::network::IpEndpointView> {
        None
    }
    /// The account table, for DSP1034/DSP1039 (`crate::account`); `None` shows no account
    /// classes at all.
    #[cfg(feature = "accounts")]
    fn accounts(&self) -> Option<&dyn crate::account::Accounts> {
        None
    }
    /// How many WS-Eventing subscriptions there are now (DSP1054, `crate::subscription`).
    #[cfg(feature = "subscriptions")]
    fn subscription_count(&self) -> usize {
        0
    }
    /// Subscription `index` as the event source holds it now.
    #[cfg(feature = "subscriptions")]
    fn subscription(&self, _index: usize) -> Option<crate::subscription::SubscriptionView> {
        None
    }

    /// Ends subscription `id` as an Unsubscribe does (Delete of its CIM_IndicationSubscription,
    /// `crate::subscription::delete`): false when the caller cannot see it or it is gone.
    #[cfg(feature = "subscriptions")]
    fn end_subscription(&self, _id: &str) -> bool {
        false
    }
}
