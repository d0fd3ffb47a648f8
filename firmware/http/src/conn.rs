//! What the connection loop tells, and asks of, whoever accepted the connection: where it comes
//! from (for the back-off of failed logins), when it is idle (so a full server may close it for
//! a new client, as nginx does), and which logins failed (for the log).
//!
//! Every method has a do-nothing default, and `()` is the connection that wants none of it, so
//! an image that does not use a hook pays no code for it.

use core::future::Future;

use crate::backoff::Source;

pub trait Connection {
    /// The peer's address; `None` turns the back-off off for this connection.
    fn source(&self) -> Option<&Source> {
        None
    }

    /// Runs `wait` (the wait for the next request of a kept-alive connection) unless the
    /// connection is asked to close first, which yields `None`. `authenticated` says whether a
    /// request on it has authenticated yet (a closer may prefer the others).
    fn while_idle<F: Future>(
        &self,
        wait: F,
        authenticated: bool,
    ) -> impl Future<Output = Option<F::Output>> {
        let _ = authenticated;
        async move { Some(wait.await) }
    }

    /// A login failed: `authorization` is the header as sent. It carries the password in Basic:
    /// log only what [`crate::claimed_user`] extracts from it.
    fn login_failed(&self, authorization: &str) {
        let _ = authorization;
    }
}

impl Connection for () {}

/// A connection known only by its address: back-off, no other hook.
impl Connection for Source {
    fn source(&self) -> Option<&Source> {
        Some(self)
    }
}
