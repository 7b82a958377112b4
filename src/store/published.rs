//! What a book currently publishes: the snapshot requests answer from, the change log that
//! answers deltas, and when it was published. Immutable: a change publishes a new one.

use std::sync::Arc;
use std::time::SystemTime;

use super::changelog::ChangeLog;
use super::derived::Derived;
use super::snapshot::Snapshot;
use super::token_uri::SyncToken;

/// Everything a request needs, immutable once published ([`Book::state`] loads it).
///
/// [`Book::state`]: super::Book::state
#[derive(Debug)]
pub struct PublishedBook {
    pub snapshot: Arc<Snapshot>,
    pub log: ChangeLog,
    /// When the current snapshot was published (for `getlastmodified`).
    pub published: SystemTime,
    /// Whether the book has cards it can stand behind: restored from the state file or applied
    /// from a listing of every source. Before that, an empty book would look to phones like
    /// every card was deleted, so requests into it are answered 503 instead.
    pub ready: bool,
    /// What requests computed from this state (an index, cached answers). Shared with the
    /// next state when a poll brings the same cards, so it is not computed again.
    pub derived: Arc<Derived>,
}

impl PublishedBook {
    /// The sync token of this state: its snapshot's state digest.
    pub fn token(&self) -> SyncToken {
        SyncToken(self.snapshot.digest())
    }
}
