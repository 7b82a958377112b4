//! Outlook CSV exports (Outlook.com and Outlook desktop share column names; desktop adds
//! columns, quotes every cell and often writes Windows-1252).

use super::fields::{parse_date, split};
use super::row::{FieldWarnings, Header, Row};
use super::Options;
use crate::phone::normalize_phone;
use crate::{Address, Contact, Email, Impp, Label, Phone, PhoneKind, Url};

pub fn looks_like(header: &Header) -> bool {
    header.has("E-mail Address") || header.has("Business Phone") || header.has("Mobile Phone")
}

/// Phone columns: (column, kind, label, preferred).
const PHONES: [(&str, PhoneKind, Option<&str>, bool); 19] = [
    ("Primary Phone", PhoneKind::Voice, None, true),
    ("Mobile Phone", PhoneKind::Cell, None, false),
    ("Business Phone", PhoneKind::Voice, Some("work"), false),
    ("Business Phone 2", PhoneKind::Voice, Some("work"), false),
    (
        "Company Main Phone",
        PhoneKind::Voice,
        Some("Company Main"),
        false,
    ),
    ("Home Phone", PhoneKind::Voice, Some("home"), false),
    ("Home Phone 2", PhoneKind::Voice, Some("home"), false),
    ("Business Fax", PhoneKind::Fax, Some("work"), false),
    ("Home Fax", PhoneKind::Fax, Some("home"), false),
    ("Other Fax", PhoneKind::Fax, Some("other"), false),
    ("Pager", PhoneKind::Pager, None, false),
    ("Car Phone", PhoneKind::Voice, Some("Car"), false),
    ("Radio Phone", PhoneKind::Voice, Some("Radio"), false),
    ("Callback", PhoneKind::Voice, Some("Callback"), false),
    ("Other Phone", PhoneKind::Voice, Some("other"), false),
    (
        "Assistant's Phone",
        PhoneKind::Voice,
        Some("Assistant"),
        false,
    ),
    ("TTY/TDD Phone", PhoneKind::Text, Some("TTY/TDD"), false),
    ("ISDN", PhoneKind::Voice, Some("ISDN"), false),
    ("Telex", PhoneKind::Voice, Some("Telex"), false),
];

fn label(name: Option<&str>) -> Option<Label> {
    match name? {
        "work" => Some(Label::Work),
        "home" => Some(Label::Home),
        "other" => Some(Label::Other),
        custom => Some(Label::Custom(custom.to_string())),
    }
}

pub fn contact(row: &Row, opts: &Options) -> (Contact, FieldWarnings) {
    let mut c = Contact::default();
    let mut warnings = Vec::new();
    let list = |col: &str| row.list(col);
    c.name.given = list("First Name");
    c.name.additional = list("Middle Name");
    c.name.family = list("Last Name");
    c.name.prefixes = list("Title");
    c.name.suffixes = list("Suffix");
    c.nicknames = list("Nickname");
    c.organization = row.get("Company").map(String::from);
    c.department = row.get("Department").map(String::from);
    c.title = row.get("Job Title").map(String::from);
    c.note = row.get("Notes").map(String::from);
    c.manager = row.get("Manager's Name").map(String::from);
    for (column, property) in [
        ("Given Yomi", "X-PHONETIC-FIRST-NAME"),
        ("Surname Yomi", "X-PHONETIC-LAST-NAME"),
        ("Company Yomi", "X-PHONETIC-ORG"),
    ] {
        if let Some(v) = row.get(column) {
            c.extra.push((property.to_string(), v.to_string()));
        }
    }
    for (i, column) in ["E-mail Address", "E-mail 2 Address", "E-mail 3 Address"]
        .iter()
        .enumerate()
    {
        // Outlook desktop writes Exchange DNs (/o=…) for internal contacts: not addresses.
        if let Some(address) = row
            .get(column)
            .filter(|a| a.contains('@') && !a.starts_with('/'))
        {
            c.emails.push(Email {
                address: address.to_string(),
                label: None,
                preferred: i == 0,
            });
        }
    }
    for (column, kind, name, preferred) in PHONES {
        if let Some(number) = row.get(column) {
            let number = normalize_phone(number, opts.region.as_deref());
            if c.phones.iter().any(|p| p.number == number) {
                continue;
            }
            c.phones.push(Phone {
                number,
                kind,
                label: label(name),
                preferred,
            });
        }
    }
    for (prefix, lbl) in [
        ("Business", Label::Work),
        ("Home", Label::Home),
        ("Other", Label::Other),
    ] {
        let get = |field: &str| {
            row.get(&format!("{prefix} {field}"))
                .unwrap_or("")
                .to_string()
        };
        let street: Vec<String> = ["Street", "Street 2", "Street 3"]
            .iter()
            .map(|f| get(f))
            .filter(|s| !s.is_empty())
            .collect();
        let address = Address {
            po_box: get("Address PO Box"),
            extended: String::new(),
            street: street.join("\n"),
            locality: get("City"),
            region: get("State"),
            postal_code: get("Postal Code"),
            country: get("Country/Region"),
            label: Some(lbl),
            preferred: false,
        };
        if !address.is_empty() {
            c.addresses.push(address);
        }
    }
    for (column, lbl) in [
        ("Web Page", Some(Label::Work)),
        ("Personal Web Page", Some(Label::Home)),
    ] {
        if let Some(url) = row.get(column) {
            c.urls.push(Url {
                url: url.to_string(),
                label: lbl,
            });
        }
    }
    if let Some(im) = row.get("IMAddress") {
        let uri = if im.contains(':') {
            im.to_string()
        } else {
            format!("sip:{im}")
        };
        c.impps.push(Impp { uri });
    }
    for (column, slot) in [
        ("Birthday", &mut c.birthday),
        ("Anniversary", &mut c.anniversary),
    ] {
        if let Some(text) = row.get(column) {
            match parse_date(text) {
                Ok(date) => *slot = date,
                Err(e) => warnings.push(format!("{column}: {e}")),
            }
        }
    }
    if let Some(categories) = row.get("Categories") {
        c.categories = split(categories, ";").map(String::from).collect();
    }
    (c, warnings)
}
