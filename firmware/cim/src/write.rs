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

use alloc::string::String;
use alloc::vec::Vec;
use wsbmc_wsman::text::cat;

use wsbmc_monitor::{SensorId, Threshold, Thresholds};
use wsbmc_wsman::{
    Fault, FaultDetail, FaultKind, PropertyValue, Quoted, Representation, Target, XmlWriter,
};

use crate::model::{Model, class_of, internal};
use crate::render::scalar_text;
use crate::schema::{CimType, class_named};
use crate::value::Value;

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

fn threshold_named(name: &str) -> Option<Threshold> {
    Some(match name {
        "LowerThresholdNonCritical" => Threshold::LowerNonCritical,
        "UpperThresholdNonCritical" => Threshold::UpperNonCritical,
        "LowerThresholdCritical" => Threshold::LowerCritical,
        "UpperThresholdCritical" => Threshold::UpperCritical,
        "LowerThresholdFatal" => Threshold::LowerFatal,
        "UpperThresholdFatal" => Threshold::UpperFatal,
        _ => return None,
    })
}

fn threshold_name(t: Threshold) -> &'static str {
    match t {
        Threshold::LowerNonCritical => "LowerThresholdNonCritical",
        Threshold::UpperNonCritical => "UpperThresholdNonCritical",
        Threshold::LowerCritical => "LowerThresholdCritical",
        Threshold::UpperCritical => "UpperThresholdCritical",
        Threshold::LowerFatal => "LowerThresholdFatal",
        Threshold::UpperFatal => "UpperThresholdFatal",
    }
}

fn refuse(detail: FaultDetail, message: String) -> Fault {
    Fault::with_detail(FaultKind::InvalidRepresentation, detail).message(message)
}

fn invalid(message: String) -> Fault {
    refuse(FaultDetail::InvalidValues, message)
}

/// Whether a property value reads as `want`, one text per element, `None` for NULL. Arrays drop
/// their NULLs, because an empty array and a nil one say the same to a client. Compared element
/// by element as the texts are made, with no list of the current texts to compare.
fn same_texts(v: &Value<'_>, array: bool, want: &[Option<String>]) -> bool {
    let (items, drop_nulls) = match v {
        Value::Array(items) => (items.as_slice(), true),
        Value::Null if array => (&[][..], true),
        v => (core::slice::from_ref(v), false),
    };
    let mut have = items
        .iter()
        .map(scalar_text)
        .filter(|t| !drop_nulls || t.is_some());
    want.iter().all(|w| have.next().as_ref() == Some(w)) && have.next().is_none()
}

/// The text of one property of the body: `None` for `xsi:nil`; a datetime's wrapped text.
fn element_text(value: &PropertyValue, ty: CimType) -> Option<String> {
    let text = if ty == CimType::DateTime {
        value.wrapped()
    } else {
        value.text()
    };
    text.map(String::from)
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
    let concrete = class_of(&item);

    // The body must be this instance's class (or a base of it the request addressed).
    let named = class_named(&body.class)
        .filter(|c| concrete.is_a(c) && c.is_a(class))
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

    // Group the body's elements by property, in body order.
    let mut given: Vec<(&'static str, CimType, bool, Vec<Option<String>>)> = Vec::new();
    for p in &body.properties {
        let name = &p.name;
        let def = concrete
            .property(name)
            .ok_or_else(|| invalid(cat(&[concrete.name, " has no property ", name])))?;
        let text = element_text(&p.value, def.ty);
        match given.iter_mut().find(|g| g.0 == def.name) {
            Some(g) if def.array => g.3.push(text),
            Some(_) => return Err(invalid(cat(&[def.name, " is given twice"]))),
            None => given.push((def.name, def.ty, def.array, alloc::vec![text])),
        }
    }

    // Only what a Put reads of the sensor, not a clone of its whole description.
    let (old, settable, key) =
        model.with_numeric(index, |d, _| (d.thresholds, d.settable, d.key.clone()))?;
    let mut next: Thresholds = old;
    let mut changed: Vec<(Threshold, Option<i32>)> = Vec::new();
    let mut readonly: Vec<(&'static str, bool, Vec<Option<String>>)> = Vec::new();
    for (name, _, array, values) in given {
        if let Some(t) = threshold_named(name) {
            let new = match values.as_slice() {
                [None] => None,
                [Some(text)] => Some(
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
                _ => return Err(invalid(cat(&[name, " takes one value"]))),
            };
            if new != old.get(t) {
                if settable & t.bit() == 0 {
                    return Err(invalid(cat(&[name, " is not settable on this sensor"])));
                }
                next.set(t, new);
                changed.push((t, new));
            }
        } else if !DERIVED.contains(&name) {
            let values = if array {
                values.into_iter().filter(Option::is_some).collect()
            } else {
                values
            };
            readonly.push((name, array, values));
        }
    }
    model.with_instance(&item, |current| {
        for (name, array, values) in &readonly {
            if !same_texts(current.get(name).unwrap_or(&Value::Null), *array, values) {
                return Err(invalid(cat(&[name, " is read-only"])));
            }
        }
        Ok(())
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

    fn want(texts: &[Option<&str>]) -> Vec<Option<String>> {
        texts.iter().map(|t| t.map(String::from)).collect()
    }

    #[test]
    fn same_texts_compares_every_element() {
        let list = Value::strs(["a", "b"]);
        assert!(same_texts(&list, true, &want(&[Some("a"), Some("b")])));
        assert!(!same_texts(&list, true, &want(&[Some("a")])));
        assert!(!same_texts(
            &list,
            true,
            &want(&[Some("a"), Some("b"), Some("c")])
        ));
        assert!(!same_texts(&list, true, &want(&[Some("b"), Some("a")])));
        // An array's NULLs drop out; an empty array and a nil one are the same.
        let with_null = Value::Array(alloc::vec![Value::str("a"), Value::Null]);
        assert!(same_texts(&with_null, true, &want(&[Some("a")])));
        assert!(same_texts(&Value::Null, true, &[]));
        assert!(same_texts(&Value::empty_array(), true, &[]));
        assert!(!same_texts(&Value::Null, true, &want(&[Some("a")])));
        // A scalar NULL is one NULL text.
        assert!(same_texts(&Value::Null, false, &want(&[None])));
        assert!(!same_texts(&Value::Null, false, &[]));
        assert!(same_texts(&Value::U16(5), false, &want(&[Some("5")])));
        assert!(!same_texts(&Value::U16(5), false, &want(&[Some("6")])));
    }
}
