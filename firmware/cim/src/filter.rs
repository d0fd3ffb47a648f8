//! Enumeration filters: the selector dialect (property = value), WQL (through `wsman::wql`) and
//! the DSP0227 association filter (wsman.md §3.7, §5.6).
//!
//! A request is turned into a [`Plan`] once per call (validating every name it mentions, so a
//! typo is a fault rather than an empty result), and [`next`] walks the model's item sequence
//! from a cursor to the next item the plan admits.

use alloc::boxed::Box;
use alloc::string::String;
use wsbmc_wsman::text::cat;

use wsbmc_wsman::provider::{AssociationFilter, PER_ALLOCATION, ProviderPlan};
use wsbmc_wsman::wql::{self, Query};
use wsbmc_wsman::{
    Cursor, EnumSpec, Fault, FaultDetail, FaultKind, Filter, Selector, SelectorValue,
};

use crate::model::{
    Counts, Item, Model, Ns, Scope, check_selectors, class_of, epr_matches, refs, resolve,
};
use crate::schema::{ClassDef, class_named};
use crate::value::{Instance, Value};

fn cannot(message: impl Into<alloc::borrow::Cow<'static, str>>) -> Fault {
    Fault::new(FaultKind::CannotProcessFilter).message(message)
}

/// A validated enumeration request: what every batch of an enumeration needs worked out of its
/// [`EnumSpec`], built once by the Enumerate and kept in the enumeration context
/// ([`wsbmc_wsman::provider::EnumPlan`]). Owned, so the context can keep it; the parts of the
/// spec it does not need to work out (selector values, the association's object and roles) are
/// read from the spec it was built from, which the context keeps beside it.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Instances of `class` (every class when `None`) that pass `filter`.
    Instances {
        class: Option<&'static ClassDef>,
        namespace: Ns,
        filter: InstanceFilter,
    },
    /// Association traversal from one object (of `object_class`).
    Associations {
        object_class: &'static ClassDef,
        association_class: Option<&'static ClassDef>,
        result_class: Option<&'static ClassDef>,
    },
}

#[derive(Debug)]
pub(crate) enum InstanceFilter {
    None,
    /// The spec's selector filter.
    Selector,
    /// Boxed: every context holds a plan, and most have no query; inline, the query made every
    /// plan ~80 B on the bare-metal image, whose contexts share 1.5 KiB.
    Wql(Box<Query>),
}

impl ProviderPlan for Plan {
    /// A WQL plan reads only its parsed query, never the spec's text again.
    fn holds_query(&self) -> bool {
        matches!(
            self,
            Plan::Instances {
                filter: InstanceFilter::Wql(_),
                ..
            }
        )
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Plan::Instances {
                filter: InstanceFilter::Wql(q),
                ..
            } => core::mem::size_of::<Query>() + PER_ALLOCATION + q.heap_bytes(),
            _ => 0,
        }
    }
}

/// The selectors of a selector filter (none for any other: a plan is only ever used with the
/// spec it was built from).
fn selectors_of(spec: &EnumSpec) -> &[Selector] {
    match &spec.filter {
        Filter::Selector(s) => s,
        _ => &[],
    }
}

impl InstanceFilter {
    fn admits(&self, spec: &EnumSpec, instance: &Instance<'_>) -> bool {
        match self {
            InstanceFilter::None => true,
            InstanceFilter::Selector => selectors_admit(instance, selectors_of(spec)),
            InstanceFilter::Wql(q) => wql_admits(instance, q),
        }
    }
}

/// A class a filter names, which must exist: CIM answers an unknown class in a query with an
/// error, and an empty result would hide the typo.
fn named_class(name: &Option<String>, what: &str) -> Result<Option<&'static ClassDef>, Fault> {
    match name {
        None => Ok(None),
        Some(n) => class_named(n)
            .map(Some)
            .ok_or_else(|| cannot(cat(&[what, " ", n, " is not a class of this model"]))),
    }
}

impl Plan {
    /// Out of line: with one caller left (the Enumerate), inlining it into the service's
    /// dispatch cost the bare-metal image ~230 B of flash.
    #[inline(never)]
    pub(crate) fn new(spec: &EnumSpec) -> Result<Self, Fault> {
        #[cfg(test)]
        tests::PLANS.with(|n| n.set(n.get() + 1));
        let scope = resolve(&spec.resource_uri)?;
        let namespace = Ns::parse(spec.namespace.as_deref())?;
        match (&spec.filter, scope) {
            (Filter::None, Scope::All) => Err(Fault::with_detail(
                FaultKind::UnsupportedFeature,
                FaultDetail::FilteringRequired,
            )
            .message("the all-classes URI needs a WQL or association filter")),
            (Filter::None, Scope::Class(class)) => {
                namespace.check_class(class)?;
                Ok(Plan::Instances {
                    class: Some(class),
                    namespace,
                    filter: InstanceFilter::None,
                })
            }
            (Filter::Selector(selectors), scope) => {
                let class = match scope {
                    Scope::Class(class) => {
                        namespace.check_class(class)?;
                        if let Some(s) = selectors.iter().find(|s| {
                            !s.name.eq_ignore_ascii_case("__cimnamespace")
                                && class.property(&s.name).is_none()
                        }) {
                            return Err(cannot(cat(&[class.name, " has no property ", &s.name])));
                        }
                        Some(class)
                    }
                    Scope::All => None,
                };
                Ok(Plan::Instances {
                    class,
                    namespace,
                    filter: InstanceFilter::Selector,
                })
            }
            (Filter::Wql(text), scope) => {
                let query = wql::parse(text)?;
                let class = class_named(&query.class)
                    .ok_or_else(|| cannot(cat(&["no class ", &query.class])))?;
                if let Scope::Class(uri_class) = scope
                    && !class.is_a(uri_class)
                {
                    return Err(cannot(cat(&[
                        "the query selects from ",
                        class.name,
                        ", which is not a ",
                        uri_class.name,
                    ])));
                }
                namespace.check_class(class)?;
                // Projected names first, then the condition's. Two loops, not one chained
                // iterator: the chain of a flatten and a flat_map cost the bare-metal image
                // 116 B of flash.
                let known = |name: &str| match class.property(name) {
                    Some(_) => Ok(()),
                    None => Err(cannot(cat(&[class.name, " has no property ", name]))),
                };
                for name in query.properties.iter().flatten() {
                    known(name)?;
                }
                for name in query
                    .condition
                    .as_ref()
                    .map(|c| c.properties())
                    .unwrap_or_default()
                {
                    known(name)?;
                }
                Ok(Plan::Instances {
                    class: Some(class),
                    namespace,
                    filter: InstanceFilter::Wql(Box::new(query)),
                })
            }
            (Filter::Association(af), Scope::All) => {
                let object_class = match resolve(&af.object.resource_uri) {
                    Ok(Scope::Class(c)) => c,
                    _ => {
                        return Err(cannot(cat(&[
                            "the association object's resource ",
                            &af.object.resource_uri,
                            " is not a class of this model",
                        ])));
                    }
                };
                check_selectors(object_class, &af.object.selectors).map_err(|f| Fault {
                    kind: FaultKind::CannotProcessFilter,
                    ..f
                })?;
                Ok(Plan::Associations {
                    object_class,
                    association_class: named_class(&af.association_class, "AssociationClassName")?,
                    result_class: named_class(&af.result_class, "ResultClassName")?,
                })
            }
            (Filter::Association(_), Scope::Class(class)) => Err(cannot(cat(&[
                "an association filter goes to the all-classes URI, not to ",
                class.name,
            ]))),
        }
    }

    /// The properties to render, when the request narrowed them.
    pub(crate) fn projection<'a>(&'a self, spec: &'a EnumSpec) -> Option<&'a [String]> {
        match (self, &spec.filter) {
            (
                Plan::Instances {
                    filter: InstanceFilter::Wql(q),
                    ..
                },
                _,
            ) => q.properties.as_deref(),
            (Plan::Associations { .. }, Filter::Association(af))
                if !af.include_result_property.is_empty() =>
            {
                Some(&af.include_result_property)
            }
            _ => None,
        }
    }
}

/// The next result at or after `cursor`: its cursor position and the item to return.
pub(crate) fn next(
    model: &Model<'_>,
    (spec, plan): (&EnumSpec, &Plan),
    cursor: Cursor,
) -> Result<Option<(Cursor, Item)>, Fault> {
    next_in(model, (spec, plan), &model.counts()?, cursor)
}

/// [`next`] with the model's item counts taken once for a whole batch.
pub(crate) fn next_in(
    model: &Model<'_>,
    (spec, plan): (&EnumSpec, &Plan),
    counts: &Counts,
    cursor: Cursor,
) -> Result<Option<(Cursor, Item)>, Fault> {
    match plan {
        Plan::Instances {
            class,
            namespace,
            filter,
        } => model.scan(
            cursor,
            counts,
            |c| class.is_none_or(|want| c.is_a(want)),
            |item| {
                if !namespace.admits(item) {
                    return Ok(None);
                }
                let keep = match filter {
                    InstanceFilter::None => true,
                    // One `with_instance` for both dialects: each call site is an instantiation.
                    filter => model.with_instance(item, |i| filter.admits(spec, i))?,
                };
                Ok(keep.then_some(*item))
            },
        ),
        Plan::Associations {
            object_class,
            association_class,
            result_class,
        } => {
            let Filter::Association(filter) = &spec.filter else {
                return Err(cannot("no association object"));
            };
            let object = model
                .find(object_class, &filter.object.selectors, Ns::Default)?
                .ok_or_else(|| cannot("the association object does not exist"))?;
            let pick =
                |item: &Item| traverse(item, &object, filter, *association_class, *result_class);
            let mut from = cursor;
            loop {
                let found = model.scan(from, counts, ClassDef::is_association, |item| {
                    Ok(pick(item))
                })?;
                let Some((pos, result)) = found else {
                    return Ok(None);
                };
                // Associators return each far end once, however many associations lead there
                // (a sensor reaches the host through SystemDevice and AssociatedSensor).
                let duplicate = !filter.instances_of_association
                    && model.any_before(pos, counts, ClassDef::is_association, |earlier| {
                        pick(earlier) == Some(result)
                    });
                if !duplicate {
                    return Ok(Some((pos, result)));
                }
                from = pos + 1;
            }
        }
    }
}

/// What association `item` contributes to a traversal from `object`: the far end
/// (AssociatedInstances) or the association itself (AssociationInstances), if it passes the
/// filter's class and role constraints.
fn traverse(
    item: &Item,
    object: &Item,
    filter: &AssociationFilter,
    association_class: Option<&'static ClassDef>,
    result_class: Option<&'static ClassDef>,
) -> Option<Item> {
    let ends = refs(item)?;
    let (mine, far) = if ends[0].1 == *object {
        (ends[0], ends[1])
    } else if ends[1].1 == *object {
        (ends[1], ends[0])
    } else {
        return None;
    };
    let role_ok = |want: &Option<String>, role: &str| {
        want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(role))
    };
    let is = |class: &ClassDef, want: Option<&'static ClassDef>| want.is_none_or(|w| class.is_a(w));
    let link = class_of(item);
    if !role_ok(&filter.role, mine.0) || !is(link, association_class) {
        return None;
    }
    if filter.instances_of_association {
        // For References, ResultClassName names the association class (DSP0227).
        is(link, result_class).then_some(*item)
    } else {
        (is(class_of(&far.1), result_class) && role_ok(&filter.result_role, far.0)).then_some(far.1)
    }
}

/// The selector dialect: every named property equals the given value. A property the instance's
/// class lacks does not match (on the all-classes URI that skips whole classes).
fn selectors_admit(instance: &Instance<'_>, selectors: &[Selector]) -> bool {
    selectors
        .iter()
        .filter(|s| !s.name.eq_ignore_ascii_case("__cimnamespace"))
        .all(|s| {
            let Some(def) = instance.class.property(&s.name) else {
                return false;
            };
            let have = instance.get(def.name).unwrap_or(&Value::Null);
            match (&s.value, have) {
                (SelectorValue::Text(t), v) => value_is(def.name, v, t),
                (SelectorValue::Epr(want), Value::Ref(have)) => epr_matches(have, want),
                _ => false,
            }
        })
}

/// Whether a property value equals client text: numbers by value, booleans and class names
/// ignoring case, datetimes in either spelling, arrays when any element does.
pub(crate) fn value_is(name: &str, v: &Value<'_>, text: &str) -> bool {
    let text = text.trim();
    match v {
        Value::Null | Value::Ref(_) => false,
        Value::Array(items) => items.iter().any(|i| value_is(name, i, text)),
        Value::Bool(b) => text.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Str(s) if name.ends_with("ClassName") => s.eq_ignore_ascii_case(text),
        Value::Str(s) => s == text,
        Value::DateTime(d) => d.matches(text),
        _ => v
            .sign_magnitude()
            .is_some_and(|have| Some(have) == int_text(text)),
    }
}

/// Client text as an integer the way [`Value::sign_magnitude`] spells it (zero unsigned): any leading `+`, then an optional
/// `-` and at least one decimal digit. What `text.trim_start_matches('+').parse::<i128>()`
/// accepted, written by hand because that parse cost the bare-metal image ~0.5 KiB of flash; a
/// magnitude past `u64` (which no property holds) is `None`, i.e. no match, as before.
fn int_text(text: &str) -> Option<(bool, u64)> {
    let text = text.trim_start_matches('+');
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude = 0u64;
    for b in digits.bytes() {
        let d = b.checked_sub(b'0').filter(|d| *d < 10)?;
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some((negative && magnitude != 0, magnitude))
}

fn wql_admits(instance: &Instance<'_>, query: &Query) -> bool {
    let Some(condition) = &query.condition else {
        return true;
    };
    let lookup = |name: &str| -> Option<wql::Value> {
        instance.class.property(name)?;
        Some(to_wql(instance.get(name).unwrap_or(&Value::Null)))
    };
    condition.eval(&lookup)
}

/// A property value as WQL sees it. Arrays and references have no WQL comparison: NULL, so a
/// condition on them is unknown rather than wrong.
fn to_wql(v: &Value<'_>) -> wql::Value {
    match v {
        Value::Bool(b) => wql::Value::Bool(*b),
        Value::Str(s) => wql::Value::Str(String::from(s.as_ref())),
        Value::DateTime(d) => wql::Value::Str(d.cim_string()),
        Value::Null | Value::Ref(_) | Value::Array(_) => wql::Value::Null,
        // An integer past `i64` (a `u64` above its maximum) is NULL, as no WQL integer holds it.
        v => match v.sign_magnitude() {
            Some((true, magnitude)) => 0i64.checked_sub_unsigned(magnitude),
            Some((false, magnitude)) => i64::try_from(magnitude).ok(),
            None => None,
        }
        .map_or(wql::Value::Null, wql::Value::Int),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::scalar_text;

    extern crate std;

    std::thread_local! {
        /// Plans built on this thread: a test's way of telling a Pull that re-planned.
        pub(crate) static PLANS: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
    }

    /// WQL sees every integer the value's i128 would fit in an `i64`, else NULL.
    #[test]
    fn wql_integers_are_what_the_i128_conversion_gave() {
        let values = [
            Value::U8(255),
            Value::U32(0),
            Value::U64(i64::MAX as u64),
            Value::U64(i64::MAX as u64 + 1),
            Value::U64(u64::MAX),
            Value::S8(-128),
            Value::S32(-5),
            Value::S64(i64::MIN),
            Value::S64(i64::MAX),
        ];
        for v in &values {
            let want = scalar_text(v)
                .and_then(|t| t.parse::<i128>().ok())
                .and_then(|n| i64::try_from(n).ok());
            match to_wql(v) {
                wql::Value::Int(n) => assert_eq!(Some(n), want, "{v:?}"),
                wql::Value::Null => assert_eq!(None, want, "{v:?}"),
                _ => panic!("{v:?} is not an integer to WQL"),
            }
        }
    }

    /// The hand-written comparison answers what the i128 text comparison it replaced answered.
    #[test]
    fn integers_match_as_the_i128_parse_did() {
        let values = [
            Value::U8(0),
            Value::U8(255),
            Value::U16(7),
            Value::U32(4_000_000_000),
            Value::U64(u64::MAX),
            Value::S8(-128),
            Value::S16(0),
            Value::S32(-5),
            Value::S64(i64::MIN),
            Value::S64(i64::MAX),
        ];
        let texts = [
            "",
            "+",
            "-",
            "0",
            "-0",
            "+0",
            "00",
            "7",
            "+7",
            "++7",
            "-+7",
            "+-5",
            "-5",
            " 7",
            "7 ",
            "7a",
            "0x7",
            "255",
            "-128",
            "128",
            "4000000000",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "9223372036854775807",
            "-18446744073709551615",
            "340282366920938463463374607431768211456",
        ];
        for v in &values {
            let have = scalar_text(v).and_then(|t| t.parse::<i128>().ok());
            for text in texts {
                let trimmed = text.trim().trim_start_matches('+');
                let before = have.is_some() && have == trimmed.parse::<i128>().ok();
                assert_eq!(value_is("N", v, text), before, "{v:?} {text:?}");
            }
        }
    }
}
