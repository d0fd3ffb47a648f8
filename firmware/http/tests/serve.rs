// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(not(feature = "digest"), allow(unused_imports, dead_code))]
//! The connection loop driven end to end over an in-memory socket, the way the tokio images run
//! it (`FromTokio` over a tokio stream), with a raw HTTP client on the other end.

use std::cell::RefCell;
use std::time::Duration;

use base64::Engine as _;
use embedded_io_adapters::tokio_1::FromTokio;
// The std images' embassy-time driver: the timeouts here run on tokio, outside embassy-executor.
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use wsbmc_http::{
    Auth, Handler, HttpLimits, Offer, Outcome, Phase, Request, Response, ResponseGate, ServeError,
    Unfinished, serve_connection, serve_connection_gated, serve_connection_with,
};
use wsbmc_time_std as _;

/// What the handler saw for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    content_type: Option<String>,
    user: Option<String>,
    body: Vec<u8>,
    profiles: Vec<&'static str>,
}

/// Records every call and echoes the body back; a body `outcome:<name>` asks for that outcome
/// instead of `Served`.
#[derive(Default)]
struct Echo {
    seen: RefCell<Vec<Seen>>,
    /// The room every finished stream was given per piece.
    rooms: RefCell<Vec<usize>>,
}

/// A streamed answer in progress: `left` more pieces of `len` bytes each (the letter of the
/// piece's index), then `end`; `fail_at` pieces in, the handler gives up instead.
#[derive(Debug)]
struct Pieces {
    left: usize,
    len: usize,
    next: u8,
    fail_at: Option<usize>,
    rooms: Vec<usize>,
}

impl Handler for Echo {
    type Rest = Pieces;

    fn more(&self, rest: &mut Pieces, out: &mut Vec<u8>, room: usize) -> Result<bool, Unfinished> {
        rest.rooms.push(room);
        if rest.fail_at == Some(usize::from(rest.next)) {
            return Err(Unfinished);
        }
        if rest.left == 0 {
            out.extend_from_slice(b"end");
            self.rooms.borrow_mut().extend(rest.rooms.drain(..));
            return Ok(true);
        }
        out.extend(std::iter::repeat_n(b'a' + rest.next % 26, rest.len));
        rest.next += 1;
        rest.left -= 1;
        Ok(false)
    }

    fn handle(&self, req: &Request<'_>, body: &[u8]) -> Response<Pieces> {
        // `stream:N:LEN[:FAIL]`: a body "head;" followed by N pieces of LEN bytes and "end".
        if let Some(spec) = body.strip_prefix(b"stream:") {
            let spec = std::str::from_utf8(spec).expect("ascii");
            let mut parts = spec.split(':').map(|p| p.parse::<usize>().expect("number"));
            let left = parts.next().expect("N");
            let len = parts.next().expect("LEN");
            let fail_at = parts.next();
            return Response {
                outcome: Outcome::Served,
                content_type: Some("application/soap+xml;charset=UTF-8"),
                body: b"head;".to_vec(),
                rest: Some(Pieces {
                    left,
                    len,
                    next: 0,
                    fail_at,
                    rooms: Vec::new(),
                }),
            };
        }
        self.seen.borrow_mut().push(Seen {
            path: req.path.to_owned(),
            content_type: req.content_type.map(str::to_owned),
            user: req.user.map(str::to_owned),
            body: body.to_vec(),
            profiles: req.profiles.to_vec(),
        });
        let outcome = match body {
            b"outcome:identify" => Outcome::Identify,
            b"outcome:fault" => Outcome::Fault,
            b"outcome:unauthenticated" => Outcome::Unauthenticated,
            b"outcome:unavailable" => Outcome::Unavailable,
            _ => Outcome::Served,
        };
        Response {
            outcome,
            content_type: Some("application/soap+xml;charset=UTF-8"),
            body: body.to_vec(),
            rest: None,
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The data size of each chunk of a chunked body, as framed on the wire.
    chunks: Vec<usize>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn closes(&self) -> bool {
        self.header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A raw HTTP/1.1 client on the far end of the pipe.
struct Client {
    reader: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    writer: tokio::io::WriteHalf<DuplexStream>,
}

impl Client {
    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("client write");
    }

    /// For requests the server may refuse before reading them whole: it can close first.
    async fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.writer.write_all(bytes).await;
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.expect("client read");
        assert!(line.ends_with("\r\n"), "truncated line {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// Reads one response, Content-Length or chunked; a chunked body must be framed exactly
    /// (lowercase hex sizes without leading zeros, CRLF after each chunk, the last chunk, an
    /// empty trailer).
    async fn reply(&mut self) -> Reply {
        let status_line = self.line().await;
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(
            parts.next(),
            Some("HTTP/1.1"),
            "status line {status_line:?}"
        );
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .expect("numeric status");
        let mut headers = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut body = Vec::new();
        let mut chunks = Vec::new();
        let chunked = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if chunked {
            assert!(
                !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("Content-Length")),
                "chunked and a length"
            );
            loop {
                let line = self.line().await;
                assert!(
                    !line.is_empty()
                        && line
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                        && (line == "0" || !line.starts_with('0')),
                    "chunk size line {line:?}"
                );
                let len = usize::from_str_radix(&line, 16).expect("hex size");
                if len == 0 {
                    assert_eq!(self.line().await, "", "empty trailer");
                    break;
                }
                chunks.push(len);
                let at = body.len();
                body.resize(at + len, 0);
                self.reader
                    .read_exact(&mut body[at..])
                    .await
                    .expect("chunk");
                assert_eq!(self.line().await, "", "CRLF after chunk data");
            }
        } else if status >= 200 {
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
                .map(|(_, v)| v.parse().expect("numeric length"))
                .expect("every final response has Content-Length");
            body.resize(len, 0);
            self.reader.read_exact(&mut body).await.expect("body");
        }
        Reply {
            status,
            headers,
            body,
            chunks,
        }
    }

    /// True once the server has closed its side.
    async fn at_eof(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.reader.read(&mut byte)).await,
            Ok(Ok(0))
        )
    }

    async fn finish(mut self) {
        self.writer.shutdown().await.expect("client shutdown");
    }
}

const USER: &str = "admin";
const PASSWORD: &str = "s3cret:pw";

fn auth() -> Auth {
    let mut auth = Auth::new();
    auth.add_user(USER, PASSWORD.as_bytes(), b"0123456789abcdef", 1000);
    auth
}

fn basic(user: &str, password: &str) -> String {
    let token =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}").as_bytes());
    format!("Basic {token}")
}

fn post(path: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bmc\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A POST with `content_type` (no Content-Type header for `None`).
fn post_as(content_type: Option<&str>, extra_headers: &str, body: &str) -> Vec<u8> {
    let content_type = content_type.map_or(String::new(), |t| format!("Content-Type: {t}\r\n"));
    format!(
        "POST /wsman HTTP/1.1\r\nHost: bmc\r\n{content_type}{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn authed(path: &str, body: &str) -> Vec<u8> {
    post(
        path,
        &format!("Authorization: {}\r\n", basic(USER, PASSWORD)),
        body,
    )
}

/// The head of an authenticated chunked POST, its body to follow.
fn chunked_head() -> String {
    format!(
        "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        basic(USER, PASSWORD)
    )
}

/// Sends `parts` on a fresh connection and checks the refusal every framing limit answers
/// with: `status`, the connection closed and read to its end, the handler never called.
async fn assert_refused(limits: HttpLimits, parts: &[&[u8]], status: u16) {
    let handler = Echo::default();
    let auth = auth();
    let sent = parts.concat();
    let result = run(&handler, &auth, limits, |mut c| async move {
        for part in parts {
            c.send(part).await;
        }
        let reply = c.reply().await;
        assert_eq!(
            reply.status,
            status,
            "for {:?}",
            String::from_utf8_lossy(&sent)
        );
        assert!(reply.closes());
        assert!(c.at_eof().await);
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::Rejected(s)) if s == status),
        "{result:?}"
    );
    assert!(handler.seen.borrow().is_empty());
}

/// Runs the server on one end of a pipe and `client` on the other, both on this task, the way a
/// tokio `LocalSet` would (the server future is not `Send`).
async fn run<F, Fut>(
    handler: &Echo,
    auth: &Auth,
    limits: HttpLimits,
    client: F,
) -> Result<(), ServeError<std::io::Error>>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run_with_buf::<2048, _, _>(handler, auth, limits, client).await
}

/// [`run`] with a connection buffer of `N` bytes (4 KiB and more is split evenly between
/// read-ahead and head, as the std images' is).
async fn run_with_buf<const N: usize, F, Fut>(
    handler: &Echo,
    auth: &Auth,
    limits: HttpLimits,
    client: F,
) -> Result<(), ServeError<std::io::Error>>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (server_end, client_end) = tokio::io::duplex(4096);
    let (read, write) = tokio::io::split(client_end);
    let far_end = Client {
        reader: BufReader::new(read),
        writer: write,
    };
    let mut buf = [0u8; N];
    let server = serve_connection(FromTokio::new(server_end), handler, auth, &limits, &mut buf);
    let (result, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(server, client(far_end))
    })
    .await
    .expect("test hung");
    result
}

#[tokio::test]
async fn two_keep_alive_requests_on_one_connection() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/wsman", "<first/>")).await;
        let one = c.reply().await;
        c.send(&authed("/wsman", "<second/>")).await;
        let two = c.reply().await;
        assert_eq!((one.status, one.body.as_slice()), (200, &b"<first/>"[..]));
        assert_eq!((two.status, two.body.as_slice()), (200, &b"<second/>"[..]));
        assert!(!one.closes() && !two.closes());
        assert_eq!(
            one.header("Content-Type"),
            Some("application/soap+xml;charset=UTF-8")
        );
        assert_eq!(one.header("Transfer-Encoding"), None);
        c.finish().await;
    })
    .await;
    assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
    let seen = handler.seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].user.as_deref(), Some(USER));
    assert_eq!(seen[0].path, "/wsman");
    assert_eq!(
        seen[0].content_type.as_deref(),
        Some("application/soap+xml;charset=UTF-8")
    );
    assert_eq!(seen[1].body, b"<second/>");
}

#[tokio::test]
async fn pipelined_requests_are_not_lost() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let mut both = authed("/wsman", "one");
        both.extend_from_slice(b"\r\n");
        both.extend(authed("/wsman", "two"));
        c.send(&both).await;
        assert_eq!(c.reply().await.body, b"one");
        assert_eq!(c.reply().await.body, b"two");
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow().len(), 2);
}

/// A 4 KiB buffer (the std images') reads whole requests ahead: pipelined requests, their
/// bodies and the blank lines between them still come out one by one, and a head gets the
/// buffer's other half, 2 KiB.
#[tokio::test]
async fn large_read_ahead_keeps_pipelined_requests_and_bounds_the_head() {
    let handler = Echo::default();
    let auth = auth();
    let result =
        run_with_buf::<4096, _, _>(&handler, &auth, HttpLimits::default(), |mut c| async move {
            // Larger than the read-ahead, and its echo larger than the small-buffer coalescing.
            let body = "b".repeat(3000);
            let mut three = authed("/wsman", "one");
            three.extend_from_slice(b"\r\n");
            three.extend(authed("/wsman", &body));
            let pad = format!("X-Pad: {}\r\n", "p".repeat(1800));
            three.extend(post(
                "/wsman",
                &format!("Authorization: {}\r\n{pad}", basic(USER, PASSWORD)),
                "three",
            ));
            c.send(&three).await;
            assert_eq!(c.reply().await.body, b"one");
            assert_eq!(c.reply().await.body, body.as_bytes());
            assert_eq!(c.reply().await.body, b"three");
            let pad = format!("X-Pad: {}\r\n", "p".repeat(2100));
            c.send_lossy(&post("/wsman", &pad, "")).await;
            assert_eq!(c.reply().await.status, 431);
        })
        .await;
    assert!(
        matches!(result, Err(ServeError::Rejected(431))),
        "{result:?}"
    );
    assert_eq!(handler.seen.borrow().len(), 3);
}

#[tokio::test]
async fn chunked_body_is_decoded_and_connection_kept() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let head = format!(
            "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            basic(USER, PASSWORD)
        );
        c.send(head.as_bytes()).await;
        c.send(b"5\r\n<Env>\r\n").await;
        c.send(b"7;ext=1\r\n</Env>\n\r\n0\r\nTrailer: x\r\n\r\n")
            .await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, b"<Env></Env>\n");
        assert_eq!(reply.header("Content-Length"), Some("12"));
        // Still usable afterwards.
        c.send(&authed("/wsman", "again")).await;
        assert_eq!(c.reply().await.body, b"again");
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow()[0].body, b"<Env></Env>\n");
}

#[tokio::test]
async fn large_content_length_body_arrives_whole() {
    let handler = Echo::default();
    let auth = auth();
    let body: String = (0..64 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let expected = body.clone();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/wsman", &body)).await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.len(), body.len());
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow()[0].body, expected.as_bytes());
}

#[tokio::test]
async fn expect_continue_gets_interim_response_first() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let head = format!(
            "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
            basic(USER, PASSWORD)
        );
        c.send(head.as_bytes()).await;
        // The body is withheld until the server invites it, as curl does.
        let interim = c.reply().await;
        assert_eq!(interim.status, 100);
        c.send(b"ping").await;
        let reply = c.reply().await;
        assert_eq!((reply.status, reply.body.as_slice()), (200, &b"ping"[..]));
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn expect_continue_refused_without_credentials_closes() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(b"POST /wsman HTTP/1.1\r\nHost: bmc\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            .await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 401, "no 100 Continue before a refusal");
        assert!(reply.closes());
        assert!(c.at_eof().await);
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert!(handler.seen.borrow().is_empty());
}

#[cfg(feature = "digest")]
#[tokio::test]
async fn missing_or_wrong_credentials_get_401_and_keep_the_connection() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&post("/wsman", "", "<x/>")).await;
        let none = c.reply().await;
        let wrong = post(
            "/wsman",
            &format!("Authorization: {}\r\n", basic(USER, "guess")),
            "<x/>",
        );
        c.send(&wrong).await;
        let bad = c.reply().await;
        let unknown = post(
            "/wsman",
            &format!("Authorization: {}\r\n", basic("root", PASSWORD)),
            "",
        );
        c.send(&unknown).await;
        let nobody = c.reply().await;
        for reply in [&none, &bad, &nobody] {
            assert_eq!(reply.status, 401);
            let challenges = reply.all("WWW-Authenticate");
            assert_eq!(challenges.len(), 3, "{challenges:?}");
            assert!(
                challenges[0].starts_with(
                    "Digest realm=\"WSMAN\", qop=\"auth\", algorithm=SHA-256, nonce=\""
                )
            );
            assert!(
                challenges[1]
                    .starts_with("Digest realm=\"WSMAN\", qop=\"auth\", algorithm=MD5, nonce=\"")
            );
            assert_eq!(challenges[2], "Basic realm=\"WSMAN\"");
            assert_eq!(reply.header("Content-Length"), Some("0"));
            assert!(!reply.closes());
        }
        // The same connection then authenticates.
        c.send(&authed("/wsman", "ok")).await;
        assert_eq!(c.reply().await.status, 200);
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow().len(), 1);
}

/// The status line is this crate's decision from what the handler says happened: 200 for a
/// response or an Identify, 500 for every fault (as Windows answers), 401 for an
/// unauthenticated caller that asked for more than Identify, 503 when the application is short
/// of memory.
#[tokio::test]
async fn the_status_line_follows_the_handlers_outcome() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        for (body, status) in [
            ("outcome:served", 200),
            ("outcome:identify", 200),
            ("outcome:fault", 500),
            ("outcome:unauthenticated", 401),
            ("outcome:unavailable", 503),
        ] {
            c.send(&authed("/wsman", body)).await;
            let reply = c.reply().await;
            assert_eq!(reply.status, status, "{body}");
            assert_eq!(reply.body, body.as_bytes(), "{body}");
            assert!(!reply.closes(), "{body}");
        }
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

/// The media type is checked here, not by the handler: anything but `application/soap+xml`
/// (any case, any parameters) or no Content-Type at all is answered 415 with an empty body and
/// the connection kept; a caller let through unauthenticated for Identify gets the bare 401
/// instead. Neither reaches the handler.
#[tokio::test]
async fn a_body_that_is_not_soap_is_refused_before_the_handler() {
    let handler = Echo::default();
    let auth = auth();
    let cred = format!("Authorization: {}\r\n", basic(USER, PASSWORD));
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        for content_type in ["text/xml", "application/xml;charset=UTF-8", ""] {
            c.send(&post_as(Some(content_type), &cred, "refused")).await;
            let reply = c.reply().await;
            assert_eq!(reply.status, 415, "{content_type:?}");
            assert!(reply.body.is_empty() && !reply.closes(), "{content_type:?}");
            assert_eq!(reply.header("Content-Type"), None);
            assert_eq!(reply.header("Accept-Encoding"), None);
        }
        for (content_type, body) in [
            (Some("Application/Soap+XML; charset=utf-8"), "a"),
            (Some("application/soap+xml;action=\"x\";charset=UTF-8"), "b"),
            (None, "c"),
        ] {
            c.send(&post_as(content_type, &cred, body)).await;
            assert_eq!(c.reply().await.status, 200, "{content_type:?}");
        }
        c.send(&post_as(
            Some("text/xml"),
            "WSMANIDENTIFY: unauthenticated\r\n",
            "refused",
        ))
        .await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 401);
        assert!(reply.body.is_empty() && !reply.closes());
        assert_eq!(reply.header("WWW-Authenticate"), None);
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    let bodies: Vec<_> = handler
        .seen
        .borrow()
        .iter()
        .map(|s| s.body.clone())
        .collect();
    assert_eq!(bodies, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

#[tokio::test]
async fn anonymous_identify_by_header_or_path_reaches_handler_without_user() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&post("/wsman", "WSMANIDENTIFY: unauthenticated\r\n", "id1"))
            .await;
        assert_eq!(c.reply().await.status, 200);
        c.send(&post("/wsman", "wsmanidentify: Unauthenticated\r\n", "id2"))
            .await;
        assert_eq!(c.reply().await.status, 200);
        c.send(&post("/wsman-anon/identify", "", "id3")).await;
        assert_eq!(c.reply().await.status, 200);
        // Wrong credentials on the anonymous path still count as anonymous.
        let wrong = format!("Authorization: {}\r\n", basic(USER, "nope"));
        c.send(&post("/wsman-anon/identify", &wrong, "id4")).await;
        assert_eq!(c.reply().await.status, 200);
        // Valid credentials with the header identify the user.
        let good = format!(
            "WSMANIDENTIFY: unauthenticated\r\nAuthorization: {}\r\n",
            basic(USER, PASSWORD)
        );
        c.send(&post("/wsman", &good, "id5")).await;
        assert_eq!(c.reply().await.status, 200);
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    let users: Vec<_> = handler
        .seen
        .borrow()
        .iter()
        .map(|s| (s.path.clone(), s.user.clone()))
        .collect();
    assert_eq!(
        users,
        [
            ("/wsman".to_owned(), None),
            ("/wsman".to_owned(), None),
            ("/wsman-anon/identify".to_owned(), None),
            ("/wsman-anon/identify".to_owned(), None),
            ("/wsman".to_owned(), Some(USER.to_owned())),
        ]
    );
}

#[tokio::test]
async fn unknown_path_is_404_and_other_methods_are_405() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/redfish/v1", "<x/>")).await;
        let missing = c.reply().await;
        assert_eq!(missing.status, 404);
        assert!(!missing.closes());
        c.send(b"GET /wsman HTTP/1.1\r\nHost: bmc\r\n\r\n").await;
        let get = c.reply().await;
        assert_eq!(get.status, 405);
        assert_eq!(get.header("Allow"), Some("POST"));
        assert!(!get.closes());
        c.send(b"PUT /wsman HTTP/1.1\r\nHost: bmc\r\nContent-Length: 3\r\n\r\nabc")
            .await;
        assert_eq!(c.reply().await.status, 405);
        // The refused bodies were skipped, so the stream is still in step.
        c.send(&authed("/wsman", "fine")).await;
        assert_eq!(c.reply().await.body, b"fine");
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow().len(), 1);
}

fn small_limits() -> HttpLimits {
    HttpLimits {
        max_body: 16,
        ..HttpLimits::default()
    }
}

#[tokio::test]
async fn oversized_content_length_is_413_before_reading_the_body() {
    // Only the head is sent: the answer must not wait for the 1 GB body.
    let head = format!(
        "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nContent-Length: 1000000000\r\n\r\n",
        basic(USER, PASSWORD)
    );
    assert_refused(small_limits(), &[head.as_bytes()], 413).await;
}

#[tokio::test]
async fn body_at_the_limit_is_accepted() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, small_limits(), |mut c| async move {
        c.send(&authed("/wsman", "0123456789abcdef")).await;
        assert_eq!(c.reply().await.status, 200);
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn oversized_chunked_body_is_413_and_closed() {
    let chunks = b"a\r\n0123456789\r\na\r\n0123456789\r\n";
    assert_refused(small_limits(), &[chunked_head().as_bytes(), chunks], 413).await;
}

#[tokio::test]
async fn malformed_request_line_is_400_and_closed() {
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"POST /wsman HTTP/9.9\r\n\r\n",
        b"POST /wsman HTTP/1.1\r\nHost: bmc\r\nContent-Length: lots\r\n\r\n",
        b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",
    ] {
        assert_refused(HttpLimits::default(), &[garbage], 400).await;
    }
}

#[tokio::test]
async fn oversized_head_is_431() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let huge = format!("X-Pad: {}\r\n", "p".repeat(4000));
        c.send_lossy(&post("/wsman", &huge, "")).await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 431);
        assert!(reply.closes());
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::Rejected(431))),
        "{result:?}"
    );
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let request = post(
            "/wsman",
            &format!(
                "Connection: close\r\nAuthorization: {}\r\n",
                basic(USER, PASSWORD)
            ),
            "bye",
        );
        c.send(&request).await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 200);
        assert!(reply.closes());
        assert!(c.at_eof().await);
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn verified_credentials_are_cached_across_requests() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        for i in 0..5 {
            c.send(&authed("/wsman", &format!("req{i}"))).await;
            assert_eq!(c.reply().await.status, 200);
        }
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow().len(), 5);
    assert_eq!(
        auth.kdf_runs(),
        1,
        "PBKDF2 must run once, then hit the cache"
    );
}

#[tokio::test]
async fn cache_entries_expire() {
    let handler = Echo::default();
    let mut auth = auth();
    // A TTL far above what one request takes on a loaded 2-core machine (a debug-build PBKDF2
    // there took over 50 ms), so only the sleep, not the machine's speed, decides the expiry.
    auth.set_cache_ttl(embassy_time::Duration::from_millis(1500));
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/wsman", "a")).await;
        assert_eq!(c.reply().await.status, 200);
        c.send(&authed("/wsman", "b")).await;
        assert_eq!(c.reply().await.status, 200);
        tokio::time::sleep(Duration::from_millis(2000)).await;
        c.send(&authed("/wsman", "c")).await;
        assert_eq!(c.reply().await.status, 200);
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(auth.kdf_runs(), 2);
}

#[tokio::test]
async fn idle_connection_is_closed_quietly() {
    let handler = Echo::default();
    let auth = auth();
    let limits = HttpLimits {
        idle_timeout_ms: 100,
        ..HttpLimits::default()
    };
    let result = run(&handler, &auth, limits, |mut c| async move {
        c.send(&authed("/wsman", "x")).await;
        assert_eq!(c.reply().await.status, 200);
        // Say nothing more: the server must hang up on its own.
        assert!(c.at_eof().await);
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn stalled_head_times_out_with_408() {
    let handler = Echo::default();
    let auth = auth();
    let limits = HttpLimits {
        header_timeout_ms: 100,
        ..HttpLimits::default()
    };
    let result = run(&handler, &auth, limits, |mut c| async move {
        c.send(b"POST /wsman HTTP/1.1\r\nHost: bm").await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 408);
        assert!(c.at_eof().await);
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::Timeout(Phase::Headers))),
        "{result:?}"
    );
}

#[tokio::test]
async fn stalled_body_times_out() {
    let handler = Echo::default();
    let auth = auth();
    let limits = HttpLimits {
        body_timeout_ms: 100,
        ..HttpLimits::default()
    };
    let result = run(&handler, &auth, limits, |mut c| async move {
        let head = format!(
            "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nContent-Length: 10\r\n\r\nabc",
            basic(USER, PASSWORD)
        );
        c.send(head.as_bytes()).await;
        assert_eq!(c.reply().await.status, 408);
        assert!(c.at_eof().await);
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::Timeout(Phase::Body))),
        "{result:?}"
    );
    assert!(handler.seen.borrow().is_empty());
}

#[tokio::test]
async fn silent_new_connection_times_out() {
    let handler = Echo::default();
    let auth = auth();
    let limits = HttpLimits {
        header_timeout_ms: 100,
        ..HttpLimits::default()
    };
    let result = run(&handler, &auth, limits, |mut c| async move {
        assert!(c.at_eof().await);
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::Timeout(Phase::Headers))),
        "{result:?}"
    );
}

#[tokio::test]
async fn peer_closing_mid_body_is_reported_not_handled() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let head = format!(
            "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nContent-Length: 10\r\n\r\nabc",
            basic(USER, PASSWORD)
        );
        c.send(head.as_bytes()).await;
        c.finish().await;
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::IncompleteBody)),
        "{result:?}"
    );
    assert!(handler.seen.borrow().is_empty());
}

#[tokio::test]
async fn http10_closes_unless_asked_to_keep_alive() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let keep = format!(
            "POST /wsman HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: {}\r\nContent-Length: 2\r\n\r\nhi",
            basic(USER, PASSWORD)
        );
        c.send(keep.as_bytes()).await;
        let first = c.reply().await;
        assert_eq!(first.header("Connection"), Some("keep-alive"));
        let plain = keep.replace("Connection: keep-alive\r\n", "");
        c.send(plain.as_bytes()).await;
        assert!(c.reply().await.closes());
        assert!(c.at_eof().await);
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow().len(), 2);
}

#[tokio::test]
async fn tiny_buffer_is_refused() {
    let handler = Echo::default();
    let auth = auth();
    let (server_end, _client_end) = tokio::io::duplex(64);
    let mut buf = [0u8; 16];
    let result = serve_connection(
        FromTokio::new(server_end),
        &handler,
        &auth,
        &HttpLimits::default(),
        &mut buf,
    )
    .await;
    assert!(
        matches!(result, Err(ServeError::BufferTooSmall)),
        "{result:?}"
    );
}

#[tokio::test]
async fn too_many_headers_is_431() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let many: String = (0..40).map(|i| format!("X-{i}: v\r\n")).collect();
        c.send_lossy(&post("/wsman", &many, "")).await;
        let reply = c.reply().await;
        assert_eq!(reply.status, 431);
        assert!(reply.closes());
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::Rejected(431))),
        "{result:?}"
    );
    assert!(handler.seen.borrow().is_empty());
}

/// Two connections sharing a `ResponseGate`: while one connection's response is still being
/// written (its client has not read it, and it is larger than the pipe), the other connection's
/// request waits for its turn, and is answered as soon as the first response is out.
#[tokio::test]
async fn gated_connections_take_turns_to_answer() {
    let handler = Echo::default();
    let auth = auth();
    let limits = HttpLimits::default();
    let gate = ResponseGate::new();
    let pipe = |_| {
        let (server_end, client_end) = tokio::io::duplex(1024);
        let (read, write) = tokio::io::split(client_end);
        (
            server_end,
            Client {
                reader: BufReader::new(read),
                writer: write,
            },
        )
    };
    let (server_a, mut a) = pipe(0);
    let (server_b, mut b) = pipe(1);
    let (mut buf_a, mut buf_b) = ([0u8; 2048], [0u8; 2048]);
    let big = "x".repeat(8 * 1024);
    let serve_a = serve_connection_gated(
        FromTokio::new(server_a),
        &handler,
        &auth,
        &limits,
        &mut buf_a,
        &gate,
    );
    let serve_b = serve_connection_gated(
        FromTokio::new(server_b),
        &handler,
        &auth,
        &limits,
        &mut buf_b,
        &gate,
    );
    let clients = async {
        a.send(&authed("/wsman", &big)).await;
        // Let A's handler run and its response fill the pipe.
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.send(&authed("/wsman", "<b/>")).await;
        let early = tokio::time::timeout(Duration::from_millis(200), b.reply()).await;
        assert!(
            early.is_err(),
            "B was answered while A's response was being written"
        );
        let one = a.reply().await;
        assert_eq!((one.status, one.body.len()), (200, big.len()));
        let two = b.reply().await;
        assert_eq!((two.status, two.body.as_slice()), (200, &b"<b/>"[..]));
        drop(a);
        drop(b);
    };
    let (ra, rb, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(serve_a, serve_b, clients)
    })
    .await
    .expect("test hung");
    assert!(ra.is_ok() && rb.is_ok(), "{ra:?} {rb:?}");
}

#[cfg(feature = "digest")]
/// The client half of RFC 7616 with qop=auth, written here from the RFC rather than shared with
/// the server's code.
fn digest_header(algorithm: &str, password: &str, nonce: &str, nc: u32, uri: &str) -> String {
    fn h(algorithm: &str, text: &str) -> String {
        let bytes: Vec<u8> = match algorithm {
            "MD5" => {
                use md5::Digest as _;
                md5::Md5::digest(text.as_bytes()).to_vec()
            }
            _ => {
                use sha2::Digest as _;
                sha2::Sha256::digest(text.as_bytes()).to_vec()
            }
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    let nc = format!("{nc:08x}");
    let ha1 = h(algorithm, &format!("{USER}:WSMAN:{password}"));
    let ha2 = h(algorithm, &format!("POST:{uri}"));
    let response = h(
        algorithm,
        &format!("{ha1}:{nonce}:{nc}:0a4f113b:auth:{ha2}"),
    );
    format!(
        "Digest username=\"{USER}\", realm=\"WSMAN\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm={algorithm}, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"0a4f113b\""
    )
}

#[cfg(feature = "digest")]
fn nonce_of(challenge: &str) -> String {
    let start = challenge.find("nonce=\"").expect("nonce") + 7;
    let end = start + challenge[start..].find('"').expect("closing quote");
    challenge[start..end].to_owned()
}

#[cfg(feature = "digest")]
#[tokio::test]
async fn digest_round_trip_replay_and_a_digest_only_listener() {
    let handler = Echo::default();
    let mut auth = auth();
    auth.set_nonce_secret([9; 32]);
    let digest_only = Offer {
        secure: true,
        basic: false,
        digest: true,
    };
    let (server_end, client_end) = tokio::io::duplex(4096);
    let (read, write) = tokio::io::split(client_end);
    let mut c = Client {
        reader: BufReader::new(read),
        writer: write,
    };
    let mut buf = [0u8; 2048];
    let limits = HttpLimits::default();
    let server = serve_connection_with(
        FromTokio::new(server_end),
        &handler,
        &auth,
        &limits,
        &digest_only,
        &mut buf,
        None,
    );
    let client = async move {
        // Basic is not offered here: refused, and not challenged with.
        c.send(&authed("/wsman", "x")).await;
        let first = c.reply().await;
        assert_eq!(first.status, 401);
        let challenges = first.all("WWW-Authenticate");
        assert_eq!(challenges.len(), 2, "{challenges:?}");
        assert!(challenges.iter().all(|c| c.starts_with("Digest ")));
        let nonce = nonce_of(challenges[0]);
        for (alg, nc) in [("SHA-256", 1), ("MD5", 2)] {
            let h = digest_header(alg, PASSWORD, &nonce, nc, "/wsman?a=b");
            c.send(&post(
                "/wsman?a=b",
                &format!("Authorization: {h}\r\n"),
                "ok",
            ))
            .await;
            let reply = c.reply().await;
            assert_eq!(reply.status, 200, "{alg}");
        }
        // The same nc again is a replay.
        let h = digest_header("MD5", PASSWORD, &nonce, 2, "/wsman?a=b");
        c.send(&post(
            "/wsman?a=b",
            &format!("Authorization: {h}\r\n"),
            "ok",
        ))
        .await;
        let replay = c.reply().await;
        assert_eq!(replay.status, 401);
        assert!(!replay.all("WWW-Authenticate")[0].contains("stale"));
        c.finish().await;
    };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(server, client)
    })
    .await
    .expect("test hung");
    assert!(result.is_ok(), "{result:?}");
    let seen = handler.seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].user.as_deref(), Some(USER));
    assert_eq!(
        seen[0].profiles,
        ["http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/digest"]
    );
}

/// Issue 20, finding 5: each hostile head gets its status, the handler never runs, and the
/// connection is closed when the rest of the stream cannot be trusted.
#[tokio::test]
async fn hostile_heads_are_refused_with_their_status() {
    let cred = basic(USER, PASSWORD);
    let cases: Vec<(String, u16, bool)> = vec![
        // HTTP/1.1 without Host, and with two (RFC 9112 §3.2).
        (
            format!("POST /wsman HTTP/1.1\r\nAuthorization: {cred}\r\nContent-Length: 2\r\n\r\nhi"),
            400,
            true,
        ),
        (
            format!(
                "POST /wsman HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: {cred}\r\nContent-Length: 2\r\n\r\nhi"
            ),
            400,
            true,
        ),
        // Methods are case-sensitive (RFC 9110 §9.1): `post` is not POST.
        (
            format!(
                "post /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {cred}\r\nContent-Length: 2\r\n\r\nhi"
            ),
            501,
            true,
        ),
        (
            format!(
                "Post /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {cred}\r\nContent-Length: 2\r\n\r\nhi"
            ),
            501,
            true,
        ),
        // An expectation the server cannot meet (RFC 9110 §10.1.1).
        (
            format!(
                "POST /wsman HTTP/1.1\r\nHost: bmc\r\nExpect: 200-ok\r\nAuthorization: {cred}\r\nContent-Length: 2\r\n\r\nhi"
            ),
            417,
            true,
        ),
        // A content coding the server does not decode (RFC 9110 §8.4.1): the body is skipped
        // and the connection kept.
        (
            format!(
                "POST /wsman HTTP/1.1\r\nHost: bmc\r\nContent-Encoding: gzip\r\nAuthorization: {cred}\r\nContent-Length: 2\r\n\r\nhi"
            ),
            415,
            false,
        ),
    ];
    for (request, status, closes) in cases {
        let handler = Echo::default();
        let auth = auth();
        let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
            c.send_lossy(request.as_bytes()).await;
            let reply = c.reply().await;
            assert_eq!(reply.status, status, "{request}");
            assert_eq!(reply.closes(), closes, "{request}");
            if status == 415 {
                assert_eq!(reply.header("Accept-Encoding"), Some("identity"));
                // The stream is still in step after the skipped body.
                c.send(&authed("/wsman", "next")).await;
                assert_eq!(c.reply().await.body, b"next");
            }
            c.finish().await;
        })
        .await;
        match status {
            415 => assert!(result.is_ok(), "{result:?}"),
            _ => assert!(
                matches!(result, Err(ServeError::Rejected(s)) if s == status),
                "{result:?}"
            ),
        }
        let seen = handler.seen.borrow();
        assert!(
            seen.iter().all(|s| s.body == b"next"),
            "hostile request reached the handler: {seen:?}"
        );
    }
}

/// Issue 20, finding 5: a chunked body whose last (zero-size) chunk never comes is not a
/// complete body, even when the client closes right after a whole chunk.
#[tokio::test]
async fn chunked_body_without_its_last_chunk_is_not_handled() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let head = format!(
            "POST /wsman HTTP/1.1\r\nHost: bmc\r\nAuthorization: {}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            basic(USER, PASSWORD)
        );
        c.send(head.as_bytes()).await;
        c.writer.shutdown().await.expect("client shutdown");
        assert!(c.at_eof().await, "no response expected");
    })
    .await;
    assert!(
        matches!(result, Err(ServeError::IncompleteBody)),
        "{result:?}"
    );
    assert!(handler.seen.borrow().is_empty());
}

/// Broken chunked framing is 400 and the connection closed, the stream being unreadable past
/// it: a size that is not hex (a sign included, which `u64::from_str_radix` would take), more
/// than 16 digits, a chunk not ended by CRLF, extensions longer than the head's room.
#[tokio::test]
async fn bad_chunked_framing_is_400_and_closed() {
    let long_ext = format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(2048));
    for body in [
        &b"zz\r\nhello\r\n0\r\n\r\n"[..],
        b"+5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"\r\n",
        b"00000000000000005\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXY0\r\n\r\n",
        b"5\rhello\r\n0\r\n\r\n",
        long_ext.as_bytes(),
    ] {
        assert_refused(
            HttpLimits::default(),
            &[chunked_head().as_bytes(), body],
            400,
        )
        .await;
    }
}

/// A trailer section is read and discarded within the head's room (1,792 bytes here): one that
/// fits leaves the connection usable, a longer one is refused as a head that long is (431).
#[tokio::test]
async fn a_trailer_section_is_bounded_like_a_head() {
    let field = |len: usize| format!("X-Pad: {}\r\n", "p".repeat(len - 9));
    // Two fields and the empty line: exactly the room, then one byte over.
    for (last, status) in [(895, 200), (896, 431)] {
        let handler = Echo::default();
        let auth = auth();
        let trailer = format!("{}{}\r\n", field(895), field(last));
        assert_eq!(trailer.len(), 1_792 + last - 895);
        let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
            c.send(chunked_head().as_bytes()).await;
            c.send(b"5\r\nhello\r\n0\r\n").await;
            c.send(trailer.as_bytes()).await;
            let reply = c.reply().await;
            assert_eq!(reply.status, status);
            if status == 200 {
                assert_eq!(reply.body, b"hello");
                c.send(&authed("/wsman", "again")).await;
                assert_eq!(c.reply().await.body, b"again");
                c.finish().await;
            } else {
                assert!(reply.closes());
                assert!(c.at_eof().await);
            }
        })
        .await;
        if status == 200 {
            assert!(result.is_ok(), "{result:?}");
        } else {
            assert!(
                matches!(result, Err(ServeError::Rejected(431))),
                "{result:?}"
            );
        }
    }
}

/// [`run`] for a connection described by `conn` (its source, its slot).
async fn run_from<C, F, Fut>(
    handler: &Echo,
    auth: &Auth,
    limits: HttpLimits,
    conn: &C,
    client: F,
) -> Result<(), ServeError<std::io::Error>>
where
    C: wsbmc_http::Connection,
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (server_end, client_end) = tokio::io::duplex(4096);
    let (read, write) = tokio::io::split(client_end);
    let far_end = Client {
        reader: BufReader::new(read),
        writer: write,
    };
    let mut buf = [0u8; 2048];
    let server = wsbmc_http::serve_connection_from(
        FromTokio::new(server_end),
        handler,
        auth,
        &limits,
        &Offer::HTTP,
        &mut buf,
        None,
        conn,
    );
    let (result, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(server, client(far_end))
    })
    .await
    .expect("test hung");
    result
}

/// Issue 20, finding 3: a connection that has not authenticated is closed after the auth
/// timeout, not the idle timeout; one that has is kept.
#[tokio::test]
async fn unauthenticated_connection_lives_only_the_auth_timeout() {
    let handler = Echo::default();
    let auth = auth();
    let limits = HttpLimits {
        auth_timeout_ms: 200,
        ..HttpLimits::default()
    };
    let result = run(&handler, &auth, limits, |mut c| async move {
        c.send(&post("/wsman", "", "x")).await;
        assert_eq!(c.reply().await.status, 401);
        assert!(c.at_eof().await, "closed well before the 60 s idle timeout");
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
    let result = run(&handler, &auth, limits, |mut c| async move {
        c.send(&authed("/wsman", "x")).await;
        assert_eq!(c.reply().await.status, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.send(&authed("/wsman", "y")).await;
        assert_eq!(c.reply().await.body, b"y");
        c.finish().await;
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

/// Issue 20, finding 3: wrong passwords from one source make it wait, refused without PBKDF2,
/// while another source is checked as usual.
#[tokio::test]
async fn wrong_passwords_back_off_their_source_only() {
    let handler = Echo::default();
    let auth = auth();
    let guesser: wsbmc_http::Source = [7; 16];
    let console: wsbmc_http::Source = [8; 16];
    let auth_ref = &auth;
    let result = run_from(
        &handler,
        &auth,
        HttpLimits::default(),
        &guesser,
        |mut c| async move {
            let wrong = post(
                "/wsman",
                &format!("Authorization: {}\r\n", basic(USER, "guess")),
                "x",
            );
            for _ in 0..=wsbmc_http::FREE_FAILURES {
                c.send(&wrong).await;
                assert_eq!(c.reply().await.status, 401);
            }
            let runs = auth_ref.kdf_runs();
            // With the tarpit a waiting source's 401 comes when its wait (1 s now) ends.
            #[cfg(feature = "tarpit")]
            {
                let started = std::time::Instant::now();
                c.send(&wrong).await;
                assert_eq!(c.reply().await.status, 401);
                assert!(started.elapsed() >= std::time::Duration::from_millis(900));
            }
            #[cfg(not(feature = "tarpit"))]
            for _ in 0..20 {
                c.send(&wrong).await;
                assert_eq!(c.reply().await.status, 401);
            }
            assert_eq!(
                auth_ref.kdf_runs(),
                runs,
                "waiting source's guesses were checked"
            );
            // Even the right password is refused while the source waits.
            #[cfg(not(feature = "tarpit"))]
            {
                c.send(&authed("/wsman", "x")).await;
                assert_eq!(c.reply().await.status, 401);
            }
            c.finish().await;
        },
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    let result = run_from(
        &handler,
        &auth,
        HttpLimits::default(),
        &console,
        |mut c| async move {
            c.send(&authed("/wsman", "ok")).await;
            assert_eq!(c.reply().await.body, b"ok");
            c.finish().await;
        },
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(handler.seen.borrow().len(), 1);
}

/// Issue 20, finding 3: at capacity, an idle kept-alive connection is closed for a newcomer.
#[tokio::test]
async fn idle_connection_is_closed_to_admit_another() {
    let handler = Echo::default();
    let auth = auth();
    let slots = wsbmc_http::Slots::new(wsbmc_http::SlotPolicy::new(1, None));
    let slot = slots.admit([1; 16]).expect("a free slot");
    let slots_ref = &slots;
    let result = run_from(
        &handler,
        &auth,
        HttpLimits::default(),
        &slot,
        |mut c| async move {
            // Busy (mid-request) connections are not closed: the newcomer is refused.
            c.send(b"POST /wsman HTTP/1.1\r\nHost: b").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(
                slots_ref.admit([2; 16]).err(),
                Some(wsbmc_http::Refused::Full)
            );
            c.send(
                format!(
                    "mc\r\nAuthorization: {}\r\nContent-Length: 1\r\n\r\nx",
                    basic(USER, PASSWORD)
                )
                .as_bytes(),
            )
            .await;
            assert_eq!(c.reply().await.status, 200);
            tokio::time::sleep(Duration::from_millis(50)).await;
            // Idle now: it makes room.
            let newcomer = slots_ref.admit([2; 16]).expect("the idle one was closed");
            assert!(c.at_eof().await);
            drop(newcomer);
        },
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(slots.closed_for_others(), 1);
}

#[cfg(feature = "stream")]
#[tokio::test]
async fn a_streamed_response_goes_out_in_chunks_and_the_connection_stays() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        for (n, len) in [(0usize, 0usize), (1, 1), (3, 8192), (2, 8193), (4, 100)] {
            c.send(&authed("/wsman", &format!("stream:{n}:{len}")))
                .await;
            let r = c.reply().await;
            assert_eq!(r.status, 200);
            assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
            let mut want = b"head;".to_vec();
            for i in 0..n {
                want.extend(std::iter::repeat_n(b'a' + i as u8, len));
            }
            want.extend_from_slice(b"end");
            assert_eq!(r.body, want, "{n}x{len}");
            // The body is the first chunk, each piece one more, the end with the last piece.
            let mut sizes = vec![5];
            sizes.extend(std::iter::repeat_n(len, n));
            sizes.push(3);
            assert_eq!(r.chunks, sizes, "{n}x{len}");
            assert!(!r.closes());
        }
        // Still a working connection after them, with a length again.
        c.send(&authed("/wsman", "<after/>")).await;
        let r = c.reply().await;
        assert_eq!((r.status, r.body.as_slice()), (200, &b"<after/>"[..]));
        assert_eq!(r.header("Content-Length"), Some("8"));
        c.finish().await;
    })
    .await;
    assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
    let rooms = handler.rooms.borrow();
    assert!(
        !rooms.is_empty() && rooms.iter().all(|&r| r == 8192),
        "{rooms:?}"
    );
}

#[tokio::test]
async fn an_http10_peer_gets_the_streamed_response_whole_with_a_length() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        let body = "stream:3:10";
        let req = format!(
            "POST /wsman HTTP/1.0\r\nHost: bmc\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n{body}",
            basic(USER, PASSWORD),
            body.len()
        );
        c.send(req.as_bytes()).await;
        let r = c.reply().await;
        assert_eq!(r.header("Transfer-Encoding"), None);
        assert_eq!(r.header("Content-Length"), Some("38"));
        assert_eq!(r.body, b"head;aaaaaaaaaabbbbbbbbbbccccccccccend");
        assert!(c.at_eof().await);
    })
    .await;
    assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
}

#[cfg(feature = "stream")]
#[tokio::test]
async fn a_stream_that_cannot_finish_leaves_the_message_unterminated_and_closes() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/wsman", "stream:5:10:2")).await;
        assert_eq!(c.line().await, "HTTP/1.1 200 OK");
        let mut rest = Vec::new();
        c.reader
            .read_to_end(&mut rest)
            .await
            .expect("read to close");
        let rest = String::from_utf8(rest).expect("ascii");
        assert!(rest.contains("Transfer-Encoding: chunked\r\n"));
        assert!(
            rest.ends_with("\r\n5\r\nhead;\r\na\r\naaaaaaaaaa\r\na\r\nbbbbbbbbbb\r\n"),
            "{rest:?}"
        );
        assert!(!rest.contains("\r\n0\r\n\r\n"), "no last chunk");
    })
    .await;
    assert!(matches!(result, Err(ServeError::Unfinished)), "{result:?}");
}

/// Without `stream` nothing is chunked: an HTTP/1.1 peer gets the rest collected into the body,
/// with a length, and the connection stays.
#[cfg(not(feature = "stream"))]
#[tokio::test]
async fn without_stream_a_rest_is_sent_whole_with_a_length() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/wsman", "stream:3:10")).await;
        let r = c.reply().await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Transfer-Encoding"), None);
        assert_eq!(r.header("Content-Length"), Some("38"));
        assert_eq!(r.body, b"head;aaaaaaaaaabbbbbbbbbbccccccccccend");
        c.send(&authed("/wsman", "<second/>")).await;
        assert_eq!(c.reply().await.body, b"<second/>");
    })
    .await;
    assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
}

/// Without `stream` a rest that cannot be finished has sent nothing yet: it is answered 500
/// with no body, and the connection stays.
#[cfg(not(feature = "stream"))]
#[tokio::test]
async fn without_stream_a_rest_that_cannot_finish_is_a_500() {
    let handler = Echo::default();
    let auth = auth();
    let result = run(&handler, &auth, HttpLimits::default(), |mut c| async move {
        c.send(&authed("/wsman", "stream:5:10:2")).await;
        let r = c.reply().await;
        assert_eq!(r.status, 500);
        assert_eq!(r.header("Content-Length"), Some("0"));
        assert!(r.body.is_empty());
        c.send(&authed("/wsman", "<second/>")).await;
        assert_eq!(c.reply().await.body, b"<second/>");
    })
    .await;
    assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
}
