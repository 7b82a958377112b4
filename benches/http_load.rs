//! HTTP load benchmark: N generated contacts served by the real release binary,
//! measured from load threads in this process over raw HTTP/1.1 keep-alive connections.
//!
//! Per size: time-to-ready (spawn → "published book=" in the log), server RSS, an initial sync
//! (empty-token sync-collection + addressbook-multiget in batches of 100, one client), then at
//! 16 connections: GET one card, the no-change sync-collection poll, PROPFIND Depth 1 getetag
//! and an addressbook-query text-match; then the no-change poll on a new connection per request
//! (what a phone polling every few minutes costs) and the server memory per idle keep-alive
//! connection; finally a restart on the persisted state (time to the first PROPFIND answering
//! the same sync-token). When nginx is installed, the same card bytes are served as a static
//! file and GET is measured against it in the same run. When Radicale and Xandikos are
//! installed (`pip install radicale xandikos`, or `scripts/setup.sh bench`), each serves the
//! same card bytes (see shared/peers.rs for how they are loaded and configured) and the
//! CardDAV workloads are measured on it too; the table gives cardbridge ÷ peer.
//!
//! `cargo bench --bench http_load`. Knobs (environment):
//!   HTTP_LOAD_SIZES=1000,10000,100000   contacts per run
//!   HTTP_LOAD_SECS=3                    seconds per throughput measurement
//!   HTTP_LOAD_CONNS=16                  connections (one thread each)
//!   HTTP_LOAD_ROUNDS=3                  alternating rounds of GET / nginx GET / poll (median)
//!   HTTP_LOAD_PHOTOS=1                  a small JPEG per contact (ActiveSync export, not CSV)
//!   HTTP_LOAD_NGINX=0                   skip nginx even when installed
//!   HTTP_LOAD_ONLY=get,poll,sync,propfind,query,compressed   run only these workloads
//!   HTTP_LOAD_JSON=path                 JSON output (default target/http_load.json)
//!   HTTP_LOAD_PEERS=0                   skip Radicale and Xandikos even when installed
//!   HTTP_LOAD_PEERS_MAX=10000           the largest size the peers run at (at 100,000 cards
//!                                       Radicale's first sync and PROPFIND take minutes)
//!   HTTP_LOAD_PEERS_SECS=2              seconds per peer measurement
//!   HTTP_LOAD_PEERS_TIMEOUT=30          seconds a peer's reply may take ("timeout" after)
//!   HTTP_LOAD_PEERS_SYNC_MAX=300        seconds a peer's initial sync may take
//!
//! cardbridge runs without its request log (`CARDBRIDGE_LOG=info,cardbridge::access=off`), as
//! nginx and the peers do, unless `CARDBRIDGE_LOG` is set.
//!
//! Load threads share the machine's cores with the server (and with nginx): the figures are
//! for both on one box, which is what the ratios compare.

#[path = "shared/client.rs"]
mod client;
#[path = "shared/load.rs"]
mod load;
#[path = "shared/peers.rs"]
mod peers;
#[path = "../tests/support/mod.rs"]
mod support;

use client::{request, Conn, Reply};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::procfs::proc_kib;
use support::{free_port, multiget_body, propfind_body, query_body, sync_body};

use serde_json::{json, Value};

const BOOK: &str = "/addressbooks/anonymous/directory/";
/// Above this many cards the full syncs are run fewer times (warm once, no compressed ones).
const LARGE: usize = 100_000;
/// The addressbook-query workload's filter.
const QUERY_FILTER: &str = r#"<C:filter><C:prop-filter name="FN"><C:text-match match-type="contains">Given12</C:text-match></C:prop-filter></C:filter>"#;

// ---------------------------------------------------------------------------------------------
// Knobs

struct Knobs {
    sizes: Vec<usize>,
    secs: f64,
    conns: usize,
    photos: bool,
    nginx: Option<PathBuf>,
    only: Option<Vec<String>>,
    rounds: usize,
    json: PathBuf,
    /// Radicale and Xandikos, where installed (none with HTTP_LOAD_PEERS=0).
    peers: Vec<peers::Installed>,
    /// The largest size the peers are run at.
    peers_max: usize,
    /// Seconds per peer measurement.
    peers_secs: f64,
    /// The longest a peer's reply may take before it counts as a timeout.
    peers_timeout: Duration,
    /// The longest a peer's initial sync may take.
    peers_sync_max: Duration,
}

impl Knobs {
    fn from_env() -> Knobs {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let sizes = var("HTTP_LOAD_SIZES")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().replace('_', "").parse().expect("HTTP_LOAD_SIZES"))
                    .collect()
            })
            .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
        let nginx = if var("HTTP_LOAD_NGINX").as_deref() == Some("0") {
            None
        } else {
            ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        };
        let secs =
            |name: &str, default: f64| var(name).map_or(default, |v| v.parse::<f64>().expect(name));
        let peers = if var("HTTP_LOAD_PEERS").as_deref() == Some("0") {
            println!("peers: HTTP_LOAD_PEERS=0; not compared");
            Vec::new()
        } else {
            peers::detect()
        };
        Knobs {
            sizes,
            peers,
            peers_max: var("HTTP_LOAD_PEERS_MAX").map_or(10_000, |v| {
                v.replace('_', "").parse().expect("HTTP_LOAD_PEERS_MAX")
            }),
            peers_secs: secs("HTTP_LOAD_PEERS_SECS", 2.0),
            peers_timeout: Duration::from_secs_f64(secs("HTTP_LOAD_PEERS_TIMEOUT", 30.0)),
            peers_sync_max: Duration::from_secs_f64(secs("HTTP_LOAD_PEERS_SYNC_MAX", 300.0)),
            secs: secs("HTTP_LOAD_SECS", 3.0),
            conns: var("HTTP_LOAD_CONNS").map_or(16, |v| v.parse().expect("HTTP_LOAD_CONNS")),
            photos: var("HTTP_LOAD_PHOTOS").is_some_and(|v| v != "0"),
            nginx,
            rounds: var("HTTP_LOAD_ROUNDS").map_or(3, |v| v.parse().expect("HTTP_LOAD_ROUNDS")),
            only: var("HTTP_LOAD_ONLY").map(|v| v.split(',').map(|s| s.trim().into()).collect()),
            json: var("HTTP_LOAD_JSON").map_or_else(
                || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/http_load.json"),
                PathBuf::from,
            ),
        }
    }

    fn runs(&self, workload: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|w| w == workload))
    }
}

// ---------------------------------------------------------------------------------------------
// Generated contacts

/// A Google Contacts CSV export with an `ID` key column (stable uids, names `c000042.vcf`),
/// written as it is generated (270 MB at a million contacts).
fn write_google_csv(path: &Path, n: usize) -> io::Result<()> {
    use std::io::Write as _;
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(
        b"ID,First Name,Last Name,Organization Name,Organization Title,Organization Department,\
         E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,\
         Phone 2 - Value,Address 1 - Label,Address 1 - Street,Address 1 - City,\
         Address 1 - Postal Code,Address 1 - Country\n",
    )?;
    for i in 0..n {
        let (x, p) = (200 + i / 10_000, i % 10_000);
        writeln!(
            out,
            "c{i:06},Given{i},Family{f},Example Corp,Engineer,Department {d},* Work,\
             user{i}@example.com,Work,+1 650 {x} {p:04},Mobile,+1 408 {x} {p:04},Work,\
             {i} Example Street,Mountain View,94043,US",
            f = i % 977,
            d = i % 40,
        )?;
    }
    out.flush()
}

/// The same people as an ActiveSync Sync export, each with `photo` (CSV has no photos).
fn activesync_xml(n: usize, photo: &[u8]) -> String {
    use base64::Engine;
    let photo = base64::engine::general_purpose::STANDARD.encode(photo);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Sync xmlns=\"AirSync:\" \
         xmlns:c=\"Contacts:\"><Collections><Collection><SyncKey>1</SyncKey>\
         <CollectionId>1</CollectionId><Status>1</Status><Commands>\n",
    );
    for i in 0..n {
        let (x, p) = (200 + i / 10_000, i % 10_000);
        let _ = writeln!(
            out,
            "<Add><ServerId>1:{i}</ServerId><ApplicationData><c:FirstName>Given{i}</c:FirstName>\
             <c:LastName>Family{f}</c:LastName><c:CompanyName>Example Corp</c:CompanyName>\
             <c:JobTitle>Engineer</c:JobTitle><c:Department>Department {d}</c:Department>\
             <c:Email1Address>user{i}@example.com</c:Email1Address>\
             <c:BusinessPhoneNumber>+1 650 {x} {p:04}</c:BusinessPhoneNumber>\
             <c:MobilePhoneNumber>+1 408 {x} {p:04}</c:MobilePhoneNumber>\
             <c:BusinessAddressStreet>{i} Example Street</c:BusinessAddressStreet>\
             <c:BusinessAddressCity>Mountain View</c:BusinessAddressCity>\
             <c:BusinessAddressPostalCode>94043</c:BusinessAddressPostalCode>\
             <c:Picture>{photo}</c:Picture></ApplicationData></Add>",
            f = i % 977,
            d = i % 40,
        );
    }
    out.push_str("</Commands></Collection></Collections></Sync>\n");
    out
}

/// A 128×128 portrait-like PNG (stored, uncompressed), normalized by cardbridge's own photo
/// code into the small JPEG a source would publish.
fn small_jpeg() -> Vec<u8> {
    let side = 128u32;
    let mut raw = Vec::new();
    for y in 0..side {
        raw.push(0); // filter: none
        for x in 0..side {
            let (dx, dy) = (x as i32 - 64, y as i32 - 52);
            let face = dx * dx + dy * dy < 900;
            let v = ((x * 7 + y * 13) % 61) as u8;
            raw.extend_from_slice(&if face {
                [220, 180 + v / 4, 150]
            } else {
                [40 + v, 80 + v, 140]
            });
        }
    }
    let photo =
        cardbridge_connectors::photo::normalize_photo(&png(side, &raw), &Default::default())
            .expect("photo");
    photo.data
}

fn png(side: u32, raw: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (!(crc & 1)).wrapping_add(1));
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in raw {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

// ---------------------------------------------------------------------------------------------
// Processes

/// `/proc/<pid>/stat` fields after the parenthesised command name (field 3 onwards).
fn stat_fields(pid: &str) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().map(str::to_string).collect()
}

/// User + system CPU seconds of a process (`self` for this one) and of its running children
/// (nginx's workers).
fn cpu_secs(pid: &str) -> f64 {
    // utime and stime are fields 14 and 15; ppid is field 4.
    let own = |fields: &[String]| -> f64 {
        [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
            .sum()
    };
    let mut ticks = own(&stat_fields(pid));
    if pid != "self" {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.bytes().all(|b| b.is_ascii_digit()) {
                let fields = stat_fields(&name);
                if fields.get(1).map(String::as_str) == Some(pid) {
                    ticks += own(&fields);
                }
            }
        }
    }
    #[allow(unsafe_code)]
    // SAFETY: sysconf has no preconditions.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks / ticks_per_sec as f64
}

fn stop(child: &mut Child) {
    #[allow(unsafe_code)]
    // SAFETY: the pid is our own child, not yet reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Cardbridge {
    child: Child,
    dir: PathBuf,
}

impl Cardbridge {
    fn spawn(dir: &Path) -> Cardbridge {
        Cardbridge {
            child: support::server::spawn(dir, &[]),
            dir: dir.to_path_buf(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Waits until `done` holds, failing with the log if the server exits or takes too long.
    fn wait(&mut self, what: &str, mut done: impl FnMut(&Cardbridge) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(900);
        while !done(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "cardbridge exited ({status}) before {what}:\n{}",
                    self.log()
                );
            }
            assert!(Instant::now() < deadline, "no {what}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Cardbridge {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// nginx serving `card` as a static file, `worker_processes` = cores, keep-alive.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(binary: &Path, card: &[u8]) -> Option<Nginx> {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("www")).ok()?;
        std::fs::write(root.join("www/card.vcf"), card).ok()?;
        let port = free_port();
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        #[allow(unsafe_code)]
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root;"
        } else {
            ""
        };
        let d = root.display();
        let conf = format!(
            "{user}\nworker_processes {workers};\ndaemon off;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nodelay on;\n\
             keepalive_timeout 65;\n  keepalive_requests 100000000;\n\
             open_file_cache max=64 inactive=60s;\n\
             client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n\
             fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n\
             types {{ text/vcard vcf; }}\n  charset utf-8;\n  charset_types text/vcard;\n\
             server {{ listen 127.0.0.1:{port}; root {d}/www; }}\n}}\n"
        );
        std::fs::write(root.join("nginx.conf"), conf).ok()?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&root)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut nginx = Nginx {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut conn) = Conn::open(port) {
                let req = request("GET", "/card.vcf", &[], "");
                if conn.send(&req, true).is_ok_and(|r| r.body == card) {
                    return Some(nginx);
                }
            }
            if Instant::now() > deadline || nginx.child.try_wait().ok().flatten().is_some() {
                let log = std::fs::read_to_string(root.join("error.log")).unwrap_or_default();
                eprintln!("nginx did not start; skipping it:\n{log}");
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading answers

/// The body as sent before its content coding.
fn decoded(reply: Reply) -> Vec<u8> {
    match reply.coding {
        None => reply.body,
        Some(coding) => support::http::decode(Some(&coding), &reply.body),
    }
}

/// Text of every element named `local` in a body, with any namespace prefix (`<D:href>`,
/// `<href>`, `<ns0:href>`); one pass over the body, however large.
fn elements<'a>(body: &'a str, local: &str) -> Vec<&'a str> {
    let close = format!("{local}>");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = body.get(from..).and_then(|rest| rest.find(&close)) {
        let name_end = from + at;
        let text_start = name_end + close.len();
        from = text_start;
        // The tag's start: `<` directly, or `<prefix:`.
        let before = body.get(..name_end).unwrap_or("");
        let opening = match before.strip_suffix('<') {
            Some(_) => true,
            None => before.strip_suffix(':').is_some_and(|head| {
                head.rfind('<').is_some_and(|lt| {
                    head.get(lt + 1..)
                        .is_some_and(|prefix| prefix.bytes().all(|b| b.is_ascii_alphanumeric()))
                })
            }),
        };
        if !opening {
            continue;
        }
        let rest = body.get(text_start..).unwrap_or("");
        if let Some(end) = rest.find("</") {
            found.push(rest.get(..end).unwrap_or(""));
            from = text_start + end;
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// One throughput/latency measurement.
#[derive(Default, Clone)]
struct Stats {
    requests: usize,
    errors: usize,
    /// Requests unanswered within the per-request timeout.
    timeouts: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    bytes_per_reply: f64,
    /// Server CPU seconds per 1,000 requests (user + system).
    server_cpu_ms_per_req: f64,
    /// Server CPU use over the measurement, in cores.
    server_cores: f64,
    /// This process's (the load threads') CPU use, in cores.
    client_cores: f64,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    fn json(&self) -> Value {
        json!({
            "requests": self.requests,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "seconds": round(self.secs, 3),
            "req_per_s": round(self.rps(), 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "bytes_per_reply": self.bytes_per_reply.round(),
            "server_cpu_ms_per_req": round(self.server_cpu_ms_per_req, 4),
            "server_cores": round(self.server_cores, 2),
            "client_cores": round(self.client_cores, 2),
        })
    }
}

/// The measurements that were made, under their names.
fn put_stats(out: &mut Value, named: &[(&str, &Option<Stats>)]) {
    for (name, stats) in named {
        if let Some(stats) = stats {
            out[*name] = stats.json();
        }
    }
}

/// The round with the median request rate.
fn median(mut rounds: Vec<Stats>) -> Option<Stats> {
    rounds.sort_by(|a, b| a.rps().total_cmp(&b.rps()));
    let middle = rounds.len() / 2;
    rounds.into_iter().nth(middle)
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// `conns` connections to `server` sending `req` back to back for `secs`; `expect` is the
/// status every reply should have. With `fresh`, every request goes on a new connection (as a
/// phone's poll every few minutes does), closed with a reset so the client leaves no TIME_WAIT
/// sockets. Replies slower than the server's timeout count as timeouts.
fn load_with(server: &Dav, conns: usize, secs: f64, req: &[u8], expect: u16, fresh: bool) -> Stats {
    let pid = server.pid.to_string();
    let (run, (cpu_before, client_before)) = load::run(
        conns,
        secs,
        fresh,
        || {
            let conn = Conn::open_with(server.port, server.timeout)?;
            Ok(if fresh { conn.resetting() } else { conn })
        },
        |conn| {
            conn.send(req, false)
                .map(|r| (r.status == expect).then_some(r.len))
        },
        || (cpu_secs(&pid), cpu_secs("self")),
    );
    let server_cpu = cpu_secs(&pid) - cpu_before;
    let client_cpu = cpu_secs("self") - client_before;
    let requests = run.latencies_us.len();
    Stats {
        requests,
        errors: run.errors,
        timeouts: run.timeouts,
        secs: run.secs,
        p50_ms: run.percentile_ms(0.50),
        p99_ms: run.percentile_ms(0.99),
        bytes_per_reply: run.bytes as f64 / requests.max(1) as f64,
        server_cpu_ms_per_req: server_cpu * 1000.0 / requests.max(1) as f64,
        server_cores: server_cpu / run.wall.max(1e-9),
        client_cores: client_cpu / run.wall.max(1e-9),
    }
}

fn load(server: &Dav, conns: usize, secs: f64, req: &[u8], expect: u16) -> Stats {
    load_with(server, conns, secs, req, expect, false)
}

/// Prints one measurement's line and hands it on.
fn measure(label: &str, stats: Stats) -> Stats {
    let mut trouble = String::new();
    if stats.errors > 0 {
        trouble += &format!("  ({} ERRORS)", stats.errors);
    }
    if stats.timeouts > 0 {
        trouble += &format!("  ({} TIMEOUTS)", stats.timeouts);
    }
    println!(
        "{label:<30} {:>9.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  {:>9.0} B/reply  \
         server {:.2} cores, {:.3} ms CPU/req; load threads {:.2} cores{trouble}",
        stats.rps(),
        stats.p50_ms,
        stats.p99_ms,
        stats.bytes_per_reply,
        stats.server_cores,
        stats.server_cpu_ms_per_req,
        stats.client_cores,
    );
    stats
}

/// What a client's first sync costs: sync-collection with an empty token, then
/// addressbook-multiget of every card in batches of 100, from one connection.
struct InitialSync {
    secs: f64,
    sync_secs: f64,
    cards: usize,
    bytes: usize,
    server_cpu_secs: f64,
    token: String,
    hrefs: Vec<String>,
}

/// A server under measurement: cardbridge, a peer, or nginx.
struct Dav<'a> {
    port: u16,
    pid: u32,
    book: &'a str,
    /// Sent with every request (a peer's user name).
    headers: &'a [(&'a str, &'a str)],
    /// The longest a reply may take under load.
    timeout: Duration,
}

impl Dav<'_> {
    fn request(&self, method: &str, path: &str, extra: &[(&str, &str)], body: &str) -> Vec<u8> {
        let headers: Vec<(&str, &str)> = self.headers.iter().chain(extra).copied().collect();
        request(method, path, &headers, body)
    }
}

/// With `coding`, the client asks for it (`Accept-Encoding`); `bytes` are then the coded
/// bytes on the wire. Gives up after `budget` (the wait for any one reply included).
fn initial_sync(dav: &Dav, coding: Option<&str>, budget: Duration) -> Result<InitialSync, String> {
    let mut headers = vec![("Depth", "1")];
    if let Some(coding) = coding {
        headers.push(("Accept-Encoding", coding));
    }
    let fail = |what: &str, e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            "timeout".to_string()
        } else {
            format!("{what}: {e}")
        }
    };
    let mut conn = Conn::open_with(dav.port, budget).map_err(|e| fail("connect", e))?;
    let cpu_before = cpu_secs(&dav.pid.to_string());
    let began = Instant::now();
    let listing = conn
        .send(
            &dav.request("REPORT", dav.book, &headers, &sync_body("", false)),
            true,
        )
        .map_err(|e| fail("sync-collection", e))?;
    if listing.status != 207 {
        return Err(format!("sync-collection: status {}", listing.status));
    }
    let sync_secs = began.elapsed().as_secs_f64();
    let mut bytes = listing.len;
    let text = String::from_utf8(decoded(listing)).map_err(|_| "sync-collection: not UTF-8")?;
    let token = elements(&text, "sync-token")
        .pop()
        .ok_or("sync-collection: no sync-token")?
        .to_string();
    let hrefs: Vec<String> = elements(&text, "href")
        .into_iter()
        .filter(|h| !h.ends_with('/'))
        .map(str::to_string)
        .collect();
    drop(text);
    let mut cards = 0;
    for batch in hrefs.chunks(100) {
        if began.elapsed() > budget {
            return Err("timeout".into());
        }
        let reply = conn
            .send(
                &dav.request("REPORT", dav.book, &headers, &multiget_body(batch, None)),
                true,
            )
            .map_err(|e| fail("multiget", e))?;
        if reply.status != 207 {
            return Err(format!("multiget: status {}", reply.status));
        }
        bytes += reply.len;
        let body = decoded(reply);
        cards += elements(&String::from_utf8_lossy(&body), "address-data").len();
    }
    Ok(InitialSync {
        secs: began.elapsed().as_secs_f64(),
        sync_secs,
        cards,
        bytes,
        server_cpu_secs: cpu_secs(&dav.pid.to_string()) - cpu_before,
        token,
        hrefs,
    })
}

/// Server RSS per open keep-alive connection: `n` connections, each after one `req`.
fn idle_connection_kib(port: u16, pid: u32, n: usize, req: &[u8]) -> f64 {
    std::thread::sleep(Duration::from_millis(300));
    let before = proc_kib(pid, "VmRSS:");
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(mut conn) = Conn::open(port) else {
            break;
        };
        if conn.send(req, false).is_ok() {
            open.push(conn);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = proc_kib(pid, "VmRSS:");
    let kib = after.saturating_sub(before) as f64 / open.len().max(1) as f64;
    drop(open);
    kib
}

// ---------------------------------------------------------------------------------------------
// Peers

/// Every card's exact bytes as cardbridge serves them (file name, body), over a few
/// connections.
fn fetch_cards(port: u16, hrefs: &[String]) -> Vec<(String, Vec<u8>)> {
    let began = Instant::now();
    let per_thread = hrefs.len().div_ceil(4).max(1);
    let cards: Vec<(String, Vec<u8>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = hrefs
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    let mut conn = Conn::open(port).expect("connect");
                    part.iter()
                        .map(|href| {
                            let reply = conn
                                .send(&request("GET", href, &[], ""), true)
                                .expect("GET card");
                            assert_eq!(reply.status, 200, "GET {href}");
                            let name = href.rsplit('/').next().unwrap_or(href).to_string();
                            (name, reply.body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("fetch thread"))
            .collect()
    });
    println!(
        "fetched the {} cards for the peers in {:.2} s",
        cards.len(),
        began.elapsed().as_secs_f64()
    );
    cards
}

/// What one peer did on the cards of one size.
#[derive(Default)]
struct PeerRow {
    name: &'static str,
    version: String,
    /// Why it did not run.
    error: Option<String>,
    load_s: f64,
    ready_s: f64,
    rss_ready_mb: f64,
    rss_after_mb: f64,
    peak_mb: f64,
    /// Seconds, or why not ("timeout").
    sync_first: Option<Result<f64, String>>,
    sync_again: Option<Result<f64, String>>,
    get: Option<Stats>,
    poll: Option<Stats>,
    propfind: Option<Stats>,
    query: Option<Stats>,
}

impl PeerRow {
    /// cardbridge's rate ÷ the peer's, per workload (for the initial sync: the peer's time ÷
    /// cardbridge's); `None` where either is missing or the peer answered nothing.
    fn ratios(&self, cb: &Row) -> [(&'static str, Option<f64>); 6] {
        let rate = |ours: &Option<Stats>, theirs: &Option<Stats>| match (ours, theirs) {
            (Some(a), Some(b)) if b.requests > 0 => Some(a.rps() / b.rps()),
            _ => None,
        };
        let time = |ours: Option<f64>, theirs: &Option<Result<f64, String>>| match theirs {
            Some(Ok(t)) => ours.map(|o| t / o.max(1e-9)),
            _ => None,
        };
        [
            ("get", rate(&cb.get, &self.get)),
            ("no_change_poll", rate(&cb.poll, &self.poll)),
            (
                "propfind_depth1_getetag",
                rate(&cb.propfind, &self.propfind),
            ),
            ("query_text_match", rate(&cb.query, &self.query)),
            ("initial_sync_first", time(cb.sync_s, &self.sync_first)),
            ("initial_sync_again", time(cb.sync_warm_s, &self.sync_again)),
        ]
    }

    fn json(&self, cb: &Row) -> Value {
        let sync = |r: &Option<Result<f64, String>>| match r {
            Some(Ok(secs)) => json!(round(*secs, 4)),
            Some(Err(why)) => json!(why),
            None => Value::Null,
        };
        let mut out = json!({
            "version": self.version,
            "error": self.error,
            "load_s": round(self.load_s, 3),
            "time_to_ready_s": round(self.ready_s, 3),
            "rss_ready_mb": round(self.rss_ready_mb, 1),
            "rss_after_load_mb": round(self.rss_after_mb, 1),
            "rss_peak_mb": round(self.peak_mb, 1),
            "initial_sync_first_s": sync(&self.sync_first),
            "initial_sync_again_s": sync(&self.sync_again),
        });
        put_stats(
            &mut out,
            &[
                ("get", &self.get),
                ("no_change_poll", &self.poll),
                ("propfind_depth1_getetag", &self.propfind),
                ("query_text_match", &self.query),
            ],
        );
        for (name, ratio) in self.ratios(cb) {
            out["cardbridge_ratio"][name] = json!(ratio.map(|r| round(r, 2)));
        }
        out
    }
}

/// The same workloads on a peer serving `cards`: the initial sync (cold, then again), then
/// GET of the same card, the no-change poll, PROPFIND Depth 1 getetag and the query, each
/// bounded by the peer knobs.
fn measure_peer(
    knobs: &Knobs,
    installed: &peers::Installed,
    cards: &[(String, Vec<u8>)],
    card_path: &str,
    n: usize,
) -> PeerRow {
    let mut row = PeerRow {
        name: installed.kind.name(),
        version: installed.version.clone(),
        ..PeerRow::default()
    };
    let name = row.name;
    let peer = match peers::Peer::start(installed, cards) {
        Ok(peer) => peer,
        Err(e) => {
            println!("{name}: {e}");
            row.error = Some(e);
            return row;
        }
    };
    let pid = peer.pid();
    row.load_s = peer.load_s;
    row.ready_s = peer.ready_s;
    std::thread::sleep(Duration::from_millis(300));
    row.rss_ready_mb = mb(proc_kib(pid, "VmRSS:"));
    println!(
        "\n{name} {}: {n} cards written in {:.2} s, serving after {:.2} s, RSS {:.1} MB",
        row.version, row.load_s, row.ready_s, row.rss_ready_mb
    );
    let dav = Dav {
        port: peer.port,
        pid,
        book: &peer.book,
        headers: &peer.headers,
        timeout: knobs.peers_timeout,
    };
    let budget = knobs.peers_sync_max;
    let first = initial_sync(&dav, None, budget);
    let mut token = None;
    match &first {
        Ok(sync) => {
            println!(
                "{name} initial sync: {:.3} s (sync-collection {:.3} s, server CPU {:.3} s, \
                 {:.1} MB, {} cards)",
                sync.secs,
                sync.sync_secs,
                sync.server_cpu_secs,
                sync.bytes as f64 / 1e6,
                sync.cards
            );
            if sync.cards != n {
                println!(
                    "{name}: the initial sync returned {} of {n} cards",
                    sync.cards
                );
            }
            token = Some(sync.token.clone());
            let again = initial_sync(&dav, None, budget);
            match &again {
                Ok(again) => println!("{name} initial sync again: {:.3} s", again.secs),
                Err(e) => println!("{name} initial sync again: {e}"),
            }
            row.sync_again = Some(again.map(|s| s.secs));
        }
        Err(e) => println!("{name} initial sync: {e} (budget {} s)", budget.as_secs()),
    }
    row.sync_first = Some(first.map(|s| s.secs));
    let card = format!(
        "{}{}",
        peer.book,
        card_path.rsplit('/').next().unwrap_or(card_path)
    );
    let run = |label: &str, req: Vec<u8>, expect: u16| {
        let stats = load(&dav, knobs.conns, knobs.peers_secs, &req, expect);
        Some(measure(&format!("{name} {label}"), stats))
    };
    if knobs.runs("get") {
        row.get = run("GET one card", dav.request("GET", &card, &[], ""), 200);
    }
    if let Some(token) = token.filter(|_| knobs.runs("poll")) {
        let body = sync_body(&token, false);
        row.poll = run(
            "no-change poll",
            dav.request("REPORT", &peer.book, &[("Depth", "1")], &body),
            207,
        );
    }
    if knobs.runs("propfind") {
        let body = propfind_body(&["D:getetag"]);
        row.propfind = run(
            "PROPFIND Depth 1 getetag",
            dav.request("PROPFIND", &peer.book, &[("Depth", "1")], &body),
            207,
        );
    }
    if knobs.runs("query") {
        let body = query_body(QUERY_FILTER, true);
        row.query = run(
            "query FN contains Given12",
            dav.request("REPORT", &peer.book, &[("Depth", "1")], &body),
            207,
        );
    }
    row.rss_after_mb = mb(proc_kib(pid, "VmRSS:"));
    row.peak_mb = mb(proc_kib(pid, "VmHWM:"));
    println!(
        "{name} RSS after the load {:.1} MB (peak {:.1} MB)",
        row.rss_after_mb, row.peak_mb
    );
    row
}

fn config(port: u16, photos: bool) -> String {
    let source = if photos {
        "kind = \"activesync\"\npath = \"exports\"\n"
    } else {
        "kind = \"csv\"\npath = \"contacts.csv\"\nformat = \"google\"\nkey_column = \"ID\"\n\
         default_region = \"US\"\n"
    };
    format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\n\n[store]\nstate_dir = \"state\"\n\n\
         [[source]]\nid = \"directory\"\n{source}poll_interval = \"1h\"\n\n\
         [[addressbook]]\nid = \"directory\"\nname = \"Directory\"\nsources = [\"directory\"]\n"
    )
}

struct SizeResult {
    json: Value,
    row: Row,
}

#[derive(Default)]
struct Row {
    size: usize,
    ready_s: f64,
    rss_ready_mb: f64,
    rss_after_mb: f64,
    peak_mb: f64,
    sync_s: Option<f64>,
    sync_warm_s: Option<f64>,
    get: Option<Stats>,
    nginx_get: Option<Stats>,
    poll: Option<Stats>,
    poll_connect: Option<Stats>,
    idle_conn_kib: Option<f64>,
    propfind: Option<Stats>,
    query: Option<Stats>,
    restart_s: f64,
    restart_rss_mb: f64,
    peers: Vec<PeerRow>,
    /// The whole size's run, the peers included.
    wall_s: f64,
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn run_size(knobs: &Knobs, n: usize, photo: Option<&[u8]>) -> SizeResult {
    let size_began = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let generated = Instant::now();
    match photo {
        Some(photo) => {
            std::fs::create_dir_all(root.join("exports")).expect("exports");
            std::fs::write(root.join("exports/001.xml"), activesync_xml(n, photo)).expect("xml");
        }
        None => write_google_csv(&root.join("contacts.csv"), n).expect("csv"),
    }
    let input_bytes: u64 = ["contacts.csv", "exports/001.xml"]
        .iter()
        .filter_map(|f| std::fs::metadata(root.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let port = free_port();
    std::fs::write(root.join("cardbridge.toml"), config(port, photo.is_some())).expect("config");
    println!(
        "\n== {n} contacts{} ({:.1} MB input, generated in {:.2} s)",
        if photo.is_some() { " with photos" } else { "" },
        input_bytes as f64 / 1e6,
        generated.elapsed().as_secs_f64()
    );

    let mut row = Row {
        size: n,
        ..Row::default()
    };
    let mut out = json!({ "contacts": n, "photos": photo.is_some(), "input_bytes": input_bytes });

    // Time to ready: spawn → the first publish of the book.
    let started = Instant::now();
    let mut server = Cardbridge::spawn(root);
    server.wait("the first publish", |s| {
        s.log().contains("published book=directory")
    });
    row.ready_s = started.elapsed().as_secs_f64();
    // Let the allocator settle after ingest before reading RSS.
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.pid();
    row.rss_ready_mb = mb(proc_kib(pid, "VmRSS:"));
    println!(
        "server pid {pid}: ready in {:.3} s, RSS {:.1} MB",
        row.ready_s, row.rss_ready_mb
    );

    // Initial sync: the first run renders every card (cold card cache), the next ones do not.
    let dav = Dav {
        port,
        pid,
        book: BOOK,
        headers: &[],
        timeout: Duration::from_secs(600),
    };
    let cold = initial_sync(&dav, None, dav.timeout).expect("initial sync");
    assert_eq!(cold.hrefs.len(), n, "the sync listing names every card");
    assert_eq!(cold.cards, n, "the multigets return every card");
    let mut warm = Vec::new();
    if knobs.runs("sync") {
        // Each full sync of a large book takes tens of seconds: one warm run there.
        for _ in 0..if n > LARGE { 1 } else { 2 } {
            warm.push(initial_sync(&dav, None, dav.timeout).expect("initial sync"));
        }
    }
    let warm_best = warm.iter().min_by(|a, b| a.secs.total_cmp(&b.secs));
    row.sync_s = Some(cold.secs);
    row.sync_warm_s = warm_best.map(|w| w.secs);
    println!(
        "initial sync: {:.3} s cold (sync-collection {:.3} s, server CPU {:.3} s, {:.1} MB), \
         {} warm",
        cold.secs,
        cold.sync_secs,
        cold.server_cpu_secs,
        cold.bytes as f64 / 1e6,
        warm_best.map_or("-".into(), |w| format!(
            "{:.3} s (sync-collection {:.3} s, server CPU {:.3} s)",
            w.secs, w.sync_secs, w.server_cpu_secs
        ))
    );
    out["initial_sync"] = json!({
        "cold_s": round(cold.secs, 4),
        "cold_sync_collection_s": round(cold.sync_secs, 4),
        "cold_server_cpu_s": round(cold.server_cpu_secs, 4),
        "warm_s": warm_best.map(|w| round(w.secs, 4)),
        "warm_sync_collection_s": warm_best.map(|w| round(w.sync_secs, 4)),
        "warm_server_cpu_s": warm_best.map(|w| round(w.server_cpu_secs, 4)),
        "bytes": cold.bytes,
    });

    // One card, fetched to compare with nginx serving the same bytes.
    let card_path = cold.hrefs[n / 2].clone();
    let card = Conn::open(port)
        .and_then(|mut c| c.send(&request("GET", &card_path, &[], ""), true))
        .expect("GET card");
    assert_eq!(card.status, 200);
    out["card_bytes"] = json!(card.body.len());

    let (secs, conns) = (knobs.secs, knobs.conns);
    // GET, nginx GET and the no-change poll alternate for a few rounds, so the machine's
    // noise hits all three alike; the median round of each is reported.
    let nginx = knobs
        .nginx
        .as_deref()
        .filter(|_| knobs.runs("get"))
        .and_then(|b| Nginx::start(b, &card.body));
    let get_req = request("GET", &card_path, &[], "");
    let nginx_req = request("GET", "/card.vcf", &[], "");
    let poll_req = request(
        "REPORT",
        BOOK,
        &[("Depth", "1")],
        &sync_body(&cold.token, false),
    );
    let (mut gets, mut nginx_gets, mut polls) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=knobs.rounds {
        if knobs.runs("get") {
            let stats = load(&dav, conns, secs, &get_req, 200);
            gets.push(measure(&format!("GET one card [{round}]"), stats));
        }
        if let Some(nginx) = &nginx {
            let target = Dav {
                port: nginx.port,
                pid: nginx.child.id(),
                book: "/",
                headers: &[],
                timeout: dav.timeout,
            };
            let stats = load(&target, conns, secs, &nginx_req, 200);
            nginx_gets.push(measure(&format!("nginx GET, same bytes [{round}]"), stats));
        }
        if knobs.runs("poll") {
            let stats = load(&dav, conns, secs, &poll_req, 207);
            polls.push(measure(&format!("no-change poll [{round}]"), stats));
        }
    }
    drop(nginx);
    row.get = median(gets);
    row.nginx_get = median(nginx_gets);
    row.poll = median(polls);
    if knobs.runs("propfind") {
        let req = request(
            "PROPFIND",
            BOOK,
            &[("Depth", "1")],
            &propfind_body(&["D:getetag"]),
        );
        // The first request computes the answer; the others get the copy kept with the state.
        let began = Instant::now();
        let first = Conn::open(port).and_then(|mut c| c.send(&req, false));
        assert_eq!(first.map(|r| r.status).ok(), Some(207), "PROPFIND");
        let first_s = began.elapsed().as_secs_f64();
        let began = Instant::now();
        let again = Conn::open(port).and_then(|mut c| c.send(&req, false));
        assert_eq!(again.map(|r| r.status).ok(), Some(207), "PROPFIND");
        let again_s = began.elapsed().as_secs_f64();
        println!(
            "PROPFIND Depth 1 getetag, one client: first {first_s:.3} s, again {again_s:.3} s"
        );
        out["propfind_depth1_first_s"] = json!(round(first_s, 4));
        out["propfind_depth1_again_s"] = json!(round(again_s, 4));
        row.propfind = Some(measure(
            "PROPFIND Depth 1 getetag",
            load(&dav, conns, secs, &req, 207),
        ));
        for coding in ["gzip", "zstd"] {
            let coded = request(
                "PROPFIND",
                BOOK,
                &[("Depth", "1"), ("Accept-Encoding", coding)],
                &propfind_body(&["D:getetag"]),
            );
            let stats = measure(
                &format!("PROPFIND Depth 1 getetag, {coding}"),
                load(&dav, conns, secs, &coded, 207),
            );
            out[format!("propfind_depth1_getetag_{coding}")] = stats.json();
        }
    }
    if knobs.runs("compressed") && n > LARGE {
        println!("initial sync, gzip and zstd: not run above {LARGE} cards (a minute more)");
    } else if knobs.runs("compressed") {
        // The full sync again (cards rendered already), asking for each coding: bytes on the
        // wire and server CPU against the identity sync.
        for coding in ["gzip", "zstd"] {
            let sync = initial_sync(&dav, Some(coding), dav.timeout).expect("initial sync");
            assert_eq!(sync.cards, n, "the coded multigets return every card");
            println!(
                "initial sync, {coding}: {:.3} s (server CPU {:.3} s), {:.1} MB on the wire",
                sync.secs,
                sync.server_cpu_secs,
                sync.bytes as f64 / 1e6
            );
            out[format!("initial_sync_{coding}")] = json!({
                "seconds": round(sync.secs, 4),
                "server_cpu_s": round(sync.server_cpu_secs, 4),
                "bytes": sync.bytes,
            });
        }
    }
    if knobs.runs("query") {
        let req = request(
            "REPORT",
            BOOK,
            &[("Depth", "1")],
            &query_body(QUERY_FILTER, true),
        );
        // The first query of a state builds its index.
        let began = Instant::now();
        let first = Conn::open(port).and_then(|mut c| c.send(&req, false));
        assert_eq!(first.map(|r| r.status).ok(), Some(207), "query");
        let first_s = began.elapsed().as_secs_f64();
        println!("query FN contains Given12, first: {first_s:.3} s");
        out["query_first_s"] = json!(round(first_s, 4));
        row.query = Some(measure(
            "query FN contains Given12",
            load(&dav, conns, secs, &req, 207),
        ));
    }
    // Memory after the workloads above; the connection probes below would add their own.
    row.rss_after_mb = mb(proc_kib(pid, "VmRSS:"));
    row.peak_mb = mb(proc_kib(pid, "VmHWM:"));
    println!(
        "RSS after the load {:.1} MB (peak {:.1} MB)",
        row.rss_after_mb, row.peak_mb
    );
    if knobs.runs("poll") {
        let stats = load_with(&dav, conns, secs, &poll_req, 207, true);
        row.poll_connect = Some(measure("no-change poll, new connection", stats));
        row.idle_conn_kib = Some(idle_connection_kib(port, pid, 1000, &poll_req));
        println!(
            "1000 idle keep-alive connections (one poll each): {:.1} KiB of server RSS each",
            row.idle_conn_kib.unwrap_or(0.0)
        );
        out["idle_connection_kib"] = json!(row.idle_conn_kib.map(|k| round(k, 1)));
    }
    put_stats(
        &mut out,
        &[
            ("get", &row.get),
            ("nginx_get", &row.nginx_get),
            ("no_change_poll", &row.poll),
            ("no_change_poll_new_connection", &row.poll_connect),
            ("propfind_depth1_getetag", &row.propfind),
            ("query_text_match", &row.query),
        ],
    );

    // The exact card bytes, for the peers to serve.
    let cards = if knobs.peers.is_empty() {
        Vec::new()
    } else if n > knobs.peers_max {
        println!(
            "peers: not run at {n} cards (HTTP_LOAD_PEERS_MAX={})",
            knobs.peers_max
        );
        Vec::new()
    } else {
        fetch_cards(port, &cold.hrefs)
    };

    // Restart on the persisted state: spawn → the first PROPFIND answering the same token.
    drop(server);
    let probe = request(
        "PROPFIND",
        BOOK,
        &[("Depth", "0")],
        &propfind_body(&["D:sync-token"]),
    );
    let started = Instant::now();
    let mut server = Cardbridge::spawn(root);
    let expected = format!("<D:sync-token>{}</D:sync-token>", cold.token);
    server.wait("serving after the restart", |_| {
        Conn::open(port)
            .and_then(|mut c| c.send(&probe, true))
            .is_ok_and(|r| r.status == 207 && String::from_utf8_lossy(&r.body).contains(&expected))
    });
    row.restart_s = started.elapsed().as_secs_f64();
    row.restart_rss_mb = mb(proc_kib(server.pid(), "VmRSS:"));
    println!(
        "restart: serving the persisted state (same sync-token) after {:.3} s, RSS {:.1} MB",
        row.restart_s, row.restart_rss_mb
    );
    drop(server);

    // The peers, one at a time, on the same cards, with cardbridge stopped.
    if !cards.is_empty() {
        for installed in &knobs.peers {
            let peer = measure_peer(knobs, installed, &cards, &card_path, n);
            out["peers"][installed.kind.name()] = peer.json(&row);
            row.peers.push(peer);
        }
    }
    drop(cards);

    out["time_to_ready_s"] = json!(round(row.ready_s, 4));
    out["rss_ready_mb"] = json!(round(row.rss_ready_mb, 1));
    out["rss_after_load_mb"] = json!(round(row.rss_after_mb, 1));
    out["rss_peak_mb"] = json!(round(row.peak_mb, 1));
    out["restart_serving_s"] = json!(round(row.restart_s, 4));
    out["restart_rss_mb"] = json!(round(row.restart_rss_mb, 1));
    if let (Some(get), Some(nginx)) = (&row.get, &row.nginx_get) {
        out["ratio_get_vs_nginx"] = json!(round(get.rps() / nginx.rps(), 3));
    }
    if let (Some(poll), Some(nginx)) = (&row.poll, &row.nginx_get) {
        out["ratio_poll_vs_nginx_get"] = json!(round(poll.rps() / nginx.rps(), 3));
    }
    row.wall_s = size_began.elapsed().as_secs_f64();
    out["bench_wall_s"] = json!(round(row.wall_s, 1));
    println!("{n} cards: {:.0} s of benchmark", row.wall_s);
    SizeResult { json: out, row }
}

/// `1234567.8` as `1,234,568`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A request rate, or why there is none.
fn rate_cell(stats: &Option<Stats>) -> String {
    match stats {
        Some(s) if s.requests == 0 && s.timeouts > 0 => "timeout".into(),
        Some(s) if s.rps() < 10.0 => format!("{:.1}/s", s.rps()),
        Some(s) => format!("{}/s", thousands(s.rps())),
        None => "-".into(),
    }
}

fn ratio_cell(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 10.0 => thousands(r),
        Some(r) => format!("{r:.2}"),
        None => "-".into(),
    }
}

/// A markdown table, its columns padded for the terminal; every column but the first
/// aligned right.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([header.get(i).map_or(0, |h| h.chars().count()), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}", w = *w))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    line(header.iter().map(|h| h.to_string()).collect());
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                "-".repeat(w + 2)
            } else {
                format!("{}:", "-".repeat(w + 1))
            }
        })
        .collect();
    println!("|{}|", rule.join("|"));
    for r in rows {
        line(r.clone());
    }
}

fn summary(knobs: &Knobs, rows: &[Row]) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "\nSummary ({cores} cores shared by server, load threads and nginx; {} connections, \
         {} s per measurement{})\n",
        knobs.conns,
        knobs.secs,
        if knobs.photos { "; with photos" } else { "" }
    );
    let secs = |v: Option<f64>| match v {
        Some(v) if v < 0.1 => format!("{v:.3} s"),
        Some(v) => format!("{v:.2} s"),
        None => "-".into(),
    };
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                thousands(r.size as f64),
                secs(Some(r.ready_s)),
                format!("{:.0} MB", r.rss_ready_mb),
                format!("{:.0} MB ({:.0} MB)", r.rss_after_mb, r.peak_mb),
                format!("{} ({:.0} MB)", secs(Some(r.restart_s)), r.restart_rss_mb),
                format!("{} / {}", secs(r.sync_s), secs(r.sync_warm_s)),
                format!("{:.0} s", r.wall_s),
            ]
        })
        .collect();
    print_table(
        &[
            "cards",
            "ready",
            "RSS ready",
            "RSS after the load (peak)",
            "restart → serving (RSS)",
            "initial sync, first / again",
            "bench time",
        ],
        &table,
    );

    // cardbridge ÷ each peer, side by side in one cell.
    let names: Vec<&str> = knobs.peers.iter().map(|p| p.kind.name()).collect();
    let against = |r: &Row, workload: &str| -> String {
        let cells: Vec<String> = names
            .iter()
            .map(|name| {
                let Some(peer) = r.peers.iter().find(|p| p.name == *name) else {
                    return "-".into();
                };
                let stats = match workload {
                    "get" => &peer.get,
                    "no_change_poll" => &peer.poll,
                    "propfind_depth1_getetag" => &peer.propfind,
                    "query_text_match" => &peer.query,
                    _ => &None,
                };
                let sync_failed = matches!(&peer.sync_first, Some(Err(_)));
                let timed_out = stats.as_ref().is_some_and(|s| s.requests == 0)
                    || (workload.starts_with("initial_sync") && sync_failed);
                let ratio = peer
                    .ratios(r)
                    .into_iter()
                    .find(|(w, _)| *w == workload)
                    .and_then(|(_, v)| v);
                if timed_out && ratio.is_none() {
                    "timeout".into()
                } else {
                    ratio_cell(ratio)
                }
            })
            .collect();
        cells.join(" / ")
    };
    let per = format!("÷ {}", names.join(" / "));
    let has_peers = !names.is_empty();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let ratio = |a: &Option<Stats>, b: &Option<Stats>| match (a, b) {
                (Some(a), Some(b)) if b.requests > 0 => ratio_cell(Some(a.rps() / b.rps())),
                _ => "-".into(),
            };
            let mut cells = vec![
                thousands(r.size as f64),
                rate_cell(&r.get),
                rate_cell(&r.nginx_get),
                ratio(&r.get, &r.nginx_get),
            ];
            if has_peers {
                cells.push(against(r, "get"));
            }
            cells.extend([rate_cell(&r.poll), ratio(&r.poll, &r.nginx_get)]);
            if has_peers {
                cells.push(against(r, "no_change_poll"));
            }
            cells.push(rate_cell(&r.poll_connect));
            cells.push(r.propfind.as_ref().map_or("-".into(), |p| {
                format!("{} (p50 {:.1} ms)", rate_cell(&r.propfind), p.p50_ms)
            }));
            if has_peers {
                cells.push(against(r, "propfind_depth1_getetag"));
            }
            cells.push(r.query.as_ref().map_or("-".into(), |q| {
                format!("{:.1} / {:.1} ms", q.p50_ms, q.p99_ms)
            }));
            if has_peers {
                cells.push(against(r, "query_text_match"));
                cells.push(against(r, "initial_sync_first"));
            }
            cells
        })
        .collect();
    let mut header = vec![
        "cards".to_string(),
        "GET one card".into(),
        "nginx, same bytes".into(),
        "GET ÷ nginx".into(),
    ];
    if has_peers {
        header.push(format!("GET {per}"));
    }
    header.extend(["poll, nothing changed".into(), "poll ÷ nginx GET".into()]);
    if has_peers {
        header.push(format!("poll {per}"));
    }
    header.extend([
        "poll, new connection each".into(),
        "PROPFIND Depth 1 getetag".into(),
    ]);
    if has_peers {
        header.push(format!("PROPFIND {per}"));
    }
    header.push("query p50 / p99".into());
    if has_peers {
        header.push(format!("query {per}"));
        header.push(format!("initial sync (first) {per}"));
    }
    println!();
    print_table(
        &header.iter().map(String::as_str).collect::<Vec<_>>(),
        &table,
    );

    if has_peers {
        println!(
            "\nThe peers on the same cards ({} s per measurement):\n",
            knobs.peers_secs
        );
        let sync = |r: &Option<Result<f64, String>>| match r {
            Some(Ok(v)) => secs(Some(*v)),
            Some(Err(why)) => why.clone(),
            None => "-".into(),
        };
        let table: Vec<Vec<String>> = rows
            .iter()
            .flat_map(|r| r.peers.iter().map(move |p| (r.size, p)))
            .map(|(size, p)| {
                vec![
                    format!("{} {}", p.name, p.version),
                    thousands(size as f64),
                    p.error.as_ref().map_or_else(
                        || format!("{} / {}", secs(Some(p.load_s)), secs(Some(p.ready_s))),
                        |e| e.lines().next().unwrap_or("").to_string(),
                    ),
                    format!("{:.0} MB ({:.0} MB)", p.rss_ready_mb, p.peak_mb),
                    format!("{} / {}", sync(&p.sync_first), sync(&p.sync_again)),
                    rate_cell(&p.get),
                    rate_cell(&p.poll),
                    rate_cell(&p.propfind),
                    p.query.as_ref().map_or("-".into(), |q| {
                        if q.requests == 0 {
                            rate_cell(&p.query)
                        } else {
                            format!("{:.0} / {:.0} ms", q.p50_ms, q.p99_ms)
                        }
                    }),
                ]
            })
            .collect();
        print_table(
            &[
                "server",
                "cards",
                "load / ready",
                "RSS ready (peak)",
                "initial sync, first / again",
                "GET one card",
                "poll, nothing changed",
                "PROPFIND Depth 1 getetag",
                "query p50 / p99",
            ],
            &table,
        );
    }
}

fn main() {
    // No request log, as nginx and the peers run without one (CARDBRIDGE_LOG says otherwise).
    if std::env::var_os("CARDBRIDGE_LOG").is_none() {
        std::env::set_var("CARDBRIDGE_LOG", "info,cardbridge::access=off");
    }
    let knobs = Knobs::from_env();
    let photo = knobs.photos.then(small_jpeg);
    if let Some(photo) = &photo {
        println!("photos: one {} B JPEG per contact", photo.len());
    }
    match &knobs.nginx {
        Some(path) => println!("nginx: {}", path.display()),
        None => println!("nginx: not installed (or HTTP_LOAD_NGINX=0); no ratios"),
    }
    let mut results = Vec::new();
    for &n in &knobs.sizes {
        results.push(run_size(&knobs, n, photo.as_deref()));
    }
    let rows: Vec<Row> = results
        .iter_mut()
        .map(|r| std::mem::take(&mut r.row))
        .collect();
    summary(&knobs, &rows);
    let report = json!({
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "connections": knobs.conns,
        "seconds_per_measurement": knobs.secs,
        "photos": knobs.photos,
        "nginx": knobs.nginx.as_ref().map(|p| p.display().to_string()),
        "peers": knobs
            .peers
            .iter()
            .map(|p| (p.kind.name().to_string(), json!(p.version)))
            .collect::<serde_json::Map<String, Value>>(),
        "peers_max_contacts": knobs.peers_max,
        "peers_seconds_per_measurement": knobs.peers_secs,
        "peers_request_timeout_s": knobs.peers_timeout.as_secs_f64(),
        "note": "load threads run on the same cores as the server (and nginx)",
        "cardbridge_log": std::env::var("CARDBRIDGE_LOG").ok(),
        "sizes": results.into_iter().map(|r| r.json).collect::<Vec<_>>(),
    });
    if let Some(parent) = knobs.json.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(
        &knobs.json,
        serde_json::to_string_pretty(&report).expect("JSON"),
    ) {
        Ok(()) => println!("\nJSON: {}", knobs.json.display()),
        Err(e) => eprintln!("could not write {}: {e}", knobs.json.display()),
    }
}
