//! The render cache: rendered vCards kept in memory, keyed by (ETag, vCard version).
//!
//! An ETag is a hash of the card's content (and heal revision), so a cached rendering can never
//! be served under a newer ETag, and a poll that swaps in a new snapshot leaves the renderings
//! of unchanged cards valid. The cache is bounded by bytes (`[server] card_cache_bytes`).
//!
//! A card is cached without its photo, with the place of the photo's lines: a photo
//! (kilobytes, against a few hundred bytes of text) is encoded from its bytes (in memory, or
//! read from the state file through its own cache) each time it is sent instead of evicting
//! the texts of most of a book with photos.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use crate::store::{Etag, Member};
use crate::vcard::{self, LineEnd, PhotoLines, VcardVersion};

/// Independent parts of the cache, each behind its own lock, so worker threads rarely wait
/// for each other; a card's part is chosen by its ETag.
const SHARDS: usize = 32;

/// Bytes counted per entry on top of its text: its slot (96) and its place in the index
/// (~56 with the map's spare room).
const ENTRY_OVERHEAD: u64 = 160;

/// Rendered vCards by (ETag, version); shared by every request through `AppState::cards`.
///
/// A lookup is a lock and a hash probe: the general-purpose cache used before spent a tenth
/// of a multiget's CPU on its own bookkeeping (epochs, a frequency sketch, read queues).
/// Eviction is CLOCK (second chance): a card read since the hand last passed stays.
pub struct RenderCache {
    shards: [Mutex<Shard>; SHARDS],
    /// Each shard's share of `[server] card_cache_bytes`.
    shard_bytes: u64,
    lookups: AtomicU64,
    renders: AtomicU64,
}

type Key = (Etag, VcardVersion);

/// A card's text without its photo, and where a photo's lines go.
#[derive(Clone)]
struct Rendered {
    text: Bytes,
    photo_at: usize,
}

/// A card as sent: its cached text and, with a photo, the photo's bytes and the place of its
/// lines, which are encoded straight into the reply ([`Card::parts`], [`Card::into_bytes`]).
#[derive(Debug, Clone)]
pub struct Card {
    text: Bytes,
    photo: Option<CardPhoto>,
}

#[derive(Clone)]
struct CardPhoto {
    at: usize,
    media_type: Arc<str>,
    data: Arc<[u8]>,
    version: VcardVersion,
}

impl std::fmt::Debug for CardPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} bytes) at {}",
            self.media_type,
            self.data.len(),
            self.at
        )
    }
}

impl From<Bytes> for Card {
    /// A card without a photo.
    fn from(text: Bytes) -> Card {
        Card { text, photo: None }
    }
}

impl Card {
    /// The text before the photo's lines, the lines (when the card shows its photo) and the
    /// text after them.
    pub fn parts(&self) -> (&[u8], Option<PhotoLines<'_>>, &[u8]) {
        let lines = self.photo.as_ref().and_then(|p| {
            let lines = PhotoLines::new(&p.media_type, &p.data, p.version)?;
            Some((p.at, lines))
        });
        match lines {
            Some((at, lines)) => {
                let (before, after) = self.text.split_at_checked(at).unwrap_or((&self.text, &[]));
                (before, Some(lines), after)
            }
            None => (&self.text, None, &[]),
        }
    }

    /// Octets of the card as sent.
    pub fn len(&self) -> usize {
        let (before, lines, after) = self.parts();
        before.len() + lines.map_or(0, |l| l.len()) + after.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The card in one buffer (a GET body): the cached text itself without a photo.
    pub fn into_bytes(self) -> Bytes {
        let (before, lines, after) = self.parts();
        let Some(lines) = lines else {
            return self.text;
        };
        let mut card = String::with_capacity(self.len());
        card.push_str(&String::from_utf8_lossy(before));
        lines.write(&mut card, LineEnd::Crlf);
        card.push_str(&String::from_utf8_lossy(after));
        Bytes::from(card)
    }
}

impl Rendered {
    fn weight(&self) -> u64 {
        self.text.len() as u64 + ENTRY_OVERHEAD
    }
}

struct Entry {
    key: Key,
    rendered: Rendered,
    /// Read since the clock hand last passed it.
    referenced: bool,
}

/// One part of the cache: its entries in clock order, and where each key is among them.
#[derive(Default)]
struct Shard {
    index: HashMap<Key, usize, BuildHasherDefault<EtagHasher>>,
    entries: Vec<Entry>,
    hand: usize,
    bytes: u64,
}

impl Shard {
    fn get(&mut self, key: &Key) -> Option<Rendered> {
        let at = *self.index.get(key)?;
        let entry = self.entries.get_mut(at)?;
        entry.referenced = true;
        Some(entry.rendered.clone())
    }

    /// Keeps `rendered` under `key`, evicting until it fits `limit`; one larger than the
    /// whole shard is not kept.
    fn insert(&mut self, key: Key, rendered: Rendered, limit: u64) {
        let weight = rendered.weight();
        if weight > limit || self.index.contains_key(&key) {
            return;
        }
        while self.bytes + weight > limit && self.evict_one() {}
        self.index.insert(key, self.entries.len());
        self.entries.push(Entry {
            key,
            rendered,
            referenced: false,
        });
        self.bytes += weight;
    }

    /// Moves the hand to the first entry not read since its last pass and drops it; false
    /// when the shard is empty.
    fn evict_one(&mut self) -> bool {
        loop {
            if self.entries.is_empty() {
                return false;
            }
            if self.hand >= self.entries.len() {
                self.hand = 0;
            }
            let Some(entry) = self.entries.get_mut(self.hand) else {
                return false;
            };
            if entry.referenced {
                entry.referenced = false;
                self.hand += 1;
                continue;
            }
            let gone = self.entries.swap_remove(self.hand);
            self.index.remove(&gone.key);
            self.bytes = self.bytes.saturating_sub(gone.rendered.weight());
            // The last entry moved into the freed place.
            if let Some(moved) = self.entries.get(self.hand) {
                self.index.insert(moved.key, self.hand);
            }
            return true;
        }
    }
}

/// ETags are hashes already (xxh3-128): their bits are the key's hash, mixed with the
/// version's, instead of being hashed again.
#[derive(Default)]
struct EtagHasher(u64);

impl Hasher for EtagHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
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
            shards: std::array::from_fn(|_| Mutex::default()),
            shard_bytes: max_bytes / SHARDS as u64,
            lookups: AtomicU64::new(0),
            renders: AtomicU64::new(0),
        }
    }

    fn shard(&self, etag: Etag) -> &Mutex<Shard> {
        // The ETag's top bits: the hash map inside the shard uses the low ones.
        &self.shards[(etag.0 >> 120) as usize % SHARDS]
    }

    /// The member rendered in `version`, from the cache when possible; its photo, if any, is
    /// encoded where the card is written ([`Card`]).
    pub fn get(&self, member: &Member, version: VcardVersion) -> Card {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let key = (member.etag, version);
        let shard = self.shard(member.etag);
        let cached = shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key);
        let rendered = match cached {
            Some(rendered) => rendered,
            None => {
                // Rendered outside the lock: a card rendered twice at once is kept once.
                self.renders.fetch_add(1, Ordering::Relaxed);
                let card = vcard::render_without_photo(
                    &member.contact_without_photo(),
                    version,
                    member.revision,
                );
                let rendered = Rendered {
                    // Copied to an exact-size buffer: the renderer's String is sized from a
                    // hint and `Bytes::from(String)` would keep all of it cached.
                    text: Bytes::copy_from_slice(card.text.as_bytes()),
                    photo_at: card.photo_at,
                };
                shard.lock().unwrap_or_else(PoisonError::into_inner).insert(
                    key,
                    rendered.clone(),
                    self.shard_bytes,
                );
                rendered
            }
        };
        let photo = member.packed().photo().and_then(|photo| {
            Some(CardPhoto {
                at: rendered.photo_at,
                media_type: Arc::clone(&photo.media_type),
                data: photo.data()?,
                version,
            })
        });
        Card {
            text: rendered.text,
            photo,
        }
    }

    pub fn stats(&self) -> CacheStats {
        let lookups = self.lookups.load(Ordering::Relaxed);
        let misses = self.renders.load(Ordering::Relaxed);
        let (mut bytes, mut entries) = (0, 0);
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            bytes += shard.bytes;
            entries += shard.entries.len() as u64;
        }
        CacheStats {
            hits: lookups.saturating_sub(misses),
            misses,
            bytes,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use cardbridge_connectors::{Contact, Photo};

    use super::*;

    fn with_photo(i: usize, media_type: &str) -> Contact {
        Contact {
            uid: format!("u{i}"),
            formatted_name: format!("Person {i} with a name long enough to fold ü"),
            note: Some("a note;\nover lines".into()),
            photo: Some(Photo {
                media_type: media_type.into(),
                data: (0..(i * 37 % 5000)).map(|b| (b * 7 + i) as u8).collect(),
            }),
            ..Contact::default()
        }
    }

    /// Over its bytes the cache evicts, keeps a card read all along, and every card read
    /// back is the renderer's.
    #[test]
    fn stays_within_its_bytes_and_keeps_what_is_read() {
        let limit = SHARDS as u64 * 4096;
        let cache = RenderCache::new(limit);
        let members: Vec<Member> = (0..3000)
            .map(|i| {
                Member::new(Contact {
                    uid: format!("u{i}"),
                    formatted_name: format!("Person {i}"),
                    ..Contact::default()
                })
            })
            .collect();
        let hot = &members[0];
        for member in &members {
            cache.get(hot, VcardVersion::V3);
            cache.get(member, VcardVersion::V3);
        }
        let stats = cache.stats();
        assert!(stats.bytes <= limit, "{} bytes kept", stats.bytes);
        assert!(
            stats.entries > 100 && stats.entries < 3000,
            "{}",
            stats.entries
        );
        cache.get(hot, VcardVersion::V3);
        assert_eq!(
            cache.stats().misses,
            stats.misses,
            "the card read all along stayed"
        );
        for member in members.iter().step_by(97) {
            let expected = vcard::render_revised(&member.contact(), VcardVersion::V3, 0);
            let card = cache.get(member, VcardVersion::V3).into_bytes();
            assert_eq!(std::str::from_utf8(&card).ok(), Some(expected.as_str()));
        }
    }

    /// Text and photo put together again are the card the renderer gives, byte for byte.
    #[test]
    fn cards_with_photos_are_sent_as_rendered() {
        let cache = RenderCache::new(1 << 20);
        for i in 0..40 {
            let media = ["image/jpeg", "image/png", "image/gif", ""][i % 4];
            let mut member = Member::new(with_photo(i, media));
            if i % 3 == 0 {
                member = member.healed().unwrap_or(member);
            }
            for version in [VcardVersion::V3, VcardVersion::V4] {
                let expected = vcard::render_revised(&member.contact(), version, member.revision);
                for _ in 0..2 {
                    let card = cache.get(&member, version);
                    assert_eq!(card.len(), expected.len());
                    let bytes = card.into_bytes();
                    assert_eq!(std::str::from_utf8(&bytes).ok(), Some(expected.as_str()));
                }
            }
        }
        let stats = cache.stats();
        assert_eq!(stats.misses, 80, "rendered once per card and version");
        assert!(
            stats.bytes < 80 * 700,
            "photos are not cached: {} bytes",
            stats.bytes
        );
    }
}
