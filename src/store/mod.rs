//! The sync store: per-book immutable snapshots, content-hash ETags, state-digest sync tokens,
//! the change log that answers deltas, and the state file that keeps all of it across
//! restarts.
//!
//! Requests read a book through one atomic load ([`Book::state`]); polls build a new state off
//! the request path, persist it and swap it in.

mod book;
mod changelog;
mod member;
mod merge;
mod persist;
mod snapshot;
mod token;

pub use book::{ApplyReport, Book, BookState, Hold, RemovalGuard};
pub use changelog::{ChangeLog, Delta, Retention};
pub use member::{card_name, Etag, Member};
pub use merge::{book_members, listing, Listing};
pub use persist::{StateError, StateFile};
pub use snapshot::Snapshot;
pub use token::{ClientToken, ResumeToken, SyncToken};
