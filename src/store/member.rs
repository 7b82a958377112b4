//! One card of a book: its contact, content-hash ETag and URL-safe name.

use std::sync::Arc;

use cardbridge_connectors::Contact;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use crate::vcard::{self, VcardVersion};

/// Strong content hash of a card (xxh3-128 of its canonical rendering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Etag(pub u128);

impl Etag {
    /// The quoted form used in `ETag` headers and `DAV:getetag`.
    pub fn quoted(&self) -> String {
        format!("\"{:032x}\"", self.0)
    }

    /// Computes the ETag of a contact. The canonical form is the 4.0 rendering prefixed with
    /// the renderer revision, so a renderer change that alters output also changes ETags and
    /// clients re-download, while the same data gives the same ETag on every replica.
    pub fn of(contact: &Contact) -> Etag {
        let mut hasher = Xxh3::new();
        hasher.update(&vcard::RENDER_REVISION.to_le_bytes());
        hasher.update(vcard::render(contact, VcardVersion::V4).as_bytes());
        Etag(hasher.digest128())
    }
}

/// A card as served: the contact plus everything derived from it once, at poll time.
#[derive(Debug)]
pub struct Member {
    /// Resource name within the book, including `.vcf`.
    pub name: String,
    pub etag: Etag,
    pub contact: Arc<Contact>,
}

impl Member {
    pub fn new(contact: Contact) -> Member {
        Member::shared(Arc::new(contact))
    }

    /// A member sharing the contact with the source listing it came from (one copy in memory).
    pub fn shared(contact: Arc<Contact>) -> Member {
        Member {
            name: card_name(&contact.uid),
            etag: Etag::of(&contact),
            contact,
        }
    }

    /// This member's contribution to the book's state digest.
    pub fn digest_term(&self) -> u128 {
        let mut buf = Vec::with_capacity(self.name.len() + 17);
        buf.extend_from_slice(self.name.as_bytes());
        buf.push(0);
        buf.extend_from_slice(&self.etag.0.to_le_bytes());
        xxh3_128(&buf)
    }
}

/// The resource name of a card: the uid itself when it is made of `[A-Za-z0-9._-]` (what
/// vdirsyncer and every other client handle without re-encoding), else a hash of the uid.
pub fn card_name(uid: &str) -> String {
    let safe = !uid.is_empty()
        && uid.len() <= 128
        && !uid.starts_with('.')
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if safe {
        format!("{uid}.vcf")
    } else {
        format!("u-{:032x}.vcf", xxh3_128(uid.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_names_are_url_safe_and_stable() {
        assert_eq!(card_name("abc-123_x.y"), "abc-123_x.y.vcf");
        let odd = card_name("people/c123 ü");
        assert!(odd.starts_with("u-") && odd.ends_with(".vcf"));
        assert!(odd[..odd.len() - 4]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_eq!(odd, card_name("people/c123 ü"));
        assert_ne!(card_name(".."), "...vcf");
    }

    #[test]
    fn etag_follows_content() {
        let mut a = Contact {
            uid: "a".into(),
            formatted_name: "Ann".into(),
            ..Contact::default()
        };
        let first = Etag::of(&a);
        assert_eq!(first, Etag::of(&a.clone()));
        a.formatted_name = "Anna".into();
        assert_ne!(first, Etag::of(&a));
        assert_eq!(first.quoted().len(), 34);
    }
}
