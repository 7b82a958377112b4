//! Hostile-load measurement: the scenario of tests/hostile_load.rs (one client syncing a
//! 10,000-card book while attackers flood wrong passwords, dribble heads, smuggle, send the
//! largest queries, property lists and oversized bodies) on the release binary. Prints the
//! client's p50/p99 latency, the server's peak RSS and threads, and each attack's outcomes.
//! `cargo bench --bench hostile_load`; `HOSTILE_LOAD_SECS=20` sets the duration.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

fn main() {
    let secs = std::env::var("HOSTILE_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let server = support::hostile::start_server();
    support::hostile::run(&server, Duration::from_secs(secs)).print();
}
