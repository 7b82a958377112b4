//! A test CA and a server certificate signed by it, made with the openssl tool.

use std::path::Path;
use std::process::Command;

/// Writes `ca.pem`, `ca.key`, `server.pem` and `server.key` into `dir`. The server
/// certificate's subject is `CN=common_name`; `subject_alt_names` (openssl syntax:
/// `DNS:host,IP:127.0.0.1`) or no subjectAltName at all, as old certificates have.
pub fn make(dir: &Path, common_name: &str, subject_alt_names: Option<&str>) {
    make_ca(dir);
    issue(dir, common_name, subject_alt_names);
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `ca.pem` and `ca.key` into `dir`.
pub fn make_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=cardbridge test CA",
        ],
    );
}

/// Writes a new `server.key` and `server.pem`, signed by the CA in `dir` (a renewal when they
/// exist already).
pub fn issue(dir: &Path, common_name: &str, subject_alt_names: Option<&str>) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            &format!("/CN={common_name}"),
        ],
    );
    let san = subject_alt_names
        .map(|names| format!("subjectAltName={names}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("ext.cnf"),
        format!("{san}basicConstraints=CA:FALSE\n"),
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// A server on the standard config with `cards` generated staff cards, its plain port and an
/// HTTPS port (the certificate for localhost and 127.0.0.1 in `tls/`); `extra_tls` goes into
/// `[server.tls]`. Returns the server, the HTTPS port and the directory holding `ca.pem`.
pub fn tls_server(cards: usize, extra_tls: &str) -> (super::Server, u16, tempfile::TempDir) {
    let pki = tempfile::tempdir().expect("tempdir");
    make(pki.path(), "localhost", Some("DNS:localhost,IP:127.0.0.1"));
    let tls_port = super::free_port();
    let config = format!(
        "{}\n[server.tls]\nlisten = [\"127.0.0.1:{tls_port}\"]\ncert_file = \"tls/server.pem\"\nkey_file = \"tls/server.key\"\n{extra_tls}",
        super::server::standard_config("")
    );
    let read = |name: &str| std::fs::read(pki.path().join(name)).expect("cert file");
    let server = super::Server::start(super::ServerSpec {
        config,
        files: vec![
            (
                "staff.csv".into(),
                super::google_csv(&super::staff_rows(cards)).into_bytes(),
            ),
            ("tls/server.pem".into(), read("server.pem")),
            ("tls/server.key".into(), read("server.key")),
        ],
    });
    (server, tls_port, pki)
}
