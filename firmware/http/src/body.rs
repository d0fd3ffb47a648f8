//! The request body, read whole: a Content-Length body, or a chunked one decoded per RFC 9112
//! §7.1 (hex chunk-size, extensions skipped, the trailer section read and discarded).
//!
//! Our own rather than edge-http's `Body`, the last piece of edge-http the server used: its
//! chunked reader pulls the stream one byte per call through a refill buffer and is inlined
//! into the connection task, ~1.75 KB of the bare-metal image for a few states that decode in
//! place in the read-ahead buffer here. Its verdicts are kept (the tests below compare the two
//! on generated and mutated bodies) with three differences, each something edge-http let
//! through: a chunk-size must be hex digits only (`u64::from_str_radix` also takes a leading
//! `+`), and a chunk's extensions and the trailer section are bounded by the head's room
//! instead of only by the body timeout.

use alloc::vec::Vec;

use embedded_io_async::Read;

use crate::bufio::BufferedIo;
use crate::head::Framing;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError<E> {
    Io(E),
    /// The peer closed before the body ended.
    Incomplete,
    /// Over `max_body` (only chunked bodies get here; lengths are checked up front).
    TooLarge,
    /// Broken chunked encoding, or chunk extensions longer than the head's room.
    Invalid,
    /// A trailer section longer than the head's room: the same bound, and answer, as a head.
    TrailerTooLong,
    /// The allocator could not provide the buffer; on an MCU heap this is load, not abuse.
    NoMemory,
}

/// Most hex digits in a chunk-size: as many as a `u64` holds, leading zeros included, the bound
/// edge-http had.
const MAX_SIZE_DIGITS: u32 = 16;

/// Reads the whole body into a Vec (or discards it when `keep` is false), never holding more
/// than `max` bytes. Chunked bodies are counted as they arrive; a chunk's extensions and the
/// trailer section may each take up to `room` bytes (the head's room).
///
/// One await, on the read-ahead: data is copied out of it a run at a time, and a chunked
/// body's framing around the data goes byte by byte through [`Chunked::next`], which does not
/// wait. A Content-Length body is the same loop's data state, ending with its last byte: read
/// through `Read` and skipped by a loop of its own, it had two more awaits in the request's
/// future, and `Read`'s own copy of the socket read. Written as nested async helpers (a
/// chunk-size line, a skipped line, a byte), the chunked reader had an await per helper and
/// call site, each a state every connection's future keeps room for.
pub(crate) async fn read_body<T: Read>(
    io: &mut BufferedIo<'_, T>,
    framing: Framing,
    max: usize,
    keep: bool,
    room: usize,
) -> Result<Vec<u8>, BodyError<T::Error>> {
    let mut out = Vec::new();
    let mut total = 0usize;
    let (mut state, sized) = match framing {
        Framing::Length(len) => {
            let len = usize::try_from(len)
                .ok()
                .filter(|&len| len <= max)
                .ok_or(BodyError::TooLarge)?;
            if len == 0 {
                return Ok(out);
            }
            if keep {
                out.try_reserve_exact(len)
                    .map_err(|_| BodyError::NoMemory)?;
            }
            (Chunked::Data(len as u64), true)
        }
        Framing::Chunked => (Chunked::SIZE, false),
    };
    loop {
        let data = io.fill().await.map_err(BodyError::Io)?;
        if data.is_empty() {
            return Err(BodyError::Incomplete);
        }
        let mut used = 0;
        let mut done = false;
        if let Chunked::Data(left) = state {
            // Up to one byte past `max`, which is all it takes to refuse the body.
            let cap = usize::try_from(left).unwrap_or(usize::MAX);
            let n = data.len().min(cap).min((max - total).saturating_add(1));
            let fits = n <= max - total;
            if keep && fits {
                out.try_reserve(n).map_err(|_| BodyError::NoMemory)?;
                out.extend_from_slice(data.get(..n).unwrap_or_default());
            }
            total = total.saturating_add(n);
            used = n;
            state = match left - n as u64 {
                // A Content-Length body ends with its data (its length was checked up front).
                0 if sized => {
                    done = true;
                    state
                }
                // The CRLF after the data is checked before the size, as edge-http did: a bad
                // one is 400 even on the chunk that makes the body too large.
                0 => Chunked::DataCr,
                _ if !fits => return Err(BodyError::TooLarge),
                left => Chunked::Data(left),
            };
        } else {
            for &b in data {
                used += 1;
                match state.next(b, room, total > max)? {
                    Some(next) => state = next,
                    None => {
                        done = true;
                        break;
                    }
                }
                if let Chunked::Data(_) = state {
                    break;
                }
            }
        }
        io.consume(used);
        if done {
            return Ok(out);
        }
    }
}

/// Where a chunked body's framing stands between two bytes.
#[derive(Clone, Copy)]
enum Chunked {
    /// In a chunk-size: its value so far, the digits seen, whether all were hex. Each digit is
    /// judged only at the end of the line, as edge-http did, so a size cut short by the peer
    /// closing is an incomplete body and not a bad one.
    Size {
        size: u64,
        digits: u32,
        hex: bool,
    },
    /// After the chunk-size line's CR; the size, `None` if it was not one.
    SizeLf(Option<u64>),
    /// In the extensions after a chunk-size (skipped unread): the size, the line's bytes since
    /// the `;`, the byte before.
    Ext {
        size: Option<u64>,
        len: usize,
        prev: u8,
    },
    /// Data bytes left in this chunk.
    Data(u64),
    /// After a chunk's data, expecting its CRLF.
    DataCr,
    DataLf,
    /// In the trailer section (discarded): its bytes so far, the current line's, the byte
    /// before.
    Trailer {
        len: usize,
        line: usize,
        prev: u8,
    },
}

impl Chunked {
    const SIZE: Self = Chunked::Size {
        size: 0,
        digits: 0,
        hex: true,
    };

    /// The state after `b`, or `None` when `b` ends the body. `room` bounds a chunk's
    /// extensions and the trailer section; `over` says the data so far is over the limit,
    /// refused once the chunk that went over has its CRLF.
    fn next<E>(self, b: u8, room: usize, over: bool) -> Result<Option<Self>, BodyError<E>> {
        let next = match self {
            Chunked::Size { size, digits, hex } => match b {
                b'\r' | b';' => {
                    let size = (digits > 0 && hex).then_some(size);
                    if b == b';' {
                        Chunked::Ext {
                            size,
                            len: 0,
                            prev: 0,
                        }
                    } else {
                        Chunked::SizeLf(size)
                    }
                }
                _ if digits == MAX_SIZE_DIGITS => return Err(BodyError::Invalid),
                _ => {
                    let digit = char::from(b).to_digit(16);
                    Chunked::Size {
                        size: (size << 4) | u64::from(digit.unwrap_or(0)),
                        digits: digits + 1,
                        hex: hex && digit.is_some(),
                    }
                }
            },
            Chunked::SizeLf(size) if b == b'\n' => return Ok(Some(Self::chunk(size)?)),
            Chunked::Ext { size, len, prev } => {
                if prev == b'\r' && b == b'\n' {
                    return Ok(Some(Self::chunk(size)?));
                }
                if len + 1 >= room {
                    return Err(BodyError::Invalid);
                }
                Chunked::Ext {
                    size,
                    len: len + 1,
                    prev: b,
                }
            }
            Chunked::DataCr if b == b'\r' => Chunked::DataLf,
            Chunked::DataLf if b == b'\n' => {
                if over {
                    return Err(BodyError::TooLarge);
                }
                Self::SIZE
            }
            Chunked::Trailer { len, line, prev } => {
                if prev == b'\r' && b == b'\n' {
                    if line == 1 {
                        return Ok(None);
                    }
                    Chunked::Trailer {
                        len: len + 1,
                        line: 0,
                        prev: 0,
                    }
                } else if len + 1 >= room {
                    return Err(BodyError::TrailerTooLong);
                } else {
                    Chunked::Trailer {
                        len: len + 1,
                        line: line + 1,
                        prev: b,
                    }
                }
            }
            _ => return Err(BodyError::Invalid),
        };
        Ok(Some(next))
    }

    /// What follows a chunk-size line: the chunk's data, or the trailer section after the last
    /// chunk.
    fn chunk<E>(size: Option<u64>) -> Result<Self, BodyError<E>> {
        Ok(match size.ok_or(BodyError::Invalid)? {
            0 => Chunked::Trailer {
                len: 0,
                line: 0,
                prev: 0,
            },
            n => Chunked::Data(n),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;
    use core::cell::Cell;
    use core::convert::Infallible;
    use edge_http::BodyType;
    use edge_http::io::{Body, Error as EdgeError};
    use embassy_futures::block_on;
    use embedded_io_async::ErrorType;

    /// A stream that hands out `data` in reads of the sizes `steps` cycles through, and notes
    /// whether a read has returned end of stream.
    struct Wire<'a> {
        data: &'a [u8],
        steps: &'a [usize],
        at: usize,
        eof: &'a Cell<bool>,
    }

    impl ErrorType for Wire<'_> {
        type Error = Infallible;
    }

    impl Read for Wire<'_> {
        async fn read(&mut self, out: &mut [u8]) -> Result<usize, Infallible> {
            let step = self.steps[self.at % self.steps.len()];
            self.at += 1;
            let n = out.len().min(step).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            if n == 0 {
                self.eof.set(true);
            }
            Ok(n)
        }
    }

    /// The reader this module replaced, as server.rs had it: edge-http's `Body` over the
    /// read-ahead, with the end of stream noted by the stream itself (it was a flag of the
    /// read-ahead then).
    async fn edge_read_body(
        io: &mut BufferedIo<'_, Wire<'_>>,
        framing: Framing,
        max: usize,
        keep: bool,
        eof: &Cell<bool>,
    ) -> Result<Vec<u8>, BodyError<Infallible>> {
        fn from(e: EdgeError<Infallible>) -> BodyError<Infallible> {
            match e {
                EdgeError::IncompleteBody | EdgeError::ConnectionClosed => BodyError::Incomplete,
                _ => BodyError::Invalid,
            }
        }
        let mut decoder_buf = [0u8; 1];
        let body_type = match framing {
            Framing::Length(len) => BodyType::ContentLen(len),
            Framing::Chunked => BodyType::Chunked,
        };
        let mut out = Vec::new();
        {
            let mut body = Body::new(body_type, &mut decoder_buf, 0, &mut *io);
            if let Framing::Length(len) = framing {
                let len = usize::try_from(len)
                    .ok()
                    .filter(|&len| len <= max)
                    .ok_or(BodyError::TooLarge)?;
                if keep {
                    out.resize(len, 0);
                    let mut filled = 0;
                    while filled < len {
                        let n = body.read(&mut out[filled..]).await.map_err(from)?;
                        if n == 0 {
                            return Err(BodyError::Incomplete);
                        }
                        filled += n;
                    }
                    return Ok(out);
                }
            }
            let mut chunk = [0u8; 128];
            let step = match framing {
                Framing::Chunked => 1,
                Framing::Length(_) => chunk.len(),
            };
            let mut total = 0usize;
            loop {
                let n = body.read(&mut chunk[..step]).await.map_err(from)?;
                if n == 0 {
                    break;
                }
                total = total.saturating_add(n);
                if total > max {
                    return Err(BodyError::TooLarge);
                }
                if keep {
                    out.extend_from_slice(&chunk[..n]);
                }
            }
            if !body.is_complete() {
                return Err(BodyError::Incomplete);
            }
        }
        if framing == Framing::Chunked && eof.get() {
            return Err(BodyError::Incomplete);
        }
        Ok(out)
    }

    /// What one reader made of one input: its verdict and every byte it left in the stream
    /// (the next request, if the body ended where it should).
    type Run = (Result<Vec<u8>, BodyError<Infallible>>, Vec<u8>);

    fn run(
        data: &[u8],
        steps: &[usize],
        ahead: usize,
        framing: Framing,
        max: usize,
        keep: bool,
        ours: bool,
    ) -> Run {
        let eof = Cell::new(false);
        let wire = Wire {
            data,
            steps,
            at: 0,
            eof: &eof,
        };
        let mut store = vec![0u8; ahead];
        let mut io = BufferedIo::new(wire, &mut store);
        block_on(async {
            let verdict = if ours {
                read_body(&mut io, framing, max, keep, usize::MAX).await
            } else {
                edge_read_body(&mut io, framing, max, keep, &eof).await
            };
            let mut rest = Vec::new();
            let mut piece = [0u8; 7];
            loop {
                match io.read(&mut piece).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => rest.extend_from_slice(&piece[..n]),
                }
            }
            (verdict, rest)
        })
    }

    /// The same verdict and the same bytes left over, from edge-http's reader and ours; counts
    /// the verdicts in `seen` (body, incomplete, too large, invalid), so a test can show that
    /// its inputs reach each of them.
    fn agree(
        data: &[u8],
        steps: &[usize],
        ahead: usize,
        framing: Framing,
        max: usize,
        seen: &mut [usize; 4],
    ) {
        for keep in [true, false] {
            let theirs = run(data, steps, ahead, framing, max, keep, false);
            let ours = run(data, steps, ahead, framing, max, keep, true);
            // A refused or cut-short body leaves the stream unusable: only where a body ended
            // does the position matter.
            let compare = if theirs.0.is_ok() {
                (&ours.0, &ours.1[..]) == (&theirs.0, &theirs.1[..])
            } else {
                ours.0 == theirs.0
            };
            assert!(
                compare,
                "input {:?} steps {steps:?} ahead {ahead} {framing:?} max {max} keep {keep}:\n\
                 edge-http {:?}\nours      {:?}",
                String::from_utf8_lossy(data),
                theirs,
                ours
            );
            let kind = match theirs.0 {
                Ok(_) => 0,
                Err(BodyError::Incomplete) => 1,
                Err(BodyError::TooLarge) => 2,
                _ => 3,
            };
            seen[kind] += 1;
        }
    }

    /// xorshift64*: the generated cases are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<X: Copy>(&mut self, from: &[X]) -> X {
            from[self.below(from.len())]
        }
    }

    /// A chunked body as clients frame it, with the variations the grammar allows: hex in
    /// either case, leading zeros, extensions, trailer fields; sometimes without its end.
    fn chunked(rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rng.below(5) {
            let len = rng.pick(&[1usize, 2, 3, 9, 15, 16, 17, 31, 100, 255, 256, 600]);
            let size = match rng.below(4) {
                0 => alloc::format!("{len:X}"),
                1 => alloc::format!("{len:0width$x}", width = 1 + rng.below(16)),
                _ => alloc::format!("{len:x}"),
            };
            out.extend_from_slice(size.as_bytes());
            if rng.below(4) == 0 {
                out.extend_from_slice(rng.pick(&[&b";a=b"[..], b";x", b";", b"; q=\"\\r\\n\""]));
            }
            out.extend_from_slice(b"\r\n");
            out.extend((0..len).map(|i| b"0123456789\r\n;:abcdef"[(i * 7 + len) % 21]));
            out.extend_from_slice(b"\r\n");
        }
        if rng.below(8) != 0 {
            out.extend_from_slice(rng.pick(&[&b"0\r\n"[..], b"000\r\n", b"0;end\r\n"]));
            for _ in 0..rng.below(3) {
                out.extend_from_slice(rng.pick(&[&b"X-T: 1\r\n"[..], b"Digest: a\rb\r\n"]));
            }
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// `body` damaged in one or two places: a byte changed, inserted or deleted, or the end cut.
    fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
        const BYTES: &[u8] = b"0123456789aAfFgG \t\r\n;=\"x\x00\xff";
        for _ in 0..1 + rng.below(2) {
            let at = rng.below(body.len() + 1);
            match rng.below(4) {
                0 if at < body.len() => body[at] = rng.pick(BYTES),
                1 => body.insert(at, rng.pick(BYTES)),
                2 if at < body.len() => {
                    body.remove(at);
                }
                _ => body.truncate(at),
            }
        }
    }

    #[test]
    fn chunked_bodies_match_edge_http() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let next = b"POST /wsman HTTP/1.1\r\n\r\n";
        let mut seen = [0; 4];
        for case in 0..20_000 {
            let mut body = chunked(&mut rng);
            if case % 2 == 1 {
                mutate(&mut rng, &mut body);
            }
            // After the body, the stream holds the next request or ends.
            if rng.below(2) == 0 {
                body.extend_from_slice(next);
            }
            let steps: Vec<usize> = (0..1 + rng.below(3)).map(|_| 1 + rng.below(40)).collect();
            let ahead = rng.pick(&[1, 8, 64, 256]);
            let max = rng.pick(&[0, 1, 16, 255, 256, 600, 4096]);
            agree(&body, &steps, ahead, Framing::Chunked, max, &mut seen);
        }
        assert!(seen.iter().all(|&n| n > 2_000), "{seen:?}");
    }

    #[test]
    fn length_bodies_match_edge_http() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut seen = [0; 4];
        for _ in 0..5_000 {
            let len = rng.below(700);
            let mut data: Vec<u8> = (0..len + rng.below(40)).map(|i| i as u8).collect();
            data.truncate(
                rng.below(data.len() + 1)
                    .max(if rng.below(2) == 0 { len } else { 0 }),
            );
            let steps: Vec<usize> = (0..1 + rng.below(3)).map(|_| 1 + rng.below(300)).collect();
            let ahead = rng.pick(&[1, 8, 64, 256]);
            let max = rng.pick(&[0, 100, 699, 4096]);
            agree(
                &data,
                &steps,
                ahead,
                Framing::Length(len as u64),
                max,
                &mut seen,
            );
        }
        assert!(seen[..3].iter().all(|&n| n > 1_000), "{seen:?}");
        assert_eq!(seen[3], 0, "a length has nothing to be invalid");
    }

    /// Our reader alone, the whole input in one read, with `room` for extensions and trailers.
    fn ours(data: &[u8], max: usize, room: usize) -> Result<Vec<u8>, BodyError<Infallible>> {
        let eof = Cell::new(false);
        let wire = Wire {
            data,
            steps: &[usize::MAX],
            at: 0,
            eof: &eof,
        };
        let mut store = [0u8; 64];
        let mut io = BufferedIo::new(wire, &mut store);
        block_on(read_body(&mut io, Framing::Chunked, max, true, room))
    }

    #[test]
    fn edge_https_own_cases() {
        let ok: &[(&[u8], &[u8])] = &[
            (b"A\r\nabcdefghij\r\n2\r\n42\r\n0\r\n\r\n", b"abcdefghij42"),
            (
                b"a\r\nabc\r\nfghij\r\n2\r\n42\r\n0\r\n\r\n",
                b"abc\r\nfghij42",
            ),
            (b"4\r\nabcd\r\n0\r\n\r\n", b"abcd"),
            (b"4\r\nabcd\r\n0\r\nA: B\r\n\r\n", b"abcd"),
            (b"0\r\n\r\n", b""),
        ];
        for &(data, body) in ok {
            assert_eq!(ours(data, 64, 64).as_deref(), Ok(body));
        }
        // edge-http took these two as complete; only the last chunk ends a body (issue 20).
        assert_eq!(ours(b"", 64, 64), Err(BodyError::Incomplete));
        assert_eq!(
            ours(b"A\r\nabcdefghij\r\n", 64, 64),
            Err(BodyError::Incomplete)
        );
        assert_eq!(ours(b"h\r\n", 64, 64), Err(BodyError::Invalid));
        assert_eq!(ours(b"\r\na", 64, 64), Err(BodyError::Invalid));
        assert_eq!(ours(b"4\r\nabcdefg", 64, 64), Err(BodyError::Invalid));
    }

    /// Where ours differs from edge-http, on purpose: a signed size, and the bounds on
    /// extensions and trailers.
    #[test]
    fn a_size_is_hex_digits_only() {
        let signed = b"+5\r\nhello\r\n0\r\n\r\n";
        assert_eq!(ours(signed, 64, 64), Err(BodyError::Invalid));
        let edge = run(signed, &[64], 64, Framing::Chunked, 64, true, false);
        assert_eq!(
            edge.0.as_deref(),
            Ok(&b"hello"[..]),
            "edge-http took a sign"
        );
        assert_eq!(
            ours(b"ffffffffffffffff\r\nabcde", 4, 64),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            ours(b"0000000000000002\r\nab\r\n0\r\n\r\n", 4, 64).as_deref(),
            Ok(&b"ab"[..])
        );
    }

    #[test]
    fn extensions_and_trailers_are_bounded_by_the_room() {
        // `;` then 13 bytes through the CRLF: exactly a room of 13.
        let ext = b"2;name=\"va;l\"\r\nab\r\n0\r\n\r\n";
        assert_eq!(ours(ext, 64, 13).as_deref(), Ok(&b"ab"[..]));
        assert_eq!(ours(ext, 64, 12), Err(BodyError::Invalid));
        // Two trailer fields and the empty line, 18 bytes.
        let trailer = b"2\r\nab\r\n0\r\nA: 12345\r\nB: 1\r\n\r\n";
        assert_eq!(ours(trailer, 64, 18).as_deref(), Ok(&b"ab"[..]));
        assert_eq!(ours(trailer, 64, 17), Err(BodyError::TrailerTooLong));
        // The last chunk's own extensions count against the room like any other's.
        assert_eq!(
            ours(b"0;aaaaaaaaaa\r\n\r\n", 64, 10),
            Err(BodyError::Invalid)
        );
    }
}
