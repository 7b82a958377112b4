//! A contact kept packed: its postcard encoding, the bytes the state file stores for it.
//!
//! A `Contact` in memory is a 700-byte struct of mostly empty lists and options plus one
//! allocation per value: about 1.8 KB for a directory entry whose encoding takes 230 bytes.
//! A book holds every card at all times but renders few of them at once (and renderings are
//! cached), so members keep the encoding and decode it when a card is rendered or filtered.
//! A restart keeps the stored bytes as they are: nothing is decoded before serving.

use std::sync::Arc;

use cardbridge_connectors::Contact;

/// A contact's postcard encoding, shared (one allocation with its count) between the source
/// listing and the book members made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedContact(Arc<[u8]>);

impl PackedContact {
    pub fn pack(contact: &Contact) -> PackedContact {
        // Encoding plain data into memory cannot fail; an empty encoding would decode to an
        // error, reported when the card is rendered.
        PackedContact(Arc::from(postcard::to_stdvec(contact).unwrap_or_default()))
    }

    /// Bytes as the state file stored them, checked when the card is first decoded.
    pub fn from_stored(bytes: &[u8]) -> PackedContact {
        PackedContact(Arc::from(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The contact; an encoding that does not decode (damage the state file's checksums did
    /// not catch) is an error naming why.
    pub fn unpack(&self) -> Result<Contact, postcard::Error> {
        postcard::from_bytes(&self.0)
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
            ..Contact::default()
        };
        let packed = PackedContact::pack(&contact);
        assert_eq!(packed.unpack().ok(), Some(contact));
        assert!(PackedContact::from_stored(&[0xff, 0xff]).unpack().is_err());
    }
}
