//! One address book: applies polls and heals to what it publishes ([`PublishedBook`]),
//! persisting each change in the state file before swapping it in atomically, and holding
//! polls the removal guard stops. Each published change is announced on the book's change
//! channel ([`Book::changes`]), which WebDAV-Push listens to.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use super::changelog::{ChangeLog, Retention};
use super::etag::Etag;
use super::member::Member;
use super::published::PublishedBook;
use super::removal_guard::{Hold, RemovalGuard, SAMPLE};
use super::snapshot::Snapshot;
use super::state_file::{StateError, StateFile};
use super::token_uri::SyncToken;

/// What applying a poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyReport {
    Unchanged {
        members: usize,
    },
    Published {
        members: usize,
        changed: usize,
        removed: usize,
    },
    Held(Hold),
}

#[derive(Debug)]
pub struct Book {
    id: String,
    state: ArcSwap<PublishedBook>,
    hold: Mutex<Option<Hold>>,
    /// Held by whoever builds the next state (a poll, a heal), so neither builds on a state
    /// the other is replacing and the state file records every change in order.
    writer: Mutex<()>,
    /// The token of every published state, latest only: listeners (push) never slow a
    /// publication down and see a burst of changes as its last state.
    changes: tokio::sync::watch::Sender<SyncToken>,
}

/// The wall clock in Unix seconds (0 before 1970): when books changed, when registrations
/// expire, when polls ran.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Book {
    /// An empty book, or the book as the state file last recorded it.
    pub fn open(
        id: &str,
        retention: Retention,
        state_file: Option<&StateFile>,
    ) -> Result<Book, StateError> {
        let restored = match state_file {
            Some(file) => file.load(id, retention)?,
            None => None,
        };
        let state = match restored {
            Some(r) => PublishedBook {
                snapshot: Arc::new(r.snapshot),
                log: r.log,
                published: UNIX_EPOCH + Duration::from_secs(r.published),
                ready: true,
                derived: Arc::default(),
            },
            None => PublishedBook {
                snapshot: Arc::new(Snapshot::default()),
                log: ChangeLog::new(retention),
                published: SystemTime::now(),
                ready: false,
                derived: Arc::default(),
            },
        };
        Ok(Book {
            id: id.to_string(),
            changes: tokio::sync::watch::Sender::new(state.token()),
            state: ArcSwap::from_pointee(state),
            hold: Mutex::new(None),
            writer: Mutex::new(()),
        })
    }

    /// What the book currently publishes: one atomic load, no lock.
    pub fn state(&self) -> Arc<PublishedBook> {
        self.state.load_full()
    }

    /// Announces every published change from now on (its new sync token).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<SyncToken> {
        self.changes.subscribe()
    }

    /// The poll currently held back by the removal guard, if any.
    pub fn hold(&self) -> Option<Hold> {
        self.hold.lock().ok().and_then(|h| h.clone())
    }

    /// Replaces the book's members with `members`. An unchanged member set changes nothing
    /// (same token, same log); a change is persisted first, then published. `accept` lets a
    /// poll through the removal guard. Callers apply from one task at a time per book.
    pub fn apply(
        &self,
        members: Vec<Member>,
        guard: &RemovalGuard,
        accept: bool,
        state_file: Option<&StateFile>,
    ) -> Result<ApplyReport, StateError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.state();
        let now = unix_now();
        // Fresh members even for unchanged cards: they share their contacts with the source
        // listing, so a book costs one copy of its contacts; cached renderings are keyed by
        // ETag and survive the swap. Unchanged content keeps its heal revision and change time.
        let next = Snapshot::from_members(members.into_iter().map(|member| {
            let before = current.snapshot.get(&member.name);
            Arc::new(member.following(before.map(Arc::as_ref), now))
        }));
        let changed = current.snapshot.changed_names(&next);
        if changed.is_empty() {
            let members = next.len();
            // Same cards, same token; swapping still lets go of contacts restored from the
            // state file in favour of the listing's, so memory holds one copy.
            self.state.store(Arc::new(PublishedBook {
                snapshot: Arc::new(next),
                log: current.log.clone(),
                published: current.published,
                ready: true,
                derived: Arc::clone(&current.derived),
            }));
            self.set_hold(None);
            return Ok(ApplyReport::Unchanged { members });
        }
        let removed = current.snapshot.removed_count(&next);
        let before = current.snapshot.len();
        if guard.trips(removed, before) && !accept {
            let since = self.hold().map_or_else(unix_now, |h| h.since);
            let hold = Hold {
                removals: removed,
                members_now: before,
                members_held: next.len(),
                since,
                sample: removed_names(&current.snapshot, &next),
            };
            self.set_hold(Some(hold.clone()));
            return Ok(ApplyReport::Held(hold));
        }
        let members = next.len();
        let changed = self.publish(&current, next, changed, now, state_file)?;
        self.set_hold(None);
        Ok(ApplyReport::Published {
            members,
            changed,
            removed,
        })
    }

    /// Heals card `name` after a refused write from a client holding its version `seen`: the
    /// card gets its next revision (a new ETag, the same content), logged like a content
    /// change, so that client's next sync brings the server's version back over its local edit
    /// or deletion. Nothing happens when the card is gone or has changed since `seen` (the
    /// client's next sync brings it anyway), or when its last heal has not been downloaded yet
    /// (nothing new to bring back): a client repeating a refused write costs one heal, not one
    /// per request. Returns whether the card was healed.
    pub fn heal(
        &self,
        name: &str,
        seen: Etag,
        state_file: Option<&StateFile>,
    ) -> Result<bool, StateError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.state();
        let Some(member) = current.snapshot.get(name) else {
            return Ok(false);
        };
        if !current.ready || member.etag != seen || member.heal_pending() {
            return Ok(false);
        }
        let Some(healed) = member.healed() else {
            return Ok(false);
        };
        let next = current.snapshot.with_member(Arc::new(healed));
        self.publish(
            &current,
            next,
            vec![name.to_string()],
            unix_now(),
            state_file,
        )?;
        Ok(true)
    }

    /// Logs `next` as the change of `changed` names from `current`, persists it, then swaps it
    /// in; returns how many names changed. Called with `writer` held.
    fn publish(
        &self,
        current: &PublishedBook,
        next: Snapshot,
        changed: Vec<String>,
        now: u64,
        state_file: Option<&StateFile>,
    ) -> Result<usize, StateError> {
        let mut log = current.log.clone();
        let entry = log.push(next.digest(), changed, now);
        if let Some(file) = state_file {
            file.save(&self.id, &next, &entry, log.first_seq())?;
        }
        let token = SyncToken(next.digest());
        self.state.store(Arc::new(PublishedBook {
            snapshot: Arc::new(next),
            log,
            published: UNIX_EPOCH + Duration::from_secs(now),
            ready: true,
            derived: Arc::default(),
        }));
        self.changes.send_replace(token);
        Ok(entry.changed.len())
    }

    fn set_hold(&self, hold: Option<Hold>) {
        if let Ok(mut slot) = self.hold.lock() {
            *slot = hold;
        }
    }
}

/// The names (`FN`) of the first [`SAMPLE`] cards of `before` that `after` removes, sorted.
fn removed_names(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut names: Vec<String> = before
        .removed(after)
        .take(SAMPLE)
        .map(|m| crate::vcard::formatted_name(&m.contact()))
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SyncToken;
    use cardbridge_connectors::Contact;

    const RETENTION: Retention = Retention {
        max_entries: 100,
        max_age: None,
    };
    const GUARD: RemovalGuard = RemovalGuard {
        share: 0.5,
        min_removals: 3,
    };

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

    fn apply(book: &Book, list: &[(&str, &str)], accept: bool) -> ApplyReport {
        book.apply(members(list), &GUARD, accept, None)
            .expect("in memory")
    }

    #[test]
    fn published_changes_are_announced_and_unchanged_polls_are_not() {
        let book = Book::open("b", RETENTION, None).expect("book");
        let mut changes = book.changes();
        apply(&book, &[("a", "A")], false);
        assert!(changes.has_changed().expect("open"));
        assert_eq!(*changes.borrow_and_update(), book.state().token());
        apply(&book, &[("a", "A")], false);
        assert!(!changes.has_changed().expect("open"));
        // A burst is seen as its last state.
        apply(&book, &[("a", "A2")], false);
        apply(&book, &[("a", "A3")], false);
        assert_eq!(*changes.borrow_and_update(), book.state().token());
    }

    #[test]
    fn unchanged_poll_keeps_token_and_changed_poll_logs_delta() {
        let book = Book::open("b", RETENTION, None).expect("book");
        assert!(matches!(
            apply(&book, &[("a", "A"), ("b", "B")], false),
            ApplyReport::Published { changed: 2, .. }
        ));
        let token = book.state().token();
        assert_eq!(
            apply(&book, &[("b", "B"), ("a", "A")], false),
            ApplyReport::Unchanged { members: 2 }
        );
        assert_eq!(book.state().token(), token);

        let report = apply(&book, &[("a", "A2"), ("c", "C")], false);
        assert_eq!(
            report,
            ApplyReport::Published {
                members: 2,
                changed: 3,
                removed: 1
            }
        );
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

    #[test]
    fn a_heal_is_one_logged_change_that_polls_keep_until_the_content_changes() {
        let book = Book::open("b", RETENTION, None).expect("book");
        apply(&book, &[("a", "A"), ("b", "B")], false);
        let token = book.state().token();
        let seen = book.state().snapshot.get("a.vcf").expect("a").etag;
        assert!(
            !book.heal("a.vcf", Etag(1), None).expect("heal"),
            "another version"
        );
        assert!(
            !book.heal("x.vcf", seen, None).expect("heal"),
            "no such card"
        );
        assert!(book.heal("a.vcf", seen, None).expect("heal"));
        let healed = book.state();
        let delta = |from: SyncToken| -> Vec<String> {
            book.state()
                .log
                .delta_since(from.0)
                .expect("known")
                .names
                .into_iter()
                .collect()
        };
        assert_eq!(delta(token), vec!["a.vcf"]);
        let etag = healed.snapshot.get("a.vcf").expect("a").etag;
        assert!(
            !book.heal("a.vcf", etag, None).expect("heal"),
            "not downloaded yet"
        );

        assert_eq!(
            apply(&book, &[("a", "A"), ("b", "B")], false),
            ApplyReport::Unchanged { members: 2 }
        );
        assert_eq!(
            book.state().token(),
            healed.token(),
            "the poll keeps the heal"
        );
        book.state().snapshot.get("a.vcf").expect("a").delivered();
        assert!(
            book.heal("a.vcf", etag, None).expect("heal"),
            "downloaded: heals again"
        );

        apply(&book, &[("a", "A2"), ("b", "B")], false);
        let a = Arc::clone(book.state().snapshot.get("a.vcf").expect("a"));
        assert_eq!(
            (a.revision, a.etag),
            (0, a.content),
            "new content starts afresh"
        );
    }

    #[test]
    fn a_book_is_ready_once_a_listing_is_applied_even_an_empty_one() {
        let book = Book::open("b", RETENTION, None).expect("book");
        assert!(!book.state().ready);
        assert_eq!(
            apply(&book, &[], false),
            ApplyReport::Unchanged { members: 0 }
        );
        assert!(book.state().ready);
    }

    #[test]
    fn mass_removals_are_held_until_accepted() {
        let book = Book::open("b", RETENTION, None).expect("book");
        let all: Vec<(String, String)> = (0..10)
            .map(|i| (format!("u{i}"), format!("N{i}")))
            .collect();
        let all: Vec<(&str, &str)> = all.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        apply(&book, &all, false);
        let token = book.state().token();
        // 2 of 10 removed: below the minimum count, published.
        assert!(matches!(
            apply(&book, &all[..8], false),
            ApplyReport::Published { removed: 2, .. }
        ));
        let token8 = book.state().token();
        assert_ne!(token8, token);
        // Down to 1 of 8: held, nothing changes for clients.
        let held = apply(&book, &all[..1], false);
        let ApplyReport::Held(hold) = held else {
            panic!("not held: {held:?}")
        };
        assert_eq!(
            (hold.removals, hold.members_now, hold.members_held),
            (7, 8, 1)
        );
        assert_eq!(hold.sample, ["N1", "N2", "N3", "N4", "N5", "N6", "N7"]);
        assert_eq!(book.state().token(), token8);
        assert!(book.hold().is_some());
        // Accepted: exactly the removals go through.
        assert!(matches!(
            apply(&book, &all[..1], true),
            ApplyReport::Published { removed: 7, .. }
        ));
        assert_eq!(book.hold(), None);
        assert_eq!(book.state().snapshot.len(), 1);
    }
}
