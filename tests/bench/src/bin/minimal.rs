//! The independent ceiling: a minimal HTTP/1.1 keep-alive responder on raw tokio sockets, none of
//! the agent's stack (no edge-http, no embassy timers, no authentication), answering every
//! request with the agent's fixed Identify reply. What it costs per request is what one
//! plain event-loop server costs on this machine: the agent's HTTP layer is judged against it.
//!
//! It frames requests by Content-Length only (the load generator sends nothing else) and closes
//! a connection on anything it does not understand; it is a yardstick, not a server.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Accepted for the same command line as `ceiling`; not read.
    #[arg(long)]
    password_file: Option<std::path::PathBuf>,
}

/// Requests larger than this close the connection (the bench's largest is about 1 KiB).
const MAX_REQUEST: usize = 64 * 1024;

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        println!("listening on http://{}/wsman", listener.local_addr()?);
        std::io::stdout().flush()?;
        let mut reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n",
            wsbmc_bench::IDENTIFY_REPLY.len()
        )
        .into_bytes();
        reply.extend_from_slice(wsbmc_bench::IDENTIFY_REPLY);
        let reply: &'static [u8] = reply.leak();
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::task::spawn_local(serve(stream, reply));
        }
    })
}

/// Answers each complete request in the buffer, then reads more; ends on close or error.
async fn serve(mut stream: tokio::net::TcpStream, reply: &'static [u8]) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut len = 0;
    loop {
        while let Some(total) = request_len(&buf[..len]) {
            if stream.write_all(reply).await.is_err() {
                return;
            }
            buf.copy_within(total..len, 0);
            len -= total;
        }
        if len == buf.len() {
            if buf.len() >= MAX_REQUEST {
                return;
            }
            buf.resize(buf.len() * 2, 0);
        }
        match stream.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => len += n,
        }
    }
}

/// The length of the first request in `data` (head and Content-Length body) once all of it is
/// there.
fn request_len(data: &[u8]) -> Option<usize> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let body: usize = data[..end]
        .split(|&b| b == b'\n')
        .find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            line[..colon]
                .eq_ignore_ascii_case(b"content-length")
                .then(|| std::str::from_utf8(&line[colon + 1..]).ok())
                .flatten()
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0);
    let total = end + body;
    (data.len() >= total).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::request_len;

    #[test]
    fn frames_by_content_length() {
        let req = b"POST /wsman HTTP/1.1\r\ncontent-length: 3\r\n\r\nabcPOST";
        assert_eq!(request_len(&req[..40]), None);
        assert_eq!(request_len(req), Some(req.len() - 4));
        assert_eq!(request_len(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
    }
}
