//! Push latency: from a change at a source to the WebDAV-Push message arriving, decrypted and
//! verified, at a push service (the tests' fake, tests/support/fake_push.py, on loopback), for
//! two sources that report changes as they happen:
//! - a CSV file rewritten (watched by inotify);
//! - an `ldapmodify` of one entry's telephoneNumber on a real slapd with the syncprov overlay
//!   (watched by syncrepl, polled only once an hour), the `ldapmodify` process start included.
//!
//! Each is reported in two parts as well: change → published (change detection and the poll,
//! seen as a new sync token) and published → push received (the dispatcher, encryption, VAPID
//! signing and the Web Push request). Changes are paced so the 200 ms debounce does not merge
//! them. For the directory it also counts the operations slapd is asked for (its `stats` log):
//! per change, and in an idle 10 s window after the changes, which shows that a watched
//! directory is not polled between changes.
//!
//! `cargo bench --bench push_latency` (needs python3 with http-ece, cryptography, py-vapid, and
//! slapd with ldap-utils: scripts/setup.sh test). Knobs: `PUSH_LATENCY_CHANGES` (60 of each),
//! `PUSH_LATENCY_CHECK` (the CSV source's check_interval, "1s"), `PUSH_LATENCY_ROWS` (CSV book
//! size, 1000), `PUSH_LATENCY_PAUSE_MS` (between changes, 400).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::fake_push::{push_config, registered, FakePush, Subscription};
use support::server::{standard_config, write_atomically};
use support::slapd::{Options, Slapd, ADMIN_DN};
use support::{google_csv, google_row, staff_rows, Server, ServerSpec};

const PEOPLE: &str = "ou=people,dc=example,dc=com";
const IDLE: Duration = Duration::from_secs(10);

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

/// p50, p99 (nearest rank) and max of `samples` in milliseconds.
fn percentiles(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    (rank(0.5), rank(0.99), samples[samples.len() - 1])
}

/// A phone's subscription to the standard book of `server`.
fn subscribe(server: &Server, push: &FakePush) -> Subscription {
    let phone = push.subscribe();
    registered(server, &phone);
    phone
}

/// Makes `changes` changes with `change(i)`, `pause` apart, each timed until the next push
/// message reaches `phone`; prints the three latencies under `title`.
fn measure(
    title: &str,
    server: &Server,
    push: &FakePush,
    phone: &Subscription,
    changes: usize,
    pause: Duration,
    mut change: impl FnMut(usize),
) {
    let (mut to_push, mut to_publish, mut publish_to_push) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..changes {
        let old_token = server.token();
        let seen = push.received(phone).len();
        let written = unix_now();
        change(i);
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
            if let Some(message) = push.received(phone).get(seen) {
                assert_eq!(message.error, None);
                break message.received_at;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let published = published.unwrap_or(arrived);
        to_push.push((arrived - written) * 1000.0);
        to_publish.push((published - written) * 1000.0);
        publish_to_push.push((arrived - published).max(0.0) * 1000.0);
        std::thread::sleep(pause);
    }
    println!("{title}:");
    for (what, samples) in [
        ("change -> push received", &mut to_push),
        ("change -> published", &mut to_publish),
        ("published -> push received", &mut publish_to_push),
    ] {
        let (p50, p99, max) = percentiles(samples);
        println!("  {what:<28} p50 {p50:8.1} ms  p99 {p99:8.1} ms  max {max:8.1} ms");
    }
}

/// CSV file rewritten → push.
fn csv(push: &FakePush, changes: usize, pause: Duration) {
    let check: String = knob("PUSH_LATENCY_CHECK", "1s".to_string());
    let rows_n: usize = knob("PUSH_LATENCY_ROWS", 1000);
    let config = standard_config(&push_config()).replace(
        "check_interval = \"1s\"",
        &format!("check_interval = \"{check}\""),
    );
    let rows = staff_rows(rows_n);
    let server = Server::start(ServerSpec {
        config,
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    });
    let phone = subscribe(&server, push);
    measure(
        &format!(
            "CSV write -> push, {changes} changes (book of {rows_n} cards, check_interval {check})"
        ),
        &server,
        push,
        &phone,
        changes,
        pause,
        |i| {
            let mut next = rows.clone();
            next.push(google_row(
                &format!("Change{i}"),
                "Bench",
                "Example",
                &format!("c{i}@example.com"),
                "",
            ));
            write_atomically(&server.path("staff.csv"), google_csv(&next).as_bytes());
        },
    );
}

/// `ldapmodify` on slapd (syncprov) → push, and the operations slapd is asked for.
fn ldap(push: &FakePush, changes: usize, pause: Duration) {
    let ldif = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ldap/directory.ldif"
    ))
    .expect("fixture");
    let slapd = Slapd::start(
        &ldif,
        Options {
            syncprov: true,
            stats_log: true,
            ..Options::default()
        },
    );
    let server_table = format!(
        "[source.server]\nurl = \"{}\"\nbind_dn = \"{ADMIN_DN}\"\nbind_password_file = \"{}\"\ntimeout = \"5s\"\n",
        slapd.url(),
        slapd.password_file().display()
    );
    let config = support::directory_config(
        &format!("base = \"{PEOPLE}\""),
        &server_table,
        &push_config(),
    )
    .replace("poll_interval = \"1s\"", "poll_interval = \"1h\"");
    let server = Server::start(ServerSpec {
        config,
        files: vec![],
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server
        .log()
        .contains("changes arrive as they happen (syncrepl)")
    {
        assert!(
            Instant::now() < deadline,
            "no syncrepl stream:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let phone = subscribe(&server, push);
    // Let the catch-up poll the stream triggers pass.
    std::thread::sleep(Duration::from_secs(2));

    let before = slapd.operations();
    measure(
        &format!("ldapmodify -> push, {changes} changes (slapd with syncprov, poll_interval 1h)"),
        &server,
        push,
        &phone,
        changes,
        pause,
        |i| {
            slapd.modify(&format!(
                "dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: telephoneNumber\n\
                 telephoneNumber: +1 555 0100 {:04}\n",
                2000 + i
            ));
        },
    );
    let during = slapd.operations() - before;
    let idle_start = slapd.operations();
    std::thread::sleep(IDLE);
    let idle = slapd.operations() - idle_start;
    println!(
        "  slapd operations: {during} during the {changes} changes ({:.1} a change, 3 of them \
         ldapmodify's own bind, modify, unbind); {idle} in the idle {} s after them",
        during as f64 / changes as f64,
        IDLE.as_secs()
    );
}

fn main() {
    let changes: usize = knob("PUSH_LATENCY_CHANGES", 60);
    let pause = Duration::from_millis(knob("PUSH_LATENCY_PAUSE_MS", 400));
    let push = FakePush::start();
    ldap(&push, changes, pause);
    csv(&push, changes, pause);
}
