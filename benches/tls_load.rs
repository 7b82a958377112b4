//! HTTPS against plain HTTP on one server: the release binary with both listeners, 1,000 cards,
//! load threads in this process (rustls clients for HTTPS). Per transport: GET one card and the
//! unchanged poll (sync-collection with the current token) on kept-alive connections, and the
//! poll on a new connection per request (for HTTPS a full handshake each: what a phone polling
//! every few minutes costs). Load threads share the cores with the server.
//!
//! `cargo bench --bench tls_load`. Knobs: `TLS_LOAD_SECS` (5), `TLS_LOAD_CONNS` (16). The
//! request log is off unless `CARDBRIDGE_LOG` says otherwise.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use support::{certs, sync_body};

const CARDS: usize = 1000;

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Where to connect: a plain port, or an HTTPS port with the client configuration.
#[derive(Clone)]
enum Target {
    Plain(u16),
    Tls(u16, Arc<ClientConfig>),
}

impl Target {
    fn connect(&self) -> io::Result<BufReader<Stream>> {
        let port = match self {
            Target::Plain(p) | Target::Tls(p, _) => *p,
        };
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_nodelay(true)?;
        let stream = match self {
            Target::Plain(_) => Stream::Plain(tcp),
            Target::Tls(_, config) => {
                let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
                let conn =
                    ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
                Stream::Tls(Box::new(StreamOwned::new(conn, tcp)))
            }
        };
        Ok(BufReader::with_capacity(64 * 1024, stream))
    }
}

/// Sends `req` and reads one response with a Content-Length; returns its status.
fn exchange(conn: &mut BufReader<Stream>, req: &[u8]) -> io::Result<u16> {
    conn.get_mut().write_all(req)?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(io::ErrorKind::InvalidData)?;
    let mut length = 0usize;
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    io::copy(&mut conn.take(length as u64), &mut io::sink())?;
    Ok(status)
}

struct Stats {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

fn measure(
    target: &Target,
    req: &[u8],
    expect: u16,
    conns: usize,
    secs: f64,
    fresh: bool,
) -> Stats {
    let req = Arc::new(req.to_vec());
    let start = Arc::new(Barrier::new(conns + 1));
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (req, start, target) = (Arc::clone(&req), Arc::clone(&start), target.clone());
            std::thread::spawn(move || {
                let mut conn = target.connect().expect("connect");
                let _ = exchange(&mut conn, &req);
                start.wait();
                let deadline = Instant::now() + Duration::from_secs_f64(secs);
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if fresh {
                        match target.connect() {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                    match exchange(&mut conn, &req) {
                        Ok(status) if status == expect => {
                            latencies.push(t.elapsed().as_micros() as u64)
                        }
                        _ => {
                            errors += 1;
                            match target.connect() {
                                Ok(c) => conn = c,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    start.wait();
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in threads {
        let (l, e) = t.join().expect("load thread");
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    Stats {
        rate: all.len() as f64 / secs,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        errors,
    }
}

fn request(method: &str, path: &str, auth: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\n\
         Content-Type: application/xml\r\nDepth: 1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn knob(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let secs = knob("TLS_LOAD_SECS", 5.0);
    let conns = knob("TLS_LOAD_CONNS", 16.0) as usize;
    if std::env::var_os("CARDBRIDGE_LOG").is_none() {
        std::env::set_var("CARDBRIDGE_LOG", "info,cardbridge::access=off");
    }
    let (server, tls_port, pki) = certs::tls_server(CARDS, "");
    let mut roots = RootCertStore::empty();
    let ca = CertificateDer::from_pem_file(pki.path().join("ca.pem")).expect("CA certificate");
    roots.add(ca).expect("CA");
    let client = Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );

    let auth = support::http::basic("alice", "secret");
    let card = server.listing().into_keys().next().expect("a card");
    let get = request("GET", &card, &auth, "");
    let poll = request(
        "REPORT",
        &server.book_path(),
        &auth,
        &sync_body(&server.token(), false),
    );

    println!(
        "{CARDS} cards, {conns} connections, {secs} s per measurement, 2 transports on one server"
    );
    println!("| workload | plain HTTP | HTTPS | HTTPS ÷ plain |");
    println!("|---|---:|---:|---:|");
    for (name, req, expect, fresh) in [
        ("GET one card, kept alive", &get, 200, false),
        ("unchanged poll, kept alive", &poll, 207, false),
        (
            "unchanged poll, new connection each (TLS: full handshake)",
            &poll,
            207,
            true,
        ),
    ] {
        let plain = measure(&Target::Plain(server.port), req, expect, conns, secs, fresh);
        let tls = measure(
            &Target::Tls(tls_port, Arc::clone(&client)),
            req,
            expect,
            conns,
            secs,
            fresh,
        );
        println!(
            "| {name} | {:.0}/s (p50 {:.2} ms, p99 {:.2} ms{}) | {:.0}/s (p50 {:.2} ms, p99 {:.2} ms{}) | {:.2} |",
            plain.rate,
            plain.p50_ms,
            plain.p99_ms,
            errors(plain.errors),
            tls.rate,
            tls.p50_ms,
            tls.p99_ms,
            errors(tls.errors),
            tls.rate / plain.rate.max(1.0)
        );
    }
}

fn errors(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} errors")
    }
}
