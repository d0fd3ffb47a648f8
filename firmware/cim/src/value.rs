//! Property values and instances.
//!
//! An [`Instance`] is nothing but its class and a list of (property, value) pairs; a per-class
//! value source fills the list and [`crate::render`] turns any instance into XML. Keeping the
//! values typed (rather than pre-formatted strings) lets tests check every value against its
//! class table and keeps number formatting in one place.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::schema::{CimType, ClassDef, PropDef};

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
    /// An array property; elements are scalars. Empty renders as no element at all.
    Array(Vec<Value<'a>>),
}

impl<'a> Value<'a> {
    pub fn str(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }

    pub fn string(s: alloc::string::String) -> Self {
        Value::Str(Cow::Owned(s))
    }

    pub fn opt_s32(v: Option<i32>) -> Self {
        v.map_or(Value::Null, Value::S32)
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

    /// The value as selector text, for key properties.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
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

    pub fn with_capacity(class: &'static ClassDef, n: usize) -> Self {
        Self {
            class,
            values: Vec::with_capacity(n),
        }
    }

    pub fn set(&mut self, name: &'static str, value: Value<'a>) {
        self.values.push((name, value));
    }

    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CIM_NUMERIC_SENSOR;

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
}
