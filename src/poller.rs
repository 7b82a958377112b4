//! Polls every source on its own schedule and publishes changed books. Requests never wait
//! on this: books are swapped atomically when a poll has been applied.
//!
//! A failed poll changes nothing (clients keep the last good data) and is retried with
//! exponential backoff and jitter; a source whose cheap fingerprint (e.g. file mtime)
//! changes is re-polled at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cardbridge_connectors::{Contact, Source};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::time::Instant;

use crate::config::SourceConfig;
use crate::sources;
use crate::state::AppState;

/// Longest wait between retries of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub struct Poller {
    state: Arc<AppState>,
    sources: Vec<sources::Configured>,
    /// Last good listing per source id.
    listings: Arc<Mutex<HashMap<String, Arc<Vec<Contact>>>>>,
}

impl Poller {
    pub fn new(state: Arc<AppState>) -> Result<Poller, String> {
        let sources = sources::build_all(&state.config)?;
        Ok(Poller {
            state,
            sources,
            listings: Arc::default(),
        })
    }

    /// One poll of one source; on success its listing replaces the previous one and every book
    /// fed by it is rebuilt.
    async fn poll_once(
        &self,
        config: &SourceConfig,
        source: &Arc<dyn Source>,
    ) -> Result<(), String> {
        let outcome = source.poll().await.map_err(|e| e.to_string())?;
        for skipped in &outcome.skipped {
            tracing::warn!(source = %config.id, "skipped {skipped}");
        }
        let count = outcome.contacts.len();
        if let Ok(mut listings) = self.listings.lock() {
            listings.insert(config.id.clone(), Arc::new(outcome.contacts));
        }
        tracing::info!(source = %config.id, contacts = count, skipped = outcome.skipped.len(), "polled");
        let state = Arc::clone(&self.state);
        let listings = Arc::clone(&self.listings);
        let source_id = config.id.clone();
        tokio::task::spawn_blocking(move || publish_books(&state, &listings, &source_id))
            .await
            .map_err(|e| format!("publishing failed: {e}"))
    }

    async fn run_source(&self, config: SourceConfig, source: Arc<dyn Source>) {
        let mut failures: u32 = 0;
        let mut next_due = Instant::now();
        let mut last_fingerprint: Option<String> = None;
        loop {
            let fingerprint = source.fingerprint().await;
            let changed = fingerprint.is_some() && fingerprint != last_fingerprint;
            if changed || Instant::now() >= next_due {
                last_fingerprint = fingerprint;
                match self.poll_once(&config, &source).await {
                    Ok(()) => {
                        failures = 0;
                        next_due = Instant::now() + jittered(config.poll_interval);
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        let wait = backoff(failures);
                        tracing::error!(
                            source = %config.id,
                            retry_in_s = wait.as_secs(),
                            "poll failed, keeping the last good data: {error}"
                        );
                        next_due = Instant::now() + wait;
                    }
                }
            }
            let until_due = next_due.saturating_duration_since(Instant::now());
            tokio::time::sleep(until_due.min(config.check_interval)).await;
        }
    }
}

/// Rebuilds and applies every book fed by `source_id`. Runs on a blocking thread (ETags are
/// computed from rendered cards), one rebuild at a time so no update is lost.
fn publish_books(
    state: &AppState,
    listings: &Mutex<HashMap<String, Arc<Vec<Contact>>>>,
    source_id: &str,
) {
    static PUBLISH: Mutex<()> = Mutex::new(());
    let _guard = PUBLISH.lock();
    let Ok(snapshot) = listings.lock().map(|l| l.clone()) else {
        return;
    };
    for book in state
        .config
        .books
        .iter()
        .filter(|b| b.sources.iter().any(|s| s == source_id))
    {
        let Some(store) = state.books.get(&book.id) else {
            continue;
        };
        // A book merging several sources waits for all of them: publishing a partial book
        // would send phones a wave of additions (or removals) that is not real.
        if book.sources.iter().any(|s| !snapshot.contains_key(s)) {
            continue;
        }
        let (members, skipped) = sources::book_members(book, &snapshot);
        for s in &skipped {
            tracing::warn!(book = %book.id, "skipped {s}");
        }
        let report = store.apply(members);
        if report.changed > 0 {
            tracing::info!(
                book = %book.id,
                members = report.members,
                changed = report.changed,
                removed = report.removed,
                token = %store.state().token().to_uri(),
                "published"
            );
        }
    }
}

/// 2^failures seconds, capped, with up to 50% jitter so replicas do not retry in step.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(16)).min(MAX_BACKOFF);
    base.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// The poll interval with ±10% jitter.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() * 0.2)
}

#[async_trait]
impl BackgroundService for Poller {
    /// One task per source, so a slow source never delays another.
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let tasks: Vec<_> = self
            .sources
            .iter()
            .map(|(config, source)| {
                let poller = Poller {
                    state: Arc::clone(&self.state),
                    sources: Vec::new(),
                    listings: Arc::clone(&self.listings),
                };
                let (config, source) = (config.clone(), Arc::clone(source));
                tokio::spawn(async move { poller.run_source(config, source).await })
            })
            .collect();
        let _ = shutdown.changed().await;
        for task in tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_secs(2));
        assert!(backoff(3) >= Duration::from_secs(4));
        assert!(backoff(40) <= MAX_BACKOFF);
        assert!(backoff(40) >= MAX_BACKOFF / 2);
    }
}
