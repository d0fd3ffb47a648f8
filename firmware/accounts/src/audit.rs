//! Audit events and their IPMI form: every failed login, lockout, unlock and account change
//! becomes one SEL record of a Session Audit sensor (sensor type 2Ah, IPMI 2.0 table 42-3),
//! which cim renders as a `CIM_LogRecord` like any other SEL entry.
//!
//! The IPMI offsets of sensor type 2Ah are 00h Session Activated, 01h Session Deactivated,
//! 02h Invalid Username or Password, 03h Invalid password disable (a user disabled after a
//! series of bad passwords). Event data 2 carries the user ID in bits 5:0 (0: unspecified) and
//! event data 3 the deactivation cause in bits 5:4 and the channel in bits 3:0.
//!
//! The mapping ([`sel_event`]):
//! - failed login → 02h, assertion; user ID of the account, 0 for an unknown name;
//! - lockout → 03h, assertion; its end → 03h, deassertion (the condition cleared);
//! - account change (created, deleted, password, role, enabled, disabled, provisioned, lockout
//!   settings) → 01h, assertion, cause 11b "configuration change": IPMI has no offset for an
//!   account change, and each of these does end what the user was authenticated as (the
//!   verification cache is dropped). Which change it was is in event data 3's low nibble as
//!   an OEM code (event data 1 bits 5:4 = 10b say so), since the channel means nothing here.
//!
//! The SEL record has no room for the user name: the wiring keeps the name with the record
//! (the user ID of a deleted account is reused), which is why [`AuditEvent`] carries it.
//! [`AuditEvent::logged_name`] decides which names are kept.

use alloc::string::String;

/// IPMI sensor type of Session Audit.
pub const SENSOR_TYPE_SESSION_AUDIT: u8 = 0x2A;
/// Event/reading type "sensor-specific" (the offsets above are sensor type 2Ah's own).
pub const EVENT_TYPE_SENSOR_SPECIFIC: u8 = 0x6F;
/// The LAN channel the IPMI provider reports for out-of-band requests.
pub const LAN_CHANNEL: u8 = 1;
/// Longest user name an event keeps: a claimed name comes from the wire.
pub const MAX_AUDIT_NAME: usize = 64;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// Wrong password, unknown user, or a disabled account.
    LoginFailed,
    /// The right or wrong password for a locked account.
    LoginWhileLocked,
    LockedOut,
    Unlocked,
    Created,
    Deleted,
    PasswordChanged,
    RoleChanged,
    Enabled,
    Disabled,
    /// The first Administrator, created by the provisioning path.
    Provisioned,
    /// The lockout settings changed (not tied to a user: the name is the one who changed them
    /// when the wiring knows it).
    PolicyChanged,
}

impl AuditKind {
    /// The OEM change code put in event data 3 for account changes.
    const fn change_code(self) -> u8 {
        match self {
            AuditKind::Created => 1,
            AuditKind::Deleted => 2,
            AuditKind::PasswordChanged => 3,
            AuditKind::RoleChanged => 4,
            AuditKind::Enabled => 5,
            AuditKind::Disabled => 6,
            AuditKind::Provisioned => 7,
            AuditKind::PolicyChanged => 8,
            AuditKind::LoginFailed
            | AuditKind::LoginWhileLocked
            | AuditKind::LockedOut
            | AuditKind::Unlocked => 0,
        }
    }
}

/// One audit event: who, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub kind: AuditKind,
    /// The account's name, or the name a failed login claimed (cut to [`MAX_AUDIT_NAME`]).
    pub user: String,
    /// The IPMI user ID (slot + 1); `None` for a name no account has.
    pub user_id: Option<u8>,
}

impl AuditEvent {
    pub(crate) fn new(kind: AuditKind, user: &str, slot: Option<u8>) -> Self {
        let mut end = user.len().min(MAX_AUDIT_NAME);
        while !user.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            kind,
            user: String::from(&user[..end]),
            user_id: slot.map(|s| s + 1),
        }
    }
}

impl AuditEvent {
    /// The name kept beside the SEL record, or `None` to withhold it.
    ///
    /// An account's own name is always kept. A name no account has (a failed login's claim)
    /// is attacker-controlled and may be a password typed into the user field, so it is kept
    /// only when it is a name an account could have ([`crate::table::validate_name`]: at most 16
    /// bytes of ASCII letters, digits, `_`, `-` and `.`, starting with a letter) or the
    /// provisioning name. That keeps what iDRAC, OpenBMC and sshd log for a brute force (which
    /// names are tried: `root`, `admin`, ...) while a string with the symbols most passwords
    /// have is never stored or shown to every reader of the SEL.
    pub fn logged_name(&self) -> Option<&str> {
        let plausible = match crate::table::validate_name(&self.user) {
            Ok(()) | Err(crate::NameError::Reserved) => true,
            Err(_) => false,
        };
        (self.user_id.is_some() || plausible).then_some(self.user.as_str())
    }
}

/// The sensor-specific part of a SEL record for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelEventData {
    pub sensor_type: u8,
    pub event_type: u8,
    /// Event direction: `true` for deassertion (bit 7 of the event/reading type byte).
    pub deassertion: bool,
    pub data: [u8; 3],
}

/// The SEL form of `event` (mapping in the module documentation).
pub fn sel_event(event: &AuditEvent) -> SelEventData {
    // Event data 1: bits 7:6 = 11b (data 2 is sensor-specific: the user ID); bits 5:4 = 11b
    // (data 3 sensor-specific: cause and channel) or 10b (data 3 an OEM code); bits 3:0 offset.
    const DATA2_SPECIFIC: u8 = 0b11 << 6;
    const DATA3_SPECIFIC: u8 = 0b11 << 4;
    const DATA3_OEM: u8 = 0b10 << 4;
    const CAUSE_CONFIGURATION: u8 = 0b11 << 4;
    let user_id = event.user_id.unwrap_or(0) & 0x3F;
    let (offset, deassertion, data3_kind, data3) = match event.kind {
        AuditKind::LoginFailed | AuditKind::LoginWhileLocked => {
            (0x02, false, DATA3_SPECIFIC, LAN_CHANNEL)
        }
        AuditKind::LockedOut => (0x03, false, DATA3_SPECIFIC, LAN_CHANNEL),
        AuditKind::Unlocked => (0x03, true, DATA3_SPECIFIC, LAN_CHANNEL),
        change => (
            0x01,
            false,
            DATA3_OEM,
            CAUSE_CONFIGURATION | change.change_code(),
        ),
    };
    SelEventData {
        sensor_type: SENSOR_TYPE_SESSION_AUDIT,
        event_type: EVENT_TYPE_SENSOR_SPECIFIC,
        deassertion,
        data: [DATA2_SPECIFIC | data3_kind | offset, user_id, data3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: AuditKind, slot: Option<u8>) -> SelEventData {
        sel_event(&AuditEvent::new(kind, "op", slot))
    }

    #[test]
    fn failed_logins_are_invalid_username_or_password() {
        let e = ev(AuditKind::LoginFailed, Some(2));
        assert_eq!(e.sensor_type, 0x2A);
        assert_eq!(e.event_type, 0x6F);
        assert!(!e.deassertion);
        assert_eq!(e.data, [0xF2, 3, 0x01]);
        // An unknown name has user ID 0 (unspecified).
        assert_eq!(ev(AuditKind::LoginFailed, None).data, [0xF2, 0, 0x01]);
        assert_eq!(
            ev(AuditKind::LoginWhileLocked, Some(0)).data,
            [0xF2, 1, 0x01]
        );
    }

    #[test]
    fn lockout_asserts_and_unlock_deasserts_invalid_password_disable() {
        let l = ev(AuditKind::LockedOut, Some(0));
        assert_eq!((l.data, l.deassertion), ([0xF3, 1, 0x01], false));
        let u = ev(AuditKind::Unlocked, Some(0));
        assert_eq!((u.data, u.deassertion), ([0xF3, 1, 0x01], true));
    }

    #[test]
    fn account_changes_are_configuration_change_deactivations_with_a_code() {
        for (kind, code) in [
            (AuditKind::Created, 1),
            (AuditKind::Deleted, 2),
            (AuditKind::PasswordChanged, 3),
            (AuditKind::RoleChanged, 4),
            (AuditKind::Enabled, 5),
            (AuditKind::Disabled, 6),
            (AuditKind::Provisioned, 7),
            (AuditKind::PolicyChanged, 8),
        ] {
            let e = ev(kind, Some(15));
            assert_eq!(e.data, [0xE1, 16, 0x30 | code], "{kind:?}");
            assert!(!e.deassertion);
        }
    }

    #[test]
    fn claimed_names_are_kept_only_when_an_account_could_have_them() {
        let claim = |name: &str| AuditEvent::new(AuditKind::LoginFailed, name, None);
        assert_eq!(claim("root").logged_name(), Some("root"));
        assert_eq!(claim("provision").logged_name(), Some("provision"));
        for withheld in [
            "S3cret!pw",
            "a b",
            "<x>",
            "9lives",
            "",
            "averyveryverylongname",
        ] {
            assert_eq!(claim(withheld).logged_name(), None, "{withheld}");
        }
        // An account's own name is kept whatever it is (a migrated name may be up to 64 bytes).
        let known = AuditEvent::new(AuditKind::LoginFailed, "legacy name", Some(0));
        assert_eq!(known.logged_name(), Some("legacy name"));
    }

    #[test]
    fn claimed_names_are_bounded_on_a_char_boundary() {
        let long = "é".repeat(100);
        let e = AuditEvent::new(AuditKind::LoginFailed, &long, None);
        assert!(e.user.len() <= MAX_AUDIT_NAME);
        assert_eq!(e.user.len(), 64);
        assert_eq!(e.user_id, None);
    }
}
