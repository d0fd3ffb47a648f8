//! Put (wsman.md §3.4): a console changes a numeric sensor's settable thresholds.
//!
//! `winrm set` Gets the instance, edits one element and Puts the whole representation back, so
//! the body normally repeats every property. The rules:
//!
//! - The six threshold properties may differ from the current value only when the board marks
//!   that threshold settable; the new set must stay ordered. Changes are validated together
//!   and applied through [`wsbmc_monitor::Monitor::set_threshold`], then persisted through the
//!   platform.
//! - Readings and the status derived from them (CurrentReading, CurrentState, HealthState, ...)
//!   move between the client's Get and its Put, so they are ignored.
//! - Any other property, keys included, must equal the current value.
//!
//! Every refusal is `wxf:InvalidRepresentation` with detail `InvalidValues` and a message naming
//! the property. AccessDenied was the alternative the notes offer; it reads as a credentials
//! problem in every client (Windows prints "Access is denied"), which would send an operator
//! after the wrong thing. Properties the class does not have are the same fault, and a body for
//! another class or namespace is `InvalidRepresentation` with `InvalidNamespace`/`InvalidValues`.
//!
//! Put is offered on CIM_NumericSensor only; every other class answers ActionNotSupported, as
//! the provider default does.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use wsbmc_wsman::text::cat;

use wsbmc_monitor::{SensorId, Threshold, Thresholds};
use wsbmc_wsman::{
    Fault, FaultDetail, FaultKind, PropertyValue, Quoted, Representation, Target, XmlWriter,
};

use crate::model::{Model, class_of, internal};
use crate::render::scalar_text;
use crate::schema::{CimType, ClassDef, PropDef, class_named};
use crate::value::{Instance, Value};

/// Properties whose values change on their own or follow from the thresholds.
const DERIVED: &[&str] = &[
    "AdditionalAvailability",
    "Availability",
    "CurrentReading",
    "CurrentState",
    "EnabledState",
    "EnabledThresholds",
    "HealthState",
    "OperationalStatus",
    "PossibleStates",
    "RequestedState",
    "Status",
    "StatusDescriptions",
    "StatusInfo",
    "SupportedThresholds",
    "TimeOfLastStateChange",
];

/// The threshold properties, which a Put may change, in `Threshold`'s order (its discriminant
/// is the index): the one table between the properties' names and the monitor's thresholds.
const THRESHOLD_NAMES: [&str; 6] = [
    "LowerThresholdNonCritical",
    "UpperThresholdNonCritical",
    "LowerThresholdCritical",
    "UpperThresholdCritical",
    "LowerThresholdFatal",
    "UpperThresholdFatal",
];

fn threshold_named(name: &str) -> Option<Threshold> {
    Threshold::ALL
        .into_iter()
        .find(|&t| threshold_name(t) == name)
}

fn threshold_name(t: Threshold) -> &'static str {
    THRESHOLD_NAMES[t as usize]
}

fn refuse(detail: FaultDetail, message: impl Into<Cow<'static, str>>) -> Fault {
    Fault::with_detail(FaultKind::InvalidRepresentation, detail).message(message)
}

pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Fault {
    refuse(FaultDetail::InvalidValues, message)
}

/// A Put's body, by property: each property once, with its elements in body order.
pub(crate) type Given<'b> = Vec<(&'static PropDef, Vec<&'b PropertyValue>)>;

/// Reads a Put's body against the class of the instance it replaces (`concrete`): the body's
/// class must be that class or a base of it that is also `base` or below (the class the request
/// addressed); a property the class lacks, or one given twice, is refused. One reader for every
/// Put (sensor thresholds and the account classes), so every Put refuses a body alike.
pub(crate) fn given<'b>(
    concrete: &'static ClassDef,
    base: &ClassDef,
    body: &'b Representation,
) -> Result<Given<'b>, Fault> {
    let named = class_named(&body.class)
        .filter(|c| concrete.is_a(c) && c.is_a(base))
        .ok_or_else(|| {
            invalid(cat(&[
                &body.class,
                " is not a representation of ",
                concrete.name,
            ]))
        })?;
    if let Some(ns_uri) = body.namespace.as_deref()
        && !ns_uri.eq_ignore_ascii_case(&named.resource_uri())
    {
        return Err(refuse(
            FaultDetail::InvalidNamespace,
            cat(&[ns_uri, " is not the namespace of ", named.name]),
        ));
    }
    let mut out: Given<'b> = Vec::new();
    for prop in &body.properties {
        let def = concrete
            .property(&prop.name)
            .ok_or_else(|| invalid(cat(&[concrete.name, " has no property ", &prop.name])))?;
        match out.iter_mut().find(|(d, _)| core::ptr::eq(*d, def)) {
            Some((_, values)) if def.array => values.push(&prop.value),
            Some(_) => return Err(invalid(cat(&[def.name, " is given twice"]))),
            None => out.push((def, alloc::vec![&prop.value])),
        }
    }
    Ok(out)
}

/// The text of one element of the body: `None` for `xsi:nil`; a datetime's wrapped text.
pub(crate) fn given_text(v: &PropertyValue, ty: CimType) -> Option<&str> {
    if ty == CimType::DateTime {
        v.wrapped()
    } else {
        v.text()
    }
}

/// Whether a current value's text and a given one say the same; datetimes in either spelling.
fn same_text(have: Option<&str>, want: Option<&str>, ty: CimType) -> bool {
    match (have, want) {
        (Some(h), Some(w)) if ty == CimType::DateTime => crate::datetime::normalize(w)
            .is_some_and(|w| w == h || crate::datetime::normalize(h) == Some(w)),
        (h, w) => h == w,
    }
}

/// Whether the body's elements read as the current value, element by element as the texts are
/// made (no list of either side). An array's NULL elements are left out on both sides, because
/// an empty array and a nil one say the same to a client.
fn same_values(def: &PropDef, current: &Value<'_>, values: &[&PropertyValue]) -> bool {
    let have = match current {
        Value::Array(items) => items.as_slice(),
        v => core::slice::from_ref(v),
    };
    let mut have = have
        .iter()
        .map(scalar_text)
        .filter(|t| !def.array || t.is_some());
    let mut want = values
        .iter()
        .map(|v| given_text(v, def.ty))
        .filter(|t| !def.array || t.is_some());
    loop {
        match (have.next(), want.next()) {
            (None, None) => return true,
            (Some(h), Some(w)) if same_text(h.as_deref(), w, def.ty) => {}
            _ => return false,
        }
    }
}

/// Every given property in none of the `writable` lists must equal the current value
/// (`current` is the instance as it is now).
pub(crate) fn check_read_only(
    given: &Given<'_>,
    writable: &[&[&str]],
    current: &Instance<'_>,
) -> Result<(), Fault> {
    for (def, values) in given {
        if writable.iter().any(|w| w.contains(&def.name)) {
            continue;
        }
        if !same_values(def, current.get(def.name).unwrap_or(&Value::Null), values) {
            return Err(invalid(cat(&[def.name, " is read-only"])));
        }
    }
    Ok(())
}

pub(crate) fn put(
    model: &Model<'_>,
    target: &Target<'_>,
    body: &Representation,
    out: &mut XmlWriter,
) -> Result<(), Fault> {
    let (class, item) = model.target(target)?;
    #[cfg(feature = "accounts")]
    if let Some(done) = crate::account::put(model, &item, body, out) {
        return done;
    }
    let Some(index) = item.numeric_sensor() else {
        return Err(Fault::action_mismatch()
            .message(cat(&["Put is not supported on ", class_of(&item).name])));
    };
    let given = given(class_of(&item), class, body)?;

    // Only what a Put reads of the sensor, not a clone of its whole description.
    let (old, settable, key) =
        model.with_numeric(index, |d, _| (d.thresholds, d.settable, d.key.clone()))?;
    let mut next: Thresholds = old;
    let mut changed: Vec<(Threshold, Option<i32>)> = Vec::new();
    for (def, values) in &given {
        let name = def.name;
        let Some(t) = threshold_named(name) else {
            continue;
        };
        let new = match values.as_slice() {
            [v] => match v.text() {
                None => None,
                Some(text) => Some(
                    wsbmc_wsman::text::parse_i64(text)
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| {
                            invalid(cat(&[
                                name,
                                " must be a sint32, not ",
                                &Quoted(text).to_text(),
                            ]))
                        })?,
                ),
            },
            _ => return Err(invalid(cat(&[name, " takes one value"]))),
        };
        if new != old.get(t) {
            if settable & t.bit() == 0 {
                return Err(invalid(cat(&[name, " is not settable on this sensor"])));
            }
            next.set(t, new);
            changed.push((t, new));
        }
    }
    model.with_instance(&item, |current| {
        check_read_only(&given, &[&THRESHOLD_NAMES, DERIVED], current)
    })??;

    if !changed.is_empty() {
        next.check_order().map_err(|e| {
            invalid(cat(&[
                threshold_name(e.lower),
                " must not be above ",
                threshold_name(e.higher),
            ]))
        })?;
        model.platform().can_persist().map_err(|e| e.fault())?;
        apply(model, index, &old, &changed)?;
        model.platform().persist_thresholds(&key, &next);
    }
    model.render_item(&item, out, None)
}

/// Applies validated changes. The monitor checks the order after each single change, so a set
/// that is only valid as a whole (raising UNC past the old UC together with UC) is applied in
/// passes until everything fits; since the final set is ordered, some order always works.
fn apply(
    model: &Model<'_>,
    index: usize,
    old: &Thresholds,
    changed: &[(Threshold, Option<i32>)],
) -> Result<(), Fault> {
    let id = SensorId(u16::try_from(index).map_err(|_| internal("sensor index"))?);
    let mut m = model.monitor_mut()?;
    // What is still to set, as a mask of `Threshold::bit`s (a change names each threshold once):
    // no Vecs to copy and retain from.
    let all = changed.iter().fold(0, |mask, (t, _)| mask | t.bit());
    let mut pending = all;
    loop {
        let before = pending;
        for (t, v) in changed {
            if pending & t.bit() != 0 && m.set_threshold(id, *t, *v).is_ok() {
                pending &= !t.bit();
            }
        }
        if pending == 0 {
            return Ok(());
        }
        if pending == before {
            break;
        }
    }
    // Not reachable for an ordered target; put the old values back rather than leave half.
    let mut undo = all;
    for _ in 0..changed.len() {
        for (t, _) in changed {
            if undo & t.bit() != 0 && m.set_threshold(id, *t, old.get(*t)).is_ok() {
                undo &= !t.bit();
            }
        }
    }
    Err(internal("the threshold change could not be applied"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::p;

    fn want(texts: &[Option<&str>]) -> Vec<PropertyValue> {
        texts
            .iter()
            .map(|t| t.map_or(PropertyValue::Nil, |t| PropertyValue::Text(t.into())))
            .collect()
    }

    fn same(def: &PropDef, v: &Value<'_>, texts: &[Option<&str>]) -> bool {
        let values = want(texts);
        same_values(def, v, &values.iter().collect::<Vec<_>>())
    }

    #[test]
    fn same_values_compares_every_element() {
        let array = PropDef {
            array: true,
            ..p("Names", CimType::String)
        };
        let scalar = p("Value", CimType::Uint16);
        let list = Value::strs(["a", "b"]);
        assert!(same(&array, &list, &[Some("a"), Some("b")]));
        assert!(!same(&array, &list, &[Some("a")]));
        assert!(!same(&array, &list, &[Some("a"), Some("b"), Some("c")]));
        assert!(!same(&array, &list, &[Some("b"), Some("a")]));
        // An array's NULLs drop out, on either side; an empty array and a nil one are the same.
        let with_null = Value::Array(alloc::vec![Value::str("a"), Value::Null]);
        assert!(same(&array, &with_null, &[Some("a")]));
        assert!(same(&array, &list, &[Some("a"), None, Some("b")]));
        assert!(same(&array, &Value::Null, &[]));
        assert!(same(&array, &Value::Null, &[None]));
        assert!(same(&array, &Value::empty_array(), &[]));
        assert!(!same(&array, &Value::Null, &[Some("a")]));
        // A scalar NULL is one NULL text.
        assert!(same(&scalar, &Value::Null, &[None]));
        assert!(!same(&scalar, &Value::Null, &[]));
        assert!(same(&scalar, &Value::U16(5), &[Some("5")]));
        assert!(!same(&scalar, &Value::U16(5), &[Some("6")]));
    }

    #[test]
    fn same_values_reads_a_datetime_in_either_spelling() {
        let at = p("InstallDate", CimType::DateTime);
        let t = Value::DateTime(crate::datetime::CimDateTime::Timestamp(0));
        let wrapped = |s: &str| PropertyValue::Wrapped(s.into());
        for text in ["1970-01-01T00:00:00Z", "19700101000000.000000+000"] {
            assert!(same_values(&at, &t, &[&wrapped(text)]), "{text}");
        }
        assert!(!same_values(&at, &t, &[&wrapped("1970-01-01T00:00:01Z")]));
        assert!(!same_values(&at, &t, &[&PropertyValue::Nil]));
    }
}
