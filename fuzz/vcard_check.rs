//! The vcard_roundtrip oracle, shared by the fuzz target and `tests/fuzz_corpus.rs`: every
//! rendered card must parse with calcard in strict mode as exactly one vCard, and NOTE and
//! TITLE must come back as written, less what the renderer documents dropping (control
//! characters other than newline; tabs become spaces).

use calcard::vcard::{VCard, VCardProperty, VCardValue};
use calcard::{Entry, Parser};
use cardbridge_connectors::Contact;

pub fn check(contact: &Contact, card: &str) {
    let mut parser = Parser::new(card).strict();
    let vcard = match parser.entry() {
        Entry::VCard(vcard) => vcard,
        other => panic!("not a vCard: {other:?}\n{card}"),
    };
    assert!(
        matches!(parser.entry(), Entry::Eof),
        "trailing data\n{card}"
    );
    for (property, value) in [
        (VCardProperty::Note, &contact.note),
        (VCardProperty::Title, &contact.title),
    ] {
        let value = value.as_deref().unwrap_or_default();
        let expected = (!value.trim().is_empty()).then(|| published(value));
        assert_eq!(text(&vcard, &property), expected, "{property:?}\n{card}");
    }
}

/// A text value as the renderer publishes it.
fn published(value: &str) -> String {
    value
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|&c| c == '\n' || !c.is_control())
        .collect()
}

/// The one text value of `property`, if the card has it.
fn text(vcard: &VCard, property: &VCardProperty) -> Option<String> {
    let found: Vec<_> = vcard
        .entries
        .iter()
        .filter(|e| &e.name == property)
        .collect();
    assert!(found.len() <= 1, "{property:?} twice: {found:?}");
    let entry = found.first()?;
    let parts: Vec<String> = entry
        .values
        .iter()
        .flat_map(|v| match v {
            VCardValue::Text(s) => vec![s.clone()],
            VCardValue::Component(parts) => parts.clone(),
            other => panic!("{property:?}: unexpected value {other:?}"),
        })
        .collect();
    Some(parts.concat())
}
