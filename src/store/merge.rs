//! A book's members: the latest listing of each of its sources, merged in the book's order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cardbridge_connectors::{Contact, SkippedRecord};

use super::etag::Etag;
use super::member::card_name;
use super::packed::PackedContact;
use super::Member;

/// One contact of a listing: packed, with its content hash computed once, so a publish (of
/// this source or of another source of the same book) neither renders nor copies it again.
#[derive(Debug)]
pub struct Listed {
    pub uid: Box<str>,
    pub content: Etag,
    pub packed: PackedContact,
}

impl Listed {
    /// Packs a contact (blocking: it is rendered for its content hash).
    pub fn of(contact: &Contact) -> Listed {
        Listed {
            uid: contact.uid.as_str().into(),
            content: Etag::of(contact),
            packed: PackedContact::pack(contact),
        }
    }
}

/// The contacts of one successful poll, shared with the book members built from them.
pub type Listing = Arc<Vec<Listed>>;

/// The members of book `book` from the latest listing of each of its `sources`, in order
/// (sources without a listing yet contribute nothing). A uid already provided by an earlier
/// source of the book is skipped and reported.
pub fn book_members(
    book: &str,
    sources: &[String],
    listings: &HashMap<String, Listing>,
) -> (Vec<Member>, Vec<SkippedRecord>) {
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    let mut names = HashSet::new();
    for source in sources {
        let Some(listed) = listings.get(source) else {
            continue;
        };
        members.reserve(listed.len());
        for card in listed.iter() {
            let name = card_name(&card.uid);
            if names.insert(name.clone()) {
                members.push(Member::restored(
                    name,
                    card.content,
                    0,
                    0,
                    card.packed.clone(),
                ));
            } else {
                skipped.push(SkippedRecord {
                    location: format!("source {source:?}, uid {:?}", card.uid),
                    reason: format!("book {book:?} already has a card with this uid"),
                });
            }
        }
    }
    (members, skipped)
}
