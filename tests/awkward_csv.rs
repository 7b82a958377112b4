//! CSV files as they arrive in practice, through the real server: rewritten in place while
//! being read, with a damaged byte, with huge cells and with thousands of bad rows.

mod support;

use support::cards::{self, eventually};
use support::server::run_cli;
use support::vcard::vobject_values;
use support::{google_csv, google_row, Server};

fn ten_rows() -> Vec<String> {
    (0..10)
        .map(|i| {
            google_row(
                &format!("Person{i}"),
                "Lee",
                "Example",
                &format!("p{i}@example.com"),
                "",
            )
        })
        .collect()
}

/// Times the server has logged a failed poll.
fn failed_polls(server: &Server) -> usize {
    server.log().matches("poll failed").count()
}

#[test]
fn a_file_cut_off_while_written_in_place_removes_no_card() {
    let server = Server::with_staff("", &ten_rows());
    assert_eq!(server.listing().len(), 10);
    let whole = google_csv(&ten_rows());
    let cut = whole.find("Person4").expect("row 5");
    // An exporter truncates the file and has written 4 rows and part of the fifth: once
    // inside a quoted cell, once in an unquoted one.
    let inside_quotes = format!("{}Person4,\"Lee", &whole[..cut]);
    let mid_row = format!("{}Person4,Le", &whole[..cut]);
    for partial in [inside_quotes, mid_row] {
        let before = failed_polls(&server);
        std::fs::write(server.path("staff.csv"), &partial).expect("write in place");
        eventually(&server, "the poll of the partial file failing", || {
            failed_polls(&server) > before
        });
        assert_eq!(server.listing().len(), 10, "{partial}");
    }
    assert!(
        server.log().contains("the file ends inside a quoted cell"),
        "{}",
        server.log()
    );
    let token = server.token();
    let nine = google_csv(&ten_rows()[..9]);
    server.rewrite_and_wait("staff.csv", &nine, &token);
    assert_eq!(server.listing().len(), 9, "a complete file is published");
}

/// The Google export fixture without its byte order mark (Google writes none) and with one
/// byte of Marisol's first name damaged.
fn google_export_with_a_bad_byte() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/connectors/tests/fixtures/google-contacts.csv"
    );
    let bytes = std::fs::read(path).expect("fixture");
    let mut bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .to_vec();
    let at = bytes
        .windows(8)
        .position(|w| w == b"\nMarisol")
        .expect("Marisol's row");
    bytes.insert(at + 5, 0xFF);
    bytes
}

#[test]
fn one_bad_byte_in_a_utf8_export_changes_only_its_field() {
    let server = Server::start(support::ServerSpec {
        config: support::server::standard_config(""),
        files: vec![("staff.csv".into(), google_export_with_a_bad_byte())],
    });
    let cards: Vec<String> = cards::all(&server).into_values().collect();
    assert_eq!(cards.len(), 6);
    let fns: Vec<&str> = cards
        .iter()
        .filter_map(|c| c.lines().find_map(|l| l.strip_prefix("FN:")))
        .collect();
    for name in ["Zoë", "春樹", "Mari\u{FFFD}sol"] {
        assert!(fns.iter().any(|f| f.contains(name)), "{name} in {fns:?}");
    }
    let decision = "staff.csv: UTF-8 (1 row with invalid bytes, replaced with U+FFFD: line 2 \
                    field First Name)";
    assert!(server.log().contains(decision), "{}", server.log());
    let (code, out, _) = run_cli(&["check", "-c", &server.config_path()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(decision), "{out}");
    assert!(
        out.contains(
            ":2: field First Name: invalid bytes replaced with U+FFFD: \"Mari\u{FFFD}sol\""
        ),
        "{out}"
    );
}

const NOTE_HEADER: &str = "First Name,Last Name,E-mail 1 - Value,Notes,Website 1 - Value";

#[test]
fn a_huge_note_is_cut_with_a_marker_and_urls_keep_commas_and_semicolons() {
    let url = "https://example.com/search;type=all?q=a,b&c=1;2";
    let csv = format!(
        "{NOTE_HEADER}\nAnn,Lee,ann@example.com,\"{}\",\nBo,Chen,bo@example.com,,\"{url}\"\n",
        "Ünïcode note line. ".repeat(50_000)
    );
    assert!(csv.len() > 1024 * 1024);
    let server = Server::start(support::ServerSpec {
        config: support::server::standard_config(""),
        files: vec![("staff.csv".into(), csv.into_bytes())],
    });
    let cards = cards::all(&server);
    let ann = cards
        .values()
        .find(|c| c.contains("FN:Ann Lee"))
        .expect("Ann");
    assert!(ann.len() <= 256 * 1024, "card of {} bytes", ann.len());
    let note = ann
        .lines()
        .find_map(|l| l.strip_prefix("NOTE:"))
        .expect("NOTE");
    assert!(note.len() <= 32 * 1024, "note of {} bytes", note.len());
    assert!(
        note.ends_with("… [truncated]"),
        "{}",
        &note[note.len() - 40..]
    );
    assert!(note.starts_with("Ünïcode note line. Ünïcode"));
    assert!(
        server
            .log()
            .contains("NOTE cut from 1049999 to 32768 bytes"),
        "{}",
        server.log()
    );
    let (_, out, _) = run_cli(&["check", "-c", &server.config_path()]);
    assert!(
        out.contains("NOTE cut from 1049999 to 32768 bytes"),
        "{out}"
    );

    for version in [None, Some("4.0")] {
        let href = cards
            .iter()
            .find(|(_, c)| c.contains("FN:Bo Chen"))
            .expect("Bo")
            .0;
        let headers: Vec<(&str, &str)> = version
            .map(|_| ("Accept", "text/vcard; version=4.0"))
            .into_iter()
            .collect();
        let r = server.request("GET", href, &headers, "");
        assert_eq!(r.status, 200);
        assert_eq!(vobject_values(&r.text(), "url"), vec![url.to_string()]);
    }
}

#[test]
fn a_file_of_bad_rows_logs_a_count_not_every_row() {
    let mut rows = vec![google_row("Ann", "Lee", "Example", "ann@example.com", "")];
    // Rows with labels but no name, organisation, email or phone: skipped, each reported.
    rows.extend((0..1000).map(|_| google_row("", "", "", "", "")));
    let server = Server::with_staff("", &rows);
    assert_eq!(server.listing().len(), 1);
    let log = server.log();
    let polls = log.matches("polled").count();
    let skipped_lines = log.lines().filter(|l| l.contains("skipped ")).count();
    // Per poll: the first five rows and one line with the count of the others.
    assert!(skipped_lines <= 6 * polls, "{skipped_lines} lines:\n{log}");
    assert!(log.contains("995 more not logged"), "{log}");
    let (_, out, _) = run_cli(&["check", "-c", &server.config_path()]);
    let listed = out.lines().filter(|l| l.starts_with("  skipped ")).count();
    assert_eq!(listed, 1000, "{out}");
}

/// Times the server has published the book `staff`.
fn publications(server: &Server) -> usize {
    server.log().matches("published").count()
}

/// The ten-row staff file served with a state dir, once the status says inotify watches it.
fn watched_staff() -> Server {
    let server = Server::with_staff("\n[store]\nstate_dir = \"state\"\n", &ten_rows());
    eventually(&server, "the status naming the watch", || {
        run_cli(&["status", "-c", &server.config_path()])
            .1
            .contains("changes: live (inotify)")
    });
    server
}

/// An exporter that writes the file in place in two steps, the second within moments of the
/// first: inotify brings the change at once, and the debounce reads it once, complete. The
/// status says the file is watched.
#[test]
fn a_file_written_in_two_steps_is_published_once_and_never_half() {
    let server = watched_staff();
    let token = server.token();
    let before = publications(&server);
    let mut rows = ten_rows();
    rows.extend((10..20).map(|i| google_row(&format!("Person{i}"), "Lee", "Example", "", "")));
    let whole = google_csv(&rows);
    let (first, rest) = whole.split_at(whole.len() / 2);
    let mut file = std::fs::File::create(server.path("staff.csv")).expect("truncate");
    std::io::Write::write_all(&mut file, first.as_bytes()).expect("first half");
    std::io::Write::flush(&mut file).expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(30));
    std::io::Write::write_all(&mut file, rest.as_bytes()).expect("the rest");
    drop(file);
    eventually(&server, "the twenty rows", || server.token() != token);
    assert_eq!(server.listing().len(), 20);
    let (changed, removed, _) = cards::delta(&server, &token);
    assert_eq!((changed.len(), removed.len()), (10, 0));
    assert_eq!(publications(&server), before + 1, "{}", server.log());
    assert_eq!(failed_polls(&server), 0, "the half file was never read");
}

/// The watch starts after the first read and catches up on changes made before it ran; a
/// file untouched since that read is not read again (at 100,000 rows a read costs seconds).
#[test]
fn a_file_untouched_since_the_first_read_is_not_read_again_when_the_watch_starts() {
    let server = watched_staff();
    // Past the debounce of the watch's first wake.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let log = server.log();
    assert_eq!(log.matches("polled").count(), 1, "{log}");
}

/// `row` (a `google_row`) with `nickname` in its Nickname cell: a change that keeps the
/// card's uid (the nickname is not one of the fields the uid is made of).
fn with_nickname(row: &str, nickname: &str) -> String {
    let start = row
        .strip_suffix(",,")
        .expect("a google_row ends in two empty cells");
    format!("{start},{nickname},")
}

/// The source hands its contacts over while it reads and they are packed at once; a file cut
/// off in its very last row must still publish nothing: every card keeps its ETag, the book
/// its token.
#[test]
fn a_large_file_cut_off_in_its_last_row_changes_no_card() {
    let rows = support::staff_rows(4000);
    let server = Server::with_staff("", &rows);
    let listing = server.listing();
    assert_eq!(listing.len(), 4000);
    let token = server.token();
    let edited: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| with_nickname(row, &format!("Nick{i}")))
        .collect();
    let (last, complete) = edited.split_last().expect("rows");
    let cut = last.find("Corp").expect("the organization cell");
    let partial = format!("{}{}\"Co", google_csv(complete), &last[..cut]);
    let before = failed_polls(&server);
    std::fs::write(server.path("staff.csv"), &partial).expect("write in place");
    eventually(&server, "the poll of the cut-off file failing", || {
        failed_polls(&server) > before
    });
    assert!(
        server.log().contains("the file ends inside a quoted cell"),
        "{}",
        server.log()
    );
    assert_eq!(server.token(), token);
    assert_eq!(server.listing(), listing, "no card changed");
    server.rewrite_and_wait("staff.csv", &google_csv(&edited), &token);
    let published = server.listing();
    assert_eq!(published.len(), 4000, "the complete file is published");
    assert!(
        published
            .iter()
            .all(|(href, etag)| listing.get(href) != Some(etag)),
        "every card changed"
    );
}

/// Cut values and skipped rows are reported in the order of the file's rows, however far
/// apart they are.
#[test]
fn cut_values_and_skipped_rows_are_reported_in_file_order() {
    let long = "x".repeat(40_000);
    let mut rows = support::staff_rows(1200);
    for i in [5, 600, 1190] {
        rows[i] = with_nickname(&rows[i], &long);
    }
    for i in [3, 700, 1100] {
        rows[i] = google_row("", "", "", "", "");
    }
    let server = Server::with_staff("", &rows);
    let (_, out, _) = run_cli(&["check", "-c", &server.config_path()]);
    let cut: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("NICKNAME cut from 40000"))
        .collect();
    assert_eq!(cut.len(), 3, "{out}");
    for (line, person) in cut.iter().zip(["Person5", "Person600", "Person1190"]) {
        assert!(line.contains(person), "{line}");
    }
    let skipped: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  skipped "))
        .collect();
    assert_eq!(skipped.len(), 3, "{out}");
    // Line 1 is the header.
    for (line, at) in skipped.iter().zip([":5:", ":702:", ":1102:"]) {
        assert!(line.contains(at), "{line}");
    }
}
