//! Accounts over WS-Man: DMTF DSP1034 Simple Identity Management and DSP1039 Role Based
//! Authorization, over the account table of `wsbmc-accounts` (issue 15).
//!
//! # Joining it to an image
//!
//! The model owns no table. The agent implements [`Accounts`] over the `AccountTable` it keeps
//! and returns it from [`crate::Platform::accounts`]; a platform that returns `None` (the
//! default) shows none of these classes and no profile registration for them, so nothing
//! changes for it. Every change the model makes goes back to the agent as the table's own
//! `Change` through [`Accounts::commit`]: the agent persists `change.write` and records
//! `change.audit` (SEL, log), exactly as for its CLI. Password hashing is the agent's too
//! ([`Accounts::hash_password`]): it owns the RNG for salts, the PBKDF2 round count and the
//! Digest HA1s.
//!
//! # Classes
//!
//! | class | instances | keys / identity |
//! |---|---|---|
//! | CIM_Account | one per account | CIM_ComputerSystem / the BMC's name / CIM_Account / the user name |
//! | CIM_Identity | one per account | `wsbmc:identity:<name>` |
//! | CIM_AccountManagementService | 1, hosted by the BMC | Name "Account Management Service" |
//! | CIM_RoleBasedAuthorizationService | 1, hosted by the BMC | Name "Role Based Authorization Service" |
//! | CIM_Role | Administrator, Operator, ReadOnly | CIM_Role / the role name |
//! | CIM_Privilege | one per privilege of `wsbmc_accounts::Privilege` | `wsbmc:privilege:<name>` |
//! | CIM_AccountSettingData | 1: the lockout rule | `wsbmc:accounts:settings` |
//!
//! Associations: CIM_AccountOnSystem (BMC → account), CIM_ServiceAffectsElement (account
//! service → account, authorization service → role; ElementEffects 5 Manages),
//! CIM_AssignedIdentity (identity → account), CIM_MemberOfCollection (role → its identities,
//! role → its privileges, read from `Role::privileges`, the table authorization uses),
//! CIM_RoleLimitedToTarget (role → the BMC: every role is scoped to this management
//! controller), CIM_HostedService (BMC → both services), CIM_ElementSettingData (account
//! service → settings), and both profiles in root/interop with their ElementConformsToProfile
//! (to the two services) and ReferencedProfile (to Base Server).
//!
//! # Operations and their refusals
//!
//! - `CIM_AccountManagementService.CreateAccount(System, AccountTemplate)`: System must be the
//!   BMC's CIM_ComputerSystem; AccountTemplate an embedded CIM_Account with `UserID` and
//!   `UserPassword` (clear text over the authenticated, preferably TLS, channel; stored only
//!   hashed) and, a wsbmc extension of the template, `Role` (`Administrator`, `Operator` or
//!   `ReadOnly`, any case; default ReadOnly, least privilege). `ElementName` and `Name`, when
//!   given, must equal UserID; `EnabledState` 2 or 3 creates the account enabled or disabled.
//!   Malformed calls are faults (`wsman:InvalidParameter`); the table's rules are ReturnValues
//!   from the vendor range of the method's ValueMap: [`NAME_REFUSED`], [`PASSWORD_REFUSED`],
//!   [`DUPLICATE`], [`TABLE_FULL`], and 2 Failed ([`CREATE_FAILED`]) for a disabled
//!   Administrator where no enabled one exists. Success is 0 with `Account` and `Identities`
//!   (EPRs).
//! - WS-Transfer Create on CIM_Account: the body is the template above; the refusals are
//!   faults (`wxf:InvalidRepresentation` for name and password rules, `wsman:AlreadyExists`,
//!   `wsman:QuotaLimit` for a full table), the reply the new account's EPR.
//! - Put on CIM_Account: `UserPassword` (a new password), `EnabledState` or `RequestedState`
//!   (2 enable, 3 disable); every other property must equal the current value. Refusals are
//!   `wxf:InvalidRepresentation` / `InvalidValues` naming the rule (password policy, last
//!   enabled Administrator, read-only property), as Put of thresholds does.
//! - `CIM_Account.RequestStateChange(RequestedState)`: 2 / 3 as above, 5 No Change; 4097
//!   (Invalid State Transition) when it would disable the last enabled Administrator; 1 for any
//!   other state.
//! - Delete on CIM_Account: `wsman:ActionNotSupported` with a message when it is the last enabled
//!   Administrator (the one account that cannot be deleted; every other can).
//! - Put on CIM_AccountSettingData: `MaximumSuccessiveLoginFailures` (1..=255),
//!   `LockoutWindow` and `LockoutPeriod` (intervals, 1 s to a day). CIM_AccountSettingData has
//!   no standard properties for the window and the lock period; these two are wsbmc's
//!   additions to the class (iDRAC's FailWindow and PenaltyTime). Out of range is
//!   `wxf:InvalidRepresentation`.
//!
//! Who may call what is not decided here: wsman authorizes each request (`wsbmc_accounts::
//! authorize`, ConfigureUsers for these classes) before the model sees it.
//!
//! The password is write-only: CIM_Account.UserPassword is always NULL when read (DSP1034), and
//! nothing of the stored record (salt, key, Digest HA1) is rendered anywhere.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Ref, RefCell, RefMut};
use wsbmc_wsman::text::{Dec, cat};

use wsbmc_accounts::table::{MAX_ACCOUNTS, validate_name};
use wsbmc_accounts::{
    Account, AccountError, AccountTable, Change, LockoutPolicy, NewPassword, PasswordError,
    PolicyError, Privilege, Role,
};
use wsbmc_wsman::{
    Epr, Fault, FaultDetail, FaultKind, PropertyValue, Quoted, Representation, XmlWriter,
};

use crate::datetime::CimDateTime;
use crate::kind::{BMC, Item, Kind};
use crate::model::{Model, SystemInfo, epr_matches, internal};
use crate::platform::NotPersisted;
use crate::render::scalar_text;
use crate::schema::{
    CIM_COLLECTION, CIM_COMPUTER_SYSTEM, CIM_ENABLED_LOGICAL_ELEMENT, CIM_HOSTED_DEPENDENCY,
    CIM_MANAGED_ELEMENT, CIM_SERVICE, CimType, ClassDef, DEPENDENCY_KEYS, INSTANCE_ID, a, class, k,
    p, r,
};
use crate::value::{Instance, Value};
use crate::write::{Given, check_read_only, given, invalid as invalid_repr};

/// What the model needs from the agent to manage accounts.
pub trait Accounts {
    /// The table. The model borrows it inside one call and never across calls.
    fn table(&self) -> &RefCell<AccountTable>;

    /// Checks `password` against the policy for `name` and hashes it (the agent's salt, round
    /// count and Digest HA1s).
    fn hash_password(&self, name: &str, password: &[u8]) -> Result<NewPassword, PasswordError>;

    /// Whether a change could be persisted now; asked before anything changes.
    fn can_persist(&self) -> Result<(), NotPersisted> {
        Ok(())
    }

    /// Creates an account in `table` (CreateAccount, WS-Transfer Create). The platform may
    /// route it: an unprovisioned device creates its first Administrator through the
    /// provisioning path (`AccountTable::provision_checked`) instead.
    fn create(
        &self,
        table: &mut AccountTable,
        name: &str,
        role: Role,
        password: NewPassword,
    ) -> Result<Change, AccountError> {
        table.create(name, role, password)
    }

    /// A change was made: persist `change.write`, record `change.audit`.
    fn commit(&self, change: Change);

    /// Monotonic milliseconds, to show locked accounts as locked.
    fn now_ms(&self) -> u64;

    /// Who is making the request, for the audit of settings changes.
    fn caller(&self) -> String {
        String::from("wsman")
    }

    /// Whether the caller may see the accounts and the lockout settings (it holds
    /// `ConfigureUsers`). wsman authorizes a request by the class it names, but a polymorphic
    /// or association request names a base class (CIM_EnabledLogicalElement, CIM_Dependency)
    /// and would reach CIM_Account and its links; answering `false` leaves them out of every
    /// result (the roles, privileges and services stay: they say what exists, not who).
    fn caller_sees_accounts(&self) -> bool {
        true
    }
}

// ---- Return codes -----------------------------------------------------------------------------

/// CreateAccount: the user name breaks a naming rule (empty, over 16 bytes, not starting with a
/// letter, a character other than letters, digits, `_`, `-`, `.`, or the reserved name).
pub const NAME_REFUSED: u32 = 32768;
/// CreateAccount: the password breaks the policy (under 8 or over 64 bytes, a NUL, or the user
/// name in any case).
pub const PASSWORD_REFUSED: u32 = 32769;
/// CreateAccount: an account of that name (ignoring ASCII case) exists.
pub const DUPLICATE: u32 = 32770;
/// CreateAccount: all 16 slots are taken.
pub const TABLE_FULL: u32 = 32771;
/// CreateAccount: Failed (CIM's own code 2; RequestStateChange's "Failed" is 4): a disabled
/// Administrator where no enabled one exists.
pub const CREATE_FAILED: u32 = 2;
/// RequestStateChange: Invalid State Transition (CIM's own code), for the last Administrator.
pub const INVALID_STATE_TRANSITION: u32 = 4097;

// ---- Classes ----------------------------------------------------------------------------------

const STR: CimType = CimType::String;
const SERVICE_KEYS: &[&str] = &[
    "CreationClassName",
    "Name",
    "SystemCreationClassName",
    "SystemName",
];

/// An account (DSP1034 §7.1).
pub static CIM_ACCOUNT: ClassDef = class(
    "CIM_Account",
    &CIM_ENABLED_LOGICAL_ELEMENT,
    SERVICE_KEYS,
    &[
        k("CreationClassName"),
        k("Name"),
        k("SystemCreationClassName"),
        k("SystemName"),
        p("UserID", STR),
        a("UserPassword", STR),
    ],
);

/// The identity an account confers (DSP1034 §7.3), which roles collect (DSP1039).
pub static CIM_IDENTITY: ClassDef = class(
    "CIM_Identity",
    &CIM_MANAGED_ELEMENT,
    INSTANCE_ID,
    &[
        p("CurrentlyAuthenticated", CimType::Boolean),
        k("InstanceID"),
    ],
);

pub static CIM_SECURITY_SERVICE: ClassDef =
    crate::schema::abstract_class("CIM_SecurityService", Some(&CIM_SERVICE), SERVICE_KEYS, &[]);

/// DSP1034's central class.
pub static CIM_ACCOUNT_MANAGEMENT_SERVICE: ClassDef = class(
    "CIM_AccountManagementService",
    &CIM_SECURITY_SERVICE,
    SERVICE_KEYS,
    &[],
);

/// DSP1039's central class.
pub static CIM_ROLE_BASED_AUTHORIZATION_SERVICE: ClassDef = class(
    "CIM_RoleBasedAuthorizationService",
    &CIM_SECURITY_SERVICE,
    SERVICE_KEYS,
    &[],
);

/// A role: a collection of identities and privileges (DSP1039 §7.2).
pub static CIM_ROLE: ClassDef = class(
    "CIM_Role",
    &CIM_COLLECTION,
    &["CreationClassName", "Name"],
    &[
        p("BusinessCategory", STR),
        p("CommonName", STR),
        k("CreationClassName"),
        k("Name"),
        a("RoleCharacteristics", CimType::Uint16),
    ],
);

/// One privilege (DSP1039 §7.3).
pub static CIM_PRIVILEGE: ClassDef = class(
    "CIM_Privilege",
    &CIM_MANAGED_ELEMENT,
    INSTANCE_ID,
    &[
        a("Activities", CimType::Uint16),
        a("ActivityQualifiers", STR),
        k("InstanceID"),
        p("PrivilegeGranted", CimType::Boolean),
        a("QualifierFormats", CimType::Uint16),
        p("RepresentsAuthorizationRights", CimType::Boolean),
    ],
);

/// The lockout rule (DSP1034 §7.6, plus the window and period, see the module documentation).
pub static CIM_ACCOUNT_SETTING_DATA: ClassDef = class(
    "CIM_AccountSettingData",
    &crate::network::CIM_SETTING_DATA,
    INSTANCE_ID,
    &[
        a("ComplexPasswordRulesEnforced", CimType::Uint16),
        p("InactivityTimeout", CimType::DateTime),
        p("LockoutPeriod", CimType::DateTime),
        p("LockoutWindow", CimType::DateTime),
        p("MaximumPasswordExpiration", CimType::DateTime),
        p("MaximumSuccessiveLoginFailures", CimType::Uint16),
        p("PasswordExpiration", CimType::DateTime),
        p("PasswordHistoryDepth", CimType::Uint16),
    ],
);

/// The system → an account on it.
pub static CIM_ACCOUNT_ON_SYSTEM: ClassDef = class(
    "CIM_AccountOnSystem",
    &CIM_HOSTED_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[],
);

/// A service → what it manages.
pub static CIM_SERVICE_AFFECTS_ELEMENT: ClassDef = ClassDef {
    name: "CIM_ServiceAffectsElement",
    parent: None,
    is_abstract: false,
    keys: &["AffectedElement", "AffectingElement"],
    props: &[
        r("AffectedElement"),
        r("AffectingElement"),
        a("ElementEffects", CimType::Uint16),
        a("OtherElementEffectsDescriptions", STR),
    ],
};

/// An identity → the account it represents.
pub static CIM_ASSIGNED_IDENTITY: ClassDef = ClassDef {
    name: "CIM_AssignedIdentity",
    parent: None,
    is_abstract: false,
    keys: &["IdentityInfo", "ManagedElement"],
    props: &[r("IdentityInfo"), r("ManagedElement")],
};

/// A role → the element its privileges apply to.
pub static CIM_ROLE_LIMITED_TO_TARGET: ClassDef = ClassDef {
    name: "CIM_RoleLimitedToTarget",
    parent: None,
    is_abstract: false,
    keys: &["DefiningRole", "TargetElement"],
    props: &[r("DefiningRole"), r("TargetElement")],
};

// ---- Instances --------------------------------------------------------------------------------

/// Every privilege, in the order of their instances.
pub const PRIVILEGES: [Privilege; 5] = [
    Privilege::Login,
    Privilege::ConfigureComponents,
    Privilege::ConfigureManager,
    Privilege::ConfigureUsers,
    Privilege::ConfigureSelf,
];

/// Every (role, privilege) pair of `Role::privileges`, as indices into `Role::ALL` and
/// [`PRIVILEGES`]: the CIM_MemberOfCollection links, in order.
pub(crate) fn grant(mut i: usize) -> Option<(usize, usize)> {
    for (r, role) in Role::ALL.iter().enumerate() {
        let privileges = role.privileges();
        if let Some(p) = privileges.get(i) {
            return Some((r, PRIVILEGES.iter().position(|q| q == p)?));
        }
        i -= privileges.len();
    }
    None
}

pub(crate) fn grant_count() -> usize {
    Role::ALL.iter().map(|r| r.privileges().len()).sum()
}

/// Index of a role in `Role::ALL`.
pub(crate) fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

/// The occupied slots and their roles: `roles[slot]` is the role's index + 1, 0 for a free
/// slot. What enumeration cursors walk: a slot is a stable position while accounts come and go.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Slots {
    pub(crate) roles: [u8; MAX_ACCOUNTS],
    /// Whether the caller sees the accounts and the settings at all
    /// ([`Accounts::caller_sees_accounts`]); when not, every slot reads as free.
    pub(crate) visible: bool,
}

impl Slots {
    pub(crate) fn of(table: &AccountTable, visible: bool) -> Self {
        let mut s = Slots {
            visible,
            ..Slots::default()
        };
        if !visible {
            return s;
        }
        for (slot, account) in table.list() {
            if let Some(r) = s.roles.get_mut(usize::from(slot)) {
                *r = role_index(account.role()) as u8 + 1;
            }
        }
        s
    }

    pub(crate) fn role(&self, slot: usize) -> Option<usize> {
        self.roles
            .get(slot)
            .filter(|r| **r != 0)
            .map(|r| usize::from(*r - 1))
    }
}

pub const ACCOUNT_SERVICE_NAME: &str = "Account Management Service";
pub const RBA_SERVICE_NAME: &str = "Role Based Authorization Service";
pub const SETTINGS_ID: &str = "wsbmc:accounts:settings";

fn bmc_scoped<'a>(
    system: &'a SystemInfo,
    class: &'static ClassDef,
    name: Cow<'a, str>,
) -> [(&'static str, Cow<'a, str>); 4] {
    [
        ("CreationClassName", Cow::Borrowed(class.name)),
        ("Name", name),
        (
            "SystemCreationClassName",
            Cow::Borrowed(CIM_COMPUTER_SYSTEM.name),
        ),
        ("SystemName", Cow::Borrowed(system.bmc_name.as_str())),
    ]
}

pub fn account_keys<'a>(system: &'a SystemInfo, name: &str) -> [(&'static str, Cow<'a, str>); 4] {
    bmc_scoped(system, &CIM_ACCOUNT, Cow::Owned(String::from(name)))
}

/// The account management service, or with `rba` the role based authorization service: its
/// class, its name and its description.
fn service(rba: bool) -> (&'static ClassDef, &'static str, &'static str) {
    if rba {
        (
            &CIM_ROLE_BASED_AUTHORIZATION_SERVICE,
            RBA_SERVICE_NAME,
            "The fixed roles Administrator, Operator and ReadOnly and their privileges",
        )
    } else {
        (
            &CIM_ACCOUNT_MANAGEMENT_SERVICE,
            ACCOUNT_SERVICE_NAME,
            "Creates, changes and deletes the BMC's local accounts (up to 16)",
        )
    }
}

pub fn service_keys(system: &SystemInfo, rba: bool) -> [(&'static str, Cow<'_, str>); 4] {
    let (class, name, _) = service(rba);
    bmc_scoped(system, class, Cow::Borrowed(name))
}

pub fn identity_id(name: &str) -> String {
    cat(&["wsbmc:identity:", name])
}

pub fn role_keys(role: Role) -> [(&'static str, Cow<'static, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_ROLE.name)),
        ("Name", Cow::Borrowed(role.name())),
    ]
}

pub fn privilege_id(p: Privilege) -> String {
    cat(&["wsbmc:privilege:", p.name()])
}

/// What a privilege lets its holder do, as CIM_Privilege.Activities (2 Create, 3 Delete,
/// 4 Detect, 5 Read, 6 Write, 7 Execute) and a sentence.
fn activities(p: Privilege) -> (&'static [u16], &'static str) {
    match p {
        Privilege::Login => (&[4, 5], "Log in and read everything but the accounts"),
        Privilege::ConfigureComponents => (
            &[6, 7],
            "Control host power, set sensor thresholds, clear the log",
        ),
        Privilege::ConfigureManager => (&[2, 3, 6], "Change the BMC's own settings"),
        Privilege::ConfigureUsers => (
            &[2, 3, 5, 6],
            "Read and change accounts, roles and the lockout settings",
        ),
        Privilege::ConfigureSelf => (&[6], "Change one's own password"),
    }
}

/// EnabledState of an account: 2 Enabled, 3 Disabled, 6 Enabled but Offline while a lockout
/// lasts (it exists and is enabled, but cannot log in until the period ends).
fn enabled_state(enabled: bool, locked: bool) -> u16 {
    match (enabled, locked) {
        (false, _) => 3,
        (true, true) => 6,
        (true, false) => 2,
    }
}

/// Account `slot`, built once for both its readers (rendering, Put's read-only check): a
/// generic builder taking the reader was compiled again for each.
pub(crate) fn account_instance<'m>(model: &Model<'m>, slot: usize) -> Result<Instance<'m>, Fault> {
    let accounts = model.accounts()?;
    let table = table(accounts)?;
    let account = in_slot(&table, slot)?;
    let name = account.name();
    let mut i = Instance::with_capacity(&CIM_ACCOUNT, 14);
    i.set_keys(&mut account_keys(model.system(), name));
    i.set_str("Caption", "Account");
    i.set_string("Description", cat(&[account.role().name(), " account"]));
    i.set_string("ElementName", String::from(name));
    i.set_string("UserID", String::from(name));
    let state = enabled_state(account.enabled(), account.is_locked(accounts.now_ms()));
    i.set_u16("EnabledState", state);
    // What was last asked for is what holds: a change is carried out at once.
    let requested = if account.enabled() { 2 } else { 3 };
    i.set_u16("RequestedState", requested);
    i.set_u16("EnabledDefault", 2);
    // Write-only: never the stored record, never anything derived from it.
    i.set_null("UserPassword");
    Ok(i)
}

pub(crate) fn account_name(model: &Model<'_>, slot: usize) -> Result<String, Fault> {
    let accounts = model.accounts()?;
    Ok(String::from(in_slot(&*table(accounts)?, slot)?.name()))
}

/// The account in `slot`; gone when the slot was freed since the request named it.
fn in_slot(table: &AccountTable, slot: usize) -> Result<&Account, Fault> {
    table
        .list()
        .find(|(s, _)| usize::from(*s) == slot)
        .map(|(_, a)| a)
        .ok_or_else(crate::model::gone)
}

pub(crate) fn identity_instance(name: &str) -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_IDENTITY, 6);
    i.set_string("InstanceID", identity_id(name));
    i.set_str("Caption", "Identity");
    i.set_str(
        "Description",
        "The identity an account confers; its roles are its collections",
    );
    i.set_string("ElementName", String::from(name));
    // The model does not know who is logged in at the moment; NULL rather than a guess.
    i.set_null("CurrentlyAuthenticated");
    i
}

pub(crate) fn service_instance(system: &SystemInfo, rba: bool) -> Instance<'_> {
    let (class, name, description) = service(rba);
    let mut i = Instance::with_capacity(class, 20);
    i.set_keys(&mut service_keys(system, rba));
    i.set_str("Caption", name);
    i.set_str("Description", description);
    i.set_str("ElementName", name);
    i.set_working();
    i.set_bool("Started", true);
    i.set_str("StartMode", "Automatic");
    i
}

pub(crate) fn role_instance(role: Role) -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_ROLE, 8);
    i.set_keys(&mut role_keys(role));
    i.set_str("Caption", "Role");
    i.set_string(
        "Description",
        cat(&[
            role.name(),
            ": ",
            match role {
                Role::Administrator => "everything, accounts included",
                Role::Operator => "read, power control, thresholds and the log",
                Role::ReadOnly => "read everything but the accounts",
            },
        ]),
    );
    i.set_str("ElementName", role.name());
    i.set_str("CommonName", role.name());
    // 2 Static: the roles are fixed; their privileges cannot be changed.
    i.set_u16s("RoleCharacteristics", &[2]);
    i
}

pub(crate) fn privilege_instance(p: Privilege) -> Instance<'static> {
    let (acts, text) = activities(p);
    let mut i = Instance::with_capacity(&CIM_PRIVILEGE, 10);
    i.set_string("InstanceID", privilege_id(p));
    i.set_str("Caption", "Privilege");
    i.set_str("Description", text);
    i.set_str("ElementName", p.name());
    i.set("Activities", Value::u16s(acts.iter().copied()));
    i.set_empty("ActivityQualifiers");
    i.set_empty("QualifierFormats");
    i.set_bool("PrivilegeGranted", true);
    i.set_bool("RepresentsAuthorizationRights", true);
    i
}

pub(crate) fn settings_instance(policy: LockoutPolicy) -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_ACCOUNT_SETTING_DATA, 12);
    i.set_str("InstanceID", SETTINGS_ID);
    i.set_str("Caption", "Account lockout");
    i.set_str(
        "Description",
        "Failed logins within LockoutWindow that lock an account for LockoutPeriod",
    );
    i.set_str("ElementName", "Account lockout");
    i.set_u16(
        "MaximumSuccessiveLoginFailures",
        u16::from(policy.threshold()),
    );
    i.set(
        "LockoutWindow",
        Value::DateTime(CimDateTime::Interval(policy.window_ms() / 1000)),
    );
    i.set(
        "LockoutPeriod",
        Value::DateTime(CimDateTime::Interval(policy.duration_ms() / 1000)),
    );
    // The password policy is fixed (minimum length, not the name); these have no source.
    i.set_empty("ComplexPasswordRulesEnforced");
    i
}

// ---- Changes ----------------------------------------------------------------------------------

fn invalid_param(detail: Option<FaultDetail>, message: impl Into<Cow<'static, str>>) -> Fault {
    Fault {
        kind: FaultKind::InvalidParameter,
        detail,
        message: Some(message.into()),
    }
}

fn busy() -> Fault {
    internal("the account table is busy")
}

/// The table, to read; busy while a change holds it.
pub(crate) fn table(accounts: &dyn Accounts) -> Result<Ref<'_, AccountTable>, Fault> {
    accounts.table().try_borrow().map_err(|_| busy())
}

/// The table, to change: only when the change could be persisted now.
fn table_for_change(accounts: &dyn Accounts) -> Result<RefMut<'_, AccountTable>, Fault> {
    accounts.can_persist().map_err(|e| e.fault())?;
    accounts.table().try_borrow_mut().map_err(|_| busy())
}

/// A password as the client sent it: text, taken as UTF-8 bytes.
fn password_bytes(v: &PropertyValue) -> Option<&[u8]> {
    match v {
        PropertyValue::Text(t) => Some(t.as_bytes()),
        _ => None,
    }
}

/// CreateAccount, its parameters checked by the method layer (names, duplicates, System an
/// EPR): writes the ReturnValue and, on success, the new account's EPRs.
pub(crate) fn create_account(
    model: &Model<'_>,
    system: &Epr,
    template: Option<&PropertyValue>,
    out: &mut XmlWriter,
) -> Result<(), Fault> {
    let accounts = model.accounts()?;
    if !names_the_bmc(model, system)? {
        return Err(invalid_param(
            Some(FaultDetail::InvalidValue),
            cat(&[
                "System must be the BMC's system (",
                CIM_COMPUTER_SYSTEM.name,
                " ",
                &model.system().bmc_name,
                ")",
            ]),
        ));
    }
    let template = match template {
        Some(PropertyValue::Instance(t)) => t,
        None => {
            return Err(invalid_param(None, "parameter AccountTemplate is required"));
        }
        Some(_) => {
            return Err(invalid_param(
                Some(FaultDetail::TypeMismatch),
                "AccountTemplate must be an embedded CIM_Account instance",
            ));
        }
    };
    let t = Template::parse(template)?;
    let code = match add(accounts, &t)? {
        Ok(()) => 0,
        Err(e) => create_code(e),
    };
    write_create_output(model, out, t.user, code)
}

/// Adds the account a template describes, cheapest checks first; the table's refusal, or a
/// fault when the table is busy or the store cannot keep the change.
fn add(accounts: &dyn Accounts, t: &Template) -> Result<Result<(), AccountError>, Fault> {
    if let Err(e) = validate_name(t.user) {
        return Ok(Err(AccountError::Name(e)));
    }
    {
        let table = table(accounts)?;
        if table
            .list()
            .any(|(_, a)| a.name().eq_ignore_ascii_case(t.user))
        {
            return Ok(Err(AccountError::Duplicate));
        }
        if table.list().count() >= MAX_ACCOUNTS {
            return Ok(Err(AccountError::Full));
        }
        // A disabled new Administrator where no enabled one exists would leave nobody to
        // manage accounts: the table would refuse to disable it after creating it.
        let admin = table
            .list()
            .any(|(_, a)| a.role() == Role::Administrator && a.enabled());
        if !t.enabled && t.role == Role::Administrator && !admin {
            return Ok(Err(AccountError::LastAdministrator));
        }
    }
    // Only now the slow hash: a refused name or a full table costs no PBKDF2.
    let password = match accounts.hash_password(t.user, t.password) {
        Ok(p) => p,
        Err(e) => return Ok(Err(AccountError::Password(e))),
    };
    let mut table = table_for_change(accounts)?;
    let created = match accounts.create(&mut table, t.user, t.role, password) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let disabled = if t.enabled {
        None
    } else {
        // Cannot be refused: the pre-check above left an enabled Administrator besides a new
        // one.
        table.set_enabled(t.user, false).ok()
    };
    drop(table);
    accounts.commit(created);
    if let Some(c) = disabled {
        accounts.commit(c);
    }
    Ok(Ok(()))
}

/// WS-Transfer Create of a CIM_Account: the body is what CreateAccount's AccountTemplate is,
/// the answer the new account's EPR. The table's refusals are faults here (there is no
/// ReturnValue): a name or password rule `wxf:InvalidRepresentation`, a duplicate
/// `wsman:AlreadyExists`, a full table `wsman:QuotaLimit`.
pub(crate) fn create_resource(model: &Model<'_>, body: &Representation) -> Result<Epr, Fault> {
    let accounts = model.accounts()?;
    // The template's faults are about the body here, not about a parameter.
    let t = Template::parse(body).map_err(|f| Fault {
        kind: FaultKind::InvalidRepresentation,
        detail: Some(FaultDetail::InvalidValues),
        message: f.message,
    })?;
    match add(accounts, &t)? {
        Ok(()) => {}
        Err(AccountError::Duplicate) => {
            return Err(Fault::new(FaultKind::AlreadyExists).message(cat(&[
                "an account named ",
                &Quoted(t.user).to_text(),
                " exists",
            ])));
        }
        Err(AccountError::Full) => {
            return Err(Fault::new(FaultKind::QuotaLimit).message(cat(&[
                "all ",
                Dec::usize(MAX_ACCOUNTS).as_str(),
                " account slots are taken",
            ])));
        }
        Err(AccountError::Password(e)) => {
            return Err(invalid_repr(cat(&[
                "the password is refused: ",
                password_rule(e),
            ])));
        }
        Err(AccountError::Name(e)) => {
            return Err(invalid_repr(cat(&[
                "the user name is refused: ",
                name_rule(e),
            ])));
        }
        Err(e) => return Err(invalid_repr(error_text(e))),
    }
    model.epr(&Item::new(Kind::Account, new_slot(accounts, t.user)?))
}

/// The slot of the account just created.
fn new_slot(accounts: &dyn Accounts, user: &str) -> Result<usize, Fault> {
    table(accounts)?
        .get(user)
        .map(|(s, _)| usize::from(s))
        .ok_or_else(|| internal("the new account vanished"))
}

fn create_code(e: AccountError) -> u32 {
    match e {
        AccountError::Name(_) => NAME_REFUSED,
        AccountError::Password(_) | AccountError::WrongName => PASSWORD_REFUSED,
        AccountError::Duplicate => DUPLICATE,
        AccountError::Full => TABLE_FULL,
        AccountError::NotFound | AccountError::LastAdministrator => CREATE_FAILED,
    }
}

fn write_create_output(
    model: &Model<'_>,
    out: &mut XmlWriter,
    user: &str,
    code: u32,
) -> Result<(), Fault> {
    // Both references made before anything is written: a fault leaves no partial output.
    let mut refs = Vec::new();
    if code == 0 {
        let slot = new_slot(model.accounts()?, user)?;
        for kind in [Kind::Account, Kind::AccountIdentity] {
            refs.push(model.epr(&Item::new(kind, slot))?);
        }
    }
    let uri = CIM_ACCOUNT_MANAGEMENT_SERVICE.resource_uri();
    out.open("p:CreateAccount_OUTPUT", &[("xmlns:p", &uri)]);
    for (tag, epr) in ["p:Account", "p:Identities"].iter().zip(&refs) {
        out.open(tag, &[]);
        wsbmc_wsman::write_epr(out, epr);
        out.close(tag);
    }
    out.open("p:ReturnValue", &[]);
    out.text_int(false, code.into());
    out.close("p:ReturnValue");
    out.close("p:CreateAccount_OUTPUT");
    Ok(())
}

/// Whether `epr` names the BMC's CIM_ComputerSystem, the system accounts live on.
fn names_the_bmc(model: &Model<'_>, epr: &Epr) -> Result<bool, Fault> {
    Ok(epr_matches(&model.epr(&BMC)?, epr))
}

/// Name and ElementName: a template may give them, equal to its UserID.
fn is_same_as_user(name: &str) -> bool {
    ["Name", "ElementName"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// The properties an AccountTemplate may give: the four read (UserID, UserPassword, Role,
/// EnabledState, by these places), then those checked against UserID, then the keys.
const TEMPLATE_PROPS: [&str; 9] = [
    "UserID",
    "UserPassword",
    "Role",
    "EnabledState",
    "Name",
    "ElementName",
    "CreationClassName",
    "SystemCreationClassName",
    "SystemName",
];

/// The AccountTemplate of a CreateAccount, checked.
struct Template<'t> {
    user: &'t str,
    password: &'t [u8],
    role: Role,
    enabled: bool,
}

impl<'t> Template<'t> {
    fn parse(t: &'t Representation) -> Result<Self, Fault> {
        if !t.class.eq_ignore_ascii_case(CIM_ACCOUNT.name) {
            return Err(invalid_param(
                Some(FaultDetail::InvalidValue),
                cat(&["AccountTemplate must be a CIM_Account, not ", &t.class]),
            ));
        }
        let mut user: Option<&str> = None;
        let mut password = None;
        let mut role = Role::ReadOnly;
        let mut enabled = true;
        for prop in &t.properties {
            let name = prop.name.as_str();
            let v = &prop.value;
            if *v == PropertyValue::Nil {
                continue;
            }
            let text = v.text().unwrap_or("");
            // One scan of the names, the property then chosen by its place in the table.
            match TEMPLATE_PROPS
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
            {
                Some(0) => user = Some(text),
                Some(1) => {
                    if password.is_some() {
                        return Err(invalid_param(
                            Some(FaultDetail::InvalidValue),
                            "AccountTemplate gives UserPassword twice",
                        ));
                    }
                    password = Some(password_bytes(v).ok_or_else(|| {
                        invalid_param(Some(FaultDetail::TypeMismatch), "UserPassword must be text")
                    })?);
                }
                Some(2) => {
                    role = Role::from_name(text).ok_or_else(|| {
                        invalid_param(
                            Some(FaultDetail::InvalidValue),
                            cat(&[
                                "Role must be Administrator, Operator or ReadOnly, not ",
                                &Quoted(text).to_text(),
                            ]),
                        )
                    })?;
                }
                Some(3) => {
                    enabled = match text {
                        "2" => true,
                        "3" => false,
                        _ => {
                            return Err(invalid_param(
                                Some(FaultDetail::InvalidValue),
                                "EnabledState must be 2 (Enabled) or 3 (Disabled)",
                            ));
                        }
                    };
                }
                // Name and ElementName are checked against UserID below, once it is known;
                // the keys are the service's to assign, what a template says for them unused.
                Some(_) => {}
                None => {
                    return Err(invalid_param(
                        Some(FaultDetail::InvalidName),
                        cat(&[
                            "AccountTemplate property ",
                            name,
                            " cannot be set at creation",
                        ]),
                    ));
                }
            }
        }
        let user = user.ok_or_else(|| invalid_param(None, "AccountTemplate needs a UserID"))?;
        if let Some(prop) = t.properties.iter().find(|p| {
            is_same_as_user(&p.name)
                && p.value != PropertyValue::Nil
                && p.value.text() != Some(user)
        }) {
            return Err(invalid_param(
                Some(FaultDetail::InvalidValue),
                cat(&["AccountTemplate ", &prop.name, " must equal its UserID"]),
            ));
        }
        let password =
            password.ok_or_else(|| invalid_param(None, "AccountTemplate needs a UserPassword"))?;
        Ok(Self {
            user,
            password,
            role,
            enabled,
        })
    }
}

/// Put on CIM_Account or CIM_AccountSettingData; `None` for any other item.
pub(crate) fn put(
    model: &Model<'_>,
    item: &Item,
    body: &Representation,
    out: &mut XmlWriter,
) -> Option<Result<(), Fault>> {
    let done = match item.kind {
        Kind::Account => put_account(model, item, body),
        Kind::AccountSettings => put_settings(model, body),
        _ => return None,
    };
    // The instance as it now reads, rendered at one call site for both classes.
    Some(done.and_then(|()| model.render_item(item, out, None)))
}

/// A single scalar property's text, or `None` when absent or NULL.
fn scalar<'b>(given: &Given<'b>, name: &str) -> Option<&'b PropertyValue> {
    given
        .iter()
        .find(|(d, _)| d.name == name)
        .and_then(|(_, v)| v.first().copied())
        .filter(|v| **v != PropertyValue::Nil)
}

fn state_request(v: Option<&PropertyValue>, name: &str) -> Result<Option<bool>, Fault> {
    match v.and_then(|v| v.text()) {
        None => Ok(None),
        Some("2") => Ok(Some(true)),
        Some("3") => Ok(Some(false)),
        Some(other) => Err(invalid_repr(cat(&[
            name,
            " may be set to 2 (Enabled) or 3 (Disabled), not ",
            &Quoted(other).to_text(),
        ]))),
    }
}

fn put_account(model: &Model<'_>, item: &Item, body: &Representation) -> Result<(), Fault> {
    let accounts = model.accounts()?;
    let given = given(&CIM_ACCOUNT, &CIM_MANAGED_ELEMENT, body)?;
    let current = account_instance(model, item.ix)?;
    check_read_only(
        &given,
        &[&["UserPassword", "EnabledState", "RequestedState"]],
        &current,
    )?;
    // The instance as it reads now holds the name and the state: no second look at the table.
    let name = current
        .get("UserID")
        .and_then(Value::as_str)
        .ok_or_else(crate::model::gone)?;
    let enabled_now = current.get("RequestedState") == Some(&Value::U16(2));

    // A state as read back (EnabledState 6 while locked) asks for no change: `winrm set` sends
    // the whole representation with one element edited.
    let unchanged = |prop: &str| {
        let shown = current.get(prop).and_then(scalar_text);
        scalar(&given, prop).filter(move |v| v.text() != shown.as_deref())
    };
    let from_enabled = state_request(unchanged("EnabledState"), "EnabledState")?;
    let from_requested = state_request(unchanged("RequestedState"), "RequestedState")?;
    let want_enabled = match (from_enabled, from_requested) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid_repr(
                "EnabledState and RequestedState ask for different states",
            ));
        }
        (a, b) => a.or(b).filter(|e| *e != enabled_now),
    };
    let password = match given.iter().find(|(d, _)| d.name == "UserPassword") {
        None => None,
        Some((_, values)) => match values.as_slice() {
            [v] if **v == PropertyValue::Nil => None,
            [] => None,
            [v] => {
                let bytes =
                    password_bytes(v).ok_or_else(|| invalid_repr("UserPassword must be text"))?;
                Some(accounts.hash_password(name, bytes).map_err(|e| {
                    invalid_repr(cat(&["the password is refused: ", password_rule(e)]))
                })?)
            }
            _ => return Err(invalid_repr("UserPassword takes one value")),
        },
    };
    if want_enabled.is_none() && password.is_none() {
        return Ok(());
    }
    // At most two, so in place rather than in a Vec (its push and drop were flash).
    let mut changes: [Option<Change>; 2] = [None, None];
    {
        let mut table = table_for_change(accounts)?;
        // The state first: it is the change that can be refused, and then nothing changed.
        if let Some(enabled) = want_enabled {
            changes[0] = Some(table.set_enabled(name, enabled).map_err(account_fault)?);
        }
        if let Some(password) = password {
            changes[1] = Some(table.set_password(name, password).map_err(account_fault)?);
        }
    }
    for c in changes.into_iter().flatten() {
        accounts.commit(c);
    }
    Ok(())
}

/// The rule a name broke, in words.
fn name_rule(e: wsbmc_accounts::NameError) -> &'static str {
    use wsbmc_accounts::NameError;
    match e {
        NameError::Empty => "it is empty",
        NameError::TooLong => "longer than 16 bytes",
        NameError::FirstNotLetter => "it must start with a letter",
        NameError::BadCharacter => "only letters, digits, '_', '-' and '.' are allowed",
        NameError::Reserved => "it is reserved",
    }
}

/// The rule a password broke, in words.
fn password_rule(e: PasswordError) -> &'static str {
    match e {
        PasswordError::TooShort => "shorter than 8 bytes",
        PasswordError::TooLong => "longer than 64 bytes",
        PasswordError::Nul => "it contains a NUL",
        PasswordError::SameAsName => "it is the user name",
    }
}

/// The table's refusal in its own words, for the five faults that quote it.
fn error_text(e: AccountError) -> String {
    cat(&e.text())
}

fn account_fault(e: AccountError) -> Fault {
    match e {
        AccountError::NotFound => crate::model::gone(),
        e => invalid_repr(error_text(e)),
    }
}

/// Milliseconds of a cim:Interval written as an `xs:duration` of whole seconds (`PT300S`,
/// `P1DT2H`, `PT60.000S`); `None` for a negative or fractional one, or one with years or months,
/// which have no fixed length (wsbmc-wsman counts them as 365 and 30 days, fine for a timeout's
/// upper bound, not for a policy an operator reads back). Read by wsbmc-wsman's parser, the one
/// OperationTimeout and MaxTime go through, so one text means one length everywhere.
fn interval_ms(text: &str) -> Option<u64> {
    // Years or months stand in the date part, before the 'T'.
    if text
        .bytes()
        .take_while(|&b| b != b'T')
        .any(|b| matches!(b, b'Y' | b'M'))
    {
        return None;
    }
    let d = wsbmc_wsman::duration::parse(text)?;
    (!d.negative && d.ms % 1000 == 0).then_some(d.ms)
}

fn put_settings(model: &Model<'_>, body: &Representation) -> Result<(), Fault> {
    let accounts = model.accounts()?;
    let given = given(&CIM_ACCOUNT_SETTING_DATA, &CIM_MANAGED_ELEMENT, body)?;
    let policy = table(accounts)?.policy();
    let writable = [
        "MaximumSuccessiveLoginFailures",
        "LockoutWindow",
        "LockoutPeriod",
    ];
    check_read_only(&given, &[&writable], &settings_instance(policy))?;
    let threshold = match scalar(&given, "MaximumSuccessiveLoginFailures") {
        None => policy.threshold(),
        Some(v) => v
            .text()
            // The shared parser, not `parse::<u8>` (an inlined copy of its own, ~0.1 KiB).
            .and_then(|t| wsbmc_wsman::text::parse_u64(t).and_then(|n| u8::try_from(n).ok()))
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                invalid_repr("MaximumSuccessiveLoginFailures must be 1 to 255: lockout cannot be switched off")
            })?,
    };
    let period = |name: &str, now_ms: u64| -> Result<u64, Fault> {
        match scalar(&given, name) {
            None => Ok(now_ms),
            Some(v) => v.wrapped().and_then(interval_ms).ok_or_else(|| {
                invalid_repr(cat(&[name, " must be a cim:Interval of whole seconds"]))
            }),
        }
    };
    let window = period("LockoutWindow", policy.window_ms())?;
    let duration = period("LockoutPeriod", policy.duration_ms())?;
    let next = LockoutPolicy::new(threshold, window, duration).map_err(|e| match e {
        PolicyError::ZeroThreshold => {
            invalid_repr("MaximumSuccessiveLoginFailures must be at least 1")
        }
        PolicyError::Period => {
            invalid_repr("LockoutWindow and LockoutPeriod must be 1 second to 1 day")
        }
    })?;
    if next == policy {
        return Ok(());
    }
    let caller = accounts.caller();
    let change = table_for_change(accounts)?.set_policy(next, &caller);
    accounts.commit(change);
    Ok(())
}

/// Delete on CIM_Account.
pub(crate) fn delete(model: &Model<'_>, item: &Item) -> Result<(), Fault> {
    if item.kind != Kind::Account {
        return Err(Fault::action_mismatch().message(cat(&[
            "Delete is not supported on ",
            item.kind.class().name,
        ])));
    }
    let accounts = model.accounts()?;
    let name = account_name(model, item.ix)?;
    let change = table_for_change(accounts)?
        .delete(&name)
        .map_err(|e| match e {
            AccountError::LastAdministrator => Fault::action_mismatch().message(error_text(e)),
            AccountError::NotFound => crate::model::gone(),
            e => internal(error_text(e)),
        })?;
    accounts.commit(change);
    Ok(())
}

/// CIM_Account.RequestStateChange: the ReturnValue.
pub(crate) fn request_state_change(
    model: &Model<'_>,
    item: &Item,
    requested: u16,
) -> Result<u32, Fault> {
    let enabled = match requested {
        2 => true,
        3 => false,
        5 => return Ok(crate::method::SUCCESS),
        _ => return Ok(crate::method::NOT_SUPPORTED),
    };
    let accounts = model.accounts()?;
    let name = account_name(model, item.ix)?;
    let result = table_for_change(accounts)?.set_enabled(&name, enabled);
    match result {
        Ok(change) => {
            accounts.commit(change);
            Ok(crate::method::SUCCESS)
        }
        Err(AccountError::LastAdministrator) => Ok(INVALID_STATE_TRANSITION),
        Err(AccountError::NotFound) => Err(crate::model::gone()),
        Err(e) => Err(internal(error_text(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_follow_the_role_table() {
        assert_eq!(grant_count(), 10);
        for i in 0..grant_count() {
            let (r, p) = grant(i).unwrap();
            assert!(Role::ALL[r].has(PRIVILEGES[p]));
        }
        assert_eq!(grant(grant_count()), None);
    }

    #[test]
    fn intervals() {
        assert_eq!(interval_ms("PT300S"), Some(300_000));
        assert_eq!(interval_ms("PT5M"), Some(300_000));
        assert_eq!(interval_ms("P1DT1H1M1S"), Some(90_061_000));
        assert_eq!(interval_ms("P1D"), Some(86_400_000));
        assert_eq!(interval_ms(" PT60.000S "), Some(60_000));
        assert_eq!(interval_ms("P"), None);
        assert_eq!(interval_ms("PT"), None);
        assert_eq!(interval_ms("PT1.5S"), None);
        assert_eq!(interval_ms("-PT5S"), None);
        assert_eq!(interval_ms("5S"), None);
        assert_eq!(interval_ms("P1Y"), None);
        assert_eq!(interval_ms("P1M"), None);
        assert_eq!(interval_ms("PT1M"), Some(60_000));
        // Saturates at u64::MAX ms, which is not whole seconds.
        assert_eq!(interval_ms("PT99999999999999999999S"), None);
    }

    #[test]
    fn instances_conform_to_their_classes() {
        for i in [
            role_instance(Role::Operator),
            privilege_instance(Privilege::Login),
            settings_instance(LockoutPolicy::default()),
            identity_instance("x"),
        ] {
            for prop in i.class.properties() {
                assert!(
                    i.get(prop.name).is_none_or(|v| v.conforms(prop)),
                    "{}",
                    prop.name
                );
            }
        }
    }
}
