//! Entry points for the fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`).
//!
//! Each function runs the path client or disk bytes take through the server and discards
//! the result: only a panic (or a hang) matters to a caller. Not a stable API.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use cardbridge_connectors::{Contact, Email, Label, Name, Phone, PhoneKind};

use crate::config::ServerSettings;
use crate::dav::request::{parse_propfind, parse_proppatch, parse_report, Limits, Report};
use crate::store::{Book, Retention, StateFile};
use crate::vcard::{render, VcardVersion};

/// A PROPFIND, REPORT or PROPPATCH body.
pub fn dav_request(bytes: &[u8]) {
    let limits = limits();
    let _ = parse_propfind(bytes, &limits);
    let _ = parse_report(bytes, &limits);
    let _ = parse_proppatch(bytes, &limits);
}

/// The request limits a server gets by default.
fn limits() -> Limits {
    Limits::from(&ServerSettings::default())
}

/// An addressbook-query REPORT body, its filter evaluated against a few contacts.
pub fn filter(bytes: &[u8]) {
    if let Ok(Report::Query(query)) = parse_report(bytes, &limits()) {
        for contact in contacts() {
            let _ = query.filter.matches(&contact);
        }
    }
}

fn contacts() -> [Contact; 3] {
    let full = Contact {
        uid: "a1".into(),
        formatted_name: "Jörg Müller".into(),
        name: Name {
            family: vec!["Müller".into()],
            given: vec!["Jörg".into()],
            ..Name::default()
        },
        nicknames: vec!["Jo".into()],
        organization: Some("Müller & Söhne".into()),
        emails: vec![Email {
            address: "joerg@example.com".into(),
            label: Some(Label::Work),
            preferred: true,
        }],
        phones: vec![Phone {
            number: "+4930123456".into(),
            kind: PhoneKind::Cell,
            label: Some(Label::Home),
            preferred: false,
        }],
        note: Some("İstanbul ß ǅ".into()),
        categories: vec!["Friends".into()],
        ..Contact::default()
    };
    let bare = Contact {
        uid: "b2".into(),
        ..Contact::default()
    };
    let group = Contact {
        uid: "c3".into(),
        kind: cardbridge_connectors::ContactKind::Group,
        formatted_name: "Team".into(),
        members: vec!["a1".into()],
        ..Contact::default()
    };
    [full, bare, group]
}

/// The contact `vcard_roundtrip` renders: the bytes as text, split at `|`, one piece per
/// field in turn.
pub fn vcard_contact(bytes: &[u8]) -> Contact {
    let text = String::from_utf8_lossy(bytes);
    let mut pieces = text.split('|').map(str::to_string);
    let mut next = || pieces.next().unwrap_or_default();
    Contact {
        uid: next(),
        formatted_name: next(),
        name: Name {
            family: vec![next()],
            given: vec![next(), next()],
            ..Name::default()
        },
        nicknames: vec![next()],
        organization: Some(next()),
        title: Some(next()),
        note: Some(next()),
        emails: vec![Email {
            address: next(),
            label: Some(Label::Custom(next())),
            preferred: true,
        }],
        phones: vec![Phone {
            number: next(),
            kind: PhoneKind::Voice,
            label: None,
            preferred: false,
        }],
        categories: vec![next(), next()],
        ..Contact::default()
    }
}

/// Text from the bytes in a contact's fields, rendered as vCard 3.0 and 4.0. The fuzz target
/// and the replay test parse the cards back with an independent parser.
pub fn vcard_roundtrip(bytes: &[u8]) -> (Contact, [(VcardVersion, String); 2]) {
    let contact = vcard_contact(bytes);
    let cards = [VcardVersion::V3, VcardVersion::V4].map(|v| (v, render(&contact, v)));
    (contact, cards)
}

/// The bytes as the state file: opening it and restoring a book must fail cleanly or work.
pub fn state_file(bytes: &[u8]) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path: PathBuf = std::env::temp_dir().join(format!(
        "cardbridge-fuzz-state-{}-{}.redb",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, bytes).is_ok() {
        if let Ok(file) = StateFile::open(&path, false, 1 << 20) {
            let retention = Retention {
                max_entries: 100,
                max_age: None,
            };
            let _ = Book::open("contacts", retention, Some(&file));
        }
    }
    let _ = std::fs::remove_file(&path);
}
