//! Hostile load: one legitimate client syncing a 10,000-card book while attackers, each from
//! its own loopback address (127.0.0.10 and up), flood wrong passwords, dribble request heads,
//! try to smuggle requests with Content-Length + Transfer-Encoding, send the largest allowed
//! addressbook-queries and property lists, and oversized bodies. Shared by the test
//! (tests/hostile_load.rs, debug build, liveness) and the bench (benches/hostile_load.rs,
//! release build, figures).
//!
//! Every loop is bounded in count and by the scenario's deadline, and every socket read and
//! write has a timeout, so the scenario ends on time whatever the server does.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::http::{basic, request_head, Conn, Response};
use super::multistatus::{CARDDAV, DAV};
use super::procfs;
use super::server::{standard_config, ServerSpec};
use super::{google_csv, google_row, multiget_body, sync_body, Multistatus, Server};

/// Cards in the book the legitimate client syncs.
pub const CARDS: usize = 10_000;

/// The server's limits for the scenario: explicit, so the figures do not depend on the
/// machine's file-descriptor limit. Attackers use 14 addresses, at most 32 connections each
/// (448), under the global cap, so the legitimate client always finds room. The password
/// flood holds 24 connections, fewer than the verification queue (32): beyond pool + queue
/// logins get 503 by design, and the client's own first login could be one of them.
const SETTINGS: &str =
    "header_timeout = \"5s\"\nmax_connections = 1024\nmax_connections_per_client = 32";

/// Socket timeout of every client: a stuck server shows as a failed request, not a hang.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The real server on the standard config (alice/secret, bob/hunter2) with `SETTINGS`,
/// serving `CARDS` generated contacts.
pub fn start_server() -> Server {
    let rows: Vec<String> = (0..CARDS)
        .map(|i| {
            let (given, email) = (format!("Person{i}"), format!("p{i}@example.com"));
            google_row(&given, "Test", "Example", &email, "")
        })
        .collect();
    let listen = "listen = [\"127.0.0.1:{PORT}\"]\n";
    Server::start(ServerSpec {
        config: standard_config("").replace(listen, &format!("{listen}{SETTINGS}\n")),
        files: vec![("staff.csv".into(), google_csv(&rows).into_bytes())],
    })
}

/// What the scenario measured.
#[derive(Default)]
pub struct Report {
    /// Latency of every legitimate request, sorted.
    pub legit: Vec<Duration>,
    /// Legitimate requests whose answer was wrong or missing, with what was wrong.
    pub failures: Vec<String>,
    /// Complete initial syncs (all cards) and no-change polls the legitimate client did.
    pub syncs: u64,
    pub polls: u64,
    /// Peak of the server's VmRSS sampled every 50 ms, and its VmHWM at the end (KiB).
    pub peak_rss_kib: u64,
    pub hwm_kib: u64,
    pub peak_threads: u64,
    /// Attack → outcome (status code, or what happened to the connection) → count.
    pub attacks: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Requests a smuggling attempt got answered beyond the refused one: must stay 0.
    pub smuggled_answered: u64,
    /// Longest a dribbled head held its connection (ms).
    pub longest_slow_head_ms: u64,
    /// Attacker threads that panicked (a scenario bug): must stay 0.
    pub attacker_panics: usize,
}

impl Report {
    pub fn percentile(&self, p: f64) -> Duration {
        let index = ((self.legit.len() as f64 - 1.0) * p).round() as usize;
        self.legit.get(index).copied().unwrap_or_default()
    }

    pub fn slowest(&self) -> Duration {
        self.legit.last().copied().unwrap_or_default()
    }

    pub fn sent(&self, attack: &str) -> u64 {
        self.attacks.get(attack).map_or(0, |o| o.values().sum())
    }

    pub fn count(&self, attack: &str, outcome: &str) -> u64 {
        self.attacks
            .get(attack)
            .and_then(|o| o.get(outcome))
            .copied()
            .unwrap_or(0)
    }

    /// The figures, for the test log or the bench output.
    pub fn print(&self) {
        eprintln!(
            "legit: {} requests ({} full syncs of {CARDS} cards, {} polls), p50 {:.1} ms, \
             p99 {:.1} ms, max {:.1} ms, {} failed",
            self.legit.len(),
            self.syncs,
            self.polls,
            ms(self.percentile(0.5)),
            ms(self.percentile(0.99)),
            ms(self.slowest()),
            self.failures.len()
        );
        eprintln!(
            "server: peak RSS {:.1} MiB (sampled), VmHWM {:.1} MiB, peak threads {}",
            self.peak_rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0,
            self.peak_threads
        );
        for (attack, outcomes) in &self.attacks {
            let list: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o}: {n}")).collect();
            eprintln!(
                "attack {attack:<16} sent {:>6}  {}",
                outcomes.values().sum::<u64>(),
                list.join(", ")
            );
        }
        eprintln!(
            "smuggled requests answered: {}; longest dribbled head held {} ms; \
             attacker threads panicked: {}",
            self.smuggled_answered, self.longest_slow_head_ms, self.attacker_panics
        );
        for failure in self.failures.iter().take(10) {
            eprintln!("legit failure: {failure}");
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// State shared by the scenario's threads.
struct Scenario {
    port: u16,
    /// The legitimate client starts no new round after this.
    deadline: Instant,
    hard_stop: Instant,
    done: AtomicBool,
    attacks: Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>,
    smuggled_answered: AtomicU64,
    longest_slow_head_ms: AtomicU64,
}

impl Scenario {
    /// Whether attackers go on: until the legitimate client has finished its last round
    /// (begun before the deadline), and never past twice the duration.
    fn running(&self) -> bool {
        !self.done.load(Ordering::Relaxed) && Instant::now() < self.hard_stop
    }

    fn record(&self, attack: &'static str, outcome: impl Into<String>) {
        if let Ok(mut attacks) = self.attacks.lock() {
            *attacks
                .entry(attack)
                .or_default()
                .entry(outcome.into())
                .or_default() += 1;
        }
    }

    /// Records a request's answer: its status, or what went wrong with the connection.
    fn record_result(&self, attack: &'static str, result: &std::io::Result<Response>) {
        match result {
            Ok(r) => self.record(attack, r.status.to_string()),
            Err(e) => self.record(attack, io_outcome(e)),
        }
    }

    fn connect(&self, source: Ipv4Addr) -> std::io::Result<Conn> {
        let conn = Conn::try_open_from(source, self.port)?;
        conn.set_timeout(IO_TIMEOUT)?;
        Ok(conn)
    }
}

fn io_outcome(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted => "closed",
        WouldBlock | TimedOut => "timed out",
        ConnectionRefused => "refused",
        _ => "error",
    }
}

/// One request on `conn`, `Content-Length` framed; errors instead of panics.
fn exchange(
    conn: &mut Conn,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut request = request_head(method, path, headers, Some(body.len())).into_bytes();
    request.extend_from_slice(body);
    conn.write_raw(&request)?;
    conn.try_read_response(method == "HEAD")
}

/// The `n`th attacker address, 127.0.0.(10 + n).
fn attacker(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 10 + n)
}

/// Runs the scenario for `duration` against `server` (started by `start_server`).
pub fn run(server: &Server, duration: Duration) -> Report {
    let scenario = Scenario {
        port: server.port,
        deadline: Instant::now() + duration,
        hard_stop: Instant::now() + 2 * duration,
        done: AtomicBool::new(false),
        attacks: Mutex::default(),
        smuggled_answered: AtomicU64::new(0),
        longest_slow_head_ms: AtomicU64::new(0),
    };
    let pid = server.pid();
    let mut report = std::thread::scope(|scope| {
        let s = &scenario;
        let sampler = scope.spawn(move || sample(s, pid));
        let mut attackers = Vec::new();
        // Wrong passwords for alice: 8 addresses × 3 connections.
        for n in 0..24u8 {
            attackers.push(scope.spawn(move || password_flood(s, attacker(n / 3), n)));
        }
        attackers.push(scope.spawn(move || slow_heads(s, attacker(8))));
        attackers.push(scope.spawn(move || smuggle(s, attacker(9))));
        for n in 0..2 {
            attackers.push(scope.spawn(move || heavy_queries(s, attacker(10 + n))));
        }
        attackers.push(scope.spawn(move || unknown_properties(s, attacker(12))));
        attackers.push(scope.spawn(move || oversized_bodies(s, attacker(13))));
        let report = legit_client(s);
        s.done.store(true, Ordering::Relaxed);
        let attacker_panics = attackers
            .into_iter()
            .map(|thread| thread.join())
            .filter(Result::is_err)
            .count();
        let (peak_rss_kib, peak_threads) = sampler.join().unwrap_or_default();
        Report {
            peak_rss_kib,
            peak_threads,
            attacker_panics,
            ..report
        }
    });
    report.hwm_kib = procfs::proc_kib(pid, "VmHWM:");
    report.attacks = scenario.attacks.into_inner().unwrap_or_default();
    report.smuggled_answered = scenario.smuggled_answered.into_inner();
    report.longest_slow_head_ms = scenario.longest_slow_head_ms.into_inner();
    report
}

/// Peak VmRSS (KiB) and thread count of the server, sampled every 50 ms until the end.
fn sample(s: &Scenario, pid: u32) -> (u64, u64) {
    let (mut rss, mut threads) = (0, 0);
    while !s.done.load(Ordering::Relaxed) {
        rss = rss.max(procfs::proc_kib(pid, "VmRSS:"));
        threads = threads.max(procfs::proc_kib(pid, "Threads:"));
        std::thread::sleep(Duration::from_millis(50));
    }
    (rss, threads)
}

/// Alice from 127.0.0.1, as a phone does it: an initial sync (sync-collection from an empty
/// token, then addressbook-multiget in batches of 100), then no-change polls with the token;
/// repeated until the deadline. Every answer is checked.
fn legit_client(s: &Scenario) -> Report {
    let mut report = Report::default();
    let auth = basic("alice", "secret");
    let book = "/addressbooks/alice/staff/";
    let mut conn: Option<Conn> = None;
    let mut request = |body: &str, report: &mut Report| -> Option<Response> {
        let started = Instant::now();
        let result = match conn.take() {
            Some(c) => Ok(c),
            None => Conn::try_open_from(Ipv4Addr::LOCALHOST, s.port),
        }
        .and_then(|mut c| {
            c.set_timeout(IO_TIMEOUT)?;
            let headers = [
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/xml"),
            ];
            let r = exchange(&mut c, "REPORT", book, &headers, body.as_bytes())?;
            conn = Some(c);
            Ok(r)
        });
        report.legit.push(started.elapsed());
        match result {
            Ok(r) if r.status == 207 => Some(r),
            Ok(r) => {
                report
                    .failures
                    .push(format!("status {}: {}", r.status, r.status_line));
                None
            }
            Err(e) => {
                report.failures.push(format!("connection: {e}"));
                None
            }
        }
    };
    for _round in 0..1000 {
        if Instant::now() >= s.deadline {
            break;
        }
        let Some(r) = request(&sync_body("", false), &mut report) else {
            continue;
        };
        let listing = Multistatus::parse(&r.body);
        let hrefs: Vec<String> = listing.responses.iter().map(|r| r.href.clone()).collect();
        if hrefs.len() != CARDS {
            report
                .failures
                .push(format!("initial sync listed {} cards", hrefs.len()));
        }
        let Some(token) = listing.sync_token else {
            report
                .failures
                .push("initial sync without sync-token".into());
            continue;
        };
        let mut fetched = BTreeSet::new();
        for batch in hrefs.chunks(100) {
            let Some(r) = request(&multiget_body(batch, None), &mut report) else {
                continue;
            };
            for card in Multistatus::parse(&r.body).responses {
                let data = card.text(CARDDAV, "address-data").unwrap_or_default();
                if data.starts_with("BEGIN:VCARD") && card.text(DAV, "getetag").is_some() {
                    fetched.insert(card.href);
                }
            }
        }
        if fetched.len() == CARDS {
            report.syncs += 1;
        } else {
            report
                .failures
                .push(format!("multiget returned {} cards", fetched.len()));
        }
        for _poll in 0..5 {
            if Instant::now() >= s.deadline {
                break;
            }
            let Some(r) = request(&sync_body(&token, false), &mut report) else {
                continue;
            };
            let delta = Multistatus::parse(&r.body);
            if delta.responses.is_empty() && delta.sync_token.as_deref() == Some(token.as_str()) {
                report.polls += 1;
            } else {
                report.failures.push(format!(
                    "no-change poll answered {} changes, token {:?}",
                    delta.responses.len(),
                    delta.sync_token
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    report.legit.sort();
    report
}

/// Wrong passwords for alice, as fast as answers come, a new connection every 8 tries.
fn password_flood(s: &Scenario, source: Ipv4Addr, thread: u8) {
    let body = super::propfind_body(&["D:getetag"]);
    let mut conn = None;
    for attempt in 0..5_000u32 {
        if !s.running() {
            break;
        }
        if attempt % 8 == 0 {
            conn = None;
        }
        let mut c = match conn.take().map_or_else(|| s.connect(source), Ok) {
            Ok(c) => c,
            Err(e) => {
                s.record("password flood", io_outcome(&e));
                continue;
            }
        };
        let auth = basic("alice", &format!("guess-{thread}-{attempt}"));
        let headers = [("Authorization", auth.as_str()), ("Depth", "0")];
        let result = exchange(
            &mut c,
            "PROPFIND",
            "/addressbooks/alice/",
            &headers,
            body.as_bytes(),
        );
        s.record_result("password flood", &result);
        if result.is_ok() {
            conn = Some(c);
        }
    }
}

/// 48 connections from one address (over its cap of 32), each sending its head one byte
/// every 100 ms per connection; a connection the server closes is replaced.
fn slow_heads(s: &Scenario, source: Ipv4Addr) {
    let head = format!(
        "PROPFIND /addressbooks/alice/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(4000)
    );
    let mut slots: Vec<Option<(Conn, usize, Instant)>> = (0..48).map(|_| None).collect();
    for _round in 0..1_000 {
        if !s.running() {
            break;
        }
        for slot in &mut slots {
            match slot.take() {
                None => match s.connect(source) {
                    Ok(c) => *slot = Some((c, 0, Instant::now())),
                    Err(e) => s.record("slow heads", io_outcome(&e)),
                },
                Some((mut c, sent, opened)) => {
                    let byte = head.as_bytes().get(sent..=sent).unwrap_or(b"\r");
                    if c.write_raw(byte).is_ok() {
                        *slot = Some((c, sent + 1, opened));
                    } else {
                        // Over the address's cap the server closes at once; others are
                        // cut at the head deadline.
                        let held = opened.elapsed();
                        let ms = held.as_millis() as u64;
                        s.longest_slow_head_ms.fetch_max(ms, Ordering::Relaxed);
                        let outcome = if held < Duration::from_secs(1) {
                            "closed at once"
                        } else {
                            "cut at deadline"
                        };
                        s.record("slow heads", outcome);
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (_, _, opened) in slots.into_iter().flatten() {
        let held = opened.elapsed().as_millis() as u64;
        s.longest_slow_head_ms.fetch_max(held, Ordering::Relaxed);
        s.record("slow heads", "still open at end");
    }
}

/// Content-Length and Transfer-Encoding together, the chunked body hiding a second request
/// (bob asking for alice's principal); only the refusal may come back.
fn smuggle(s: &Scenario, source: Ipv4Addr) {
    let hidden = format!(
        "PROPFIND /addressbooks/alice/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n",
        basic("bob", "hunter2")
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{hidden}"
    );
    for _ in 0..2_000 {
        if !s.running() {
            break;
        }
        let result = s.connect(source).and_then(|mut c| {
            c.write_raw(request.as_bytes())?;
            let refused = c.try_read_response(false);
            if refused.is_ok() && c.try_read_response(false).is_ok() {
                s.smuggled_answered.fetch_add(1, Ordering::Relaxed);
            }
            refused
        });
        s.record_result("smuggling", &result);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Bob (a valid login) sending the largest addressbook-query the caps allow, 64 prop-filters
/// of 16 text-matches of 1024 bytes that match nothing, so every check runs on every card
/// (10,000 × 1,024, past the evaluation budget), and every fourth one over the caps.
fn heavy_queries(s: &Scenario, source: Ipv4Addr) {
    let text = "x".repeat(1024);
    let prop_filter = format!(
        r#"<C:prop-filter name="EMAIL">{}</C:prop-filter>"#,
        format!("<C:text-match>{text}</C:text-match>").repeat(16)
    );
    let query = |filters: usize| {
        super::query_body(
            &format!(
                r#"<C:filter test="anyof">{}</C:filter>"#,
                prop_filter.repeat(filters)
            ),
            false,
        )
    };
    let (largest, over) = (query(64), query(65));
    authenticated_loop(
        s,
        source,
        "largest query",
        "/addressbooks/bob/staff/",
        |n| {
            if n % 4 == 3 {
                over.clone()
            } else {
                largest.clone()
            }
        },
    );
}

/// Bob sending multigets naming 100 unknown properties (the cap) of 1,000 unknown cards,
/// and every fourth one 5,000 properties.
fn unknown_properties(s: &Scenario, source: Ipv4Addr) {
    let book = "/addressbooks/bob/staff/";
    let multiget = |props: usize| {
        format!(
            r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:X="urn:x"><D:prop>{}</D:prop>{}</C:addressbook-multiget>"#,
            (0..props).map(|i| format!("<X:p{i}/>")).collect::<String>(),
            (0..1000)
                .map(|i| format!("<D:href>{book}nobody-{i}.vcf</D:href>"))
                .collect::<String>()
        )
    };
    let (capped, over) = (multiget(100), multiget(5000));
    authenticated_loop(s, source, "unknown props", book, |n| {
        if n % 4 == 3 {
            over.clone()
        } else {
            capped.clone()
        }
    });
}

/// Bob's REPORTs of `body(n)` on `path`, one after another on a kept-alive connection.
fn authenticated_loop(
    s: &Scenario,
    source: Ipv4Addr,
    attack: &'static str,
    path: &str,
    body: impl Fn(u32) -> String,
) {
    let auth = basic("bob", "hunter2");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/xml"),
    ];
    let mut conn = None;
    for n in 0..2_000 {
        if !s.running() {
            break;
        }
        let mut c = match conn.take().map_or_else(|| s.connect(source), Ok) {
            Ok(c) => c,
            Err(e) => {
                s.record(attack, io_outcome(&e));
                continue;
            }
        };
        let result = exchange(&mut c, "REPORT", path, &headers, body(n).as_bytes());
        let status_507 =
            |r: &super::multistatus::Resp| r.status.as_deref().is_some_and(|s| s.contains(" 507 "));
        let truncated = result.as_ref().is_ok_and(|r| {
            r.status == 207 && Multistatus::parse(&r.body).responses.iter().any(status_507)
        });
        if truncated {
            s.record(attack, "207 truncated (507)");
        } else {
            s.record_result(attack, &result);
        }
        if result.is_ok() {
            conn = Some(c);
        }
    }
}

/// Bodies over the limits: a PROPFIND declaring 2 MiB (limit 1 MiB) and a chunked REPORT
/// streaming up to 40 MiB (limit 32 MiB) until the server stops reading.
fn oversized_bodies(s: &Scenario, source: Ipv4Addr) {
    let auth = basic("bob", "hunter2");
    let chunk = format!("10000\r\n{}\r\n", "<".repeat(0x10000));
    for n in 0..1_000 {
        if !s.running() {
            break;
        }
        let declared = n % 2 == 0;
        let result = s.connect(source).and_then(|mut c| {
            // A server that stops reading must not hold this client past the scenario.
            c.set_timeout(Duration::from_secs(5))?;
            if declared {
                let headers = [("Authorization", auth.as_str()), ("Depth", "0")];
                let head = request_head("PROPFIND", "/addressbooks/bob/", &headers, Some(2 << 20));
                c.write_raw(head.as_bytes())?;
            } else {
                let head = format!(
                    "REPORT /addressbooks/bob/staff/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
                     Transfer-Encoding: chunked\r\n\r\n"
                );
                c.write_raw(head.as_bytes())?;
                // The server answers once the limit is passed and stops reading: a failed
                // write is expected, the answer is what counts.
                for _ in 0..640 {
                    if !s.running() {
                        // Stopped mid-body: no answer is due.
                        return Err(std::io::ErrorKind::Interrupted.into());
                    }
                    if c.write_raw(chunk.as_bytes()).is_err() {
                        break;
                    }
                }
            }
            c.try_read_response(false)
        });
        let attack = if declared {
            "declared oversize"
        } else {
            "chunked oversize"
        };
        if !result
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::Interrupted)
        {
            s.record_result(attack, &result);
        }
    }
}
