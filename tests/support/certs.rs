//! A test CA and a server certificate signed by it, made with the openssl tool.

use std::path::Path;
use std::process::Command;

/// Writes `ca.pem`, `ca.key`, `server.pem` and `server.key` into `dir`. The server
/// certificate's subject is `CN=common_name`; `subject_alt_names` (openssl syntax:
/// `DNS:host,IP:127.0.0.1`) or no subjectAltName at all, as old certificates have.
pub fn make(dir: &Path, common_name: &str, subject_alt_names: Option<&str>) {
    let run = |args: &[&str]| {
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
    };
    run(&[
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
    ]);
    run(&[
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
    ]);
    let san = subject_alt_names
        .map(|names| format!("subjectAltName={names}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("ext.cnf"),
        format!("{san}basicConstraints=CA:FALSE\n"),
    )
    .expect("ext");
    run(&[
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
    ]);
}
