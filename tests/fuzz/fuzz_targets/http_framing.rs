//! The HTTP/1.1 connection loop: request heads and their framing decisions (`head.rs`),
//! Content-Length and chunked bodies (`body.rs`), keep-alive, pipelining, the read-ahead buffer
//! (`bufio`) and the Basic/Digest checks on the way, with the input arriving in pieces of a size
//! the first byte picks. A handler that answers 200 stands in for WS-Man.
#![no_main]

use std::cell::Cell;

use libfuzzer_sys::fuzz_target;
use wsbmc_fuzz::Wire;
use wsbmc_http::{
    Auth, Handler, HttpLimits, Offer, Outcome, Request, Response, serve_connection_with,
};
use wsbmc_time_std as _;

struct Echo;

impl Handler for Echo {
    type Rest = std::convert::Infallible;

    fn handle(&self, req: &Request<'_>, body: &[u8]) -> Response {
        // Touch what the loop handed over, so a wrong slice would show.
        let sum = body.iter().fold(req.path.len(), |a, &b| a ^ usize::from(b));
        Response {
            outcome: Outcome::Served,
            content_type: Some("application/soap+xml;charset=UTF-8"),
            body: vec![b'x'; sum % 64],
            rest: None,
        }
    }
}

thread_local! {
    /// One account, hashed once per process with one PBKDF2 iteration: the fuzzer is after the
    /// parsing, not the KDF's cost. Leaked so the loop can borrow it for `'static`.
    static AUTH: &'static Auth = {
        let mut a = Auth::new();
        a.add_user("admin", b"secret", b"salt-fuzz", 1);
        Box::leak(Box::new(a))
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 64) + 1;
    let limits = HttpLimits {
        max_body: 16 * 1024,
        ..HttpLimits::DEFAULT
    };
    let written = Cell::new(0);
    let mut buf = [0u8; 2048];
    let io = Wire::new(rest, step, &written);
    // The top bits pick the listener: HTTPS-like, Basic only, Digest only, or both.
    let offer = Offer {
        secure: first & 0x80 != 0,
        basic: first & 0x40 == 0 || first & 0x80 == 0,
        digest: first & 0x40 != 0 || first & 0x80 == 0,
    };
    let auth = AUTH.with(|a| *a);
    let _ = embassy_futures::block_on(serve_connection_with(
        io, &Echo, auth, &limits, &offer, &mut buf, None,
    ));
});
