//! Cards must parse back with independent parsers and give back the original values.

use calcard::vcard::{VCard, VCardEntry, VCardParameterName, VCardProperty, VCardValue};
use calcard::{Entry, Parser};
use cardbridge_connectors::contact::{
    Address, Contact, ContactKind, Email, Impp, Label, Name, PartialDate, Phone, PhoneKind, Photo,
    Url,
};

use super::{render, VcardVersion};

pub(super) const VERSIONS: [VcardVersion; 2] = [VcardVersion::V3, VcardVersion::V4];
/// JPEG magic plus bytes that are not valid UTF-8, so parsers keep them binary.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0xFE, 0x80,
];

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

fn email(address: &str, label: Option<Label>, preferred: bool) -> Email {
    Email {
        address: address.into(),
        label,
        preferred,
    }
}

fn phone(number: &str, kind: PhoneKind, label: Option<Label>, preferred: bool) -> Phone {
    Phone {
        number: number.into(),
        kind,
        label,
        preferred,
    }
}

/// A long note whose multi-byte characters land on every fold offset.
fn long_note() -> String {
    let mut note = String::from("Zeile 1: ä, ö; ü \\ Ende\nZeile 2: ");
    for i in 0..40 {
        note.push_str(&"x".repeat(i % 5));
        note.push_str("é€😀");
    }
    note.push_str("\n日本語のメモ");
    note
}

fn rich() -> Contact {
    Contact {
        uid: "0b9c2f3e-1d4a-4c55-9a77-1f2e3d4c5b6a".into(),
        kind: ContactKind::Individual,
        formatted_name: "Dr. Jörg Müller-Lüdenscheidt, Jr.; \\ \"Jo\"\nZweite".into(),
        name: Name {
            family: strings(&["Müller-Lüdenscheidt", "O'Brien;Smith"]),
            given: strings(&["Jörg"]),
            additional: strings(&["Karl", "Friedrich,II"]),
            prefixes: strings(&["Dr."]),
            suffixes: strings(&["Jr."]),
        },
        nicknames: strings(&["Jo", "JM, the 2nd"]),
        organization: Some("Müller & Söhne; GmbH, KG".into()),
        department: Some("Forschung\\Entwicklung".into()),
        title: Some("Leiter, F&E".into()),
        role: Some("Chef; Koch".into()),
        emails: vec![
            email("joerg@example.com", Some(Label::Work), true),
            email(
                "jm@example.org",
                Some(Label::Custom("Büro, 2. OG".into())),
                false,
            ),
            email("home@example.net", Some(Label::Home), false),
            email("   ", None, false),
        ],
        phones: vec![
            phone("+4930123456", PhoneKind::Cell, Some(Label::Work), true),
            phone(
                "030 / 123-45, ext; 6",
                PhoneKind::Voice,
                Some(Label::Home),
                false,
            ),
            phone(
                "+4940999",
                PhoneKind::Fax,
                Some(Label::Custom("Fax im Keller".into())),
                false,
            ),
            phone("+1555", PhoneKind::Pager, Some(Label::Other), false),
        ],
        addresses: vec![
            Address {
                street: "Hauptstraße 1\nHinterhaus; 3. OG".into(),
                locality: "Köln".into(),
                postal_code: "50667".into(),
                country: "Deutschland".into(),
                label: Some(Label::Work),
                preferred: true,
                ..Default::default()
            },
            Address {
                po_box: "PF 12,34".into(),
                locality: "Zürich".into(),
                label: Some(Label::Custom("Ferienhaus".into())),
                ..Default::default()
            },
            Address::default(),
        ],
        urls: vec![
            Url {
                url: "https://example.com/a b?x=1,2;y".into(),
                label: Some(Label::Home),
            },
            Url {
                url: "https://blog.example.com/".into(),
                label: Some(Label::Custom("Blog".into())),
            },
        ],
        impps: vec![Impp {
            uri: "xmpp:joerg@example.com".into(),
        }],
        birthday: Some(PartialDate {
            year: Some(1984),
            month: 5,
            day: 12,
        }),
        anniversary: Some(PartialDate {
            year: None,
            month: 6,
            day: 21,
        }),
        note: Some(long_note()),
        photo: Some(Photo {
            media_type: "image/jpeg".into(),
            data: JPEG.repeat(40),
        }),
        categories: strings(&["Kunden", "VIP, Gold", ""]),
        members: strings(&["ignored-for-individuals"]),
        manager: Some("Doe, Jane".into()),
        extra: vec![
            ("X-PHONETIC-FIRST-NAME".into(), "ヨルク".into()),
            ("X-BAD NAME".into(), "skipped".into()),
            ("END".into(), "VCARD".into()),
            ("item1.X-ABLabel".into(), "skipped".into()),
            ("X-CUSTOM".into(), "a;b,c\\d".into()),
        ],
        ..Contact::default()
    }
}

fn group() -> Contact {
    Contact {
        uid: "group-1".into(),
        kind: ContactKind::Group,
        formatted_name: "Team; A,B".into(),
        members: strings(&["0b9c2f3e-1d4a-4c55-9a77-1f2e3d4c5b6a", "m 2", ""]),
        ..Default::default()
    }
}

fn only_uid() -> Contact {
    Contact {
        uid: "only-uid".into(),
        ..Default::default()
    }
}

fn yearless_png() -> Contact {
    Contact {
        uid: "u-2".into(),
        name: Name {
            family: strings(&["Ōtani"]),
            given: strings(&["翔平"]),
            ..Default::default()
        },
        birthday: Some(PartialDate {
            year: None,
            month: 2,
            day: 29,
        }),
        photo: Some(Photo {
            media_type: "image/png".into(),
            data: [
                &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
                &[0xFF; 100],
            ]
            .concat(),
        }),
        ..Default::default()
    }
}

fn company() -> Contact {
    Contact {
        uid: "c-1".into(),
        organization: Some("ACME Corp.".into()),
        phones: vec![phone(
            "+4989000",
            PhoneKind::Voice,
            Some(Label::Work),
            false,
        )],
        ..Default::default()
    }
}

fn all_contacts() -> Vec<Contact> {
    vec![rich(), group(), only_uid(), yearless_png(), company()]
}

pub(super) fn parse(card: &str) -> VCard {
    let mut parser = Parser::new(card).strict();
    let vcard = match parser.entry() {
        Entry::VCard(vcard) => vcard,
        other => panic!("not a vCard: {other:?}\n{card}"),
    };
    assert!(
        matches!(parser.entry(), Entry::Eof),
        "trailing data\n{card}"
    );
    vcard
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unfold(card: &str) -> String {
    card.replace("\r\n ", "")
}

/// Line structure a strict reader relies on, checked on the raw bytes.
fn assert_well_formed(card: &str, version: VcardVersion) {
    let head = format!(
        "BEGIN:VCARD\r\nVERSION:{}\r\nPRODID:-//cardbridge//cardbridge//EN\r\nUID:",
        version.as_str()
    );
    assert!(card.starts_with(&head), "{card}");
    assert!(card.ends_with("\r\nEND:VCARD\r\n"), "{card}");
    let bytes = card.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i}\n{card}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}\n{card}");
        }
        assert!(
            b >= 0x20 || b == b'\r' || b == b'\n',
            "control {b:#x}\n{card}"
        );
    }
    for line in card[..card.len() - 2].split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.is_empty(), "empty line\n{card}");
        assert!(!line.starts_with('\t'));
        if let Some(rest) = line.strip_prefix(' ') {
            assert!(!rest.is_empty(), "empty continuation\n{card}");
        }
    }
    let logical = unfold(card);
    let lines: Vec<&str> = logical[..logical.len() - 2].split("\r\n").collect();
    assert!(lines[3].starts_with("UID:"));
    assert!(lines[4].starts_with("FN:"));
    assert!(lines[5].starts_with("N:"));
    for line in &lines {
        let name_end = line.find([';', ':']).expect("no value separator");
        let name = &line[..name_end];
        let name = match name.split_once('.') {
            Some((group, name)) => {
                let n = group.strip_prefix("item").expect("unknown group");
                assert!(n.parse::<u32>().is_ok_and(|n| n > 0), "{line}");
                name
            }
            None => name,
        };
        assert!(!name.is_empty(), "{line}");
        assert!(
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{line}"
        );
    }
    for singleton in ["BEGIN:", "END:", "VERSION:", "PRODID:", "UID:", "FN:", "N:"] {
        let count = lines.iter().filter(|l| l.starts_with(singleton)).count();
        assert_eq!(count, 1, "{singleton} count\n{card}");
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("REV")),
        "REV breaks purity"
    );
}

pub(super) fn all<'a>(card: &'a VCard, name: &VCardProperty) -> Vec<&'a VCardEntry> {
    card.entries.iter().filter(|e| &e.name == name).collect()
}

pub(super) fn other<'a>(card: &'a VCard, name: &str) -> Vec<&'a VCardEntry> {
    all(card, &VCardProperty::Other(name.into()))
}

pub(super) fn one<'a>(card: &'a VCard, name: &VCardProperty) -> &'a VCardEntry {
    let found = all(card, name);
    assert_eq!(found.len(), 1, "{name:?}: {found:?}");
    found[0]
}

/// Values as text; a comma list within one component comes back as `Component`.
pub(super) fn values(entry: &VCardEntry) -> Vec<Vec<String>> {
    entry
        .values
        .iter()
        .map(|v| match v {
            VCardValue::Text(s) => vec![s.clone()],
            VCardValue::Component(parts) => parts.clone(),
            other => panic!("unexpected value {other:?} in {entry:?}"),
        })
        .collect()
}

pub(super) fn text(entry: &VCardEntry) -> String {
    match values(entry).as_slice() {
        [single] if single.len() == 1 => single[0].clone(),
        other => panic!("not one text value: {other:?}"),
    }
}

fn param_texts(entry: &VCardEntry, name: &VCardParameterName) -> Vec<String> {
    entry
        .params
        .iter()
        .filter(|p| &p.name == name)
        .map(|p| format!("{:?}", p.value))
        .collect()
}

/// The `X-ABLabel` that shares `entry`'s Apple item group.
fn ab_label(card: &VCard, entry: &VCardEntry) -> Option<String> {
    let group = entry.group.as_ref()?;
    other(card, "X-ABLabel")
        .into_iter()
        .find(|l| l.group.as_ref() == Some(group))
        .map(text)
}

#[test]
fn every_card_is_well_formed_and_parses() {
    for contact in all_contacts() {
        for version in VERSIONS {
            let card = render(&contact, version);
            assert_well_formed(&card, version);
            let parsed = parse(&card);
            assert_eq!(
                text(one(&parsed, &VCardProperty::Version)),
                version.as_str()
            );
            assert_eq!(text(one(&parsed, &VCardProperty::Uid)), contact.uid);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for contact in all_contacts() {
        for version in VERSIONS {
            assert_eq!(render(&contact, version), render(&contact.clone(), version));
        }
    }
}

#[test]
fn text_values_round_trip() {
    let contact = rich();
    for version in VERSIONS {
        let card = render(&contact, version);
        let parsed = parse(&card);
        assert_eq!(
            text(one(&parsed, &VCardProperty::Fn)),
            contact.formatted_name
        );
        let n = values(one(&parsed, &VCardProperty::N));
        let name = &contact.name;
        assert_eq!(
            n,
            vec![
                name.family.clone(),
                name.given.clone(),
                name.additional.clone(),
                name.prefixes.clone(),
                name.suffixes.clone(),
            ],
            "{card}"
        );
        let org = values(one(&parsed, &VCardProperty::Org));
        assert_eq!(
            org,
            vec![
                vec![contact.organization.clone().unwrap()],
                vec![contact.department.clone().unwrap()]
            ]
        );
        assert_eq!(
            text(one(&parsed, &VCardProperty::Title)),
            contact.title.clone().unwrap()
        );
        assert_eq!(
            text(one(&parsed, &VCardProperty::Role)),
            contact.role.clone().unwrap()
        );
        assert_eq!(
            text(one(&parsed, &VCardProperty::Note)),
            contact.note.clone().unwrap()
        );
        let nick: Vec<String> = values(one(&parsed, &VCardProperty::Nickname))
            .concat()
            .into_iter()
            .collect();
        assert_eq!(nick, contact.nicknames);
        let categories = values(one(&parsed, &VCardProperty::Categories)).concat();
        assert_eq!(categories, strings(&["Kunden", "VIP, Gold"]));
        let adr = all(&parsed, &VCardProperty::Adr);
        assert_eq!(adr.len(), 2, "empty address must be skipped");
        let street: Vec<String> = values(adr[0]).concat();
        assert_eq!(
            street,
            strings(&[
                "",
                "",
                "Hauptstraße 1\nHinterhaus; 3. OG",
                "Köln",
                "",
                "50667",
                "Deutschland"
            ])
        );
        assert_eq!(values(adr[1]).concat()[0], "PF 12,34");
        assert_eq!(ab_label(&parsed, adr[1]).as_deref(), Some("Ferienhaus"));
        let x = other(&parsed, "X-PHONETIC-FIRST-NAME");
        assert_eq!(text(x[0]), "ヨルク");
        assert_eq!(text(other(&parsed, "X-CUSTOM")[0]), "a;b,c\\d");
        assert!(other(&parsed, "X-BAD NAME").is_empty());
        // An extra `END` would have ended the card before the photo.
        assert_eq!(all(&parsed, &VCardProperty::Photo).len(), 1);
        assert_eq!(card.matches("END:").count(), 1);
        assert!(all(&parsed, &VCardProperty::Member).is_empty());
    }
}

#[test]
fn emails_and_phones_round_trip() {
    let contact = rich();
    for version in VERSIONS {
        let card = render(&contact, version);
        let parsed = parse(&card);
        let emails = all(&parsed, &VCardProperty::Email);
        let addresses: Vec<String> = emails.iter().map(|e| text(e)).collect();
        assert_eq!(
            addresses,
            strings(&["joerg@example.com", "jm@example.org", "home@example.net"])
        );
        assert_eq!(ab_label(&parsed, emails[1]).as_deref(), Some("Büro, 2. OG"));
        assert_eq!(ab_label(&parsed, emails[0]), None);

        let tels = all(&parsed, &VCardProperty::Tel);
        let numbers: Vec<String> = tels.iter().map(|t| text(t)).collect();
        let expected = match version {
            VcardVersion::V3 => ["+4930123456", "030 / 123-45, ext; 6", "+4940999", "+1555"],
            VcardVersion::V4 => [
                "tel:+4930123456",
                "030 / 123-45, ext; 6",
                "tel:+4940999",
                "tel:+1555",
            ],
        };
        assert_eq!(numbers, expected, "{card}");
        assert_eq!(ab_label(&parsed, tels[2]).as_deref(), Some("Fax im Keller"));
        let pref = param_texts(tels[0], &VCardParameterName::Pref);
        match version {
            VcardVersion::V3 => assert!(pref.is_empty()),
            VcardVersion::V4 => assert_eq!(pref, ["Integer(1)"]),
        }
        assert!(!param_texts(tels[0], &VCardParameterName::Type).is_empty());
    }
}

#[test]
fn photos_round_trip() {
    for contact in [rich(), yearless_png()] {
        let photo = contact.photo.clone().unwrap();
        for version in VERSIONS {
            let card = render(&contact, version);
            let parsed = parse(&card);
            let entry = one(&parsed, &VCardProperty::Photo);
            match &entry.values[..] {
                [VCardValue::Binary(data)] => {
                    assert_eq!(data.data, photo.data, "{card}");
                    if version == VcardVersion::V4 {
                        assert_eq!(data.content_type.as_deref(), Some(&photo.media_type[..]));
                    }
                }
                other => panic!("photo not binary: {other:?}\n{card}"),
            }
        }
        let v3 = unfold(&render(&contact, VcardVersion::V3));
        let v4 = unfold(&render(&contact, VcardVersion::V4));
        let (kind, sub) = if photo.media_type == "image/png" {
            ("PNG", "png")
        } else {
            ("JPEG", "jpeg")
        };
        assert!(v3.contains(&format!("\r\nPHOTO;ENCODING=b;TYPE={kind}:")));
        assert!(v4.contains(&format!("\r\nPHOTO:data:image/{sub};base64,")));
    }
}

#[test]
fn unsupported_photo_types_are_left_out() {
    let mut contact = only_uid();
    contact.photo = Some(Photo {
        media_type: "image/gif".into(),
        data: b"GIF89a".to_vec(),
    });
    for version in VERSIONS {
        assert!(!render(&contact, version).contains("PHOTO"));
    }
}

#[test]
fn dates_in_each_dialect() {
    let v3 = unfold(&render(&rich(), VcardVersion::V3));
    assert!(v3.contains("\r\nBDAY:1984-05-12\r\n"), "{v3}");
    assert!(v3.contains(
        "\r\nitem5.X-ABDATE;X-APPLE-OMIT-YEAR=1604:1604-06-21\r\nitem5.X-ABLabel:_$!<Anniversary>!$_\r\n"
    ), "{v3}");
    let v4 = unfold(&render(&rich(), VcardVersion::V4));
    assert!(v4.contains("\r\nBDAY:19840512\r\n"));
    assert!(v4.contains("\r\nANNIVERSARY:--0621\r\n"));

    let yearless = yearless_png();
    let v3 = render(&yearless, VcardVersion::V3);
    assert!(v3.contains("\r\nBDAY;X-APPLE-OMIT-YEAR=1604:1604-02-29\r\n"));
    let v4 = render(&yearless, VcardVersion::V4);
    assert!(v4.contains("\r\nBDAY:--0229\r\n"));
    let parsed = parse(&v4);
    match &one(&parsed, &VCardProperty::Bday).values[..] {
        [VCardValue::PartialDateTime(d)] => {
            assert_eq!((d.year, d.month, d.day), (None, Some(2), Some(29)));
        }
        other => panic!("{other:?}"),
    }

    let mut invalid = only_uid();
    invalid.birthday = Some(PartialDate {
        year: Some(2023),
        month: 2,
        day: 29,
    });
    for version in VERSIONS {
        assert!(!render(&invalid, version).contains("BDAY"));
    }
}

#[test]
fn labels_and_manager_in_each_dialect() {
    let v3 = unfold(&render(&rich(), VcardVersion::V3));
    for line in [
        "EMAIL;TYPE=INTERNET,WORK,PREF:joerg@example.com",
        "item1.EMAIL;TYPE=INTERNET:jm@example.org",
        "item1.X-ABLabel:Büro\\, 2. OG",
        "EMAIL;TYPE=INTERNET,HOME:home@example.net",
        "TEL;TYPE=CELL,WORK,PREF:+4930123456",
        "TEL;TYPE=VOICE,HOME:030 / 123-45\\, ext\\; 6",
        "item2.TEL;TYPE=FAX:+4940999",
        "item2.X-ABLabel:Fax im Keller",
        "TEL;TYPE=PAGER,OTHER:+1555",
        "ADR;TYPE=WORK,PREF:;;Hauptstraße 1\\nHinterhaus\\; 3. OG;Köln;;50667;Deutschland",
        "item3.ADR:PF 12\\,34;;;Zürich;;;",
        "URL:https://example.com/a%20b?x=1\\,2\\;y",
        "item4.URL:https://blog.example.com/",
        "IMPP:xmpp:joerg@example.com",
        "item6.X-ABRELATEDNAMES:Doe\\, Jane",
        "item6.X-ABLabel:_$!<Manager>!$_",
        "CATEGORIES:Kunden,VIP\\, Gold",
        "NICKNAME:Jo,JM\\, the 2nd",
        "ORG:Müller & Söhne\\; GmbH\\, KG;Forschung\\\\Entwicklung",
    ] {
        assert!(
            v3.contains(&format!("\r\n{line}\r\n")),
            "missing {line}\n{v3}"
        );
    }
    let v4 = unfold(&render(&rich(), VcardVersion::V4));
    for line in [
        "EMAIL;TYPE=work;PREF=1:joerg@example.com",
        "item1.EMAIL:jm@example.org",
        "item1.X-ABLabel:Büro\\, 2. OG",
        "TEL;TYPE=cell,work;PREF=1;VALUE=uri:tel:+4930123456",
        "TEL;TYPE=voice,home;VALUE=text:030 / 123-45\\, ext\\; 6",
        "item2.TEL;TYPE=fax;VALUE=uri:tel:+4940999",
        "TEL;TYPE=pager;VALUE=uri:tel:+1555",
        "ADR;TYPE=work;PREF=1:;;Hauptstraße 1\\nHinterhaus\\; 3. OG;Köln;;50667;Deutschland",
        "URL;TYPE=home:https://example.com/a%20b?x=1\\,2\\;y",
        "item4.URL:https://blog.example.com/",
        "RELATED;TYPE=co-worker,manager;VALUE=text:Doe\\, Jane",
    ] {
        assert!(
            v4.contains(&format!("\r\n{line}\r\n")),
            "missing {line}\n{v4}"
        );
    }
    let parsed = parse(&v4);
    assert_eq!(text(one(&parsed, &VCardProperty::Related)), "Doe, Jane");
}

#[test]
fn groups_in_each_dialect() {
    let contact = group();
    let v3 = render(&contact, VcardVersion::V3);
    assert_eq!(
        v3,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//cardbridge//cardbridge//EN\r\nUID:group-1\r\n\
         FN:Team\\; A\\,B\r\nN:Team\\; A\\,B\r\nX-ADDRESSBOOKSERVER-KIND:group\r\n\
         X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:0b9c2f3e-1d4a-4c55-9a77-1f2e3d4c5b6a\r\n\
         X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m%202\r\nEND:VCARD\r\n"
    );
    let parsed = parse(&v3);
    assert_eq!(text(one(&parsed, &VCardProperty::N)), "Team; A,B");

    let v4 = render(&contact, VcardVersion::V4);
    assert_eq!(
        v4,
        "BEGIN:VCARD\r\nVERSION:4.0\r\nPRODID:-//cardbridge//cardbridge//EN\r\nUID:group-1\r\n\
         FN:Team\\; A\\,B\r\nN:;;;;\r\nKIND:group\r\n\
         MEMBER:urn:uuid:0b9c2f3e-1d4a-4c55-9a77-1f2e3d4c5b6a\r\n\
         MEMBER:urn:uuid:m%202\r\nEND:VCARD\r\n"
    );
    let parsed = parse(&v4);
    let members: Vec<String> = all(&parsed, &VCardProperty::Member)
        .into_iter()
        .map(text)
        .collect();
    assert_eq!(
        members,
        [
            "urn:uuid:0b9c2f3e-1d4a-4c55-9a77-1f2e3d4c5b6a",
            "urn:uuid:m%202"
        ]
    );

    // A named 3.0 group keeps its N without the trailing separators Apple would display.
    let mut named = group();
    named.name.family = strings(&["Team"]);
    assert!(render(&named, VcardVersion::V3).contains("\r\nN:Team\r\n"));
    assert!(render(&named, VcardVersion::V4).contains("\r\nN:Team;;;;\r\n"));
}

#[test]
fn minimal_cards() {
    let contact = only_uid();
    assert_eq!(
        render(&contact, VcardVersion::V3),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//cardbridge//cardbridge//EN\r\n\
         UID:only-uid\r\nFN:only-uid\r\nN:;;;;\r\nEND:VCARD\r\n"
    );
    assert_eq!(
        render(&contact, VcardVersion::V4),
        "BEGIN:VCARD\r\nVERSION:4.0\r\nPRODID:-//cardbridge//cardbridge//EN\r\n\
         UID:only-uid\r\nFN:only-uid\r\nN:;;;;\r\nEND:VCARD\r\n"
    );
    let parsed = parse(&render(&contact, VcardVersion::V3));
    assert_eq!(text(one(&parsed, &VCardProperty::Fn)), "only-uid");
}

#[test]
fn company_cards_show_as_company_in_v3() {
    let v3 = render(&company(), VcardVersion::V3);
    assert!(v3.contains("\r\nFN:ACME Corp.\r\nN:;;;;\r\nORG:ACME Corp.\r\nX-ABShowAs:COMPANY\r\n"));
    assert!(!render(&company(), VcardVersion::V4).contains("X-ABShowAs"));
    assert!(!render(&rich(), VcardVersion::V3).contains("X-ABShowAs"));
}

#[test]
fn control_characters_are_stripped() {
    let mut contact = only_uid();
    contact.formatted_name = "A\u{0}B\u{7}C\u{1b}[0m".into();
    contact.note = Some("line1\r\nline2\u{8}\tend".into());
    for version in VERSIONS {
        let card = render(&contact, version);
        assert_well_formed(&card, version);
        let parsed = parse(&card);
        assert_eq!(text(one(&parsed, &VCardProperty::Fn)), "ABC[0m");
        assert_eq!(text(one(&parsed, &VCardProperty::Note)), "line1\nline2 end");
    }
}

#[test]
fn multibyte_values_at_every_fold_offset_round_trip() {
    for offset in 0..12 {
        let mut contact = only_uid();
        let value = format!("{}{}", "x".repeat(offset), "ü€😀;,\\".repeat(30));
        contact.formatted_name = value.clone();
        contact.note = Some(value.clone());
        contact.name.family = vec![value.clone()];
        for version in VERSIONS {
            let card = render(&contact, version);
            assert_well_formed(&card, version);
            let parsed = parse(&card);
            assert_eq!(text(one(&parsed, &VCardProperty::Fn)), value);
            assert_eq!(text(one(&parsed, &VCardProperty::Note)), value);
            assert_eq!(
                values(one(&parsed, &VCardProperty::N))[0],
                std::slice::from_ref(&value)
            );
        }
    }
}

/// python3 `vobject` is a second, independent reader (`scripts/test.sh` installs it).
#[test]
fn vobject_reads_every_card() {
    let python_ok = std::process::Command::new("python3")
        .args(["-c", "import vobject"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        python_ok,
        "python3 with vobject is needed: run scripts/test.sh, or python3 -m pip install vobject"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut expected = String::new();
    let mut paths = Vec::new();
    for (i, contact) in all_contacts().into_iter().enumerate() {
        for version in VERSIONS {
            let path = dir.path().join(format!("{i}-{}.vcf", version.as_str()));
            std::fs::write(&path, render(&contact, version)).unwrap();
            paths.push(path.display().to_string());
            let fn_ = super::names::display_name(&contact).into_owned();
            let note = contact.note.clone().unwrap_or_default();
            let emails: Vec<String> = contact
                .emails
                .iter()
                .map(|e| e.address.trim())
                .filter(|a| !a.is_empty())
                .map(hex)
                .collect();
            // URLs as written: the test data's only percent-encoded character is the space.
            let urls: Vec<String> = contact
                .urls
                .iter()
                .map(|u| u.url.trim())
                .filter(|u| !u.is_empty())
                .map(|u| hex(&u.replace(' ', "%20")))
                .collect();
            expected.push_str(&format!(
                "{}|{}|{}|{}\n",
                hex(&fn_),
                hex(&note),
                emails.join(","),
                urls.join(",")
            ));
        }
    }
    // vobject.readOne checks line syntax; values come back hex-encoded to compare exactly.
    let script = r#"
import sys, vobject
h = lambda s: s.encode("utf-8").hex()
for path in sys.argv[1:]:
    card = vobject.readOne(open(path, encoding="utf-8", newline="").read(), validate=True)
    note = card.note.value if hasattr(card, "note") else ""
    emails = [h(e.value) for e in card.contents.get("email", [])]
    urls = [h(u.value) for u in card.contents.get("url", [])]
    print(h(card.fn.value) + "|" + h(note) + "|" + ",".join(emails) + "|" + ",".join(urls))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vobject failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    assert_eq!(got, expected);
}

#[test]
fn a_healed_card_carries_its_revision_and_stays_well_formed() {
    for version in [VcardVersion::V3, VcardVersion::V4] {
        let contact = rich();
        assert_eq!(
            super::render_revised(&contact, version, 0),
            render(&contact, version)
        );
        let healed = super::render_revised(&contact, version, 2);
        assert!(
            healed.ends_with("\r\nX-CARDBRIDGE-REVISION:2\r\nEND:VCARD\r\n"),
            "{healed}"
        );
        assert_well_formed(&healed, version);
    }
}
