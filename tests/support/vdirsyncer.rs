//! The vdirsyncer client, a real CardDAV client used as an oracle.

use std::path::Path;
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
