//! One card of a book: its contact (packed, `packed.rs`), served ETag (the content hash of
//! `etag.rs` folded with a heal revision), change time and URL-safe name.

use std::sync::atomic::{AtomicBool, Ordering};

use cardbridge_connectors::Contact;
use xxhash_rust::xxh3::xxh3_128;

use super::etag::Etag;
use super::packed::PackedContact;

/// A card as served: the contact plus everything derived from it once, at poll time.
#[derive(Debug)]
pub struct Member {
    /// Resource name within the book, including `.vcf`.
    pub name: String,
    /// The hash of the card's content ([`Etag::of`]): what a source change moves.
    pub content: Etag,
    /// How often a refused write has healed this card since its content last changed.
    pub revision: u32,
    /// The ETag served: the content hash folded with the revision.
    pub etag: Etag,
    /// Unix seconds when the content last changed here (`Last-Modified`); a heal keeps it.
    pub changed: u64,
    /// Healed, and nobody has downloaded the healed version since: a further refused write
    /// brings nothing new back, so it does not heal again (memory only; see `Book::heal`).
    heal_pending: AtomicBool,
    packed: PackedContact,
}

impl Member {
    pub fn new(contact: Contact) -> Member {
        let content = Etag::of(&contact);
        let name = card_name(&contact.uid);
        Member::restored(name, content, 0, 0, PackedContact::pack(&contact))
    }

    /// The card's contact, decoded from its packed form (a copy the caller owns). Bytes that
    /// do not decode, which only damage to the state file the checksums missed could leave,
    /// give an empty contact and an error in the log naming the card.
    pub fn contact(&self) -> Contact {
        self.packed.unpack().unwrap_or_else(|e| {
            tracing::error!(card = %self.name, "stored card does not decode: {e}");
            Contact::default()
        })
    }

    /// The card's contact without its photo (see [`Member::contact`]): what its text is
    /// rendered from, the photo being read only when the card is sent.
    pub fn contact_without_photo(&self) -> Contact {
        self.packed.unpack_without_photo().unwrap_or_else(|e| {
            tracing::error!(card = %self.name, "stored card does not decode: {e}");
            Contact::default()
        })
    }

    /// The packed contact, shared with the listing it came from.
    pub fn packed(&self) -> &PackedContact {
        &self.packed
    }

    /// A member as the state file recorded it.
    pub fn restored(
        name: String,
        content: Etag,
        revision: u32,
        changed: u64,
        packed: PackedContact,
    ) -> Member {
        Member {
            name,
            content,
            revision,
            etag: content.folded(revision),
            changed,
            heal_pending: AtomicBool::new(false),
            packed,
        }
    }

    /// This member as a new listing brings it, given what the book held under its name
    /// before: unchanged content keeps its revision, ETag and change time; new content
    /// starts afresh at `now`.
    pub fn following(mut self, before: Option<&Member>, now: u64) -> Member {
        match before {
            Some(old) if old.content == self.content => {
                self.revision = old.revision;
                self.etag = old.etag;
                self.changed = old.changed;
                self.heal_pending = AtomicBool::new(old.heal_pending());
            }
            _ => self.changed = now,
        }
        self
    }

    /// The same card under the next revision (a new ETag for the same content), or `None`
    /// when the revision counter is exhausted.
    pub fn healed(&self) -> Option<Member> {
        let revision = self.revision.checked_add(1)?;
        let mut member = Member::restored(
            self.name.clone(),
            self.content,
            revision,
            self.changed,
            self.packed.clone(),
        );
        member.heal_pending = AtomicBool::new(true);
        Some(member)
    }

    /// Whether this member was healed and not downloaded since.
    pub fn heal_pending(&self) -> bool {
        self.heal_pending.load(Ordering::Relaxed)
    }

    /// Records that a client holds this version (it was sent, or confirmed by a 304).
    pub fn delivered(&self) {
        self.heal_pending.store(false, Ordering::Relaxed);
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
    fn a_heal_changes_the_etag_and_a_listing_keeps_it_until_the_content_changes() {
        let contact = Contact {
            uid: "a".into(),
            formatted_name: "Ann".into(),
            ..Contact::default()
        };
        let original = Member::new(contact.clone());
        assert_eq!(
            original.etag, original.content,
            "never healed: the content hash"
        );
        let healed = original.healed().expect("revision 1");
        assert_ne!(healed.etag, original.etag);
        assert_eq!(
            healed.etag,
            original.healed().expect("again").etag,
            "the same heal gives the same ETag (replicas)"
        );
        assert!(healed.heal_pending());
        let relisted = Member::new(contact.clone()).following(Some(&healed), 99);
        assert_eq!(
            (relisted.etag, relisted.changed),
            (healed.etag, healed.changed)
        );
        assert!(relisted.heal_pending());
        relisted.delivered();
        assert!(!relisted.heal_pending());
        let edited = Member::new(Contact {
            formatted_name: "Anna".into(),
            ..contact
        })
        .following(Some(&relisted), 99);
        assert_eq!((edited.revision, edited.changed), (0, 99));
        assert_eq!(edited.etag, edited.content);
    }
}
