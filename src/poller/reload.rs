//! Reloading the configuration on SIGHUP (`systemctl reload`, `cardbridge reload`).
//!
//! The file is loaded and checked as `cardbridge check` checks it, and every source it names is
//! built, before anything changes: a bad file is refused whole and the running configuration
//! stays. Then the new state is swapped in at once. Books that still exist keep their snapshot,
//! ETags and tokens; sources whose table is unchanged keep polling undisturbed; a changed source
//! is restarted but keeps its last good listing until its first poll succeeds, so a reload
//! never empties a book.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{signal, SignalKind};

use super::Shared;
use crate::config::Config;
use crate::source_setup;
use crate::status_file::ReloadStatus;

impl Shared {
    /// Reloads the configuration at every SIGHUP.
    pub(super) async fn watch_reloads(self: Arc<Self>) {
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP, reloads are off: {e}");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let shared = Arc::clone(&self);
            // Loading reads files and builds sources: kept off the async workers.
            let result = match tokio::task::spawn_blocking(move || shared.reload()).await {
                Ok(result) => result,
                Err(e) => Err(format!("the reload stopped: {e}")),
            };
            if let Err(e) = &result {
                tracing::error!("reload refused, the running configuration stays: {e}");
            }
            let at_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            if let Ok(mut status) = self.app().status.lock() {
                status.reload = Some(ReloadStatus {
                    at_ms,
                    error: result.err(),
                });
            }
            self.write_status();
        }
    }

    /// Loads the configuration file again and applies it.
    fn reload(self: &Arc<Self>) -> Result<(), String> {
        let current = self.app();
        let config = Config::load(&current.config.path).map_err(|e| e.to_string())?;
        let running_keys: Vec<(String, String)> = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(id, r)| (id.clone(), r.key.clone()))
            .collect();
        let unchanged = |id: &str, key: &str| running_keys.iter().any(|(i, k)| i == id && k == key);
        // Every changed or new source is built before anything is swapped.
        let mut restarted = Vec::new();
        for source in &config.sources {
            if !unchanged(&source.id, &source.key) {
                restarted.push((source.clone(), source_setup::build(source)?));
            }
        }
        let next = Arc::new(current.reconfigured(config)?);
        let kept_sources: HashSet<&str> =
            next.config.sources.iter().map(|s| s.id.as_str()).collect();
        let changed_books: Vec<String> = next
            .config
            .books
            .iter()
            .filter(|b| {
                current
                    .config
                    .book(&b.id)
                    .is_none_or(|old| old.sources != b.sources)
            })
            .map(|b| b.id.clone())
            .collect();
        self.live.store(Arc::clone(&next));
        {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            running.retain(|id, r| {
                let keep = kept_sources.contains(id.as_str());
                if !keep {
                    r.task.abort();
                }
                keep
            });
        }
        if let Ok(mut listings) = self.listings.lock() {
            listings.retain(|id, _| kept_sources.contains(id.as_str()));
        }
        let restarted_ids: Vec<String> = restarted.iter().map(|(c, _)| c.id.clone()).collect();
        for (source, built) in restarted {
            self.spawn_source(source, built);
        }
        // Books whose list of sources changed are rebuilt from the listings there are now.
        self.publish(|b| changed_books.contains(&b.id), &[]);
        tracing::info!(
            books = next.config.books.len(),
            sources_restarted = ?restarted_ids,
            books_rebuilt = ?changed_books,
            "configuration reloaded"
        );
        Ok(())
    }
}
