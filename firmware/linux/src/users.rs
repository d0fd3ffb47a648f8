//! `wsbmc user add|passwd|list|del --state-dir DIR`: the account table of a state directory,
//! for bootstrapping and recovery (issue 15).
//!
//! On a stopped agent the command works on the state directory's store directly, holding
//! `agent.lock` as the agent does while it runs. On a running agent (the lock is held) it
//! never touches the store: it sends the change to the agent's account socket
//! (account_socket.rs), and the agent makes it at once, stores it and audits it. So the store
//! is never written by two processes at once. Passwords come
//! from a prompt without echo when stdin is a terminal, otherwise from the first line of
//! stdin; never from the command line, where every process could read them.

use std::io::{BufRead, IsTerminal, Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use wsbmc_accounts::{NewPassword, Role};
use wsbmc_store::{FileFlash, Store};

use crate::state::{self, PAGE};

/// What `wsbmc user` does.
#[derive(clap::Subcommand, Debug)]
pub enum UserAction {
    /// Add an account (its password from a prompt or stdin).
    Add {
        name: String,
        /// Administrator, Operator or ReadOnly.
        #[arg(long)]
        role: String,
    },
    /// Set an account's password (from a prompt or stdin).
    Passwd { name: String },
    /// List the accounts: slot, name, role, enabled, locked.
    List,
    /// Delete an account (never the last enabled Administrator).
    Del { name: String },
}

/// Longest password line read from stdin: the policy's maximum and a little more, so an
/// over-long one is refused by the policy rather than cut.
const MAX_LINE: u64 = 256;

pub fn run(dir: &Path, action: &UserAction, iterations: u32, salt: [u8; 16]) -> ExitCode {
    match run_inner(dir, action, iterations, salt) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wsbmc user: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(
    dir: &Path,
    action: &UserAction,
    iterations: u32,
    salt: [u8; 16],
) -> Result<(), String> {
    state::private_dir(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    // Read the password before touching anything: a refused one changes nothing.
    let password = match action {
        UserAction::Add { .. } | UserAction::Passwd { .. } => Some(read_password()?),
        _ => None,
    };
    let Ok(_lock) = state::lock_dir(dir) else {
        // An agent holds the directory: it alone writes the store, so it makes the change.
        return on_running_agent(dir, action, password.as_deref());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut store = mount(dir).await?;
        let mut table = state::load_accounts(&mut store, None, dir, None, iterations).await?;
        // Every change is audited: refused, changing nothing, when its audit event has no room.
        if !matches!(action, UserAction::List)
            && !wsbmc_agent::audit::pending_room(&mut store)
                .await
                .map_err(|e| format!("state directory {}: {e}", dir.display()))?
        {
            return Err(format!(
                "{} account changes made while the agent was stopped are waiting to be \
                 logged in its SEL; start the agent once (it logs them) and try again",
                wsbmc_agent::audit::PENDING_SLOTS
            ));
        }
        let hashed = |name: &str| -> Result<NewPassword, String> {
            let pw = password.as_deref().unwrap_or_default();
            wsbmc_http::new_password(name, pw, &salt, table.iterations())
                .map_err(|e| format!("password refused: {e:?}"))
        };
        let change = match action {
            UserAction::List => {
                print!("{}", crate::account_socket::list(&table));
                return Ok(());
            }
            UserAction::Add { name, role } => {
                let role = Role::from_name(role).ok_or_else(|| {
                    format!("--role {role:?}: not Administrator, Operator or ReadOnly")
                })?;
                let pw = hashed(name)?;
                table.create(name, role, pw)
            }
            UserAction::Passwd { name } => {
                let pw = hashed(name)?;
                table.set_password(name, pw)
            }
            UserAction::Del { name } => table.delete(name),
        }
        .map_err(|e| e.to_string())?;
        // The audit event first, as the running agent queues its SEL record before the
        // account record: a power cut between the two leaves an audited change that did not
        // happen rather than a change nobody audited.
        let e = wsbmc_accounts::sel_event(&change.audit);
        let pending = wsbmc_agent::audit::PendingAudit {
            timestamp: sel_now(),
            sensor_type: e.sensor_type,
            event_type: e.event_type,
            deassertion: e.deassertion,
            data: e.data,
            names: wsbmc_cim::AuditNames {
                user: change.audit.logged_name().map(String::from),
                by: Some(crate::account_socket::CLI_CHANGER.to_string()),
            },
        };
        let kept = wsbmc_agent::audit::store_pending(&mut store, &pending)
            .await
            .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
        if !kept {
            return Err("no room for the change's audit event; nothing was changed".into());
        }
        state::write_record(&mut store, &table, change.write).await?;
        state::mark_provisioned(dir, &table);
        eprintln!("{:?}: {}", change.audit.kind, change.audit.user);
        Ok(())
    })
}

/// Now as a SEL timestamp: seconds since 1970 (0, "pre-init", if the clock is before 1970).
fn sel_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// The change through a running agent's account socket; its answer printed as the stopped
/// case prints it.
fn on_running_agent(
    dir: &Path,
    action: &UserAction,
    password: Option<&[u8]>,
) -> Result<(), String> {
    use crate::account_socket::{Request, request};
    let req = match action {
        UserAction::Add { name, role } => Request::Add {
            name: name.clone(),
            role: Role::from_name(role).ok_or_else(|| {
                format!("--role {role:?}: not Administrator, Operator or ReadOnly")
            })?,
        },
        UserAction::Passwd { name } => Request::Passwd { name: name.clone() },
        UserAction::Del { name } => Request::Del { name: name.clone() },
        UserAction::List => Request::List,
    };
    let body = request(dir, &req, password)?;
    match action {
        UserAction::List => print!("{body}"),
        _ => eprint!("{body}"),
    }
    Ok(())
}

/// The state directory's map, with a blank queue of its own in a temporary file: this command
/// never reads or writes the SEL (the real queue's size depends on the board); its audit
/// events wait in the map for the agent to log them (`wsbmc_agent::audit::PendingAudit`).
async fn mount(dir: &Path) -> Result<Store<FileFlash<PAGE>>, String> {
    let map = FileFlash::<PAGE>::open(dir.join("map.flash"), state::MAP_PAGES * PAGE)
        .map_err(|e| format!("{}: {e}", dir.join("map.flash").display()))?;
    let scratch = std::env::temp_dir().join(format!("wsbmc-user-queue-{}", std::process::id()));
    let _ = std::fs::remove_file(&scratch);
    let queue = FileFlash::<PAGE>::open(&scratch, 3 * PAGE).map_err(|e| e.to_string());
    // The file is only needed while open.
    let _ = std::fs::remove_file(&scratch);
    Store::mount(map, queue?)
        .await
        .map_err(|e| format!("state directory {}: {e}", dir.display()))
}

/// The new password: from a prompt without echo on a terminal (asked twice), else the first
/// line of stdin.
fn read_password() -> Result<Vec<u8>, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = prompt("New password: ")?;
        let again = prompt("Again: ")?;
        if first != again {
            return Err("the passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = Vec::new();
    stdin
        .lock()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    strip_newline(&mut line);
    if line.is_empty() {
        return Err("no password on stdin".into());
    }
    Ok(line)
}

/// `--password-file`: the first line of a file only its owner may read (0600 or stricter), as
/// UTF-8. A file group or others can read is refused: the password would not be private.
pub fn read_password_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} is mode {mode:o}: a password file must be readable by its owner only \
             (chmod 600)",
            path.display()
        ));
    }
    let mut line = Vec::new();
    std::io::BufReader::new(file)
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    strip_newline(&mut line);
    if line.is_empty() {
        return Err(format!("{}: no password on its first line", path.display()));
    }
    String::from_utf8(line).map_err(|_| format!("{}: the password is not UTF-8", path.display()))
}

fn strip_newline(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

/// Reads a line from the terminal with echo off (restored afterwards, also on error).
fn prompt(text: &str) -> Result<Vec<u8>, String> {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
    let _echo = NoEcho::new();
    let mut line = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line);
    eprintln!();
    read.map_err(|e| format!("terminal: {e}"))?;
    strip_newline(&mut line);
    Ok(line)
}

/// Terminal echo off for its lifetime.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> Self {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios the call fills in; failure (not a
        // terminal) leaves echo as it was.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return Self(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return Self(None);
            }
            Self(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = self.0 {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &saved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_files_must_be_private_and_hold_a_line() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("wsbmc-pwfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pw");
        let write = |text: &str, mode: u32| {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("s3cret-pw\nignored\n", 0o600);
        assert_eq!(read_password_file(&path).unwrap(), "s3cret-pw");
        write("s3cret-pw", 0o400);
        assert_eq!(read_password_file(&path).unwrap(), "s3cret-pw");
        write("s3cret-pw\n", 0o644);
        let e = read_password_file(&path).unwrap_err();
        assert!(e.contains("644") && e.contains("chmod 600"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        write("\n", 0o600);
        assert!(
            read_password_file(&path)
                .unwrap_err()
                .contains("no password")
        );
        assert!(read_password_file(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn newlines_are_stripped_once() {
        for (input, want) in [
            (&b"pw\n"[..], &b"pw"[..]),
            (b"pw\r\n", b"pw"),
            (b"pw", b"pw"),
            (b"pw\n\n", b"pw\n"),
        ] {
            let mut v = input.to_vec();
            strip_newline(&mut v);
            assert_eq!(v, want);
        }
    }
}
