//! A read-ahead buffer under the connection loop.
//!
//! The request head is taken from it in whole buffered chunks ([`BufferedIo::read_head`]): one
//! read of the socket usually brings the head and the body together, and the head is copied out
//! and searched for its blank line in place, instead of one `read` call (an await, and on tokio
//! without this buffer a syscall) per byte as edge-http's head reader did. A body, chunked or
//! with a Content-Length, kept or skipped, is taken from the buffer in place
//! ([`BufferedIo::fill`], [`BufferedIo::consume`]), a run at a time. The buffer lives for the
//! whole connection, so bytes read ahead (a pipelined next request) are kept rather than lost
//! between requests.

use embedded_io_async::{ErrorType, Read, Write};

pub(crate) struct BufferedIo<'b, T> {
    inner: T,
    buf: &'b mut [u8],
    pos: usize,
    len: usize,
}

/// Why [`BufferedIo::read_head`] returned no head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadRead<E> {
    Io(E),
    /// The peer closed before the head's blank line.
    Closed,
    /// The head does not fit the destination.
    TooLong,
}

impl<'b, T> BufferedIo<'b, T> {
    pub(crate) fn new(inner: T, buf: &'b mut [u8]) -> Self {
        Self {
            inner,
            buf,
            pos: 0,
            len: 0,
        }
    }

    /// The size of the read-ahead buffer.
    pub(crate) fn read_ahead_len(&self) -> usize {
        self.buf.len()
    }

    /// Drops `n` of the bytes [`BufferedIo::fill`] returned.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = self.len.min(self.pos.saturating_add(n));
    }
}

impl<T: Read> BufferedIo<'_, T> {
    /// Waits for the first byte of the next request, skipping the stray CRLFs that RFC 9112 §2.2
    /// tells servers to tolerate between requests. Returns `false` when the peer closed.
    pub(crate) async fn wait_request(&mut self) -> Result<bool, T::Error> {
        loop {
            if self.pos == self.len {
                let n = self.inner.read(self.buf).await?;
                if n == 0 {
                    return Ok(false);
                }
                self.pos = 0;
                self.len = n;
            }
            while self.pos < self.len && matches!(self.buf[self.pos], b'\r' | b'\n') {
                self.pos += 1;
            }
            if self.pos < self.len {
                return Ok(true);
            }
        }
    }

    /// The buffered bytes, after reading more if none are left: empty only at end of stream.
    pub(crate) async fn fill(&mut self) -> Result<&[u8], T::Error> {
        if self.pos == self.len {
            self.len = self.inner.read(self.buf).await?;
            self.pos = 0;
        }
        Ok(self.buf.get(self.pos..self.len).unwrap_or_default())
    }

    /// Moves the next request head, through the CRLF CRLF that ends it, into `dst` and returns
    /// its length. The bytes after the head stay buffered for the body (or the next request). A
    /// head longer than `dst` is [`HeadRead::TooLong`] as soon as `dst` is full.
    pub(crate) async fn read_head(&mut self, dst: &mut [u8]) -> Result<usize, HeadRead<T::Error>> {
        let mut filled = 0;
        loop {
            if self.pos == self.len {
                let n = self.inner.read(self.buf).await.map_err(HeadRead::Io)?;
                if n == 0 {
                    return Err(HeadRead::Closed);
                }
                self.pos = 0;
                self.len = n;
            }
            let room = dst.len() - filled;
            if room == 0 {
                return Err(HeadRead::TooLong);
            }
            let take = room.min(self.len - self.pos);
            let end = filled + take;
            dst[filled..end].copy_from_slice(&self.buf[self.pos..self.pos + take]);
            // The blank line may have begun in the previous chunk.
            let from = filled.saturating_sub(3);
            if let Some(at) = dst[from..end].windows(4).position(|w| w == b"\r\n\r\n") {
                let head_len = from + at + 4;
                self.pos += head_len - filled;
                return Ok(head_len);
            }
            self.pos += take;
            filled = end;
        }
    }
}

impl<T: ErrorType> ErrorType for BufferedIo<'_, T> {
    type Error = T::Error;
}

/// For the tests: their reference reader (edge-http's `Body`) and what a test reads after a
/// body go through it. The server itself reads only through [`BufferedIo::fill`].
#[cfg(test)]
impl<T: Read> Read for BufferedIo<'_, T> {
    async fn read(&mut self, out: &mut [u8]) -> Result<usize, Self::Error> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            // Large reads (a Content-Length body) go straight into the caller's buffer.
            if out.len() >= self.buf.len() {
                return self.inner.read(out).await;
            }
            let n = self.inner.read(self.buf).await?;
            self.pos = 0;
            self.len = n;
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<T: Write> Write for BufferedIo<'_, T> {
    async fn write(&mut self, data: &[u8]) -> Result<usize, Self::Error> {
        self.inner.write(data).await
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::convert::Infallible;
    use embassy_futures::block_on;

    struct Chunks<'a>(&'a [&'a [u8]]);

    impl ErrorType for Chunks<'_> {
        type Error = Infallible;
    }

    impl Read for Chunks<'_> {
        async fn read(&mut self, out: &mut [u8]) -> Result<usize, Infallible> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            let n = out.len().min(first.len());
            out[..n].copy_from_slice(&first[..n]);
            assert_eq!(n, first.len(), "test chunk larger than the read buffer");
            self.0 = rest;
            Ok(n)
        }
    }

    #[test]
    fn skips_blank_lines_and_keeps_read_ahead() {
        let chunks: &[&[u8]] = &[b"\r\n", b"\r\nAB", b"CD"];
        let mut store = [0u8; 8];
        let mut io = BufferedIo::new(Chunks(chunks), &mut store);
        block_on(async {
            assert_eq!(io.wait_request().await, Ok(true));
            let mut one = [0u8; 1];
            assert_eq!(io.read(&mut one).await, Ok(1));
            assert_eq!(&one, b"A");
            let mut rest = [0u8; 4];
            assert_eq!(io.read(&mut rest).await, Ok(1));
            assert_eq!(io.read(&mut rest).await, Ok(2));
            assert_eq!(&rest[..2], b"CD");
            assert_eq!(io.wait_request().await, Ok(false));
        });
    }

    #[test]
    fn head_ends_at_its_blank_line_across_reads() {
        // The blank line straddles two reads; the body and a second head stay buffered.
        let chunks: &[&[u8]] = &[
            b"POST / HTTP/1.1\r\nA: b\r",
            b"\n\r\nbodyGET",
            b" / HTTP/1.1\r\n\r\n",
        ];
        let mut store = [0u8; 32];
        let mut io = BufferedIo::new(Chunks(chunks), &mut store);
        let mut head = [0u8; 64];
        block_on(async {
            assert_eq!(io.wait_request().await, Ok(true));
            let n = io.read_head(&mut head).await.expect("a head");
            assert_eq!(&head[..n], b"POST / HTTP/1.1\r\nA: b\r\n\r\n");
            let mut body = [0u8; 4];
            assert_eq!(io.read(&mut body).await, Ok(4));
            assert_eq!(&body, b"body");
            assert_eq!(io.wait_request().await, Ok(true));
            let n = io.read_head(&mut head).await.expect("a second head");
            assert_eq!(&head[..n], b"GET / HTTP/1.1\r\n\r\n");
            assert_eq!(io.read_head(&mut head).await, Err(HeadRead::Closed));
        });
    }

    #[test]
    fn head_longer_than_its_room_is_refused() {
        let chunks: &[&[u8]] = &[b"POST / HTTP/1.1\r\n", b"X: yyyy\r\n\r\n"];
        let mut store = [0u8; 32];
        let mut io = BufferedIo::new(Chunks(chunks), &mut store);
        block_on(async {
            // Exactly the head's length fits; one byte less does not.
            let mut exact = [0u8; 28];
            assert_eq!(io.read_head(&mut exact).await, Ok(28));
        });
        let mut io = BufferedIo::new(Chunks(chunks), &mut store);
        block_on(async {
            let mut short = [0u8; 27];
            assert_eq!(io.read_head(&mut short).await, Err(HeadRead::TooLong));
        });
    }
}
