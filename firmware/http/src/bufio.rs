//! A small read-ahead buffer under edge-http.
//!
//! edge-http reads request heads one byte per `read` call so that it never consumes bytes past
//! the head. On tokio each such call would be a syscall; on any stack it is an await per byte.
//! This wrapper turns those into copies from a short buffer refilled in one read, and because it
//! lives for the whole connection, bytes read ahead (a pipelined next request) are kept rather
//! than lost between requests.

use embedded_io_async::{ErrorType, Read, Write};

pub(crate) struct BufferedIo<'b, T> {
    inner: T,
    buf: &'b mut [u8],
    pos: usize,
    len: usize,
    /// The first bytes of the current request as delivered, for the method token: edge-http
    /// matches methods case-insensitively, and RFC 9110 §9.1 says they are case-sensitive.
    head: [u8; HEAD_CAPTURE],
    head_len: u8,
    /// A read returned end of stream. edge-http's chunked decoder takes end of stream at a chunk
    /// boundary for the end of the body; a chunked body is only complete with its last chunk.
    eof: bool,
}

/// Long enough for every registered method name and the space after it.
const HEAD_CAPTURE: usize = 12;

impl<'b, T> BufferedIo<'b, T> {
    pub(crate) fn new(inner: T, buf: &'b mut [u8]) -> Self {
        Self {
            inner,
            buf,
            pos: 0,
            len: 0,
            head: [0; HEAD_CAPTURE],
            head_len: 0,
            eof: false,
        }
    }

    /// The method token of the request whose first byte [`BufferedIo::wait_request`] found, as
    /// sent: the bytes before the first space (all of the capture when the token is longer).
    pub(crate) fn method_token(&self) -> &[u8] {
        let head = &self.head[..usize::from(self.head_len)];
        head.split(|&b| b == b' ').next().unwrap_or(head)
    }

    /// Whether a read has returned end of stream since the last [`BufferedIo::clear_eof`].
    pub(crate) fn saw_eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn clear_eof(&mut self) {
        self.eof = false;
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
                self.head_len = 0;
                return Ok(true);
            }
        }
    }
}

impl<T: ErrorType> ErrorType for BufferedIo<'_, T> {
    type Error = T::Error;
}

impl<T: Read> Read for BufferedIo<'_, T> {
    async fn read(&mut self, out: &mut [u8]) -> Result<usize, Self::Error> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            // Large reads (a Content-Length body) go straight into the caller's buffer.
            // (Not a chunked body's, which is read bytewise, so its end of stream is seen below.)
            if out.len() >= self.buf.len() {
                return self.inner.read(out).await;
            }
            let n = self.inner.read(self.buf).await?;
            self.eof |= n == 0;
            self.pos = 0;
            self.len = n;
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        let at = usize::from(self.head_len);
        let m = n.min(HEAD_CAPTURE - at);
        let start = self.pos - n;
        self.head[at..at + m].copy_from_slice(&self.buf[start..start + m]);
        self.head_len += m as u8;
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
}
