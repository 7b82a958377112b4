//! A contact kept packed: its postcard encoding, the bytes the state file stores for it, with
//! its photo kept apart.
//!
//! A `Contact` in memory is a 700-byte struct of mostly empty lists and options plus one
//! allocation per value: about 1.8 KB for a directory entry whose encoding takes 230 bytes.
//! A book holds every card at all times but renders few of them at once (and renderings are
//! cached), so members keep the encoding and decode it when a card is rendered or filtered.
//! A restart keeps the stored bytes as they are: nothing is decoded before serving.
//!
//! A photo (kilobytes, against a few hundred bytes for the rest of a card) is not in the
//! encoding: the packed contact refers to it by content hash ([`PhotoRef`]). Photos the
//! state file stores are read from it when a card is sent (`photos.rs`), so a restart reads
//! only the cards' text.

use std::sync::Arc;

use cardbridge_connectors::{Contact, Photo};
use xxhash_rust::xxh3::xxh3_128;

use super::photos::PhotoStore;

/// A contact's postcard encoding without its photo, and its photo by reference; both shared
/// (one allocation with its count) between the source listing and the book members made from
/// it.
#[derive(Debug, Clone)]
pub struct PackedContact {
    bytes: Arc<[u8]>,
    photo: Option<PhotoRef>,
}

/// A card's photo: its content hash (the key the state file stores it under), its media type
/// and where its bytes are.
#[derive(Debug, Clone)]
pub struct PhotoRef {
    pub hash: u128,
    pub media_type: Arc<str>,
    bytes: PhotoBytes,
}

#[derive(Clone)]
enum PhotoBytes {
    /// In memory: as a source listed it, or with no state file to keep it.
    Held(Arc<[u8]>),
    /// In the state file, read (through a bounded cache) when the card is sent.
    Stored(Arc<PhotoStore>),
}

impl std::fmt::Debug for PhotoBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhotoBytes::Held(bytes) => write!(f, "Held({} bytes)", bytes.len()),
            PhotoBytes::Stored(_) => f.write_str("Stored"),
        }
    }
}

impl PhotoRef {
    /// The reference to a photo the state file stores under `hash`.
    pub fn stored(hash: u128, media_type: &str, store: Arc<PhotoStore>) -> PhotoRef {
        PhotoRef {
            hash,
            media_type: Arc::from(media_type),
            bytes: PhotoBytes::Stored(store),
        }
    }

    fn held(photo: &Photo) -> PhotoRef {
        PhotoRef {
            hash: xxh3_128(&photo.data),
            media_type: Arc::from(photo.media_type.as_str()),
            bytes: PhotoBytes::Held(Arc::from(photo.data.as_slice())),
        }
    }

    /// The photo's bytes; `None` (logged by the store) when the state file no longer gives
    /// the bytes this hash names.
    pub fn data(&self) -> Option<Arc<[u8]>> {
        match &self.bytes {
            PhotoBytes::Held(bytes) => Some(Arc::clone(bytes)),
            PhotoBytes::Stored(store) => store.get(self.hash),
        }
    }
}

impl PartialEq for PackedContact {
    fn eq(&self, other: &PackedContact) -> bool {
        self.bytes == other.bytes
            && self.photo.as_ref().map(|p| (p.hash, &p.media_type))
                == other.photo.as_ref().map(|p| (p.hash, &p.media_type))
    }
}

impl Eq for PackedContact {}

impl PackedContact {
    pub fn pack(contact: &Contact) -> PackedContact {
        let photo = contact.photo.as_ref().map(PhotoRef::held);
        // Encoding plain data into memory cannot fail; an empty encoding would decode to an
        // error, reported when the card is rendered.
        let bytes = if photo.is_some() {
            let without = Contact {
                photo: None,
                ..contact.clone()
            };
            postcard::to_stdvec(&without)
        } else {
            postcard::to_stdvec(contact)
        };
        PackedContact {
            bytes: Arc::from(bytes.unwrap_or_default()),
            photo,
        }
    }

    /// Bytes as the state file stored them (checked when the card is first decoded), with
    /// the photo it recorded for them.
    pub fn from_stored(bytes: &[u8], photo: Option<PhotoRef>) -> PackedContact {
        PackedContact {
            bytes: Arc::from(bytes),
            photo,
        }
    }

    /// The encoding of the contact without its photo.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn photo(&self) -> Option<&PhotoRef> {
        self.photo.as_ref()
    }

    /// The contact without its photo (what a card's text is rendered from); an encoding that
    /// does not decode (damage the state file's checksums did not catch) is an error naming
    /// why.
    pub fn unpack_without_photo(&self) -> Result<Contact, postcard::Error> {
        postcard::from_bytes(&self.bytes)
    }

    /// The whole contact, its photo included when its bytes can be had.
    pub fn unpack(&self) -> Result<Contact, postcard::Error> {
        let mut contact = self.unpack_without_photo()?;
        contact.photo = self.photo.as_ref().and_then(|photo| {
            Some(Photo {
                media_type: photo.media_type.to_string(),
                data: photo.data()?.to_vec(),
            })
        });
        Ok(contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardbridge_connectors::{Email, Name};

    #[test]
    fn a_packed_contact_unpacks_to_the_same_contact() {
        let contact = Contact {
            uid: "a".into(),
            name: Name {
                given: vec!["Ann".into()],
                ..Name::default()
            },
            emails: vec![Email {
                address: "ann@example.com".into(),
                label: None,
                preferred: true,
            }],
            photo: Some(Photo {
                media_type: "image/jpeg".into(),
                data: vec![0xff, 0xd8, 0xff, 0xe0],
            }),
            ..Contact::default()
        };
        let packed = PackedContact::pack(&contact);
        assert_eq!(packed.unpack().ok(), Some(contact.clone()));
        assert_eq!(
            packed.unpack_without_photo().ok(),
            Some(Contact {
                photo: None,
                ..contact
            })
        );
        assert!(PackedContact::from_stored(&[0xff, 0xff], None)
            .unpack()
            .is_err());
    }
}
