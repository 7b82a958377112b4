//! An immutable member set of one book, kept with its state digest (`digest.rs`).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::digest::StateDigest;
use super::member::Member;

/// A member ordered and looked up by its name, so the set needs no second copy of each name
/// as a map key (at 1,000,000 cards that copy and its larger tree entries were 60 MB).
#[derive(Debug, Clone)]
struct ByName(Arc<Member>);

impl Borrow<str> for ByName {
    fn borrow(&self) -> &str {
        &self.0.name
    }
}

impl PartialEq for ByName {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for ByName {}

impl PartialOrd for ByName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.name.cmp(&other.0.name)
    }
}

/// Members by resource name (sorted, so listings are stable) and their state digest, updated
/// as members are put in.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    members: BTreeSet<ByName>,
    digest: StateDigest,
}

impl Snapshot {
    /// The state digest of the members: what the book's sync token denotes.
    pub fn digest(&self) -> u128 {
        self.digest.value()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Member>> {
        self.members.get(name).map(|m| &m.0)
    }

    pub fn members(&self) -> impl Iterator<Item = &Arc<Member>> {
        self.members.iter().map(|m| &m.0)
    }

    /// Builds a snapshot from scratch.
    pub fn from_members(members: impl IntoIterator<Item = Arc<Member>>) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for member in members {
            snapshot.insert(member);
        }
        snapshot
    }

    /// This snapshot with `member` put in place of the member of the same name (O(members):
    /// the set of shared members is copied, no card is).
    pub fn with_member(&self, member: Arc<Member>) -> Snapshot {
        let mut next = self.clone();
        next.insert(member);
        next
    }

    fn insert(&mut self, member: Arc<Member>) {
        self.digest.add(&member);
        if let Some(old) = self.members.replace(ByName(member)) {
            self.digest.remove(&old.0);
        }
    }

    /// Names that differ between `self` (old) and `next` (new): added, changed or removed.
    pub fn changed_names(&self, next: &Snapshot) -> Vec<String> {
        let mut changed = Vec::new();
        for member in next.members() {
            match self.get(&member.name) {
                Some(old) if old.etag == member.etag => {}
                _ => changed.push(member.name.clone()),
            }
        }
        for member in self.members() {
            if next.get(&member.name).is_none() {
                changed.push(member.name.clone());
            }
        }
        changed.sort_unstable();
        changed
    }

    /// Number of members of `self` that are absent from `next`.
    pub fn removed_count(&self, next: &Snapshot) -> usize {
        self.removed(next).count()
    }

    /// Members of `self` that are absent from `next`, in name order.
    pub fn removed<'a>(&'a self, next: &'a Snapshot) -> impl Iterator<Item = &'a Arc<Member>> {
        self.members()
            .filter(|member| next.get(&member.name).is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardbridge_connectors::Contact;

    fn member(uid: &str, fn_: &str) -> Arc<Member> {
        Arc::new(Member::new(Contact {
            uid: uid.into(),
            formatted_name: fn_.into(),
            ..Contact::default()
        }))
    }

    #[test]
    fn digest_is_order_independent_and_content_bound() {
        let a = Snapshot::from_members([member("a", "A"), member("b", "B")]);
        let b = Snapshot::from_members([member("b", "B"), member("a", "A")]);
        assert_eq!(a.digest(), b.digest());
        let c = Snapshot::from_members([member("a", "A"), member("b", "B2")]);
        assert_ne!(a.digest(), c.digest());
        assert_eq!(Snapshot::default().digest(), 0);
    }

    #[test]
    fn changed_names_lists_adds_edits_and_removals() {
        let old = Snapshot::from_members([member("a", "A"), member("b", "B"), member("c", "C")]);
        let new = Snapshot::from_members([member("a", "A"), member("b", "B2"), member("d", "D")]);
        assert_eq!(old.changed_names(&new), vec!["b.vcf", "c.vcf", "d.vcf"]);
        assert_eq!(old.removed_count(&new), 1);
    }
}
