//! What the poller reports to operators: each source's last poll and each book's published
//! state, kept in memory (`AppState::status`, read by `/metrics` and `/readyz`) and written to
//! the status file (`status_file.rs`) after every poll.

use std::time::UNIX_EPOCH;

use crate::status_file::{BookStatus, HoldStatus, SourceStatus};

use super::{unix_now, Shared};

impl Shared {
    /// Updates the status of source `id` with `f`.
    pub(super) fn update_source(&self, id: &str, f: impl FnOnce(&mut SourceStatus)) {
        if let Ok(mut status) = self.app().status.lock() {
            f(status.sources.entry(id.to_string()).or_default());
        }
    }

    /// Records every book's published state and hold in the status.
    pub(super) fn record_books(&self) {
        let app = self.app();
        let Ok(mut status) = app.status.lock() else {
            return;
        };
        status.books.retain(|id, _| app.books.contains_key(id));
        status
            .sources
            .retain(|id, _| app.config.sources.iter().any(|s| &s.id == id));
        for (id, book) in &app.books {
            let state = book.state();
            status.books.insert(
                id.clone(),
                BookStatus {
                    members: state.snapshot.len(),
                    token: state.token().to_uri(),
                    published: state
                        .published
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                    hold: book.hold().as_ref().map(HoldStatus::from),
                },
            );
        }
    }

    /// Writes the status file, when there is a state directory.
    pub(super) fn write_status(&self) {
        let app = self.app();
        let Some(dir) = &app.config.store.state_dir else {
            return;
        };
        let Ok(mut status) = app.status.lock().map(|s| s.clone()) else {
            return;
        };
        status.written = unix_now();
        status.pid = Some(std::process::id());
        if let Err(e) = status.write(dir) {
            tracing::warn!("cannot write the status file in {}: {e}", dir.display());
        }
    }
}
