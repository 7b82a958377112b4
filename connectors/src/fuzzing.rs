//! Entry points for the fuzz targets (`fuzz/`) and the corpus replay test.
//!
//! The parsers live in private modules; rather than widening their API, this module gives
//! each input kind one function that runs the whole path a source runs on those bytes and
//! discards the result. Only a panic (or a hang) matters to a caller. Not a stable API.

use std::collections::BTreeMap;

use crate::activesync::{fields, ActiveSyncSource};
use crate::csv::{CsvFormat, CsvSettings, CsvSource};
use crate::google::{html, mapping, wire};
use crate::ldap::search::Entry;
use crate::ldap::{Mapping, Preset};
use crate::photo::PhotoSettings;

/// A CSV file: auto-detected Google/Outlook export, then a mapped format with `;`.
pub fn csv(bytes: &[u8]) {
    let settings = CsvSettings {
        path: "fuzz.csv".into(),
        format: CsvFormat::Auto,
        encoding: Default::default(),
        delimiter: ',',
        key_column: None,
        default_region: Some("US".into()),
        multi_value_separator: " ::: ".into(),
        groups_from_categories: true,
        columns: BTreeMap::new(),
    };
    let columns = [
        ("Name", "fn"),
        ("Phone", "tel.work"),
        ("Mail", "email"),
        ("Born", "bday"),
    ];
    let mapped = CsvSettings {
        format: CsvFormat::Mapped,
        delimiter: ';',
        key_column: Some("Name".into()),
        columns: columns.map(|(c, f)| (c.into(), f.into())).into(),
        ..settings.clone()
    };
    for settings in [settings, mapped] {
        if let Ok(source) = CsvSource::new("fuzz".into(), settings) {
            let _ = source.parse(bytes);
        }
    }
}

/// An ActiveSync export file: format detection, WBXML or XML decoding, commands, mapping.
pub fn activesync(bytes: &[u8]) {
    let opts = fields::Options {
        region: Some("US".into()),
        photos: PhotoSettings::default(),
    };
    let _ = ActiveSyncSource::parse_file(bytes, &opts);
}

/// A People API person as JSON, mapped to a contact; and the bytes as an HTML biography.
pub fn google_person(bytes: &[u8]) {
    if let Ok(person) = serde_json::from_slice::<wire::Person>(bytes) {
        let opts = mapping::Options {
            region: Some("US"),
            photo_size: Some(512),
        };
        let _ = mapping::contact(&person, &opts);
    }
    let _ = html::to_text(&String::from_utf8_lossy(bytes));
}

/// A BER SearchResultEntry as the directory sends it, mapped by both presets.
pub fn ldap_entry(bytes: &[u8]) {
    let Ok((_, tag)) = ldap3::asn1::parse_tag(bytes) else {
        return;
    };
    let Some(entry) = Entry::from_ber(tag) else {
        return;
    };
    for preset in [Preset::Openldap, Preset::ActiveDirectory] {
        if let Ok(mapping) = Mapping::new(preset, &BTreeMap::new(), None, Some("US".into())) {
            let uid = mapping.uid.read(&entry).unwrap_or_default();
            let _ = mapping.contact(uid, &entry, &mut |n| mapping.normalize_phone(n));
            let _ = mapping.manager_dn(&entry);
            let _ = mapping.photo(&entry);
        }
    }
}
