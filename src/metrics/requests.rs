//! Request counters: by method (and report kind for REPORT) and status, latency histograms,
//! bytes sent. Tables of atomics indexed by fixed label lists, so a label set never grows with
//! what clients send (an unknown method counts as `other`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::exposition::{Exposition, Kind};
use super::histogram::Histogram;

/// Methods counted under their own name; anything else is `other`.
const METHODS: [&str; 13] = [
    "GET",
    "HEAD",
    "OPTIONS",
    "PROPFIND",
    "REPORT",
    "PROPPATCH",
    "PUT",
    "DELETE",
    "MKCOL",
    "MOVE",
    "COPY",
    "POST",
    "other",
];

/// Report kinds counted under their own name; an unsupported or unreadable report is `other`.
const REPORTS: [&str; 4] = [
    "sync-collection",
    "addressbook-multiget",
    "addressbook-query",
    "other",
];

/// One row per method, then one per report kind (REPORT requests are counted in both).
const ROWS: usize = METHODS.len() + REPORTS.len();

/// Status codes 100–599, one slot each.
const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

pub struct RequestMetrics {
    counts: Box<[AtomicU64]>,
    latency: Box<[Histogram]>,
    bytes_sent: AtomicU64,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        RequestMetrics {
            counts: (0..ROWS * STATUSES).map(|_| AtomicU64::new(0)).collect(),
            latency: (0..ROWS).map(|_| Histogram::default()).collect(),
            bytes_sent: AtomicU64::new(0),
        }
    }
}

fn method_row(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

fn report_row(report: &str) -> usize {
    METHODS.len()
        + REPORTS
            .iter()
            .position(|r| *r == report)
            .unwrap_or(REPORTS.len() - 1)
}

impl RequestMetrics {
    /// Records one answered request. `report` is the report's element name for REPORT.
    pub fn record(
        &self,
        method: &str,
        report: Option<&str>,
        status: u16,
        elapsed: Duration,
        bytes: u64,
    ) {
        let rows = [Some(method_row(method)), report.map(report_row)];
        let column = usize::from(status.clamp(FIRST_STATUS, 599) - FIRST_STATUS);
        for row in rows.into_iter().flatten() {
            if let Some(count) = self.counts.get(row * STATUSES + column) {
                count.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(histogram) = self.latency.get(row) {
                histogram.observe(elapsed);
            }
        }
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The labels of row `row`: `method`, plus `report` for report rows.
    fn labels(row: usize) -> Vec<(&'static str, &'static str)> {
        match (
            METHODS.get(row),
            row.checked_sub(METHODS.len()).and_then(|r| REPORTS.get(r)),
        ) {
            (Some(method), _) => vec![("method", *method)],
            (None, Some(report)) => vec![("method", "REPORT"), ("report", *report)],
            (None, None) => Vec::new(),
        }
    }

    pub fn write(&self, e: &mut Exposition) {
        e.family(
            "cardbridge_http_requests_total",
            Kind::Counter,
            "Requests answered, by method, report kind and status. REPORT requests also appear \
             with their report kind.",
        );
        for row in 0..ROWS {
            for column in 0..STATUSES {
                let Some(count) = self.counts.get(row * STATUSES + column) else {
                    continue;
                };
                let count = count.load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                let status = (FIRST_STATUS + column as u16).to_string();
                let mut labels = Self::labels(row);
                labels.push(("status", &status));
                e.sample("cardbridge_http_requests_total", &labels, count as f64);
            }
        }
        e.family(
            "cardbridge_http_request_duration_seconds",
            Kind::Histogram,
            "Time from the request head to the last byte of the answer, by method and report kind.",
        );
        for (row, histogram) in self.latency.iter().enumerate() {
            if histogram.count() > 0 {
                let labels = Self::labels(row);
                histogram.write(e, "cardbridge_http_request_duration_seconds", &labels);
            }
        }
        e.single(
            "cardbridge_http_response_bytes_total",
            Kind::Counter,
            "Bytes of response bodies sent.",
            self.bytes_sent.load(Ordering::Relaxed) as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_by_method_report_and_status() {
        let m = RequestMetrics::default();
        let ms = Duration::from_millis(1);
        m.record("REPORT", Some("sync-collection"), 207, ms, 100);
        m.record("REPORT", Some("sync-collection"), 207, ms, 100);
        m.record("GET", None, 404, ms, 10);
        m.record("BREW", None, 999, ms, 0);
        let mut e = Exposition::default();
        m.write(&mut e);
        let text = e.finish();
        for line in [
            "cardbridge_http_requests_total{method=\"REPORT\",status=\"207\"} 2\n",
            "cardbridge_http_requests_total{method=\"REPORT\",report=\"sync-collection\",status=\"207\"} 2\n",
            "cardbridge_http_requests_total{method=\"GET\",status=\"404\"} 1\n",
            "cardbridge_http_requests_total{method=\"other\",status=\"599\"} 1\n",
            "cardbridge_http_request_duration_seconds_count{method=\"GET\"} 1\n",
            "cardbridge_http_response_bytes_total 210\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
