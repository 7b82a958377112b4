//! CSVs of any shape, described column by column in the config (`[source.columns]`).

use super::fields::{parse_date, split};
use super::row::{FieldWarnings, Row};
use super::Options;
use crate::phone::normalize_phone;
use crate::{Address, Contact, Email, Impp, Label, Phone, PhoneKind, Url};

/// What a column feeds.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Uid,
    FormattedName,
    Family,
    Given,
    Additional,
    Prefix,
    Suffix,
    Nickname,
    Org,
    Department,
    Title,
    Role,
    Email(Option<Label>),
    Tel(PhoneKind, Option<Label>),
    Adr(Label, AdrPart),
    Url,
    Birthday,
    Anniversary,
    Note,
    Categories,
    Impp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AdrPart {
    Street,
    Locality,
    Region,
    PostalCode,
    Country,
    PoBox,
}

fn label(name: &str) -> Option<Label> {
    match name {
        "home" => Some(Label::Home),
        "work" => Some(Label::Work),
        "other" => Some(Label::Other),
        _ => None,
    }
}

/// Parses a field spec such as `email.work` or `adr.home.postal_code`.
pub fn parse_field(spec: &str) -> Result<Field, String> {
    let parts: Vec<&str> = spec.trim().split('.').collect();
    let field = match parts.as_slice() {
        ["uid"] => Field::Uid,
        ["fn"] => Field::FormattedName,
        ["n", "family"] => Field::Family,
        ["n", "given"] => Field::Given,
        ["n", "additional"] => Field::Additional,
        ["n", "prefix"] => Field::Prefix,
        ["n", "suffix"] => Field::Suffix,
        ["nickname"] => Field::Nickname,
        ["org"] => Field::Org,
        ["department"] => Field::Department,
        ["title"] => Field::Title,
        ["role"] => Field::Role,
        ["email"] => Field::Email(None),
        ["email", l] if label(l).is_some() => Field::Email(label(l)),
        ["tel"] => Field::Tel(PhoneKind::Voice, None),
        ["tel", "cell"] => Field::Tel(PhoneKind::Cell, None),
        ["tel", "fax"] => Field::Tel(PhoneKind::Fax, None),
        ["tel", "pager"] => Field::Tel(PhoneKind::Pager, None),
        ["tel", l] if label(l).is_some() => Field::Tel(PhoneKind::Voice, label(l)),
        ["adr", l, part] if label(l).is_some() => {
            let part = match *part {
                "street" => AdrPart::Street,
                "locality" => AdrPart::Locality,
                "region" => AdrPart::Region,
                "postal_code" => AdrPart::PostalCode,
                "country" => AdrPart::Country,
                "po_box" => AdrPart::PoBox,
                _ => return Err(unknown(spec)),
            };
            Field::Adr(label(l).unwrap_or(Label::Other), part)
        }
        ["url"] => Field::Url,
        ["bday"] => Field::Birthday,
        ["anniversary"] => Field::Anniversary,
        ["note"] => Field::Note,
        ["categories"] => Field::Categories,
        ["impp"] => Field::Impp,
        _ => return Err(unknown(spec)),
    };
    Ok(field)
}

fn unknown(spec: &str) -> String {
    format!(
        "unknown field {spec:?} (use uid, fn, n.family, n.given, n.additional, n.prefix, \
         n.suffix, nickname, org, department, title, role, email[.home|.work|.other], \
         tel[.cell|.fax|.pager|.home|.work|.other], adr.<home|work|other>.<street|locality|region|\
         postal_code|country|po_box>, url, bday, anniversary, note, categories, impp)"
    )
}

pub fn contact(row: &Row, columns: &[(String, Field)], opts: &Options) -> (Contact, FieldWarnings) {
    let sep = opts.separator.as_str();
    let mut c = Contact::default();
    let mut warnings = Vec::new();
    for (column, field) in columns {
        let Some(value) = row.get(column) else {
            continue;
        };
        let values = || split(value, sep).map(String::from);
        match field {
            Field::Uid => c.uid = value.to_string(),
            Field::FormattedName => c.formatted_name = value.to_string(),
            Field::Family => c.name.family.extend(values()),
            Field::Given => c.name.given.extend(values()),
            Field::Additional => c.name.additional.extend(values()),
            Field::Prefix => c.name.prefixes.extend(values()),
            Field::Suffix => c.name.suffixes.extend(values()),
            Field::Nickname => c.nicknames.extend(values()),
            Field::Org => c.organization = Some(value.to_string()),
            Field::Department => c.department = Some(value.to_string()),
            Field::Title => c.title = Some(value.to_string()),
            Field::Role => c.role = Some(value.to_string()),
            Field::Note => c.note = Some(value.to_string()),
            Field::Categories => c.categories.extend(values()),
            Field::Url => c.urls.extend(values().map(|url| Url { url, label: None })),
            Field::Impp => c.impps.extend(values().map(|uri| Impp { uri })),
            Field::Email(l) => c.emails.extend(values().map(|address| Email {
                address,
                label: l.clone(),
                preferred: false,
            })),
            Field::Tel(kind, l) => c.phones.extend(values().map(|n| Phone {
                number: normalize_phone(&n, opts.region.as_deref()),
                kind: *kind,
                label: l.clone(),
                preferred: false,
            })),
            Field::Adr(l, part) => {
                let index = match c.addresses.iter().position(|a| a.label.as_ref() == Some(l)) {
                    Some(i) => i,
                    None => {
                        c.addresses.push(Address {
                            label: Some(l.clone()),
                            ..Address::default()
                        });
                        c.addresses.len() - 1
                    }
                };
                let address = &mut c.addresses[index];
                let slot = match part {
                    AdrPart::Street => &mut address.street,
                    AdrPart::Locality => &mut address.locality,
                    AdrPart::Region => &mut address.region,
                    AdrPart::PostalCode => &mut address.postal_code,
                    AdrPart::Country => &mut address.country,
                    AdrPart::PoBox => &mut address.po_box,
                };
                *slot = value.to_string();
            }
            Field::Birthday | Field::Anniversary => match parse_date(value) {
                Ok(date) if *field == Field::Birthday => c.birthday = date,
                Ok(date) => c.anniversary = date,
                Err(e) => warnings.push(format!("column {column:?}: {e}")),
            },
        }
    }
    (c, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_specs() {
        assert_eq!(
            parse_field("email.work"),
            Ok(Field::Email(Some(Label::Work)))
        );
        assert_eq!(
            parse_field("adr.home.postal_code"),
            Ok(Field::Adr(Label::Home, AdrPart::PostalCode))
        );
        assert_eq!(
            parse_field("tel.cell"),
            Ok(Field::Tel(PhoneKind::Cell, None))
        );
        assert!(parse_field("email.moon")
            .unwrap_err()
            .contains("email.moon"));
        assert!(parse_field("shoe_size").is_err());
    }
}
