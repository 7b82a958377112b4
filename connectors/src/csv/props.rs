//! Property tests: arbitrary bytes through the decoder and the whole parse, arbitrary cells
//! through every row mapping function. None may panic, whatever a file holds.

use proptest::prelude::*;

use super::row::{Header, Row};
use super::settings::{CsvEncoding, CsvFormat, CsvSettings};
use super::{decode, google, mapped, outlook, CsvSource, Options};

/// The header row of a real export in `tests/fixtures`, so every column a format reads is
/// there (numbered groups included).
fn fixture_header(name: &str) -> Header {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let bytes = std::fs::read(path).expect("fixture");
    let text = decode::decode(&bytes, CsvEncoding::Auto)
        .expect("fixture decodes")
        .text;
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let names = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    Header::new(names)
}

/// Every field spec `mapped` knows, one column each.
const MAPPED_SPECS: [&str; 28] = [
    "uid",
    "fn",
    "n.family",
    "n.given",
    "n.additional",
    "n.prefix",
    "n.suffix",
    "nickname",
    "org",
    "department",
    "title",
    "role",
    "email",
    "email.work",
    "tel",
    "tel.cell",
    "tel.fax",
    "tel.home",
    "adr.home.street",
    "adr.home.locality",
    "adr.work.postal_code",
    "adr.other.po_box",
    "url",
    "bday",
    "anniversary",
    "note",
    "categories",
    "impp",
];

/// Cells shaped like export data (dates, phone numbers, labels, separators) or anything.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "[-0-9/+ ()*:;.]{0,16}",
        "(\\* )?(Work|Home|Mobile|Other|Work Fax)?( ::: [a-z@.]{0,8}){0,3}",
        any::<String>(),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop_oneof![Just(" ::: ".to_string()), "\\PC{1,3}"],
        prop_oneof![
            Just(None),
            Just(Some("US".to_string())),
            Just(Some("DE".to_string()))
        ],
    )
        .prop_map(|(separator, region)| Options { separator, region })
}

fn record(cells: Vec<String>) -> csv::StringRecord {
    csv::StringRecord::from(cells)
}

fn source(format: CsvFormat, encoding: CsvEncoding) -> CsvSource {
    let columns = if format == CsvFormat::Mapped {
        MAPPED_SPECS
            .iter()
            .enumerate()
            .map(|(i, spec)| (format!("c{i}"), spec.to_string()))
            .collect()
    } else {
        Default::default()
    };
    CsvSource::new(
        "t".into(),
        CsvSettings {
            path: "x.csv".into(),
            format,
            encoding,
            delimiter: ',',
            key_column: None,
            default_region: Some("US".into()),
            multi_value_separator: " ::: ".into(),
            groups_from_categories: true,
            columns,
        },
    )
    .expect("settings")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_decoder_never_panics_and_marks_each_replacement(
        bytes in prop_oneof![
            any::<Vec<u8>>(),
            // Mostly UTF-8 with stray bytes, and byte order marks.
            ("\\PC{0,40}", any::<Vec<u8>>(), "\\PC{0,40}").prop_map(|(a, b, c)| {
                [a.into_bytes(), b, c.into_bytes()].concat()
            }),
            (prop::sample::select(vec![&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF"]),
             any::<Vec<u8>>()).prop_map(|(bom, rest)| [bom, &rest[..]].concat()),
        ],
        encoding in prop::sample::select(
            vec![CsvEncoding::Auto, CsvEncoding::Utf8, CsvEncoding::Windows1252]),
    ) {
        if let Ok(decoded) = decode::decode(&bytes, encoding) {
            for &at in &decoded.replaced {
                let replacement = decoded.text.get(at..).is_some_and(|t| t.starts_with('\u{FFFD}'));
                prop_assert!(replacement, "no U+FFFD at {}", at);
            }
            if std::str::from_utf8(&bytes).is_ok() && !bytes.starts_with(b"\xFF\xFE")
                && !bytes.starts_with(b"\xFE\xFF") && encoding != CsvEncoding::Windows1252 {
                let expected = std::str::from_utf8(&bytes).unwrap_or_default();
                prop_assert_eq!(
                    decoded.text.as_str(),
                    expected.strip_prefix('\u{FEFF}').unwrap_or(expected)
                );
            }
        }
    }

    #[test]
    fn parsing_any_file_never_panics(
        text in prop_oneof![
            any::<Vec<u8>>(),
            // A known header, then rows of arbitrary quoted and unquoted cells.
            (prop::sample::select(vec![
                "First Name,Last Name,E-mail 1 - Value,Phone 1 - Value,Birthday,Notes",
                "First Name,Last Name,E-mail Address,Mobile Phone,Birthday,Notes",
                "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17,c18,c19,c20,\
                 c21,c22,c23,c24,c25,c26,c27",
             ]),
             prop::collection::vec(prop::collection::vec(cell(), 0..8), 0..6),
             any::<bool>())
                .prop_map(|(header, rows, quote)| {
                    let mut text = format!("{header}\n");
                    for row in rows {
                        let cells: Vec<String> = row.into_iter()
                            .map(|c| if quote { format!("\"{}\"", c.replace('"', "\"\"")) } else { c })
                            .collect();
                        text.push_str(&cells.join(","));
                        text.push('\n');
                    }
                    text.into_bytes()
                }),
        ],
        format in prop::sample::select(
            vec![CsvFormat::Auto, CsvFormat::Google, CsvFormat::Outlook, CsvFormat::Mapped]),
    ) {
        let _ = source(format, CsvEncoding::Auto).parse(&text);
    }

    #[test]
    fn google_rows_never_panic(cells in prop::collection::vec(cell(), 0..48), opts in options()) {
        let header = fixture_header("google-contacts.csv");
        let record = record(cells);
        let _ = google::contact(&Row { header: &header, record: &record }, &opts);
    }

    #[test]
    fn outlook_rows_never_panic(cells in prop::collection::vec(cell(), 0..96), opts in options()) {
        let header = fixture_header("outlook-desktop-contacts.csv");
        let record = record(cells);
        let _ = outlook::contact(&Row { header: &header, record: &record }, &opts);
    }

    #[test]
    fn mapped_rows_never_panic(cells in prop::collection::vec(cell(), 0..30), opts in options()) {
        let names: Vec<String> = (0..MAPPED_SPECS.len()).map(|i| format!("c{i}")).collect();
        let columns: Vec<(String, mapped::Field)> = names
            .iter()
            .zip(MAPPED_SPECS)
            .map(|(name, spec)| (name.clone(), mapped::parse_field(spec).expect("spec")))
            .collect();
        let header = Header::new(names);
        let record = record(cells);
        let _ = mapped::contact(&Row { header: &header, record: &record }, &columns, &opts);
    }
}
