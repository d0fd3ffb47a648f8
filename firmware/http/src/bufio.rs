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
}
