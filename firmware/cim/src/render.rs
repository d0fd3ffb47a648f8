//! The one instance renderer (DSP0230 as Windows and AMT emit it, `reference/wsman.md` §5.4).
//!
//! Shape: `<p:CLASS xmlns:p="<class URI>" xsi:type="p:CLASS_Type">`, one child per property in
//! alphabetical order (every observed server does this; clients do not care, tests do), NULL as
//! `xsi:nil="true"`, arrays as repeated elements with an empty array as no element at all. The
//! `xsi` prefix is declared by the envelope `wsman` writes; `p` is declared here on every root,
//! because items of different classes share one envelope.

use alloc::string::String;

use wsbmc_wsman::XmlWriter;

use crate::value::{Instance, Value};

/// Writes `instance` as its class's element. Properties of the class the instance has no value
/// for are written as NULL, so every instance shows its class's complete property set; values
/// for names the class lacks are not written.
pub fn render(out: &mut XmlWriter, instance: &Instance<'_>) {
    let class = instance.class;
    let uri = class.resource_uri();
    let mut root = String::with_capacity(class.name.len() + 2);
    root.push_str("p:");
    root.push_str(class.name);
    let mut xsi_type = String::with_capacity(root.len() + 5);
    xsi_type.push_str(&root);
    xsi_type.push_str("_Type");

    out.open(&root, &[("xmlns:p", &uri), ("xsi:type", &xsi_type)]);
    let mut tag = String::with_capacity(40);
    for prop in class.properties() {
        tag.clear();
        tag.push_str("p:");
        tag.push_str(prop.name);
        match instance.get(prop.name).unwrap_or(&Value::Null) {
            Value::Array(items) => {
                for item in items {
                    scalar(out, &tag, item);
                }
            }
            v => scalar(out, &tag, v),
        }
    }
    out.close(&root);
}

fn scalar(out: &mut XmlWriter, tag: &str, v: &Value<'_>) {
    match v {
        Value::Null | Value::Array(_) => {
            // A nested array cannot occur in CIM; NULL is the honest rendering of either.
            out.empty(tag, &[("xsi:nil", "true")]);
            return;
        }
        _ => {}
    }
    out.open(tag, &[]);
    match v {
        Value::Bool(b) => out.text(if *b { "true" } else { "false" }),
        Value::U8(n) => out.text_fmt(format_args!("{n}")),
        Value::U16(n) => out.text_fmt(format_args!("{n}")),
        Value::U32(n) => out.text_fmt(format_args!("{n}")),
        Value::U64(n) => out.text_fmt(format_args!("{n}")),
        Value::S8(n) => out.text_fmt(format_args!("{n}")),
        Value::S16(n) => out.text_fmt(format_args!("{n}")),
        Value::S32(n) => out.text_fmt(format_args!("{n}")),
        Value::S64(n) => out.text_fmt(format_args!("{n}")),
        Value::Str(s) => out.text(s),
        Value::Null | Value::Array(_) => {}
    }
    out.close(tag);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CIM_NUMERIC_SENSOR, CIM_SENSOR};

    #[test]
    fn shapes_of_null_arrays_and_scalars() {
        let mut i = Instance::new(&CIM_NUMERIC_SENSOR);
        i.set("IsLinear", Value::Bool(true));
        i.set("CurrentReading", Value::S32(-42));
        i.set("PossibleStates", Value::strs(["Unknown", "A<B"]));
        i.set("SupportedThresholds", Value::empty_array());
        let mut w = XmlWriter::new();
        render(&mut w, &i);
        let s = w.as_str();
        assert!(s.starts_with(
            "<p:CIM_NumericSensor xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor\" xsi:type=\"p:CIM_NumericSensor_Type\">"
        ));
        assert!(s.ends_with("</p:CIM_NumericSensor>"));
        assert!(s.contains("<p:IsLinear>true</p:IsLinear>"));
        assert!(s.contains("<p:CurrentReading>-42</p:CurrentReading>"));
        assert!(s.contains(
            "<p:PossibleStates>Unknown</p:PossibleStates><p:PossibleStates>A&lt;B</p:PossibleStates>"
        ));
        assert!(!s.contains("SupportedThresholds"));
        assert!(s.contains("<p:Accuracy xsi:nil=\"true\"/>"));
    }

    #[test]
    fn output_is_alphabetical() {
        let mut w = XmlWriter::new();
        render(&mut w, &Instance::new(&CIM_SENSOR));
        let s = w.as_str();
        let names: alloc::vec::Vec<&str> = s
            .split("<p:")
            .skip(2)
            .filter_map(|t| t.split([' ', '>', '/']).next())
            .collect();
        assert_eq!(names.len(), CIM_SENSOR.properties().len());
        assert!(
            names
                .windows(2)
                .all(|w| crate::schema::name_order(w[0], w[1]).is_lt())
        );
    }
}
