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
use wsbmc_http::{DERIVED_KEY_LEN, Kdf, Pending};

/// Derivations waiting at most: about 64 ms of work; more than a burst of honest logins.
const QUEUE: usize = 32;

struct Job {
    input: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
    reply: oneshot::Sender<[u8; DERIVED_KEY_LEN]>,
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
                    let key = wsbmc_http::derive_key(&job.input, &job.salt, job.iterations);
                    // The connection may have gone; nothing to do then.
                    let _ = job.reply.send(key);
                }
            })?;
        Ok(Self { jobs })
    }
}

impl Kdf for Worker {
    fn derive<'a>(
        &'a self,
        pending: &'a Pending<'a>,
    ) -> Pin<Box<dyn Future<Output = Option<[u8; DERIVED_KEY_LEN]>> + 'a>> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            input: pending.input().to_vec(),
            salt: pending.salt().to_vec(),
            iterations: pending.iterations(),
            reply,
        };
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
    use wsbmc_http::Account;

    #[test]
    fn worker_derives_what_the_account_stores() {
        let worker = Worker::start().expect("thread");
        let account = Account::hash("u", b"pw", b"salt", 10);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let (reply, answer) = oneshot::channel();
        worker
            .jobs
            .send(Job {
                input: wsbmc_http::password_key(b"pw").to_vec(),
                salt: b"salt".to_vec(),
                iterations: 10,
                reply,
            })
            .expect("queued");
        assert_eq!(runtime.block_on(answer).ok(), Some(*account.derived_key()));
    }
}
