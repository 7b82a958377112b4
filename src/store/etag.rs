//! ETags: a hash of a card's content, so the same data gives the same ETag after a restart
//! and on every replica, with no shared database.
//!
//! The ETag served is that content hash folded with the card's heal revision (see
//! `Book::heal`); a card never healed is served its content hash itself.

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

    /// The served ETag of this content at `revision` (served as `vcard::render_revised`): the
    /// content hash itself at revision 0, so cards never healed keep the ETags they always
    /// had.
    pub fn folded(self, revision: u32) -> Etag {
        if revision == 0 {
            return self;
        }
        let mut buf = [0u8; 20];
        buf[..16].copy_from_slice(&self.0.to_le_bytes());
        buf[16..].copy_from_slice(&revision.to_le_bytes());
        Etag(xxh3_128(&buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
