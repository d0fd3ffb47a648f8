//! Property values and instances.
//!
//! An [`Instance`] is nothing but its class and a list of (property, value) pairs; a per-class
//! value source fills the list and [`crate::render`] turns any instance into XML. Keeping the
//! values typed (rather than pre-formatted strings) lets tests check every value against its
//! class table and keeps number formatting in one place.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use wsbmc_wsman::Epr;

use crate::datetime::CimDateTime;
use crate::schema::{CimType, ClassDef, PropDef, name_order};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// Rendered as `xsi:nil="true"`: CIM NULL, "no value known".
    Null,
    Bool(bool),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    S8(i8),
    S16(i16),
    S32(i32),
    S64(i64),
    Str(Cow<'a, str>),
    /// A `datetime` property: rendered as `cim:Datetime` or `cim:Interval`.
    DateTime(CimDateTime),
    /// A reference property (association ends, method REF parameters): rendered as EPR content.
    Ref(Box<Epr>),
    /// An array property; elements are scalars. Empty renders as no element at all.
    Array(Vec<Value<'a>>),
}

impl<'a> Value<'a> {
    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    pub fn string(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }

    pub fn opt_str(s: Option<&'a str>) -> Self {
        s.map_or(Value::Null, Value::str)
    }

    pub fn opt_s32(v: Option<i32>) -> Self {
        v.map_or(Value::Null, Value::S32)
    }

    pub fn epr(epr: Epr) -> Self {
        Value::Ref(Box::new(epr))
    }

    pub fn u16s(v: impl IntoIterator<Item = u16>) -> Self {
        Value::Array(v.into_iter().map(Value::U16).collect())
    }

    pub fn strs(v: impl IntoIterator<Item = &'a str>) -> Self {
        Value::Array(v.into_iter().map(Value::str).collect())
    }

    pub fn empty_array() -> Self {
        Value::Array(Vec::new())
    }

    /// An integer value as sign and magnitude, negative only below zero: the one decomposition
    /// the renderer's decimal text and the filters' comparisons share (each had its own match).
    pub(crate) fn sign_magnitude(&self) -> Option<(bool, u64)> {
        Some(match *self {
            Value::U8(n) => (false, u64::from(n)),
            Value::U16(n) => (false, u64::from(n)),
            Value::U32(n) => (false, u64::from(n)),
            Value::U64(n) => (false, n),
            Value::S8(n) => (n < 0, u64::from(n.unsigned_abs())),
            Value::S16(n) => (n < 0, u64::from(n.unsigned_abs())),
            Value::S32(n) => (n < 0, u64::from(n.unsigned_abs())),
            Value::S64(n) => (n < 0, n.unsigned_abs()),
            _ => return None,
        })
    }

    /// The value as selector text, for key properties.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A copy that borrows nothing, for values that outlive the data they were built from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::U8(n) => Value::U8(n),
            Value::U16(n) => Value::U16(n),
            Value::U32(n) => Value::U32(n),
            Value::U64(n) => Value::U64(n),
            Value::S8(n) => Value::S8(n),
            Value::S16(n) => Value::S16(n),
            Value::S32(n) => Value::S32(n),
            Value::S64(n) => Value::S64(n),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::DateTime(d) => Value::DateTime(d),
            Value::Ref(e) => Value::Ref(e),
            Value::Array(v) => Value::Array(v.into_iter().map(Value::into_owned).collect()),
        }
    }

    fn scalar_type(&self) -> Option<CimType> {
        Some(match self {
            Value::Bool(_) => CimType::Boolean,
            Value::U8(_) => CimType::Uint8,
            Value::U16(_) => CimType::Uint16,
            Value::U32(_) => CimType::Uint32,
            Value::U64(_) => CimType::Uint64,
            Value::S8(_) => CimType::Sint8,
            Value::S16(_) => CimType::Sint16,
            Value::S32(_) => CimType::Sint32,
            Value::S64(_) => CimType::Sint64,
            Value::Str(_) => CimType::String,
            Value::DateTime(_) => CimType::DateTime,
            Value::Ref(_) => CimType::Reference,
            Value::Null | Value::Array(_) => return None,
        })
    }

    /// Whether the value is of the property's declared type and array-ness (NULL fits anything).
    pub fn conforms(&self, def: &PropDef) -> bool {
        match self {
            Value::Null => true,
            Value::Array(items) => {
                def.array && items.iter().all(|v| v.scalar_type() == Some(def.ty))
            }
            v => !def.array && v.scalar_type() == Some(def.ty),
        }
    }
}

/// One CIM instance: its concrete class and its property values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance<'a> {
    pub class: &'static ClassDef,
    pub values: Vec<(&'static str, Value<'a>)>,
}

impl<'a> Instance<'a> {
    pub fn new(class: &'static ClassDef) -> Self {
        Self {
            class,
            values: Vec::new(),
        }
    }

    /// Out of line: every class builder starts with one, and the allocation's inlined error
    /// path cost the bare-metal image's flash at each.
    #[inline(never)]
    pub fn with_capacity(class: &'static ClassDef, n: usize) -> Self {
        Self {
            class,
            values: Vec::with_capacity(n),
        }
    }

    /// Gives property `name` a value. The name must be a property of the class and the value
    /// of its type: the renderer walks the class's properties, so a misspelt name would render
    /// nothing at all, silently. Checked in debug builds, where every test renders every class,
    /// and free in release builds (the bare-metal image has no flash for it).
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set(&mut self, name: &'static str, value: Value<'a>) {
        #[cfg(debug_assertions)]
        check_value(self.class, name, &value);
        self.values.push((name, value));
    }

    // The setters below are `set` for the value kinds most properties have. Each is one
    // out-of-line body instead of a `Value` built on the stack at every call site: ~230 call
    // sites in the class builders, which the bare-metal image's flash pays for one by one.
    // Out of line on the bare-metal image only: on the host the two calls per property (setter,
    // then `set`) were a share of every instance's build (issue 17), and flash is no concern.

    /// Sets each (key, text) pair, taking the texts out of `keys` (left empty): one loop for
    /// every class's key list instead of one per builder.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_keys(&mut self, keys: &mut [(&'static str, Cow<'a, str>)]) {
        for (name, value) in keys {
            self.set(name, Value::Str(core::mem::take(value)));
        }
    }

    /// `set(name, Value::str(s))`.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_str(&mut self, name: &'static str, s: &'a str) {
        self.set(name, Value::str(s));
    }

    /// `set(name, Value::string(s))`.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_string(&mut self, name: &'static str, s: String) {
        self.set(name, Value::string(s));
    }

    /// `set(name, Value::U16(n))`.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_u16(&mut self, name: &'static str, n: u16) {
        self.set(name, Value::U16(n));
    }

    /// `set(name, Value::Bool(b))`.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_bool(&mut self, name: &'static str, b: bool) {
        self.set(name, Value::Bool(b));
    }

    /// `set(name, Value::Null)`: CIM NULL, said explicitly (an unset property renders the same,
    /// but the value sources list what they know to be NULL).
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_null(&mut self, name: &'static str) {
        self.set(name, Value::Null);
    }

    /// `set(name, Value::empty_array())`: an array with no elements (rendered as none).
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_empty(&mut self, name: &'static str) {
        self.set(name, Value::empty_array());
    }

    /// `set(name, Value::u16s(v))` for a list the caller has at hand; one body for every length.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_u16s(&mut self, name: &'static str, v: &[u16]) {
        self.set(name, Value::u16s(v.iter().copied()));
    }

    /// `set(name, Value::strs(v))` for a list the caller has at hand; one body for every length.
    #[track_caller]
    #[cfg_attr(target_os = "none", inline(never))]
    pub fn set_strs(&mut self, name: &'static str, v: &[&'a str]) {
        self.set(name, Value::strs(v.iter().copied()));
    }

    /// An enabled element that is working: EnabledDefault and EnabledState 2 (Enabled),
    /// HealthState 5 (OK), OperationalStatus [2] (OK), RequestedState 12 (Not Applicable),
    /// Status "OK", no StatusDescriptions; in render order. One body for the builders that set
    /// all seven together.
    pub fn set_working(&mut self) {
        self.set_u16("EnabledDefault", 2);
        self.set_u16("EnabledState", 2);
        self.set_u16("HealthState", 5);
        self.set_u16s("OperationalStatus", &[2]);
        self.set_u16("RequestedState", 12);
        self.set_str("Status", "OK");
        self.set_empty("StatusDescriptions");
    }

    /// Whether the values are in the order the renderer walks the class's properties: the keys
    /// first, in any order (as [`Self::set_keys`] gives them), then every other property by
    /// name, each name once. The renderer accepts any order, but its insertion sort is one pass
    /// only over values in this order (a handful of keys move): an unordered builder cost a
    /// tenth of an enumeration's instructions on the bare-metal image (issue 17). Tests check
    /// the class builders with this.
    pub fn in_render_order(&self) -> bool {
        let is_key = |n: &str| self.class.keys.iter().any(|k| k.eq_ignore_ascii_case(n));
        let keys = self.values.iter().take_while(|(n, _)| is_key(n)).count();
        let (head, rest) = self.values.split_at(keys);
        let unique_keys = head.iter().enumerate().all(|(at, (n, _))| {
            !head[at + 1..]
                .iter()
                .any(|(m, _)| m.eq_ignore_ascii_case(n))
        });
        unique_keys
            && !rest.iter().any(|(n, _)| is_key(n))
            && rest.windows(2).all(|w| name_order(w[0].0, w[1].0).is_lt())
    }

    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Panics unless `value` may be given to property `name` of `class`: see [`Instance::set`].
#[cfg(debug_assertions)]
#[track_caller]
fn check_value(class: &ClassDef, name: &str, value: &Value<'_>) {
    let def = class.property(name);
    assert!(def.is_some(), "{} has no property {name}", class.name);
    assert!(
        def.is_none_or(|d| value.conforms(d)),
        "{}.{name}: {value:?} is not of the declared type",
        class.name
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CIM_NUMERIC_SENSOR, CIM_SYSTEM_DEVICE};

    #[test]
    fn conformance() {
        let reading = CIM_NUMERIC_SENSOR.property("CurrentReading");
        let states = CIM_NUMERIC_SENSOR.property("PossibleStates");
        let (Some(reading), Some(states)) = (reading, states) else {
            panic!("tables lost a property");
        };
        assert!(Value::S32(1).conforms(reading));
        assert!(Value::Null.conforms(reading));
        assert!(!Value::U32(1).conforms(reading));
        assert!(!Value::strs(["a"]).conforms(reading));
        assert!(Value::strs(["a", "b"]).conforms(states));
        assert!(Value::empty_array().conforms(states));
        assert!(!Value::str("a").conforms(states));
        assert!(!Value::u16s([1]).conforms(states));
    }

    #[test]
    fn references_and_datetimes_conform_only_to_their_types() {
        let Some(part) = CIM_SYSTEM_DEVICE.property("PartComponent") else {
            panic!("no PartComponent");
        };
        let epr = Value::epr(Epr {
            resource_uri: String::from("x"),
            selectors: Vec::new(),
        });
        assert!(epr.conforms(part));
        assert!(!Value::str("x").conforms(part));
        let Some(install) = CIM_NUMERIC_SENSOR.property("InstallDate") else {
            panic!("no InstallDate");
        };
        assert!(Value::DateTime(CimDateTime::Timestamp(0)).conforms(install));
        assert!(!epr.conforms(install));
    }
}
