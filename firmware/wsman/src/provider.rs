//! The boundary between the protocol and the model behind it.
//!
//! `wsman` parses the envelope, owns enumeration contexts and paging, and writes every envelope;
//! a `Provider` (the CIM model in `wsbmc-cim`) resolves resource URIs and selectors and writes
//! instance bodies. The provider never sees SOAP or XML: Put and Create bodies and method
//! inputs reach it as typed property lists. `wsman` never sees a class.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use crate::fault::Fault;
use crate::xml::XmlWriter;

/// A `wsman:Selector`: a key property name and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub value: SelectorValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorValue {
    Text(String),
    /// Reference-typed keys (association classes) carry a nested EPR.
    Epr(Box<Epr>),
}

impl Selector {
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: SelectorValue::Text(value.into()),
        }
    }

    /// The text value, or `None` for an EPR-valued selector.
    pub fn as_text(&self) -> Option<&str> {
        match &self.value {
            SelectorValue::Text(t) => Some(t),
            SelectorValue::Epr(_) => None,
        }
    }
}

/// How many EPRs deep a client's EPR may nest through EPR-valued selectors (an association's
/// reference key is one level; a reference to an association, two). Parsing and comparing
/// nested EPRs recurse, so the bound keeps untrusted input from choosing the stack depth.
pub const MAX_EPR_NESTING: usize = 2;

/// An endpoint reference: what a client needs to address one instance again.
///
/// The `__cimnamespace` selector is part of `selectors` when the provider wants it emitted
/// (reference/wsman.md §5.2 says every emitted EPR should carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epr {
    pub resource_uri: String,
    pub selectors: Vec<Selector>,
}

/// One property of a Put or Create body, or one IN parameter of an Invoke, as the client sent
/// it: parsed out of the XML by `wsman`, so the provider decides on values, not on markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The element's local name, in the client's case (clients disagree on the namespace of
    /// parameters, and on case, so providers match names case-insensitively).
    pub name: String,
    pub value: PropertyValue,
}

/// What a property element holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    /// `xsi:nil="true"`: CIM NULL.
    Nil,
    /// Text content, trimmed (strings, numbers, booleans): the element holds no element.
    Text(String),
    /// The trimmed text of the element's first child element, which is not an EPR: a wrapped
    /// value such as a datetime's `cim:Datetime` or `cim:Interval`.
    Wrapped(String),
    /// EPR content, with or without a `wsa:EndpointReference` wrapper.
    Epr(Epr),
    /// An embedded instance: the one child element holds elements itself and is not an EPR
    /// (CreateAccount's AccountTemplate). Its own properties are one level deep: a value in
    /// them that is an instance again is [`PropertyValue::Wrapped`], so nesting is bounded.
    #[cfg(feature = "embedded-instances")]
    Instance(Box<Representation>),
}

impl PropertyValue {
    /// The text of a scalar value; `None` for NULL, and an empty text for element content
    /// (a wrapped value or an EPR given where text was expected).
    pub fn text(&self) -> Option<&str> {
        match self {
            PropertyValue::Nil => None,
            PropertyValue::Text(t) => Some(t),
            PropertyValue::Wrapped(_) | PropertyValue::Epr(_) => Some(""),
            #[cfg(feature = "embedded-instances")]
            PropertyValue::Instance(_) => Some(""),
        }
    }

    /// The text of a wrapped value (a datetime); `None` for NULL, and an empty text when the
    /// element held no wrapper.
    pub fn wrapped(&self) -> Option<&str> {
        match self {
            PropertyValue::Nil => None,
            PropertyValue::Wrapped(t) => Some(t),
            PropertyValue::Text(_) | PropertyValue::Epr(_) => Some(""),
            #[cfg(feature = "embedded-instances")]
            PropertyValue::Instance(_) => Some(""),
        }
    }
}

/// The instance element of a Put or Create body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    /// The element's local name: the class the client says it sends.
    pub class: String,
    /// The element's namespace URI (the class's resource URI, DSP0230), when it has one.
    pub namespace: Option<String>,
    /// Its child elements in document order; an array property is one entry per element.
    pub properties: Vec<Property>,
}

/// The instance an operation addresses. `namespace` is the `__cimnamespace` selector, taken out
/// of `selectors` by the parser; duplicate selector names are rejected before a provider sees them.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub resource_uri: &'a str,
    pub selectors: &'a [Selector],
    pub namespace: Option<&'a str>,
}

/// A parsed enumeration filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    None,
    /// Selector filter dialect: property = value equality tests.
    Selector(Vec<Selector>),
    /// WQL text, passed through unparsed.
    Wql(String),
    /// DSP0227 association filter.
    Association(AssociationFilter),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationFilter {
    /// `AssociatedInstances` (far ends) when false, `AssociationInstances` (the links) when true.
    pub instances_of_association: bool,
    pub object: Epr,
    pub association_class: Option<String>,
    pub result_class: Option<String>,
    pub role: Option<String>,
    pub result_role: Option<String>,
    pub include_result_property: Vec<String>,
}

/// Everything that defines an enumeration; kept in the enumeration context between Pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumSpec {
    pub resource_uri: String,
    pub namespace: Option<String>,
    pub filter: Filter,
}

/// What a provider works out from an enumeration's request once (a resolved class, a parsed
/// filter), for [`EnumPlan`] to keep in the enumeration context. `wsman` never looks inside.
pub trait ProviderPlan: core::any::Any {
    /// Heap the plan holds beyond its own size (the same estimate, [`PER_ALLOCATION`] per
    /// allocation on top of its bytes), for the context table's byte bound.
    fn heap_bytes(&self) -> usize;

    /// Whether the plan holds all the provider needs of the spec's WQL text (the parsed
    /// query), so the context need not keep the text beside it: on the bare-metal image a
    /// long filter's text and its parse tree did not fit one context's share of the heap.
    fn holds_query(&self) -> bool {
        false
    }
}

/// Allocation cost assumed per owned string, vector or box, beyond its bytes: the allocator's
/// rounding and header, and the struct that holds it. An estimate, not a measurement; it makes
/// many tiny allocations count for more than their bytes.
pub const PER_ALLOCATION: usize = 32;

/// A provider's plan for one enumeration, built once by [`Provider::prepare`] and handed back
/// to every batch of it, so a Pull neither resolves the class again nor re-parses a WQL filter.
/// Shared, not copied: the context and the streamed rest of a reply hold the same plan.
#[derive(Clone, Default)]
pub struct EnumPlan(Option<Rc<dyn ProviderPlan>>);

impl EnumPlan {
    pub fn new<T: ProviderPlan>(plan: T) -> Self {
        Self(Some(Rc::new(plan)))
    }

    /// The plan, when it is a `T` (the provider's own type).
    pub fn get<T: ProviderPlan>(&self) -> Option<&T> {
        let any: &dyn core::any::Any = self.0.as_deref()?;
        any.downcast_ref()
    }

    /// See [`ProviderPlan::holds_query`].
    pub fn holds_query(&self) -> bool {
        self.0.as_deref().is_some_and(|p| p.holds_query())
    }

    /// Heap the plan holds, its own allocation (with the two reference counts) included.
    pub fn heap_bytes(&self) -> usize {
        self.0.as_deref().map_or(0, |p| {
            core::mem::size_of_val(p)
                + 2 * core::mem::size_of::<usize>()
                + PER_ALLOCATION
                + p.heap_bytes()
        })
    }
}

impl core::fmt::Debug for EnumPlan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0.is_some() {
            "EnumPlan(..)"
        } else {
            "EnumPlan(None)"
        })
    }
}

/// The same plan (not two equal ones): what a stream compares is where its plan came from.
impl PartialEq for EnumPlan {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl Eq for EnumPlan {}

/// Opaque provider position within an enumeration. Providers must make it stable across
/// calls (an index into a fixed table, a SEL record id), never a pointer.
pub type Cursor = u64;

/// What Identify reports about the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub vendor: String,
    pub version: String,
}

/// The model behind the endpoint.
///
/// Every method is synchronous: a WS-Man request never waits on a bus, the provider only reads
/// the monitor's cache and the SEL.
pub trait Provider {
    fn identity(&self) -> Identity;

    /// Writes the one instance `target` names as the Get response body.
    fn get(&self, target: &Target<'_>, out: &mut XmlWriter) -> Result<(), Fault>;

    /// Validates an enumeration (resource URI, namespace, filter) and returns its first cursor.
    fn enumerate(&self, spec: &EnumSpec) -> Result<Cursor, Fault>;

    /// [`Provider::enumerate`] that also returns what the provider worked out, kept in the
    /// enumeration context and passed to every batch ([`Provider::fill_planned`],
    /// [`Provider::count_planned`]). The service calls this, once per Enumerate; the default
    /// keeps nothing.
    fn prepare(&self, spec: &EnumSpec) -> Result<(Cursor, EnumPlan), Fault> {
        Ok((self.enumerate(spec)?, EnumPlan::default()))
    }

    /// Produces the next item at or after `*cursor`: returns its EPR and, when `object` is given,
    /// writes the instance element into it; advances `*cursor` past the item. `Ok(None)` means the
    /// enumeration is exhausted. The caller may discard an item that does not fit the envelope
    /// and ask again with the old cursor value, so this must be free of side effects.
    ///
    /// A provider never waits for an item: one whose source has nothing ready yet (an event
    /// log read as it grows) returns `Err(Fault::new(FaultKind::TimedOut))`. The service then
    /// ends the batch there, or, when the batch is still empty, answers `wsman:TimedOut` and keeps
    /// the context where it was so the client's retried Pull continues.
    fn next_item(
        &self,
        spec: &EnumSpec,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
    ) -> Result<Option<Epr>, Fault>;

    /// Fills one Enumerate or Pull batch from `*cursor` on (see [`crate::enumeration::fill`]).
    ///
    /// The default walks [`Provider::next_item`], which works the request out again for every
    /// item. A provider with something to work out once per batch (a class to resolve, a filter
    /// to parse) overrides this with its own [`ItemWalk`] passed to
    /// [`crate::enumeration::fill_from`].
    fn fill_batch(
        &self,
        spec: &EnumSpec,
        mode: crate::envelope::EnumMode,
        cursor: &mut Cursor,
        lim: crate::enumeration::BatchLimits,
    ) -> Result<crate::enumeration::Batch, Fault>
    where
        Self: Sized,
    {
        crate::enumeration::fill_from(&mut PerItem::new(self, spec), mode, cursor, lim)
    }

    /// [`Provider::fill_batch`] with the plan [`Provider::prepare`] returned for `spec`.
    fn fill_planned(
        &self,
        spec: &EnumSpec,
        _plan: &EnumPlan,
        mode: crate::envelope::EnumMode,
        cursor: &mut Cursor,
        lim: crate::enumeration::BatchLimits,
    ) -> Result<crate::enumeration::Batch, Fault>
    where
        Self: Sized,
    {
        self.fill_batch(spec, mode, cursor, lim)
    }

    /// An estimate of how many items an enumeration yields, for TotalItemsCountEstimate.
    fn count_estimate(&self, _spec: &EnumSpec) -> Option<u64> {
        None
    }

    /// [`Provider::count_estimate`] with the plan [`Provider::prepare`] returned for `spec`.
    fn count_planned(&self, spec: &EnumSpec, _plan: &EnumPlan) -> Option<u64> {
        self.count_estimate(spec)
    }

    /// Replaces the instance with `body` (the instance element) and writes the result.
    fn put(
        &self,
        _target: &Target<'_>,
        _body: &Representation,
        _out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        Err(Fault::action_mismatch())
    }

    /// Creates the resource `body` (the first element of the SOAP Body) describes and returns the
    /// new resource's EPR, which the service sends back as `x:ResourceCreated`. A resource that
    /// exists already is `FaultKind::AlreadyExists`.
    fn create(&self, _target: &Target<'_>, _body: &Representation) -> Result<Epr, Fault> {
        Err(Fault::action_mismatch())
    }

    /// Deletes the instance `target` names; the response body is empty.
    fn delete(&self, _target: &Target<'_>) -> Result<(), Fault> {
        Err(Fault::action_mismatch())
    }

    /// Whether the provider acts on the `wsman:Option` called `name`. Options nobody claims are
    /// ignored unless the client insists on them (MustComply, or an OptionSet marked
    /// mustUnderstand), which answers `wsman:InvalidOptions`/`NotSupported` before dispatch.
    fn supports_option(&self, _name: &str) -> bool {
        false
    }

    /// Runs extrinsic method `method` with the parameters of its `<method>_INPUT` element, in
    /// document order; writes the `<method>_OUTPUT` element.
    fn invoke(
        &self,
        _target: &Target<'_>,
        _method: &str,
        _input: &[Property],
        _out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        Err(Fault::action_mismatch())
    }
}

/// One batch's walk over an enumeration's items, from a request the provider worked out once.
pub trait ItemWalk {
    /// The next item at or after `*cursor`, as [`Provider::next_item`] describes: writes the
    /// instance element into `object` when given and advances `*cursor` past the item. Returns
    /// `Ok(None)` at the end, `Ok(Some(Some(epr)))` when `epr` asked for the item's EPR, and
    /// `Ok(Some(None))` when it did not (an Objects-mode item, or the "is there more?" peek),
    /// so that none is built only to be thrown away. Free of side effects, like `next_item`.
    fn next(
        &mut self,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
        epr: bool,
    ) -> Result<Option<Option<Epr>>, Fault>;
}

/// The walk of a provider without its own: one [`Provider::next_item`] call per item.
pub struct PerItem<'a, P> {
    provider: &'a P,
    spec: &'a EnumSpec,
}

impl<'a, P> PerItem<'a, P> {
    pub fn new(provider: &'a P, spec: &'a EnumSpec) -> Self {
        Self { provider, spec }
    }
}

impl<P: Provider> ItemWalk for PerItem<'_, P> {
    fn next(
        &mut self,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
        _epr: bool,
    ) -> Result<Option<Option<Epr>>, Fault> {
        Ok(self
            .provider
            .next_item(self.spec, cursor, object)?
            .map(Some))
    }
}
