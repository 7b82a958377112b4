//! The state file: every book's last good snapshot and change log in one redb database, so a
//! restart serves the same members, ETags and tokens before any source answers.
//!
//! Each published change is one write transaction (changed members, removed members, the new
//! log entry, pruned entries, the book's digest): a crash leaves the old state or the new one,
//! never a mix.
//!
//! Photos are rows of their own (`photos.rs`), read when a card is sent; a start reads the
//! file once, the cards' rows and no photo. Every card row carries a checksum and the cards of
//! a book must add up to its recorded digest, so damage to what a start reads stops the start
//! (redb's whole-file integrity check would read every photo too); a photo is checked against
//! its hash when read.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cardbridge_connectors::Contact;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use super::changelog::{ChangeLog, Entry, Retention};
use super::etag::Etag;
use super::member::Member;
use super::packed::{PackedContact, PhotoRef};
use super::photos::{PhotoStore, PhotoTables, PHOTOS, PHOTO_USERS};
use super::snapshot::Snapshot;

/// Bumped when the layout changes (the contact model included: postcard has no optional
/// fields); a file from a newer version is refused, not misread, and one from an older version
/// is emptied so its books are rebuilt from the sources. 2: loose dates, related people and
/// custom fields in the contact. 3: each card's heal revision and content change time.
/// 4: photos in a table of their own, card rows with a checksum; a format 3 file is converted
/// when opened (its cards keep their ETags).
const FORMAT: u32 = 4;
/// The oldest format that is converted rather than emptied.
const CONVERTED_FORMAT: u32 = 3;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BOOKS: TableDefinition<&str, &[u8]> = TableDefinition::new("books");
const MEMBERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("members");
const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
/// Source id → its checkpoint (see [`StateFile::save_checkpoint`]).
const SOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("sources");

/// redb's page cache. The state file is read once at startup and written when a book
/// changes; requests only read photos from it (cached apart, `photos.rs`), so redb's default (1 GiB) only kept a second copy of
/// every card resident after a restart or a large publish.
const STATE_CACHE_BYTES: usize = 16 * 1024 * 1024;

fn open_failure(e: redb::DatabaseError) -> String {
    let why = match e {
        redb::DatabaseError::RepairAborted => {
            "it is damaged: its last recorded state does not verify".to_string()
        }
        e => format!("cannot open it ({e})"),
    };
    format!("{why}; {DAMAGED_WAY_OUT}")
}

/// What to do about a state file that cannot be trusted.
const DAMAGED_WAY_OUT: &str = "restore it from a backup, or start with --reset-state to \
     rebuild it from the sources (phones then resynchronise)";

/// redb falls back to the previous commit when the last one does not verify (progress 0.3 is
/// that step of its repair). Commits here are two-phase, so a crash never leaves an
/// unverifiable last commit: it can only be damage, and the previous commit may be a book
/// with fewer cards, or none, which phones would mirror. Refuse instead.
fn refuse_rollback(session: &mut redb::RepairSession) {
    if (session.progress() - 0.3).abs() < 0.01 {
        session.abort();
    }
}

/// Commits in two phases so that only damage, never a crash, leaves a last commit that does
/// not verify (see `refuse_rollback`), and with redb's allocator state, so that the next start
/// neither repairs nor reads the whole file first, however this process ended (the server
/// exits without closing the file).
fn begin_write(db: &Database) -> Result<redb::WriteTransaction, redb::TransactionError> {
    let mut txn = db.begin_write()?;
    txn.set_two_phase_commit(true);
    txn.set_quick_repair(true);
    Ok(txn)
}

/// META key of a hash over every row of the books table: damage there could otherwise read
/// as a book never published (answered 503, then rebuilt from its sources under new tokens),
/// which the cards' checksums and digests cannot show.
const BOOKS_SEAL: &str = "books";

fn books_seal(
    books: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<u128, redb::StorageError> {
    let mut hasher = Xxh3::new();
    for row in books.iter()? {
        let (name, meta) = row?;
        for part in [name.value().as_bytes(), meta.value()] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    Ok(hasher.digest128())
}

#[derive(Serialize, Deserialize)]
struct BookMeta {
    digest: u128,
    published: u64,
}

/// A stored member: a checksum (xxh3-64 of the rest, little-endian), then the postcard
/// encoding of its head — (content hash, heal revision, content change time, photo hash and
/// media type) — followed by its contact's encoding without the photo, which is the member's
/// packed contact: a restart keeps those bytes as they are, decoding nothing.
type StoredHead<'a> = (u128, u32, u64, Option<(u128, &'a str)>);

/// The head of a member as format 3 stored it, before its contact with the photo inline.
type OldHead = (u128, u32, u64);

const CHECKSUM: usize = 8;

fn stored_member(member: &Member) -> Result<Vec<u8>, postcard::Error> {
    let packed = member.packed();
    let photo = packed.photo().map(|p| (p.hash, &*p.media_type));
    let head: StoredHead = (member.content.0, member.revision, member.changed, photo);
    let mut bytes = vec![0; CHECKSUM];
    bytes = postcard::to_extend(&head, bytes)?;
    bytes.extend_from_slice(packed.bytes());
    let sum = xxh3_64(bytes.get(CHECKSUM..).unwrap_or_default());
    if let Some(slot) = bytes.get_mut(..CHECKSUM) {
        slot.copy_from_slice(&sum.to_le_bytes());
    }
    Ok(bytes)
}

/// The head and contact encoding of a stored member whose checksum holds.
fn checked_member(bytes: &[u8]) -> Result<(StoredHead<'_>, &[u8]), String> {
    let (sum, rest) = bytes
        .split_at_checked(CHECKSUM)
        .ok_or("shorter than its checksum")?;
    if sum != xxh3_64(rest).to_le_bytes() {
        return Err("its checksum does not match: it is damaged".into());
    }
    let (head, contact) =
        postcard::take_from_bytes::<StoredHead>(rest).map_err(|e| e.to_string())?;
    if contact.is_empty() {
        return Err("its contact is missing".into());
    }
    Ok((head, contact))
}

fn restored_member(name: &str, bytes: &[u8], photos: &Arc<PhotoStore>) -> Result<Member, String> {
    let ((content, revision, changed, photo), contact) = checked_member(bytes)?;
    let photo =
        photo.map(|(hash, media_type)| PhotoRef::stored(hash, media_type, Arc::clone(photos)));
    Ok(Member::restored(
        name.to_string(),
        Etag(content),
        revision,
        changed,
        PackedContact::from_stored(contact, photo),
    ))
}

/// The photo a stored member refers to (`None` for a row that does not read, which the load
/// refuses anyway).
fn stored_photo(bytes: &[u8]) -> Option<u128> {
    let ((.., photo), _) = checked_member(bytes).ok()?;
    photo.map(|(hash, _)| hash)
}

/// A member stored by format 3 (the contact with its photo inline), as this format stores it.
fn converted_member(name: &str, bytes: &[u8]) -> Result<Member, postcard::Error> {
    let ((content, revision, changed), contact) = postcard::take_from_bytes::<OldHead>(bytes)?;
    let contact: Contact = postcard::from_bytes(contact)?;
    Ok(Member::restored(
        name.to_string(),
        Etag(content),
        revision,
        changed,
        PackedContact::pack(&contact),
    ))
}

/// A source's checkpoint and the configuration it was taken under.
#[derive(Serialize, Deserialize)]
struct StoredCheckpoint {
    key: String,
    checkpoint: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    at: u64,
    digest: u128,
    changed: Vec<String>,
}

/// A state-file problem, always naming the file and the way out.
#[derive(Debug, thiserror::Error)]
#[error("state file {path}: {message}")]
pub struct StateError {
    pub path: String,
    pub message: String,
}

/// A book as restored from the state file.
pub struct Restored {
    pub snapshot: Snapshot,
    pub log: ChangeLog,
    pub published: u64,
}

pub struct StateFile {
    /// `None` after a failed write: redb refuses every later write once an I/O error has
    /// happened, so the next write reopens the file (a full disk must not need a restart).
    db: Mutex<Option<Arc<Database>>>,
    path: PathBuf,
    /// Where restored cards read their photos; it shares the database.
    photos: Arc<PhotoStore>,
}

/// Opens without redb's integrity check, which reads the whole file (every photo) before a
/// start and then again to load it: the load checks what it reads instead (see the module
/// documentation). A file a crash left is still verified whole by redb's repair.
fn open_database(path: &Path) -> Result<Arc<Database>, redb::DatabaseError> {
    Database::builder()
        .set_cache_size(STATE_CACHE_BYTES)
        .set_repair_callback(refuse_rollback)
        .create(path)
        .map(Arc::new)
}

impl StateFile {
    /// Opens (or creates) the state file; `reset` first deletes it so everything is rebuilt
    /// from the sources.
    /// Photos read back from it are cached up to `photo_cache_bytes`.
    pub fn open(path: &Path, reset: bool, photo_cache_bytes: u64) -> Result<StateFile, StateError> {
        let err = |message: String| StateError {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| err(format!("cannot create its directory: {e}")))?;
        }
        if reset {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(format!("cannot remove it for --reset-state: {e}"))),
            }
        }
        // redb asserts on some damaged layouts (a page number out of its region) instead of
        // returning an error: a panic while opening is a damaged file like any other.
        let opened = std::panic::catch_unwind(|| open_database(path)).map_err(|_| {
            err(format!(
                "the file is damaged (its page layout cannot be read); {DAMAGED_WAY_OUT}"
            ))
        })?;
        let db = opened.map_err(|e| err(open_failure(e)))?;
        let photos = Arc::new(PhotoStore::new(
            photo_cache_bytes,
            path.display().to_string(),
        ));
        photos.set_database(Some(Arc::clone(&db)));
        let file = StateFile {
            db: Mutex::new(Some(db)),
            path: path.to_path_buf(),
            photos,
        };
        file.with_db(|db| file.check_format(db))?;
        file.with_db(|db| file.check_books(db))?;
        Ok(file)
    }

    /// Runs `f` on the database, reopening it first when a failed write closed it; a failure
    /// of `f` closes it.
    fn with_db<T>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut slot = self
            .db
            .lock()
            .map_err(|_| self.write_error("an earlier write panicked"))?;
        let db = match &mut *slot {
            Some(db) => db,
            None => {
                // The photo store lets go of the closed database first: redb opens a file
                // once per process.
                self.photos.set_database(None);
                let db =
                    open_database(&self.path).map_err(|e| self.error_as_is(open_failure(e)))?;
                self.photos.set_database(Some(Arc::clone(&db)));
                slot.insert(db)
            }
        };
        // redb may panic on a damaged page instead of returning an error.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(db))).unwrap_or_else(|_| {
            Err(self.error("the file is damaged (its page layout cannot be read)"))
        });
        if result.is_err() {
            self.photos.set_database(None);
            *slot = None;
        }
        result
    }

    fn error_as_is(&self, message: String) -> StateError {
        StateError {
            path: self.path.display().to_string(),
            message,
        }
    }

    /// A change that could not be recorded: nothing is lost and nothing needs resetting.
    fn write_error(&self, message: impl std::fmt::Display) -> StateError {
        self.error_as_is(format!(
            "could not record the change ({message}); clients keep the last recorded cards \
             and the next poll retries it by itself: check the free space and permissions \
             where the file lives"
        ))
    }

    fn error(&self, message: impl std::fmt::Display) -> StateError {
        StateError {
            path: self.path.display().to_string(),
            message: format!("{message}; {DAMAGED_WAY_OUT}"),
        }
    }

    fn check_format(&self, db: &Database) -> Result<(), StateError> {
        let txn = begin_write(db).map_err(|e| self.error(e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.error(e))?;
            let stored = meta
                .get("format")
                .map_err(|e| self.error(e))?
                .map(|v| v.value().to_vec());
            let current = stored.as_deref() == Some(FORMAT.to_le_bytes().as_slice());
            match stored {
                None => {
                    meta.insert("format", FORMAT.to_le_bytes().as_slice())
                        .map_err(|e| self.error(e))?;
                }
                Some(bytes) => {
                    let version = <[u8; 4]>::try_from(bytes.as_slice())
                        .map(u32::from_le_bytes)
                        .map_err(|_| self.error("unreadable format marker"))?;
                    if version > FORMAT {
                        return Err(self.error(format!(
                            "written by a newer cardbridge (format {version}, this one reads {FORMAT}); \
                             upgrade cardbridge"
                        )));
                    }
                    if version == CONVERTED_FORMAT {
                        self.convert(&txn)?;
                        meta.insert("format", FORMAT.to_le_bytes().as_slice())
                            .map_err(|e| self.error(e))?;
                    } else if version < FORMAT {
                        // Its cards cannot be decoded any more: what --reset-state does.
                        txn.delete_table(BOOKS).map_err(|e| self.error(e))?;
                        txn.delete_table(MEMBERS).map_err(|e| self.error(e))?;
                        txn.delete_table(LOG).map_err(|e| self.error(e))?;
                        txn.delete_table(SOURCES).map_err(|e| self.error(e))?;
                        txn.delete_table(PHOTOS).map_err(|e| self.error(e))?;
                        txn.delete_table(PHOTO_USERS).map_err(|e| self.error(e))?;
                        meta.insert("format", FORMAT.to_le_bytes().as_slice())
                            .map_err(|e| self.error(e))?;
                    }
                }
            }
            let books = txn.open_table(BOOKS).map_err(|e| self.error(e))?;
            if !current {
                let seal = books_seal(&books).map_err(|e| self.error(e))?;
                meta.insert(BOOKS_SEAL, seal.to_le_bytes().as_slice())
                    .map_err(|e| self.error(e))?;
            }
            txn.open_table(SOURCES).map_err(|e| self.error(e))?;
            txn.open_table(MEMBERS).map_err(|e| self.error(e))?;
            txn.open_table(LOG).map_err(|e| self.error(e))?;
            PhotoTables::open(&txn).map_err(|e| self.error(e))?;
        }
        txn.commit().map_err(|e| self.error(e))
    }

    /// Checks the books table against its seal (see [`BOOKS_SEAL`]).
    fn check_books(&self, db: &Database) -> Result<(), StateError> {
        let txn = db.begin_read().map_err(|e| self.error(e))?;
        let meta = txn.open_table(META).map_err(|e| self.error(e))?;
        let sealed = meta
            .get(BOOKS_SEAL)
            .map_err(|e| self.error(e))?
            .map(|v| v.value().to_vec());
        let books = txn.open_table(BOOKS).map_err(|e| self.error(e))?;
        let seal = books_seal(&books).map_err(|e| self.error(e))?;
        if sealed.as_deref() != Some(seal.to_le_bytes().as_slice()) {
            return Err(self.error("its books do not match their recorded seal"));
        }
        Ok(())
    }

    /// Rewrites the cards of a format 3 file in this format: each photo moves to its own row,
    /// and each card keeps its content hash, so its ETag, and the books their tokens.
    fn convert(&self, txn: &redb::WriteTransaction) -> Result<(), StateError> {
        let mut members = txn.open_table(MEMBERS).map_err(|e| self.error(e))?;
        let mut photos = PhotoTables::open(txn).map_err(|e| self.error(e))?;
        let mut rows = Vec::new();
        for row in members.iter().map_err(|e| self.error(e))? {
            let (key, value) = row.map_err(|e| self.error(e))?;
            let (book, name) = key.value();
            let member = converted_member(name, value.value())
                .map_err(|e| self.error(format!("card {name:?} of book {book:?}: {e}")))?;
            rows.push((book.to_string(), member));
        }
        for (book, member) in rows {
            if let Some(photo) = member.packed().photo() {
                photos.keep(photo).map_err(|e| self.error(e))?;
            }
            let bytes = stored_member(&member).map_err(|e| self.error(e))?;
            members
                .insert((book.as_str(), member.name.as_str()), bytes.as_slice())
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// The persisted state of `book`, or `None` when it was never published.
    pub fn load(&self, book: &str, retention: Retention) -> Result<Option<Restored>, StateError> {
        self.with_db(|db| self.load_from(db, book, retention))
    }

    fn load_from(
        &self,
        db: &Database,
        book: &str,
        retention: Retention,
    ) -> Result<Option<Restored>, StateError> {
        let txn = db.begin_read().map_err(|e| self.error(e))?;
        let books = txn.open_table(BOOKS).map_err(|e| self.error(e))?;
        let Some(meta) = books.get(book).map_err(|e| self.error(e))? else {
            return Ok(None);
        };
        let meta: BookMeta = postcard::from_bytes(meta.value())
            .map_err(|e| self.error(format!("book {book:?}: {e}")))?;
        let members_table = txn.open_table(MEMBERS).map_err(|e| self.error(e))?;
        let mut members = Vec::new();
        for row in members_table
            .range((book, "")..)
            .map_err(|e| self.error(e))?
        {
            let (key, value) = row.map_err(|e| self.error(e))?;
            let (owner, name) = key.value();
            if owner != book {
                break;
            }
            let member = restored_member(name, value.value(), &self.photos)
                .map_err(|e| self.error(format!("card {name:?} of book {book:?}: {e}")))?;
            members.push(Arc::new(member));
        }
        let snapshot = Snapshot::from_members(members);
        if snapshot.digest() != meta.digest {
            return Err(self.error(format!(
                "book {book:?}: its cards do not add up to its recorded state"
            )));
        }
        let log_table = txn.open_table(LOG).map_err(|e| self.error(e))?;
        let mut entries = Vec::new();
        for row in log_table.range((book, 0u64)..).map_err(|e| self.error(e))? {
            let (key, value) = row.map_err(|e| self.error(e))?;
            let (owner, seq) = key.value();
            if owner != book {
                break;
            }
            let stored: StoredEntry = postcard::from_bytes(value.value())
                .map_err(|e| self.error(format!("log entry {seq} of book {book:?}: {e}")))?;
            entries.push(Entry {
                seq,
                at: stored.at,
                digest: stored.digest,
                changed: Arc::from(stored.changed),
            });
        }
        if entries.last().map(|e| e.digest) != Some(meta.digest) {
            return Err(self.error(format!(
                "book {book:?}: its change log does not end at its state"
            )));
        }
        Ok(Some(Restored {
            snapshot,
            log: ChangeLog::from_entries(entries, retention),
            published: meta.published,
        }))
    }

    /// Records what source `id` needs to go on after a restart (a syncrepl cookie with the
    /// listing it belongs to), for its configuration `key`. Saved only after the publication
    /// it belongs to is recorded, so a checkpoint is never ahead of the books.
    pub fn save_checkpoint(
        &self,
        id: &str,
        key: &str,
        checkpoint: &[u8],
    ) -> Result<(), StateError> {
        let stored = StoredCheckpoint {
            key: key.to_string(),
            checkpoint: checkpoint.to_vec(),
        };
        let bytes = postcard::to_stdvec(&stored).map_err(|e| self.write_error(e))?;
        self.with_db(|db| {
            let txn = begin_write(db).map_err(|e| self.write_error(e))?;
            {
                let mut table = txn.open_table(SOURCES).map_err(|e| self.write_error(e))?;
                table
                    .insert(id, bytes.as_slice())
                    .map_err(|e| self.write_error(e))?;
            }
            txn.commit().map_err(|e| self.write_error(e))
        })
    }

    /// The checkpoint of source `id` saved under the same configuration `key`: one saved for
    /// another configuration (another base or filter) would resume the wrong listing.
    pub fn checkpoint(&self, id: &str, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(|e| self.error(e))?;
            let table = txn.open_table(SOURCES).map_err(|e| self.error(e))?;
            let Some(value) = table.get(id).map_err(|e| self.error(e))? else {
                return Ok(None);
            };
            let stored: StoredCheckpoint = postcard::from_bytes(value.value())
                .map_err(|e| self.error(format!("source {id:?}: {e}")))?;
            Ok((stored.key == key).then_some(stored.checkpoint))
        })
    }

    /// Persists one published change of `book` in a single transaction.
    pub fn save(
        &self,
        book: &str,
        next: &Snapshot,
        entry: &Entry,
        first_retained_seq: u64,
    ) -> Result<(), StateError> {
        self.with_db(|db| self.write(db, book, next, entry, first_retained_seq))
    }

    fn write(
        &self,
        db: &Database,
        book: &str,
        next: &Snapshot,
        entry: &Entry,
        first_retained_seq: u64,
    ) -> Result<(), StateError> {
        let txn = begin_write(db).map_err(|e| self.write_error(e))?;
        {
            let mut members = txn.open_table(MEMBERS).map_err(|e| self.write_error(e))?;
            let mut photos = PhotoTables::open(&txn).map_err(|e| self.write_error(e))?;
            for name in entry.changed.iter() {
                let key = (book, name.as_str());
                // The new photo is counted before the old one is let go of, so a photo the
                // card keeps is never removed and written again.
                let before = match next.get(name) {
                    Some(member) => {
                        if let Some(photo) = member.packed().photo() {
                            photos.keep(photo).map_err(|e| self.write_error(e))?;
                        }
                        let bytes = stored_member(member).map_err(|e| self.write_error(e))?;
                        members
                            .insert(key, bytes.as_slice())
                            .map_err(|e| self.write_error(e))?
                            .and_then(|old| stored_photo(old.value()))
                    }
                    None => members
                        .remove(key)
                        .map_err(|e| self.write_error(e))?
                        .and_then(|old| stored_photo(old.value())),
                };
                if let Some(hash) = before {
                    photos.release(hash).map_err(|e| self.write_error(e))?;
                }
            }
            let mut log = txn.open_table(LOG).map_err(|e| self.write_error(e))?;
            let stored = StoredEntry {
                at: entry.at,
                digest: entry.digest,
                changed: entry.changed.to_vec(),
            };
            let bytes = postcard::to_stdvec(&stored).map_err(|e| self.write_error(e))?;
            log.insert((book, entry.seq), bytes.as_slice())
                .map_err(|e| self.write_error(e))?;
            let expired: Vec<u64> = log
                .range((book, 0u64)..(book, first_retained_seq))
                .map_err(|e| self.write_error(e))?
                .filter_map(|row| row.ok().map(|(k, _)| k.value().1))
                .collect();
            for seq in expired {
                log.remove((book, seq)).map_err(|e| self.write_error(e))?;
            }
            let mut books = txn.open_table(BOOKS).map_err(|e| self.write_error(e))?;
            let meta = BookMeta {
                digest: next.digest(),
                published: entry.at,
            };
            let bytes = postcard::to_stdvec(&meta).map_err(|e| self.write_error(e))?;
            books
                .insert(book, bytes.as_slice())
                .map_err(|e| self.write_error(e))?;
            let seal = books_seal(&books).map_err(|e| self.write_error(e))?;
            txn.open_table(META)
                .map_err(|e| self.write_error(e))?
                .insert(BOOKS_SEAL, seal.to_le_bytes().as_slice())
                .map_err(|e| self.write_error(e))?;
        }
        txn.commit().map_err(|e| self.write_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ApplyReport, Book, RemovalGuard};
    use cardbridge_connectors::{Contact, Photo};
    use redb::ReadableTableMetadata;

    const RETENTION: Retention = Retention {
        max_entries: 5,
        max_age: None,
    };
    const GUARD: RemovalGuard = RemovalGuard {
        share: 1.0,
        min_removals: usize::MAX,
    };

    fn members(names: &[&str]) -> Vec<Member> {
        names
            .iter()
            .map(|n| {
                Member::new(Contact {
                    uid: (*n).into(),
                    formatted_name: n.to_uppercase(),
                    ..Contact::default()
                })
            })
            .collect()
    }

    #[test]
    fn a_reopened_file_serves_the_same_state_and_deltas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.redb");
        let (token_a, token_b) = {
            let file = StateFile::open(&path, false, 1 << 20).expect("open");
            let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
            book.apply(members(&["a", "b", "c"]), &GUARD, false, Some(&file))
                .expect("apply");
            let token_a = book.state().token();
            book.apply(members(&["a", "c", "d"]), &GUARD, false, Some(&file))
                .expect("apply");
            (token_a, book.state().token())
        };
        let file = StateFile::open(&path, false, 1 << 20).expect("reopen");
        let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
        let state = book.state();
        assert_eq!(state.token(), token_b);
        assert_eq!(state.snapshot.len(), 3);
        let delta: Vec<String> = state
            .log
            .delta_since(token_a.0)
            .expect("known")
            .names
            .into_iter()
            .collect();
        assert_eq!(delta, vec!["b.vcf", "d.vcf"]);
        assert!(Book::open("other", RETENTION, Some(&file))
            .expect("empty")
            .state()
            .snapshot
            .is_empty());
    }

    /// How format 3 (the previous release) stored a member: a struct with the contact
    /// decoded, its photo inline.
    #[derive(Serialize)]
    struct WholeContactMember {
        content: u128,
        revision: u32,
        changed: u64,
        contact: Contact,
    }

    fn photo(seed: u8) -> Photo {
        Photo {
            media_type: "image/jpeg".into(),
            data: (0..6000u32).map(|i| (i as u8).wrapping_mul(seed)).collect(),
        }
    }

    fn with_photos(cards: &[(&str, Option<u8>)]) -> Vec<Member> {
        cards
            .iter()
            .map(|(n, seed)| {
                Member::new(Contact {
                    uid: (*n).into(),
                    formatted_name: n.to_uppercase(),
                    photo: seed.map(photo),
                    ..Contact::default()
                })
            })
            .collect()
    }

    fn rows<K: redb::Key + 'static, V: redb::Value + 'static>(
        file: &StateFile,
        table: TableDefinition<K, V>,
    ) -> u64 {
        let slot = file.db.lock().expect("lock");
        let txn = slot.as_ref().expect("open").begin_read().expect("txn");
        let table = txn.open_table(table).expect("table");
        table.len().expect("len")
    }

    #[test]
    fn a_file_of_the_previous_release_is_converted_and_keeps_its_etags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.redb");
        let cards = [("a", Some(3)), ("b", None), ("c", Some(3))];
        let (token, before) = {
            let file = StateFile::open(&path, false, 1 << 20).expect("open");
            let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
            book.apply(with_photos(&cards), &GUARD, false, Some(&file))
                .expect("apply");
            let state = book.state();
            let before: Vec<(Etag, Contact)> = ["a.vcf", "b.vcf", "c.vcf"]
                .iter()
                .map(|n| {
                    let m = state.snapshot.get(n).expect("member");
                    (m.etag, m.contact())
                })
                .collect();
            // The rows as format 3 wrote them.
            let slot = file.db.lock().expect("lock");
            let txn = begin_write(slot.as_ref().expect("open")).expect("txn");
            {
                let mut members = txn.open_table(MEMBERS).expect("members");
                for ((name, _), (etag, contact)) in cards.iter().zip(&before) {
                    let old = postcard::to_stdvec(&WholeContactMember {
                        content: etag.0,
                        revision: 0,
                        changed: 7,
                        contact: contact.clone(),
                    })
                    .expect("encode");
                    members
                        .insert(("staff", format!("{name}.vcf").as_str()), old.as_slice())
                        .expect("insert");
                }
            }
            txn.delete_table(PHOTOS).expect("photos");
            txn.delete_table(PHOTO_USERS).expect("users");
            txn.open_table(META)
                .expect("meta")
                .insert("format", CONVERTED_FORMAT.to_le_bytes().as_slice())
                .expect("insert");
            txn.commit().expect("commit");
            (state.token(), before)
        };
        let file = StateFile::open(&path, false, 1 << 20).expect("converted");
        let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
        let state = book.state();
        assert_eq!(state.token(), token);
        for (name, (etag, contact)) in ["a.vcf", "b.vcf", "c.vcf"].iter().zip(&before) {
            let member = state.snapshot.get(name).expect("member");
            assert_eq!(member.etag, *etag, "{name}");
            assert_eq!(member.etag, Member::new(contact.clone()).etag, "{name}");
            assert_eq!(&member.contact(), contact, "{name}");
        }
        assert_eq!(rows(&file, PHOTOS), 1, "the photo a and c share, once");
        assert_eq!(before[0].1.photo, Some(photo(3)));
        assert!(restored_member("a.vcf", &[0; 40], &file.photos).is_err());
    }

    #[test]
    fn a_photo_goes_with_the_last_card_that_has_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.redb");
        let file = StateFile::open(&path, false, 1 << 20).expect("open");
        let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
        let apply = |cards: &[(&str, Option<u8>)]| {
            book.apply(with_photos(cards), &GUARD, false, Some(&file))
                .expect("apply");
            (rows(&file, PHOTOS), rows(&file, PHOTO_USERS))
        };
        assert_eq!(
            apply(&[("a", Some(1)), ("b", Some(1)), ("c", Some(2))]),
            (2, 2)
        );
        assert_eq!(apply(&[("a", Some(1)), ("c", Some(2))]), (2, 2));
        assert_eq!(apply(&[("a", Some(5)), ("c", Some(2))]), (2, 2));
        assert_eq!(apply(&[("a", None), ("c", Some(2))]), (1, 1));
        assert_eq!(apply(&[("x", None)]), (0, 0));
    }

    #[test]
    fn the_log_stays_bounded_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.redb");
        let file = StateFile::open(&path, false, 1 << 20).expect("open");
        let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
        let first = book.state().token();
        for i in 0..50 {
            let name = format!("n{i}");
            let report = book
                .apply(members(&["a", &name]), &GUARD, false, Some(&file))
                .expect("apply");
            assert!(matches!(report, ApplyReport::Published { .. }));
        }
        drop(book);
        let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
        assert_eq!(book.state().log.len(), 5);
        assert!(book.state().log.delta_since(first.0).is_none());
    }

    #[test]
    fn a_file_of_an_older_layout_is_rebuilt_from_the_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.redb");
        {
            let file = StateFile::open(&path, false, 1 << 20).expect("open");
            let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
            book.apply(members(&["a", "b"]), &GUARD, false, Some(&file))
                .expect("apply");
            let db = file.db.lock().expect("lock");
            let txn = begin_write(db.as_ref().expect("open")).expect("txn");
            txn.open_table(META)
                .expect("meta")
                .insert("format", (CONVERTED_FORMAT - 1).to_le_bytes().as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        }
        let file = StateFile::open(&path, false, 1 << 20).expect("an older file opens");
        let book = Book::open("staff", RETENTION, Some(&file)).expect("book");
        assert!(book.state().snapshot.is_empty());
        drop(book);
        drop(file);
        let file = StateFile::open(&path, false, 1 << 20).expect("reopen");
        assert!(Book::open("staff", RETENTION, Some(&file))
            .expect("book")
            .state()
            .snapshot
            .is_empty());
    }

    #[test]
    fn damaged_and_newer_files_are_refused_with_the_way_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.redb");
        std::fs::write(&path, b"this is not a database at all, just some bytes").expect("write");
        let err = StateFile::open(&path, false, 1 << 20)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("state.redb") && err.contains("--reset-state"),
            "{err}"
        );
        StateFile::open(&path, true, 1 << 20).expect("reset rebuilds");

        let newer = dir.path().join("newer.redb");
        {
            let file = StateFile::open(&newer, false, 1 << 20).expect("open");
            let slot = file.db.lock().expect("lock");
            let txn = slot.as_ref().expect("open").begin_write().expect("txn");
            txn.open_table(META)
                .expect("meta")
                .insert("format", 99u32.to_le_bytes().as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        }
        let err = StateFile::open(&newer, false, 1 << 20)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("newer cardbridge") && err.contains("--reset-state"),
            "{err}"
        );
    }
}
