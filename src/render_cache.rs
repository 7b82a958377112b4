//! The render cache: rendered vCards kept in memory, keyed by (ETag, vCard version).
//!
//! An ETag is a hash of the card's content (and heal revision), so a cached rendering can never
//! be served under a newer ETag, and a poll that swaps in a new snapshot leaves the renderings
//! of unchanged cards valid. The cache is bounded by bytes (`[server] card_cache_bytes`).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::store::{Etag, Member};
use crate::vcard::{self, VcardVersion};

/// Rendered vCards by (ETag, version); shared by every request through `AppState::cards`.
pub struct RenderCache {
    cache: moka::sync::Cache<(Etag, VcardVersion), Bytes>,
    lookups: AtomicU64,
    renders: AtomicU64,
}

/// What the cache has done since the start, for `/metrics`.
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Weighted size: the cached bytes plus a small per-entry overhead.
    pub bytes: u64,
    pub entries: u64,
}

impl RenderCache {
    pub fn new(max_bytes: u64) -> RenderCache {
        RenderCache {
            cache: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, v: &Bytes| u32::try_from(v.len() + 64).unwrap_or(u32::MAX))
                .build(),
            lookups: AtomicU64::new(0),
            renders: AtomicU64::new(0),
        }
    }

    /// The member rendered in `version`, from the cache when possible.
    pub fn get(&self, member: &Member, version: VcardVersion) -> Bytes {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.cache.get_with((member.etag, version), || {
            self.renders.fetch_add(1, Ordering::Relaxed);
            // Copied to an exact-size buffer: the renderer's String is sized from a hint and
            // is often twice the card, and `Bytes::from(String)` would keep all of it cached.
            let card = vcard::render_revised(&member.contact(), version, member.revision);
            Bytes::copy_from_slice(card.as_bytes())
        })
    }

    pub fn stats(&self) -> CacheStats {
        let lookups = self.lookups.load(Ordering::Relaxed);
        let misses = self.renders.load(Ordering::Relaxed);
        CacheStats {
            hits: lookups.saturating_sub(misses),
            misses,
            bytes: self.cache.weighted_size(),
            entries: self.cache.entry_count(),
        }
    }
}
