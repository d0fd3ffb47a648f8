//! The one instance renderer (DSP0230 as Windows and AMT emit it, `reference/wsman.md` §5.4).
//!
//! Shape: `<p:CLASS xmlns:p="<class URI>" xsi:type="p:CLASS_Type">`, one child per property in
//! alphabetical order (every observed server does this; clients do not care, tests do), NULL as
//! `xsi:nil="true"`, arrays as repeated elements with an empty array as no element at all,
//! datetimes wrapped in `cim:Datetime`/`cim:Interval`, references as EPR content. The `xsi`,
//! `cim`, `a` and `w` prefixes are declared by the envelope `wsman` writes; `p` is declared here
//! on every root, because items of different classes share one envelope.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use wsbmc_wsman::{XmlWriter, write_epr};

use crate::schema::{ClassDef, PropDef, name_order};
use crate::value::{Instance, Value};

/// Writes `instance` as its class's element. Properties of the class the instance has no value
/// for are written as NULL, so every instance shows its class's complete property set; values
/// for names the class lacks are not written.
pub fn render(out: &mut XmlWriter, instance: &Instance<'_>) {
    render_projected(out, instance, None);
}

/// Like [`render`], but when `only` is given writes just the properties it names (matched
/// case-insensitively), for WQL `SELECT a, b` and the association filter's
/// IncludeResultProperty.
pub fn render_projected(out: &mut XmlWriter, instance: &Instance<'_>, only: Option<&[String]>) {
    render_with(out, instance, &ClassMarkup::new(instance.class), only);
}

/// What every instance of a class renders the same way: its properties in order (the
/// inheritance chain's tables merged) and its element's name, type and namespace. An
/// enumeration works this out once per batch: done again for every instance, the merge and
/// the three strings were most of a small instance's cost.
pub struct ClassMarkup {
    class: &'static ClassDef,
    props: Vec<&'static PropDef>,
    root: String,
    xsi_type: String,
    uri: String,
}

impl ClassMarkup {
    pub fn new(class: &'static ClassDef) -> Self {
        let mut root = String::with_capacity(class.name.len() + 2);
        root.push_str("p:");
        root.push_str(class.name);
        let mut xsi_type = String::with_capacity(root.len() + 5);
        xsi_type.push_str(&root);
        xsi_type.push_str("_Type");
        // Pushed in a loop: a collect linked Vec's from-iterator code for this one iterator.
        let mut props = Vec::new();
        for p in class.properties() {
            props.push(p);
        }
        Self {
            class,
            props,
            root,
            xsi_type,
            uri: class.resource_uri(),
        }
    }

    pub fn class(&self) -> &'static ClassDef {
        self.class
    }
}

/// [`render_projected`] with the class's markup worked out beforehand. A `markup` of another
/// class than the instance's is not used: the instance's own is worked out instead.
pub fn render_with(
    out: &mut XmlWriter,
    instance: &Instance<'_>,
    markup: &ClassMarkup,
    only: Option<&[String]>,
) {
    let own;
    let markup = if core::ptr::eq(markup.class, instance.class) {
        markup
    } else {
        own = ClassMarkup::new(instance.class);
        &own
    };
    let ClassMarkup {
        props,
        root,
        xsi_type,
        uri,
        ..
    } = markup;
    out.open(root, &[("xmlns:p", uri), ("xsi:type", xsi_type)]);
    // The values in property order, so one merge walk pairs them with the class's properties;
    // looking each property up in the instance's list would be quadratic. Ties keep list order,
    // so a name set twice renders its first value, as `Instance::get` reads it.
    let mut values: Vec<&(&'static str, Value<'_>)> = instance.values.iter().collect();
    insertion_sort_by(&mut values, |a, b| {
        name_order(a.0, b.0).then(core::ptr::from_ref(*a).cmp(&core::ptr::from_ref(*b)))
    });
    let mut values = values.into_iter().peekable();
    let mut tag = String::with_capacity(40);
    for prop in props.iter().copied() {
        let mut value = &Value::Null;
        // Values sorting before this property belong to no property of the class (or repeat
        // one already written): they are not rendered.
        while let Some((name, v)) = values.peek().map(|e| (e.0, &e.1)) {
            match name_order(name, prop.name) {
                Ordering::Less => {
                    values.next();
                }
                Ordering::Equal => {
                    value = v;
                    values.next();
                    break;
                }
                Ordering::Greater => break,
            }
        }
        if only.is_some_and(|names| !names.iter().any(|n| n.eq_ignore_ascii_case(prop.name))) {
            continue;
        }
        tag.clear();
        tag.push_str("p:");
        tag.push_str(prop.name);
        match value {
            Value::Array(items) => {
                for item in items {
                    scalar(out, &tag, item);
                }
            }
            v => scalar(out, &tag, v),
        }
    }
    out.close(root);
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
        Value::Str(s) => out.text(s),
        Value::DateTime(d) => out.leaf(d.element(), &d.xml_text()),
        Value::Ref(epr) => write_epr(out, epr),
        // The integers (NULL and arrays returned above).
        v => {
            if let Some((negative, magnitude)) = v.sign_magnitude() {
                out.text_int(negative, magnitude);
            }
        }
    }
    out.close(tag);
}

/// The text a scalar renders as, for comparisons against client-supplied text (selector filters,
/// Put): numbers in decimal, booleans as `true`/`false`, datetimes in their element text.
/// `None` for NULL, arrays and references, which have no single text.
pub fn scalar_text(v: &Value<'_>) -> Option<String> {
    use wsbmc_wsman::text::Dec;
    // Every integer through one `Dec::from_parts` and one copy into the String.
    match v {
        Value::Bool(b) => Some(String::from(if *b { "true" } else { "false" })),
        Value::Str(s) => Some(String::from(s.as_ref())),
        Value::DateTime(d) => Some(d.xml_text()),
        v => v.sign_magnitude().map(|(negative, magnitude)| {
            String::from(Dec::from_parts(negative, magnitude).as_str())
        }),
    }
}

/// Sorts a short slice (an instance's values, a handful of power states) by a total order.
/// The slices are tens of elements, where insertion sort is as fast as any; the library's
/// sorts cost ~2 KiB of flash per element type on the bare-metal image. With a total order
/// the result is the one `sort_unstable_by` gives.
pub(crate) fn insertion_sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 {
            let (Some(a), Some(b)) = (v.get(j - 1), v.get(j)) else {
                break;
            };
            if cmp(a, b) != Ordering::Greater {
                break;
            }
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insertion_sort_agrees_with_the_library_sort() {
        let mut seed = 0x2545_f491_u32;
        for len in 0..40 {
            let mut v: Vec<u16> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed % 17) as u16
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            insertion_sort_by(&mut v, u16::cmp);
            assert_eq!(v, want);
        }
    }
    use crate::datetime::CimDateTime;
    use crate::schema::{CIM_LOG_RECORD, CIM_NUMERIC_SENSOR, CIM_SENSOR, CIM_SYSTEM_DEVICE};
    use alloc::vec;
    use wsbmc_wsman::{Epr, Selector};

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
    fn datetimes_and_references() {
        let mut i = Instance::new(&CIM_LOG_RECORD);
        i.set(
            "MessageTimestamp",
            Value::DateTime(CimDateTime::from_sel(0x49C1_AC0F)),
        );
        let mut w = XmlWriter::new();
        render(&mut w, &i);
        assert!(w.as_str().contains(
            "<p:MessageTimestamp><cim:Datetime>2009-03-19T02:21:03Z</cim:Datetime></p:MessageTimestamp>"
        ));

        let mut i = Instance::new(&CIM_SYSTEM_DEVICE);
        i.set(
            "PartComponent",
            Value::epr(Epr {
                resource_uri: String::from("http://x/C"),
                selectors: vec![Selector::text("K", "v")],
            }),
        );
        let mut w = XmlWriter::new();
        render(&mut w, &i);
        assert!(w.as_str().contains(
            "<p:PartComponent><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters><w:ResourceURI>http://x/C</w:ResourceURI><w:SelectorSet><w:Selector Name=\"K\">v</w:Selector></w:SelectorSet></a:ReferenceParameters></p:PartComponent>"
        ));
        assert!(w.as_str().contains("<p:GroupComponent xsi:nil=\"true\"/>"));
    }

    #[test]
    fn projection_keeps_only_the_named_properties() {
        let mut i = Instance::new(&CIM_NUMERIC_SENSOR);
        i.set("CurrentReading", Value::S32(7));
        i.set("DeviceID", Value::str("d"));
        let mut w = XmlWriter::new();
        let only = [String::from("currentreading"), String::from("Nope")];
        render_projected(&mut w, &i, Some(&only));
        assert_eq!(
            w.as_str(),
            "<p:CIM_NumericSensor xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor\" xsi:type=\"p:CIM_NumericSensor_Type\"><p:CurrentReading>7</p:CurrentReading></p:CIM_NumericSensor>"
        );
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
        assert_eq!(names.len(), CIM_SENSOR.properties().count());
        assert!(
            names
                .windows(2)
                .all(|w| crate::schema::name_order(w[0], w[1]).is_lt())
        );
    }
}
