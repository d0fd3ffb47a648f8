//! The ceiling: a keep-alive responder on the same HTTP stack and authentication as the agent
//! that answers every POST with a fixed Identify reply. Load against it shows what HTTP, TCP and
//! Basic auth cost alone, so the agent's figures can be read as a ratio to it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;

use clap::Parser;
use embedded_io_adapters::tokio_1::FromTokio;
// The std images' embassy-time driver (this binary does not link the bench library's).
use wsbmc_http::{Auth, Handler, HttpLimits, Outcome, Request, Response};
use wsbmc_time_std as _;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    #[arg(long, default_value = "admin")]
    user: String,
    /// File holding the password (its first line).
    #[arg(long)]
    password_file: std::path::PathBuf,
}

/// The agent's own Identify reply, so the ceiling sends what the Identify scenario receives.
const REPLY: &[u8] = wsbmc_bench::IDENTIFY_REPLY;

struct Fixed;

impl Handler for Fixed {
    type Rest = std::convert::Infallible;

    fn handle(&self, _req: &Request<'_>, _body: &[u8]) -> Response {
        Response {
            outcome: Outcome::Served,
            content_type: Some("application/soap+xml;charset=UTF-8"),
            body: REPLY.to_vec(),
            rest: None,
        }
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let password = wsbmc_bench::read_password_file(&args.password_file)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let mut auth = Auth::new();
        // Same KDF and iteration count as the agent's start-up hash.
        auth.add_user(&args.user, password.as_bytes(), b"ceiling-salt", 20_000);
        let auth = Rc::new(auth);
        let limits = Rc::new(HttpLimits::default());
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        println!("listening on http://{}/wsman", listener.local_addr()?);
        std::io::stdout().flush()?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let (auth, limits) = (auth.clone(), limits.clone());
            tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; 4096];
                let _ = wsbmc_http::serve_connection(
                    FromTokio::new(stream),
                    &Fixed,
                    &auth,
                    &limits,
                    &mut buf,
                )
                .await;
            });
        }
    })
}
