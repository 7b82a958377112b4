//! Property tests: no LDAP value, however odd, makes a mapping function panic. One panic in
//! the worker fails every poll and leaves a fresh book empty, so each function that reads
//! directory data gets arbitrary strings and arbitrary bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use ldap3::asn1::{parse_tag, ASNTag, OctetString, Sequence, Set, Tag, TagClass};
use proptest::prelude::*;

use super::dn::{first_rdn_value, normalize_dn, parent_dn, unescape_value};
use super::groups::{ranged_values, strip_unique_id};
use super::login::membership_filter;
use super::mapping::{guid_to_uuid, Mapping};
use super::search::Entry;
use super::settings::Preset;
use super::{State, Stored};
use crate::{Contact, ContactKind};

/// Every attribute either preset reads, and the group ones.
const ATTRIBUTES: &[&str] = &[
    "displayName",
    "cn",
    "givenName",
    "sn",
    "initials",
    "o",
    "company",
    "ou",
    "departmentNumber",
    "department",
    "title",
    "mail",
    "proxyAddresses",
    "telephoneNumber",
    "otherTelephone",
    "mobile",
    "homePhone",
    "ipPhone",
    "pager",
    "facsimileTelephoneNumber",
    "street",
    "streetAddress",
    "postOfficeBox",
    "l",
    "st",
    "postalCode",
    "c",
    "co",
    "physicalDeliveryOfficeName",
    "labeledURI",
    "wWWHomePage",
    "description",
    "info",
    "manager",
    "entryUUID",
    "objectGUID",
    "member",
    "uniqueMember",
    "name",
];

/// Text near the edges the code cares about (prefixes, escapes, multi-byte characters) as
/// well as anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(smtp:|SMTP:|sip:|SIP:|X400:|smtp|s|)[é€𝄞a:,=+\\\\#'B ]{0,12}",
        "([a-zA-Z]{0,3}[=]?[a-zA-Zé ,\\\\+#\"0-9A-F]{0,8}[,+]?){0,4}",
    ]
}

/// A value as the server sends it: text, or bytes that need not be UTF-8.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        text().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    let attribute = (
        prop_oneof![
            proptest::sample::select(ATTRIBUTES).prop_map(str::to_string),
            "member;range=[0-9*a-]{0,8}",
            text(),
        ],
        proptest::collection::vec(value(), 0..4),
    );
    (text(), proptest::collection::vec(attribute, 0..12))
        .prop_map(|(dn, attrs)| Entry { dn, attrs })
}

fn mappings() -> [Mapping; 2] {
    [Preset::Openldap, Preset::ActiveDirectory].map(|preset| {
        let mapping = Mapping::new(preset, &BTreeMap::new(), None, Some("US".into()));
        mapping.unwrap_or_else(|e| panic!("preset mapping: {e}"))
    })
}

fn octets(inner: Vec<u8>) -> Tag {
    Tag::OctetString(OctetString {
        inner,
        ..OctetString::default()
    })
}

/// A SearchResultEntry (RFC 4511 §4.5.2) as the server would send it.
fn search_result_entry(dn: &[u8], attrs: &[(Vec<u8>, Vec<Vec<u8>>)]) -> Tag {
    let attrs = attrs
        .iter()
        .map(|(name, values)| {
            Tag::Sequence(Sequence {
                inner: vec![
                    octets(name.clone()),
                    Tag::Set(Set {
                        inner: values.iter().cloned().map(octets).collect(),
                        ..Set::default()
                    }),
                ],
                ..Sequence::default()
            })
        })
        .collect();
    Tag::Sequence(Sequence {
        class: TagClass::Application,
        id: 4,
        inner: vec![
            octets(dn.to_vec()),
            Tag::Sequence(Sequence {
                inner: attrs,
                ..Sequence::default()
            }),
        ],
    })
}

proptest! {
    #[test]
    fn search_result_entries_decode(
        dn in value(),
        attrs in proptest::collection::vec((value(), proptest::collection::vec(value(), 0..3)), 0..4),
    ) {
        let entry = Entry::from_ber(search_result_entry(&dn, &attrs).into_structure());
        // Names must be UTF-8; values are kept as bytes.
        let text = std::str::from_utf8(&dn).is_ok()
            && attrs.iter().all(|(name, _)| std::str::from_utf8(name).is_ok());
        prop_assert_eq!(entry.is_some(), text);
        if let Some(entry) = entry {
            let values: Vec<&Vec<Vec<u8>>> = entry.attrs.iter().map(|(_, v)| v).collect();
            let sent: Vec<&Vec<Vec<u8>>> = attrs.iter().map(|(_, v)| v).collect();
            prop_assert_eq!(values, sent);
        }
    }

    #[test]
    fn any_ber_decodes_or_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok((_, tag)) = parse_tag(&bytes) {
            let _ = Entry::from_ber(tag);
        }
    }

    #[test]
    fn entries_map_to_contacts(entry in entry()) {
        for mapping in mappings() {
            let uid = mapping.uid.read(&entry).unwrap_or_default();
            let contact = mapping.contact(uid, &entry, &mut |n| mapping.normalize_phone(n));
            prop_assert!(contact.emails.iter().filter(|e| e.preferred).count() <= 1);
            let _ = mapping.manager_dn(&entry).map(first_rdn_value);
            let _ = mapping.photo(&entry);
        }
    }

    #[test]
    fn dns_parse(dn in text()) {
        let normalized = normalize_dn(&dn);
        // Normalizing is idempotent: a normalized DN is a DN of the same entry.
        prop_assert_eq!(normalize_dn(&normalized), normalized.clone());
        let _ = first_rdn_value(&dn);
        let _ = unescape_value(&dn);
        let _ = strip_unique_id(&dn);
        let _ = parent_dn(&dn);
        for preset in [Preset::Openldap, Preset::ActiveDirectory] {
            let _ = membership_filter(preset, &dn);
        }
    }

    #[test]
    fn dns_from_bytes_parse(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let dn = String::from_utf8_lossy(&bytes);
        let _ = normalize_dn(&dn);
        let _ = first_rdn_value(&dn);
    }

    #[test]
    fn guids_format(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
        let uuid = guid_to_uuid(&bytes);
        prop_assert_eq!(uuid.is_some(), bytes.len() == 16);
        prop_assert!(uuid.is_none_or(|u| u.len() == 36));
    }

    #[test]
    fn ranged_members_parse(entry in entry()) {
        let _ = ranged_values(&entry);
        let _: Vec<String> = entry.texts("member").map(strip_unique_id).collect();
    }
}

/// An entry as a record: its DN, whether a group, its manager's DN and its member DNs.
type Raw = (String, bool, Option<String>, Vec<String>);

fn raw_records() -> impl Strategy<Value = Vec<Raw>> {
    let record = (
        text(),
        any::<bool>(),
        proptest::option::of(text()),
        proptest::collection::vec(text(), 0..4),
    );
    proptest::collection::vec(record, 0..8)
}

/// What a poll keeps of `records` (uids `u0`, `u1` …), unresolved.
fn state_of(records: Vec<Raw>) -> State {
    let mut state = State::default();
    for (i, (dn, group, manager_dn, members)) in records.into_iter().enumerate() {
        let uid = format!("u{i}");
        let dn = normalize_dn(&dn);
        state.by_dn.insert(dn.clone(), uid.clone());
        let contact = Contact {
            uid: uid.clone(),
            kind: if group {
                ContactKind::Group
            } else {
                ContactKind::Individual
            },
            formatted_name: format!("n{i}"),
            ..Contact::default()
        };
        let stored = Stored {
            dn,
            contact: Arc::new(contact),
            manager_dn,
            member_dns: members.iter().map(|m| normalize_dn(m)).collect(),
        };
        state.records.insert(uid, stored);
    }
    state
}

proptest! {
    #[test]
    fn managers_and_members_resolve(records in raw_records()) {
        let mut state = state_of(records);
        state.resolve();
        for record in state.records.values() {
            // Every manager gets a name; a group never lists itself.
            prop_assert_eq!(record.contact.manager.is_some(), record.manager_dn.is_some());
            prop_assert!(!record.contact.members.contains(&record.contact.uid));
        }
    }
}
