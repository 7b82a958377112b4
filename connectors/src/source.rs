//! The contract between a contact source and the sync store.

use std::sync::Arc;

use crate::Contact;

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

/// What one successful poll returned.
#[derive(Debug, Clone, Default)]
pub struct PollOutcome {
    /// The complete current listing of the source. Shared, so a source that keeps its listing
    /// between polls (LDAP, Google) and the store hold one copy of each contact, not two.
    pub contacts: Vec<Arc<Contact>>,
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
    /// poll found no modified entries): `contacts` is empty and the previous listing stands.
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

/// A poll that failed as a whole: the store keeps the previous data.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: cannot read: {message}")]
    Unreadable { path: String, message: String },
    #[error("{path}: cannot decode: {message}")]
    Undecodable { path: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// A contact source. `poll` must be all-or-nothing: on error nothing is applied.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// The configured source id.
    fn id(&self) -> &str;

    /// Fetches a complete listing of the source.
    async fn poll(&self) -> Result<PollOutcome, SourceError>;

    /// A cheap fingerprint of the source (e.g. file mtime + size); when it is unchanged since
    /// the last poll the poller may skip polling until the poll interval elapses. `None` means
    /// "unknown: poll on the interval only".
    async fn fingerprint(&self) -> Option<String> {
        None
    }
}
