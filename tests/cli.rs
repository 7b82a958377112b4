//! The command line: check, export, hash-password, and config errors a user can act on.

mod support;

use support::server::{run_cli, run_cli_with_stdin};
use support::vcard::{parse_strict, version};
use support::{google_row, GOOGLE_HEADER};

fn project_with(csv: &str, extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("staff.csv"), csv).expect("csv");
    let config = format!(
        r#"
[[source]]
id = "staff"
kind = "csv"
path = "staff.csv"
default_region = "US"
{extra}
[[addressbook]]
id = "staff"
sources = ["staff"]
"#
    );
    let path = dir.path().join("cardbridge.toml");
    std::fs::write(&path, config).expect("config");
    let path = path.display().to_string();
    (dir, path)
}

fn staff_csv() -> String {
    format!(
        "{GOOGLE_HEADER}\n{}\n,,,,,,,,\n{}\n,,,,,,,,--13-45\n",
        google_row("Ann", "Lee", "Example", "ann@example.com", "(650) 253-0000"),
        google_row("Bo", "Chen", "Example", "bo@example.com", ""),
    )
}

#[test]
fn check_reports_counts_and_skipped_rows_with_file_and_line() {
    let (dir, config) = project_with(&staff_csv(), "");
    let (code, out, err) = run_cli(&["check", "-c", &config]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("source staff: 2 contacts, 2 skipped"), "{out}");
    let csv_path = dir.path().join("staff.csv").display().to_string();
    assert!(
        out.contains(&format!("skipped {csv_path}:5: field left out: Birthday")),
        "{out}"
    );
    assert!(
        out.contains(&format!("skipped {csv_path}:5: no name")),
        "{out}"
    );
    assert!(out.contains("book staff: 2 cards"), "{out}");
}

#[test]
fn check_fails_when_a_source_fails() {
    let (dir, config) = project_with(&staff_csv(), "");
    std::fs::remove_file(dir.path().join("staff.csv")).expect("remove");
    let (code, out, _) = run_cli(&["check", "-c", &config]);
    assert_eq!(code, 1);
    assert!(
        out.contains("source staff: ERROR") && out.contains("staff.csv"),
        "{out}"
    );
}

#[test]
fn export_writes_every_card_in_the_requested_version() {
    let (_dir, config) = project_with(&staff_csv(), "");
    for (flag, expected) in [(None, "3.0"), (Some("3.0"), "3.0"), (Some("4.0"), "4.0")] {
        let mut args = vec!["export", "-c", &config, "--book", "staff"];
        if let Some(v) = flag {
            args.extend(["--vcard", v]);
        }
        let (code, out, err) = run_cli(&args);
        assert_eq!(code, 0, "{err}");
        let cards: Vec<String> = out
            .split_inclusive("END:VCARD\r\n")
            .map(String::from)
            .collect();
        assert_eq!(cards.len(), 2, "{out}");
        for card in &cards {
            assert_eq!(version(card), expected);
            parse_strict(card);
        }
        assert!(out.contains("+16502530000"), "phones are normalized: {out}");
    }
    let (code, _, err) = run_cli(&["export", "-c", &config, "--book", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let (_dir, config) = project_with(&staff_csv(), "colour = \"blue\"\n");
    let (code, _, err) = run_cli(&["check", "-c", &config]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cardbridge.toml") && err.contains("colour"),
        "{err}"
    );

    let (_dir, config) = project_with(&staff_csv(), "poll_interval = \"often\"\n");
    let (code, _, err) = run_cli(&["serve", "-c", &config]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cardbridge.toml") && err.contains("poll_interval"),
        "{err}"
    );

    let (code, _, err) = run_cli(&["check", "-c", "/nonexistent/cardbridge.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/cardbridge.toml"), "{err}");
}

#[test]
fn hash_password_prints_an_argon2id_hash_and_refuses_empty_input() {
    let (code, out, _) = run_cli_with_stdin(&["hash-password"], "correct horse\n");
    assert_eq!(code, 0);
    let hash = out.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let (code, _, err) = run_cli_with_stdin(&["hash-password"], "");
    assert_ne!(code, 0);
    assert!(err.contains("empty"), "{err}");
}
