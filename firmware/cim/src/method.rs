//! Extrinsic methods (wsman.md §3.10): the parameters `wsman` parsed from `<Method>_INPUT`, the
//! four methods the model implements, and the `<Method>_OUTPUT` reply.
//!
//! Protocol errors (a parameter that is missing, misspelt or not a number) are faults, as
//! DSP0227 wants: `wsman:InvalidParameter`. Everything the method itself decides is a CIM return
//! code in `ReturnValue`:
//!
//! | code | meaning here |
//! |---|---|
//! | 0 | done (power requests: accepted and being carried out by the power task) |
//! | 1 | not supported (this board cannot do it, or a method this instance does not implement) |
//! | 4 | failed (the platform tried and could not) |
//! | 5 | invalid parameter (a number outside the method's ValueMap) |
//! | 4098 | a TimeoutPeriod was given; timeouts are not supported |
//! | 4099 | busy: another power request is still in progress |
//!
//! 4096 (job started) is never returned: there is no CIM_ConcreteJob to point a Job at, so an
//! accepted asynchronous request answers 0 and RequestedState/TransitioningToPowerState show it
//! until the host gets there.

use alloc::string::String;
use wsbmc_wsman::text::cat;

use wsbmc_monitor::SensorId;
use wsbmc_wsman::{
    Epr, Fault, FaultDetail, FaultKind, Property, PropertyValue, SelectorValue, Target, XmlWriter,
};

use crate::kind::HOST;
use crate::model::{Item, Model, class_of, epr_matches, resolve_class};
use crate::platform::{ClearOutcome, PowerTransition, RequestOutcome};
use crate::power::{Requested, from_power_state, from_requested_state};
use crate::schema::{
    CIM_COMPUTER_SYSTEM, CIM_ENABLED_LOGICAL_ELEMENT, CIM_LOGICAL_DEVICE, CIM_NUMERIC_SENSOR,
    CIM_POWER_MANAGEMENT_SERVICE, CIM_RECORD_LOG, ClassDef,
};

pub const SUCCESS: u32 = 0;
pub const NOT_SUPPORTED: u32 = 1;
pub const FAILED: u32 = 4;
pub const INVALID_PARAMETER: u32 = 5;
pub const TIMEOUT_NOT_SUPPORTED: u32 = 4098;
pub const BUSY: u32 = 4099;

/// The methods, by the class that declares them.
/// Each with its [`Method`], so that dispatch matches on the entry found rather than on its
/// name a second time.
const METHODS: &[(&str, &ClassDef, Method)] = &[
    ("ClearLog", &CIM_RECORD_LOG, Method::ClearLog),
    #[cfg(feature = "accounts")]
    (
        "CreateAccount",
        &crate::account::CIM_ACCOUNT_MANAGEMENT_SERVICE,
        Method::CreateAccount,
    ),
    (
        "RequestPowerStateChange",
        &CIM_POWER_MANAGEMENT_SERVICE,
        Method::RequestPowerStateChange,
    ),
    (
        "RequestStateChange",
        &CIM_ENABLED_LOGICAL_ELEMENT,
        Method::RequestStateChange,
    ),
    ("Reset", &CIM_LOGICAL_DEVICE, Method::Reset),
    (
        "RestoreDefaultThresholds",
        &CIM_NUMERIC_SENSOR,
        Method::RestoreDefaultThresholds,
    ),
];

#[derive(Clone, Copy)]
enum Method {
    ClearLog,
    #[cfg(feature = "accounts")]
    CreateAccount,
    RequestPowerStateChange,
    RequestStateChange,
    Reset,
    RestoreDefaultThresholds,
}

fn invalid(detail: Option<FaultDetail>, message: String) -> Fault {
    Fault {
        kind: FaultKind::InvalidParameter,
        detail,
        message: Some(message.into()),
    }
}

/// The IN parameters of one call, as `wsman` parsed them from `<Method>_INPUT`: matched by name
/// in any case (clients disagree).
struct Params<'p> {
    given: &'p [Property],
}

impl<'p> Params<'p> {
    /// Rejects parameters the method does not have, and any given twice.
    fn new(input: &'p [Property], allowed: &[&str]) -> Result<Self, Fault> {
        for (n, p) in input.iter().enumerate() {
            let name = &p.name;
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                return Err(invalid(
                    Some(FaultDetail::InvalidName),
                    cat(&["the method has no parameter ", name]),
                ));
            }
            if input[..n].iter().any(|o| o.name.eq_ignore_ascii_case(name)) {
                return Err(invalid(
                    Some(FaultDetail::InvalidName),
                    cat(&["parameter ", name, " is given twice"]),
                ));
            }
        }
        Ok(Self { given: input })
    }

    /// The parameter's value, unless absent or `xsi:nil`.
    fn get(&self, name: &str) -> Option<&'p PropertyValue> {
        self.given
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| &p.value)
            .filter(|v| **v != PropertyValue::Nil)
    }

    fn required(&self, name: &str) -> Result<&'p PropertyValue, Fault> {
        self.get(name)
            .ok_or_else(|| invalid(None, cat(&["parameter ", name, " is required"])))
    }

    fn u16(&self, name: &str) -> Result<u16, Fault> {
        let value = self.required(name)?;
        wsbmc_wsman::text::parse_u64(value.text().unwrap_or(""))
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| {
                invalid(
                    Some(FaultDetail::TypeMismatch),
                    cat(&[name, " must be a uint16"]),
                )
            })
    }

    fn epr(&self, name: &str) -> Result<&'p Epr, Fault> {
        match self.required(name)? {
            PropertyValue::Epr(epr) => Ok(epr),
            _ => Err(invalid(
                Some(FaultDetail::TypeMismatch),
                cat(&[name, " must be an EPR"]),
            )),
        }
    }
}

pub(crate) fn invoke(
    model: &Model<'_>,
    target: &Target<'_>,
    method: &str,
    input: &[Property],
    out: &mut XmlWriter,
) -> Result<(), Fault> {
    let uri_class = resolve_class(target.resource_uri)?;
    let (_, item) = model.target(target)?;
    let concrete = class_of(&item);
    let Some((name, _, which)) = METHODS
        .iter()
        .find(|(m, declared, _)| m.eq_ignore_ascii_case(method) && concrete.is_a(declared))
    else {
        return Err(Fault::action_mismatch().message(cat(&[
            concrete.name,
            " has no method ",
            method,
        ])));
    };
    let code = match which {
        #[cfg(feature = "accounts")]
        Method::CreateAccount => {
            let params = Params::new(input, &["System", "AccountTemplate"])?;
            let system = params.epr("System")?;
            let template = params.get("AccountTemplate");
            return crate::account::create_account(model, system, template, out);
        }
        Method::RequestStateChange => request_state_change(model, &item, input)?,
        Method::RequestPowerStateChange => request_power_state_change(model, input)?,
        Method::ClearLog => {
            Params::new(input, &[])?;
            match model.platform().clear_log() {
                ClearOutcome::Cleared => SUCCESS,
                ClearOutcome::Unsupported => NOT_SUPPORTED,
                ClearOutcome::Failed => FAILED,
            }
        }
        Method::RestoreDefaultThresholds => {
            Params::new(input, &[])?;
            restore_default_thresholds(model, &item)?
        }
        // LogicalDevice.Reset: sensors have nothing to reset (IPMI re-arm is automatic here).
        Method::Reset => {
            Params::new(input, &[])?;
            NOT_SUPPORTED
        }
    };
    write_output(out, uri_class, name, code);
    Ok(())
}

/// `<p:Method_OUTPUT xmlns:p="<class URI>"><p:ReturnValue>n</p:ReturnValue></p:Method_OUTPUT>`.
pub fn write_output(out: &mut XmlWriter, class: &ClassDef, method: &str, code: u32) {
    let root = cat(&["p:", method, "_OUTPUT"]);
    out.open(&root, &[("xmlns:p", &class.resource_uri())]);
    out.open("p:ReturnValue", &[]);
    out.text_int(false, code.into());
    out.close("p:ReturnValue");
    out.close(&root);
}

/// Hands a transition to the platform, unless the board does not offer it.
fn power_request(model: &Model<'_>, t: PowerTransition) -> u32 {
    let platform = model.platform();
    if !platform.power_transitions().contains(&t) {
        return NOT_SUPPORTED;
    }
    match platform.request_power(t) {
        RequestOutcome::Accepted => SUCCESS,
        RequestOutcome::Busy => BUSY,
        RequestOutcome::Unsupported => NOT_SUPPORTED,
        RequestOutcome::Failed => FAILED,
    }
}

fn decide(model: &Model<'_>, requested: Requested) -> u32 {
    match requested {
        Requested::Transition(t) => power_request(model, t),
        Requested::NotSupported => NOT_SUPPORTED,
        Requested::Invalid => INVALID_PARAMETER,
    }
}

/// CIM_EnabledLogicalElement.RequestStateChange. Only the host system changes state (its power,
/// cim.md §4.1); every other element validates the call and answers Not Supported.
fn request_state_change(model: &Model<'_>, item: &Item, input: &[Property]) -> Result<u32, Fault> {
    let params = Params::new(input, &["RequestedState", "TimeoutPeriod"])?;
    let requested = params.u16("RequestedState")?;
    #[cfg(feature = "accounts")]
    if item.kind == crate::kind::Kind::Account {
        if params.get("TimeoutPeriod").is_some() {
            return Ok(TIMEOUT_NOT_SUPPORTED);
        }
        return crate::account::request_state_change(model, item, requested);
    }
    if *item != HOST {
        return Ok(NOT_SUPPORTED);
    }
    if params.get("TimeoutPeriod").is_some() {
        return Ok(TIMEOUT_NOT_SUPPORTED);
    }
    // 5 No Change asks for nothing, which always succeeds.
    if requested == 5 {
        return Ok(SUCCESS);
    }
    Ok(decide(model, from_requested_state(requested)))
}

/// CIM_PowerManagementService.RequestPowerStateChange (DSP1027). ManagedElement must name the
/// host ([`names_the_host`]): this service switches nothing else.
fn request_power_state_change(model: &Model<'_>, input: &[Property]) -> Result<u32, Fault> {
    let params = Params::new(
        input,
        &["PowerState", "ManagedElement", "Time", "TimeoutPeriod"],
    )?;
    let state = params.u16("PowerState")?;
    let element = params.epr("ManagedElement")?;
    if !names_the_host(model, element)? {
        return Err(invalid(
            Some(FaultDetail::InvalidValue),
            cat(&[
                "ManagedElement must be the managed host (",
                CIM_COMPUTER_SYSTEM.name,
                " ",
                &model.system().system_name,
                ")",
            ]),
        ));
    }
    if params.get("TimeoutPeriod").is_some() {
        return Ok(TIMEOUT_NOT_SUPPORTED);
    }
    // Scheduling a change for later needs a clock the BMC can trust; not offered.
    if params.get("Time").is_some() {
        return Ok(NOT_SUPPORTED);
    }
    Ok(decide(model, from_power_state(state)))
}

/// Whether a ManagedElement EPR names the managed host: its own EPR, or (the shape Intel AMT
/// consoles send, DSP1027 leaves naming to the implementation) any `CIM_ComputerSystem` that is
/// not the BMC, e.g. `CreationClassName=CIM_ComputerSystem, Name=ManagedSystem`. The second form
/// is only unambiguous because the model manages exactly one host: the BMC's own system is the
/// only other computer system, and naming it (in any case) is still refused, as is an EPR with
/// keys a computer system does not have or a CreationClassName of another class.
fn names_the_host(model: &Model<'_>, element: &Epr) -> Result<bool, Fault> {
    if epr_matches(&model.epr(&HOST)?, element) {
        return Ok(true);
    }
    let Ok(class) = resolve_class(&element.resource_uri) else {
        return Ok(false);
    };
    if !CIM_COMPUTER_SYSTEM.is_a(class) {
        return Ok(false);
    }
    let mut creation = None;
    let mut name = None;
    for s in &element.selectors {
        let SelectorValue::Text(v) = &s.value else {
            return Ok(false);
        };
        if s.name.eq_ignore_ascii_case("CreationClassName") && creation.is_none() {
            creation = Some(v.as_str());
        } else if s.name.eq_ignore_ascii_case("Name") && name.is_none() {
            name = Some(v.as_str());
        } else if !s.name.eq_ignore_ascii_case("__cimnamespace") {
            return Ok(false);
        }
    }
    let (Some(creation), Some(name)) = (creation, name) else {
        return Ok(false);
    };
    Ok(creation.eq_ignore_ascii_case(CIM_COMPUTER_SYSTEM.name)
        && !name.eq_ignore_ascii_case(&model.system().bmc_name))
}

fn restore_default_thresholds(model: &Model<'_>, item: &Item) -> Result<u32, Fault> {
    let Some(i) = item.numeric_sensor() else {
        return Ok(NOT_SUPPORTED);
    };
    let id = SensorId(u16::try_from(i).map_err(|_| crate::model::internal("sensor index"))?);
    model.platform().can_persist().map_err(|e| e.fault())?;
    let (key, thresholds) = {
        let mut m = model.monitor_mut()?;
        m.restore_default_thresholds(id)
            .map_err(|_| crate::model::internal("the sensor vanished"))?;
        let desc = m
            .desc(id)
            .ok_or_else(|| crate::model::internal("the sensor vanished"))?;
        (desc.key.clone(), desc.thresholds)
    };
    model.platform().persist_thresholds(&key, &thresholds);
    Ok(SUCCESS)
}
