//! A legitimate client keeps being served, correctly and within a liveness bound, while
//! attackers flood the server (scenario in support/hostile.rs; the same scenario on the
//! release binary is `cargo bench --bench hostile_load`).

mod support;

use std::time::Duration;

use support::hostile;

/// How long attackers and the legitimate client run (the test takes about this plus the
/// last legitimate round and the server's start).
const DURATION: Duration = Duration::from_secs(20);

/// Longest any legitimate request may take in the debug build. A liveness bound, not a
/// performance target: it fails only when attackers starve the client (release figures
/// come from the bench).
const LIVENESS: Duration = Duration::from_secs(15);

/// Server memory cap in the debug build: 10,000 cards plus everything the attackers make it
/// hold (argon2 uses 19 MiB per verification in flight).
const RSS_CAP_KIB: u64 = 1 << 20;

/// Server threads: a fixed set (workers, verification pool, pollers), not one per
/// connection; the attackers hold about 100 connections at once.
const THREAD_CAP: u64 = 64;

#[test]
fn a_legitimate_client_is_served_correctly_while_attackers_flood_the_server() {
    let server = hostile::start_server();
    let report = hostile::run(&server, DURATION);
    report.print();
    assert_eq!(report.attacker_panics, 0, "the scenario itself failed");

    assert!(
        report.failures.is_empty(),
        "legitimate requests failed: {:?}",
        report.failures
    );
    assert!(
        report.syncs >= 1 && report.polls >= 1,
        "the client did a whole sync and polled"
    );
    assert!(
        report.slowest() < LIVENESS,
        "a legitimate request took {:?}",
        report.slowest()
    );
    assert!(report.peak_rss_kib.max(report.hwm_kib) < RSS_CAP_KIB);
    assert!(
        report.peak_threads < THREAD_CAP,
        "{} threads",
        report.peak_threads
    );

    // The attacks were met by the limits, not by luck.
    assert!(
        report.count("password flood", "429") > 0,
        "failed logins were throttled"
    );
    assert_eq!(report.count("password flood", "200"), 0);
    assert_eq!(report.count("password flood", "207"), 0);
    assert!(
        report.count("slow heads", "closed at once") > 0,
        "per-address cap"
    );
    assert!(
        report.count("slow heads", "cut at deadline") > 0,
        "head deadline"
    );
    assert_eq!(
        report.smuggled_answered, 0,
        "a smuggled request was answered"
    );
    assert_eq!(report.count("smuggling", "400"), report.sent("smuggling"));
    assert!(
        report.count("largest query", "207 truncated (507)") > 0,
        "evaluation budget"
    );
    assert!(report.count("largest query", "400") > 0, "filter caps");
    assert!(report.count("unknown props", "207") > 0 && report.count("unknown props", "400") > 0);
    assert!(report.count("declared oversize", "413") > 0);
    assert!(report.count("chunked oversize", "413") > 0);
    let log = server.log();
    assert!(!log.contains("panicked"), "server log:\n{log}");
}
