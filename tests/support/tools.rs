//! The system tools the directory tests drive: finding them (servers live in /usr/sbin, often
//! not on a user's PATH) and `ldapmodify` for changes made while cardbridge runs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The path of the program `name`; panics with `install_hint` when it is not installed.
pub fn binary(name: &str, install_hint: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path.display().to_string();
        }
    }
    panic!("{name} not found: {install_hint}");
}

/// Applies LDIF change records with `ldapmodify` (simple bind as `bind_dn`); records without
/// a `changetype` are adds.
pub fn ldapmodify(url: &str, bind_dn: &str, password: &str, ldif: &str) {
    let mut child = Command::new(binary(
        "ldapmodify",
        "run scripts/setup.sh test (or: sudo apt-get install ldap-utils)",
    ))
    .args(["-x", "-a", "-H", url, "-D", bind_dn, "-w", password])
    .stdin(Stdio::piped())
    // Not read while stdin is written: a line per entry would fill the pipe and block.
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn ldapmodify");
    // A failed record ends ldapmodify early: its stderr tells why, not the broken pipe.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ldif.as_bytes());
    let out = child.wait_with_output().expect("ldapmodify");
    assert!(
        out.status.success(),
        "ldapmodify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
