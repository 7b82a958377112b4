//! HTTPS through the real server with a real TLS client (curl, openssl s_client): a sync over
//! TLS 1.2 and 1.3, a certificate renewed while a sync streams (nothing lost, the next
//! handshake gets the new certificate), a broken renewal that keeps the old one, and plain
//! HTTP redirected to HTTPS.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::cards::eventually_within;
use support::server::write_atomically;
use support::{certs, sync_body, Multistatus, Server};

const CARDS: usize = 2000;

fn start(extra_tls: &str) -> (Server, u16, tempfile::TempDir) {
    certs::tls_server(CARDS, extra_tls)
}

/// curl against the HTTPS port, trusting the test CA, as Alice.
fn curl(pki: &Path, tls_port: u16, args: &[&str]) -> Output {
    let ca = pki.join("ca.pem");
    Command::new("curl")
        .args(["--silent", "--show-error", "--cacert"])
        .arg(&ca)
        .args(["--user", "alice:secret"])
        .arg("--resolve")
        .arg(format!("localhost:{tls_port}:127.0.0.1"))
        .args(args)
        .arg(format!(
            "https://localhost:{tls_port}/addressbooks/alice/staff/"
        ))
        .stdin(Stdio::null())
        .output()
        .expect("curl (apt-get install curl)")
}

fn sync_args(body: &str) -> Vec<String> {
    vec![
        "--request".into(),
        "REPORT".into(),
        "--header".into(),
        "Content-Type: application/xml".into(),
        "--data-binary".into(),
        body.into(),
    ]
}

/// The serial number of the certificate a new TLS handshake gets.
fn served_serial(tls_port: u16) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{tls_port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"
        ))
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn file_serial(pem: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(pem)
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn cards_in(out: &Output) -> usize {
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Multistatus::parse(&out.stdout).responses.len()
}

#[test]
fn a_sync_over_tls_1_2_and_1_3_gets_every_card() {
    let (server, tls_port, pki) = start("");
    let body = sync_body("", true);
    for version in [
        ["--tlsv1.2", "--tls-max", "1.2"],
        ["--tlsv1.3", "--tls-max", "1.3"],
    ] {
        let mut args: Vec<&str> = version.to_vec();
        let sync = sync_args(&body);
        args.extend(sync.iter().map(String::as_str));
        let out = curl(pki.path(), tls_port, &args);
        assert_eq!(cards_in(&out), CARDS, "{version:?}\n{}", server.log());
    }
    // Two requests on one connection: the second reuses it (no new handshake).
    let url = format!("https://localhost:{tls_port}/addressbooks/alice/staff/");
    let out = curl(
        pki.path(),
        tls_port,
        &[
            "--request",
            "PROPFIND",
            "--header",
            "Depth: 0",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code} %{num_connects}\n",
            &url,
            "--output",
            "/dev/null",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "207 1\n207 0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Plain HTTP still answers on its own port.
    assert_eq!(server.report(&server.book_path(), &body).status, 207);
}

#[test]
fn a_certificate_renewed_during_a_sync_loses_nothing_and_a_broken_one_is_refused() {
    let (server, tls_port, pki) = start("");
    let first = file_serial(&pki.path().join("server.pem"));
    assert_eq!(served_serial(tls_port), first);

    // A slow client: the whole sync takes seconds, and the renewal lands in the middle.
    let body = sync_body("", true);
    // About 1 MB at 50 KB/s: twenty seconds, more than the five the server takes at most
    // to notice new files.
    let mut args: Vec<String> = vec!["--limit-rate".into(), "50k".into()];
    args.extend(sync_args(&body));
    let pki_path = pki.path().to_path_buf();
    let sync = std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&pki_path, tls_port, &args)
    });
    std::thread::sleep(Duration::from_millis(500));
    // Renewal: a new key and certificate from the same CA, written as certbot does.
    let renewed = tempfile::tempdir().expect("tempdir");
    std::fs::copy(pki.path().join("ca.pem"), renewed.path().join("ca.pem")).expect("ca");
    std::fs::copy(pki.path().join("ca.key"), renewed.path().join("ca.key")).expect("ca key");
    certs::issue(
        renewed.path(),
        "localhost",
        Some("DNS:localhost,IP:127.0.0.1"),
    );
    write_atomically(
        &server.path("tls/server.key"),
        &std::fs::read(renewed.path().join("server.key")).expect("key"),
    );
    write_atomically(
        &server.path("tls/server.pem"),
        &std::fs::read(renewed.path().join("server.pem")).expect("pem"),
    );
    // certbot's deploy hook would `systemctl reload`; the file watch alone is checked below.
    let hup = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    let second = file_serial(&renewed.path().join("server.pem"));
    assert_ne!(first, second);
    eventually_within(
        &server,
        "the renewed certificate",
        Duration::from_secs(20),
        || served_serial(tls_port) == second,
    );
    assert!(
        !sync.is_finished(),
        "the sync ended before the renewal was served"
    );
    let out = sync.join().expect("sync thread");
    assert_eq!(
        cards_in(&out),
        CARDS,
        "the sync in flight lost cards:\n{}",
        server.log()
    );

    // A broken renewal (the key of another certificate) keeps the working one.
    write_atomically(
        &server.path("tls/server.key"),
        &std::fs::read(pki.path().join("server.key")).expect("old key"),
    );
    eventually_within(
        &server,
        "the refusal in the log",
        Duration::from_secs(20),
        || server.log().contains("TLS certificate not reloaded"),
    );
    assert_eq!(served_serial(tls_port), second);
    let out = curl(
        pki.path(),
        tls_port,
        &sync_args(&body)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(cards_in(&out), CARDS);
}

#[test]
fn plain_http_is_redirected_to_https_when_asked() {
    let (server, tls_port, _pki) = start("redirect_plain = true\n");
    let r = server.propfind(&server.book_path(), "0", "");
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        Some(format!("https://127.0.0.1:{tls_port}{}", server.book_path()).as_str())
    );
    // Health checks on the plain port are redirected too; the HTTPS port answers them.
    let r = server.request("GET", "/healthz", &[], "");
    assert_eq!(r.status, 308);
}

/// A real CardDAV client over HTTPS, as a phone is set up: the server's root URL, the CA to
/// trust, discovery, then a full sync of the book.
#[test]
fn vdirsyncer_discovers_and_syncs_over_https() {
    let (server, tls_port, pki) = start("");
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, contacts) = support::vdirsyncer::config(
        dir.path(),
        "phone",
        r#"collections = ["from b"]"#,
        &format!("https://127.0.0.1:{tls_port}/"),
        ("alice", "secret"),
        &format!(
            "read_only = true\nverify = \"{}\"",
            pki.path().join("ca.pem").display()
        ),
    );
    std::fs::create_dir_all(contacts.join("staff")).expect("dirs");
    let (ok, out) = support::vdirsyncer::run(&config, &["discover", "phone"]);
    assert!(ok && out.contains("staff"), "{out}\n{}", server.log());
    let (ok, out) = support::vdirsyncer::run(&config, &["sync"]);
    assert!(ok, "{out}");
    let cards = std::fs::read_dir(contacts.join("staff"))
        .expect("synced")
        .count();
    assert_eq!(cards, CARDS, "{out}");
}
