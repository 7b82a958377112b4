//! The sync store: per-book immutable snapshots, content-hash ETags, state-digest sync tokens
//! and the change log that answers deltas (DESIGN.md §3).
//!
//! Requests read a book through one atomic load ([`Book::state`]); polls build a new state off
//! the request path and swap it in.

mod book;
mod changelog;
mod member;
mod snapshot;
mod token;

pub use book::{ApplyReport, Book, BookState};
pub use changelog::{ChangeLog, Delta};
pub use member::{card_name, Etag, Member};
pub use snapshot::Snapshot;
pub use token::SyncToken;
