//! The index must find exactly the cards the scan ([`Filter::matches`]) finds, for every
//! filter it answers: compared on random books and filters, with letters whose case folding
//! is awkward (final sigma, dotted I, ß), digits and separators in the values.

use std::sync::Arc;

use cardbridge_connectors::{Contact, Email, Name, Phone, PhoneKind};
use proptest::prelude::*;

use super::QueryIndex;
use crate::dav::filter::{Collation, Filter, MatchType, PropFilter, Test, TextMatch};
use crate::store::{Member, Snapshot};

const LETTERS: &[&str] = &[
    "a", "b", "A", "B", "Σ", "σ", "ς", "İ", "i", "ß", "SS", " ", ";", "1", "2", "-", "+",
];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LETTERS), 0..max).prop_map(|parts| parts.concat())
}

fn contact() -> impl Strategy<Value = Contact> {
    (
        text(6),
        (text(4), text(4)),
        prop::collection::vec(text(4), 0..2),
        prop::option::of(text(5)),
        prop::option::of(text(3)),
        prop::collection::vec(text(5), 0..3),
        prop::collection::vec(text(6), 0..3),
    )
        .prop_map(
            |(fn_, (family, given), nicknames, org, dept, emails, phones)| Contact {
                formatted_name: fn_,
                name: Name {
                    family: vec![family],
                    given: vec![given],
                    ..Name::default()
                },
                nicknames,
                organization: org,
                department: dept,
                emails: emails
                    .into_iter()
                    .map(|address| Email {
                        address,
                        label: None,
                        preferred: false,
                    })
                    .collect(),
                phones: phones
                    .into_iter()
                    .map(|number| Phone {
                        number,
                        kind: PhoneKind::Voice,
                        label: None,
                        preferred: false,
                    })
                    .collect(),
                ..Contact::default()
            },
        )
}

fn text_match() -> impl Strategy<Value = TextMatch> {
    (
        text(3),
        prop::sample::select(vec![
            Collation::UnicodeCasemap,
            Collation::UnicodeCasemap,
            Collation::AsciiCasemap,
        ]),
        prop::sample::select(vec![
            MatchType::Contains,
            MatchType::StartsWith,
            MatchType::EndsWith,
            MatchType::Equals,
        ]),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(t, c, m, negate)| TextMatch::new(&t, c, m, negate))
}

fn test_kind() -> impl Strategy<Value = Test> {
    prop::sample::select(vec![Test::AnyOf, Test::AllOf])
}

fn prop_filter() -> impl Strategy<Value = PropFilter> {
    (
        prop::sample::select(vec!["FN", "N", "NICKNAME", "ORG", "EMAIL", "TEL", "TITLE"]),
        test_kind(),
        prop::bool::weighted(0.05),
        prop::collection::vec(text_match(), 0..3),
    )
        .prop_map(|(name, test, is_not_defined, text_matches)| PropFilter {
            name: name.into(),
            test,
            is_not_defined,
            text_matches,
            param_filters: Vec::new(),
        })
}

fn filter() -> impl Strategy<Value = Filter> {
    (test_kind(), prop::collection::vec(prop_filter(), 0..3))
        .prop_map(|(test, prop_filters)| Filter { test, prop_filters })
}

fn snapshot(contacts: Vec<Contact>) -> Snapshot {
    Snapshot::from_members(contacts.into_iter().enumerate().map(|(i, mut c)| {
        c.uid = format!("u{i:03}");
        Arc::new(Member::new(c))
    }))
}

fn scanned(snapshot: &Snapshot, filter: &Filter) -> Vec<u32> {
    snapshot
        .members()
        .enumerate()
        .filter(|(_, m)| filter.matches(&m.contact()))
        .map(|(i, _)| i as u32)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn indexed_results_equal_the_scan(
        contacts in prop::collection::vec(contact(), 0..24),
        filters in prop::collection::vec(filter(), 1..6),
    ) {
        let snapshot = snapshot(contacts);
        let index = QueryIndex::build(&snapshot);
        for filter in &filters {
            if let Some(found) = index.matching(filter) {
                prop_assert_eq!(found, scanned(&snapshot, filter), "{:?}", filter);
            }
        }
    }
}

#[test]
fn what_clients_send_is_answered_by_the_index() {
    let contacts = (0..300)
        .map(|i| Contact {
            formatted_name: format!("Given{i} Family"),
            emails: vec![Email {
                address: format!("user{i}@example.com"),
                label: None,
                preferred: false,
            }],
            phones: vec![Phone {
                number: format!("+1650555{i:04}"),
                kind: PhoneKind::Cell,
                label: None,
                preferred: false,
            }],
            ..Contact::default()
        })
        .collect();
    let snapshot = snapshot(contacts);
    let index = QueryIndex::build(&snapshot);
    let one = |name: &str, text: &str, m: MatchType| Filter {
        test: Test::AnyOf,
        prop_filters: vec![PropFilter {
            name: name.into(),
            test: Test::AnyOf,
            is_not_defined: false,
            text_matches: vec![TextMatch::new(text, Collation::UnicodeCasemap, m, false)],
            param_filters: Vec::new(),
        }],
    };
    for (filter, count) in [
        (one("FN", "given12", MatchType::Contains), 11),
        (one("FN", "GIVEN12 ", MatchType::StartsWith), 1),
        (one("EMAIL", "user7@example.com", MatchType::Equals), 1),
        (one("TEL", "(650) 555-0042", MatchType::EndsWith), 1),
        (one("TEL", "5550", MatchType::Contains), 300),
    ] {
        let found = index.matching(&filter).expect("answered by the index");
        assert_eq!(found, scanned(&snapshot, &filter));
        assert_eq!(found.len(), count, "{filter:?}");
    }
}

#[test]
fn a_value_holding_a_nul_leaves_its_property_to_the_scan() {
    let snapshot = snapshot(vec![Contact {
        formatted_name: "a\0b".into(),
        nicknames: vec!["b".into()],
        ..Contact::default()
    }]);
    let index = QueryIndex::build(&snapshot);
    let equals = |name: &str| Filter {
        test: Test::AnyOf,
        prop_filters: vec![PropFilter {
            name: name.into(),
            test: Test::AnyOf,
            is_not_defined: false,
            text_matches: vec![TextMatch::new(
                "b",
                Collation::UnicodeCasemap,
                MatchType::Equals,
                false,
            )],
            param_filters: Vec::new(),
        }],
    };
    assert_eq!(index.matching(&equals("FN")), None);
    assert_eq!(index.matching(&equals("NICKNAME")), Some(vec![0]));
}
