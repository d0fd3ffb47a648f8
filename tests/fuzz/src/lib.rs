//! What the fuzz targets share: an in-memory connection for the HTTP loop, the CIM test board
//! the service targets dispatch to, and a helper that turns fuzz bytes into text.
//!
//! The targets themselves live in `fuzz_targets/`; `scripts/fuzz` builds and runs them.

use std::cell::{Cell, RefCell};

use embedded_io_async::{ErrorKind, ErrorType, Read, Write};

/// The CIM integration tests' board (two numeric sensors, a power controller, a SEL, FRU data,
/// a discrete sensor, firmware and IP endpoints), shared so the service targets dispatch to the
/// same model the conformance goldens are checked against.
#[allow(dead_code, clippy::all)]
#[path = "../../../firmware/cim/tests/common/mod.rs"]
pub mod board;

/// A connection whose peer sends `input` in pieces of at most `step` bytes (so a head or a
/// chunk boundary falls anywhere) and then closes; what the server writes is counted and
/// dropped.
pub struct Wire<'a> {
    input: &'a [u8],
    step: usize,
    written: &'a Cell<usize>,
}

impl<'a> Wire<'a> {
    pub fn new(input: &'a [u8], step: usize, written: &'a Cell<usize>) -> Self {
        Self {
            input,
            step: step.max(1),
            written,
        }
    }
}

impl ErrorType for Wire<'_> {
    type Error = ErrorKind;
}

impl Read for Wire<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.input.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Wire<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written
            .set(self.written.get().saturating_add(buf.len()));
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Splits `data` at the first `sep`: the two halves of a two-part input (a certificate and its
/// key, a subject and its SANs).
pub fn split_once(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// The Content-Types the service targets pick from with a byte of the input: UTF-8 and UTF-16
/// labels, none, and one the service refuses.
pub const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/soap+xml;charset=UTF-8"),
    Some("application/soap+xml;charset=UTF-16"),
    None,
    Some("application/soap+xml;charset=ISO-8859-1"),
];

/// Where a request names the enumeration context the previous replies opened: `@CTX@` in a
/// request is replaced by the last `EnumerationContext` a reply carried, so seeds (and the
/// fuzzer) can Pull and Release a real context without guessing its token. A request naming it
/// before any reply carried one is skipped.
pub const CTX: &[u8] = b"@CTX@";

thread_local! {
    /// The test board the service targets dispatch to, built once per process (with the
    /// pristine copy its state is reset from) instead of once per input: building and dropping
    /// it cost about 3 % of the service target's time (perf), resetting it a fraction of that.
    static FIXTURE: (board::Fixture, board::Fixture) =
        (board::Fixture::full(), board::Fixture::full());
}

/// Puts everything an input can change in `fixture` back as it is in `pristine` (both built by
/// `Fixture::full`), so every input starts from the same state and a crash reproduces from its
/// input alone. The destructuring is exhaustive on purpose: a field added to the shared
/// fixture does not compile here until it is reset or named as never changing (`_`: plain
/// data behind `&`, no `Cell` or `RefCell`, which the model cannot modify).
fn reset(fixture: &board::Fixture, pristine: &board::Fixture) {
    let board::Fixture {
        monitor,
        system: _,
        platform,
    } = fixture;
    *monitor.borrow_mut() = pristine.monitor.borrow().clone();
    let board::TestPlatform {
        power,
        in_progress,
        offered: _,
        requests,
        fail,
        persisted,
        log,
        clear,
        fru: _,
        discrete: _,
        firmware: _,
        ip: _,
    } = platform;
    let p = &pristine.platform;
    power.set(p.power.get());
    in_progress.set(p.in_progress.get());
    requests.borrow_mut().clone_from(&p.requests.borrow());
    fail.set(p.fail.get());
    persisted.borrow_mut().clone_from(&p.persisted.borrow());
    if let (Some(log), Some(p)) = (log, &p.log) {
        log.records.borrow_mut().clone_from(&p.records.borrow());
    }
    clear.set(p.clear.get());
}

/// Runs `requests` in order through one fresh `Service` over the test board in its initial
/// state, and checks what every reply must satisfy whatever the request: nothing but an
/// Identify for a caller without a user, and a body a console can parse.
pub fn serve(requests: &[&[u8]], content_type: Option<&str>, user: Option<&str>) {
    FIXTURE.with(|(fixture, pristine)| {
        reset(fixture, pristine);
        serve_on(fixture, requests, content_type, user);
    });
}

fn serve_on(
    fixture: &board::Fixture,
    requests: &[&[u8]],
    content_type: Option<&str>,
    user: Option<&str>,
) {
    use wsbmc_wsman::{Limits, ReplyKind, RequestMeta, Service};
    let model = fixture.model();
    let mut svc = Service::new(Limits::default(), 0x5EED);
    let mut ctx: Vec<u8> = Vec::new();
    for (i, body) in requests.iter().enumerate() {
        // A request naming the context before any reply opened one (the filters target's Pull
        // after a refused Enumerate, many of its inputs) would be refused the same way every
        // time: skipped, it costs nothing. A context the input spells out itself still runs.
        if ctx.is_empty() && memchr::memmem::find(body, CTX).is_some() {
            continue;
        }
        let body = replace(body, CTX, &ctx);
        let meta = RequestMeta {
            content_type,
            user,
            now_ms: 1_000_000 + 1_000 * i as u64,
            security_profiles: None,
        };
        let reply = svc.handle(&model, &meta, &body);
        // A caller without a user gets an Identify or nothing at all.
        assert!(
            user.is_some()
                || matches!(reply.kind, ReplyKind::Identify | ReplyKind::Unauthenticated),
            "{:?}",
            reply.kind
        );
        check_reply(&reply.body);
        if let Some(found) = context_of(&reply.body) {
            ctx = found.to_vec();
        }
    }
}

/// `data` with every `from` replaced by `to`.
fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(i) = memchr::memmem::find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The text of the first `EnumerationContext` element of a UTF-8 reply.
fn context_of(body: &[u8]) -> Option<&[u8]> {
    let tag = b"EnumerationContext>";
    let start = memchr::memmem::find(body, tag)? + tag.len();
    let len = memchr::memchr(b'<', &body[start..])?;
    Some(&body[start..start + len])
}

/// Slots of [`CHECKED`]: 512 KiB, enough to keep the replies of the last few thousand inputs.
const CHECKED_SLOTS: usize = 1 << 16;

thread_local! {
    /// Replies already found well-formed, by a 64-bit hash of their bytes, in a direct-mapped
    /// table (a slot keeps the last hash that fell on it). Parsing the reply, through the
    /// instrumented roxmltree, cost more than serving the request (about 40 % of the service
    /// target's time, profiled with perf), and many inputs are answered by a reply seen before
    /// (the same fault for a broken envelope). Skipping only bytes that passed before keeps the
    /// check exact, and keeps a crash reproducible from its input alone: a reply that fails is
    /// never remembered, so it fails again when its input runs in a fresh process. A table
    /// rather than a HashSet: its one lookup is the same code whatever it holds, so the history
    /// of earlier inputs adds no coverage feature of its own.
    static CHECKED: RefCell<Vec<u64>> = RefCell::new(vec![0; CHECKED_SLOTS]);
}

/// A non-empty reply body is a well-formed document (UTF-8, or UTF-16 when the request was).
fn check_reply(body: &[u8]) {
    use std::hash::{DefaultHasher, Hasher};
    if body.is_empty() {
        return;
    }
    // SipHash with fixed keys: the same reply hashes alike in every process. Zero marks an
    // empty slot, so a zero hash is checked every time.
    let mut hasher = DefaultHasher::new();
    hasher.write(body);
    let hash = hasher.finish();
    let slot = (hash as usize) % CHECKED_SLOTS;
    if hash != 0 && CHECKED.with(|c| c.borrow()[slot] == hash) {
        return;
    }
    parse_reply(body);
    CHECKED.with(|c| c.borrow_mut()[slot] = hash);
}

/// The check itself: panics unless `body` is a well-formed document.
fn parse_reply(body: &[u8]) {
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(body) {
        Ok(t) => t.into(),
        Err(_) => {
            // UTF-16LE with a BOM, the only other encoding the service answers in.
            assert!(
                body.starts_with(&[0xFF, 0xFE]),
                "reply neither UTF-8 nor UTF-16LE"
            );
            let units: Vec<u16> = body[2..]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            match String::from_utf16(&units) {
                Ok(s) => s.into(),
                Err(e) => panic!("reply is not UTF-16: {e}"),
            }
        }
    };
    let text = text.trim_start_matches('\u{FEFF}');
    if let Err(e) = roxmltree::Document::parse(text) {
        panic!("reply is not well-formed XML: {e}\n{text}");
    }
}

/// Splits a multi-request input at each run of four NUL bytes, which no well-formed UTF-8 or
/// UTF-16 envelope contains; at most `max` parts.
pub fn requests(data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() + 1 < max {
        match memchr::memmem::find(rest, &[0, 0, 0, 0]) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 4..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// The namespaces every envelope the structured targets build declares.
pub const NAMESPACES: &str = concat!(
    r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
    r#"xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" "#,
    r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" "#,
    r#"xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" "#,
    r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
    r#"xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/""#,
);

/// A UTF-8 envelope with a fixed, valid header (`action` on `resource_uri`, the given extra
/// header XML such as a SelectorSet) around `body`: the structured targets fuzz one part of a
/// request and keep the rest well-formed so the fuzzer spends its time in that part.
pub fn envelope(action: &str, resource_uri: &str, extra_header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + extra_header.len() + body.len());
    out.extend_from_slice(format!("<s:Envelope {NAMESPACES}><s:Header>").as_bytes());
    out.extend_from_slice(b"<a:To>http://127.0.0.1:5985/wsman</a:To>");
    out.extend_from_slice(format!("<w:ResourceURI>{resource_uri}</w:ResourceURI>").as_bytes());
    out.extend_from_slice(b"<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>");
    out.extend_from_slice(format!("<a:Action>{action}</a:Action>").as_bytes());
    out.extend_from_slice(b"<a:MessageID>uuid:00000000-0000-4000-8000-00000000F022</a:MessageID>");
    out.extend_from_slice(extra_header);
    out.extend_from_slice(b"</s:Header><s:Body>");
    out.extend_from_slice(body);
    out.extend_from_slice(b"</s:Body></s:Envelope>");
    out
}

/// DMTF CIM schema URI of `class`.
pub fn cim_uri(class: &str) -> String {
    format!("http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/{class}")
}

/// WS-Enumeration's action URIs.
pub const ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
pub const PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";
