//! The state digest: what a book's sync token (and `CS:getctag`) denotes.
//!
//! Each member contributes a term, a hash of its name and served ETag; the digest is the
//! wrapping sum of the terms. Both are pure functions of content, so two replicas (or one
//! replica after a restart) holding the same cards reach the same digest independently, and
//! any of them understands a token another issued. A sum does not depend on the order members
//! were added in and updates in O(changes): add the new member's term, subtract the old one's.
//! The token's URI form is in `token_uri.rs`.

use xxhash_rust::xxh3::xxh3_128;

use super::member::Member;

/// A member's contribution to its book's state digest.
pub fn member_term(member: &Member) -> u128 {
    let mut buf = Vec::with_capacity(member.name.len() + 17);
    buf.extend_from_slice(member.name.as_bytes());
    buf.push(0);
    buf.extend_from_slice(&member.etag.0.to_le_bytes());
    xxh3_128(&buf)
}

/// The order-independent sum of the member terms of a set of members (0 for no members).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StateDigest(u128);

impl StateDigest {
    pub fn value(self) -> u128 {
        self.0
    }

    /// The digest with `member` added.
    pub fn add(&mut self, member: &Member) {
        self.0 = self.0.wrapping_add(member_term(member));
    }

    /// The digest with `member` taken out.
    pub fn remove(&mut self, member: &Member) {
        self.0 = self.0.wrapping_sub(member_term(member));
    }
}
