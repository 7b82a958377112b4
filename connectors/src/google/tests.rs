use std::path::PathBuf;

use super::mapping::{contact, Options};
use super::wire::Person;
use super::*;
use crate::{
    Address, CustomField, Impp, Label, LooseDate, PartialDate, PhoneKind, Related, Relation,
};

fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/google")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("fixture JSON")
}

fn people(name: &str, list: &str) -> Vec<Person> {
    serde_json::from_value(fixture(name)[list].clone()).expect("people")
}

fn opts() -> Options<'static> {
    Options {
        region: Some("US"),
        photo_size: Some(256),
    }
}

fn find<'a>(people: &'a [Person], resource: &str) -> &'a Person {
    people
        .iter()
        .find(|p| p.resource_name == resource)
        .unwrap_or_else(|| panic!("{resource} not in fixture"))
}

fn extra(c: &Contact, name: &str) -> Vec<String> {
    c.extra
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .collect()
}

#[test]
fn a_full_contact_maps_every_field() {
    let page1 = people("people-connections-page1.json", "connections");
    let m = contact(find(&page1, "people/c5560416945881956120"), &opts());
    let c = &m.contact;
    assert_eq!(c.uid, "people-c5560416945881956120");
    assert_eq!(c.formatted_name, "Marisol T. Ventanilla");
    assert_eq!(c.name.family, vec!["Ventanilla"]);
    assert_eq!(c.name.given, vec!["Marisol"]);
    assert_eq!(c.name.additional, vec!["T."]);
    assert_eq!(c.organization.as_deref(), Some("Example Widgets Ltd"));
    assert_eq!(c.department.as_deref(), Some("Procurement"));
    assert_eq!(c.title.as_deref(), Some("Senior Buyer"));
    assert_eq!(c.emails.len(), 2);
    assert_eq!(c.emails[0].address, "marisol.ventanilla@example.com");
    assert_eq!(c.emails[0].label, Some(Label::Work));
    assert!(c.emails[0].preferred);
    assert_eq!(c.emails[1].label, Some(Label::Home));
    assert!(!c.emails[1].preferred);
    // Google's canonical form, even for fictional 555 numbers the phone library rejects.
    assert_eq!(c.phones[0].number, "+12065550143");
    assert_eq!(c.phones[0].kind, PhoneKind::Cell);
    assert_eq!(c.phones[1].number, "+12065550142");
    assert_eq!(c.phones[1].label, Some(Label::Work));
    assert_eq!(
        c.addresses,
        vec![Address {
            po_box: String::new(),
            extended: "Suite 400".into(),
            street: "1200 Example Avenue".into(),
            locality: "Seattle".into(),
            region: "WA".into(),
            postal_code: "98101".into(),
            country: "US".into(),
            label: Some(Label::Work),
            preferred: true,
        }]
    );
    assert_eq!(c.urls[0].url, "https://www.example.com/team/marisol");
    assert_eq!(
        c.birthday,
        Some(PartialDate {
            year: Some(1984),
            month: 5,
            day: 12
        })
    );
    assert_eq!(
        c.note.as_deref(),
        Some("Prefers email.\nQuarterly review in March.")
    );
    // Asked at the served size.
    assert_eq!(
        m.photo_url.as_deref(),
        Some("https://photos.example.org/contacts/AExamplePhotoMarisol01=s256")
    );
    assert_eq!(
        m.groups,
        vec!["contactGroups/myContacts", "contactGroups/5e1b2c3d4f60718a"]
    );
    assert!(m.warnings.is_empty());
}

#[test]
fn yearless_dates_relations_im_and_letter_avatars() {
    let page1 = people("people-connections-page1.json", "connections");
    let m = contact(find(&page1, "people/c7130220489847164441"), &opts());
    let c = &m.contact;
    assert_eq!(c.nicknames, vec!["Zo"]);
    assert_eq!(
        c.birthday,
        Some(PartialDate {
            year: None,
            month: 11,
            day: 3
        })
    );
    assert_eq!(
        c.anniversary,
        Some(PartialDate {
            year: Some(2008),
            month: 6,
            day: 21
        })
    );
    assert_eq!(
        c.related,
        vec![
            Related {
                name: "Henrik Ångström".into(),
                relation: Relation::Spouse
            },
            Related {
                name: "Ida".into(),
                relation: Relation::Child
            }
        ]
    );
    assert_eq!(
        c.impps,
        vec![Impp {
            uri: "xmpp:zoe.angstrom@example.org".into()
        }]
    );
    assert_eq!(c.addresses[0].locality, "Göteborg");
    // "default": true is Google's generated letter, not a photo.
    assert_eq!(m.photo_url, None);
}

#[test]
fn phonetic_names_custom_fields_sip_and_phone_kinds() {
    let page2 = people("people-connections-page2.json", "connections");
    let haruki = contact(find(&page2, "people/c6462898457081607682"), &opts()).contact;
    assert_eq!(haruki.name.prefixes, vec!["Dr."]);
    assert_eq!(haruki.name.suffixes, vec!["Jr."]);
    assert_eq!(extra(&haruki, "X-PHONETIC-FIRST-NAME"), vec!["ハルキ"]);
    assert_eq!(extra(&haruki, "X-PHONETIC-LAST-NAME"), vec!["タチバナ"]);
    assert_eq!(
        extra(&haruki, "X-PHONETIC-ORG"),
        vec!["エグザンプル リサーチ"]
    );
    assert_eq!(
        haruki.custom_fields,
        vec![CustomField {
            label: "Badge".into(),
            value: "EXAMPLE-0042".into()
        }]
    );
    assert_eq!(
        haruki.impps,
        vec![Impp {
            uri: "sip:h.tachibana@example.com".into()
        }]
    );

    let kwabena = contact(find(&page2, "people/c9156883343963364165"), &opts());
    let kinds: Vec<(PhoneKind, Option<Label>, &str)> = kwabena
        .contact
        .phones
        .iter()
        .map(|p| (p.kind, p.label.clone(), p.number.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (PhoneKind::Voice, Some(Label::Work), "+442079460555"),
            (PhoneKind::Voice, Some(Label::Home), "+441615550187"),
            (PhoneKind::Fax, Some(Label::Home), "+441615550189"),
            (PhoneKind::Pager, None, "+447700900556"),
            // No canonical form: the text, normalized where possible, and the custom label.
            (
                PhoneKind::Voice,
                Some(Label::Custom("Boat".into())),
                "555 0190"
            ),
        ]
    );
    assert_eq!(kwabena.contact.addresses.len(), 2);
    assert_eq!(kwabena.contact.addresses[1].label, Some(Label::Other));
    // "April 7" has no date object: kept as text.
    assert_eq!(kwabena.contact.birthday, None);
    assert_eq!(
        kwabena.contact.birthday_loose,
        Some(LooseDate::Text("April 7".into()))
    );
    assert!(kwabena.warnings.is_empty(), "{:?}", kwabena.warnings);
}

#[test]
fn directory_profiles_get_manager_and_desk() {
    let dir = people("directory-people.json", "people");
    let ebba = contact(find(&dir, "people/104516723309845112731"), &opts()).contact;
    assert_eq!(ebba.uid, "people-104516723309845112731");
    assert_eq!(ebba.manager.as_deref(), Some("adaeze.okonkwo@example.com"));
    assert_eq!(ebba.title.as_deref(), Some("Facilities Coordinator"));
    assert_eq!(ebba.department.as_deref(), Some("Operations"));
    // A desk is no postal address: a line of the note.
    assert!(ebba.addresses.is_empty(), "{:?}", ebba.addresses);
    assert!(ebba
        .note
        .as_deref()
        .is_some_and(|n| n.ends_with("Office: SEA-4, floor 2, desk 2.204")));
    let reception = contact(find(&dir, "people/c4348927554414989160"), &opts()).contact;
    assert_eq!(reception.phones[0].number, "+12065550100");
    assert_eq!(reception.phones[0].label, Some(Label::Work));
}

fn mapped(name: &str) -> BTreeMap<String, Mapped> {
    people(name, "connections")
        .iter()
        .map(|p| (p.resource_name.clone(), contact(p, &opts())))
        .collect()
}

#[test]
fn deltas_replace_and_remove_records_and_say_whether_anything_changed() {
    let mut feed = FeedState::default();
    let mut records = mapped("people-connections-page1.json");
    records.extend(mapped("people-connections-page2.json"));
    assert!(apply(
        &mut feed,
        Change::Full {
            sync_token: Some("T1".into()),
            records: records.clone(),
            unreadable: vec![],
            superseded: vec![],
        }
    ));
    assert_eq!(feed.records.len(), 5);
    // The same listing again is no change.
    assert!(!apply(
        &mut feed,
        Change::Full {
            sync_token: Some("T1".into()),
            records,
            unreadable: vec![],
            superseded: vec![],
        }
    ));

    let delta = people("people-connections-delta.json", "connections");
    let mut upserts = Vec::new();
    let mut deletions = Vec::new();
    for p in &delta {
        if p.metadata.deleted {
            deletions.push(p.resource_name.clone());
        } else {
            upserts.push((p.resource_name.clone(), contact(p, &opts())));
        }
    }
    assert_eq!(deletions, vec!["people/c756143198553711720"]);
    assert!(apply(
        &mut feed,
        Change::Delta {
            sync_token: Some("T2".into()),
            upserts: upserts.clone(),
            deletions: deletions.clone(),
            superseded: vec![],
        }
    ));
    assert_eq!(feed.records.len(), 4);
    assert_eq!(feed.sync_token.as_deref(), Some("T2"));
    let zoe = &feed.records["people/c7130220489847164441"].contact;
    assert_eq!(zoe.organization.as_deref(), Some("Example Design AB"));
    assert_eq!(zoe.phones.len(), 3);
    // Replaying the same delta changes nothing.
    assert!(!apply(
        &mut feed,
        Change::Delta {
            sync_token: Some("T3".into()),
            upserts,
            deletions,
            superseded: vec![],
        }
    ));
}

#[test]
fn groups_become_cards_listing_their_members() {
    let mut state = State::default();
    let mut feed = FeedState::default();
    apply(
        &mut feed,
        Change::Full {
            sync_token: None,
            records: {
                let mut r = mapped("people-connections-page1.json");
                r.extend(mapped("people-connections-page2.json"));
                r
            },
            unreadable: vec![],
            superseded: vec![],
        },
    );
    state.feeds.insert(Feed::Connections, feed);
    state
        .groups
        .insert("contactGroups/5e1b2c3d4f60718a".into(), "Suppliers".into());
    let listing = state.listing();
    assert_eq!(listing.len(), 6);
    let group = listing
        .iter()
        .find(|c| c.kind == ContactKind::Group)
        .expect("group card");
    assert_eq!(group.uid, "contactGroups-5e1b2c3d4f60718a");
    assert_eq!(group.formatted_name, "Suppliers");
    assert_eq!(
        group.members,
        vec!["people-c5560416945881956120", "people-c9156883343963364165"]
    );
}

fn settings(value: serde_json::Value) -> Result<GoogleSettings, String> {
    let settings: GoogleSettings = serde_json::from_value(value).map_err(|e| e.to_string())?;
    settings.validate()?;
    Ok(settings)
}

#[test]
fn settings_errors_say_what_to_fix() {
    use serde_json::json;
    let oauth = json!({"client_id": "c", "client_secret": "s", "token_file": "t"});
    assert!(settings(json!({ "oauth": oauth })).is_ok());
    let err = settings(json!({"listing": "contacts"})).unwrap_err();
    assert!(err.contains("google-login"), "{err}");
    let sa = json!({"key_file": "k", "subject": "a@b"});
    let err = settings(json!({"oauth": oauth, "service_account": sa})).unwrap_err();
    assert!(err.contains("not both"), "{err}");
    let err = settings(json!({"oauth": {"client_id": "c", "client_secret": "s"}})).unwrap_err();
    assert!(err.contains("token_file"), "{err}");
    let err =
        settings(json!({"service_account": {"key_file": "k", "subject": "admin"}})).unwrap_err();
    assert!(err.contains("email address"), "{err}");
    let err = settings(json!({"listing": "directory", "other_contacts": true, "oauth": oauth}))
        .unwrap_err();
    assert!(err.contains("other_contacts"), "{err}");
    let err = settings(json!({"api_url": "ftp://x", "oauth": oauth})).unwrap_err();
    assert!(err.contains("api_url"), "{err}");
    let err = settings(json!({"listing": "everything", "oauth": oauth})).unwrap_err();
    assert!(err.contains("everything"), "{err}");
    let err = settings(json!({"oauth": oauth, "subjekt": "x"})).unwrap_err();
    assert!(err.contains("subjekt"), "{err}");
    assert_eq!(
        settings(json!({"other_contacts": true, "oauth": oauth}))
            .expect("valid")
            .scopes(),
        vec![SCOPE_CONTACTS, SCOPE_OTHER_CONTACTS]
    );
}

#[test]
fn awkward_values_keep_what_a_card_can_say() {
    let awkward = people("people-awkward.json", "connections");
    let ingrid = contact(find(&awkward, "people/c3141592653589793238"), &opts());
    let c = &ingrid.contact;
    assert!(ingrid.warnings.is_empty(), "{:?}", ingrid.warnings);
    assert_eq!(
        c.addresses.len(),
        1,
        "only the home address: {:?}",
        c.addresses
    );
    assert_eq!(
        c.note.as_deref(),
        Some(
            "Runs the Oslo office & the choir.\n\nCall before 10\nnot on Fridays — ever.\n\n\
             Office: OSL-2, floor 3, section B, desk 3.114\nGrew up in: Tromsø"
        )
    );
    assert_eq!(c.birthday, None);
    assert_eq!(c.birthday_loose, Some(LooseDate::Year(1980)));
    let labels: Vec<&str> = c.custom_fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, vec!["Shoe size", "shoe-size", "Größe"]);
    assert_eq!(
        c.related,
        vec![
            Related {
                name: "Jane Solberg".into(),
                relation: Relation::Spouse
            },
            Related {
                name: "Ola".into(),
                relation: Relation::Custom("Godchild".into())
            }
        ]
    );
    let tomasz = contact(find(&awkward, "people/c2718281828459045235"), &opts()).contact;
    assert_eq!(
        tomasz.birthday_loose,
        Some(LooseDate::Text("around Midsummer".into()))
    );
    assert_eq!(
        tomasz.anniversary_loose,
        Some(LooseDate::YearMonth(2009, 6))
    );
}

#[test]
fn former_names_of_listed_people_are_superseded() {
    let listed: Vec<Person> = serde_json::from_value(serde_json::json!([
        {"resourceName": "people/c2", "metadata": {"previousResourceNames": ["people/c1", "people/c2"]}},
        {"resourceName": "people/c3", "metadata": {"previousResourceNames": ["people/c1", "people/c4"]}},
        {"resourceName": "people/c5", "metadata": {"deleted": true, "previousResourceNames": ["people/c6"]}}
    ]))
    .expect("people");
    assert_eq!(former_names(&listed), vec!["people/c1", "people/c4"]);
}
