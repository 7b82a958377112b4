//! The operator endpoints through the real server: `/healthz`, `/readyz` turning not-ready when
//! a source fails past its limit, and `/metrics` checked by Prometheus's own parser
//! (`promtool check metrics`), showing a failing source within one poll.

mod support;

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::cards::eventually_within;
use support::http::Conn;
use support::server::standard_config;
use support::{google_csv, google_row, sync_body, Server, ServerSpec};

fn get(server: &Server, path: &str) -> (u16, String) {
    let r = Conn::open(server.port).send("GET", path, &[], b"");
    (r.status, r.text())
}

/// `promtool check metrics` on `text`; fails the test with its findings.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): run scripts/setup.sh test (Debian package prometheus)"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write metrics");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool refused the metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the sample `line_start` (name and labels), if present.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|rest| rest.trim().parse().ok())
}

#[test]
fn metrics_parse_and_count_what_clients_did() {
    let rows: Vec<String> = (0..5)
        .map(|i| {
            google_row(
                &format!("P{i}"),
                "Doe",
                "Corp",
                &format!("p{i}@corp.example"),
                "",
            )
        })
        .collect();
    let server = Server::start(ServerSpec {
        config: standard_config("").replacen(
            "[server]\n",
            "[server]\nmetrics_allow = [\"127.0.0.1\"]\n",
            1,
        ),
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    });
    // A sync and a wrong password.
    let r = server.report(&server.book_path(), &sync_body("", false));
    assert_eq!(r.status, 207);
    let wrong = support::http::basic("alice", "wrong");
    let r = server.request(
        "PROPFIND",
        "/",
        &[("Depth", "0"), ("Authorization", &wrong)],
        "",
    );
    assert_eq!(r.status, 401);

    let (status, text) = get(&server, "/metrics");
    assert_eq!(status, 200, "{text}");
    promtool_check(&text);
    let has = |prefix: &str| sample(&text, prefix);
    assert_eq!(
        has("cardbridge_http_requests_total{method=\"REPORT\",report=\"sync-collection\",status=\"207\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        has("cardbridge_logins_total{outcome=\"failed\"}"),
        Some(1.0)
    );
    assert!(has("cardbridge_logins_total{outcome=\"ok\"}").is_some_and(|n| n >= 1.0));
    assert_eq!(has("cardbridge_book_cards{book=\"staff\"}"), Some(5.0));
    assert_eq!(has("cardbridge_source_up{source=\"staff\"}"), Some(1.0));
    assert_eq!(
        has("cardbridge_source_consecutive_failures{source=\"staff\"}"),
        Some(0.0)
    );
    assert!(has("cardbridge_http_request_duration_seconds_count{method=\"REPORT\"}").is_some());
    assert!(has("cardbridge_http_connections_open").is_some_and(|n| n >= 1.0));
    assert!(has("process_resident_memory_bytes").is_some_and(|n| n > 1e6));

    // Only the allowed address may scrape: another one sees no such path.
    let r =
        Conn::open_from(Ipv4Addr::new(127, 0, 0, 2), server.port).send("GET", "/metrics", &[], b"");
    assert_eq!(r.status, 404);
}

#[test]
fn a_source_failing_past_its_limit_makes_the_replica_not_ready() {
    let rows = vec![google_row("Ann", "Lee", "Corp", "ann@corp.example", "")];
    let server = Server::start(ServerSpec {
        config: standard_config("").replacen(
            "[server]\n",
            "[server]\nready_max_failing = \"1s\"\n",
            1,
        ),
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    });
    assert_eq!(get(&server, "/healthz"), (200, "ok\n".into()));
    assert_eq!(get(&server, "/readyz"), (200, "ready\n".into()));

    // The source's file turns into garbage: the poll fails and clients keep their cards.
    std::fs::write(server.path("staff.csv"), b"\"unterminated").expect("write");
    eventually_within(
        &server,
        "the failure in /metrics",
        Duration::from_secs(20),
        || {
            let (_, text) = get(&server, "/metrics");
            sample(&text, "cardbridge_source_up{source=\"staff\"}") == Some(0.0)
                && sample(
                    &text,
                    "cardbridge_source_consecutive_failures{source=\"staff\"}",
                )
                .is_some_and(|n| n >= 1.0)
        },
    );
    eventually_within(&server, "not ready", Duration::from_secs(20), || {
        get(&server, "/readyz").0 == 503
    });
    let (_, why) = get(&server, "/readyz");
    assert!(why.contains("source staff: failing"), "{why}");
    assert_eq!(get(&server, "/healthz").0, 200);
    assert_eq!(
        server.listing().len(),
        1,
        "the failing source emptied the book"
    );

    // Repaired, the replica is ready again.
    let csv = google_csv(&rows);
    std::fs::write(server.path("staff.csv"), csv).expect("write");
    eventually_within(&server, "ready again", Duration::from_secs(20), || {
        get(&server, "/readyz").0 == 200
    });
}

/// Behind a reverse proxy: only a trusted proxy's `X-Forwarded-For` names the client, in the
/// request log and for `metrics_allow`.
#[test]
fn only_a_trusted_proxy_names_the_client() {
    let rows = vec![google_row("Ann", "Lee", "Corp", "ann@corp.example", "")];
    let server = Server::start(ServerSpec {
        config: standard_config("").replacen(
            "[server]\n",
            "[server]\ntrusted_proxies = [\"127.0.0.2\"]\nmetrics_allow = [\"192.0.2.10\"]\n",
            1,
        ),
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    });
    let forwarded = [("X-Forwarded-For", "192.0.2.10")];
    // From the proxy: the forwarded address is the client (and may scrape).
    let r = Conn::open_from(Ipv4Addr::new(127, 0, 0, 2), server.port)
        .send("GET", "/metrics", &forwarded, b"");
    assert_eq!(r.status, 200);
    // From anyone else the header counts for nothing.
    let r = Conn::open(server.port).send("GET", "/metrics", &forwarded, b"");
    assert_eq!(r.status, 404);
    // The log line follows the reply.
    eventually_within(
        &server,
        "both requests logged",
        Duration::from_secs(10),
        || {
            let log = server.log();
            log.contains("client=192.0.2.10 method=GET path=/metrics status=200")
                && log.contains("client=127.0.0.1 method=GET path=/metrics status=404")
        },
    );
}
