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
    render_with(out, instance, &mut ClassMarkup::new(instance.class), only);
}

/// What every instance of a class renders the same way: its properties in order (the
/// inheritance chain's tables merged) and its element's name, type and namespace. An
/// enumeration works this out once per batch: done again for every instance, the merge and
/// the three strings were most of a small instance's cost.
///
/// It also remembers which value of the last instance goes with which property
/// ([`Layout`]): the instances of one class come from one builder, which sets the same names
/// (the same `&'static str`s) in the same order, so the next instance is paired by comparing
/// name pointers instead of sorting its values and merging them by name. Ordering the names
/// case-insensitively was 18% of an Enumerate+Pull of 64 sensors on the host (issue 17).
pub struct ClassMarkup {
    class: &'static ClassDef,
    props: Vec<&'static PropDef>,
    root: String,
    /// The root's start tag with its namespace and type, escaped once for the batch.
    start: String,
    layout: Layout,
}

/// How the values of an instance pair with a class's properties.
#[derive(Default)]
struct Layout {
    /// The instance's value names, in its order: the layout holds for an instance with exactly
    /// these (the same pointers, in the same order).
    names: Vec<&'static str>,
    /// For each property in render order, the index of its value in the instance, or
    /// [`NO_VALUE`].
    values: Vec<u16>,
}

/// A property the instance has no value for: rendered as NULL.
const NO_VALUE: u16 = u16::MAX;

impl Layout {
    /// Whether this layout (of a class with `props` properties) pairs `instance`'s values.
    fn holds_for(&self, props: usize, instance: &Instance<'_>) -> bool {
        self.values.len() == props
            && self.names.len() == instance.values.len()
            && self
                .names
                .iter()
                .zip(&instance.values)
                .all(|(a, (b, _))| core::ptr::eq(*a, *b))
    }

    /// Pairs `instance`'s values with `props` by name. Ties keep list order, so a name set
    /// twice renders its first value, as `Instance::get` reads it; values that belong to no
    /// property are not rendered.
    fn new(props: &[&'static PropDef], instance: &Instance<'_>) -> Self {
        let values = &instance.values;
        // Sorted into property order, so one merge walk pairs them with the properties;
        // looking each property up in the list would be quadratic.
        // Pushed in loops, here and below: a collect linked Vec's from-iterator code.
        let mut order = Vec::with_capacity(values.len());
        let mut names = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate().take(usize::from(NO_VALUE)) {
            order.push(i as u16);
            names.push(v.0);
        }
        let name = |i: &u16| values.get(usize::from(*i)).map_or("", |v| v.0);
        insertion_sort_by(&mut order, |a, b| {
            name_order(name(a), name(b)).then(a.cmp(b))
        });
        let mut order = order.into_iter().peekable();
        let mut paired = Vec::with_capacity(props.len());
        for prop in props {
            let mut at = NO_VALUE;
            while let Some(i) = order.peek() {
                match name_order(name(i), prop.name) {
                    Ordering::Less => {
                        order.next();
                    }
                    Ordering::Equal => {
                        at = *i;
                        order.next();
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
            paired.push(at);
        }
        Self {
            names,
            values: paired,
        }
    }
}

impl ClassMarkup {
    pub fn new(class: &'static ClassDef) -> Self {
        let mut root = String::with_capacity(class.name.len() + 2);
        root.push_str("p:");
        root.push_str(class.name);
        let mut xsi_type = String::with_capacity(root.len() + 5);
        xsi_type.push_str(&root);
        xsi_type.push_str("_Type");
        let mut start = XmlWriter::new();
        let uri = class.resource_uri();
        start.open(&root, &[("xmlns:p", &uri), ("xsi:type", &xsi_type)]);
        // Pushed in a loop: a collect linked Vec's from-iterator code for this one iterator.
        let mut props = Vec::new();
        for p in class.properties() {
            props.push(p);
        }
        Self {
            class,
            props,
            root,
            start: start.into_string(),
            layout: Layout::default(),
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
    markup: &mut ClassMarkup,
    only: Option<&[String]>,
) {
    let mut own;
    let markup = if core::ptr::eq(markup.class, instance.class) {
        markup
    } else {
        own = ClassMarkup::new(instance.class);
        &mut own
    };
    if !markup.layout.holds_for(markup.props.len(), instance) {
        markup.layout = Layout::new(&markup.props, instance);
    }
    let ClassMarkup {
        props,
        root,
        start,
        layout,
        ..
    } = markup;
    out.raw(start);
    let mut tag = String::with_capacity(40);
    for (prop, at) in props.iter().zip(&layout.values) {
        if only.is_some_and(|names| !names.iter().any(|n| n.eq_ignore_ascii_case(prop.name))) {
            continue;
        }
        let value = instance
            .values
            .get(usize::from(*at))
            .map_or(&Value::Null, |v| &v.1);
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
            // As markup, not `empty` with an attribute: the constant needs no escaping.
            out.raw("<");
            out.raw(tag);
            out.raw(" xsi:nil=\"true\"/>");
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

    /// A markup kept across instances (as an enumeration's batch keeps it) renders each one as
    /// a fresh markup does, whether the next instance sets the same names, other names, the
    /// same names from other pointers, a name twice, or a name of no property.
    #[test]
    fn a_kept_layout_renders_as_a_fresh_one() {
        let other: &'static str = String::leak(String::from("CurrentReading"));
        let mut a = Instance::new(&CIM_NUMERIC_SENSOR);
        a.set("CurrentReading", Value::S32(1));
        a.set("DeviceID", Value::str("a"));
        let mut b = Instance::new(&CIM_NUMERIC_SENSOR);
        b.set("CurrentReading", Value::S32(2));
        b.set("DeviceID", Value::str("b"));
        let mut c = Instance::new(&CIM_NUMERIC_SENSOR);
        c.values.push((other, Value::S32(3)));
        c.values.push(("DeviceID", Value::str("c")));
        let mut d = Instance::new(&CIM_NUMERIC_SENSOR);
        d.values.push(("NotAProperty", Value::S32(9)));
        d.values.push(("DeviceID", Value::str("d1")));
        d.values.push(("DeviceID", Value::str("d2")));
        let e = Instance::new(&CIM_NUMERIC_SENSOR);
        let mut markup = ClassMarkup::new(&CIM_NUMERIC_SENSOR);
        for (n, i) in [&a, &b, &c, &d, &e, &a, &d, &b].into_iter().enumerate() {
            let mut kept = XmlWriter::new();
            render_with(&mut kept, i, &mut markup, None);
            let mut fresh = XmlWriter::new();
            render(&mut fresh, i);
            assert_eq!(kept.as_str(), fresh.as_str(), "instance {n}");
        }
        let mut w = XmlWriter::new();
        render_with(&mut w, &d, &mut markup, None);
        assert!(w.as_str().contains("<p:DeviceID>d1</p:DeviceID>"));
        assert!(!w.as_str().contains("d2") && !w.as_str().contains("NotAProperty"));
        let mut w = XmlWriter::new();
        render_with(&mut w, &c, &mut markup, None);
        assert!(
            w.as_str()
                .contains("<p:CurrentReading>3</p:CurrentReading>")
        );
    }
}
