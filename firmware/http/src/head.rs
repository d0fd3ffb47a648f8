//! What the connection loop needs to know about a request head, decided before any body byte is
//! read.
//!
//! Framing is resolved here rather than by edge-http's `RequestHeaders::resolve`, which panics on
//! a non-numeric Content-Length and silently treats an unknown Transfer-Encoding as "no body";
//! both would let a client crash the BMC or smuggle a second request.
//!
//! The head is parsed here too, once: edge-http's `RequestHeaders::receive` reads the head one
//! byte per `read` call and parses it twice. The parser is this file's own, with exactly the
//! rules of httparse (the parser edge-http uses, with its default configuration); only
//! httparse's `Header` type is still used. Its parser and its three 256-byte class tables
//! cost the bare-metal image 1.5 KiB more than this one with a few range tests.

/// A request head as sent: the request line and the header fields, borrowed from its bytes.
#[derive(Debug)]
pub(crate) struct RawHead<'a, 'h> {
    /// The method token exactly as sent (case preserved).
    pub method: &'a str,
    /// The request-target.
    pub target: &'a str,
    pub http11: bool,
    pub headers: &'h [httparse::Header<'a>],
}

/// Parses a complete head (through its blank line) into `headers`. The error is the status to
/// refuse it with, as edge-http's reader decided it: too many fields 431, a method it does not
/// know or anything else malformed 400.
pub(crate) fn parse<'a, 'h>(
    bytes: &'a [u8],
    headers: &'h mut [httparse::Header<'a>],
) -> Result<RawHead<'a, 'h>, u16> {
    let (method, target, http11, n) = parse_raw(bytes, headers).map_err(|e| match e {
        // A head that ends in a blank line but is still partial has more fields than room.
        Malformed::Partial | Malformed::TooManyHeaders => 431u16,
        Malformed::Invalid => 400,
    })?;
    if !known_method(method) {
        return Err(400);
    }
    Ok(RawHead {
        method,
        target,
        http11,
        headers: headers.get(..n).unwrap_or_default(),
    })
}

/// Why [`parse_raw`] stopped, in httparse's terms: its `Status::Partial`, its
/// `Error::TooManyHeaders`, and any other of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Malformed {
    Partial,
    TooManyHeaders,
    Invalid,
}

/// httparse's `tchar` class (RFC 9110 §5.6.2), for the method and the field names, and for
/// Digest parameters' names and unquoted values.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// httparse's class for the request-target: visible ASCII and any byte from 0x80, i.e. every
/// byte above space but DEL, as two comparisons.
fn is_uri(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

/// httparse's class for a field value: tab, space, visible ASCII, any byte from 0x80.
fn is_value(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != 0x7f)
}

/// A cursor over the head: running out of bytes is httparse's `Partial`.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Result<u8, Malformed> {
        let b = *self.bytes.get(self.at).ok_or(Malformed::Partial)?;
        self.at += 1;
        Ok(b)
    }

    /// Moves past the bytes of `class`, returning where they started.
    fn skip(&mut self, class: fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(|&b| class(b)) {
            self.at += 1;
        }
        start
    }

    /// The bytes from `start` up to the one before the last [`Self::next`].
    fn since(&self, start: usize) -> &'a [u8] {
        self.bytes.get(start..self.at - 1).unwrap_or_default()
    }

    /// The rest of a line break whose first byte was `b`: `\r\n` or `\n`.
    fn line_end(&mut self, b: u8) -> Result<(), Malformed> {
        match b {
            b'\n' => Ok(()),
            b'\r' if self.next()? == b'\n' => Ok(()),
            _ => Err(Malformed::Invalid),
        }
    }
}

/// The request line and fields as httparse's `Request::parse` reads them with its default
/// configuration: empty lines before the request line skipped; a method of token bytes and one
/// space; a request-target of visible or non-ASCII bytes, valid UTF-8, and one space; `HTTP/1.0`
/// or `HTTP/1.1`; `\r\n` or `\n` line ends; each field a token name, a colon with nothing
/// before it, optional blanks, a value of value bytes with trailing blanks trimmed, no folding.
/// The field that does not fit `headers` is still read before it is refused. Returns the
/// method, the target, whether HTTP/1.1, and the number of fields.
fn parse_raw<'a>(
    bytes: &'a [u8],
    headers: &mut [httparse::Header<'a>],
) -> Result<(&'a str, &'a str, bool, usize), Malformed> {
    let mut c = Cursor { bytes, at: 0 };
    let mut b = c.next()?;
    while b == b'\r' || b == b'\n' {
        c.line_end(b)?;
        b = c.next()?;
    }
    if !is_token(b) {
        return Err(Malformed::Invalid);
    }
    let start = c.skip(is_token) - 1;
    if c.next()? != b' ' {
        return Err(Malformed::Invalid);
    }
    let method = core::str::from_utf8(c.since(start)).map_err(|_| Malformed::Invalid)?;
    let start = c.skip(is_uri);
    if c.next()? != b' ' || c.at - 1 == start {
        return Err(Malformed::Invalid);
    }
    let target = core::str::from_utf8(c.since(start)).map_err(|_| Malformed::Invalid)?;
    // httparse reads the version as eight bytes when it has them; with fewer, a prefix of
    // `HTTP/1.` is partial and anything else is an error.
    let rest = bytes.get(c.at..).unwrap_or_default();
    let http11 = match rest.get(..8) {
        Some(b"HTTP/1.0") => false,
        Some(b"HTTP/1.1") => true,
        Some(_) => return Err(Malformed::Invalid),
        None if b"HTTP/1.".starts_with(rest) => {
            return Err(Malformed::Partial);
        }
        None => return Err(Malformed::Invalid),
    };
    c.at += 8;
    let b = c.next()?;
    c.line_end(b)?;

    let mut n = 0;
    loop {
        let b = c.next()?;
        if b == b'\r' || b == b'\n' {
            c.line_end(b)?;
            return Ok((method, target, http11, n));
        }
        if !is_token(b) {
            return Err(Malformed::Invalid);
        }
        let start = c.skip(is_token) - 1;
        if c.next()? != b':' {
            return Err(Malformed::Invalid);
        }
        let name = core::str::from_utf8(c.since(start)).map_err(|_| Malformed::Invalid)?;
        let mut b = c.next()?;
        while b == b' ' || b == b'\t' {
            b = c.next()?;
        }
        let value = if is_value(b) {
            let start = c.skip(is_value) - 1;
            let b = c.next()?;
            let value = c.since(start);
            c.line_end(b)?;
            // Trailing blanks are not part of the value (httparse trims them).
            let end = value
                .iter()
                .rposition(|&b| b != b' ' && b != b'\t')
                .map_or(0, |i| i + 1);
            value.get(..end).unwrap_or_default()
        } else {
            c.line_end(b)?;
            &[][..]
        };
        let slot = headers.get_mut(n).ok_or(Malformed::TooManyHeaders)?;
        *slot = httparse::Header { name, value };
        n += 1;
    }
}

/// The methods edge-http's `Method::new` knows, the set this server has always accepted in a
/// request line (any other is 400). Matched here from one string: `Method::new`'s chain of 33
/// comparisons was 448 B of code on the bare-metal image, besides its literals.
const KNOWN_METHODS: &[u8] =
    b"DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE \
    PROPFIND PROPPATCH SEARCH UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE \
    MSEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE PATCH PURGE MKCALENDAR LINK UNLINK";

/// Whether `method` is one of [`KNOWN_METHODS`], in any case (as `Method::new` compares).
fn known_method(method: &str) -> bool {
    KNOWN_METHODS
        .split(|&b| b == b' ')
        .any(|m| m.eq_ignore_ascii_case(method.as_bytes()))
}

/// How the body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

impl Framing {
    pub(crate) fn may_have_body(self) -> bool {
        self != Framing::Length(0)
    }
}

/// The request head reduced to the decisions the loop makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head<'a> {
    pub post: bool,
    /// The path with any query string removed.
    pub path: &'a str,
    /// The request-target exactly as sent (a Digest `uri` must repeat it).
    pub target: &'a str,
    pub content_type: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// `WSMANIDENTIFY: unauthenticated` (MS-WSMV §3.1.4.1.23).
    pub identify_header: bool,
    pub expect_continue: bool,
    /// A `Content-Encoding` other than `identity`: this server decodes none, so the body would
    /// be parsed as if it were plain (RFC 9110 §8.4.1 allows 415 for it).
    pub content_coded: bool,
    pub framing: Framing,
    pub keep_alive: bool,
    pub http11: bool,
}

/// Whether a request's Content-Type lets its body be served as SOAP 1.2: the media type
/// `application/soap+xml` (case-insensitive, any parameters), or no Content-Type at all, which
/// openwsman accepts too (the envelope itself still has to be SOAP 1.2 to get anywhere). Any
/// other is answered 415 (openwsman's answer; reference/wsman.md §1.4).
pub fn soap_media_type(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|value| {
        // Bytes, not `str::split`: the bare-metal image would link a char searcher for it.
        let value = value.as_bytes();
        let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
        value
            .get(..end)
            .unwrap_or_default()
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/soap+xml")
    })
}

/// Why a head cannot be served; the status to answer with before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// 400: the framing is contradictory or unparsable, so the body's end is unknown.
    BadFraming,
    /// 501: a transfer coding other than plain `chunked` (RFC 9112 §6.1).
    UnsupportedEncoding,
    /// 400: an HTTP/1.1 request without Host, or any request with more than one (RFC 9112
    /// §3.2 says MUST).
    BadHost,
    /// 417: an expectation other than `100-continue` (RFC 9110 §10.1.1); the client may be
    /// holding its body back for it, so the stream position is unknown.
    ExpectationFailed,
}

impl HeadError {
    pub(crate) fn status(self) -> u16 {
        match self {
            HeadError::BadFraming => 400,
            HeadError::UnsupportedEncoding => 501,
            HeadError::BadHost => 400,
            HeadError::ExpectationFailed => 417,
        }
    }
}

pub(crate) fn analyse<'a>(req: &RawHead<'a, '_>) -> Result<Head<'a>, HeadError> {
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    let mut identify_header = false;
    let mut authorization = None;
    let mut content_type = None;
    let mut hosts = 0u32;
    let mut expect_other = false;
    let mut content_coded = false;

    for &httparse::Header { name, value: raw } in req.headers {
        if name.eq_ignore_ascii_case("Content-Length") {
            let len = parse_content_length(raw).ok_or(HeadError::BadFraming)?;
            if content_length.is_some_and(|seen| seen != len) {
                return Err(HeadError::BadFraming);
            }
            content_length = Some(len);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            let value = core::str::from_utf8(raw).map_err(|_| HeadError::BadFraming)?;
            if chunked || !value.trim_ascii().eq_ignore_ascii_case("chunked") {
                return Err(HeadError::UnsupportedEncoding);
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("Connection") {
            for token in crate::split::pieces(core::str::from_utf8(raw).unwrap_or(""), b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case("close");
                keep_alive_token |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("Expect") {
            // The only expectation defined is 100-continue; a value with anything else (another
            // member too) is one this server cannot meet.
            let continues = trimmed_eq(raw, "100-continue");
            expect_continue |= continues;
            expect_other |= !continues;
        } else if name.eq_ignore_ascii_case("Host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("Content-Encoding") {
            // Only `identity` (no coding at all) is decoded; any list naming a coding is not.
            content_coded |= !trimmed_eq(raw, "identity");
        } else if name.eq_ignore_ascii_case("WSMANIDENTIFY") {
            identify_header |= trimmed_eq(raw, "unauthenticated");
        } else if name.eq_ignore_ascii_case("Authorization") && authorization.is_none() {
            authorization = core::str::from_utf8(raw).ok();
        } else if name.eq_ignore_ascii_case("Content-Type") && content_type.is_none() {
            content_type = core::str::from_utf8(raw).ok().map(str::trim_ascii);
        }
    }

    if hosts > 1 || (hosts == 0 && req.http11) {
        return Err(HeadError::BadHost);
    }
    if expect_other {
        return Err(HeadError::ExpectationFailed);
    }
    let framing = match (chunked, content_length) {
        (true, Some(_)) => return Err(HeadError::BadFraming),
        (true, None) if !req.http11 => return Err(HeadError::UnsupportedEncoding),
        (true, None) => Framing::Chunked,
        (false, len) => Framing::Length(len.unwrap_or(0)),
    };
    let path = crate::split::pieces(req.target, b'?')
        .next()
        .unwrap_or(req.target);

    Ok(Head {
        post: req.method.eq_ignore_ascii_case("POST"),
        path,
        target: req.target,
        content_type,
        authorization,
        identify_header,
        expect_continue: expect_continue && req.http11,
        content_coded,
        framing,
        keep_alive: !close && (req.http11 || keep_alive_token),
        http11: req.http11,
    })
}

/// Digits only: `str::parse::<u64>` would also take a leading `+`, which other parsers on the
/// path (a proxy) may read differently.
fn parse_content_length(raw: &[u8]) -> Option<u64> {
    let digits = raw.trim_ascii();
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

fn trimmed_eq(raw: &[u8], expected: &str) -> bool {
    raw.trim_ascii().eq_ignore_ascii_case(expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_classes_are_httparses() {
        for b in 0..=u8::MAX {
            assert_eq!(is_uri(b), (0x21..=0x7e).contains(&b) || b >= 0x80, "{b:#x}");
            assert_eq!(
                is_value(b),
                b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80,
                "{b:#x}"
            );
        }
    }
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    /// The same verdict as edge-http's `Method::new` for every method it names, in three cases,
    /// and for near misses: prefixes, suffixes, one byte changed, the separator, empty.
    #[test]
    fn known_methods_are_edge_https() {
        use alloc::string::{String, ToString};
        use alloc::{format, vec};
        let mut names = 0;
        for m in KNOWN_METHODS.split(|&b| b == b' ') {
            let m = core::str::from_utf8(m).unwrap();
            names += 1;
            let lower = m.to_ascii_lowercase();
            let mut mixed = lower.clone();
            mixed[..1].make_ascii_uppercase();
            let mut tries = vec![
                m.to_string(),
                lower,
                mixed,
                format!("{m} "),
                format!(" {m}"),
            ];
            tries.push(format!("{m}X"));
            tries.push(m[..m.len() - 1].to_string());
            tries.push(m[1..].to_string());
            for i in 0..m.len() {
                let mut b = m.as_bytes().to_vec();
                b[i] ^= 0x01;
                tries.push(String::from_utf8(b).unwrap());
            }
            for t in &tries {
                assert_eq!(
                    known_method(t),
                    edge_http::Method::new(t).is_some(),
                    "{t:?}"
                );
            }
            assert!(known_method(m));
        }
        assert_eq!(names, 33);
        for t in ["", " ", "  ", "GET PUT", "G", "GETS", "FOO", "M-SEARCH"] {
            assert_eq!(
                known_method(t),
                edge_http::Method::new(t).is_some(),
                "{t:?}"
            );
        }
    }

    /// What httparse's `Request::parse` (default configuration) makes of `bytes` with `slots`
    /// field slots, in [`parse_raw`]'s terms.
    #[allow(clippy::type_complexity)]
    fn httparse_reads(
        bytes: &[u8],
        slots: usize,
    ) -> Result<(String, String, bool, Vec<(String, Vec<u8>)>), Malformed> {
        use alloc::string::ToString;
        let mut fields = vec![httparse::EMPTY_HEADER; slots];
        let mut req = httparse::Request::new(&mut fields);
        match req.parse(bytes) {
            Ok(httparse::Status::Complete(_)) => Ok((
                req.method.unwrap().to_string(),
                req.path.unwrap().to_string(),
                req.version == Some(1),
                req.headers
                    .iter()
                    .map(|h| (h.name.to_string(), h.value.to_vec()))
                    .collect(),
            )),
            Ok(httparse::Status::Partial) => Err(Malformed::Partial),
            Err(httparse::Error::TooManyHeaders) => Err(Malformed::TooManyHeaders),
            Err(_) => Err(Malformed::Invalid),
        }
    }

    #[allow(clippy::type_complexity)]
    fn own_reads(
        bytes: &[u8],
        slots: usize,
    ) -> Result<(String, String, bool, Vec<(String, Vec<u8>)>), Malformed> {
        use alloc::string::ToString;
        let mut fields = vec![httparse::EMPTY_HEADER; slots];
        let (method, target, http11, n) = parse_raw(bytes, &mut fields)?;
        Ok((
            method.to_string(),
            target.to_string(),
            http11,
            fields[..n]
                .iter()
                .map(|h| (h.name.to_string(), h.value.to_vec()))
                .collect(),
        ))
    }

    /// The head parser reads every input as httparse does (the same method, target, version
    /// and fields, or the same partial / too many fields / malformed verdict): every string of
    /// up to five pieces from an alphabet of the grammar's delimiters and byte classes, alone,
    /// after a request line and between two fields, and mutations of real clients' heads.
    #[test]
    fn heads_are_read_as_httparse_reads_them() {
        let alphabet: [&[u8]; 12] = [
            b"A",
            b"G",
            b":",
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"/",
            b"\x01",
            b"\x80",
            b"\x7f",
            b"HTTP/1.1",
        ];
        let frames: [(&[u8], &[u8]); 4] = [
            (b"", b""),
            (b"", b" / HTTP/1.1\r\n\r\n"),
            (b"POST /wsman HTTP/1.1\r\n", b"\r\n"),
            (b"POST /wsman HTTP/1.0\r\nHost: a\r\n", b"\r\nB: c\r\n\r\n"),
        ];
        let mut compared = 0u64;
        let mut word: Vec<usize> = Vec::new();
        loop {
            let middle: Vec<u8> = word
                .iter()
                .flat_map(|&k| alphabet[k].iter().copied())
                .collect();
            for (before, after) in frames {
                let text = [before, &middle[..], after].concat();
                for slots in [1, 4] {
                    assert_eq!(
                        own_reads(&text, slots),
                        httparse_reads(&text, slots),
                        "{:?}",
                        String::from_utf8_lossy(&text)
                    );
                    compared += 1;
                }
            }
            let mut k = 0;
            loop {
                if k == word.len() {
                    word.push(0);
                    break;
                }
                word[k] += 1;
                if word[k] < alphabet.len() {
                    break;
                }
                word[k] = 0;
                k += 1;
            }
            if word.len() > 5 {
                break;
            }
        }
        assert!(compared > 2_000_000);
        let seeds: [&[u8]; 4] = [
            b"POST /wsman HTTP/1.1\r\nConnection: Keep-Alive\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nUser-Agent: Microsoft WinRM Client\r\nContent-Length: 1234\r\nHost: 127.0.0.1:5985\r\n\r\n",
            b"POST /wsman HTTP/1.1\r\nHost: localhost:5985\r\nUser-Agent: python-requests/2.31.0\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\nContent-Length: 1500\r\n\r\n",
            b"\r\nPOST /wsman-anon/identify?x=1 HTTP/1.0\nWSMANIDENTIFY: unauthenticated \t\nExpect:\n\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\nX:\xff\x80 v \r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        let pieces: [&[u8]; 16] = [
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"\r\n",
            b":",
            b"\x00",
            b"\x7f",
            b"\x80",
            b"\xc3\xa9",
            b"\xff",
            b"HTTP/1.",
            b"/",
            b"(",
            b"\"",
            b" \t ",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..100_000 {
            let mut b = seeds[rnd() as usize % seeds.len()].to_vec();
            for _ in 0..1 + rnd() % 3 {
                let at = rnd() as usize % (b.len() + 1);
                match rnd() % 4 {
                    0 => {
                        let p = pieces[rnd() as usize % pieces.len()];
                        b.splice(at..at, p.iter().copied());
                    }
                    1 => {
                        b.drain(at..(at + 1 + rnd() as usize % 6).min(b.len()));
                    }
                    2 => b.truncate(at),
                    _ => {
                        if let Some(x) = b.get_mut(at) {
                            *x = (rnd() % 256) as u8;
                        }
                    }
                }
            }
            let slots = [0, 2, 5, 16][rnd() as usize % 4];
            assert_eq!(
                own_reads(&b, slots),
                httparse_reads(&b, slots),
                "{:?} {slots}",
                String::from_utf8_lossy(&b)
            );
        }
    }

    fn with_head<R>(raw: &[u8], check: impl FnOnce(Result<Head<'_>, HeadError>) -> R) -> R {
        let mut fields = [httparse::EMPTY_HEADER; 16];
        // Parsed exactly as the server does.
        let parsed = parse(raw, &mut fields).expect("test head parses");
        check(analyse(&parsed))
    }

    #[test]
    fn plain_post_with_length() {
        with_head(
            b"POST /wsman?x=1 HTTP/1.1\r\nHost: b\r\nContent-Length: 12\r\nContent-Type: application/soap+xml\r\n\r\n",
            |head| {
                let head = head.expect("valid head");
                assert!(head.post);
                assert_eq!(head.path, "/wsman");
                assert_eq!(head.framing, Framing::Length(12));
                assert_eq!(head.content_type, Some("application/soap+xml"));
                assert!(head.keep_alive);
                assert!(!head.expect_continue);
            },
        );
    }

    #[test]
    fn framing_errors_are_refused() {
        let cases: &[(&[u8], HeadError)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: b\r\nContent-Length: abc\r\n\r\n",
                HeadError::BadFraming,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: b\r\nContent-Length: +5\r\n\r\n",
                HeadError::BadFraming,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                HeadError::BadFraming,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                HeadError::BadFraming,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HeadError::UnsupportedEncoding,
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                HeadError::UnsupportedEncoding,
            ),
        ];
        for (raw, expected) in cases {
            with_head(raw, |head| assert_eq!(head, Err(*expected)));
        }
    }

    #[test]
    fn parse_refusals_match_edge_http() {
        let mut fields = [httparse::EMPTY_HEADER; 2];
        let too_many = b"POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(parse(too_many, &mut fields).map(|_| ()), Err(431));
        for bad in [
            &b"FROB / HTTP/1.1\r\nHost: b\r\n\r\n"[..],
            b"POST / HTTP/2.0\r\nHost: b\r\n\r\n",
            b"POST / HTTP/1.1\r\nBad Name: b\r\n\r\n",
        ] {
            let mut fields = [httparse::EMPTY_HEADER; 4];
            assert_eq!(parse(bad, &mut fields).map(|_| ()), Err(400), "{bad:?}");
        }
        // A method edge-http knows, in any case, parses; the loop refuses lower case itself.
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let head = parse(b"post /wsman HTTP/1.0\r\n\r\n", &mut fields).expect("parses");
        assert_eq!(
            (head.method, head.target, head.http11),
            ("post", "/wsman", false)
        );
    }

    #[test]
    fn soap_media_types() {
        for ok in [
            None,
            Some("application/soap+xml;charset=UTF-8"),
            Some("Application/SOAP+XML; charset=\"utf-16\"; action=x"),
            Some("application/soap+xml"),
            Some(" application/soap+xml ;charset=latin1"),
        ] {
            assert!(soap_media_type(ok), "{ok:?}");
        }
        for refused in [
            "text/xml",
            "application/soap+xmlx",
            "",
            "application/xml;a=application/soap+xml",
        ] {
            assert!(!soap_media_type(Some(refused)), "{refused:?}");
        }
    }

    #[test]
    fn connection_expect_and_identify_headers() {
        with_head(
            b"POST /wsman HTTP/1.1\r\nHost: b\r\nConnection: TE, Close\r\nexpect: 100-Continue\r\nWSManIdentify: Unauthenticated\r\nTransfer-Encoding: Chunked\r\n\r\n",
            |head| {
                let head = head.expect("valid head");
                assert!(!head.keep_alive);
                assert!(head.expect_continue);
                assert!(head.identify_header);
                assert_eq!(head.framing, Framing::Chunked);
            },
        );
        with_head(b"POST /wsman HTTP/1.0\r\n\r\n", |head| {
            assert!(!head.expect("valid head").keep_alive);
        });
        with_head(
            b"POST /wsman HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            |head| {
                let head = head.expect("valid head");
                assert!(head.keep_alive);
                assert_eq!(head.framing, Framing::Length(0));
            },
        );
    }

    /// Every field is trimmed of optional whitespace only (RFC 9110 §5.6.3: spaces and tabs),
    /// as Expect, Content-Encoding and WSMANIDENTIFY always were: a Unicode space (NBSP,
    /// U+3000) around a Transfer-Encoding, a Connection token or a Content-Type is part of it.
    #[test]
    fn fields_are_trimmed_of_spaces_and_tabs_only() {
        with_head(
            b"POST /wsman HTTP/1.1\r\nHost: b\r\nConnection: \t close \t,keep-alive\r\nContent-Type: \t application/soap+xml \r\nTransfer-Encoding: \tchunked\t\r\n\r\n",
            |head| {
                let head = head.expect("valid head");
                assert!(!head.keep_alive);
                assert_eq!(head.content_type, Some("application/soap+xml"));
                assert_eq!(head.framing, Framing::Chunked);
            },
        );
        with_head(
            "POST /wsman HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\u{a0}\r\n\r\n"
                .as_bytes(),
            |head| assert_eq!(head, Err(HeadError::UnsupportedEncoding)),
        );
        with_head(
            "POST /wsman HTTP/1.1\r\nHost: b\r\nConnection: \u{3000}close\r\nContent-Type: application/soap+xml\u{a0}\r\n\r\n".as_bytes(),
            |head| {
                let head = head.expect("valid head");
                assert!(head.keep_alive);
                assert_eq!(head.content_type, Some("application/soap+xml\u{a0}"));
            },
        );
    }

    #[test]
    fn host_must_appear_exactly_once_in_http11() {
        with_head(
            b"POST /wsman HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            |head| {
                assert_eq!(head, Err(HeadError::BadHost));
            },
        );
        with_head(
            b"POST /wsman HTTP/1.1\r\nHost: a\r\nhost: b\r\nContent-Length: 0\r\n\r\n",
            |head| assert_eq!(head, Err(HeadError::BadHost)),
        );
        with_head(
            b"POST /wsman HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
            |head| assert_eq!(head, Err(HeadError::BadHost)),
        );
        // HTTP/1.0 may omit it.
        with_head(b"POST /wsman HTTP/1.0\r\n\r\n", |head| {
            assert!(head.is_ok())
        });
        assert_eq!(HeadError::BadHost.status(), 400);
    }

    #[test]
    fn expectations_other_than_continue_fail() {
        for raw in [
            &b"POST /wsman HTTP/1.1\r\nHost: b\r\nExpect: 200-ok\r\n\r\n"[..],
            b"POST /wsman HTTP/1.1\r\nHost: b\r\nExpect: 100-continue, x=y\r\n\r\n",
        ] {
            with_head(raw, |head| {
                assert_eq!(head, Err(HeadError::ExpectationFailed))
            });
        }
        assert_eq!(HeadError::ExpectationFailed.status(), 417);
    }

    #[test]
    fn content_codings_are_flagged_identity_is_not() {
        with_head(
            b"POST /wsman HTTP/1.1\r\nHost: b\r\nContent-Encoding: gzip\r\n\r\n",
            |head| assert!(head.expect("valid head").content_coded),
        );
        with_head(
            b"POST /wsman HTTP/1.1\r\nHost: b\r\nContent-Encoding: identity, br\r\n\r\n",
            |head| assert!(head.expect("valid head").content_coded),
        );
        with_head(
            b"POST /wsman HTTP/1.1\r\nHost: b\r\nContent-Encoding: Identity\r\n\r\n",
            |head| assert!(!head.expect("valid head").content_coded),
        );
    }
}
