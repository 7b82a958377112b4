//! Photos in the state file: one row per distinct photo, keyed by the hash of its bytes, so a
//! photo shared by cards is stored once, an unchanged photo is never written again, and a
//! restart reads none of them. A card's photo is read when the card is sent, through a cache
//! bounded in bytes; the hash checks what the file gives back.
//!
//! Each photo counts the stored cards that refer to it (`photo_users`); it is removed with the
//! last one, in the same transaction.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use xxhash_rust::xxh3::xxh3_128;

use super::packed::PhotoRef;

pub(super) const PHOTOS: TableDefinition<u128, &[u8]> = TableDefinition::new("photos");
/// Photo hash → how many stored members refer to it.
pub(super) const PHOTO_USERS: TableDefinition<u128, u64> = TableDefinition::new("photo_users");

/// Reads photos from the state file for the cards that refer to them.
pub struct PhotoStore {
    /// The state file's database; `None` while a failed write has it closed (`StateFile`
    /// reopens it and hands it back).
    db: RwLock<Option<Arc<Database>>>,
    cache: moka::sync::Cache<u128, Arc<[u8]>>,
    path: String,
}

impl PhotoStore {
    pub(super) fn new(cache_bytes: u64, path: String) -> PhotoStore {
        PhotoStore {
            db: RwLock::new(None),
            cache: moka::sync::Cache::builder()
                .max_capacity(cache_bytes)
                .weigher(|_, v: &Arc<[u8]>| u32::try_from(v.len() + 64).unwrap_or(u32::MAX))
                .build(),
            path,
        }
    }

    pub(super) fn set_database(&self, db: Option<Arc<Database>>) {
        if let Ok(mut slot) = self.db.write() {
            *slot = db;
        }
    }

    /// The bytes stored under `hash`; `None`, with an error in the log, when the file does not
    /// give them (damage its pages' checksums would have shown, or a closed file).
    pub fn get(&self, hash: u128) -> Option<Arc<[u8]>> {
        if let Some(bytes) = self.cache.get(&hash) {
            return Some(bytes);
        }
        // redb may panic on a damaged page instead of returning an error.
        let read = std::panic::catch_unwind(AssertUnwindSafe(|| self.read(hash)))
            .unwrap_or_else(|_| Err("its page layout cannot be read".to_string()));
        let failure = match read {
            Ok(Some(bytes)) if xxh3_128(&bytes) == hash => {
                self.cache.insert(hash, Arc::clone(&bytes));
                return Some(bytes);
            }
            Ok(Some(_)) => "its stored bytes are damaged".to_string(),
            Ok(None) => "it is missing".to_string(),
            Err(e) => e,
        };
        tracing::error!(
            "state file {}: photo {hash:032x} cannot be read ({failure}); the card is sent \
             without it: restore the file from a backup, or restart with --reset-state",
            self.path
        );
        None
    }

    fn read(&self, hash: u128) -> Result<Option<Arc<[u8]>>, String> {
        let db = self
            .db
            .read()
            .map_err(|_| "a write panicked".to_string())?
            .clone()
            .ok_or_else(|| "the file is closed after a failed write".to_string())?;
        let txn = db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(PHOTOS).map_err(|e| e.to_string())?;
        let row = table.get(hash).map_err(|e| e.to_string())?;
        Ok(row.map(|v| Arc::from(v.value())))
    }
}

/// The photo tables of one write transaction.
pub(super) struct PhotoTables<'txn> {
    photos: Table<'txn, u128, &'static [u8]>,
    users: Table<'txn, u128, u64>,
}

impl<'txn> PhotoTables<'txn> {
    pub fn open(txn: &'txn redb::WriteTransaction) -> Result<PhotoTables<'txn>, redb::TableError> {
        Ok(PhotoTables {
            photos: txn.open_table(PHOTOS)?,
            users: txn.open_table(PHOTO_USERS)?,
        })
    }

    /// One more stored card refers to `photo`: its bytes are written when no card did.
    pub fn keep(&mut self, photo: &PhotoRef) -> Result<(), String> {
        let users = self.users(photo.hash)?;
        if users == 0 && self.photos.get(photo.hash).map_err(fail)?.is_none() {
            let data = photo
                .data()
                .ok_or_else(|| format!("photo {:032x} cannot be read", photo.hash))?;
            self.photos.insert(photo.hash, &*data).map_err(fail)?;
        }
        self.users
            .insert(photo.hash, users.saturating_add(1))
            .map_err(fail)?;
        Ok(())
    }

    /// One stored card fewer refers to the photo `hash`: it goes with the last one.
    pub fn release(&mut self, hash: u128) -> Result<(), String> {
        match self.users(hash)? {
            0 | 1 => {
                self.users.remove(hash).map_err(fail)?;
                self.photos.remove(hash).map_err(fail)?;
            }
            n => {
                self.users.insert(hash, n - 1).map_err(fail)?;
            }
        }
        Ok(())
    }

    fn users(&self, hash: u128) -> Result<u64, String> {
        Ok(self.users.get(hash).map_err(fail)?.map_or(0, |v| v.value()))
    }
}

fn fail(e: redb::StorageError) -> String {
    e.to_string()
}
