//! The ordered log of book states and the names that changed into each, from which deltas for
//! any retained sync token are answered.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// One state transition: the digest reached and the names changed to reach it.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the book's log (persistence key).
    pub seq: u64,
    /// Unix seconds when the state was published (age-based retention).
    pub at: u64,
    pub digest: u128,
    pub changed: Arc<[String]>,
}

/// How much history a log keeps; tokens older than that get a full resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_entries: usize,
    pub max_age: Option<Duration>,
}

/// Log entries, oldest first. Cloning is cheap (entries are shared), so every new book state
/// carries its own immutable log.
#[derive(Debug, Clone)]
pub struct ChangeLog {
    entries: VecDeque<Arc<Entry>>,
    retention: Retention,
}

/// What changed since a token: names to report (present → 200, absent → 404).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub names: BTreeSet<String>,
}

impl ChangeLog {
    /// A log whose first state is the empty book (digest 0), so the very first listing is a
    /// delta from "nothing" like any other.
    pub fn new(retention: Retention) -> ChangeLog {
        ChangeLog::from_entries(
            vec![Entry {
                seq: 0,
                at: 0,
                digest: 0,
                changed: Arc::from(Vec::new()),
            }],
            retention,
        )
    }

    /// A log restored from storage (oldest first; must not be empty).
    pub fn from_entries(entries: Vec<Entry>, retention: Retention) -> ChangeLog {
        ChangeLog {
            entries: entries.into_iter().map(Arc::new).collect(),
            retention: Retention {
                max_entries: retention.max_entries.max(2),
                ..retention
            },
        }
    }

    /// Appends a transition published at `now` (unix seconds) and drops what falls out of the
    /// retention bounds (the newest entry always stays). Returns the new entry.
    pub fn push(&mut self, digest: u128, changed: Vec<String>, now: u64) -> Arc<Entry> {
        let seq = self.entries.back().map_or(0, |e| e.seq + 1);
        let entry = Arc::new(Entry {
            seq,
            at: now,
            digest,
            changed: Arc::from(changed),
        });
        self.entries.push_back(Arc::clone(&entry));
        self.prune(now);
        entry
    }

    fn prune(&mut self, now: u64) {
        while self.entries.len() > self.retention.max_entries {
            self.entries.pop_front();
        }
        if let Some(max_age) = self.retention.max_age {
            let oldest_allowed = now.saturating_sub(max_age.as_secs());
            while self.entries.len() > 1
                && self.entries.front().is_some_and(|e| e.at < oldest_allowed)
            {
                self.entries.pop_front();
            }
        }
    }

    /// The sequence number of the oldest retained entry.
    pub fn first_seq(&self) -> u64 {
        self.entries.front().map_or(0, |e| e.seq)
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

    fn log(max_entries: usize) -> ChangeLog {
        ChangeLog::new(Retention {
            max_entries,
            max_age: None,
        })
    }

    #[test]
    fn deltas_accumulate_from_the_token_state() {
        let mut log = log(100);
        log.push(1, vec!["a".into(), "b".into()], 10);
        log.push(2, vec!["b".into(), "c".into()], 11);
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
        let mut log = log(100);
        log.push(1, vec!["a".into()], 1);
        log.push(2, vec!["b".into()], 2);
        log.push(1, vec!["b".into()], 3);
        log.push(3, vec!["c".into()], 4);
        assert_eq!(names(log.delta_since(1)), Some(vec!["c".into()]));
    }

    #[test]
    fn old_states_age_out_by_count_and_by_age() {
        let mut log = log(3);
        for digest in 1..=5 {
            log.push(digest, vec![format!("n{digest}")], digest as u64);
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.first_seq(), 3);
        assert_eq!(log.delta_since(1), None);
        assert_eq!(
            names(log.delta_since(3)),
            Some(vec!["n4".into(), "n5".into()])
        );

        let mut aged = ChangeLog::new(Retention {
            max_entries: 100,
            max_age: Some(Duration::from_secs(60)),
        });
        aged.push(1, vec!["a".into()], 1_000);
        aged.push(2, vec!["b".into()], 1_050);
        aged.push(3, vec!["c".into()], 1_100);
        assert_eq!(aged.delta_since(1), None, "older than 60 s");
        assert_eq!(names(aged.delta_since(2)), Some(vec!["c".into()]));
    }
}
