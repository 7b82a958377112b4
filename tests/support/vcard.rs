//! Strict vCard checks with independent parsers: calcard in strict mode, and python3 `vobject`.

use calcard::vcard::{VCard, VCardValue};
use calcard::{Entry, Parser};

/// Parses exactly one card strictly; panics with the card on any error.
pub fn parse_strict(card: &str) -> VCard {
    let mut parser = Parser::new(card).strict();
    let vcard = match parser.entry() {
        Entry::VCard(vcard) => vcard,
        other => panic!("not a strict vCard: {other:?}\n{card}"),
    };
    assert!(
        matches!(parser.entry(), Entry::Eof),
        "trailing data after END:VCARD\n{card}"
    );
    vcard
}

/// Every value of property `name` (e.g. "FN", "EMAIL"), flattened to text.
pub fn values(card: &VCard, name: &str) -> Vec<String> {
    card.entries
        .iter()
        .filter(|e| e.name.as_str().eq_ignore_ascii_case(name))
        .map(|e| {
            e.values
                .iter()
                .map(|v| match v {
                    VCardValue::Text(s) => s.clone(),
                    VCardValue::Component(parts) => parts.join(","),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect()
}

/// The VERSION a card declares.
pub fn version(card: &str) -> &str {
    card.lines()
        .find_map(|l| l.strip_prefix("VERSION:"))
        .map(str::trim)
        .unwrap_or("")
}

/// Every value of property `name` (e.g. "url") as python3 `vobject` reads `card`: a second,
/// independent reader, strict about where values end.
pub fn vobject_values(card: &str, name: &str) -> Vec<String> {
    use std::io::Write;
    let script = r#"
import sys, vobject
card = vobject.readOne(sys.stdin.buffer.read().decode("utf-8"), validate=True)
for prop in card.contents.get(sys.argv[1].lower(), []):
    print(prop.value.encode("utf-8").hex())
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, name])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/setup.sh installs it with vobject)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(card.as_bytes())
        .expect("write card");
    let out = child.wait_with_output().expect("vobject");
    assert!(
        out.status.success(),
        "vobject rejected the card: {}\n{card}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|hex| {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .filter_map(|i| hex.get(i..i + 2))
                .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
                .collect();
            String::from_utf8(bytes).expect("UTF-8 from vobject")
        })
        .collect()
}
