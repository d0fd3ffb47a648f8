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
use core::cell::RefCell;
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
    // One instance: a template would be built to be used once, which costs what it saves.
    render_markup(
        out,
        instance,
        &mut ClassMarkup::new(instance.class),
        only,
        false,
    );
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
    /// The markup of `layout` as one template, when the bound allows one ([`Template`]).
    template: Option<Template>,
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

/// The most bytes a class's [`Template`] may take on this target. None on the bare-metal image:
/// its 8 KiB envelopes would never allow one (see [`template_bound`]), so the code is left out
/// of its flash.
const TEMPLATE_MAX: usize = if cfg!(target_os = "none") { 0 } else { 8192 };

/// The most bytes a template may take beside a response written into `out`: an eighth of what
/// the response may hold, so the heap a batch needs at its peak grows by at most that much
/// (firmware/cim/tests/heap.rs holds the bare-metal image's limits to it).
fn template_bound(out: &XmlWriter) -> usize {
    TEMPLATE_MAX.min(out.limit() / 8)
}

/// Everything an instance of one layout renders the same way, as one string: the root's start
/// tag, each property's tags (`<p:A>`, then `</p:A><p:B xsi:nil="true"/><p:C>` ...) and the
/// root's end tag, with the places the values go in between (the slots). An instance is then
/// written as a static run, its value, the next static run...: per property one copy instead
/// of the tag built, opened and closed in six to eight writer calls, which was ~300
/// instructions of every property of every instance on the host (issue 17). Property names are
/// the schema's ASCII identifiers, so the tags need no escaping.
struct Template {
    text: String,
    slots: Vec<Slot>,
    /// The projection the template was built for (`None`: every property).
    only: Option<Vec<String>>,
}

/// Where a value goes in a [`Template`]'s text.
#[derive(Clone, Copy)]
struct Slot {
    /// The value's index in the instance.
    value: u16,
    /// The offset just after the property's start tag `<p:Name>`; its end tag `</p:Name>`
    /// follows.
    at: u16,
    /// The start tag's length; the end tag is one byte longer.
    open: u8,
}

/// Whether `prop` is rendered under the projection `only`.
fn projected(prop: &PropDef, only: Option<&[String]>) -> bool {
    only.is_none_or(|names| names.iter().any(|n| n.eq_ignore_ascii_case(prop.name)))
}

/// `<p:`, the prefix of every property tag.
const P: &str = "<p:";
/// What follows the name in a NULL property's element.
const NIL: &str = " xsi:nil=\"true\"/>";

impl Template {
    /// The template of `markup`'s layout under the projection `only`, or `None` when it would
    /// take more than `bound` bytes.
    fn new(markup: &ClassMarkup, only: Option<&[String]>, bound: usize) -> Option<Self> {
        let pairs = || {
            markup
                .props
                .iter()
                .zip(&markup.layout.values)
                .filter(|(prop, _)| projected(prop, only))
        };
        // The exact size first: the bound is checked before anything is allocated, and the
        // text is allocated once.
        let mut size = markup.start.len() + markup.root.len() + 3;
        let mut slots = 0;
        for (prop, at) in pairs() {
            let n = prop.name.len();
            if *at == NO_VALUE {
                size += P.len() + n + NIL.len();
            } else {
                size += 2 * (P.len() + n + 1) + 1;
                slots += 1;
            }
        }
        if size > bound.min(usize::from(u16::MAX)) {
            return None;
        }
        let mut text = String::with_capacity(size);
        let mut list = Vec::with_capacity(slots);
        text.push_str(&markup.start);
        for (prop, at) in pairs() {
            text.push_str(P);
            text.push_str(prop.name);
            if *at == NO_VALUE {
                text.push_str(NIL);
                continue;
            }
            text.push('>');
            list.push(Slot {
                value: *at,
                at: text.len() as u16,
                open: u8::try_from(P.len() + prop.name.len() + 1).ok()?,
            });
            text.push_str("</p:");
            text.push_str(prop.name);
            text.push('>');
        }
        text.push_str("</");
        text.push_str(&markup.root);
        text.push('>');
        Some(Self {
            text,
            slots: list,
            only: only.map(<[String]>::to_vec),
        })
    }

    /// Writes `instance` (of the layout the template was built for).
    fn render(&self, out: &mut XmlWriter, instance: &Instance<'_>) {
        let text = self.text.as_str();
        let piece = |from: usize, to: usize| text.get(from..to).unwrap_or("");
        let mut pos = 0;
        for slot in &self.slots {
            let at = usize::from(slot.at);
            let value = instance
                .values
                .get(usize::from(slot.value))
                .map_or(&Value::Null, |v| &v.1);
            if !matches!(value, Value::Null | Value::Array(_)) {
                out.raw(piece(pos, at));
                content(out, value);
                pos = at;
                continue;
            }
            // NULL or an array: the tags are written as the value needs them.
            let (start, end) = (at - usize::from(slot.open), at + usize::from(slot.open) + 1);
            out.raw(piece(pos, start));
            element(out, piece(start, at), piece(at, end), value);
            pos = end;
        }
        out.raw(piece(pos, text.len()));
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
            template: None,
        }
    }

    pub fn class(&self) -> &'static ClassDef {
        self.class
    }

    /// The heap the markup holds, for the bound of a kept one (and the figures of issue 17).
    pub fn heap_bytes(&self) -> usize {
        let template = self.template.as_ref().map_or(0, |t| {
            t.text.capacity()
                + t.slots.capacity() * core::mem::size_of::<Slot>()
                + t.only.as_ref().map_or(0, |o| {
                    o.iter().map(String::capacity).sum::<usize>()
                        + o.capacity() * core::mem::size_of::<String>()
                })
        });
        self.props.capacity() * core::mem::size_of::<&PropDef>()
            + self.root.capacity()
            + self.start.capacity()
            + self.layout.names.capacity() * core::mem::size_of::<&str>()
            + self.layout.values.capacity() * core::mem::size_of::<u16>()
            + template
    }
}

/// Class markups kept across requests, so a Get of a class rendered before neither merges the
/// class's inheritance tables nor pairs its values by name again, and renders from the kept
/// template: the markup and its layout were ~40% of a Get's rendering on the host (issue 17).
/// An enumeration's batch takes its markup from here and gives it back, so the next Pull does
/// not work it out again either. A handful on the host, each bounded as a batch's is (at most
/// the 8 KiB template and the class's tables). None on the bare-metal image: one kept markup
/// (no template there, ~1 KiB of its heap for CIM_NumericSensor) cost 490 B of flash.
pub struct KeptMarkups(RefCell<[Option<ClassMarkup>; KEPT]>);

/// How many class markups [`KeptMarkups`] holds (see there for the bare-metal image's none).
const KEPT: usize = if cfg!(target_os = "none") { 0 } else { 4 };

impl Default for KeptMarkups {
    fn default() -> Self {
        Self(RefCell::new([const { None }; KEPT]))
    }
}

impl KeptMarkups {
    /// The kept markup of `class`, taken out until [`Self::give`] returns it, or a new one.
    pub fn take(&self, class: &'static ClassDef) -> ClassMarkup {
        if KEPT > 0
            && let Ok(mut kept) = self.0.try_borrow_mut()
            && let Some(m) = kept
                .iter_mut()
                .find_map(|m| m.take_if(|m| core::ptr::eq(m.class, class)))
        {
            return m;
        }
        ClassMarkup::new(class)
    }

    /// Keeps `markup` as the one used last, dropping the one used least recently when every
    /// place is taken. Places fill from the end, so the first is the least recently used.
    pub fn give(&self, markup: ClassMarkup) {
        if KEPT > 0
            && let Ok(mut kept) = self.0.try_borrow_mut()
        {
            // The taken place (or the least recent one) moves to the end.
            let at = kept.iter().rposition(Option::is_none).unwrap_or(0);
            if let Some(rest) = kept.get_mut(at..) {
                rest.rotate_left(1);
            }
            if let Some(last) = kept.last_mut() {
                *last = Some(markup);
            }
        }
    }

    /// The heap the kept markups hold.
    pub fn heap_bytes(&self) -> usize {
        self.0.try_borrow().map_or(0, |kept| {
            kept.iter().flatten().map(ClassMarkup::heap_bytes).sum()
        })
    }
}

/// A cache is no part of what it caches for: a copy starts empty, and it never makes two
/// holders differ.
impl Clone for KeptMarkups {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for KeptMarkups {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for KeptMarkups {}

impl core::fmt::Debug for KeptMarkups {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeptMarkups")
    }
}

/// Renders `instance` with the kept markup of its class (see [`KeptMarkups`]), projected to
/// `only` when given.
pub fn render_kept(
    out: &mut XmlWriter,
    instance: &Instance<'_>,
    kept: &KeptMarkups,
    only: Option<&[String]>,
) {
    let mut markup = kept.take(instance.class);
    render_markup(out, instance, &mut markup, only, true);
    kept.give(markup);
}

/// [`render_projected`] with the class's markup worked out beforehand. A `markup` of another
/// class than the instance's is not used: the instance's own is worked out instead.
pub fn render_with(
    out: &mut XmlWriter,
    instance: &Instance<'_>,
    markup: &mut ClassMarkup,
    only: Option<&[String]>,
) {
    if core::ptr::eq(markup.class, instance.class) {
        render_markup(out, instance, markup, only, true);
    } else {
        render_projected(out, instance, only);
    }
}

/// [`render_with`] with a markup of the instance's class; `keep` says whether the markup
/// is used again (a template is worth building only then).
fn render_markup(
    out: &mut XmlWriter,
    instance: &Instance<'_>,
    markup: &mut ClassMarkup,
    only: Option<&[String]>,
    keep: bool,
) {
    if !markup.layout.holds_for(markup.props.len(), instance) {
        markup.layout = Layout::new(&markup.props, instance);
        markup.template = None;
    }
    let bound = if keep { template_bound(out) } else { 0 };
    if bound > 0 {
        if markup
            .template
            .as_ref()
            .is_none_or(|t| t.only.as_deref() != only)
        {
            markup.template = Template::new(markup, only, bound);
        }
        if let Some(t) = &markup.template {
            t.render(out, instance);
            return;
        }
    }
    let ClassMarkup {
        props,
        root,
        start,
        layout,
        ..
    } = markup;
    out.raw(start);
    // The property's start and end tags, one after the other.
    let mut tags = String::with_capacity(80);
    for (prop, at) in props.iter().zip(&layout.values) {
        if !projected(prop, only) {
            continue;
        }
        let value = instance
            .values
            .get(usize::from(*at))
            .map_or(&Value::Null, |v| &v.1);
        tags.clear();
        tags.push_str(P);
        tags.push_str(prop.name);
        tags.push('>');
        let open = tags.len();
        tags.push_str("</p:");
        tags.push_str(prop.name);
        tags.push('>');
        let (open, close) = tags.split_at(open);
        element(out, open, close, value);
    }
    out.close(root);
}

/// A property's element(s) for `v`, given its start tag `<p:Name>` and end tag: one element
/// per array item, none for an empty array, NULL as `xsi:nil`.
fn element(out: &mut XmlWriter, open: &str, close: &str, v: &Value<'_>) {
    if let Value::Array(items) = v {
        for item in items {
            scalar(out, open, close, item);
        }
    } else {
        scalar(out, open, close, v);
    }
}

fn scalar(out: &mut XmlWriter, open: &str, close: &str, v: &Value<'_>) {
    if let Value::Null | Value::Array(_) = v {
        // A nested array cannot occur in CIM; NULL is the honest rendering of either.
        // As markup, not `empty` with an attribute: the constant needs no escaping.
        out.raw(open.strip_suffix('>').unwrap_or(open));
        out.raw(NIL);
        return;
    }
    out.raw(open);
    content(out, v);
    out.raw(close);
}

/// A scalar's content between its tags (NULL and arrays have none).
fn content(out: &mut XmlWriter, v: &Value<'_>) {
    match v {
        Value::Bool(b) => out.text(if *b { "true" } else { "false" }),
        Value::Str(s) => out.text(s),
        Value::DateTime(d) => out.leaf(d.element(), &d.xml_text()),
        Value::Ref(epr) => write_epr(out, epr),
        // The integers.
        v => {
            if let Some((negative, magnitude)) = v.sign_magnitude() {
                out.text_int(negative, magnitude);
            }
        }
    }
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

    /// Instances rendered from a kept markup's template match the fresh rendering byte for
    /// byte, whatever their values: NULL set explicitly, empty arrays, arrays with NULL items,
    /// datetimes, references, text that needs escaping; with and without a projection, and a
    /// projection changed between instances.
    #[test]
    fn a_template_renders_as_the_per_property_path() {
        let mut a = Instance::new(&CIM_NUMERIC_SENSOR);
        a.set("CurrentReading", Value::S32(-7));
        a.set("DeviceID", Value::str("a<&>\"'"));
        a.set("PossibleStates", Value::strs(["Unknown", "Normal"]));
        a.set("SupportedThresholds", Value::empty_array());
        a.set("IsLinear", Value::Bool(false));
        let mut b = Instance::new(&CIM_NUMERIC_SENSOR);
        b.set("CurrentReading", Value::Null);
        b.set("DeviceID", Value::str("b"));
        // Shapes no builder makes (`set` checks types in tests), rendered as NULL all the same.
        b.values.push((
            "PossibleStates",
            Value::Array(vec![Value::Null, Value::str("x"), Value::empty_array()]),
        ));
        b.set("SupportedThresholds", Value::u16s([0, 1, 65535]));
        b.values.push(("IsLinear", Value::empty_array()));
        let mut c = Instance::new(&CIM_LOG_RECORD);
        c.set(
            "MessageTimestamp",
            Value::DateTime(CimDateTime::from_sel(0x49C1_AC0F)),
        );
        c.set("RecordData", Value::str("\u{1}\u{FFFE}"));
        let mut d = Instance::new(&CIM_SYSTEM_DEVICE);
        d.set(
            "PartComponent",
            Value::epr(Epr {
                resource_uri: String::from("http://x/C"),
                selectors: vec![Selector::text("K", "v<")],
            }),
        );
        let some = [String::from("devicEID"), String::from("PossibleStates")];
        let other = [String::from("CurrentReading")];
        for only in [None, Some(&some[..]), Some(&other[..])] {
            let mut markup = ClassMarkup::new(&CIM_NUMERIC_SENSOR);
            for (n, i) in [&a, &b, &a, &c, &d, &b, &b].into_iter().enumerate() {
                let mut kept = XmlWriter::new();
                render_with(&mut kept, i, &mut markup, only);
                let mut fresh = XmlWriter::new();
                render_projected(&mut fresh, i, only);
                assert_eq!(kept.as_str(), fresh.as_str(), "instance {n}, {only:?}");
            }
        }
        // A projection changed under a kept template, and back.
        let mut markup = ClassMarkup::new(&CIM_NUMERIC_SENSOR);
        for only in [None, Some(&some[..]), Some(&other[..]), None] {
            let mut kept = XmlWriter::new();
            render_with(&mut kept, &b, &mut markup, only);
            assert!(markup.template.is_some());
            let mut fresh = XmlWriter::new();
            render_projected(&mut fresh, &b, only);
            assert_eq!(kept.as_str(), fresh.as_str(), "{only:?}");
        }
    }

    /// A template is built only when it takes at most an eighth of what the response may hold:
    /// with the bare-metal image's 8 KiB envelopes a CIM_NumericSensor's is not, and the
    /// per-property path writes the same bytes.
    #[test]
    fn a_template_is_bounded_by_the_response() {
        let mut i = Instance::new(&CIM_NUMERIC_SENSOR);
        i.set("CurrentReading", Value::S32(1));
        i.set("DeviceID", Value::str("d"));
        i.set("ElementName", Value::str("e"));
        let mut markup = ClassMarkup::new(&CIM_NUMERIC_SENSOR);
        let mut small = XmlWriter::bounded(8 * 1024, 0);
        render_with(&mut small, &i, &mut markup, None);
        assert!(markup.template.is_none());
        let mut large = XmlWriter::bounded(512_000, 0);
        render_with(&mut large, &i, &mut markup, None);
        let t = markup.template.as_ref().expect("a template within 64 KiB");
        assert!(
            t.text.len() > 1024 && t.text.len() <= 8192,
            "{}",
            t.text.len()
        );
        assert_eq!(t.text.len(), t.text.capacity());
        assert_eq!(small.as_str(), large.as_str());
    }

    /// Kept markups render as fresh ones across classes and requests, hold at most [`KEPT`]
    /// classes (the one used least recently goes first), and a projection of one request does
    /// not leak into the next.
    #[test]
    fn kept_markups_render_as_fresh_ones_and_are_bounded() {
        let mut sensor = Instance::new(&CIM_NUMERIC_SENSOR);
        sensor.set("CurrentReading", Value::S32(5));
        sensor.set("DeviceID", Value::str("s"));
        let classes = [
            &CIM_SENSOR,
            &CIM_LOG_RECORD,
            &CIM_SYSTEM_DEVICE,
            &CIM_NUMERIC_SENSOR,
        ];
        let only = [String::from("DeviceID")];
        let kept = KeptMarkups::default();
        // The kept classes, least recently used first.
        let names = || -> Vec<&str> {
            kept.0
                .borrow()
                .iter()
                .flatten()
                .map(|m| m.class.name)
                .collect()
        };
        for round in 0..3 {
            for class in classes {
                let i = if core::ptr::eq(class, &CIM_NUMERIC_SENSOR) {
                    sensor.clone()
                } else {
                    Instance::new(class)
                };
                for only in [None, Some(&only[..]), None] {
                    let mut w = XmlWriter::new();
                    render_kept(&mut w, &i, &kept, only);
                    let mut fresh = XmlWriter::new();
                    render_projected(&mut fresh, &i, only);
                    assert_eq!(
                        w.as_str(),
                        fresh.as_str(),
                        "{round} {} {only:?}",
                        class.name
                    );
                }
            }
            // The classes used last, the last one last.
            let want: Vec<&str> = classes.iter().map(|c| c.name).collect();
            assert_eq!(names(), want[want.len() - KEPT.min(want.len())..]);
        }
        // A class taken and given back moves to the end; one not kept pushes out the first.
        let m = kept.take(&CIM_SENSOR);
        kept.give(m);
        let m = kept.take(&CIM_SYSTEM_DEVICE);
        kept.give(m);
        assert_eq!(
            names(),
            [
                "CIM_LogRecord",
                "CIM_NumericSensor",
                "CIM_Sensor",
                "CIM_SystemDevice"
            ]
        );
        let m = kept.take(&crate::schema::CIM_COMPUTER_SYSTEM);
        kept.give(m);
        assert_eq!(
            names(),
            [
                "CIM_NumericSensor",
                "CIM_Sensor",
                "CIM_SystemDevice",
                "CIM_ComputerSystem"
            ]
        );
        assert!(kept.heap_bytes() > 0);
        // A copy starts empty and compares equal.
        let copy = kept.clone();
        assert_eq!(copy.0.borrow().iter().flatten().count(), 0);
        assert!(copy == kept);
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
