//! What the connection loop needs to know about a request head, decided before any body byte is
//! read.
//!
//! Framing is resolved here rather than by edge-http's `RequestHeaders::resolve`, which panics on
//! a non-numeric Content-Length and silently treats an unknown Transfer-Encoding as "no body";
//! both would let a client crash the BMC or smuggle a second request.
//!
//! The head is parsed here too, once, by httparse (the parser edge-http uses): edge-http's
//! `RequestHeaders::receive` reads the head one byte per `read` call and parses it twice.

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
    let mut req = httparse::Request::new(headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        // A head that ends in a blank line but is still partial has more fields than room.
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => return Err(431),
        Err(_) => return Err(400),
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(400);
    };
    if !known_method(method) {
        return Err(400);
    }
    Ok(RawHead {
        method,
        target,
        http11: version == 1,
        headers: req.headers,
    })
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
            if chunked || !value.trim().eq_ignore_ascii_case("chunked") {
                return Err(HeadError::UnsupportedEncoding);
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("Connection") {
            for token in core::str::from_utf8(raw).unwrap_or("").split(',') {
                let token = token.trim();
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
            content_type = core::str::from_utf8(raw).ok().map(str::trim);
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
    let path = req.target.split('?').next().unwrap_or(req.target);

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
