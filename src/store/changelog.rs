//! The ordered log of book states and the names that changed into each, from which deltas for
//! any recent sync token are answered.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// One state transition: the digest reached and the names changed to reach it.
#[derive(Debug)]
struct Entry {
    digest: u128,
    changed: Arc<[String]>,
}

/// Log entries, oldest first. Cloning is cheap (entries are shared), so every new book state
/// carries its own immutable log.
#[derive(Debug, Clone)]
pub struct ChangeLog {
    entries: VecDeque<Arc<Entry>>,
    max_entries: usize,
}

/// What changed since a token: names to report (present → 200, absent → 404).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub names: BTreeSet<String>,
}

impl ChangeLog {
    /// A log whose first state is the empty book (digest 0), so the very first listing is a
    /// delta from "nothing" like any other.
    pub fn new(max_entries: usize) -> ChangeLog {
        let mut entries = VecDeque::new();
        entries.push_back(Arc::new(Entry {
            digest: 0,
            changed: Arc::from(Vec::new()),
        }));
        ChangeLog {
            entries,
            max_entries: max_entries.max(2),
        }
    }

    /// Appends a transition, dropping the oldest entries beyond the retention bound.
    pub fn push(&mut self, digest: u128, changed: Vec<String>) {
        self.entries.push_back(Arc::new(Entry {
            digest,
            changed: Arc::from(changed),
        }));
        while self.entries.len() > self.max_entries {
            self.entries.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names changed since the state `digest`, or `None` when that state is unknown or has
    /// aged out. A state that recurs (A → B → A) is answered from its latest occurrence: both
    /// denote the same member set, so the delta is right either way.
    pub fn delta_since(&self, digest: u128) -> Option<Delta> {
        let position = self.entries.iter().rposition(|e| e.digest == digest)?;
        let mut names = BTreeSet::new();
        for entry in self.entries.iter().skip(position + 1) {
            names.extend(entry.changed.iter().cloned());
        }
        Some(Delta { names })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(delta: Option<Delta>) -> Option<Vec<String>> {
        delta.map(|d| d.names.into_iter().collect())
    }

    #[test]
    fn deltas_accumulate_from_the_token_state() {
        let mut log = ChangeLog::new(100);
        log.push(1, vec!["a".into(), "b".into()]);
        log.push(2, vec!["b".into(), "c".into()]);
        assert_eq!(
            names(log.delta_since(0)),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(
            names(log.delta_since(1)),
            Some(vec!["b".into(), "c".into()])
        );
        assert_eq!(names(log.delta_since(2)), Some(vec![]));
        assert_eq!(log.delta_since(99), None);
    }

    #[test]
    fn recurring_state_answers_from_latest_occurrence() {
        let mut log = ChangeLog::new(100);
        log.push(1, vec!["a".into()]);
        log.push(2, vec!["b".into()]);
        log.push(1, vec!["b".into()]);
        log.push(3, vec!["c".into()]);
        assert_eq!(names(log.delta_since(1)), Some(vec!["c".into()]));
    }

    #[test]
    fn old_states_age_out() {
        let mut log = ChangeLog::new(3);
        for digest in 1..=5 {
            log.push(digest, vec![format!("n{digest}")]);
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.delta_since(1), None);
        assert_eq!(
            names(log.delta_since(3)),
            Some(vec!["n4".into(), "n5".into()])
        );
    }
}
