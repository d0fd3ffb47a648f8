//! Roles, privileges and the one rule that decides whether a role may do an operation.
//!
//! The privilege names are Redfish's standard set (DSP0268, as OpenBMC's bmcweb uses them in
//! `roles.hpp`), so `CIM_Privilege` can render them and a console that knows Redfish reads the
//! same words. The role names are iDRAC's and OpenBMC's.

use core::fmt;

/// What an account may do, coarsely (DSP1039 `CIM_Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Administrator,
    Operator,
    ReadOnly,
}

impl Role {
    /// Every role, strongest first (the order `CIM_Role` instances are rendered in).
    pub const ALL: [Role; 3] = [Role::Administrator, Role::Operator, Role::ReadOnly];

    /// The name consoles show (iDRAC/OpenBMC spelling).
    pub const fn name(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Operator => "Operator",
            Role::ReadOnly => "ReadOnly",
        }
    }

    /// The role a name designates, ASCII case-insensitively (`readonly` from a CLI is fine).
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }

    /// The code persisted for this role (see `persist`); stable, never reused.
    #[cfg(feature = "persist")]
    pub(crate) const fn code(self) -> u8 {
        match self {
            Role::Administrator => 1,
            Role::Operator => 2,
            Role::ReadOnly => 3,
        }
    }

    #[cfg(feature = "persist")]
    pub(crate) const fn from_code(code: u8) -> Option<Role> {
        match code {
            1 => Some(Role::Administrator),
            2 => Some(Role::Operator),
            3 => Some(Role::ReadOnly),
            _ => None,
        }
    }

    /// The privileges this role holds: the single table both [`authorize`] and the rendering
    /// of `CIM_Privilege` read, so what is shown is what is enforced.
    pub const fn privileges(self) -> &'static [Privilege] {
        match self {
            Role::Administrator => &[
                Privilege::Login,
                Privilege::ConfigureComponents,
                Privilege::ConfigureManager,
                Privilege::ConfigureUsers,
                Privilege::ConfigureSelf,
            ],
            Role::Operator => &[
                Privilege::Login,
                Privilege::ConfigureComponents,
                Privilege::ConfigureSelf,
            ],
            Role::ReadOnly => &[Privilege::Login, Privilege::ConfigureSelf],
        }
    }

    pub fn has(self, privilege: Privilege) -> bool {
        self.privileges().contains(&privilege)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One right (Redfish's standard privileges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// Read anything but the account table: WinRM's "read".
    Login,
    /// Act on the managed system: power control, sensor thresholds and methods, clearing the
    /// log. WinRM's "execute" plus the writes an operator needs.
    ConfigureComponents,
    /// Change the BMC's own settings (any other Put/Create/Delete): WinRM's "write".
    ConfigureManager,
    /// Read and change accounts, roles and the lockout settings.
    ConfigureUsers,
    /// Change one's own password (not enforced yet: the wiring decides whether a Put on one's
    /// own `CIM_Account` is allowed with it; today it needs `ConfigureUsers`).
    ConfigureSelf,
}

impl Privilege {
    pub const fn name(self) -> &'static str {
        match self {
            Privilege::Login => "Login",
            Privilege::ConfigureComponents => "ConfigureComponents",
            Privilege::ConfigureManager => "ConfigureManager",
            Privilege::ConfigureUsers => "ConfigureUsers",
            Privilege::ConfigureSelf => "ConfigureSelf",
        }
    }
}

/// A WS-Management action, as wsman parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Identify,
    Get,
    Enumerate,
    Pull,
    Release,
    Subscribe,
    Renew,
    GetStatus,
    Unsubscribe,
    Put,
    Create,
    Delete,
    /// A custom action: a CIM method.
    Invoke,
}

/// One request to authorize: the action, the CIM class it addresses (`None` for Identify and
/// for operations on an enumeration or subscription context whose class wsman no longer
/// knows) and, for Invoke, the method name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation<'a> {
    pub action: Action,
    pub class: Option<&'a str>,
    pub method: Option<&'a str>,
}

impl<'a> Operation<'a> {
    pub const fn new(action: Action, class: Option<&'a str>) -> Self {
        Self {
            action,
            class,
            method: None,
        }
    }

    pub const fn invoke(class: &'a str, method: &'a str) -> Self {
        Self {
            action: Action::Invoke,
            class: Some(class),
            method: Some(method),
        }
    }

    fn class_is(&self, names: &[&str]) -> bool {
        self.class
            .is_some_and(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
    }
}

/// The classes of DSP1034 and DSP1039: reading or changing any of them needs
/// `ConfigureUsers`, because the account list and the lockout settings help a guesser (bmcweb
/// also requires ConfigureUsers to list accounts). `CIM_Role` and `CIM_Privilege` are readable
/// with Login: they say what roles exist, not who holds them.
///
/// Association classes the profiles share with others (`CIM_MemberOfCollection` also puts
/// sensors in their collection, `CIM_ServiceAffectsElement` links power control to the host)
/// are not listed: naming them here would keep a ReadOnly console from reading sensor
/// membership. cim hides their account instances from a caller without `ConfigureUsers`.
pub const ACCOUNT_CLASSES: &[&str] = &[
    "CIM_Account",
    "CIM_AccountManagementService",
    "CIM_AccountManagementCapabilities",
    "CIM_AccountSettingData",
    "CIM_AccountOnSystem",
    "CIM_AssignedIdentity",
    "CIM_Identity",
    "CIM_RoleBasedAuthorizationService",
    "CIM_RoleBasedManagementCapabilities",
];

/// Role classes: readable with Login, changed only with `ConfigureUsers`.
pub const ROLE_CLASSES: &[&str] = &[
    "CIM_Role",
    "CIM_Privilege",
    "CIM_ConcreteDependency",
    "CIM_RoleLimitedToTarget",
];

/// A refusal: the role lacks the privilege the operation needs. wsman answers it with
/// `wsman:AccessDenied` (reference/wsman.md: 500 with the fault, as Windows does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub role: Role,
    pub needed: Privilege,
}

impl Denied {
    /// The fault's message, "The role … lacks the … privilege.": pieces pushed rather than
    /// `format!`ed, so wsman's refusal path carries no formatting call of its own.
    pub fn message(&self) -> alloc::string::String {
        let mut m = alloc::string::String::from("The role ");
        for part in [
            self.role.name(),
            " lacks the ",
            self.needed.name(),
            " privilege.",
        ] {
            m.push_str(part);
        }
        m
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "role {} lacks the {} privilege",
            self.role,
            self.needed.name()
        )
    }
}

/// The privilege `op` needs. The order of the rules is the order of precedence: account
/// management first (so no generic rule can open it), then the per-class operator rights,
/// then WinRM's action rule (MS-WSMV 3.1.4.1.28: read, write, execute).
pub fn required(op: &Operation<'_>) -> Option<Privilege> {
    use Action::*;
    let read = matches!(
        op.action,
        Get | Enumerate | Pull | Release | Subscribe | Renew | GetStatus | Unsubscribe
    );
    Some(match op.action {
        // Identify is answered before authentication (WinRM does so too).
        Identify => return None,
        _ if op.class_is(ACCOUNT_CLASSES) => Privilege::ConfigureUsers,
        _ if op.class_is(ROLE_CLASSES) && !read => Privilege::ConfigureUsers,
        _ if read => Privilege::Login,
        // Every method outside the account classes acts on the managed system: power control
        // (DSP1027/DSP1013 RequestStateChange, RequestPowerStateChange), ClearLog, sensor
        // Reset, RestoreDefaultThresholds, ...: WinRM's "execute", which operators hold. One
        // arm, not one per method, since all need the same privilege.
        Invoke => Privilege::ConfigureComponents,
        Put if op.class_is(&["CIM_NumericSensor"]) => Privilege::ConfigureComponents,
        // Delete of a subscription is its Unsubscribe (wsbmc-cim's `subscription::delete`), which
        // any subscriber may send; cim lets only its owner and Administrators reach it.
        Delete if op.class_is(&["CIM_IndicationSubscription"]) => Privilege::Login,
        // Other writes change the BMC's own configuration: WinRM's "write".
        Put | Create | Delete => Privilege::ConfigureManager,
        Get | Enumerate | Pull | Release | Subscribe | Renew | GetStatus | Unsubscribe => {
            Privilege::Login
        }
    })
}

/// Whether `role` may perform `op`. Pure: wsman calls it before dispatch with the identity
/// the accounts table returned for the request.
pub fn authorize(role: Role, op: &Operation<'_>) -> Result<(), Denied> {
    match required(op) {
        None => Ok(()),
        Some(p) if role.has(p) => Ok(()),
        Some(needed) => Err(Denied { role, needed }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Role::*;

    #[test]
    fn denied_message_is_its_display_in_a_sentence() {
        let d = Denied {
            role: ReadOnly,
            needed: Privilege::ConfigureUsers,
        };
        assert_eq!(d.message(), alloc::format!("The {d}."));
        assert_eq!(
            d.message(),
            "The role ReadOnly lacks the ConfigureUsers privilege."
        );
    }

    fn op(action: Action, class: &str) -> Operation<'_> {
        Operation::new(action, Some(class))
    }

    #[test]
    fn reads_need_login_which_every_role_has() {
        for action in [
            Get,
            Enumerate,
            Pull,
            Release,
            Subscribe,
            Renew,
            GetStatus,
            Unsubscribe,
        ] {
            for role in Role::ALL {
                assert_eq!(authorize(role, &op(action, "CIM_NumericSensor")), Ok(()));
            }
            // A context-bound action with no class is a read too.
            assert_eq!(authorize(ReadOnly, &Operation::new(action, None)), Ok(()));
        }
        assert_eq!(authorize(ReadOnly, &Operation::new(Identify, None)), Ok(()));
    }

    #[test]
    fn shared_associations_are_readable_without_configure_users() {
        // Sensor collections and power control use these classes too.
        for class in ["CIM_MemberOfCollection", "CIM_ServiceAffectsElement"] {
            for action in [Get, Enumerate] {
                assert_eq!(authorize(ReadOnly, &op(action, class)), Ok(()));
            }
        }
        for class in [
            "CIM_Account",
            "CIM_AssignedIdentity",
            "CIM_AccountSettingData",
        ] {
            assert_eq!(
                authorize(ReadOnly, &op(Enumerate, class)),
                Err(Denied {
                    role: ReadOnly,
                    needed: Privilege::ConfigureUsers
                })
            );
        }
    }

    #[test]
    fn readonly_cannot_write_or_invoke() {
        for o in [
            op(Put, "CIM_NumericSensor"),
            op(Put, "CIM_IPProtocolEndpoint"),
            op(Create, "CIM_IndicationFilter"),
            op(Delete, "CIM_LogRecord"),
            Operation::invoke("CIM_NumericSensor", "Reset"),
            Operation::invoke("CIM_RecordLog", "ClearLog"),
            Operation::invoke("CIM_ComputerSystem", "RequestStateChange"),
        ] {
            assert!(authorize(ReadOnly, &o).is_err(), "{o:?}");
        }
    }

    #[test]
    fn deleting_a_subscription_needs_what_unsubscribe_needs() {
        for role in Role::ALL {
            assert_eq!(
                authorize(role, &op(Delete, "CIM_IndicationSubscription")),
                Ok(()),
                "{role:?}"
            );
        }
        // Its ends are not deletable on their own (cim answers ActionNotSupported to an
        // Administrator); a ReadOnly caller is refused before that.
        for class in [
            "CIM_IndicationFilter",
            "CIM_ListenerDestinationWSManagement",
        ] {
            assert!(authorize(ReadOnly, &op(Delete, class)).is_err());
        }
    }

    #[test]
    fn power_thresholds_and_clearlog_need_operator() {
        for o in [
            Operation::invoke("CIM_ComputerSystem", "RequestStateChange"),
            Operation::invoke("cim_powermanagementservice", "RequestPowerStateChange"),
            op(Put, "CIM_NumericSensor"),
            Operation::invoke("CIM_RecordLog", "ClearLog"),
        ] {
            assert_eq!(authorize(Operator, &o), Ok(()), "{o:?}");
            assert_eq!(authorize(Administrator, &o), Ok(()), "{o:?}");
            assert_eq!(
                authorize(ReadOnly, &o),
                Err(Denied {
                    role: ReadOnly,
                    needed: Privilege::ConfigureComponents
                })
            );
        }
    }

    #[test]
    fn other_writes_need_administrator() {
        let o = op(Put, "CIM_IPProtocolEndpoint");
        assert_eq!(
            authorize(Operator, &o),
            Err(Denied {
                role: Operator,
                needed: Privilege::ConfigureManager
            })
        );
        assert_eq!(authorize(Administrator, &o), Ok(()));
    }

    #[test]
    fn account_management_needs_administrator_even_to_read() {
        for o in [
            op(Enumerate, "CIM_Account"),
            op(Get, "CIM_AccountSettingData"),
            op(Put, "CIM_Account"),
            op(Delete, "CIM_Account"),
            Operation::invoke("CIM_AccountManagementService", "CreateAccount"),
            op(Put, "CIM_Role"),
            Operation::invoke("CIM_RoleBasedAuthorizationService", "AssignRoles"),
        ] {
            assert_eq!(authorize(Administrator, &o), Ok(()), "{o:?}");
            for role in [Operator, ReadOnly] {
                assert_eq!(
                    authorize(role, &o),
                    Err(Denied {
                        role,
                        needed: Privilege::ConfigureUsers
                    }),
                    "{o:?}"
                );
            }
        }
        // Which roles exist is not a secret.
        assert_eq!(authorize(ReadOnly, &op(Enumerate, "CIM_Role")), Ok(()));
        assert_eq!(authorize(ReadOnly, &op(Get, "CIM_Privilege")), Ok(()));
    }

    #[test]
    fn privileges_are_nested_and_names_round_trip() {
        for p in ReadOnly.privileges() {
            assert!(Operator.has(*p) && Administrator.has(*p));
        }
        for p in Operator.privileges() {
            assert!(Administrator.has(*p));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_name(r.name()), Some(r));
            #[cfg(feature = "persist")]
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_name("readonly"), Some(ReadOnly));
        assert_eq!(Role::from_name("root"), None);
        #[cfg(feature = "persist")]
        assert_eq!(Role::from_code(0), None);
    }
}
