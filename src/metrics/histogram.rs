//! A latency histogram of fixed buckets: one relaxed atomic add per observation, so the request
//! path never takes a lock for its metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::exposition::Exposition;

/// Upper bounds in seconds: from a cached card (~0.1 ms) to a full sync of a large book.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is above every bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        if let Some(count) = self.counts.get(slot) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// `name_bucket{…,le="…"}` (cumulative), `name_sum` and `name_count`, with `labels` first.
    pub fn write(&self, e: &mut Exposition, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        let bounds = BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(["+Inf".to_string()]);
        for (count, bound) in self.counts.iter().zip(bounds) {
            cumulative += count.load(Ordering::Relaxed);
            let mut with_le = labels.to_vec();
            with_le.push(("le", &bound));
            e.sample(&bucket, &with_le, cumulative as f64);
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        e.sample(&format!("{name}_sum"), labels, sum);
        e.sample(&format!("{name}_count"), labels, cumulative as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_is_in_seconds() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let mut e = Exposition::default();
        h.write(&mut e, "t", &[("method", "GET")]);
        let text = e.finish();
        assert!(
            text.contains("t_bucket{method=\"GET\",le=\"0.0005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("t_bucket{method=\"GET\",le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("t_bucket{method=\"GET\",le=\"10\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("t_bucket{method=\"GET\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("t_sum{method=\"GET\"} 60.0033\n"), "{text}");
        assert!(text.contains("t_count{method=\"GET\"} 3\n"), "{text}");
        assert_eq!(h.count(), 3);
    }
}
