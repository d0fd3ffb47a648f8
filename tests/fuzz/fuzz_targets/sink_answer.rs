//! What an event sink sends back to a delivery (wsbmc-http's `client`, which both images'
//! delivery tasks use): the HTTP answer, framed by Content-Length, chunks or the end of the
//! connection, its `WWW-Authenticate` challenges as the Digest client reads them, and the body
//! as wsbmc-eventing's `deliver::classify` reads it (Ack, DeliveryRefused). Input is
//! `[flags] [bytes]`: bit 0 says the connection ended after the bytes.
//!
//! Checked: nothing panics, a body is never longer than the bound given, and an answer that
//! parses at some length still parses, the same, with more bytes after it when its framing says
//! where it ends (the keep-alive case).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_eventing::deliver;
use wsbmc_http::client::{self, digest, parse_answer};

const MAX: usize = 4 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let eof = flags & 1 == 1;
    let Ok(Some(answer)) = parse_answer(rest, eof, MAX) else {
        return;
    };
    assert!(answer.body.len() <= rest.len());
    if answer.keep_alive {
        let mut more = rest.to_vec();
        more.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
        let again = parse_answer(&more, false, MAX);
        assert!(
            again.as_ref().is_ok_and(|a| a
                .as_ref()
                .is_some_and(|a| a.status == answer.status && a.body == answer.body)),
            "a kept-alive answer reads otherwise with bytes after it: {again:?}"
        );
    }
    if let Some(ch) = digest::best(&answer.challenges) {
        let _ = ch.authorization("user", "pass", "POST", "/sink", "cnonce", 1);
    }
    let _ = client::number(core::str::from_utf8(rest).unwrap_or(""), 16);
    let _ = deliver::classify(
        answer.status,
        &answer.body,
        "uuid:00000000-0000-0000-0000-000000000001",
        &wsbmc_wsman::Limits::default(),
    );
});
