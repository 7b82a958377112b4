//! Replays every fuzz corpus input (`fuzz/corpus/<target>/`) and every kept crash input
//! (`fuzz/regressions/<target>/`) through the functions the fuzz targets call, so the
//! ordinary test suite catches a regression without nightly or cargo-fuzz.

use std::path::{Path, PathBuf};

use cardbridge::fuzzing;
use cardbridge_connectors::fuzzing as sources;

#[path = "../fuzz/vcard_check.rs"]
mod vcard_check;

fn vcard_roundtrip(bytes: &[u8]) {
    let (contact, cards) = fuzzing::vcard_roundtrip(bytes);
    for (_, card) in &cards {
        vcard_check::check(&contact, card);
    }
}

/// A fuzz target's entry function.
type Run = fn(&[u8]);

const TARGETS: &[(&str, Run)] = &[
    ("csv", sources::csv),
    ("activesync", sources::activesync),
    ("google_person", sources::google_person),
    ("ldap_entry", sources::ldap_entry),
    ("dav_request", fuzzing::dav_request),
    ("filter", fuzzing::filter),
    ("vcard_roundtrip", vcard_roundtrip),
    ("state_file", fuzzing::state_file),
];

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| Some(e.ok()?.path())).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn replay(kind: &str, min_per_target: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    for (target, run) in TARGETS {
        let files = inputs(&root.join(target));
        assert!(
            files.len() >= min_per_target,
            "{kind}/{target}: {} inputs",
            files.len()
        );
        for file in files {
            let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            eprintln!("{}", file.display());
            run(&bytes);
        }
    }
}

#[test]
fn corpus_inputs_run_cleanly() {
    replay("corpus", 1);
}

#[test]
fn crash_inputs_stay_fixed() {
    replay("regressions", 0);
}
