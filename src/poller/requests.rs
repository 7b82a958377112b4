//! What an operator asks of the running poller from inside the process (the web operator
//! page): poll one source now, or let a book's held poll through. `cardbridge accept` asks
//! through a file in the state directory instead (`status_file`); both end in the same
//! publish step.
//!
//! Each request hands back a receiver that is answered once the poll or the publication it
//! asked for has run, so the page shown next already tells its outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{oneshot, Notify};

/// Requests waiting for the poller; shared by every version of the `AppState`.
#[derive(Default)]
pub struct OperatorRequests {
    /// Per source id: its wake-up and who waits for its next poll.
    polls: Mutex<HashMap<String, Arc<PollWake>>>,
    /// Books whose held poll an operator accepted, with who waits for the publication.
    accepts: Mutex<Vec<(String, oneshot::Sender<()>)>>,
    accepted: Notify,
}

/// Wakes one source's polling task and answers those who asked once it has polled.
#[derive(Default)]
pub(super) struct PollWake {
    pub(super) wake: Notify,
    waiting: Mutex<Vec<oneshot::Sender<()>>>,
}

impl PollWake {
    /// Who asked so far: the poll about to start answers them.
    pub(super) fn take_waiting(&self) -> Vec<oneshot::Sender<()>> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl OperatorRequests {
    /// Asks for a poll of `source` now, outside its schedule; the receiver is answered when
    /// that poll has ended (applied, failed or found nothing new).
    pub fn poll_now(&self, source: &str) -> oneshot::Receiver<()> {
        let (done, answer) = oneshot::channel();
        let wake = self.poll_wake(source);
        wake.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(done);
        wake.wake.notify_one();
        answer
    }

    /// Asks for the held poll of `book` to be published, as `cardbridge accept` does; the
    /// receiver is answered once it has been.
    pub fn accept(&self, book: &str) -> oneshot::Receiver<()> {
        let (done, answer) = oneshot::channel();
        self.accepts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((book.to_string(), done));
        self.accepted.notify_one();
        answer
    }

    /// The wake-up of `source`'s polling task (made on first use).
    pub(super) fn poll_wake(&self, source: &str) -> Arc<PollWake> {
        let mut polls = self.polls.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(polls.entry(source.to_string()).or_default())
    }

    /// Accepts asked for since the last call.
    pub(super) fn take_accepts(&self) -> Vec<(String, oneshot::Sender<()>)> {
        std::mem::take(&mut *self.accepts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Returns when an accept has been asked for (at once when one came since the last wait).
    pub(super) async fn accept_asked(&self) {
        self.accepted.notified().await;
    }
}
