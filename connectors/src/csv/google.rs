//! Google Contacts CSV exports: numbered `E-mail N - Label/Value` column groups, ` ::: `
//! multi-value cells, `* ` marking the primary value, system groups in `Labels`.

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

pub fn contact(row: &Row, opts: &Options) -> (Contact, FieldWarnings) {
    let sep = opts.separator.as_str();
    let mut c = Contact::default();
    let mut warnings = Vec::new();
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
    c.note = row.get("Notes").map(String::from);
    for (column, property) in [
        ("Phonetic First Name", "X-PHONETIC-FIRST-NAME"),
        ("Phonetic Middle Name", "X-PHONETIC-MIDDLE-NAME"),
        ("Phonetic Last Name", "X-PHONETIC-LAST-NAME"),
    ] {
        if let Some(v) = row.get(column) {
            c.extra.push((property.to_string(), v.to_string()));
        }
    }
    if let Some(bday) = row.get("Birthday") {
        match parse_date(bday) {
            Ok(date) => c.birthday = date,
            Err(e) => warnings.push(format!("Birthday: {e}")),
        }
    }
    if let Some(labels) = row.get("Labels").or(row.get("Group Membership")) {
        c.categories = split(labels, sep)
            .map(|l| l.trim_start_matches('*').trim())
            .filter(|l| !l.is_empty() && !SYSTEM_LABELS.contains(l))
            .map(String::from)
            .collect();
    }
    for n in 1.. {
        let value_col = format!("E-mail {n} - Value");
        if !row.header.has(&value_col) {
            break;
        }
        let (label, preferred) = parse_label(row.get(&format!("E-mail {n} - Label")).unwrap_or(""));
        for (i, address) in row
            .get(&value_col)
            .into_iter()
            .flat_map(|v| split(v, sep))
            .enumerate()
        {
            c.emails.push(Email {
                address: address.to_string(),
                label: label.clone(),
                preferred: preferred && i == 0,
            });
        }
    }
    for n in 1.. {
        let value_col = format!("Phone {n} - Value");
        if !row.header.has(&value_col) {
            break;
        }
        let (kind, label, preferred) =
            phone_label(row.get(&format!("Phone {n} - Label")).unwrap_or(""));
        for (i, number) in row
            .get(&value_col)
            .into_iter()
            .flat_map(|v| split(v, sep))
            .enumerate()
        {
            c.phones.push(Phone {
                number: normalize_phone(number, opts.region.as_deref()),
                kind,
                label: label.clone(),
                preferred: preferred && i == 0,
            });
        }
    }
    for n in 1.. {
        let prefix = format!("Address {n} - ");
        if !row.header.has(&format!("{prefix}Street"))
            && !row.header.has(&format!("{prefix}Formatted"))
        {
            break;
        }
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
                c.addresses.push(address);
            } else if let Some(formatted) = parts("Formatted").get(i).filter(|f| !f.is_empty()) {
                // Only a formatted address: keep it whole as the street.
                c.addresses.push(Address {
                    street: formatted.clone(),
                    label: label.clone(),
                    ..Address::default()
                });
            }
        }
    }
    for n in 1.. {
        let value_col = format!("Website {n} - Value");
        if !row.header.has(&value_col) {
            break;
        }
        let (label, _) = parse_label(row.get(&format!("Website {n} - Label")).unwrap_or(""));
        for url in row.get(&value_col).into_iter().flat_map(|v| split(v, sep)) {
            c.urls.push(Url {
                url: url.to_string(),
                label: label.clone(),
            });
        }
    }
    for n in 1.. {
        let value_col = format!("Event {n} - Value");
        if !row.header.has(&value_col) {
            break;
        }
        let label = row.get(&format!("Event {n} - Label")).unwrap_or("");
        if let Some(value) = row.get(&value_col) {
            if label
                .trim_start_matches('*')
                .trim()
                .eq_ignore_ascii_case("anniversary")
            {
                match parse_date(value) {
                    Ok(date) => c.anniversary = date,
                    Err(e) => warnings.push(format!("Event {n}: {e}")),
                }
            }
        }
    }
    for n in 1.. {
        let value_col = format!("Custom Field {n} - Value");
        if !row.header.has(&value_col) {
            break;
        }
        if let (Some(label), Some(value)) = (
            row.get(&format!("Custom Field {n} - Label")),
            row.get(&value_col),
        ) {
            c.extra
                .push((crate::extra_property_name(label), value.to_string()));
        }
    }
    (c, warnings)
}
