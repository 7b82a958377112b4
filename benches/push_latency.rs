//! Push latency: from a change of a CSV source (the file rewritten) to the WebDAV-Push message
//! arriving, decrypted and verified, at a push service (the tests' fake, tests/support/
//! fake_push.py, on loopback). Reported in two parts as well: change → published (the source's
//! change detection and the poll, seen as a new sync token) and published → push received
//! (the dispatcher, encryption, VAPID signing and the Web Push request).
//!
//! `cargo bench --bench push_latency` (needs python3 with http-ece, cryptography, py-vapid:
//! scripts/setup.sh). Knobs: `PUSH_LATENCY_CHANGES` (60), `PUSH_LATENCY_CHECK` (the source's
//! check_interval, "1s"), `PUSH_LATENCY_ROWS` (book size, 1000).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::fake_push::{register_body, FakePush};
use support::server::{standard_config, write_atomically};
use support::{google_csv, google_row, staff_rows, Server, ServerSpec};

fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// p50 and p99 (nearest rank) of `samples` in milliseconds.
fn percentiles(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    (rank(0.5), rank(0.99), samples[samples.len() - 1])
}

fn main() {
    let changes: usize = knob("PUSH_LATENCY_CHANGES", 60);
    let check: String = knob("PUSH_LATENCY_CHECK", "1s".to_string());
    let rows_n: usize = knob("PUSH_LATENCY_ROWS", 1000);
    let push = FakePush::start();
    let config = standard_config(
        "\n[store]\nstate_dir = \"state\"\n\n[push]\nenabled = true\n\
         vapid_subject = \"mailto:ops@example.com\"\nmin_interval = \"1ms\"\n\
         allow_plain_http = true\n",
    )
    .replace(
        "check_interval = \"1s\"",
        &format!("check_interval = \"{check}\""),
    );
    let rows = staff_rows(rows_n);
    let server = Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    });
    let phone = push.subscribe();
    let r = server.request(
        "POST",
        &server.book_path(),
        &[("Content-Type", "application/xml")],
        &register_body(&phone, None),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let (mut to_push, mut to_publish, mut publish_to_push) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..changes {
        let mut next = rows.clone();
        next.push(google_row(
            &format!("Change{i}"),
            "Bench",
            "Example",
            &format!("c{i}@example.com"),
            "",
        ));
        let old_token = server.token();
        let written = unix_now();
        write_atomically(&server.path("staff.csv"), google_csv(&next).as_bytes());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut published = None;
        let arrived = loop {
            assert!(
                Instant::now() < deadline,
                "no push for change {i}:\n{}",
                server.log()
            );
            if published.is_none() && server.token() != old_token {
                published = Some(unix_now());
            }
            if let Some(message) = push.received(&phone).get(i) {
                assert_eq!(message.error, None);
                break message.received_at;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let published = published.unwrap_or(arrived);
        to_push.push((arrived - written) * 1000.0);
        to_publish.push((published - written) * 1000.0);
        publish_to_push.push((arrived - published).max(0.0) * 1000.0);
    }
    println!(
        "push latency over {changes} CSV changes (book of {rows_n} cards, check_interval {check}):"
    );
    for (what, samples) in [
        ("change -> push received", &mut to_push),
        ("change -> published", &mut to_publish),
        ("published -> push received", &mut publish_to_push),
    ] {
        let (p50, p99, max) = percentiles(samples);
        println!("  {what:<28} p50 {p50:8.1} ms  p99 {p99:8.1} ms  max {max:8.1} ms");
    }
}
