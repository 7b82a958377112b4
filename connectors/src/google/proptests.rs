//! Arbitrary People API values through every mapping function: nothing panics, and what comes
//! out keeps the shapes the renderer relies on.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::html;
use super::mapping::{biography, contact, location_line, relation_kind, when, Options};
use super::wire::{DateField, GoogleDate, LocationField, Person, ValueField};
use crate::LooseDate;

/// Any text, text that looks like HTML (tags, references, broken ones), and People API words.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(<[a-zA-Z/!-]{0,6}( [a-z]{1,3}=\"[^\"]{0,4}\")?>?|&[#xX]?[a-zA-Z0-9]{0,9};?|[a-zA-Zß\u{e4} \n\t]{1,4}|<!--|-->){0,24}",
        prop::sample::select(vec![
            "desk", "grewUp", "spouse", "manager", "TEXT_HTML", "TEXT_PLAIN", "anniversary",
            "people/c1", "people/c2", "", " ",
        ])
        .prop_map(String::from),
    ]
}

fn number() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -2i64..14, 1900i64..2100]
}

/// A person with every field the mapping reads, filled from `t` and `n` in turn.
fn person(t: &[String], n: &[i64], flags: &[bool]) -> Person {
    let mut ti = t.iter().cycle();
    let mut s = || Value::String(ti.next().cloned().unwrap_or_default());
    let mut ni = n.iter().cycle();
    let mut i = || json!(ni.next().copied().unwrap_or(0));
    let mut bi = flags.iter().cycle();
    let mut b = || json!(bi.next().copied().unwrap_or(false));
    let value = json!({
        "resourceName": s(),
        "metadata": {"deleted": false, "previousResourceNames": [s(), s()]},
        "names": [{"metadata": {"primary": b()}, "displayName": s(), "familyName": s(),
                   "givenName": s(), "middleName": s(), "honorificPrefix": s(),
                   "honorificSuffix": s(), "phoneticGivenName": s(), "unstructuredName": s()}],
        "nicknames": [{"value": s()}, {"value": s()}],
        "emailAddresses": [{"metadata": {"primary": b()}, "value": s(), "type": s(),
                            "formattedType": s()}],
        "phoneNumbers": [{"value": s(), "canonicalForm": s(), "type": s(), "formattedType": s()},
                         {"value": s(), "type": "mobile"}],
        "addresses": [{"formattedValue": s(), "type": s(), "streetAddress": s(), "city": s(),
                       "countryCode": s(), "extendedAddress": s()}],
        "organizations": [{"name": s(), "department": s(), "title": s(), "current": b(),
                           "phoneticName": s(), "jobDescription": s()}],
        "birthdays": [{"metadata": {"primary": b()}, "date": {"year": i(), "month": i(), "day": i()},
                       "text": s()},
                      {"date": {"year": i()}, "text": s()}],
        "events": [{"type": "anniversary", "date": {"year": i(), "month": i()}, "text": s()}],
        "urls": [{"value": s(), "type": s()}],
        "biographies": [{"metadata": {"primary": b()}, "value": s(), "contentType": s()},
                        {"value": s(), "contentType": "TEXT_HTML"}],
        "photos": [{"url": s(), "default": b()}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": s()}}],
        "relations": [{"person": s(), "type": s(), "formattedType": s()},
                      {"person": s(), "type": "manager"}],
        "imClients": [{"username": s(), "protocol": s()}],
        "sipAddresses": [{"value": s()}],
        "userDefined": [{"key": s(), "value": s()}, {"key": s(), "value": s()}],
        "locations": [{"value": s(), "type": s(), "current": b(), "buildingId": s(),
                       "floor": s(), "floorSection": s(), "deskCode": s()}],
    });
    serde_json::from_value(value).expect("the shape is the People API's")
}

proptest! {
    #[test]
    fn any_person_maps_without_panicking(
        t in prop::collection::vec(text(), 1..12),
        n in prop::collection::vec(number(), 1..6),
        flags in prop::collection::vec(any::<bool>(), 1..4),
        size in prop::option::of(1u32..4096),
    ) {
        let p = person(&t, &n, &flags);
        let mapped = contact(&p, &Options { region: Some("US"), photo_size: size });
        let c = &mapped.contact;
        if let Some(d) = c.birthday {
            prop_assert!((1..=12).contains(&d.month) && (1..=31).contains(&d.day));
        }
        prop_assert!(c.birthday.is_none() || c.birthday_loose.is_none());
        prop_assert!(c.custom_fields.iter().all(|f| !f.label.trim().is_empty()));
        prop_assert!(c.related.iter().all(|r| !r.name.trim().is_empty()));
    }

    #[test]
    fn html_becomes_text_no_longer_than_it(input in text()) {
        let plain = html::to_text(&input);
        prop_assert!(plain.chars().count() <= input.chars().count());
        prop_assert_eq!(plain.trim(), plain.as_str());
        prop_assert!(!plain.contains("\n\n\n"));
    }

    #[test]
    fn biographies_of_any_content_type(value in text(), content_type in text()) {
        let field = ValueField {
            value: Some(value),
            content_type: Some(content_type),
            ..ValueField::default()
        };
        if let Some(note) = biography(&field) {
            prop_assert!(!note.trim().is_empty());
        }
    }

    #[test]
    fn any_date_is_a_day_a_loose_date_or_nothing(
        year in prop::option::of(number()),
        month in prop::option::of(number()),
        day in prop::option::of(number()),
        text in prop::option::of(text()),
    ) {
        let field = DateField {
            date: Some(GoogleDate { year, month, day }),
            text,
            ..DateField::default()
        };
        match when(&field) {
            Some(Ok(d)) => {
                prop_assert!((1..=12).contains(&d.month) && (1..=31).contains(&d.day));
                prop_assert!(d.year.is_none_or(|y| (1..=9999).contains(&y)));
            }
            Some(Err(LooseDate::YearMonth(y, m))) => {
                prop_assert!((1..=9999).contains(&y) && (1..=12).contains(&m));
            }
            Some(Err(LooseDate::Year(y))) => prop_assert!((1..=9999).contains(&y)),
            Some(Err(LooseDate::Text(t))) => prop_assert!(!t.trim().is_empty()),
            None => {}
        }
    }

    #[test]
    fn any_location_and_relation_label(
        t in prop::collection::vec(prop::option::of(text()), 6),
        current in prop::option::of(any::<bool>()),
        kind in text(),
        formatted in prop::option::of(text()),
    ) {
        let location = LocationField {
            value: t[0].clone(),
            kind: t[1].clone(),
            current,
            building_id: t[2].clone(),
            floor: t[3].clone(),
            floor_section: t[4].clone(),
            desk_code: t[5].clone(),
        };
        if let Some(line) = location_line(&location) {
            prop_assert!(line.contains(": "));
        }
        let _ = relation_kind(&kind, formatted.as_deref());
    }
}
