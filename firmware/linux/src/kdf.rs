//! The password worker: PBKDF2 for Basic credentials on a thread of its own (issue 20).
//!
//! A derivation costs about 2 ms at the agent's 20,000 rounds; on the single executor thread
//! every other connection waited for it, so sixteen clients guessing passwords raised a cached
//! console's latency twentyfold. Here the executor hands the inputs to one worker over a
//! bounded channel and awaits a oneshot answer; when the queue is full the credential is
//! refused unchecked (the client retries), so a flood cannot grow memory either.

use std::pin::Pin;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use tokio::sync::oneshot;
use wsbmc_http::{Attempt, Derived, Kdf};

/// Derivations waiting at most: about 64 ms of work; more than a burst of honest logins.
const QUEUE: usize = 32;

/// A login's PBKDF2: the account table's attempt (the same work for an unknown name).
struct Job {
    attempt: Attempt,
    reply: oneshot::Sender<Derived>,
}

pub struct Worker {
    jobs: SyncSender<Job>,
}

impl Worker {
    /// Starts the thread; it ends when the `Worker` (the channel's sender) is dropped.
    pub fn start() -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        std::thread::Builder::new()
            .name("wsbmc-kdf".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    // The connection may have gone; nothing to do then.
                    let _ = job.reply.send(job.attempt.derive());
                }
            })?;
        Ok(Self { jobs })
    }
}

impl Kdf for Worker {
    fn derive(&self, attempt: Attempt) -> Pin<Box<dyn Future<Output = Option<Derived>> + '_>> {
        let (reply, answer) = oneshot::channel();
        let job = Job { attempt, reply };
        let sent = match self.jobs.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                log::warn!("password worker busy: a login is refused unchecked");
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        Box::pin(async move {
            if !sent {
                return None;
            }
            answer.await.ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsbmc_accounts::{AccountTable, LockoutPolicy, NewPassword, Role};

    /// The worker's derivation is what the table checks: the right password logs in, a wrong
    /// one and an unknown name do not.
    #[test]
    fn worker_derives_what_the_table_checks() {
        let worker = Worker::start().expect("thread");
        let mut table = AccountTable::new(LockoutPolicy::default(), 10);
        let pw = NewPassword::new("admin", b"password-1", b"salt", 10).expect("policy");
        table
            .create("admin", Role::Administrator, pw)
            .expect("created");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for (name, password, ok) in [
            ("admin", "password-1", true),
            ("admin", "password-2", false),
            ("nobody", "password-1", false),
        ] {
            let attempt = table.begin_login(name, password.as_bytes());
            let derived = runtime.block_on(worker.derive(attempt)).expect("derived");
            let outcome = table.finish_login(derived, 0);
            assert_eq!(outcome.result.is_ok(), ok, "{name} {password}");
        }
    }
}
