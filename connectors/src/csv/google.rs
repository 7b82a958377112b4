//! Google Contacts CSV exports: numbered `E-mail N - Label/Value` column groups, ` ::: `
//! multi-value cells, `* ` marking the primary value, system groups in `Labels`. One function
//! per field family (names, organization, emails, phones, addresses, websites, events, custom
//! fields) reads its columns.

use super::fields::{parse_date, parse_label, phone_label, split};
use super::row::{FieldWarnings, Row};
use super::Options;
use crate::phone::normalize_phone;
use crate::{Address, Contact, Email, Phone, Url};

/// Google's own groups, which mean nothing to another address book.
const SYSTEM_LABELS: [&str; 2] = ["myContacts", "starred"];

pub fn looks_like(header: &super::row::Header) -> bool {
    header.has("E-mail 1 - Value") || header.has("Phone 1 - Value")
}

/// One row of a Google export: one function per field family, in the order their values
/// reach the card.
pub fn contact(row: &Row, opts: &Options) -> (Contact, FieldWarnings) {
    let sep = opts.separator.as_str();
    let mut c = Contact::default();
    let mut warnings = Vec::new();
    names(&mut c, row, sep);
    organization(&mut c, row);
    c.note = row.get("Notes").map(String::from);
    phonetic_names(&mut c, row);
    if let Some(bday) = row.get("Birthday") {
        match parse_date(bday) {
            Ok(date) => c.birthday = date,
            Err(e) => warnings.push(format!("Birthday: {e}")),
        }
    }
    c.categories = categories(row, sep);
    c.emails = emails(row, sep);
    c.phones = phones(row, opts);
    c.addresses = addresses(row, sep);
    c.urls = urls(row, sep);
    anniversary(&mut c, row, &mut warnings);
    custom_fields(&mut c, row);
    (c, warnings)
}

/// N from the name columns (either spelling), FN from `Name`, and the nicknames.
fn names(c: &mut Contact, row: &Row, sep: &str) {
    let list = |col: &str| row.list(col);
    c.name.given = list("First Name");
    if c.name.given.is_empty() {
        c.name.given = list("Given Name");
    }
    c.name.additional = list("Middle Name");
    c.name.family = list("Last Name");
    if c.name.family.is_empty() {
        c.name.family = list("Family Name");
    }
    c.name.prefixes = list("Name Prefix");
    c.name.suffixes = list("Name Suffix");
    if let Some(name) = row.get("Name") {
        c.formatted_name = name.to_string();
    }
    c.nicknames = row
        .get("Nickname")
        .map(|v| split(v, sep).map(String::from).collect())
        .unwrap_or_default();
}

/// ORG, TITLE and department, from either export's column names.
fn organization(c: &mut Contact, row: &Row) {
    c.organization = row
        .get("Organization Name")
        .or(row.get("Organization 1 - Name"))
        .map(String::from);
    c.title = row
        .get("Organization Title")
        .or(row.get("Organization 1 - Title"))
        .map(String::from);
    c.department = row
        .get("Organization Department")
        .or(row.get("Organization 1 - Department"))
        .map(String::from);
}

/// Phonetic names go to `extra` under the names clients read.
fn phonetic_names(c: &mut Contact, row: &Row) {
    for (column, property) in [
        ("Phonetic First Name", "X-PHONETIC-FIRST-NAME"),
        ("Phonetic Middle Name", "X-PHONETIC-MIDDLE-NAME"),
        ("Phonetic Last Name", "X-PHONETIC-LAST-NAME"),
    ] {
        if let Some(v) = row.get(column) {
            c.extra.push((property.to_string(), v.to_string()));
        }
    }
}

/// The labels (groups) of the row, without Google's system groups and the `*` marks.
fn categories(row: &Row, sep: &str) -> Vec<String> {
    let Some(labels) = row.get("Labels").or(row.get("Group Membership")) else {
        return Vec::new();
    };
    split(labels, sep)
        .map(|l| l.trim_start_matches('*').trim())
        .filter(|l| !l.is_empty() && !SYSTEM_LABELS.contains(l))
        .map(String::from)
        .collect()
}

/// The numbered column groups `<prefix> 1 - <column>`, `<prefix> 2 - …` while the header
/// has them.
fn numbered<'a>(row: &'a Row, prefix: &'a str, column: &'a str) -> impl Iterator<Item = u32> + 'a {
    (1..).take_while(move |n| row.header.has(&format!("{prefix} {n} - {column}")))
}

/// `E-mail N - Value` cells; a multi-value cell's first address takes the `*` of its label.
fn emails(row: &Row, sep: &str) -> Vec<Email> {
    let mut emails = Vec::new();
    for n in numbered(row, "E-mail", "Value") {
        let (label, preferred) = parse_label(row.get(&format!("E-mail {n} - Label")).unwrap_or(""));
        for (i, address) in row
            .get(&format!("E-mail {n} - Value"))
            .into_iter()
            .flat_map(|v| split(v, sep))
            .enumerate()
        {
            emails.push(Email {
                address: address.to_string(),
                label: label.clone(),
                preferred: preferred && i == 0,
            });
        }
    }
    emails
}

/// `Phone N - Value` cells, normalized for the configured region; the label gives the kind.
fn phones(row: &Row, opts: &Options) -> Vec<Phone> {
    let mut phones = Vec::new();
    for n in numbered(row, "Phone", "Value") {
        let (kind, label, preferred) =
            phone_label(row.get(&format!("Phone {n} - Label")).unwrap_or(""));
        for (i, number) in row
            .get(&format!("Phone {n} - Value"))
            .into_iter()
            .flat_map(|v| split(v, &opts.separator))
            .enumerate()
        {
            phones.push(Phone {
                number: normalize_phone(number, opts.region.as_deref()),
                kind,
                label: label.clone(),
                preferred: preferred && i == 0,
            });
        }
    }
    phones
}

/// `Address N - …` groups (found by their Street or Formatted column).
fn addresses(row: &Row, sep: &str) -> Vec<Address> {
    let mut addresses = Vec::new();
    for n in 1.. {
        let prefix = format!("Address {n} - ");
        if !row.header.has(&format!("{prefix}Street"))
            && !row.header.has(&format!("{prefix}Formatted"))
        {
            break;
        }
        addresses.extend(address_group(row, &prefix, sep));
    }
    addresses
}

/// One address group; multi-value cells are split component by component and aligned by
/// position. An address with only a formatted text keeps it whole as the street.
fn address_group(row: &Row, prefix: &str, sep: &str) -> Vec<Address> {
    let (label, preferred) = parse_label(row.get(&format!("{prefix}Label")).unwrap_or(""));
    let parts = |field: &str| -> Vec<String> {
        match row.get(&format!("{prefix}{field}")) {
            // Multi-value addresses are split component by component, aligned by position.
            Some(v) => v.split(sep).map(|s| s.trim().to_string()).collect(),
            None => Vec::new(),
        }
    };
    let (street, city, po_box, region, postal, country, extended) = (
        parts("Street"),
        parts("City"),
        parts("PO Box"),
        parts("Region"),
        parts("Postal Code"),
        parts("Country"),
        parts("Extended Address"),
    );
    let count = [
        &street, &city, &po_box, &region, &postal, &country, &extended,
    ]
    .iter()
    .map(|p| p.len())
    .max()
    .unwrap_or(0);
    let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    let mut addresses = Vec::new();
    for i in 0..count {
        let address = Address {
            po_box: at(&po_box, i),
            extended: at(&extended, i),
            street: at(&street, i),
            locality: at(&city, i),
            region: at(&region, i),
            postal_code: at(&postal, i),
            country: at(&country, i),
            label: label.clone(),
            preferred: preferred && i == 0,
        };
        if !address.is_empty() {
            addresses.push(address);
        } else if let Some(formatted) = parts("Formatted").get(i).filter(|f| !f.is_empty()) {
            // Only a formatted address: keep it whole as the street.
            addresses.push(Address {
                street: formatted.clone(),
                label: label.clone(),
                ..Address::default()
            });
        }
    }
    addresses
}

/// `Website N - Value` cells with their labels.
fn urls(row: &Row, sep: &str) -> Vec<Url> {
    let mut urls = Vec::new();
    for n in numbered(row, "Website", "Value") {
        let (label, _) = parse_label(row.get(&format!("Website {n} - Label")).unwrap_or(""));
        for url in row
            .get(&format!("Website {n} - Value"))
            .into_iter()
            .flat_map(|v| split(v, sep))
        {
            urls.push(Url {
                url: url.to_string(),
                label: label.clone(),
            });
        }
    }
    urls
}

/// ANNIVERSARY from the events labelled so; a value that is no date is a warning.
fn anniversary(c: &mut Contact, row: &Row, warnings: &mut FieldWarnings) {
    for n in numbered(row, "Event", "Value") {
        let label = row.get(&format!("Event {n} - Label")).unwrap_or("");
        let is_anniversary = label
            .trim_start_matches('*')
            .trim()
            .eq_ignore_ascii_case("anniversary");
        if let Some(value) = row
            .get(&format!("Event {n} - Value"))
            .filter(|_| is_anniversary)
        {
            match parse_date(value) {
                Ok(date) => c.anniversary = date,
                Err(e) => warnings.push(format!("Event {n}: {e}")),
            }
        }
    }
}

/// `Custom Field N - Label/Value` pairs, to `extra` under a property name made of the label.
fn custom_fields(c: &mut Contact, row: &Row) {
    for n in numbered(row, "Custom Field", "Value") {
        if let (Some(label), Some(value)) = (
            row.get(&format!("Custom Field {n} - Label")),
            row.get(&format!("Custom Field {n} - Value")),
        ) {
            c.extra
                .push((crate::extra_property_name(label), value.to_string()));
        }
    }
}
