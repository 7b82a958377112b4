//! An immutable member set of one book, kept with its state digest (`digest.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::digest::StateDigest;
use super::member::Member;

/// Members by resource name (sorted, so listings are stable) and their state digest, updated
/// as members are put in.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    members: BTreeMap<String, Arc<Member>>,
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
        self.members.get(name)
    }

    pub fn members(&self) -> impl Iterator<Item = &Arc<Member>> {
        self.members.values()
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
    /// the map of shared members is copied, no card is).
    pub fn with_member(&self, member: Arc<Member>) -> Snapshot {
        let mut next = self.clone();
        next.insert(member);
        next
    }

    fn insert(&mut self, member: Arc<Member>) {
        self.digest.add(&member);
        if let Some(old) = self.members.insert(member.name.clone(), member) {
            self.digest.remove(&old);
        }
    }

    /// Names that differ between `self` (old) and `next` (new): added, changed or removed.
    pub fn changed_names(&self, next: &Snapshot) -> Vec<String> {
        let mut changed = Vec::new();
        for (name, member) in &next.members {
            match self.members.get(name) {
                Some(old) if old.etag == member.etag => {}
                _ => changed.push(name.clone()),
            }
        }
        for name in self.members.keys() {
            if !next.members.contains_key(name) {
                changed.push(name.clone());
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
        self.members
            .iter()
            .filter(|(name, _)| !next.members.contains_key(*name))
            .map(|(_, member)| member)
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
