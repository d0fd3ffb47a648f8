//! The client side an event delivery task needs (issue 16), sans IO: where a NotifyTo URL
//! points ([`Target`]), the request head with Basic credentials ([`basic_header`],
//! [`request_head`]), the sink's answer ([`parse_answer`], chunked bodies included) and, with
//! the `digest` feature, the client side of HTTP Digest (`digest`, RFC 7616 MD5 and SHA-256,
//! with and without `-sess`).
//!
//! Why here and sans IO: the std images' tokio task and the bare-metal image's embassy-net task
//! send the same requests and read the same answers; only the socket differs. In this crate the
//! Digest client hashes with the server side's own MD5 and SHA-256 (the bare-metal image's
//! size-tuned MD5 among them), so an image with both pays for the hashes once. Strings are
//! built from pieces rather than with `format!`, which keeps core::fmt's argument machinery out
//! of the bare-metal image.

use crate::server::{push_decimal, put};
use crate::split::{cut, pieces};
use alloc::string::String;
use alloc::vec::Vec;

/// Where a delivery goes, from a NotifyTo or EndTo address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// Without brackets for an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// The request target: path and query, `/` at least.
    pub path: String,
}

impl Target {
    /// Parses an `http://` or `https://` URL. User info is refused (a password in a URL would
    /// end up wherever URLs are shown); the error never repeats the URL.
    pub fn parse(url: &str) -> Result<Self, &'static str> {
        let (https, rest) = if let Some(r) = strip_prefix_ignore_case(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ignore_case(url, "http://") {
            (false, r)
        } else {
            return Err("not an http or https URL");
        };
        // By byte throughout: `find`, `split_once` and `split` with char patterns each link a
        // core searcher. The fragment is not sent, so it is cut first; a missing path is "/".
        let rest = rest.get(..position(rest, b"#")).unwrap_or(rest);
        let (authority, tail) = rest
            .split_at_checked(position(rest, b"/?"))
            .unwrap_or((rest, ""));
        if authority.as_bytes().contains(&b'@') {
            return Err("a URL with user info is not delivered to");
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix("[") {
            let close = position(v6, b"]");
            if close == v6.len() {
                return Err("unclosed IPv6 literal");
            }
            (
                v6.get(..close).unwrap_or_default(),
                v6.get(close + 1..)
                    .and_then(|after| after.strip_prefix(":")),
            )
        } else {
            match authority.bytes().rposition(|b| b == b':') {
                Some(i) => (
                    authority.get(..i).unwrap_or_default(),
                    authority.get(i + 1..),
                ),
                None => (authority, None),
            }
        };
        if host.is_empty() || unsendable(host) {
            return Err("no host");
        }
        let port = match port {
            Some(p) => number(p, 10)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or("bad port")?,
            None if https => 443,
            None => 80,
        };
        if port == 0 {
            return Err("bad port");
        }
        if unsendable(tail) {
            return Err("bad path");
        }
        let mut path = String::with_capacity(tail.len() + 1);
        if !tail.starts_with('/') {
            path.push('/');
        }
        path.push_str(tail);
        Ok(Self {
            https,
            host: String::from(host),
            port,
            path,
        })
    }

    /// Same scheme, host and port: where credentials given for one may go to the other.
    pub fn same_origin(&self, other: &Target) -> bool {
        self.https == other.https
            && self.port == other.port
            && self.host.eq_ignore_ascii_case(&other.host)
    }

    /// What a log line may say about the sink: scheme, host and port (not the path, which a
    /// collector may use as a secret).
    pub fn origin(&self) -> String {
        let mut s = String::from(if self.https { "https://" } else { "http://" });
        self.push_host(&mut s);
        s.push(':');
        push_decimal(&mut s, usize::from(self.port));
        s
    }

    fn push_host(&self, s: &mut String) {
        if self.host.as_bytes().contains(&b':') {
            s.push('[');
            s.push_str(&self.host);
            s.push(']');
        } else {
            s.push_str(&self.host);
        }
    }

    /// The `Host` header's value: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let mut s = String::new();
        self.push_host_header(&mut s);
        s
    }

    /// [`Self::host_header`] appended to `s`: the request head writes it in place, with no
    /// String of its own to make and drop.
    fn push_host_header(&self, s: &mut String) {
        self.push_host(s);
        if self.port != if self.https { 443 } else { 80 } {
            s.push(':');
            push_decimal(s, usize::from(self.port));
        }
    }
}

/// Where the first of `bytes` is in `s`, or its length.
fn position(s: &str, bytes: &[u8]) -> usize {
    s.bytes()
        .position(|b| bytes.contains(&b))
        .unwrap_or(s.len())
}

/// Whether `s` has a control character or a space, which a request line cannot carry. By byte:
/// a non-ASCII character's bytes are all above 0x7f, so none of them is an ASCII control.
fn unsendable(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_control() || b == b' ')
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// The digits of `s` in `radix` (10 or 16), no sign; `None` when empty, not digits, or past
/// `usize`. One loop for every number an answer or URL carries, rather than core's parser
/// once per integer type.
pub fn number(s: &str, radix: u32) -> Option<usize> {
    if s.is_empty() {
        return None;
    }
    s.chars().try_fold(0usize, |n, c| {
        n.checked_mul(radix as usize)?
            .checked_add(c.to_digit(radix)? as usize)
    })
}

/// `Basic base64(user:password)` (RFC 7617).
pub fn basic_header(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut plain = Vec::with_capacity(user.len() + password.len() + 1);
    plain.extend_from_slice(user.as_bytes());
    plain.push(b':');
    plain.extend_from_slice(password.as_bytes());
    let mut out = String::with_capacity(6 + plain.len().div_ceil(3) * 4);
    out.push_str("Basic ");
    for chunk in plain.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The head of a delivery's POST of `len` body bytes to `t`.
pub fn request_head(t: &Target, len: usize, authorization: Option<&str>) -> String {
    let mut head = String::with_capacity(160 + t.path.len() + authorization.map_or(0, str::len));
    put(&mut head, "POST ");
    put(&mut head, &t.path);
    put(&mut head, " HTTP/1.1\r\nHost: ");
    t.push_host_header(&mut head);
    put(
        &mut head,
        "\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: ",
    );
    push_decimal(&mut head, len);
    put(&mut head, "\r\nUser-Agent: wsbmc\r\n");
    if let Some(a) = authorization {
        put(&mut head, "Authorization: ");
        put(&mut head, a);
        put(&mut head, "\r\n");
    }
    put(&mut head, "\r\n");
    head
}

/// What a sink answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `WWW-Authenticate` values.
    pub challenges: Vec<String>,
    pub body: Vec<u8>,
    /// Whether the connection may carry the next request: HTTP/1.1 without `Connection:
    /// close` (or 1.0 with `keep-alive`), the answer's end known from its framing, and nothing
    /// after it.
    pub keep_alive: bool,
}

/// Parses an HTTP/1.x answer from `buf`: `None` while incomplete (at `eof`, a body without a
/// length ends there). Interim 1xx answers are skipped. A body (or one chunk) declared longer
/// than `max` bytes is an error, so the caller's bound on what it reads is never waited past.
pub fn parse_answer(buf: &[u8], eof: bool, max: usize) -> Result<Option<Answer>, &'static str> {
    let mut start = 0;
    loop {
        let rest = buf.get(start..).unwrap_or_default();
        let Some(end) = find(rest, b"\r\n\r\n") else {
            return if eof {
                Err("the answer has no complete header")
            } else {
                Ok(None)
            };
        };
        let head = core::str::from_utf8(&rest[..end]).map_err(|_| "the header is not UTF-8")?;
        // Split at '\n' and trimmed of '\r': a "\r\n" pattern links core's two-way searcher.
        let mut lines = pieces(head, b'\n').map(|l| l.strip_suffix("\r").unwrap_or(l));
        let status_line = lines.next().unwrap_or("");
        // Only the version and the code are read, so `pieces` (the crate's other splits' code),
        // not a `splitn(3, ..)` of its own.
        let mut parts = pieces(status_line, b' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err("not an HTTP/1.x answer");
        }
        let status: u16 = parts
            .next()
            .and_then(|s| number(s, 10))
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s))
            .ok_or("bad status line")?;
        let mut length = None;
        let mut chunked = false;
        let mut challenges = Vec::new();
        // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it unless told.
        let mut keep_alive = version == "HTTP/1.1";
        for line in lines {
            let Some((name, value)) = cut(line, b':') else {
                continue;
            };
            let value = value.trim_ascii();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(number(value, 10).ok_or("bad Content-Length")?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked =
                    pieces(value, b',').any(|t| t.trim_ascii().eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("www-authenticate") {
                challenges.push(String::from(value));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in pieces(value, b',').map(str::trim_ascii) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") && version == "HTTP/1.0" {
                        keep_alive = true;
                    }
                }
            }
        }
        let body_at = start + end + 4;
        if (100..200).contains(&status) {
            start = body_at;
            continue;
        }
        let body = buf.get(body_at..).unwrap_or_default();
        // Where the answer ends, when its framing says (an answer read to EOF has no next).
        let mut end = None;
        let body = if chunked {
            match dechunk(body, max)? {
                Some((b, used)) => {
                    end = Some(body_at + used);
                    b
                }
                None if eof => return Err("the chunked body was cut short"),
                None => return Ok(None),
            }
        } else if let Some(n) = length {
            if n > max {
                return Err("the answer is too long");
            }
            let Some(b) = body.get(..n) else {
                return if eof {
                    Err("the body was cut short")
                } else {
                    Ok(None)
                };
            };
            end = Some(body_at + n);
            b.to_vec()
        } else if status == 204 || status == 304 {
            end = Some(body_at);
            Vec::new()
        } else if eof {
            body.to_vec()
        } else {
            return Ok(None);
        };
        return Ok(Some(Answer {
            status,
            challenges,
            body,
            keep_alive: keep_alive && end == Some(buf.len()),
        }));
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body: `None` until the last chunk and the trailers have arrived; else the
/// body and how many bytes of `b` it took.
fn dechunk(mut b: &[u8], max: usize) -> Result<Option<(Vec<u8>, usize)>, &'static str> {
    let total = b.len();
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(b, b"\r\n") else {
            return Ok(None);
        };
        let size_text = core::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = pieces(size_text, b';').next().unwrap_or("").trim_ascii();
        let size = number(size_text, 16).ok_or("bad chunk size")?;
        if size > max || out.len() + size > max {
            return Err("a chunk is too long");
        }
        b = &b[eol + 2..];
        if size == 0 {
            // Trailers (none, usually) end with an empty line.
            let rest = if b.starts_with(b"\r\n") {
                Some(2)
            } else {
                find(b, b"\r\n\r\n").map(|i| i + 4)
            };
            return Ok(rest.map(|r| (out, total - b.len() + r)));
        }
        let Some(chunk) = b.get(..size) else {
            return Ok(None);
        };
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(chunk);
        b = &b[size + 2..];
    }
}

/// The client side of HTTP Digest (RFC 7616): MD5 and SHA-256, with and without `-sess`,
/// `qop=auth` when offered. With the crate's `digest` feature, whose hashes it uses.
#[cfg(feature = "digest")]
pub mod digest {
    use alloc::string::String;

    use crate::digest::Algorithm as Hash;
    use crate::server::put;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Algorithm {
        Md5,
        Md5Sess,
        Sha256,
        Sha256Sess,
    }

    impl Algorithm {
        fn name(self) -> &'static str {
            match self {
                Algorithm::Md5 => "MD5",
                Algorithm::Md5Sess => "MD5-sess",
                Algorithm::Sha256 => "SHA-256",
                Algorithm::Sha256Sess => "SHA-256-sess",
            }
        }

        fn hash_of(self) -> Hash {
            match self {
                Algorithm::Md5 | Algorithm::Md5Sess => Hash::Md5,
                Algorithm::Sha256 | Algorithm::Sha256Sess => Hash::Sha256,
            }
        }

        /// SHA-256 over MD5 when a sink offers both.
        pub fn preference(self) -> u8 {
            match self.hash_of() {
                Hash::Md5 => 0,
                Hash::Sha256 => 1,
            }
        }

        /// Lowercase hex of H(parts joined with ':'), in `out`: on the stack rather than a
        /// String each, as the server's check keeps its hex.
        fn hex<'a>(self, parts: &[&[u8]], out: &'a mut [u8; 64]) -> &'a str {
            let hash = self.hash_of();
            let len = hash.len();
            crate::digest::hex_into(hash.hash(parts).get(..len).unwrap_or_default(), out);
            out.get(..2 * len)
                .and_then(|h| core::str::from_utf8(h).ok())
                .unwrap_or_default()
        }
    }

    /// The challenge to answer among a 401's `WWW-Authenticate` values: SHA-256 over MD5 when
    /// a sink offers both (the last of equals, as `max_by_key` picks); `None` without a Digest
    /// one this client can answer.
    pub fn best(challenges: &[String]) -> Option<Challenge> {
        let mut best: Option<Challenge> = None;
        for c in challenges.iter().filter_map(|h| Challenge::parse(h)) {
            if best
                .as_ref()
                .is_none_or(|b| c.algorithm.preference() >= b.algorithm.preference())
            {
                best = Some(c);
            }
        }
        best
    }

    /// A `WWW-Authenticate: Digest ...` challenge.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Challenge {
        pub realm: String,
        pub nonce: String,
        pub opaque: Option<String>,
        pub algorithm: Algorithm,
        /// Whether `qop=auth` was offered.
        pub qop_auth: bool,
        /// `stale=true`: the credentials were right, the nonce had expired.
        pub stale: bool,
    }

    impl Challenge {
        /// `None` for another scheme, an unknown algorithm, or a challenge without realm or
        /// nonce.
        pub fn parse(header: &str) -> Option<Self> {
            let h = header.trim_ascii_start();
            let (scheme, rest) = crate::split::cut(h, b' ')?;
            if !scheme.eq_ignore_ascii_case("Digest") {
                return None;
            }
            let (mut realm, mut nonce, mut opaque) = (None, None, None);
            let mut algorithm = Algorithm::Md5;
            let mut qop_auth = false;
            let mut stale = false;
            params(rest, |k, v| {
                if k.eq_ignore_ascii_case("realm") {
                    realm = Some(v);
                } else if k.eq_ignore_ascii_case("nonce") {
                    nonce = Some(v);
                } else if k.eq_ignore_ascii_case("opaque") {
                    opaque = Some(v);
                } else if k.eq_ignore_ascii_case("qop") {
                    qop_auth = crate::split::pieces(&v, b',')
                        .any(|q| q.trim_ascii().eq_ignore_ascii_case("auth"));
                } else if k.eq_ignore_ascii_case("stale") {
                    stale = v.eq_ignore_ascii_case("true");
                } else if k.eq_ignore_ascii_case("algorithm") {
                    algorithm = [
                        Algorithm::Md5,
                        Algorithm::Md5Sess,
                        Algorithm::Sha256,
                        Algorithm::Sha256Sess,
                    ]
                    .into_iter()
                    .find(|a| a.name().eq_ignore_ascii_case(&v))?;
                }
                Some(())
            })?;
            Some(Self {
                realm: realm?,
                nonce: nonce?,
                opaque,
                algorithm,
                qop_auth,
                stale,
            })
        }

        /// The `Authorization` value answering this challenge for `method uri`, the `nc`-th
        /// request with this nonce (counted from 1).
        pub fn authorization(
            &self,
            user: &str,
            password: &str,
            method: &str,
            uri: &str,
            cnonce: &str,
            nc: u32,
        ) -> String {
            let alg = self.algorithm;
            let (mut a, mut b, mut c, mut d) = ([0u8; 64], [0u8; 64], [0u8; 64], [0u8; 64]);
            let mut ha1 = alg.hex(
                &[user.as_bytes(), self.realm.as_bytes(), password.as_bytes()],
                &mut a,
            );
            if matches!(alg, Algorithm::Md5Sess | Algorithm::Sha256Sess) {
                ha1 = alg.hex(
                    &[ha1.as_bytes(), self.nonce.as_bytes(), cnonce.as_bytes()],
                    &mut b,
                );
            }
            let ha2 = alg.hex(&[method.as_bytes(), uri.as_bytes()], &mut c);
            let mut nc_hex = [0u8; 8];
            crate::digest::hex_into(&nc.to_be_bytes(), &mut nc_hex);
            let nc_hex = core::str::from_utf8(&nc_hex).unwrap_or("00000001");
            let response = if self.qop_auth {
                alg.hex(
                    &[
                        ha1.as_bytes(),
                        self.nonce.as_bytes(),
                        nc_hex.as_bytes(),
                        cnonce.as_bytes(),
                        b"auth",
                        ha2.as_bytes(),
                    ],
                    &mut d,
                )
            } else {
                alg.hex(
                    &[ha1.as_bytes(), self.nonce.as_bytes(), ha2.as_bytes()],
                    &mut d,
                )
            };
            let mut h = String::with_capacity(256);
            put(&mut h, "Digest username=");
            quote(&mut h, user);
            put(&mut h, ", realm=");
            quote(&mut h, &self.realm);
            put(&mut h, ", nonce=");
            quote(&mut h, &self.nonce);
            put(&mut h, ", uri=");
            quote(&mut h, uri);
            put(&mut h, ", algorithm=");
            put(&mut h, alg.name());
            put(&mut h, ", response=\"");
            put(&mut h, response);
            h.push('"');
            if self.qop_auth {
                put(&mut h, ", qop=auth, nc=");
                put(&mut h, nc_hex);
                put(&mut h, ", cnonce=");
                quote(&mut h, cnonce);
            }
            if let Some(o) = &self.opaque {
                put(&mut h, ", opaque=");
                quote(&mut h, o);
            }
            h
        }
    }

    /// Appends `s` as a quoted-string.
    fn quote(q: &mut String, s: &str) {
        q.push('"');
        for ch in s.chars() {
            if ch == '"' || ch == '\\' {
                q.push('\\');
            }
            q.push(ch);
        }
        q.push('"');
    }

    /// `k=v, k="v"` pairs, each given to `each` as it is read; `None` when malformed or when
    /// `each` says `None`. A callback rather than a Vec of owned pairs: the Vec, its keys'
    /// Strings and their drop glue were flash the bare-metal image's Digest client carried.
    fn params(mut s: &str, mut each: impl FnMut(&str, String) -> Option<()>) -> Option<()> {
        loop {
            s = s.trim_start_matches([' ', '\t', ',']);
            if s.is_empty() {
                return Some(());
            }
            let (key, after) = crate::split::cut(s, b'=')?;
            let key = key.trim_ascii();
            s = after.trim_ascii_start();
            let value = if let Some(q) = s.strip_prefix("\"") {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '\\' => v.push(chars.next()?.1),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => v.push(c),
                    }
                }
                s = q.get(end?..)?;
                v
            } else {
                let end = s.bytes().position(|b| b == b',').unwrap_or(s.len());
                let (v, rest) = s.split_at(end);
                s = rest;
                String::from(v.trim_ascii())
            };
            each(key, value)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    const MAX: usize = 64 * 1024;

    #[test]
    fn targets_parse_and_refuse_user_info() {
        let t = Target::parse("http://127.0.0.1:8080/sink?x=1#frag").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 8080, "/sink?x=1")
        );
        assert_eq!(t.origin(), "http://127.0.0.1:8080");
        assert_eq!(t.host_header(), "127.0.0.1:8080");
        let t = Target::parse("HTTPS://[::1]/").unwrap();
        assert_eq!((t.https, t.host.as_str(), t.port), (true, "::1", 443));
        assert_eq!(t.origin(), "https://[::1]:443");
        assert_eq!(t.host_header(), "[::1]");
        assert_eq!(Target::parse("http://h").unwrap().path, "/");
        assert_eq!(Target::parse("http://h?q").unwrap().path, "/?q");
        assert!(Target::parse("http://user:secret@h/").is_err());
        assert!(Target::parse("ftp://h/").is_err());
        assert!(Target::parse("http:/").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://h:0/").is_err());
        assert!(Target::parse("http://h:99999/").is_err());
        assert!(Target::parse("http://h/a b").is_err());
        assert!(Target::parse("http://h/a\r\nX: y").is_err());
        // A multi-byte character where the scheme would end is not a panic.
        assert!(Target::parse("http:/\u{e9}").is_err());
        // Credentials for NotifyTo go to an EndTo of the same origin only.
        let notify = Target::parse("http://Sink:8080/a").unwrap();
        assert!(notify.same_origin(&Target::parse("http://sink:8080/end").unwrap()));
        assert!(!notify.same_origin(&Target::parse("http://other:8080/end").unwrap()));
        assert!(!notify.same_origin(&Target::parse("https://sink:8080/end").unwrap()));
        assert!(!notify.same_origin(&Target::parse("http://sink:8081/end").unwrap()));
    }

    #[test]
    fn numbers_parse_as_core_would_without_a_sign() {
        for (text, radix) in [
            ("0", 10),
            ("65535", 10),
            ("007", 10),
            ("1f", 16),
            ("FFFF", 16),
            ("", 10),
            ("+1", 10),
            ("-1", 10),
            ("1 ", 10),
            ("x", 16),
            ("99999999999999999999999", 10),
            ("\u{661}", 10),
        ] {
            let core = usize::from_str_radix(text, radix)
                .ok()
                .filter(|_| !text.starts_with('+'));
            assert_eq!(number(text, radix), core, "{text:?}");
        }
        assert!(Target::parse("http://h:+80/").is_err());
    }

    #[test]
    fn the_request_head_names_length_host_and_credentials() {
        let t = Target::parse("http://10.0.2.2:4567/sink").unwrap();
        assert_eq!(
            request_head(&t, 1234, Some("Basic eA==")),
            "POST /sink HTTP/1.1\r\nHost: 10.0.2.2:4567\r\n\
             Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 1234\r\n\
             User-Agent: wsbmc\r\nAuthorization: Basic eA==\r\n\r\n"
        );
        let t = Target::parse("http://sink/").unwrap();
        assert!(request_head(&t, 0, None).contains("Host: sink\r\n"));
        assert!(request_head(&t, 0, None).contains("Content-Length: 0\r\n"));
    }

    #[test]
    fn answers_parse_with_length_chunks_or_eof() {
        let a = parse_answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef",
            false,
            MAX,
        )
        .unwrap()
        .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"abc"[..]));
        assert_eq!(
            parse_answer(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
                false,
                MAX
            )
            .unwrap(),
            None
        );
        assert!(
            parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", true, MAX).is_err()
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n";
        let a = parse_answer(chunked, false, MAX).unwrap().unwrap();
        assert_eq!(a.body, b"abcde");
        assert_eq!(
            parse_answer(&chunked[..chunked.len() - 2], false, MAX).unwrap(),
            None
        );
        // Chunks past the bound are refused, not collected.
        assert!(parse_answer(chunked, false, 4).is_err());
        let a = parse_answer(b"HTTP/1.0 202 Accepted\r\n\r\nxyz", true, MAX)
            .unwrap()
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (202, &b"xyz"[..]));
        assert_eq!(
            parse_answer(b"HTTP/1.0 202 Accepted\r\n\r\nxyz", false, MAX).unwrap(),
            None
        );
        let a = parse_answer(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 No\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n",
            false,
            MAX,
        )
        .unwrap()
        .unwrap();
        assert_eq!(a.status, 401);
        assert_eq!(a.challenges.len(), 2);
        assert!(parse_answer(b"SSH-2.0\r\n\r\n", true, MAX).is_err());
        assert!(
            parse_answer(
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
                false,
                MAX
            )
            .is_err()
        );
        // Garbage in a chunk size or a body is an error or incomplete, never a panic.
        for raw in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            b"HTTP/1.1 99999 x\r\n\r\n",
            b"HTTP/1.1 200 \xff\r\n\r\n",
        ] {
            let _ = parse_answer(raw, false, MAX);
            let _ = parse_answer(raw, true, MAX);
        }
    }

    /// Field values are trimmed of ASCII whitespace only (RFC 9110's OWS is spaces and tabs),
    /// as the server's head parser trims them: a Unicode space is part of the value.
    #[test]
    fn answer_fields_are_trimmed_of_ascii_blanks_only() {
        let a = parse_answer(
            b"HTTP/1.1 200 OK\r\nContent-Length:\t 3 \t\r\nConnection: \tclose\t\r\n\r\nabc",
            false,
            MAX,
        )
        .unwrap()
        .unwrap();
        assert_eq!((a.body.as_slice(), a.keep_alive), (&b"abc"[..], false));
        let nbsp = "HTTP/1.1 200 OK\r\nContent-Length: 3\u{a0}\r\n\r\nabc";
        assert!(parse_answer(nbsp.as_bytes(), false, MAX).is_err());
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\tchunked \r\n\r\n 3\t\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            parse_answer(chunked, false, MAX).unwrap().unwrap().body,
            b"abc"
        );
    }

    #[test]
    fn answers_say_whether_the_connection_may_be_kept() {
        let keep = |raw: &[u8], eof: bool| parse_answer(raw, eof, MAX).unwrap().unwrap().keep_alive;
        assert!(keep(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false));
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(!keep(
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(keep(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(keep(b"HTTP/1.1 204 No Content\r\n\r\n", false));
        // A body that ends at EOF leaves nothing to reuse; bytes past the answer neither.
        assert!(!keep(b"HTTP/1.1 200 OK\r\n\r\nabc", true));
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
            false
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n";
        assert!(keep(chunked, false));
        let trailers =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n";
        assert!(keep(trailers, false));
        // The trailers' end has not arrived yet.
        assert_eq!(
            parse_answer(&trailers[..trailers.len() - 2], false, MAX).unwrap(),
            None
        );
    }

    #[cfg(feature = "digest")]
    #[test]
    fn digest_answers_the_rfc_7616_examples() {
        // RFC 7616 section 3.9.1, SHA-256 and MD5.
        for (alg, expect) in [
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ] {
            let header = format!(
                "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={alg}, \
                 nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            );
            let ch = digest::Challenge::parse(&header).unwrap();
            assert!(ch.qop_auth);
            let h = ch.authorization(
                "Mufasa",
                "Circle of Life",
                "GET",
                "/dir/index.html",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                1,
            );
            assert!(h.contains(&format!("response=\"{expect}\"")), "{h}");
            assert!(h.contains("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
            assert!(h.contains("nc=00000001"));
        }
        assert_eq!(digest::Challenge::parse("Basic realm=\"x\""), None);
        assert_eq!(digest::Challenge::parse("Digest realm=\"x\""), None);
        assert_eq!(
            digest::Challenge::parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512"),
            None
        );
        assert_eq!(
            digest::Challenge::parse("Digest realm=\"x, nonce=\"n"),
            None
        );
        // Of several, SHA-256 is answered; Basic and unknown algorithms are passed over.
        let offered = [
            String::from("Basic realm=\"r\""),
            String::from("Digest realm=\"r\", nonce=\"a\", algorithm=SHA-256"),
            String::from("Digest realm=\"r\", nonce=\"b\", algorithm=MD5"),
            String::from("Digest realm=\"r\", nonce=\"c\", algorithm=SHA-512"),
        ];
        assert_eq!(digest::best(&offered).unwrap().nonce, "a");
        assert_eq!(digest::best(&offered[2..]).unwrap().nonce, "b");
        assert_eq!(digest::best(&offered[..1]), None);
    }

    /// The `-sess` variants hash the client nonce into H(A1) (RFC 7616 3.4.2), checked
    /// against a computation with the md-5 and sha2 crates.
    #[cfg(feature = "digest")]
    #[test]
    fn digest_sess_binds_the_cnonce() {
        use md5::Digest as _;
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let md5 = |s: &str| hex(&md5::Md5::digest(s.as_bytes()));
        let ch = digest::Challenge::parse(
            "Digest realm=\"r\", nonce=\"n\", qop=\"auth\", algorithm=MD5-sess",
        )
        .unwrap();
        let h = ch.authorization("u", "p", "POST", "/s", "c", 2);
        let ha1 = md5(&format!("{}:n:c", md5("u:r:p")));
        let ha2 = md5("POST:/s");
        let expect = md5(&format!("{ha1}:n:00000002:c:auth:{ha2}"));
        assert!(h.contains(&format!("response=\"{expect}\"")), "{h}");
        assert!(h.contains("algorithm=MD5-sess"), "{h}");
        // Without qop the response is H(HA1:nonce:HA2), and no nc or cnonce is sent.
        let ch = digest::Challenge::parse("Digest realm=\"r\", nonce=\"n\"").unwrap();
        let h = ch.authorization("u", "p", "POST", "/s", "c", 1);
        let expect = md5(&format!("{}:n:{}", md5("u:r:p"), md5("POST:/s")));
        assert!(h.contains(&format!("response=\"{expect}\"")), "{h}");
        assert!(!h.contains("nc="), "{h}");
    }

    #[cfg(feature = "digest")]
    #[test]
    fn a_kept_digest_challenge_counts_its_uses_and_stale_is_read() {
        let ch = digest::Challenge::parse(
            "Digest realm=\"r\", qop=\"auth\", algorithm=SHA-256, nonce=\"n\", stale=TRUE",
        )
        .unwrap();
        assert!(ch.stale);
        let first = ch.authorization("Mufasa", "Circle of Life", "POST", "/s", "c", 1);
        let next = ch.authorization("Mufasa", "Circle of Life", "POST", "/s", "c", 0x1a);
        assert!(
            first.contains("nc=00000001") && next.contains("nc=0000001a"),
            "{next}"
        );
        // The count is hashed in: the same request with another count is another response.
        let response = |h: &str| String::from(&h.split("response=").nth(1).unwrap()[..66]);
        assert_ne!(response(&first), response(&next));
        assert!(
            !digest::Challenge::parse("Digest realm=\"r\", nonce=\"n\"")
                .unwrap()
                .stale
        );
    }

    #[cfg(feature = "digest")]
    #[test]
    fn digest_quotes_what_it_echoes() {
        let ch = digest::Challenge::parse(r#"Digest realm="a\"b", nonce="n""#).unwrap();
        assert_eq!(ch.realm, "a\"b");
        // An escaped multi-byte character and an escaped backslash; an escape with nothing
        // after it is malformed.
        let odd = digest::Challenge::parse("Digest realm=\"\\\u{e4}\\\\x\", nonce=n").unwrap();
        assert_eq!((odd.realm.as_str(), odd.nonce.as_str()), ("\u{e4}\\x", "n"));
        assert_eq!(
            digest::Challenge::parse("Digest nonce=n, realm=\"r\\"),
            None
        );
        let h = ch.authorization("we\"ird", "p", "POST", "/", "c", 1);
        assert!(
            h.starts_with(r#"Digest username="we\"ird", realm="a\"b""#),
            "{h}"
        );
    }

    #[test]
    fn basic_header_encodes_the_pair() {
        use base64::Engine as _;
        assert_eq!(
            basic_header("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // Every padding case against the base64 crate.
        for pass in ["", "a", "ab", "abc", "abcd", "pässwörd"] {
            let expect = base64::engine::general_purpose::STANDARD.encode(format!("u:{pass}"));
            assert_eq!(basic_header("u", pass), format!("Basic {expect}"));
        }
    }
}
