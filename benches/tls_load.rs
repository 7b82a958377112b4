//! HTTPS against plain HTTP on one server: the release binary with both listeners, 1,000 cards,
//! load threads in this process (rustls clients for HTTPS). Per transport: GET one card and the
//! unchanged poll (sync-collection with the current token) on kept-alive connections, and the
//! poll on a new connection per request (for HTTPS a full handshake each: what a phone polling
//! every few minutes costs). Load threads share the cores with the server.
//!
//! `cargo bench --bench tls_load`. Knobs: `TLS_LOAD_SECS` (5), `TLS_LOAD_CONNS` (16). The
//! request log is off unless `CARDBRIDGE_LOG` says otherwise.

#[path = "shared/client.rs"]
mod client;
#[path = "shared/load.rs"]
mod load;
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use client::Conn;

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
    fn connect(&self) -> io::Result<Conn<Stream>> {
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
        Ok(Conn::new(stream))
    }
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
    let (run, ()) = load::run(
        conns,
        secs,
        fresh,
        || target.connect(),
        |conn| {
            conn.send(req, false)
                .map(|r| (r.status == expect).then_some(r.len))
        },
        || (),
    );
    Stats {
        rate: run.rate(),
        p50_ms: run.percentile_ms(0.5),
        p99_ms: run.percentile_ms(0.99),
        errors: run.errors + run.timeouts,
    }
}

/// The benchmark's requests: authenticated, `Depth: 1`.
fn request(method: &str, path: &str, auth: &str, body: &str) -> Vec<u8> {
    client::request(
        method,
        path,
        &[("Authorization", auth), ("Depth", "1")],
        body,
    )
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
