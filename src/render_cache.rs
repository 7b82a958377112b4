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

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::store::{Etag, Member};
use crate::vcard::{self, VcardVersion};

/// Rendered vCards by (ETag, version); shared by every request through `AppState::cards`.
pub struct RenderCache {
    cache: moka::sync::Cache<(Etag, VcardVersion), Rendered>,
    lookups: AtomicU64,
    renders: AtomicU64,
}

/// A card's text without its photo, and where a photo's lines go.
#[derive(Clone)]
struct Rendered {
    text: Bytes,
    photo_at: usize,
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
                .weigher(|_, v: &Rendered| u32::try_from(v.text.len() + 64).unwrap_or(u32::MAX))
                .build(),
            lookups: AtomicU64::new(0),
            renders: AtomicU64::new(0),
        }
    }

    /// The member rendered in `version`, from the cache when possible.
    pub fn get(&self, member: &Member, version: VcardVersion) -> Bytes {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let rendered = self.cache.get_with((member.etag, version), || {
            self.renders.fetch_add(1, Ordering::Relaxed);
            let card = vcard::render_without_photo(
                &member.contact_without_photo(),
                version,
                member.revision,
            );
            Rendered {
                // Copied to an exact-size buffer: the renderer's String is sized from a hint
                // and `Bytes::from(String)` would keep all of it cached.
                text: Bytes::copy_from_slice(card.text.as_bytes()),
                photo_at: card.photo_at,
            }
        });
        let Some(photo) = member.packed().photo() else {
            return rendered.text;
        };
        let Some(data) = photo.data() else {
            return rendered.text;
        };
        let photo = vcard::photo_lines(&photo.media_type, &data, version);
        let (before, after) = rendered
            .text
            .split_at_checked(rendered.photo_at)
            .unwrap_or((&rendered.text, &[]));
        let mut card = Vec::with_capacity(rendered.text.len() + photo.len());
        card.extend_from_slice(before);
        card.extend_from_slice(photo.as_bytes());
        card.extend_from_slice(after);
        Bytes::from(card)
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
                    assert_eq!(std::str::from_utf8(&card).ok(), Some(expected.as_str()));
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
