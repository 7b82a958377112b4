//! The contract between a contact source and the sync store.

use std::sync::Arc;

use crate::Intake;

/// A record the source could not turn into a contact, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// `file:line` for files, a DN for LDAP, a resource name for APIs.
    pub location: String,
    pub reason: String,
}

impl std::fmt::Display for SkippedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

/// What one successful poll returned besides its contacts, which the source handed to the
/// poll's [`Intake`] as it read them.
#[derive(Debug, Clone, Default)]
pub struct PollOutcome {
    /// Records left out, each with its reason; the rest of the source still loads.
    pub skipped: Vec<SkippedRecord>,
    /// Values left out of cards that were published (the cards are not skipped).
    pub left_out: Vec<SkippedRecord>,
    /// The source had to slow down for its server's rate limit and still finished the poll.
    pub throttled: Option<Throttled>,
    /// What the source decided or repaired on its own while reading (a guessed encoding,
    /// replaced bytes), for the log and `cardbridge check`.
    pub notices: Vec<String>,
    /// The source saw nothing change since its previous successful poll (an incremental
    /// poll found no modified entries): no contacts were handed over and the previous listing
    /// stands.
    pub unchanged: bool,
}

impl PollOutcome {
    /// "Nothing changed since the last poll."
    pub fn unchanged() -> PollOutcome {
        PollOutcome {
            unchanged: true,
            ..PollOutcome::default()
        }
    }
}

/// Rate-limit answers a poll waited out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// Who limited: "Google".
    pub by: String,
    pub retries: u32,
    pub waited: std::time::Duration,
}

impl std::fmt::Display for Throttled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "throttled by {}: {} retries, {} s waited",
            self.by,
            self.retries,
            self.waited.as_secs()
        )
    }
}

/// A poll that failed as a whole: the store keeps the previous data. The variant is the cause,
/// which decides when the poller tries again.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server could not be reached or failed on its side (network, TLS, a 5xx answer, a
    /// search cut short): worth another try soon.
    #[error("{0}")]
    Unreachable(String),
    /// The source refused the configured credentials or their rights (LDAP bind refused, no
    /// access to the base, OAuth consent or scope missing): a person has to act, and quick
    /// retries could lock the service account.
    #[error("{0}")]
    Refused(String),
    /// The source asked for fewer requests, and for how long when it said.
    #[error("{message}")]
    RateLimited {
        retry_after: Option<std::time::Duration>,
        message: String,
    },
    /// A file that cannot be read.
    #[error("{path}: cannot read: {message}")]
    Unreadable { path: String, message: String },
    /// What the source holds cannot be used as a whole (an undecodable file, a header that
    /// names no known format): `location` is the file, `file:line` or entry.
    #[error("{location}: {message}")]
    BadData { location: String, message: String },
    /// A setting that can only be checked while polling is wrong (an unreadable password file,
    /// a base DN that does not exist).
    #[error("{0}")]
    Config(String),
    /// The poller gave up on the poll (see [`Cancel`]).
    #[error("the poll was given up (it took longer than its timeout)")]
    Cancelled,
}

impl SourceError {
    /// The cause in one word, for the status file and `cardbridge status`.
    pub fn cause(&self) -> &'static str {
        match self {
            SourceError::Unreachable(_) => "unreachable",
            SourceError::Refused(_) => "refused",
            SourceError::RateLimited { .. } => "rate-limited",
            SourceError::Unreadable { .. } => "unreadable",
            SourceError::BadData { .. } => "bad-data",
            SourceError::Config(_) => "config",
            SourceError::Cancelled => "timeout",
        }
    }
}

/// A contact source. `poll` must be all-or-nothing: on error nothing is applied.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// The configured source id.
    fn id(&self) -> &str;

    /// Fetches a complete listing of the source, handing each contact to `intake` in order as
    /// it is read (the caller uses them only when the poll succeeds). Blocking work runs
    /// through [`Cancel::spawn_blocking`] and stops soon after `cancel` is set.
    async fn poll(&self, cancel: &Cancel, intake: &Intake) -> Result<PollOutcome, SourceError>;

    /// A cheap fingerprint of the source (e.g. file mtime + size); when it is unchanged since
    /// the last poll the poller may skip polling until the poll interval elapses. `None` means
    /// "unknown: poll on the interval only".
    async fn fingerprint(&self) -> Option<String> {
        None
    }

    /// What the source needs after a restart to go on where it is instead of listing again
    /// (a syncrepl cookie with the listing it belongs to), as bytes for the state file; `None`
    /// when it keeps nothing. Taken after a poll whose publication is recorded.
    async fn checkpoint(&self) -> Option<Vec<u8>> {
        None
    }

    /// Goes on from a checkpoint an earlier run took, before the first poll. One it cannot
    /// read (another version) is ignored: the source lists in full, as without one.
    async fn resume(&self, checkpoint: &[u8]) {
        let _ = checkpoint;
    }

    /// Watches the source for changes as they happen, calling [`crate::Changes::changed`] for each
    /// (the poller then polls at once, debounced) and [`crate::Changes::live`] once established. Runs
    /// until the watch ends; the poller drops the future to stop it. By default a source
    /// cannot be watched and is polled on its interval.
    async fn watch(&self, changes: &crate::Changes) -> crate::WatchEnd {
        let _ = changes;
        crate::WatchEnd::Unsupported("this kind of source has no change notifications".into())
    }
}

/// Lets the poller stop a poll it gave up on. Dropping a poll's future does not stop work
/// already handed to a blocking thread, so that work checks [`Cancel::is_cancelled`] between
/// rows, files or entries and ends early; [`Cancel::is_running`] tells the poller whether it
/// has ended, so a source is never polled twice at once.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: std::sync::atomic::AtomicBool,
    running: std::sync::atomic::AtomicUsize,
}

/// Counts one piece of blocking work as running until dropped (also when the work panics).
struct Running(Cancel);

impl Drop for Running {
    fn drop(&mut self) {
        (self.0)
            .0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Cancel {
    /// Asks the poll's blocking work to stop; its result is not used.
    pub fn cancel(&self) {
        self.0
            .cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `Err` once cancelled: for `?` between the steps of blocking work.
    pub fn check(&self) -> Result<(), SourceError> {
        if self.is_cancelled() {
            return Err(SourceError::Cancelled);
        }
        Ok(())
    }

    /// Whether blocking work started by [`Cancel::spawn_blocking`] is still running.
    pub fn is_running(&self) -> bool {
        self.0.running.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Starts `work` on a blocking thread at once, counted as running (see
    /// [`Cancel::is_running`]) until it returns, even when the poll waiting for it is dropped.
    pub fn spawn_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, SourceError>> {
        self.0
            .running
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let running = Running(self.clone());
        let handle = tokio::task::spawn_blocking(move || {
            let _running = running;
            work()
        });
        async move {
            handle
                .await
                .map_err(|e| SourceError::Unreachable(format!("the work was interrupted: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_work_counts_as_running_after_its_poll_is_dropped() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let cancel = Cancel::default();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let _context = runtime.enter();
        let stop = cancel.clone();
        let work = cancel.spawn_blocking(move || {
            let _ = released.recv();
            let _ = done.send(());
            stop.is_cancelled()
        });
        drop(work);
        assert!(cancel.is_running(), "the dropped poll's work still runs");
        cancel.cancel();
        release.send(()).expect("release");
        finished.recv().expect("work ended");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while cancel.is_running() {
            assert!(
                std::time::Instant::now() < deadline,
                "still counted as running"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
