//! Strict vCard checks with an independent parser (calcard in strict mode).

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
