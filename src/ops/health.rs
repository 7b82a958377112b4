//! Readiness for load balancers and Kubernetes probes: ready only when every book has something
//! to publish and no source has been failing for longer than `[server] ready_max_failing`, so
//! traffic goes to replicas that are current.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::app::AppState;

/// Why a replica is not ready, one reason per book or source; empty when it is.
pub fn not_ready_reasons(app: &AppState, max_failing: Duration, now: SystemTime) -> Vec<String> {
    let mut reasons = Vec::new();
    for (id, book) in &app.books {
        if !book.state().ready {
            reasons.push(format!("book {id}: not loaded from its sources yet"));
        }
    }
    let status = app.status();
    let now_s = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let started_s = app
        .started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for source in &app.config.sources {
        let Some(s) = status.sources.get(&source.id) else {
            continue;
        };
        if s.consecutive_failures == 0 {
            continue;
        }
        // Failing since its last success, or since the start when it never succeeded here.
        let since = s.last_success.unwrap_or(started_s);
        let failing_for = now_s.saturating_sub(since);
        if failing_for > max_failing.as_secs() {
            reasons.push(format!(
                "source {}: failing for {failing_for} s ({} polls in a row): {}",
                source.id,
                s.consecutive_failures,
                s.error.as_deref().unwrap_or("unknown error")
            ));
        }
    }
    reasons
}
