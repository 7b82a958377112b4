//! Polls every source on its own schedule and publishes changed books. Requests never wait
//! on this: books are swapped atomically when a poll has been applied.
//!
//! A failed or timed-out poll changes nothing (clients keep the last good data) and is retried
//! with exponential backoff and jitter; a source whose cheap fingerprint (e.g. file mtime)
//! changes is re-polled at once. Polls that would remove too much are held (removal guard)
//! until `cardbridge accept` (or the operator page) asks for them. The operator page can also
//! ask for a poll outside the schedule (`requests.rs`).
//!
//! A poll that times out is cancelled (see [`Cancel`]): its blocking work stops at its next
//! check and its result is dropped. Until that work has ended the source is reported busy and
//! not polled again, so a stuck source never stacks threads or parses.
//!
//! This file is the schedule (one task per source, plus the accept watcher); `live.rs` watches
//! the sources that report changes as they happen (a change polls at once, debounced),
//! `checkpoint.rs` lets a source go on after a restart where it was, `failure.rs` says why a
//! poll failed and when to retry, `gate.rs` keeps one poll per source at a time, `publish.rs`
//! applies listings to the books, `report.rs` keeps the status file current, `requests.rs`
//! carries what operators ask from the web page.

use crate::store::unix_now;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use cardbridge_connectors::{Cancel, Changes, Source};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::time::Instant;

use crate::app::{AppState, Live};
use crate::config::SourceConfig;
use crate::source_setup;
use crate::status_file;
use crate::store;

mod checkpoint;
mod failure;
mod gate;
mod live;
mod publish;
mod reload;
mod report;
mod requests;

use failure::PollFailure;
use gate::PollGate;
pub use requests::OperatorRequests;

/// How often accept requests are looked for.
const ACCEPT_CHECK: Duration = Duration::from_secs(1);

/// State shared by the source tasks.
struct Shared {
    live: Arc<Live>,
    /// The task polling each source, by source id.
    running: Mutex<HashMap<String, Running>>,
    /// Last good listing per source id.
    listings: Mutex<HashMap<String, store::Listing>>,
    /// One publication at a time, so no update is lost between read and swap.
    publishing: Mutex<()>,
    /// Books whose last change could not be recorded in the state file (e.g. a full disk):
    /// the next poll of their sources publishes again even when the source is unchanged.
    unsaved: Mutex<HashSet<String>>,
}

pub struct Poller {
    shared: Arc<Shared>,
    sources: Vec<source_setup::Configured>,
}

/// A source's polling task and the configuration it runs with.
struct Running {
    key: String,
    task: tokio::task::JoinHandle<()>,
}

/// Records of each kind logged per poll: a file of bad rows is re-read on every change, and
/// logging each of them every time filled disks. `cardbridge check` lists them all.
const LOGGED_PER_POLL: usize = 5;

/// Logs the first `LOGGED_PER_POLL` of `items` with `log`, then how many more there are.
fn log_first<T: std::fmt::Display>(items: &[T], log: impl Fn(&dyn std::fmt::Display)) {
    for item in items.iter().take(LOGGED_PER_POLL) {
        log(item);
    }
    if let Some(more) = items.len().checked_sub(LOGGED_PER_POLL).filter(|n| *n > 0) {
        log(&format_args!(
            "{more} more not logged (`cardbridge check` lists them all)"
        ));
    }
}

impl Poller {
    pub fn new(live: Arc<Live>) -> Result<Poller, String> {
        let sources = source_setup::build_all(&live.load().config)?;
        let shared = Arc::new(Shared {
            live,
            running: Mutex::default(),
            listings: Mutex::default(),
            publishing: Mutex::new(()),
            unsaved: Mutex::default(),
        });
        shared.record_books();
        Ok(Poller { shared, sources })
    }
}

impl Shared {
    /// The current state (a reload may swap it at any time).
    fn app(&self) -> Arc<AppState> {
        self.live.load_full()
    }

    /// Starts polling `source`, replacing the task of an earlier configuration of it.
    fn spawn_source(self: &Arc<Self>, config: SourceConfig, source: Arc<dyn Source>) {
        let key = config.key.clone();
        let id = config.id.clone();
        let task = tokio::spawn(Arc::clone(self).run_source(config, source));
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = running.insert(id, Running { key, task }) {
            old.task.abort();
        }
    }

    /// One poll of one source; on success its listing replaces the previous one and every book
    /// fed by it is rebuilt.
    /// On timeout `cancel` is set, so the poll's blocking work stops.
    async fn poll_once(
        self: &Arc<Self>,
        config: &SourceConfig,
        source: &Arc<dyn Source>,
        cancel: &Cancel,
    ) -> Result<(), PollFailure> {
        let started = Instant::now();
        tracing::debug!(source = %config.id, "poll started");
        let caps = self.app().config.server.caps();
        let polled = store::poll(source.as_ref(), cancel, caps);
        let (outcome, listing) = match tokio::time::timeout(config.timeout, polled).await {
            Ok(result) => result.map_err(PollFailure::Source)?,
            Err(_) => {
                cancel.cancel();
                return Err(PollFailure::Timeout(config.timeout));
            }
        };
        if let Some(throttled) = &outcome.throttled {
            tracing::warn!(
                source = %config.id,
                "{throttled}; the poll took that much longer"
            );
            let message = throttled.to_string();
            self.update_source(&config.id, |s| {
                s.throttled = Some(status_file::ThrottledStatus {
                    at: unix_now(),
                    message,
                });
            });
        }
        if outcome.unchanged && !self.has_unsaved(&config.id) {
            tracing::debug!(source = %config.id, "polled: nothing changed");
            return Ok(());
        }
        let shared = Arc::clone(self);
        let listed = config.clone();
        // Publishing renders and records changed cards: blocking work.
        tokio::task::spawn_blocking(move || {
            if !outcome.unchanged {
                shared.take_listing(&listed, outcome, listing, started);
            }
            shared.publish(|b| b.sources.contains(&listed.id), &[])
        })
        .await
        .map_err(|e| PollFailure::Unsaved(format!("publishing failed: {e}")))?;
        if self.has_unsaved(&config.id) {
            return Err(PollFailure::Unsaved(
                "a book fed by this source could not be recorded; retrying".into(),
            ));
        }
        Ok(())
    }

    /// Whether a book fed by `source` has a change the state file could not record.
    fn has_unsaved(&self, source: &str) -> bool {
        let Ok(unsaved) = self.unsaved.lock() else {
            return false;
        };
        self.app()
            .config
            .books
            .iter()
            .any(|b| unsaved.contains(&b.id) && b.sources.iter().any(|s| s == source))
    }

    /// Records a changed listing as the source's last good one, its problems logged.
    fn take_listing(
        &self,
        config: &SourceConfig,
        outcome: cardbridge_connectors::PollOutcome,
        listing: store::Listing,
        started: Instant,
    ) {
        log_first(
            &outcome.skipped,
            |s| tracing::warn!(source = %config.id, "skipped {s}"),
        );
        log_first(
            &outcome.left_out,
            |v| tracing::warn!(source = %config.id, "card published without a value: {v}"),
        );
        log_first(
            &outcome.notices,
            |n| tracing::info!(source = %config.id, "note: {n}"),
        );
        tracing::info!(
            source = %config.id,
            contacts = listing.len(),
            skipped = outcome.skipped.len(),
            ms = started.elapsed().as_millis(),
            "polled"
        );
        self.update_source(&config.id, |s| {
            s.contacts = listing.len();
            s.skipped = outcome.skipped.len();
            s.skipped_sample = outcome
                .skipped
                .iter()
                .take(LOGGED_PER_POLL)
                .map(|r| status_file::SkippedStatus {
                    location: r.location.clone(),
                    reason: r.reason.clone(),
                })
                .collect();
        });
        if let Ok(mut listings) = self.listings.lock() {
            listings.insert(config.id.clone(), listing);
        }
    }

    async fn run_source(self: Arc<Self>, config: SourceConfig, source: Arc<dyn Source>) {
        let mut failures: u32 = 0;
        let mut next_due = Instant::now();
        let mut last_fingerprint: Option<String> = None;
        let mut gate = PollGate::default();
        let asked = self.app().requests.poll_wake(&config.id);
        let changes = Changes::default();
        let mut watch: Option<live::AbortOnDrop> = None;
        let mut checkpointed = None;
        let mut watched = false;
        self.resume_source(&config, source.as_ref()).await;
        let mut woken = false;
        loop {
            let fingerprint = source.fingerprint().await;
            let changed = fingerprint.is_some() && fingerprint != last_fingerprint;
            if woken || changed || Instant::now() >= next_due {
                let waiting = asked.take_waiting();
                let began = Instant::now();
                let result = match gate.begin() {
                    Err(busy) => Err(busy),
                    Ok(cancel) => {
                        last_fingerprint = fingerprint;
                        self.poll_once(&config, &source, &cancel).await
                    }
                };
                let now = unix_now();
                let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
                self.update_source(&config.id, |s| s.last_duration_ms = Some(took));
                let wait = match result {
                    Ok(()) => {
                        failures = 0;
                        self.checkpoint_source(&config, source.as_ref(), &mut checkpointed)
                            .await;
                        if watch.is_none() {
                            watch = Some(live::AbortOnDrop(tokio::spawn(
                                Arc::clone(&self).watch_source(
                                    config.id.clone(),
                                    Arc::clone(&source),
                                    changes.clone(),
                                    config.poll_interval,
                                ),
                            )));
                        }
                        self.update_source(&config.id, |s| {
                            s.last_poll = Some(now);
                            s.last_success = Some(now);
                            s.error = None;
                            s.cause = None;
                            s.consecutive_failures = 0;
                        });
                        jittered(config.poll_interval)
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        let wait = error.retry_in(failures, config.poll_interval);
                        tracing::error!(
                            source = %config.id,
                            cause = error.cause(),
                            retry_in_s = wait.as_secs(),
                            "poll failed, keeping the last good data: {error}"
                        );
                        self.update_source(&config.id, |s| {
                            s.last_poll = Some(now);
                            s.error = Some(error.to_string());
                            s.cause = Some(error.cause().to_string());
                            s.consecutive_failures = failures;
                        });
                        wait
                    }
                };
                next_due = Instant::now() + wait;
                self.update_source(&config.id, |s| {
                    s.next_poll = Some(unix_now().saturating_add(wait.as_secs()));
                });
                self.write_status();
                for done in waiting {
                    let _ = done.send(());
                }
            }
            // A watch that sees what the fingerprint would replaces the stat loop.
            let until_due = next_due.saturating_duration_since(Instant::now());
            let wait = match changes.mode() {
                Some(mode) if mode.covers_fingerprint() => until_due,
                _ => until_due.min(config.check_interval),
            };
            woken = tokio::select! {
                changed = live::wait_for_change(&changes, wait, config.debounce) => changed,
                () = asked.wake.notified() => true,
            };
            if changes.mode().is_some() != watched {
                // A watch (re)started: the next poll's checkpoint holds its position.
                watched = !watched;
                checkpointed = None;
                if woken
                    && watched
                    && self
                        .caught_up(&changes, source.as_ref(), &last_fingerprint)
                        .await
                {
                    woken = false;
                }
            }
        }
    }

    /// Whether a watch's first wake, its catch-up on changes made before it ran, finds nothing
    /// to read: the watch sees what the fingerprint sees and the fingerprint has not moved
    /// since the last read. Reading a large file again for nothing costs as much as the first
    /// read (seconds of CPU at 100,000 rows).
    async fn caught_up(
        &self,
        changes: &Changes,
        source: &dyn Source,
        last_fingerprint: &Option<String>,
    ) -> bool {
        if !changes.mode().is_some_and(|mode| mode.covers_fingerprint()) {
            return false;
        }
        let now = source.fingerprint().await;
        now.is_some() && now == *last_fingerprint
    }

    /// Lets held polls through when an operator asked for it: with `cardbridge accept` (a
    /// file in the state directory, looked for every [`ACCEPT_CHECK`]) or on the web page.
    async fn watch_accepts(self: Arc<Self>) {
        let requests = Arc::clone(&self.app().requests);
        loop {
            let app = self.app();
            let asked = requests.take_accepts();
            let accepted: Vec<String> = app
                .config
                .books
                .iter()
                .filter(|b| {
                    let by_file = app
                        .config
                        .store
                        .state_dir
                        .as_deref()
                        .is_some_and(|dir| status_file::take_accept(dir, &b.id));
                    by_file || asked.iter().any(|(id, _)| id == &b.id)
                })
                .map(|b| b.id.clone())
                .collect();
            if !accepted.is_empty() {
                tracing::info!(books = ?accepted, "accept requested");
                let shared = Arc::clone(&self);
                let _ = tokio::task::spawn_blocking(move || {
                    shared.publish(|b| accepted.contains(&b.id), &accepted)
                })
                .await;
                self.write_status();
            }
            for (_, done) in asked {
                let _ = done.send(());
            }
            tokio::select! {
                _ = tokio::time::sleep(ACCEPT_CHECK) => {}
                _ = requests.accept_asked() => {}
            }
        }
    }
}

/// The poll interval with ±10% jitter.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + fastrand::f64() * 0.2)
}

#[async_trait]
impl BackgroundService for Poller {
    /// One task per source, so a slow source never delays another.
    async fn start(&self, mut shutdown: ShutdownWatch) {
        for (config, source) in &self.sources {
            self.shared.spawn_source(config.clone(), Arc::clone(source));
        }
        let tasks = [
            tokio::spawn(Arc::clone(&self.shared).watch_accepts()),
            tokio::spawn(Arc::clone(&self.shared).watch_reloads()),
        ];
        self.shared.write_status();
        let _ = shutdown.changed().await;
        for task in tasks {
            task.abort();
        }
        let running = std::mem::take(
            &mut *self
                .shared
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (_, source) in running {
            source.task.abort();
        }
    }
}
