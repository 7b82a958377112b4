//! Sources that report their changes as they happen (`Source::watch`): the watch runs beside
//! the source's polling task, its notifications make the task poll at once, debounced, and
//! the status says whether the source is live or polled, and why.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use cardbridge_connectors::{Changes, Source, WatchEnd};
use tokio::time::Instant;

use super::{failure, Shared};

/// The longest a steady stream of changes delays a poll (or the debounce, if longer).
const DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// A watch that lasted this long was working: its next loss starts the backoff afresh.
const WATCH_HEALTHY: Duration = Duration::from_secs(60);

/// Aborts the task when dropped: a source's watch ends with its polling task (a reload
/// replaces both).
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits up to `wait` for a change; after one, until changes pause for `debounce` (a burst of
/// modifications, or a file written in several steps, is read once, after its last step), at
/// most [`DEBOUNCE_MAX`]. True when a change came.
pub(super) async fn wait_for_change(changes: &Changes, wait: Duration, debounce: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => return false,
        () = changes.next() => {}
    }
    let deadline = Instant::now() + DEBOUNCE_MAX.max(debounce);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(debounce.min(left)) => return true,
            () = changes.next() => {}
        }
    }
}

impl Shared {
    /// Watches `source` for as long as it can be watched: a lost watch is started again after
    /// a backoff (a poll runs at once, for what the break may have missed), a refused one
    /// after the source's `interval` (at least [`failure::MAX_BACKOFF`]); a source that cannot
    /// be watched is left to its polls. Started after the source's first successful poll, so
    /// a source that fails is not asked twice (wrong credentials would count double).
    pub(super) async fn watch_source(
        self: Arc<Self>,
        id: String,
        source: Arc<dyn Source>,
        changes: Changes,
        interval: Duration,
    ) {
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            let end = tokio::select! {
                end = source.watch(&changes) => end,
                never = self.report_live(&id, &changes) => match never {},
            };
            let was_live = changes.mode().is_some();
            changes.not_live();
            let (reason, retry) = match end {
                WatchEnd::Unsupported(reason) => (reason, None),
                WatchEnd::Lost(reason) => {
                    if started.elapsed() >= WATCH_HEALTHY {
                        failures = 0;
                    }
                    failures = failures.saturating_add(1);
                    (reason, Some(failure::backoff(failures)))
                }
                WatchEnd::Refused(reason) => (reason, Some(interval.max(failure::MAX_BACKOFF))),
            };
            match retry {
                None => tracing::info!(source = %id, "polled on its interval: {reason}"),
                Some(wait) => tracing::warn!(
                    source = %id,
                    retry_in_s = wait.as_secs(),
                    "change notifications lost, polling meanwhile: {reason}"
                ),
            }
            let status = format!("polling ({reason})");
            self.update_source(&id, |s| s.live = Some(status));
            self.write_status();
            let Some(wait) = retry else { return };
            if was_live {
                // A change made as the watch broke may not have been reported.
                changes.changed();
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Keeps the status's "live (…)" current while the watch runs.
    async fn report_live(&self, id: &str, changes: &Changes) -> Infallible {
        let mut modes = changes.modes();
        loop {
            if let Some(mode) = *modes.borrow_and_update() {
                let status = format!("live ({mode})");
                tracing::info!(source = %id, "changes arrive as they happen ({mode})");
                self.update_source(id, |s| s.live = Some(status));
                self.write_status();
            }
            if modes.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_changes_is_one_wake() {
        let changes = Changes::default();
        let burst = changes.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                burst.changed();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let debounce = Duration::from_millis(200);
        assert!(wait_for_change(&changes, Duration::from_secs(60), debounce).await);
        assert!(
            !wait_for_change(&changes, Duration::from_millis(300), debounce).await,
            "the whole burst was taken by the first wake"
        );
    }
}
