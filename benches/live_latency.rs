//! Live change latency: how long a change made with `ldapmodify` takes to reach a client's
//! sync-collection, with the directory watched by syncrepl (a real slapd with the syncprov
//! overlay) and polled only once an hour. Each of the changes is one `ldapmodify` (its
//! process start included) of one entry's title; the clock stops when the book's sync token
//! moves, and that change is then checked in the delta. Reports p50, p99 and max.
//! Run with `cargo bench --bench live_latency` (needs slapd and ldap-utils: scripts/setup.sh
//! test). `LIVE_BENCH_CHANGES=200` makes more changes (default 60).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::cards::delta;
use support::slapd::{Options, Slapd, ADMIN_DN};
use support::{Server, ServerSpec};

const PEOPLE: &str = "ou=people,dc=example,dc=com";

fn main() {
    let changes: usize = std::env::var("LIVE_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let ldif = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ldap/directory.ldif"
    ))
    .expect("fixture");
    let slapd = Slapd::start(
        &ldif,
        Options {
            syncprov: true,
            ..Options::default()
        },
    );
    let server_table = format!(
        "[source.server]\nurl = \"{}\"\nbind_dn = \"{ADMIN_DN}\"\nbind_password_file = \"{}\"\ntimeout = \"5s\"\n",
        slapd.url(),
        slapd.password_file().display()
    );
    let config = support::directory_config(&format!("base = \"{PEOPLE}\""), &server_table, "")
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
    // Let the catch-up poll the stream triggers pass.
    std::thread::sleep(Duration::from_secs(2));

    let mut took = Vec::with_capacity(changes);
    for i in 0..changes {
        let token = server.token();
        let started = Instant::now();
        slapd.modify(&format!(
            "dn: uid=lchen,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Title {i}\n"
        ));
        let limit = Instant::now() + Duration::from_secs(30);
        while server.token() == token {
            assert!(Instant::now() < limit, "change {i} did not arrive");
            std::thread::sleep(Duration::from_millis(5));
        }
        took.push(started.elapsed());
        let (changed, removed, _) = delta(&server, &token);
        assert_eq!((changed.len(), removed.len()), (1, 0), "change {i}");
    }
    took.sort();
    let at = |q: f64| {
        let index = ((took.len() as f64 - 1.0) * q).round() as usize;
        took.get(index).copied().unwrap_or_default()
    };
    println!(
        "live_latency: {changes} changes, ldapmodify to sync-collection: p50 {} ms, p99 {} ms, max {} ms",
        at(0.5).as_millis(),
        at(0.99).as_millis(),
        took.last().copied().unwrap_or_default().as_millis()
    );
}
