//! Profile Registration (DSP1033): the DMTF profiles this model implements, as
//! CIM_RegisteredProfile instances in root/interop (cim.md §4.5).

#[cfg(test)]
use alloc::format;
use alloc::string::String;
use wsbmc_wsman::text::cat;

use crate::schema::CIM_REGISTERED_PROFILE;
use crate::value::Instance;

/// One implemented profile. The order of [`Profile::ALL`] is the enumeration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    BaseServer,
    Sensors,
    RecordLog,
    PowerStateManagement,
    PhysicalAsset,
    ProfileRegistration,
    SoftwareInventory,
    IpInterface,
    // Only in builds that manage accounts: their names are flash the bare-metal image lacks.
    #[cfg(feature = "accounts")]
    SimpleIdentityManagement,
    #[cfg(feature = "accounts")]
    RoleBasedAuthorization,
    #[cfg(feature = "subscriptions")]
    Indications,
}

impl Profile {
    pub const ALL: &[Profile] = &[
        Profile::BaseServer,
        Profile::Sensors,
        Profile::RecordLog,
        Profile::PowerStateManagement,
        Profile::PhysicalAsset,
        Profile::ProfileRegistration,
        // Last, so adding it left every earlier profile's position (and cursor) where it was.
        #[cfg(feature = "software-inventory")]
        Profile::SoftwareInventory,
        #[cfg(feature = "ip-interface")]
        Profile::IpInterface,
        // Shown only when the platform has an account table (`Counts::has_profile`).
        #[cfg(feature = "accounts")]
        Profile::SimpleIdentityManagement,
        #[cfg(feature = "accounts")]
        Profile::RoleBasedAuthorization,
        #[cfg(feature = "subscriptions")]
        Profile::Indications,
    ];

    /// RegisteredName, exactly as the profile spells itself.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::BaseServer => "Base Server",
            Profile::Sensors => "Sensors",
            Profile::RecordLog => "Record Log",
            Profile::PowerStateManagement => "Power State Management",
            Profile::PhysicalAsset => "Physical Asset",
            Profile::SoftwareInventory => "Software Inventory",
            Profile::IpInterface => "IP Interface",
            Profile::ProfileRegistration => "Profile Registration",
            #[cfg(feature = "accounts")]
            Profile::SimpleIdentityManagement => "Simple Identity Management",
            #[cfg(feature = "accounts")]
            Profile::RoleBasedAuthorization => "Role Based Authorization",
            #[cfg(feature = "subscriptions")]
            Profile::Indications => "Indications",
        }
    }

    pub const fn version(self) -> &'static str {
        match self {
            Profile::RecordLog => "2.0.0",
            Profile::SoftwareInventory => "1.0.1",
            #[cfg(feature = "accounts")]
            Profile::SimpleIdentityManagement => "1.0.1",
            #[cfg(feature = "subscriptions")]
            Profile::Indications => "1.2.2",
            _ => "1.0.0",
        }
    }

    pub const fn document(self) -> &'static str {
        match self {
            Profile::BaseServer => "DSP1004",
            Profile::Sensors => "DSP1009",
            Profile::RecordLog => "DSP1010",
            Profile::PowerStateManagement => "DSP1027",
            Profile::PhysicalAsset => "DSP1011",
            Profile::SoftwareInventory => "DSP1023",
            Profile::IpInterface => "DSP1036",
            Profile::ProfileRegistration => "DSP1033",
            #[cfg(feature = "accounts")]
            Profile::SimpleIdentityManagement => "DSP1034",
            #[cfg(feature = "accounts")]
            Profile::RoleBasedAuthorization => "DSP1039",
            #[cfg(feature = "subscriptions")]
            Profile::Indications => "DSP1054",
        }
    }

    /// `DMTF:<Name>:<Version>`: a pure function of the profile, so EPRs to profiles survive
    /// restarts and firmware updates that keep the profile version. Joined from the name and
    /// the version rather than a third table of literals (~0.2 KiB of the bare-metal image).
    pub fn instance_id(self) -> String {
        cat(&["DMTF:", self.name(), ":", self.version()])
    }

    /// Base Server is the autonomous profile; every other one is a component it references.
    pub const fn is_autonomous(self) -> bool {
        matches!(self, Profile::BaseServer)
    }
}

pub fn instance(profile: Profile) -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_REGISTERED_PROFILE, 10);
    i.set_string("InstanceID", profile.instance_id());
    i.set_empty("AdvertiseTypeDescriptions");
    // 2 Not Advertised: there is no SLP; consoles find profiles by enumerating root/interop.
    i.set_u16s("AdvertiseTypes", &[2]);
    i.set_str("Caption", profile.name());
    i.set_string(
        "Description",
        cat(&[
            "DMTF ",
            profile.document(),
            " ",
            profile.name(),
            " ",
            profile.version(),
            " profile",
        ]),
    );
    i.set_str("ElementName", profile.name());
    // OtherRegisteredOrganization is left NULL (unset renders as NULL).
    i.set_str("RegisteredName", profile.name());
    // 2 DMTF.
    i.set_u16("RegisteredOrganization", 2);
    i.set_str("RegisteredVersion", profile.version());
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_spell_name_and_version() {
        assert_eq!(Profile::BaseServer.instance_id(), "DMTF:Base Server:1.0.0");
        assert_eq!(Profile::RecordLog.instance_id(), "DMTF:Record Log:2.0.0");
        for &p in Profile::ALL {
            assert_eq!(
                p.instance_id(),
                format!("DMTF:{}:{}", p.name(), p.version())
            );
            let i = instance(p);
            assert!(i.in_render_order());
            for prop in CIM_REGISTERED_PROFILE.properties() {
                assert!(i.get(prop.name).is_none_or(|v| v.conforms(prop)));
            }
        }
        assert_eq!(Profile::ALL.iter().filter(|p| p.is_autonomous()).count(), 1);
    }
}
