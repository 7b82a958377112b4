//! The sync store: per-book immutable snapshots, content-hash ETags, state-digest sync tokens,
//! the change log that answers deltas, and the state file that keeps all of it across
//! restarts.
//!
//! Requests read a book through one atomic load ([`Book::state`]); polls build a new state off
//! the request path, persist it and swap it in.
//!
//! | file | job |
//! |---|---|
//! | `book.rs` | [`Book`]: applies a poll or a heal, persists, then publishes |
//! | `published.rs` | [`PublishedBook`]: what a book currently publishes (snapshot + log) |
//! | `snapshot.rs` | [`Snapshot`]: a book's members by name, with their state digest |
//! | `member.rs` | [`Member`]: one card as served (ETag, heal revision, name) |
//! | `packed.rs` | [`PackedContact`]: a member's contact as its encoded bytes, its photo apart |
//! | `photos.rs` | photos in the state file, by content hash, read when a card is sent |
//! | `etag.rs` | [`Etag`]: the content hash of a card, folded with its heal revision |
//! | `digest.rs` | the state digest: per-member terms and their order-independent sum |
//! | `token_uri.rs` | sync and resume tokens as URIs: formatting and parsing |
//! | `changelog.rs` | [`ChangeLog`]: which names changed between two digests |
//! | `removal_guard.rs` | [`RemovalGuard`], [`Hold`]: polls that would remove too much |
//! | `merge.rs` | a book's members from its sources' listings |
//! | `packing.rs` | [`Packing`]: a poll's contacts packed as the source reads them |
//! | `state_file.rs` | [`StateFile`]: the redb database that survives restarts |

mod book;
mod changelog;
mod derived;
mod digest;
mod etag;
mod member;
mod merge;
mod packed;
mod packing;
mod photos;
mod published;
mod removal_guard;
mod snapshot;
mod state_file;
mod token_uri;

pub use book::{unix_now, ApplyReport, Book};
pub use changelog::{ChangeLog, Delta, Retention};
pub use derived::Derived;
pub use etag::Etag;
pub use member::{card_name, Member};
pub use merge::{book_members, Listed, Listing};
pub use packed::{PackedContact, PhotoRef};
pub use packing::{poll, Packed, Packing};
pub use published::PublishedBook;
pub use removal_guard::{Hold, RemovalGuard};
pub use snapshot::Snapshot;
pub use state_file::{StateError, StateFile};
pub use token_uri::{ClientToken, ResumeToken, SyncToken};
