//! One address book's current state, swapped atomically when a poll changes it.

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::changelog::ChangeLog;
use super::member::Member;
use super::snapshot::Snapshot;
use super::token::SyncToken;

/// Everything a request needs, immutable once published.
#[derive(Debug)]
pub struct BookState {
    pub snapshot: Arc<Snapshot>,
    pub log: ChangeLog,
    /// When the current snapshot was published (for `getlastmodified`).
    pub published: SystemTime,
}

impl BookState {
    pub fn token(&self) -> SyncToken {
        SyncToken(self.snapshot.digest())
    }
}

/// The outcome of applying a poll to a book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub members: usize,
    pub changed: usize,
    pub removed: usize,
}

/// A book: an atomically replaceable [`BookState`].
#[derive(Debug)]
pub struct Book {
    state: ArcSwap<BookState>,
}

impl Book {
    pub fn new(log_retention: usize) -> Book {
        Book {
            state: ArcSwap::from_pointee(BookState {
                snapshot: Arc::new(Snapshot::default()),
                log: ChangeLog::new(log_retention),
                published: SystemTime::now(),
            }),
        }
    }

    /// The current state: one atomic load, no lock.
    pub fn state(&self) -> Arc<BookState> {
        self.state.load_full()
    }

    /// Replaces the book's members with `members`. An unchanged member set changes nothing
    /// (same token, same log). Callers apply from one task per book, so no update is lost.
    pub fn apply(&self, members: Vec<Member>) -> ApplyReport {
        let current = self.state();
        let reused = members.into_iter().map(|member| {
            match current.snapshot.get(&member.name) {
                // Keep the published Arc for unchanged cards: no churn for cached renderings.
                Some(old) if old.etag == member.etag => Arc::clone(old),
                _ => Arc::new(member),
            }
        });
        let next = Snapshot::from_members(reused);
        let changed = current.snapshot.changed_names(&next);
        let report = ApplyReport {
            members: next.len(),
            changed: changed.len(),
            removed: current.snapshot.removed_count(&next),
        };
        if changed.is_empty() {
            return report;
        }
        let mut log = current.log.clone();
        log.push(next.digest(), changed);
        self.state.store(Arc::new(BookState {
            snapshot: Arc::new(next),
            log,
            published: SystemTime::now(),
        }));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardbridge_connectors::Contact;

    fn members(list: &[(&str, &str)]) -> Vec<Member> {
        list.iter()
            .map(|(uid, name)| {
                Member::new(Contact {
                    uid: (*uid).into(),
                    formatted_name: (*name).into(),
                    ..Contact::default()
                })
            })
            .collect()
    }

    #[test]
    fn unchanged_poll_keeps_token_and_changed_poll_logs_delta() {
        let book = Book::new(100);
        let first = book.apply(members(&[("a", "A"), ("b", "B")]));
        assert_eq!(first.changed, 2);
        let token = book.state().token();
        assert_eq!(book.apply(members(&[("b", "B"), ("a", "A")])).changed, 0);
        assert_eq!(book.state().token(), token);

        let report = book.apply(members(&[("a", "A2"), ("c", "C")]));
        assert_eq!((report.changed, report.removed), (3, 1));
        let state = book.state();
        assert_ne!(state.token(), token);
        let delta = state
            .log
            .delta_since(token.0)
            .map(|d| d.names.into_iter().collect::<Vec<_>>());
        assert_eq!(
            delta,
            Some(vec!["a.vcf".into(), "b.vcf".into(), "c.vcf".into()])
        );
    }
}
