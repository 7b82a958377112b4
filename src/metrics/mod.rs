//! Prometheus metrics: the counters the request path updates (lock-free atomics in fixed
//! tables: requests, logins), the histogram, the text format, and the process's own figures.
//! Everything else (books, sources, caches) is read when a scrape arrives (`crate::ops`), so
//! metrics cost nothing between scrapes.

pub mod exposition;
mod histogram;
pub mod process;
mod requests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use requests::RequestMetrics;

use exposition::{Exposition, Kind};

/// Logins by outcome.
#[derive(Default)]
pub struct Logins {
    ok: AtomicU64,
    failed: AtomicU64,
    throttled: AtomicU64,
}

/// How one login attempt ended.
#[derive(Clone, Copy)]
pub enum LoginOutcome {
    Ok,
    Failed,
    /// Refused without checking the password (too many failures, or too many logins at once).
    Throttled,
}

impl Logins {
    pub fn record(&self, outcome: LoginOutcome) {
        let counter = match outcome {
            LoginOutcome::Ok => &self.ok,
            LoginOutcome::Failed => &self.failed,
            LoginOutcome::Throttled => &self.throttled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn write(&self, e: &mut Exposition) {
        e.family(
            "cardbridge_logins_total",
            Kind::Counter,
            "Password checks by outcome; throttled ones were refused before checking.",
        );
        for (outcome, counter) in [
            ("ok", &self.ok),
            ("failed", &self.failed),
            ("throttled", &self.throttled),
        ] {
            let value = counter.load(Ordering::Relaxed) as f64;
            e.sample("cardbridge_logins_total", &[("outcome", outcome)], value);
        }
    }
}

/// The counters the request path updates.
#[derive(Default)]
pub struct Metrics {
    pub requests: RequestMetrics,
    /// Shared with the authenticator, which records every password check.
    pub logins: Arc<Logins>,
}
