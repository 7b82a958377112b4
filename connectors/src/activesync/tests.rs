use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;

use super::*;
use crate::phone::normalize_phone;
use crate::photo::PhotoSettings;
use crate::{Address, Collected, Impp, Label, PartialDate, PhoneKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/activesync")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn settings(path: &Path) -> ActiveSyncSettings {
    ActiveSyncSettings {
        path: path.to_path_buf(),
        default_region: Some("US".into()),
        photos: PhotoSettings::default(),
    }
}

fn options() -> fields::Options {
    fields::Options {
        region: Some("US".into()),
        photos: PhotoSettings::default(),
    }
}

/// A file's contacts as a one-file replay would publish them.
fn contacts_of(bytes: &[u8]) -> Vec<Contact> {
    let parsed = ActiveSyncSource::parse_file(bytes, &options()).expect("parses");
    let mut replay = Replay::default();
    replay
        .apply("test", parsed.commands, &Cancel::default())
        .expect("applies");
    let collected = Collected::of(|intake| {
        let mut outcome = PollOutcome::default();
        replay.finish(&mut outcome, intake);
        Ok(outcome)
    })
    .expect("finishes");
    collected
        .contacts
        .iter()
        .map(|c| Contact::clone(c))
        .collect()
}

fn parse_error(bytes: &[u8]) -> String {
    match ActiveSyncSource::parse_file(bytes, &options()) {
        Ok(parsed) => panic!("expected an error, got {} commands", parsed.commands.len()),
        Err(e) => e.to_string(),
    }
}

fn by_uid<'a, C: std::borrow::Borrow<Contact>>(contacts: &'a [C], uid: &str) -> &'a Contact {
    contacts
        .iter()
        .map(std::borrow::Borrow::borrow)
        .find(|c: &&Contact| c.uid == uid)
        .unwrap_or_else(|| panic!("no contact {uid}"))
}

fn date(year: Option<u16>, month: u8, day: u8) -> Option<PartialDate> {
    Some(PartialDate { year, month, day })
}

fn phones(c: &Contact) -> Vec<(String, PhoneKind, Option<Label>)> {
    c.phones
        .iter()
        .map(|p| (p.number.clone(), p.kind, p.label.clone()))
        .collect()
}

fn custom(label: &str) -> Option<Label> {
    Some(Label::Custom(label.into()))
}

fn extra<'a>(c: &'a Contact, name: &str) -> Vec<&'a str> {
    c.extra
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A scratch folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cardbridge-activesync-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(path: &Path) -> Result<Collected, SourceError> {
    let source = ActiveSyncSource::new("eas".into(), settings(path)).expect("settings");
    Collected::of(|intake| source.load(&Cancel::default(), intake))
}

#[test]
fn xml_wbxml_and_base64_give_identical_contacts() {
    let xml = contacts_of(&fixture("sync-response.xml"));
    let wbxml = contacts_of(&fixture("sync-response.wbxml"));
    let b64 = contacts_of(&fixture("sync-response.wbxml.b64"));
    assert_eq!(xml.len(), 5);
    assert_eq!(xml, wbxml);
    assert_eq!(xml, b64);
    let gal_xml = contacts_of(&fixture("gal-search-response.xml"));
    let gal_wbxml = contacts_of(&fixture("gal-search-response.wbxml"));
    assert_eq!(gal_xml.len(), 2);
    assert_eq!(gal_xml, gal_wbxml);
}

#[test]
fn sync_fields_marisol() {
    let contacts = contacts_of(&fixture("sync-response.wbxml"));
    let m = by_uid(&contacts, "eas-2-2_3A1");
    assert_eq!(m.name.given, vec!["Marisol"]);
    assert_eq!(m.name.additional, vec!["T."]);
    assert_eq!(m.name.family, vec!["Ventanilla"]);
    assert_eq!(
        m.formatted_name, "",
        "FN is derived from N, FileAs is a sort key"
    );
    assert_eq!(extra(m, "X-EVOLUTION-FILE-AS"), vec!["Ventanilla, Marisol"]);
    assert_eq!(m.organization.as_deref(), Some("Example Widgets Ltd"));
    assert_eq!(m.department.as_deref(), Some("Procurement"));
    assert_eq!(m.title.as_deref(), Some("Senior Buyer"));
    let emails: Vec<(&str, bool)> = m
        .emails
        .iter()
        .map(|e| (e.address.as_str(), e.preferred))
        .collect();
    assert_eq!(
        emails,
        vec![
            ("marisol.ventanilla@example.com", true),
            ("mventanilla@example.org", false),
            ("marisol.t.v@example.org", false),
        ]
    );
    assert_eq!(
        phones(m),
        vec![
            ("+12065550143".into(), PhoneKind::Cell, None),
            ("+12065550142".into(), PhoneKind::Voice, Some(Label::Work)),
            ("+12065550149".into(), PhoneKind::Voice, Some(Label::Work)),
            (
                "+12065550100".into(),
                PhoneKind::Voice,
                custom("Company Main")
            ),
        ]
    );
    assert_eq!(
        m.addresses,
        vec![Address {
            po_box: String::new(),
            extended: "Building 4 / 2.118".into(),
            street: "1200 Example Avenue\nSuite 400".into(),
            locality: "Seattle".into(),
            region: "WA".into(),
            postal_code: "98101".into(),
            country: "United States of America".into(),
            label: Some(Label::Work),
            preferred: false,
        }]
    );
    assert_eq!(m.urls[0].url, "https://www.example.com/team/marisol");
    assert_eq!(m.birthday, date(Some(1984), 5, 12));
    assert_eq!(m.categories, vec!["Business", "Suppliers"]);
    assert_eq!(m.manager.as_deref(), Some("Okonkwo, Adaeze"));
    assert_eq!(
        m.note.as_deref(),
        Some("Prefers email.\nQuarterly review in March.")
    );
    let photo = m.photo.as_ref().expect("picture");
    assert!(
        ["image/jpeg", "image/png"].contains(&photo.media_type.as_str()),
        "{}",
        photo.media_type
    );
}

#[test]
fn sync_fields_others() {
    let contacts = contacts_of(&fixture("sync-response.xml"));

    let zoe = by_uid(&contacts, "eas-2-2_3A2");
    assert_eq!(zoe.name.given, vec!["Zoë"]);
    assert_eq!(zoe.birthday, date(Some(1979), 11, 3));
    assert_eq!(zoe.anniversary, date(Some(2008), 6, 21));
    assert_eq!(zoe.nicknames, vec!["Zo"]);
    assert_eq!(
        zoe.impps,
        vec![Impp {
            uri: "zoe.angstrom@example.org".into()
        }]
    );
    assert_eq!(extra(zoe, "X-EVOLUTION-SPOUSE"), vec!["Henrik Ångström"]);
    assert_eq!(extra(zoe, "X-CHILD"), vec!["Ida", "Malte"]);
    assert_eq!(zoe.categories, vec!["Personal", "Golf partners"]);
    assert_eq!(
        phones(zoe),
        vec![
            ("+46705550199".into(), PhoneKind::Cell, None),
            (
                normalize_phone("+46 8 555 012 34", Some("US")),
                PhoneKind::Voice,
                Some(Label::Home)
            ),
        ]
    );
    assert_eq!(zoe.addresses[0].label, Some(Label::Home));
    assert_eq!(zoe.addresses[0].locality, "Göteborg");
    assert_eq!(zoe.photo, None);

    let facilities = by_uid(&contacts, "eas-2-2_3A3");
    assert!(facilities.name.is_empty());
    assert_eq!(
        facilities.organization.as_deref(),
        Some("Example Facilities GmbH")
    );
    assert_eq!(extra(facilities, "X-CUSTOMER-ID"), vec!["CUST-000417"]);
    assert_eq!(
        phones(facilities),
        vec![
            ("+493055501234".into(), PhoneKind::Voice, Some(Label::Work)),
            ("+493055501299".into(), PhoneKind::Fax, Some(Label::Work)),
        ]
    );
    assert_eq!(facilities.addresses[0].street, "Musterstraße 12");

    let haruki = by_uid(&contacts, "eas-2-2_3A4");
    assert_eq!(haruki.name.prefixes, vec!["Dr."]);
    assert_eq!(haruki.name.suffixes, vec!["Jr."]);
    assert_eq!(
        haruki.birthday,
        date(Some(1991), 2, 28),
        "UTC+1 local midnight"
    );
    assert_eq!(extra(haruki, "X-PHONETIC-FIRST-NAME"), vec!["ハルキ"]);
    assert_eq!(extra(haruki, "X-PHONETIC-LAST-NAME"), vec!["タチバナ"]);
    assert_eq!(
        extra(haruki, "X-PHONETIC-ORG"),
        vec!["エグザンプル リサーチ"]
    );
    assert_eq!(extra(haruki, "X-GOVERNMENT-ID"), vec!["EXAMPLE-GOV-0042"]);
    assert_eq!(extra(haruki, "X-ACCOUNT-NAME"), vec!["htachibana"]);
    assert_eq!(haruki.emails[0].address, "h.tachibana@example.com");
    let uris: Vec<&str> = haruki.impps.iter().map(|i| i.uri.as_str()).collect();
    assert_eq!(
        uris,
        vec!["sip:h.tachibana@example.com", "haruki.t@example.org"]
    );
    assert_eq!(
        phones(haruki),
        vec![("+819055501234".into(), PhoneKind::Cell, None)],
        "the MMS number equals the mobile number"
    );
    assert!(haruki.photo.is_some());

    let kwabena = by_uid(&contacts, "eas-2-2_3A5");
    // Several of the invented UK numbers are not valid numbers: kept as written.
    let n = |text: &str| normalize_phone(text, Some("US"));
    assert_eq!(
        phones(kwabena),
        vec![
            ("+442079460555".into(), PhoneKind::Voice, Some(Label::Work)),
            (n("+44 161 555 0187"), PhoneKind::Voice, Some(Label::Home)),
            (n("+44 161 555 0188"), PhoneKind::Voice, Some(Label::Home)),
            (n("+44 161 555 0189"), PhoneKind::Fax, Some(Label::Home)),
            (n("+44 7700 900556"), PhoneKind::Pager, None),
            (n("+44 7700 900555"), PhoneKind::Voice, custom("Car")),
            (n("+44 7700 900557"), PhoneKind::Voice, custom("Radio")),
            (
                "+442079460556".into(),
                PhoneKind::Voice,
                custom("Assistant")
            ),
        ]
    );
    assert_eq!(
        extra(kwabena, "X-EVOLUTION-ASSISTANT"),
        vec!["Ruth Example"]
    );
    assert_eq!(kwabena.addresses[0].label, Some(Label::Other));
    assert_eq!(kwabena.addresses[0].region, "Greater Manchester");
    assert_eq!(kwabena.note, None, "truncated body without data");
    assert_eq!(kwabena.emails.len(), 2);
}

#[test]
fn gal_fields() {
    let contacts = contacts_of(&fixture("gal-search-response.wbxml"));
    let m = &contacts[0];
    assert_eq!(m.uid, commands::gal_uid("marisol.ventanilla@example.com"));
    assert_eq!(m.formatted_name, "Ventanilla, Marisol");
    assert_eq!(m.name.given, vec!["Marisol"]);
    assert_eq!(m.title.as_deref(), Some("Senior Buyer"));
    assert_eq!(m.organization.as_deref(), Some("Example Widgets Ltd"));
    assert_eq!(m.emails[0].address, "marisol.ventanilla@example.com");
    assert_eq!(
        phones(m),
        vec![
            ("+12065550143".into(), PhoneKind::Cell, None),
            ("+12065550142".into(), PhoneKind::Voice, Some(Label::Work)),
        ]
    );
    assert_eq!(m.addresses[0].extended, "Building 4 / 2.118");
    assert_eq!(m.addresses[0].label, Some(Label::Work));
    assert_eq!(extra(m, "X-ALIAS"), vec!["mventanilla"]);
    assert!(m.photo.is_some(), "GAL picture with Status 1");
    let ebba = &contacts[1];
    assert_eq!(ebba.photo, None, "Status 173: no picture");
    assert_eq!(
        phones(ebba),
        vec![
            ("+12065550177".into(), PhoneKind::Voice, Some(Label::Work)),
            ("+14255550110".into(), PhoneKind::Voice, Some(Label::Home)),
        ]
    );
    assert!(ebba.addresses.is_empty());
}

#[test]
fn namespace_and_element_spellings_agree() {
    let doc = |ns: &str, city: &str, assistant: &str| {
        format!(
            r#"<Sync xmlns="AirSync:" xmlns:c="{ns}"><Collections><Collection>
<CollectionId>9</CollectionId><Commands><Add><ServerId>9:1</ServerId><ApplicationData>
<c:FirstName>Ann</c:FirstName><c:{city}>Oslo</c:{city}>
<c:{assistant}>+47 22 00 00 00</c:{assistant}>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"#
        )
    };
    let canonical =
        contacts_of(doc("Contacts", "BusinessAddressCity", "AssistantPhoneNumber").as_bytes());
    assert_eq!(canonical[0].addresses[0].locality, "Oslo");
    assert_eq!(canonical[0].phones[0].number, "+4722000000");
    for (ns, city, assistant) in [
        ("Contacts:", "BusinessCity", "AssistantTelephoneNumber"),
        ("POOMCONTACTS:", "BusinessCity", "AssistnamePhoneNumber"),
        ("contacts:", "businessaddresscity", "AssistantPhoneNumber"),
    ] {
        assert_eq!(
            contacts_of(doc(ns, city, assistant).as_bytes()),
            canonical,
            "{ns} {city} {assistant}"
        );
    }
}

/// Offsets of the first `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in fixture")
}

#[test]
fn truncated_wbxml_names_the_offset() {
    let bytes = fixture("sync-response.wbxml");
    assert_eq!(parse_error(&[]), "the file is empty");
    for cut in [1, 3, 5, 100, 1000, bytes.len() / 2, bytes.len() - 1] {
        let err = parse_error(&bytes[..cut]);
        assert!(
            err.starts_with("WBXML, byte ") && err.contains("truncated"),
            "cut at {cut}: {err}"
        );
    }
    let err = parse_error(&bytes[..1000]);
    assert!(err.starts_with("WBXML, byte 1000: truncated"), "{err}");
}

#[test]
fn corrupt_wbxml_names_the_offset() {
    let good = fixture("sync-response.wbxml");

    // SWITCH_PAGE to Contacts right after the first ApplicationData → page 26 (not in EAS).
    let switch = find(&good, &[0x5D, 0x00, 0x01]) + 1;
    let mut bytes = good.clone();
    bytes[switch + 1] = 26;
    let err = parse_error(&bytes);
    assert_eq!(
        err,
        format!("WBXML, byte {switch}: unknown code page 26: not an ActiveSync code page")
    );

    // FileAs (0x1E with content) → 0x3F, which Contacts does not define.
    let mut bytes = good.clone();
    bytes[switch + 2] = 0x7F;
    let err = parse_error(&bytes);
    assert_eq!(
        err,
        format!(
            "WBXML, byte {}: unknown token 0x3F in code page 1 (Contacts)",
            switch + 2
        )
    );

    // A byte of "Ventanilla, Marisol" → 0xFF.
    let text = find(&good, b"Ventanilla, Marisol");
    let mut bytes = good.clone();
    bytes[text + 3] = 0xFF;
    let err = parse_error(&bytes);
    assert_eq!(
        err,
        format!("WBXML, byte {}: invalid UTF-8 in a string", text + 3)
    );

    // The same corruption inside base64: offsets count decoded bytes.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let err = parse_error(b64.as_bytes());
    assert!(
        err.starts_with("base64 WBXML (offsets count decoded bytes), byte ")
            && err.contains(&format!("byte {}:", text + 3)),
        "{err}"
    );
}

#[test]
fn any_truncation_or_flipped_byte_is_an_error_not_a_panic() {
    // Photos are refused by size before decoding: the image decoder is tested in photo/,
    // and unoptimised it would make this loop take minutes.
    let opts = fields::Options {
        region: Some("US".into()),
        photos: PhotoSettings {
            max_input_bytes: 1,
            ..PhotoSettings::default()
        },
    };
    for name in ["sync-response.wbxml", "gal-search-response.wbxml"] {
        let good = fixture(name);
        assert!(ActiveSyncSource::parse_file(&good, &opts).is_ok());
        for cut in 0..good.len() {
            assert!(
                ActiveSyncSource::parse_file(&good[..cut], &opts).is_err(),
                "{name}: a prefix of {cut} bytes parsed"
            );
        }
        for pos in 0..good.len() {
            // 0xFF mostly breaks text into invalid UTF-8 (a quick error); 0x40 and 0x01 turn
            // tokens into other tokens but text into other valid text, whose full conversion
            // costs milliseconds in a debug build, hence only every third byte.
            let masks: &[u8] = if pos % 3 == 0 {
                &[0xFF, 0x40, 0x01]
            } else {
                &[0xFF]
            };
            for &mask in masks {
                let mut bytes = good.clone();
                bytes[pos] ^= mask;
                // Either outcome is fine; a panic fails the test.
                let _ = ActiveSyncSource::parse_file(&bytes, &opts);
            }
        }
    }
    let xml = fixture("sync-response.xml");
    for cut in 0..xml.len() {
        let _ = ActiveSyncSource::parse_file(&xml[..cut], &opts);
    }
}

#[test]
fn xml_that_is_not_eas_names_the_element() {
    let err = parse_error(b"<?xml version=\"1.0\"?>\n<html><body/></html>");
    assert_eq!(
        err,
        "EAS XML, byte 22: root element <html> is not an EAS Sync or Search response"
    );
    let err =
        parse_error(br#"<FolderSync xmlns="FolderHierarchy:"><Status>1</Status></FolderSync>"#);
    assert!(err.contains("<FolderSync>"), "{err}");
    let calendar = br#"<Sync xmlns="AirSync:" xmlns:cal="Calendar:"><Collections><Collection>
<CollectionId>5</CollectionId><Commands><Add><ServerId>5:1</ServerId><ApplicationData>
<cal:Subject>Standup</cal:Subject></ApplicationData></Add></Commands></Collection>
</Collections></Sync>"#;
    let err = parse_error(calendar);
    assert!(
        err.ends_with(
            "a Sync response with no contacts collection, only CollectionId 5 (Calendar)"
        ),
        "{err}"
    );
    let err = parse_error(br#"<Sync xmlns="AirSync:"><Status>4</Status></Sync>"#);
    assert!(err.contains("Status \"4\""), "{err}");
    let err = parse_error(b"<Sync xmlns=\"AirSync:\"><Collections>");
    assert!(err.contains("byte"), "{err}");
}

/// File 2 of a folder: Change of 2:1 (full replacement), Delete of 2:3.
const CHANGES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Sync xmlns="AirSync:" xmlns:contacts="Contacts:">
  <Collections><Collection>
    <SyncKey>4</SyncKey><CollectionId>2</CollectionId><Status>1</Status>
    <Commands>
      <Change>
        <ServerId>2:1</ServerId>
        <ApplicationData>
          <contacts:FirstName>Marisol</contacts:FirstName>
          <contacts:LastName>Ventanilla-Ortiz</contacts:LastName>
          <contacts:Email1Address>m.ortiz@example.com</contacts:Email1Address>
        </ApplicationData>
      </Change>
      <Delete><ServerId>2:3</ServerId></Delete>
    </Commands>
  </Collection></Collections>
</Sync>
"#;

#[test]
fn folder_replay_later_commands_win() {
    let dir = Scratch::new();
    dir.write("01-initial.wbxml", &fixture("sync-response.wbxml"));
    dir.write("02-changes.xml", CHANGES.as_bytes());
    dir.write(".hidden.xml", b"garbage");
    std::fs::create_dir(dir.0.join("sub")).expect("subfolder");
    let outcome = load(&dir.0).expect("loads");
    assert!(outcome.skipped.is_empty(), "{:?}", outcome.skipped);
    let uids: Vec<&str> = outcome.contacts.iter().map(|c| c.uid.as_str()).collect();
    assert_eq!(
        uids,
        vec!["eas-2-2_3A1", "eas-2-2_3A2", "eas-2-2_3A4", "eas-2-2_3A5"]
    );
    let m = &outcome.contacts[0];
    assert_eq!(m.name.family, vec!["Ventanilla-Ortiz"]);
    assert_eq!(m.emails[0].address, "m.ortiz@example.com");
    assert!(
        m.phones.is_empty() && m.photo.is_none() && m.note.is_none(),
        "a Change replaces the whole record"
    );

    // Reversed order: the Adds come last and restore everything.
    let reversed = Scratch::new();
    reversed.write("01-changes.xml", CHANGES.as_bytes());
    reversed.write("02-initial.wbxml", &fixture("sync-response.wbxml"));
    let outcome = load(&reversed.0).expect("loads");
    assert_eq!(outcome.contacts.len(), 5);
    assert_eq!(
        by_uid(&outcome.contacts, "eas-2-2_3A1").name.family,
        vec!["Ventanilla"]
    );
}

#[test]
fn bad_file_in_folder_is_skipped_and_changes_nothing() {
    let dir = Scratch::new();
    dir.write("01-initial.xml", &fixture("sync-response.xml"));
    // The Change/Delete file cut short: its Change must not half-apply.
    let cut = &CHANGES.as_bytes()[..CHANGES.len() - 40];
    let bad = dir.write("02-changes.xml", cut);
    let truncated = fixture("gal-search-response.wbxml");
    let bad_gal = dir.write("03-gal.wbxml", &truncated[..300]);
    let outcome = load(&dir.0).expect("loads");
    assert_eq!(outcome.contacts.len(), 5);
    assert_eq!(
        by_uid(&outcome.contacts, "eas-2-2_3A1").name.family,
        vec!["Ventanilla"]
    );
    let skipped: Vec<&str> = outcome
        .skipped
        .iter()
        .map(|s| s.location.as_str())
        .collect();
    assert_eq!(
        skipped,
        vec![bad.display().to_string(), bad_gal.display().to_string()]
    );
    assert!(
        outcome.skipped[1]
            .reason
            .starts_with("WBXML, byte 300: truncated"),
        "{}",
        outcome.skipped[1]
    );
}

#[test]
fn all_bad_or_unreadable_fails_the_poll() {
    let dir = Scratch::new();
    dir.write("a.xml", b"<html/>");
    dir.write("b.wbxml", &fixture("sync-response.wbxml")[..50]);
    let err = load(&dir.0).expect_err("nothing usable").to_string();
    assert!(
        err.contains("a.xml") && err.contains("b.wbxml") && err.contains("byte"),
        "{err}"
    );

    let single = dir.write("c.wbxml", &fixture("sync-response.wbxml")[..60]);
    let err = load(&single).expect_err("bad file").to_string();
    assert!(
        err.starts_with(&format!(
            "{}: cannot decode: WBXML, byte 60",
            single.display()
        )),
        "{err}"
    );

    let err = load(&dir.0.join("missing")).expect_err("missing");
    assert!(matches!(err, SourceError::Unreadable { .. }), "{err}");

    let empty = Scratch::new();
    let outcome = load(&empty.0).expect("an empty folder lists nothing");
    assert!(outcome.contacts.is_empty());
}

#[test]
fn bad_photo_and_bad_date_drop_the_field_not_the_contact() {
    let doc = br#"<Sync xmlns="AirSync:" xmlns:c="Contacts:"><Collections><Collection>
<CollectionId>2</CollectionId><Commands><Add><ServerId>2:9</ServerId><ApplicationData>
<c:FirstName>Pat</c:FirstName><c:Picture>aGVsbG8=</c:Picture>
<c:Birthday>someday</c:Birthday><c:Email2Address>/o=Example/cn=pat</c:Email2Address>
<c:Hobby>chess</c:Hobby>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"#;
    let dir = Scratch::new();
    let path = dir.write("pat.xml", doc);
    let outcome = load(&path).expect("loads");
    assert_eq!(outcome.contacts.len(), 1);
    let pat = &outcome.contacts[0];
    assert_eq!(pat.name.given, vec!["Pat"]);
    assert_eq!((pat.photo.as_ref(), pat.birthday), (None, None));
    assert!(pat.emails.is_empty());
    let reasons: Vec<&str> = outcome.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("photo left out")));
    assert!(reasons.iter().any(|r| r.contains("Birthday")));
    assert!(reasons.iter().any(|r| r.contains("Email2Address")));
    assert!(reasons.iter().any(|r| r.contains("<Contacts:Hobby>")));
    assert!(outcome.skipped[0]
        .location
        .ends_with("pat.xml (CollectionId 2 ServerId 2:9)"));
}

#[test]
fn poll_and_fingerprint() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let dir = Scratch::new();
    dir.write("01.xml", &fixture("sync-response.xml"));
    let source = ActiveSyncSource::new("eas".into(), settings(&dir.0)).expect("settings");
    let outcome = runtime
        .block_on(Collected::poll(&source, &Cancel::default()))
        .expect("polls");
    assert_eq!(outcome.contacts.len(), 5);
    let first = runtime.block_on(source.fingerprint()).expect("fingerprint");
    assert_eq!(runtime.block_on(source.fingerprint()), Some(first.clone()));
    dir.write("02.xml", &fixture("gal-search-response.xml"));
    let second = runtime.block_on(source.fingerprint()).expect("fingerprint");
    assert_ne!(first, second);
    let outcome = runtime
        .block_on(Collected::poll(&source, &Cancel::default()))
        .expect("polls");
    assert_eq!(outcome.contacts.len(), 7);
}

#[test]
fn settings_are_checked() {
    let mut s = settings(Path::new("/nonexistent"));
    s.default_region = Some("XX".into());
    assert!(ActiveSyncSource::new("eas".into(), s)
        .err()
        .is_some_and(|e| e.starts_with("default_region")));
    let mut s = settings(Path::new("/nonexistent"));
    s.photos.max_dimension = 0;
    assert!(ActiveSyncSource::new("eas".into(), s)
        .err()
        .is_some_and(|e| e.starts_with("photos")));
}

mod awkward;
mod oracle;
mod props;

#[test]
fn a_given_up_poll_stops_the_replay() {
    let dir = Scratch::new();
    dir.write("01.xml", &fixture("sync-response.xml"));
    let source = ActiveSyncSource::new("eas".into(), settings(&dir.0)).expect("settings");
    let cancel = Cancel::default();
    cancel.cancel();
    assert!(matches!(
        source.load(&cancel, &Intake::collecting().0),
        Err(SourceError::Cancelled)
    ));
    let mut replay = Replay::default();
    let parsed =
        ActiveSyncSource::parse_file(&fixture("sync-response.xml"), &options()).expect("parses");
    assert!(matches!(
        replay.apply("01.xml", parsed.commands, &cancel),
        Err(SourceError::Cancelled)
    ));
    assert!(replay.slots.is_empty());
}
