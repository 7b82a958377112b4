//! The durable store through the real server: restarts, replicas, retention, truncation,
//! the removal guard, slow sources, SIGKILL mid-poll and damaged state files.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::cards::{eventually, eventually_within};
use support::server::{run_cli, standard_config, write_atomically, FIFO};
use support::{google_csv, google_row, sync_body, Multistatus, Server, ServerSpec};

fn people(range: std::ops::Range<usize>, title: &str) -> Vec<String> {
    range
        .map(|i| {
            let (name, email) = (format!("P{i:04}"), format!("p{i}@example.com"));
            google_row(&name, "Test", title, &email, "")
        })
        .collect()
}

const STATE: &str = "\n[store]\nstate_dir = \"state\"\n";

/// A server with a state directory that notices file changes within 20 ms.
fn durable(extra: &str, rows: &[String]) -> Server {
    Server::start(ServerSpec {
        config: fast(standard_config(&format!("{STATE}{extra}"))),
        files: vec![("staff.csv".into(), google_csv(rows).into_bytes())],
    })
}

fn fast(config: String) -> String {
    config.replace(
        "check_interval = \"1s\"",
        "check_interval = \"20ms\"\ndebounce = \"20ms\"",
    )
}

fn delta(server: &Server, token: &str) -> Multistatus {
    let r = server.report(&server.book_path(), &sync_body(token, false));
    assert_eq!(r.status, 207, "{}", r.text());
    Multistatus::parse(&r.body)
}

#[test]
fn a_restart_with_every_source_down_serves_the_same_state() {
    let mut server = durable("", &people(0..20, "Example"));
    let token1 = server.token();
    let mut rows = people(0..20, "Example");
    rows[3] = google_row(
        "P0003",
        "Test",
        "Example",
        "p3@example.com",
        "(650) 253-0000",
    );
    rows.pop();
    let token2 = server.rewrite_and_wait("staff.csv", &google_csv(&rows), &token1);
    let before = server.listing();

    std::fs::remove_file(server.path("staff.csv")).expect("source goes away");
    server.restart(&[]);
    assert_eq!(server.token(), token2);
    assert_eq!(server.listing(), before);
    let d = delta(&server, &token1);
    assert_eq!(d.present().len(), 1, "the edited card");
    assert_eq!(
        d.with_status("HTTP/1.1 404 Not Found").len(),
        1,
        "the removed card"
    );
    assert_eq!(d.sync_token, Some(token2));
}

#[test]
fn two_replicas_issue_the_same_tokens_and_answer_each_others() {
    let rows = people(0..30, "Example");
    let a = durable("", &rows);
    let b = durable("", &rows);
    assert_eq!(a.token(), b.token());
    assert_eq!(a.listing(), b.listing());
    let token = a.token();
    let mut edited = rows.clone();
    edited.truncate(25);
    edited.push(google_row(
        "New",
        "Person",
        "Example",
        "new@example.com",
        "",
    ));
    let csv = google_csv(&edited);
    let new_a = a.rewrite_and_wait("staff.csv", &csv, &token);
    let new_b = b.rewrite_and_wait("staff.csv", &csv, &token);
    assert_eq!(new_a, new_b);
    // A token from replica A gets the right delta from replica B, and vice versa.
    let from_b = delta(&b, &token);
    let from_a = delta(&a, &token);
    assert_eq!(from_b.present(), from_a.present());
    assert_eq!(from_b.with_status("HTTP/1.1 404 Not Found").len(), 5);
    assert_eq!(from_b.present().len(), 1);
}

#[test]
fn tokens_older_than_the_retained_log_get_valid_sync_token() {
    let server = durable("change_log_entries = 3\n", &people(0..5, "Example"));
    let oldest = server.token();
    let mut token = oldest.clone();
    let mut tokens = Vec::new();
    for round in 0..4 {
        let rows = people(0..5, &format!("Org{round}"));
        token = server.rewrite_and_wait("staff.csv", &google_csv(&rows), &token);
        tokens.push(token.clone());
    }
    let r = server.report(&server.book_path(), &sync_body(&oldest, false));
    assert_eq!(r.status, 403);
    assert!(r.text().contains("valid-sync-token"));
    // The most recent ones still work.
    assert_eq!(delta(&server, &tokens[2]).present().len(), 5);
}

#[test]
fn the_state_file_stays_bounded_over_1000_changing_polls() {
    let server = durable("change_log_entries = 20\n", &people(0..10, "Example"));
    let mut token = server.token();
    let state_file = server.path("state/cardbridge.redb");
    let mut size_at_100 = 0;
    for round in 0..1000 {
        // One card changes each time.
        let mut rows = people(0..10, "Example");
        let (name, email) = (
            format!("P{:04}", round % 10),
            format!("p{}@example.com", round % 10),
        );
        let phone = format!("+1 650 253 {:04}", round);
        rows[round % 10] = google_row(&name, "Test", "Example", &email, &phone);
        token = server.rewrite_and_wait("staff.csv", &google_csv(&rows), &token);
        if round == 99 {
            size_at_100 = std::fs::metadata(&state_file).expect("state file").len();
        }
    }
    let size = std::fs::metadata(&state_file).expect("state file").len();
    assert!(
        size <= size_at_100 * 2 + 256 * 1024,
        "grew from {size_at_100} to {size} bytes"
    );
    assert_eq!(server.listing().len(), 10);
}

/// Follows resume tokens until no 507 comes back; returns every href reported (in order)
/// and the final token.
fn walk(server: &Server, mut token: String, limit: usize) -> (Vec<String>, String) {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let body = format!(
            r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:limit><D:nresults>{limit}</D:nresults></D:limit><D:prop><D:getetag/></D:prop></D:sync-collection>"#
        );
        let r = server.report(&server.book_path(), &body);
        assert_eq!(r.status, 207, "{}", r.text());
        let ms = Multistatus::parse(&r.body);
        token = ms.sync_token.clone().expect("every answer carries a token");
        let truncated = ms
            .by_href(&server.book_path())
            .is_some_and(|r| r.status.as_deref() == Some("HTTP/1.1 507 Insufficient Storage"));
        let members: Vec<String> = ms
            .responses
            .iter()
            .map(|r| r.href.clone())
            .filter(|h| *h != server.book_path())
            .collect();
        assert!(members.len() <= limit);
        seen.extend(members);
        if !truncated {
            return (seen, token);
        }
    }
    panic!("never finished");
}

#[test]
fn truncated_syncs_walk_the_whole_change_set_without_loss_or_duplicates() {
    let server = durable("", &people(0..1000, "Example"));
    let (seen, token) = walk(&server, String::new(), 100);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 1000);
    assert_eq!(unique.len(), 1000);
    assert_eq!(token, server.token());

    // 300 changes (100 edits, 100 removals, 100 additions) from a mid-way token.
    let mut rows = people(0..900, "Example");
    for (i, row) in rows.iter_mut().take(100).enumerate() {
        let (name, email) = (format!("P{i:04}"), format!("p{i}@example.com"));
        *row = google_row(&name, "Test", "Example", &email, "+1 650 253 0000");
    }
    rows.extend(people(1000..1100, "Example"));
    let new_token = server.rewrite_and_wait("staff.csv", &google_csv(&rows), &token);
    let (seen, last) = walk(&server, token, 100);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (300, 300));
    assert_eq!(last, new_token);
}

#[test]
fn a_mass_removal_is_held_until_accepted() {
    let server = durable("", &people(0..100, "Example"));
    let token = server.token();
    write_atomically(
        &server.path("staff.csv"),
        google_csv(&people(0..10, "Example")).as_bytes(),
    );
    eventually_within(&server, "the removal held", Duration::from_secs(20), || {
        server.log().contains("held")
    });
    // Clients see nothing of it.
    assert_eq!(server.token(), token);
    assert_eq!(server.listing().len(), 100);
    assert!(delta(&server, &token).responses.is_empty());
    let (code, out, err) = run_cli(&["status", "-c", &server.config_path()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("book staff: 100 cards") && out.contains("HELD"),
        "{out}"
    );
    assert!(out.contains("remove 90 of 100"), "{out}");
    // Names of the cards it would remove (ten of them), so a wrong filter shows.
    let sample = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("it removes e.g. "))
        .unwrap_or_else(|| panic!("names in\n{out}"));
    assert_eq!(sample.split(", ").count(), 10, "{out}");
    assert!(
        sample
            .split(", ")
            .all(|n| n.ends_with(" Test") && n >= "P0010"),
        "only removed cards: {out}"
    );

    let (code, _, err) = run_cli(&["accept", "-c", &server.config_path(), "--book", "staff"]);
    assert_eq!(code, 0, "{err}");
    eventually_within(
        &server,
        "the removal published",
        Duration::from_secs(20),
        || server.token() != token,
    );
    let d = delta(&server, &token);
    assert_eq!(d.with_status("HTTP/1.1 404 Not Found").len(), 90);
    assert!(d.present().is_empty());
    let (_, out, _) = run_cli(&["status", "-c", &server.config_path()]);
    assert!(
        out.contains("book staff: 10 cards") && !out.contains("HELD"),
        "{out}"
    );
}

/// The standard book of 3 people (`state` is added to the config) and a book `stuck` whose
/// CSV is a FIFO nobody writes: a source that never gives a listing (it is refused, as a
/// FIFO could block a reader for good).
fn with_a_failing_source(state: &str) -> Server {
    let extra = r#"
[[source]]
id = "stuck"
kind = "csv"
path = "stuck.csv"
timeout = "1s"

[[addressbook]]
id = "stuck"
sources = ["stuck"]
readers = ["*"]
"#;
    let spec = ServerSpec {
        config: fast(standard_config(&format!("{state}{extra}"))),
        files: vec![
            (
                "staff.csv".into(),
                google_csv(&people(0..3, "Example")).into_bytes(),
            ),
            ("stuck.csv".into(), FIFO.to_vec()),
        ],
    };
    Server::start_ready(spec, 1)
}

#[test]
fn a_book_whose_source_never_gave_a_listing_is_503_never_empty() {
    // No state file and a source that never gives a listing: an empty 207 would make a phone
    // that synced before the restart delete every card.
    let server = with_a_failing_source("");
    let stuck = server.book_path().replace("/staff/", "/stuck/");
    let sync = server.report(&stuck, &sync_body("", false));
    assert_eq!(sync.status, 503, "{}", sync.text());
    assert_eq!(sync.header("retry-after"), Some("30"));
    let propfind = server.propfind(&stuck, "1", "");
    assert_eq!(propfind.status, 503, "{}", propfind.text());
    assert_eq!(
        delta(&server, "").present().len(),
        3,
        "the other book is served"
    );
}

#[test]
fn a_failing_source_delays_nothing_else() {
    let server = with_a_failing_source(STATE);
    let token = server.token();
    let new = server.rewrite_and_wait("staff.csv", &google_csv(&people(0..4, "Example")), &token);
    assert_ne!(new, token);
    eventually_within(
        &server,
        "status naming the failure",
        Duration::from_secs(20),
        || {
            let (_, out, _) = run_cli(&["status", "-c", &server.config_path()]);
            out.contains("source stuck: FAILING") && out.contains("not a regular file")
        },
    );
}

#[test]
fn a_stuck_source_polled_again_and_again_keeps_no_threads() {
    // A FIFO nobody writes blocks a reader in open(); a timeout cannot interrupt that, and
    // each retry used to leave one more thread blocked for good.
    let server = with_a_failing_source(STATE);
    let before = server.threads();
    let failures = 5;
    let mut out = String::new();
    let failed_in_a_row = format!("source stuck: FAILING (unreadable, {failures} in a row");
    eventually_within(&server, &failed_in_a_row, Duration::from_secs(120), || {
        out = run_cli(&["status", "-c", &server.config_path()]).1;
        out.contains(&failed_in_a_row)
    });
    assert!(out.contains("stuck.csv is not a regular file"), "{out}");
    let after = server.threads();
    assert!(
        after < before + 3,
        "{failures} failed polls took the server from {before} to {after} threads"
    );
}

#[test]
fn sigkill_during_a_poll_leaves_the_old_or_the_new_state() {
    // Same people (same uids), every phone number changed: a 3000-card update that the
    // removal guard has no reason to hold.
    let old_rows = people(0..3000, "Example");
    let new_rows: Vec<String> = (0..3000)
        .map(|i| {
            let (name, email) = (format!("P{i:04}"), format!("p{i}@example.com"));
            google_row(
                &name,
                "Test",
                "Example",
                &email,
                &format!("+1 650 253 {:04}", i),
            )
        })
        .collect();
    let mut outcomes = BTreeSet::new();
    let mut server = durable("", &old_rows);
    let old_token = server.token();
    let old_listing = server.listing();
    // From before the poll starts, through parsing and publishing, to after the new state is
    // served (None: waits for it, so the new outcome is exercised however slow the machine).
    for delay_ms in [Some(0u64), Some(150), Some(400), Some(900), None] {
        write_atomically(&server.path("staff.csv"), google_csv(&new_rows).as_bytes());
        match delay_ms {
            Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
            None => {
                eventually_within(&server, "the new rows", Duration::from_secs(60), || {
                    server.token() != old_token
                });
            }
        }
        server.kill();
        // Restart with the source unreadable, so what is served is what was persisted.
        std::fs::remove_file(server.path("staff.csv")).expect("remove");
        server.restart(&[]);
        let token = server.token();
        let now = server.listing();
        outcomes.insert(token == old_token);
        if token == old_token {
            assert_eq!(now, old_listing);
        } else {
            assert_eq!(now.len(), 3000);
            assert!(
                now.values()
                    .all(|etag| !old_listing.values().any(|o| o == etag)),
                "a mix of old and new cards"
            );
            let d = delta(&server, &old_token);
            assert_eq!(d.present().len(), 3000);
        }
        // Back to the old data for the next round.
        write_atomically(&server.path("staff.csv"), google_csv(&old_rows).as_bytes());
        eventually(&server, "the old rows back", || server.token() == old_token);
    }
    assert!(
        outcomes.contains(&true) && outcomes.contains(&false),
        "both outcomes were exercised"
    );
}

#[test]
fn damaged_state_files_are_refused_with_the_way_out() {
    let mut server = durable("", &people(0..5, "Example"));
    let token = server.token();
    server.kill();
    let file = server.path("state/cardbridge.redb");
    let mut bytes = std::fs::read(&file).expect("state file");
    let len = bytes.len();
    bytes.truncate(len / 3);
    std::fs::write(&file, &bytes).expect("truncate");
    let (code, _, err) = run_cli(&["serve", "-c", &server.config_path()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cardbridge.redb") && err.contains("--reset-state"),
        "{err}"
    );
    server.restart(&["--reset-state"]);
    eventually_within(
        &server,
        "rebuilt from the sources",
        Duration::from_secs(20),
        || server.token() == token,
    );
}

/// 4 KiB pages of the state file that hold anything (redb leaves most of a new file zero).
fn used_pages(bytes: &[u8]) -> Vec<usize> {
    bytes
        .chunks(4096)
        .enumerate()
        .filter(|(_, page)| page.iter().any(|b| *b != 0))
        .map(|(i, _)| i * 4096)
        .collect()
}

#[test]
fn a_damaged_state_file_is_refused_or_serves_the_exact_previous_cards_never_fewer() {
    let mut server = durable("", &people(0..40, "Example"));
    let token = server.token();
    let listing = server.listing();
    server.kill();
    std::fs::remove_file(server.path("staff.csv")).expect("the source goes away");
    let file = server.path("state/cardbridge.redb");
    let pristine = std::fs::read(&file).expect("state file");
    let pages = used_pages(&pristine);
    assert!(pages.len() > 2, "{} used pages", pages.len());
    // Every used page (bounded), each once with flipped bits mid-page and once zeroed.
    let step = pages.len().div_ceil(24);
    let mut refused = 0;
    for (&page, zero) in pages
        .iter()
        .step_by(step)
        .flat_map(|p| [(p, false), (p, true)])
    {
        let mut bytes = pristine.clone();
        let end = (page + 4096).min(bytes.len());
        let region = bytes.get_mut(page..end).expect("page in file");
        if zero {
            region.fill(0);
        } else {
            for b in region.iter_mut().skip(13).step_by(97) {
                *b ^= 0x5a;
            }
        }
        if bytes == pristine {
            continue;
        }
        std::fs::write(&file, &bytes).expect("damage");
        let what = format!(
            "{} at offset {page}",
            if zero { "zeroed" } else { "flipped" }
        );
        match server.try_restart(&[]) {
            Err(log) => {
                refused += 1;
                assert!(
                    log.contains("cardbridge.redb") && log.contains("--reset-state"),
                    "{what}: refused without naming the file and the way out:\n{log}"
                );
            }
            Ok(()) => {
                assert_eq!(server.token(), token, "{what}:\n{}", server.log());
                assert_eq!(server.listing(), listing, "{what}:\n{}", server.log());
            }
        }
    }
    assert!(refused > 0, "some damage is noticed");
}

#[test]
fn a_full_disk_fails_publishes_until_space_returns_then_they_resume_by_themselves() {
    let mut server = durable("", &people(0..20, "Example"));
    let token = server.token();
    let listing = server.listing();
    let file = server.path("state/cardbridge.redb");
    let size = std::fs::metadata(&file).expect("state file").len();
    server.limit_file_size(Some(size));
    // Far more than fits in the file as it is.
    let many = people(0..3000, "Example");
    write_atomically(&server.path("staff.csv"), google_csv(&many).as_bytes());
    eventually(&server, "two refused publications", || {
        server.log().matches("not published").count() >= 2
    });
    // Clients keep the last persisted book, and the log gives the right advice.
    assert_eq!(server.token(), token);
    assert_eq!(server.listing(), listing);
    let log = server.log();
    let failure = log
        .lines()
        .find(|l| l.contains("not published"))
        .expect("logged");
    assert!(!failure.contains("--reset-state"), "{failure}");
    assert!(failure.contains("space"), "{failure}");

    server.limit_file_size(None);
    eventually(&server, "recovery", || server.token() != token);
    let published = server.token();
    assert_eq!(server.listing().len(), 3000);
    std::fs::remove_file(server.path("staff.csv")).expect("the source goes away");
    server.restart(&[]);
    assert_eq!(server.token(), published);
}
