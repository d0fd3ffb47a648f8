//! What survives a restart, as CBOR records for the store (firmware/store keeps each value
//! under a key, at most `MAX_VALUE_LEN` = 240 bytes):
//!
//! - one record per account slot, under `StoreKey::account(slot)`: [`SlotRecord`] to write,
//!   [`StoredSlot`] to read. One record per account keeps every value small and makes each
//!   change one store write, so a power cut leaves the old or the new account, never a mix.
//! - one settings record (lockout policy, PBKDF2 rounds, provisioning counter), under a
//!   setting key the wiring chooses: [`SettingsRecord`] / [`StoredSettings`].
//!
//! Slot record, version 1, a CBOR array:
//! `[1, name, role, enabled, scheme, salt, iterations, key, ha1_md5 / null, ha1_sha256 / null,
//!  locked_for_ms / null]`. The lock is kept as the milliseconds left, since monotonic time
//! restarts at boot; a restart resumes it for what was left. Failure counts below the
//! threshold are not kept: writing flash on every failed login would let a flood wear it.
//!
//! Today's single account (firmware/linux `StoredAccount`, under `StoreKey::account(0)`) is an
//! array that starts with the name, a text string, where a versioned record starts with an
//! integer: it loads as one enabled Administrator ([`Loaded::migrated`]), and the wiring
//! rewrites it in the new form.
//!
//! Bytes that do not decode, an unknown version, or values out of range are a typed
//! [`PersistError`], never a default: a device that lost its accounts must not come up open.

use alloc::string::String;
use alloc::vec::Vec;

use minicbor::data::Type;
use minicbor::decode::{self, Decoder};
use minicbor::encode::{self, Encoder, Write as CborWrite};
use minicbor::{Decode, Encode};

use crate::lockout::{LockState, LockoutPolicy, MAX_PERIOD_MS};
use crate::password::{DigestHa1, KEY_LEN, MAX_SALT_LEN, PasswordRecord, SCHEME_PREHASHED, Scheme};
use crate::role::Role;
use crate::table::{Account, AccountTable, MAX_ACCOUNTS, MAX_STORED_NAME_LEN, Write};

/// The version of slot and settings records this build writes.
pub const VERSION: u8 = 1;

/// The scheme code of legacy records in the new format (a migrated legacy account keeps its
/// key until its password is set again).
const SCHEME_LEGACY: u8 = 1;

/// Why stored records were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistError {
    /// Not CBOR, or not the shape of a record.
    Corrupt,
    /// A version this build does not know (written by a newer wsbmc).
    UnknownVersion(u64),
    /// A field out of range; names the field.
    Invalid(&'static str),
    /// A slot number over [`MAX_ACCOUNTS`], or the same slot twice.
    Slot(u8),
    /// Two slots hold the same name.
    DuplicateName,
    /// A record in the pre-issue-15 format anywhere but slot 0, where it was always written.
    MisplacedLegacy(u8),
}

impl From<decode::Error> for PersistError {
    fn from(_: decode::Error) -> Self {
        PersistError::Corrupt
    }
}

/// One account as written (borrowing the table).
pub struct SlotRecord<'a> {
    account: &'a Account,
    locked_for_ms: Option<u64>,
}

impl<C> Encode<C> for SlotRecord<'_> {
    fn encode<W: CborWrite>(
        &self,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), encode::Error<W::Error>> {
        let a = self.account;
        let p = &a.password;
        e.array(11)?
            .u8(VERSION)?
            .str(&a.name)?
            .u8(a.role.code())?
            .bool(a.enabled)?
            .u8(match p.scheme {
                Scheme::Prehashed => SCHEME_PREHASHED,
                Scheme::Legacy => SCHEME_LEGACY,
            })?
            .bytes(&p.salt)?
            .u32(p.iterations)?
            .bytes(&p.key)?;
        match &p.digest {
            Some(d) => e.bytes(&d.md5)?.bytes(&d.sha256)?,
            None => e.null()?.null()?,
        };
        match self.locked_for_ms {
            Some(ms) => e.u64(ms)?,
            None => e.null()?,
        };
        Ok(())
    }
}

/// A slot's record as read: the account, or why it cannot be used. Decoding into this never
/// fails at the store's level (the bytes of a bad record are skipped), so the store's `get`
/// hands the typed error through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSlot(pub Result<Decoded, PersistError>);

/// A decoded slot record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    account: Account,
    locked_for_ms: Option<u64>,
    /// Written before issue 15 (the single account).
    legacy_format: bool,
}

impl<'b, C> Decode<'b, C> for StoredSlot {
    fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, decode::Error> {
        let start = d.position();
        let parsed = decode_slot(d);
        if parsed.is_err() {
            d.set_position(start);
            // The store hands over one value, so what follows does not matter; skipping keeps
            // the decoder consistent when it can.
            let _ = d.skip();
        }
        Ok(StoredSlot(parsed))
    }
}

impl StoredSlot {
    /// Decodes a slot record from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        StoredSlot(decode_slot(&mut Decoder::new(bytes)))
    }
}

fn opt_bytes<'b>(d: &mut Decoder<'b>) -> Result<Option<&'b [u8]>, PersistError> {
    if d.datatype()? == Type::Null {
        d.null()?;
        Ok(None)
    } else {
        Ok(Some(d.bytes()?))
    }
}

fn name(text: &str) -> Result<String, PersistError> {
    if text.is_empty() || text.len() > MAX_STORED_NAME_LEN {
        return Err(PersistError::Invalid("name"));
    }
    Ok(String::from(text))
}

fn key(bytes: &[u8]) -> Result<[u8; KEY_LEN], PersistError> {
    bytes.try_into().map_err(|_| PersistError::Invalid("key"))
}

fn salt(bytes: &[u8]) -> Result<&[u8], PersistError> {
    if bytes.len() > MAX_SALT_LEN {
        return Err(PersistError::Invalid("salt"));
    }
    Ok(bytes)
}

fn digest(md5: Option<&[u8]>, sha256: Option<&[u8]>) -> Option<DigestHa1> {
    // HA1s of the wrong length are dropped, as firmware/linux does today: the account then
    // works with Basic only until its password is set again.
    Some(DigestHa1 {
        md5: md5?.try_into().ok()?,
        sha256: sha256?.try_into().ok()?,
    })
}

fn decode_slot(d: &mut Decoder<'_>) -> Result<Decoded, PersistError> {
    let len = d.array()?.ok_or(PersistError::Corrupt)?;
    match d.datatype()? {
        Type::String => decode_legacy(d, len),
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
            let version = d.u64()?;
            if version != u64::from(VERSION) {
                return Err(PersistError::UnknownVersion(version));
            }
            if len != 11 {
                return Err(PersistError::Corrupt);
            }
            let name = name(d.str()?)?;
            let role = Role::from_code(d.u8()?).ok_or(PersistError::Invalid("role"))?;
            let enabled = d.bool()?;
            let scheme = match d.u8()? {
                SCHEME_PREHASHED => Scheme::Prehashed,
                SCHEME_LEGACY => Scheme::Legacy,
                _ => return Err(PersistError::Invalid("scheme")),
            };
            let salt = salt(d.bytes()?)?;
            let iterations = d.u32()?;
            let key = key(d.bytes()?)?;
            let md5 = opt_bytes(d)?;
            let sha256 = opt_bytes(d)?;
            let locked_for_ms = if d.datatype()? == Type::Null {
                d.null()?;
                None
            } else {
                let ms = d.u64()?;
                if ms > MAX_PERIOD_MS {
                    return Err(PersistError::Invalid("locked_for_ms"));
                }
                Some(ms)
            };
            let mut password = PasswordRecord::from_parts(scheme, salt, iterations, key);
            password.digest = digest(md5, sha256);
            Ok(Decoded {
                account: Account {
                    name,
                    role,
                    enabled,
                    password,
                    lock: LockState::default(),
                },
                locked_for_ms,
                legacy_format: false,
            })
        }
        _ => Err(PersistError::Corrupt),
    }
}

/// Today's record: `[name, salt, iterations, key, ha1_md5?, ha1_sha256?, scheme?]`, trailing
/// absent fields omitted or null (minicbor's derive of firmware/linux `StoredAccount`).
fn decode_legacy(d: &mut Decoder<'_>, len: u64) -> Result<Decoded, PersistError> {
    if !(4..=7).contains(&len) {
        return Err(PersistError::Corrupt);
    }
    let name = name(d.str()?)?;
    let salt = salt(d.bytes()?)?;
    let iterations = d.u32()?;
    let key = key(d.bytes()?)?;
    let md5 = if len > 4 { opt_bytes(d)? } else { None };
    let sha256 = if len > 5 { opt_bytes(d)? } else { None };
    let scheme = if len > 6 && d.datatype()? != Type::Null {
        Some(d.u8()?)
    } else {
        None
    };
    let scheme = match scheme {
        Some(SCHEME_PREHASHED) => Scheme::Prehashed,
        // Refused like firmware/linux refuses it: an account this build cannot check.
        Some(_) => return Err(PersistError::Invalid("scheme")),
        None => Scheme::Legacy,
    };
    let mut password = PasswordRecord::from_parts(scheme, salt, iterations, key);
    password.digest = digest(md5, sha256);
    Ok(Decoded {
        account: Account {
            name,
            role: Role::Administrator,
            enabled: true,
            password,
            lock: LockState::default(),
        },
        locked_for_ms: None,
        legacy_format: true,
    })
}

/// The settings as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsRecord {
    pub policy: LockoutPolicy,
    pub iterations: u32,
    pub provisioning_counter: u32,
}

impl<C> Encode<C> for SettingsRecord {
    fn encode<W: CborWrite>(
        &self,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), encode::Error<W::Error>> {
        e.array(6)?
            .u8(VERSION)?
            .u8(self.policy.threshold())?
            .u64(self.policy.window_ms())?
            .u64(self.policy.duration_ms())?
            .u32(self.iterations)?
            .u32(self.provisioning_counter)?;
        Ok(())
    }
}

/// The settings as read (see [`StoredSlot`] for why decoding never fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSettings(pub Result<SettingsRecord, PersistError>);

impl<'b, C> Decode<'b, C> for StoredSettings {
    fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, decode::Error> {
        let start = d.position();
        let parsed = decode_settings(d);
        if parsed.is_err() {
            d.set_position(start);
            let _ = d.skip();
        }
        Ok(StoredSettings(parsed))
    }
}

impl StoredSettings {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        StoredSettings(decode_settings(&mut Decoder::new(bytes)))
    }
}

fn decode_settings(d: &mut Decoder<'_>) -> Result<SettingsRecord, PersistError> {
    let len = d.array()?.ok_or(PersistError::Corrupt)?;
    if len == 0 {
        return Err(PersistError::Corrupt);
    }
    let version = d.u64()?;
    if version != u64::from(VERSION) {
        return Err(PersistError::UnknownVersion(version));
    }
    if len != 6 {
        return Err(PersistError::Corrupt);
    }
    let threshold = d.u8()?;
    let window = d.u64()?;
    let duration = d.u64()?;
    let policy = LockoutPolicy::new(threshold, window, duration)
        .map_err(|_| PersistError::Invalid("policy"))?;
    let iterations = d.u32()?;
    if iterations == 0 {
        return Err(PersistError::Invalid("iterations"));
    }
    Ok(SettingsRecord {
        policy,
        iterations,
        provisioning_counter: d.u32()?,
    })
}

/// A table loaded from the store.
#[derive(Debug)]
pub struct Loaded {
    pub table: AccountTable,
    /// Slot 0 held today's single-account record: it loaded as an enabled Administrator and
    /// should be written back in the new format, and the settings written too (they did not
    /// exist): see [`Loaded::writes`].
    pub migrated: bool,
}

impl Loaded {
    /// What to write after loading: the migrated slot and the settings, once.
    pub fn writes(&self) -> &'static [Write] {
        if self.migrated {
            &[Write::Slot(0), Write::Settings]
        } else {
            &[]
        }
    }
}

impl AccountTable {
    /// Rebuilds the table from what the store holds, at monotonic time `now_ms`. `settings` is
    /// `None` when none were ever stored (first start, or a device migrating from the single
    /// account): then `policy` and `iterations` (the board's and image's) apply, except that
    /// a migrated record's rounds become the dummy's, so an unknown name costs what the known
    /// one does. Any bad record refuses the whole load.
    pub fn load(
        settings: Option<StoredSettings>,
        slots: impl IntoIterator<Item = (u8, StoredSlot)>,
        now_ms: u64,
        policy: LockoutPolicy,
        iterations: u32,
    ) -> Result<Loaded, PersistError> {
        let mut table = AccountTable::new(policy, iterations);
        let have_settings = settings.is_some();
        if let Some(StoredSettings(s)) = settings {
            let s = s?;
            table.policy = s.policy;
            table.iterations = s.iterations;
            table.provisioning_counter = s.provisioning_counter;
        }
        let mut migrated = false;
        for (slot, StoredSlot(record)) in slots {
            let Decoded {
                mut account,
                locked_for_ms,
                legacy_format,
            } = record?;
            if usize::from(slot) >= MAX_ACCOUNTS {
                return Err(PersistError::Slot(slot));
            }
            if legacy_format {
                if slot != 0 {
                    return Err(PersistError::MisplacedLegacy(slot));
                }
                migrated = true;
                if !have_settings {
                    table.iterations = account.password.iterations;
                }
            }
            if table
                .list()
                .any(|(_, a)| a.name.eq_ignore_ascii_case(&account.name))
            {
                return Err(PersistError::DuplicateName);
            }
            if let Some(ms) = locked_for_ms {
                account.lock = LockState::locked_until(now_ms.saturating_add(ms));
            }
            if !table.insert_loaded(slot, account) {
                return Err(PersistError::Slot(slot));
            }
        }
        Ok(Loaded { table, migrated })
    }

    /// The record to store for `slot` at `now_ms` (`None` for an empty slot: remove it).
    pub fn slot_record(&self, slot: u8, now_ms: u64) -> Option<SlotRecord<'_>> {
        let account = self.slots.get(usize::from(slot))?.as_ref()?;
        Some(SlotRecord {
            account,
            locked_for_ms: account.lock.remaining_ms(now_ms),
        })
    }

    pub fn settings_record(&self) -> SettingsRecord {
        SettingsRecord {
            policy: self.policy,
            iterations: self.iterations,
            provisioning_counter: self.provisioning_counter,
        }
    }

    /// [`AccountTable::slot_record`] as bytes (the CLI, tests; the store encodes it itself).
    pub fn encode_slot(&self, slot: u8, now_ms: u64) -> Option<Vec<u8>> {
        minicbor::to_vec(self.slot_record(slot, now_ms)?).ok()
    }

    pub fn encode_settings(&self) -> Vec<u8> {
        minicbor::to_vec(self.settings_record()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests::{pw, table_with_admin};
    use alloc::vec;

    /// firmware/linux's `StoredAccount` as it is today (state.rs), to write records in
    /// exactly the format a device in the field holds.
    #[derive(minicbor::Encode)]
    struct StoredAccount {
        #[n(0)]
        name: String,
        #[cbor(n(1), with = "minicbor::bytes")]
        salt: Vec<u8>,
        #[n(2)]
        iterations: u32,
        #[cbor(n(3), with = "minicbor::bytes")]
        key: Vec<u8>,
        #[cbor(n(4), with = "minicbor::bytes")]
        ha1_md5: Option<Vec<u8>>,
        #[cbor(n(5), with = "minicbor::bytes")]
        ha1_sha256: Option<Vec<u8>>,
        #[n(6)]
        scheme: Option<u8>,
    }

    fn load(slots: Vec<(u8, Vec<u8>)>, settings: Option<Vec<u8>>) -> Result<Loaded, PersistError> {
        AccountTable::load(
            settings.map(|s| StoredSettings::from_bytes(&s)),
            slots
                .into_iter()
                .map(|(i, b)| (i, StoredSlot::from_bytes(&b))),
            0,
            LockoutPolicy::default(),
            7,
        )
    }

    #[test]
    fn a_table_round_trips_with_its_settings_and_locks() {
        let mut t = table_with_admin();
        let digest = DigestHa1 {
            md5: [1; 16],
            sha256: [2; 32],
        };
        t.create(
            "op",
            Role::Operator,
            pw("op", "op-password").with_digest(digest),
        )
        .unwrap();
        t.set_enabled("op", false).unwrap();
        t.set_policy(LockoutPolicy::new(3, 60_000, 120_000).unwrap(), "admin");
        t.provisioning_counter = 4;
        for i in 0..3 {
            t.login("admin", b"wrong-pass", 1_000 + i);
        }
        let slots: Vec<_> = (0..2u8)
            .map(|s| (s, t.encode_slot(s, 11_002).unwrap()))
            .collect();
        for (_, b) in &slots {
            assert!(b.len() <= 240, "{} bytes", b.len());
        }
        let back = load(slots, Some(t.encode_settings())).unwrap();
        assert!(!back.migrated);
        assert!(back.writes().is_empty());
        let b = back.table;
        assert_eq!(b.policy(), t.policy());
        assert_eq!(b.provisioning_counter, 4);
        let (_, op) = b.get("op").unwrap();
        assert_eq!((op.role(), op.enabled()), (Role::Operator, false));
        assert_eq!(op.password(), t.get("op").unwrap().1.password());
        // The lock resumes for what was left: 120 s from 1,002 ms, saved at 11,002 ms, so
        // 110 s from the (restarted) clock's 0.
        let (_, admin) = b.get("admin").unwrap();
        assert!(admin.is_locked(109_999));
        assert!(!admin.is_locked(110_000));
        assert_eq!(t.encode_slot(5, 0), None);
    }

    #[test]
    fn the_biggest_record_fits_the_store() {
        let mut t = AccountTable::new(LockoutPolicy::default(), 1);
        t.slots[0] = Some(Account {
            name: "x".repeat(MAX_STORED_NAME_LEN),
            role: Role::ReadOnly,
            enabled: true,
            password: PasswordRecord::from_parts(
                Scheme::Prehashed,
                &[9; MAX_SALT_LEN],
                u32::MAX,
                [0; KEY_LEN],
            )
            .with_digest(DigestHa1 {
                md5: [0; 16],
                sha256: [0; 32],
            }),
            lock: LockState::locked_until(MAX_PERIOD_MS),
        });
        let bytes = t.encode_slot(0, 0).unwrap();
        assert!(bytes.len() <= 240, "{}", bytes.len());
        assert!(StoredSlot::from_bytes(&bytes).0.is_ok());
    }

    /// A record as firmware/linux writes it today loads as one enabled Administrator with the
    /// same password, and asks to be rewritten.
    #[test]
    fn todays_single_account_migrates_to_an_administrator() {
        let key = PasswordRecord::hash(b"secret-pw", b"saltsalt", 3).key;
        let today = StoredAccount {
            name: "root".into(),
            salt: b"saltsalt".to_vec(),
            iterations: 3,
            key: key.to_vec(),
            ha1_md5: Some(vec![5; 16]),
            ha1_sha256: Some(vec![6; 32]),
            scheme: Some(SCHEME_PREHASHED),
        };
        let bytes = minicbor::to_vec(&today).unwrap();
        let mut loaded = load(vec![(0, bytes)], None).unwrap();
        assert!(loaded.migrated);
        assert_eq!(loaded.writes(), [Write::Slot(0), Write::Settings]);
        let t = &mut loaded.table;
        let (slot, a) = t.get("root").unwrap();
        assert_eq!(
            (slot, a.role(), a.enabled()),
            (0, Role::Administrator, true)
        );
        assert_eq!(a.password().digest().unwrap().md5, [5; 16]);
        // Unknown names cost the migrated record's rounds.
        assert_eq!(t.iterations(), 3);
        assert!(t.login("root", b"secret-pw", 0).result.is_ok());
        // Rewritten in the new format, it loads the same, no longer as a migration.
        let again = load(
            vec![(0, t.encode_slot(0, 0).unwrap())],
            Some(t.encode_settings()),
        )
        .unwrap();
        assert!(!again.migrated);
        assert_eq!(again.table.iterations(), 3);
        assert_eq!(again.table.get("root").unwrap().1, t.get("root").unwrap().1);
    }

    /// Records from before issue 20: no scheme, no HA1s (trailing fields absent); the key is
    /// PBKDF2 of the raw password and stays that way, refusing the NUL form.
    #[test]
    fn pre_issue_20_records_migrate_as_legacy() {
        let key = crate::password::derive(b"old-secret", b"salt", 2);
        let old = StoredAccount {
            name: "a-name-that-is-longer-than-sixteen".into(),
            salt: b"salt".to_vec(),
            iterations: 2,
            key: key.to_vec(),
            ha1_md5: None,
            ha1_sha256: None,
            scheme: None,
        };
        let mut t = load(vec![(0, minicbor::to_vec(&old).unwrap())], None)
            .unwrap()
            .table;
        let name = "a-name-that-is-longer-than-sixteen";
        assert_eq!(t.get(name).unwrap().1.password().scheme(), Scheme::Legacy);
        assert!(t.login(name, b"old-secret\0", 0).result.is_err());
        assert!(t.login(name, b"old-secret", 0).result.is_ok());
        // It survives a rewrite as legacy.
        let again = load(vec![(0, t.encode_slot(0, 0).unwrap())], None).unwrap();
        assert_eq!(
            again.table.get(name).unwrap().1.password().scheme(),
            Scheme::Legacy
        );
        // A scheme this build does not know is refused, as firmware/linux refuses it.
        let future = StoredAccount {
            scheme: Some(9),
            ..old
        };
        assert_eq!(
            load(vec![(0, minicbor::to_vec(&future).unwrap())], None).unwrap_err(),
            PersistError::Invalid("scheme")
        );
    }

    #[test]
    fn corrupt_and_unknown_records_are_refused_with_a_typed_error() {
        let t = table_with_admin();
        let good = t.encode_slot(0, 0).unwrap();
        // Garbage, truncation, an empty value.
        assert_eq!(
            load(vec![(0, vec![0xff, 0x00])], None).unwrap_err(),
            PersistError::Corrupt
        );
        assert_eq!(
            load(vec![(0, good[..good.len() - 3].to_vec())], None).unwrap_err(),
            PersistError::Corrupt
        );
        assert_eq!(
            load(vec![(0, vec![])], None).unwrap_err(),
            PersistError::Corrupt
        );
        // A newer version.
        let mut newer = good.clone();
        newer[1] = 2;
        assert_eq!(
            load(vec![(0, newer)], None).unwrap_err(),
            PersistError::UnknownVersion(2)
        );
        // An unknown role code (the byte after the array head, the version and the name
        // "admin" in six bytes).
        let mut role = good.clone();
        assert_eq!(role[8], Role::Administrator.code());
        role[8] = 9;
        assert_eq!(
            load(vec![(0, role)], None).unwrap_err(),
            PersistError::Invalid("role")
        );
        // Slots out of range, or names twice.
        assert_eq!(
            load(vec![(16, good.clone())], None).unwrap_err(),
            PersistError::Slot(16)
        );
        assert_eq!(
            load(vec![(1, good.clone()), (2, good.clone())], None).unwrap_err(),
            PersistError::DuplicateName
        );
        // Settings: unknown version, a policy that switches lockout off.
        let mut s = t.encode_settings();
        s[1] = 7;
        assert_eq!(
            load(vec![], Some(s)).unwrap_err(),
            PersistError::UnknownVersion(7)
        );
        let mut s = t.encode_settings();
        s[2] = 0;
        assert_eq!(
            load(vec![], Some(s)).unwrap_err(),
            PersistError::Invalid("policy")
        );
        // Through a typed decode (the store's `get`): never fails, the error is carried.
        let mut d = Decoder::new(&[0x83, 0x01, 0x02]);
        let StoredSlot(r) = d.decode::<StoredSlot>().unwrap();
        assert_eq!(r, Err(PersistError::Corrupt));
    }

    #[test]
    fn a_legacy_record_outside_slot_0_is_refused() {
        let old = StoredAccount {
            name: "x".into(),
            salt: vec![1],
            iterations: 1,
            key: vec![0; 32],
            ha1_md5: None,
            ha1_sha256: None,
            scheme: None,
        };
        assert_eq!(
            load(vec![(3, minicbor::to_vec(&old).unwrap())], None).unwrap_err(),
            PersistError::MisplacedLegacy(3)
        );
    }
}
