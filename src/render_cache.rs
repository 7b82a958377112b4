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
use std::sync::Arc;

use bytes::Bytes;

use crate::store::{Etag, Member};
use crate::vcard::{self, LineEnd, PhotoLines, VcardVersion};

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

    /// The member rendered in `version`, from the cache when possible; its photo, if any, is
    /// encoded where the card is written ([`Card`]).
    pub fn get(&self, member: &Member, version: VcardVersion) -> Card {
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
