//! The vdirsyncer client, a real CardDAV client used as an oracle.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `vdirsyncer -c config args…`: whether it succeeded, and its output.
pub fn run(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("vdirsyncer")
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .expect("vdirsyncer must be installed (scripts/test.sh installs it): python3 -m pip install vdirsyncer");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Writes a vdirsyncer config in `dir` pairing a folder `contacts/` with the CardDAV `url`:
/// `pair` goes into the `[pair NAME]` table (its collections, conflict rule) and `remote`
/// into the remote storage (e.g. `read_only = true`). Returns (config, contacts folder).
pub fn config(
    dir: &Path,
    name: &str,
    pair: &str,
    url: &str,
    (user, password): (&str, &str),
    remote: &str,
) -> (PathBuf, PathBuf) {
    let contacts = dir.join("contacts");
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            r#"[general]
status_path = "{status}"

[pair {name}]
a = "local"
b = "remote"
{pair}

[storage local]
type = "filesystem"
path = "{contacts}"
fileext = ".vcf"

[storage remote]
type = "carddav"
url = "{url}"
username = "{user}"
password = "{password}"
{remote}
"#,
            status = dir.join("status").display(),
            contacts = contacts.display(),
        ),
    )
    .expect("vdirsyncer config");
    (config, contacts)
}
