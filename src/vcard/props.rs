//! Property test of the writer's escaping: arbitrary field text rendered in both versions and
//! parsed back by calcard (strict) gives the same value.

use calcard::vcard::VCardProperty;
use cardbridge_connectors::contact::{Contact, Url};
use proptest::prelude::*;

use super::render;
use super::tests::{all, one, other, parse, text, values, VERSIONS};

/// Text with every character the writer escapes or folds around, and any printable one.
/// Control characters are left out: the writer drops them (there is no vCard escape).
fn field() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "\\PC{1,6}",
            Just("\\".to_string()),
            Just(",".to_string()),
            Just(";".to_string()),
            Just(":".to_string()),
            Just("\n".to_string()),
            Just("\\n".to_string()),
            Just("ü€😀".to_string()),
        ],
        1..24,
    )
    .prop_map(|parts| parts.concat())
    .prop_filter("a blank value is left out", |s| !s.trim().is_empty())
}

/// URIs made of characters the writer keeps as they are (`,` and `;` are escaped).
fn uri() -> impl Strategy<Value = String> {
    "[a-c][a-z]{1,5}:[a-zA-Z0-9/?=&,;.~%:@!$'()*+ü-]{1,40}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_and_uri_values_round_trip(
        note in field(),
        formatted in field(),
        family in field(),
        extra in field(),
        categories in prop::collection::vec(field(), 1..4),
        url in uri(),
    ) {
        let contact = Contact {
            uid: "u1".into(),
            formatted_name: formatted.clone(),
            note: Some(note.clone()),
            categories: categories.clone(),
            extra: vec![("X-FIELD".into(), extra.clone())],
            urls: vec![Url { url: url.clone(), label: None }],
            name: cardbridge_connectors::contact::Name {
                family: vec![family.clone()],
                ..Default::default()
            },
            ..Contact::default()
        };
        for version in VERSIONS {
            let card = render(&contact, version);
            let parsed = parse(&card);
            prop_assert_eq!(text(one(&parsed, &VCardProperty::Note)), note.clone());
            prop_assert_eq!(text(one(&parsed, &VCardProperty::Fn)), formatted.trim());
            prop_assert_eq!(&values(one(&parsed, &VCardProperty::N))[0], &vec![family.trim().to_string()]);
            prop_assert_eq!(text(other(&parsed, "X-FIELD")[0]), extra.clone());
            // List items are written without surrounding white space (readers differ on
            // keeping it); the rest, words and line breaks, comes back as written.
            let trimmed: Vec<String> = categories.iter().map(|c| c.trim().to_string()).collect();
            prop_assert_eq!(values(one(&parsed, &VCardProperty::Categories)).concat(), trimmed);
            let urls = all(&parsed, &VCardProperty::Url);
            prop_assert_eq!(urls.len(), 1);
            prop_assert_eq!(text(urls[0]), url.trim());
        }
    }
}
