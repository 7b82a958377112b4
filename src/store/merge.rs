//! A book's members: the latest listing of each of its sources, merged in the book's order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cardbridge_connectors::{Contact, SkippedRecord};

use super::Member;

/// The contacts of one successful poll, shared with the book members built from them.
pub type Listing = Arc<Vec<Arc<Contact>>>;

pub fn listing(contacts: Vec<Arc<Contact>>) -> Listing {
    Arc::new(contacts)
}

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
        let Some(contacts) = listings.get(source) else {
            continue;
        };
        for contact in contacts.iter() {
            let member = Member::shared(Arc::clone(contact));
            if names.insert(member.name.clone()) {
                members.push(member);
            } else {
                skipped.push(SkippedRecord {
                    location: format!("source {source:?}, uid {:?}", contact.uid),
                    reason: format!("book {book:?} already has a card with this uid"),
                });
            }
        }
    }
    (members, skipped)
}
