//! `wsbmc user ...` on a running agent (issue 15): the agent's account socket.
//!
//! The socket is in Linux's abstract namespace, named after the state directory's device and
//! inode (`wsbmc-accounts-DEV-INO`): it leaves no file on the state disk. A socket file there
//! was metadata written at every start and removed at every exit on a filesystem that may
//! lose power at any moment (the AST2600 image's ext2 eMMC came back "needs cleaning" after a
//! power cycle), and it needs no stale-file handling: the name goes with the process.
//!
//! The agent owns its state directory's store while it runs (its log task is the only writer,
//! and `agent.lock` keeps other processes out). So `wsbmc user` does not write the store when
//! the agent runs: it hands the change to the agent through this socket, and the agent makes
//! it exactly as a WS-Man change (the shared table, so the
//! next login sees it at once; the record through the log task; a Session Audit record in the
//! SEL; the agent's log naming the user and the change's origin).
//!
//! Who may use it: an abstract socket has no file mode, so the agent checks each client's
//! credentials (SO_PEERCRED): its own user or root only, the users who could edit the store
//! files anyway. Anybody else is answered `error: not allowed` and nothing changes.
//!
//! Protocol: one request per connection. The client writes one line, `add NAME ROLE`,
//! `passwd NAME`, `del NAME` or `list`; after `add` and `passwd` a second line, the password.
//! Both lines are bounded ([`MAX_LINE`]). The agent answers `ok` and the body, or
//! `error: MESSAGE`, and closes.

use std::io;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use log::warn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use wsbmc_accounts::{AccountTable, Role};
use wsbmc_cim::Accounts as _;

use crate::state;
use crate::wsman_accounts::AgentAccounts;

/// The abstract name of `dir`'s account socket: its device and inode, which every path to
/// the directory shares and no other directory on the host has.
pub fn address(dir: &Path) -> io::Result<(String, SocketAddr)> {
    let meta = std::fs::metadata(dir)?;
    let name = format!("wsbmc-accounts-{:x}-{:x}", meta.dev(), meta.ino());
    let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    Ok((name, addr))
}

/// Who made a change through `wsbmc user` (on a running agent's socket or a stopped agent's
/// state dir), as its audit record names it: a root shell on the BMC, not an account.
pub const CLI_CHANGER: &str = "the local CLI";

/// Longest line either way in a request (a password line included): the password policy's
/// maximum is 64 bytes, a name 16.
pub const MAX_LINE: usize = 512;

/// A client that has not sent its request by then is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest reply the client reads: `list` of 16 accounts is well under 2 KiB.
const MAX_REPLY: u64 = 64 * 1024;

/// A request, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Add { name: String, role: Role },
    Passwd { name: String },
    Del { name: String },
    List,
}

impl Request {
    pub fn parse(line: &str) -> Result<Request, String> {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        match words.as_slice() {
            ["add", name, role] => Ok(Request::Add {
                name: (*name).to_string(),
                role: Role::from_name(role).ok_or_else(|| {
                    format!("role {role:?}: not Administrator, Operator or ReadOnly")
                })?,
            }),
            ["passwd", name] => Ok(Request::Passwd {
                name: (*name).to_string(),
            }),
            ["del", name] => Ok(Request::Del {
                name: (*name).to_string(),
            }),
            ["list"] => Ok(Request::List),
            _ => Err("unknown request (add NAME ROLE, passwd NAME, del NAME, list)".into()),
        }
    }

    fn to_line(&self) -> String {
        match self {
            Request::Add { name, role } => format!("add {name} {}", role.name()),
            Request::Passwd { name } => format!("passwd {name}"),
            Request::Del { name } => format!("del {name}"),
            Request::List => "list".into(),
        }
    }

    fn needs_password(&self) -> bool {
        matches!(self, Request::Add { .. } | Request::Passwd { .. })
    }
}

/// Binds `dir`'s account socket; the caller holds `agent.lock`, so no other agent serves
/// this directory.
pub fn bind(dir: &Path) -> io::Result<UnixListener> {
    let (_, addr) = address(dir)?;
    let listener = std::os::unix::net::UnixListener::bind_addr(&addr)?;
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// Whether the peer is this process's user or root (SO_PEERCRED): `Err` with the refusal
/// to log and answer otherwise (a peer whose credentials cannot be read is refused too).
fn allowed(stream: &UnixStream) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    match stream.peer_cred() {
        Ok(c) if c.uid() == me || c.uid() == 0 => Ok(()),
        Ok(c) => Err(format!(
            "not allowed: a client running as uid {} (pid {}); only uid {me} and root may \
             manage accounts",
            c.uid(),
            c.pid().map_or_else(|| "?".to_string(), |p| p.to_string())
        )),
        Err(e) => Err(format!(
            "not allowed: the client's credentials are unknown ({e})"
        )),
    }
}

/// Serves requests one at a time until the process ends.
pub async fn serve(listener: UnixListener, accounts: Rc<AgentAccounts>) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                warn!("account socket: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(refusal) = allowed(&stream) {
            warn!("account socket: refused: {refusal}");
            let _ = stream
                .write_all(format!("error: {refusal}\n").as_bytes())
                .await;
            let _ = stream.shutdown().await;
            // Closing with the request unread would reset the connection, and the client
            // could lose the answer before it reads it: the request is read (bounded) and
            // dropped unparsed.
            let _ = tokio::time::timeout(Duration::from_secs(1), discard(&mut stream)).await;
            continue;
        }
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await {
            Ok(Ok((request, password))) => match execute(&accounts, &request, &password) {
                Ok(body) => format!("ok\n{body}"),
                Err(e) => format!("error: {e}\n"),
            },
            Ok(Err(e)) => format!("error: {e}\n"),
            Err(_) => "error: request timed out\n".to_string(),
        };
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

/// Reads what a refused client sent, up to a request's length, and wipes it (it may hold a
/// password).
async fn discard(stream: &mut UnixStream) {
    let mut chunk = [0u8; 256];
    let mut left = 2 * MAX_LINE + 2;
    while left > 0 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
    chunk.fill(0);
}

/// The request line and, for add/passwd, the password line (its newline may be left out
/// when the client closes after it). The buffer is wiped: it held a password.
async fn read_request(stream: &mut UnixStream) -> Result<(Request, Vec<u8>), String> {
    let mut buf = Vec::new();
    let result = read_into(stream, &mut buf).await;
    buf.fill(0);
    result
}

async fn read_into(
    stream: &mut UnixStream,
    buf: &mut Vec<u8>,
) -> Result<(Request, Vec<u8>), String> {
    let mut chunk = [0u8; 256];
    loop {
        let eof = if buf.len() > 2 * MAX_LINE + 2 {
            return Err(format!("request longer than {MAX_LINE} bytes a line"));
        } else {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            buf.extend_from_slice(&chunk[..n]);
            chunk.fill(0);
            n == 0
        };
        let Some(end) = buf.iter().position(|&b| b == b'\n') else {
            if eof {
                return Err("no request line".into());
            }
            continue;
        };
        let line = std::str::from_utf8(&buf[..end]).map_err(|_| "request is not UTF-8")?;
        let request = Request::parse(line.trim_end_matches('\r'))?;
        if !request.needs_password() {
            return Ok((request, Vec::new()));
        }
        let rest = &buf[end + 1..];
        let password = match rest.iter().position(|&b| b == b'\n') {
            Some(p) => &rest[..p],
            None if eof => rest,
            None => continue,
        };
        let password = password.strip_suffix(b"\r").unwrap_or(password);
        if password.is_empty() {
            return Err("no password line".into());
        }
        if password.len() > MAX_LINE {
            return Err(format!("password line longer than {MAX_LINE} bytes"));
        }
        return Ok((request, password.to_vec()));
    }
}

/// Makes the change as WS-Man would: the policy and hash, the store check first, then the
/// table, then [`AgentAccounts::commit_by`] (store, SEL, log).
fn execute(accounts: &AgentAccounts, request: &Request, password: &[u8]) -> Result<String, String> {
    if let Request::List = request {
        let table = accounts.table().try_borrow().map_err(|_| busy())?;
        return Ok(list(&table));
    }
    let hashed = |name: &str| {
        accounts
            .hash_password(name, password)
            .map_err(|e| format!("password refused: {e:?}"))
    };
    let pw = match request {
        Request::Add { name, .. } | Request::Passwd { name } => Some(hashed(name)?),
        _ => None,
    };
    accounts
        .can_persist()
        .map_err(|_| "the store cannot keep the change now (see the agent's log)".to_string())?;
    let change = {
        let mut table = accounts.table().try_borrow_mut().map_err(|_| busy())?;
        match (request, pw) {
            (Request::Add { name, role }, Some(pw)) => table.create(name, *role, pw),
            (Request::Passwd { name }, Some(pw)) => table.set_password(name, pw),
            (Request::Del { name }, _) => table.delete(name),
            _ => return Err("no password".into()),
        }
        .map_err(|e| e.to_string())?
    };
    let done = format!("{:?}: {}\n", change.audit.kind, change.audit.user);
    accounts.commit_by(change, CLI_CHANGER, "the account socket");
    Ok(done)
}

fn busy() -> String {
    "the account table is busy; try again".into()
}

/// One line per account: slot, name, role, enabled, locked (as `wsbmc user list` prints a
/// stopped agent's).
pub fn list(table: &AccountTable) -> String {
    let now = state::now_ms();
    let mut out = String::new();
    for (slot, a) in table.list() {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            slot + 1,
            a.name(),
            a.role(),
            if a.enabled() { "enabled" } else { "disabled" },
            if a.is_locked(now) { "locked" } else { "-" },
        ));
    }
    out
}

/// The client side, for `wsbmc user` when the agent holds the state directory.
pub fn request(dir: &Path, request: &Request, password: Option<&[u8]>) -> Result<String, String> {
    use std::io::Write;
    let (name, addr) = address(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut s = std::os::unix::net::UnixStream::connect_addr(&addr).map_err(|e| {
        format!(
            "the agent holds {} but its account socket @{name} cannot be reached: {e}",
            dir.display()
        )
    })?;
    let _ = s.set_read_timeout(Some(REQUEST_TIMEOUT * 4));
    let _ = s.set_write_timeout(Some(REQUEST_TIMEOUT));
    let mut msg = format!("{}\n", request.to_line()).into_bytes();
    if let Some(pw) = password {
        msg.extend_from_slice(pw);
        msg.push(b'\n');
    }
    let sent = s.write_all(&msg);
    msg.fill(0);
    sent.map_err(|e| format!("send: {e}"))?;
    read_reply(s, MAX_REPLY)
}

/// Reads an agent socket's reply (at most `max` bytes): the body after an `ok` line, or the
/// message of an `error: ` line. The control socket (sim) answers in the same shape.
pub fn read_reply(s: impl std::io::Read, max: u64) -> Result<String, String> {
    use std::io::Read as _;
    let mut reply = String::new();
    s.take(max)
        .read_to_string(&mut reply)
        .map_err(|e| format!("reply: {e}"))?;
    match reply.split_once('\n') {
        Some(("ok", body)) => Ok(body.to_string()),
        _ => Err(reply
            .trim_end()
            .strip_prefix("error: ")
            .unwrap_or(reply.trim_end())
            .to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_round_trip() {
        for line in ["add bob Operator", "passwd bob", "del bob", "list"] {
            let r = Request::parse(line).unwrap();
            assert_eq!(r.to_line(), line);
        }
        assert_eq!(
            Request::parse("add bob readonly").unwrap(),
            Request::Add {
                name: "bob".into(),
                role: Role::ReadOnly
            }
        );
        assert!(Request::parse("add bob King").unwrap_err().contains("King"));
        for bad in ["", "add bob", "del", "rm bob", "list all"] {
            assert!(Request::parse(bad).is_err(), "{bad}");
        }
        assert!(Request::parse("passwd bob").unwrap().needs_password());
        assert!(!Request::parse("del bob").unwrap().needs_password());
    }
}
