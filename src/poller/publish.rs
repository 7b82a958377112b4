//! The publish step: rebuilds the books fed by a source from the last good listings and applies
//! them to the store (persisted, then swapped in), recording which books the state file could
//! not take.

use crate::config::BookConfig;
use crate::store::{self, ApplyReport};

use super::{log_first, Shared};

impl Shared {
    /// Rebuilds and applies the books selected by `which` (blocking: ETags are computed from
    /// rendered cards). Books in `accept` may pass the removal guard.
    pub(super) fn publish(&self, which: impl Fn(&BookConfig) -> bool, accept: &[String]) {
        let _guard = self.publishing.lock();
        let Ok(snapshot) = self.listings.lock().map(|l| l.clone()) else {
            return;
        };
        let state = self.app();
        for book in state.config.books.iter().filter(|b| which(b)) {
            let Some(store) = state.books.get(&book.id) else {
                continue;
            };
            // A book merging several sources waits for all of them: publishing a partial book
            // would send phones a wave of additions (or removals) that is not real.
            if book.sources.iter().any(|s| !snapshot.contains_key(s)) {
                continue;
            }
            let (members, skipped) = store::book_members(&book.id, &book.sources, &snapshot);
            log_first(&skipped, |s| tracing::warn!(book = %book.id, "skipped {s}"));
            let accepted = accept.contains(&book.id);
            let applied = store.apply(
                members,
                &state.config.guard,
                accepted,
                state.state_file.as_deref(),
            );
            if let Ok(mut unsaved) = self.unsaved.lock() {
                if applied.is_err() {
                    unsaved.insert(book.id.clone());
                } else {
                    unsaved.remove(&book.id);
                }
            }
            match applied {
                Ok(ApplyReport::Unchanged { .. }) => {}
                Ok(ApplyReport::Published {
                    members,
                    changed,
                    removed,
                }) => tracing::info!(
                    book = %book.id,
                    members,
                    changed,
                    removed,
                    token = %store.state().token().to_uri(),
                    "published"
                ),
                Ok(ApplyReport::Held(hold)) => tracing::warn!(
                    book = %book.id,
                    removals = hold.removals,
                    members = hold.members_now,
                    "held: this poll would remove too much of the book; clients keep the \
                     previous cards until `cardbridge accept --book {}`",
                    book.id
                ),
                Err(error) => tracing::error!(book = %book.id, "not published: {error}"),
            }
        }
        self.record_books();
    }
}
