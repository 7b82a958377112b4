use std::path::PathBuf;

use super::*;
use crate::{Label, PartialDate, PhoneKind};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn settings(path: PathBuf) -> CsvSettings {
    CsvSettings {
        path,
        format: CsvFormat::Auto,
        encoding: CsvEncoding::Auto,
        delimiter: ',',
        key_column: None,
        default_region: Some("US".into()),
        multi_value_separator: " ::: ".into(),
        groups_from_categories: false,
        columns: Default::default(),
    }
}

fn parse_file(settings: CsvSettings) -> Collected {
    let bytes = std::fs::read(&settings.path).expect("fixture");
    CsvSource::new("t".into(), settings)
        .expect("settings")
        .parse(&bytes)
        .expect("parses")
}

fn find<'a>(outcome: &'a Collected, given: &str) -> &'a Contact {
    outcome
        .contacts
        .iter()
        .find(|c| c.name.given.first().map(String::as_str) == Some(given))
        .unwrap_or_else(|| panic!("no contact named {given}"))
}

#[test]
fn google_export() {
    let outcome = parse_file(settings(fixture("google-contacts.csv")));
    assert_eq!(outcome.contacts.len(), 6, "{:?}", outcome.skipped);
    let marisol = find(&outcome, "Marisol");
    assert_eq!(marisol.name.family, vec!["Ventanilla"]);
    assert_eq!(marisol.organization.as_deref(), Some("Example Widgets Ltd"));
    assert_eq!(marisol.categories, vec!["Suppliers"]);
    assert!(marisol.emails[0].preferred && marisol.emails[0].label == Some(Label::Work));
    assert_eq!(
        marisol.phones.len(),
        3,
        "two mobile numbers in one cell plus work"
    );
    assert_eq!(marisol.phones[0].kind, PhoneKind::Cell);
    assert_eq!(
        marisol.note.as_deref(),
        Some("Prefers email.\nQuarterly review in March.")
    );
    assert_eq!(marisol.addresses[0].extended, "Suite 400");
    let zoe = find(&outcome, "Zoë");
    assert_eq!(
        zoe.birthday,
        Some(PartialDate {
            year: None,
            month: 11,
            day: 3
        })
    );
    assert_eq!(
        zoe.anniversary,
        Some(PartialDate {
            year: Some(2008),
            month: 6,
            day: 21
        })
    );
    assert_eq!(zoe.phones[0].number, "+46705550199");
    assert_eq!(zoe.categories, vec!["Golf partners"]);
    let haruki = find(&outcome, "春樹");
    assert!(haruki
        .extra
        .contains(&("X-PHONETIC-FIRST-NAME".into(), "ハルキ".into())));
    assert!(haruki
        .extra
        .contains(&("X-BADGE".into(), "EXAMPLE-0042".into())));
    let kwabena = find(&outcome, "Kwabena");
    assert_eq!(kwabena.addresses.len(), 2);
    assert_eq!(kwabena.addresses[1].locality, "Salford");
    let facilities = outcome
        .contacts
        .iter()
        .find(|c| c.organization.as_deref() == Some("Example Facilities GmbH"))
        .expect("org-only row");
    assert!(facilities.name.is_empty());
}

#[test]
fn outlook_com_export_with_bom() {
    let outcome = parse_file(settings(fixture("outlook-contacts.csv")));
    assert_eq!(outcome.contacts.len(), 6, "{:?}", outcome.skipped);
    let marisol = find(&outcome, "Marisol");
    assert_eq!(
        marisol.birthday,
        Some(PartialDate {
            year: Some(1984),
            month: 5,
            day: 12
        })
    );
    assert_eq!(marisol.manager.as_deref(), Some("Adaeze Okonkwo"));
    assert!(marisol.phones.iter().any(|p| p.kind == PhoneKind::Cell));
    let haruki = find(&outcome, "Haruki");
    assert_eq!(haruki.impps[0].uri, "sip:h.tachibana@example.com");
    assert!(haruki
        .extra
        .contains(&("X-PHONETIC-FIRST-NAME".into(), "ハルキ".into())));
}

#[test]
fn outlook_desktop_windows_1252() {
    let outcome = parse_file(settings(fixture("outlook-desktop-contacts.csv")));
    assert_eq!(outcome.contacts.len(), 3, "{:?}", outcome.skipped);
    let zoe = find(&outcome, "Zoë");
    assert_eq!(zoe.name.family, vec!["Ångström-Nakamura"]);
    assert_eq!(zoe.addresses[0].locality, "Göteborg");
    assert_eq!(zoe.categories, vec!["Personal", "Golf partners"]);
    let haruki = find(&outcome, "Haruki");
    assert_eq!(haruki.birthday, None, "0/0/00 means no date");
    assert_eq!(haruki.emails.len(), 1, "the Exchange DN is not an address");
}

#[test]
fn uids_survive_reordering_and_key_column_wins() {
    let text = "First Name,Last Name,E-mail 1 - Value,Phone 1 - Value,Badge\n\
                Ann,Lee,ann@example.com,,A1\nBo,Chen,bo@example.com,,B2\n";
    let reordered = "First Name,Last Name,E-mail 1 - Value,Phone 1 - Value,Badge\n\
                Bo,Chen,bo@example.com,,B2\nAnn,Lee,ann@example.com,,A1\n";
    let source = CsvSource::new("t".into(), settings("x.csv".into())).expect("settings");
    let uids = |t: &str| {
        let mut u: Vec<String> = source
            .parse(t.as_bytes())
            .expect("parses")
            .contacts
            .iter()
            .map(|c| c.uid.clone())
            .collect();
        u.sort();
        u
    };
    assert_eq!(uids(text), uids(reordered));
    let mut keyed = settings("x.csv".into());
    keyed.key_column = Some("Badge".into());
    let keyed = CsvSource::new("t".into(), keyed).expect("settings");
    let contacts = keyed.parse(text.as_bytes()).expect("parses").contacts;
    assert_eq!(contacts[0].uid, "A1");
}

#[test]
fn bad_rows_are_reported_with_file_and_line() {
    let text = "First Name,Last Name,E-mail 1 - Value,Birthday,Notes\n\
                Ann,Lee,ann@example.com,,\"two\nlines\"\n\
                ,,,,\n\
                ,,,,orphan note\n\
                Ann,Lee,ann@example.com,,\n\
                Cy,Dee,cy@example.com,1990-02-30,\n\
                Ed,Fox,ed@example.com,,,extra,fields\n";
    let source = CsvSource::new("t".into(), settings("dir/x.csv".into())).expect("settings");
    let outcome = source.parse(text.as_bytes()).expect("parses");
    assert_eq!(outcome.contacts.len(), 2, "{:?}", outcome.skipped);
    let skipped: Vec<String> = outcome.skipped.iter().map(|s| s.to_string()).collect();
    assert!(
        skipped[0].starts_with("dir/x.csv:5: no name"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].starts_with("dir/x.csv:6: duplicate of line 2"),
        "{skipped:?}"
    );
    assert!(
        skipped[2].starts_with("dir/x.csv:7: field left out: Birthday"),
        "{skipped:?}"
    );
    assert!(
        skipped[3].starts_with("dir/x.csv:8: 7 fields"),
        "{skipped:?}"
    );
}

/// Rows are converted in chunks, on two threads: contacts and reports still come in row
/// order, and a duplicate is found across chunks.
#[test]
fn a_large_file_keeps_row_order_across_chunks() {
    let rows = 3 * CHUNK + 17;
    let mut text = String::from("First Name,Last Name,E-mail 1 - Value,Birthday\n");
    for i in 0..rows {
        let line = match i {
            // A row of too many fields, a row with nothing identifying, a bad date and a
            // duplicate of the first row, around the chunks' ends.
            _ if i == CHUNK - 1 => "Ann,Lee,x@example.com,,extra\n".to_string(),
            _ if i == CHUNK => ",,,1990-01-01\n".to_string(),
            _ if i == CHUNK + 1 => format!("P{i},Lee,p{i}@example.com,1990-02-30\n"),
            _ if i == 2 * CHUNK + 5 => "P0,Lee,p0@example.com,\n".to_string(),
            _ => format!("P{i},Lee,p{i}@example.com,\n"),
        };
        text.push_str(&line);
    }
    let source = CsvSource::new("t".into(), settings("x.csv".into())).expect("settings");
    let outcome = source.parse(text.as_bytes()).expect("parses");
    let given: Vec<&str> = outcome
        .contacts
        .iter()
        .map(|c| c.name.given[0].as_str())
        .collect();
    let expected: Vec<String> = (0..rows)
        .filter(|i| ![CHUNK - 1, CHUNK, 2 * CHUNK + 5].contains(i))
        .map(|i| format!("P{i}"))
        .collect();
    assert_eq!(given, expected);
    let skipped: Vec<String> = outcome.skipped.iter().map(|s| s.to_string()).collect();
    // Line 1 is the header: row `i` is on line `i + 2`.
    let expected = [
        format!("x.csv:{}: 5 fields, but the header has 4", CHUNK + 1),
        format!("x.csv:{}: no name, organization, email or phone", CHUNK + 2),
        format!("x.csv:{}: field left out: Birthday", CHUNK + 3),
        format!("x.csv:{}: duplicate of line 2", 2 * CHUNK + 7),
    ];
    assert_eq!(skipped.len(), expected.len(), "{skipped:?}");
    for (got, want) in skipped.iter().zip(&expected) {
        assert!(got.starts_with(want.as_str()), "{got} is not {want}");
    }
}

#[test]
fn mapped_format_with_semicolons() {
    let mut s = settings("rooms.csv".into());
    s.format = CsvFormat::Mapped;
    s.delimiter = ';';
    s.key_column = Some("Room".into());
    s.columns = [
        ("Room", "fn"),
        ("Phone", "tel.work"),
        ("Mail", "email.work"),
        ("Zip", "adr.work.postal_code"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let source = CsvSource::new("t".into(), s.clone()).expect("settings");
    let outcome = source
        .parse(b"Room;Phone;Mail;Zip\nBoardroom;(650) 253-0000;board@example.com;94043\n")
        .expect("parses");
    let room = &outcome.contacts[0];
    assert_eq!(room.uid, "Boardroom");
    assert_eq!(room.formatted_name, "Boardroom");
    assert_eq!(room.phones[0].number, "+16502530000");
    assert_eq!(room.phones[0].label, Some(Label::Work));
    assert_eq!(room.addresses[0].postal_code, "94043");
    let missing = source
        .parse(b"Room;Phone\nX;1\n")
        .expect_err("missing columns");
    assert!(missing.to_string().contains("\"Mail\""), "{missing}");
    s.columns.insert("Shoe".into(), "shoe_size".into());
    let err = CsvSource::new("t".into(), s).err().expect("bad spec");
    assert!(err.contains("Shoe") && err.contains("shoe_size"), "{err}");
}

#[test]
fn undecodable_and_headerless_files_fail_the_poll() {
    let mut s = settings("x.csv".into());
    s.encoding = CsvEncoding::Utf8;
    let source = CsvSource::new("t".into(), s).expect("settings");
    assert!(matches!(
        source.parse(b"First Name\nZo\xEB\n"),
        Err(SourceError::BadData { .. })
    ));
    assert!(source.parse(b"").is_err());
    assert!(
        source.parse(b"Colour,Size\nred,4\n").is_err(),
        "unknown shape in auto mode"
    );
}

#[test]
fn categories_become_group_cards_when_asked() {
    let mut s = settings(fixture("google-contacts.csv"));
    s.groups_from_categories = true;
    let outcome = parse_file(s);
    let groups: Vec<&Contact> = outcome
        .contacts
        .iter()
        .map(|c| &**c)
        .filter(|c| c.kind == crate::ContactKind::Group)
        .collect();
    let names: Vec<&str> = groups.iter().map(|g| g.formatted_name.as_str()).collect();
    assert_eq!(names, vec!["Golf partners", "Suppliers"]);
    let suppliers = groups[1];
    let marisol = find(&outcome, "Marisol");
    let kwabena = find(&outcome, "Kwabena");
    assert_eq!(
        suppliers.members,
        vec![marisol.uid.clone(), kwabena.uid.clone()]
    );
    assert!(suppliers.uid.starts_with("group-"));
    assert_eq!(
        parse_file(settings(fixture("google-contacts.csv")))
            .contacts
            .len(),
        6,
        "off by default"
    );
}

#[test]
fn a_file_cut_off_mid_row_fails_the_poll() {
    let source = CsvSource::new("t".into(), settings("dir/x.csv".into())).expect("settings");
    let whole = "First Name,Last Name,E-mail 1 - Value,Notes\n\
                 Ann,Lee,ann@example.com,\"two\nlines\"\n\
                 Bo,Chen,bo@example.com,\n";
    assert_eq!(
        source
            .parse(whole.as_bytes())
            .expect("whole")
            .contacts
            .len(),
        2
    );
    let in_quotes = "First Name,Last Name,E-mail 1 - Value,Notes\n\
                     Ann,Lee,ann@example.com,\"two\n";
    let err = source.parse(in_quotes.as_bytes()).expect_err("open quote");
    assert!(
        err.to_string()
            .starts_with("dir/x.csv:2: the file ends inside a quoted cell"),
        "{err}"
    );
    let short_row = "First Name,Last Name,E-mail 1 - Value,Notes\n\
                     Ann,Lee,ann@example.com,\n\
                     Bo,Ch";
    let err = source
        .parse(short_row.as_bytes())
        .expect_err("short last row");
    assert!(
        err.to_string()
            .starts_with("dir/x.csv:3: the file ends in the middle of a row"),
        "{err}"
    );
    let no_final_newline = "First Name,Last Name,E-mail 1 - Value,Notes\nAnn,Lee,a@example.com,";
    assert_eq!(
        source
            .parse(no_final_newline.as_bytes())
            .expect("complete row")
            .contacts
            .len(),
        1
    );
    let short_rows_everywhere = "First Name,Last Name,E-mail 1 - Value,Notes\n\
                                 Ann,Lee,ann@example.com\nBo,Chen,bo@example.com";
    let outcome = source
        .parse(short_rows_everywhere.as_bytes())
        .expect("a file of short rows");
    assert_eq!(outcome.contacts.len(), 2);
}

/// A real-shaped export without its byte order mark and with one damaged byte in `field`
/// of the row that starts with `row_start`.
fn damaged_export(name: &str, row_start: &str) -> Vec<u8> {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let at = bytes
        .windows(row_start.len())
        .position(|w| w == row_start.as_bytes())
        .expect("row");
    let mut damaged = bytes.to_vec();
    damaged.insert(at + 5, 0xFF);
    damaged
}

#[test]
fn one_bad_byte_keeps_a_utf8_export_utf8_and_names_the_field() {
    for (name, row_start, given, location) in [
        (
            "google-contacts.csv",
            "\nMarisol,",
            "Mari\u{FFFD}sol",
            "line 2 field First Name",
        ),
        (
            "outlook-contacts.csv",
            "\nHaruki,",
            "Haru\u{FFFD}ki",
            "line 6 field First Name",
        ),
    ] {
        let mut s = settings(name.into());
        s.path = PathBuf::from(name);
        let outcome = CsvSource::new("t".into(), s)
            .expect("settings")
            .parse(&damaged_export(name, row_start))
            .expect("parses");
        assert_eq!(outcome.contacts.len(), 6, "{:?}", outcome.skipped);
        assert_eq!(find(&outcome, "Zoë").name.given, vec!["Zoë"], "no mojibake");
        find(&outcome, given);
        assert_eq!(
            outcome.notices[0],
            format!("{name}: UTF-8 (1 row with invalid bytes, replaced with U+FFFD: {location})")
        );
        assert!(
            outcome.notices[1].ends_with(&format!("replaced with U+FFFD: {given:?}")),
            "{:?}",
            outcome.notices
        );
    }
}

#[test]
fn a_given_up_poll_stops_parsing_and_a_fifo_is_refused() {
    let source =
        CsvSource::new("t".into(), settings(fixture("google-contacts.csv"))).expect("settings");
    let bytes = std::fs::read(fixture("google-contacts.csv")).expect("fixture");
    let cancel = Cancel::default();
    cancel.cancel();
    assert!(matches!(
        source.parse_until(bytes, &cancel, &Intake::collecting().0),
        Err(SourceError::Cancelled)
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("staff.csv");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
    #[allow(unsafe_code)]
    // SAFETY: a valid NUL-terminated path.
    let made = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(made, 0);
    let source = CsvSource::new("t".into(), settings(fifo)).expect("settings");
    // Before, this blocked in open() for good.
    let err = runtime
        .block_on(Collected::poll(&source, &Cancel::default()))
        .expect_err("refused");
    assert!(
        err.to_string().contains("staff.csv is not a regular file"),
        "{err}"
    );
}
