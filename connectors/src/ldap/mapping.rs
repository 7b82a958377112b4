//! Which directory attributes feed which contact fields: the `openldap` and
//! `active-directory` presets, per-field overrides, and the conversion of one entry.

use std::collections::BTreeMap;

use super::search::Entry;
use super::settings::{OneOrMany, Preset};
use crate::phone::normalize_phone;
use crate::{Address, Contact, Email, Label, Phone, PhoneKind, Url};

/// A contact field fed from attributes; its config key is the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    FormattedName,
    GivenName,
    FamilyName,
    AdditionalName,
    Prefix,
    Suffix,
    Nickname,
    Organization,
    Department,
    Title,
    Email,
    /// AD `proxyAddresses`: `SMTP:` (primary) and `smtp:` values become emails.
    ProxyAddresses,
    WorkPhone,
    OtherPhone,
    Mobile,
    HomePhone,
    IpPhone,
    Pager,
    Fax,
    Street,
    PoBox,
    Locality,
    Region,
    PostalCode,
    Country,
    /// Office / room: the extended line of the work address.
    Office,
    Url,
    Note,
    Photo,
    Manager,
}

const FIELDS: &[(&str, Field)] = &[
    ("formatted_name", Field::FormattedName),
    ("given_name", Field::GivenName),
    ("family_name", Field::FamilyName),
    ("additional_name", Field::AdditionalName),
    ("prefix", Field::Prefix),
    ("suffix", Field::Suffix),
    ("nickname", Field::Nickname),
    ("organization", Field::Organization),
    ("department", Field::Department),
    ("title", Field::Title),
    ("email", Field::Email),
    ("proxy_addresses", Field::ProxyAddresses),
    ("work_phone", Field::WorkPhone),
    ("other_phone", Field::OtherPhone),
    ("mobile", Field::Mobile),
    ("home_phone", Field::HomePhone),
    ("ip_phone", Field::IpPhone),
    ("pager", Field::Pager),
    ("fax", Field::Fax),
    ("street", Field::Street),
    ("po_box", Field::PoBox),
    ("locality", Field::Locality),
    ("region", Field::Region),
    ("postal_code", Field::PostalCode),
    ("country", Field::Country),
    ("office", Field::Office),
    ("url", Field::Url),
    ("note", Field::Note),
    ("photo", Field::Photo),
    ("manager", Field::Manager),
];

fn preset_attributes(preset: Preset, field: Field) -> &'static [&'static str] {
    use Field::*;
    match (preset, field) {
        (_, FormattedName) => &["displayName", "cn"],
        (_, GivenName) => &["givenName"],
        (_, FamilyName) => &["sn"],
        (Preset::ActiveDirectory, AdditionalName) => &["initials"],
        (Preset::Openldap, AdditionalName) => &[],
        (_, Prefix | Suffix | Nickname) => &[],
        (Preset::Openldap, Organization) => &["o"],
        (Preset::ActiveDirectory, Organization) => &["company"],
        (Preset::Openldap, Department) => &["ou", "departmentNumber"],
        (Preset::ActiveDirectory, Department) => &["department"],
        (_, Title) => &["title"],
        (_, Email) => &["mail"],
        (Preset::ActiveDirectory, ProxyAddresses) => &["proxyAddresses"],
        (Preset::Openldap, ProxyAddresses) => &[],
        (_, WorkPhone) => &["telephoneNumber"],
        (Preset::ActiveDirectory, OtherPhone) => &["otherTelephone"],
        (Preset::Openldap, OtherPhone) => &[],
        // AD keeps further numbers of a kind in other* attributes (ADUC's "Other..." lists).
        (Preset::Openldap, Mobile) => &["mobile"],
        (Preset::ActiveDirectory, Mobile) => &["mobile", "otherMobile"],
        (Preset::Openldap, HomePhone) => &["homePhone"],
        (Preset::ActiveDirectory, HomePhone) => &["homePhone", "otherHomePhone"],
        (Preset::ActiveDirectory, IpPhone) => &["ipPhone", "otherIpPhone"],
        (Preset::Openldap, IpPhone) => &[],
        (Preset::Openldap, Pager) => &["pager"],
        (Preset::ActiveDirectory, Pager) => &["pager", "otherPager"],
        (Preset::Openldap, Fax) => &["facsimileTelephoneNumber"],
        (Preset::ActiveDirectory, Fax) => {
            &["facsimileTelephoneNumber", "otherFacsimileTelephoneNumber"]
        }
        (Preset::Openldap, Street) => &["street"],
        // Servers may return streetAddress under its other name, street.
        (Preset::ActiveDirectory, Street) => &["streetAddress", "street"],
        (_, PoBox) => &["postOfficeBox"],
        (_, Locality) => &["l"],
        (_, Region) => &["st"],
        (_, PostalCode) => &["postalCode"],
        (Preset::Openldap, Country) => &["c"],
        (Preset::ActiveDirectory, Country) => &["co", "c"],
        (_, Office) => &["physicalDeliveryOfficeName"],
        (Preset::Openldap, Url) => &["labeledURI"],
        (Preset::ActiveDirectory, Url) => &["wWWHomePage"],
        (Preset::Openldap, Note) => &["description"],
        (Preset::ActiveDirectory, Note) => &["info"],
        (Preset::Openldap, Photo) => &["jpegPhoto"],
        (Preset::ActiveDirectory, Photo) => &["thumbnailPhoto", "jpegPhoto"],
        (_, Manager) => &["manager"],
    }
}

/// `value` after `prefix`, which is compared ignoring ASCII case; `None` when `value` does
/// not start with it (or is shorter, or a character straddles the prefix's end).
pub fn strip_prefix_ignore_case<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let (head, rest) = value.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(rest)
}

/// How a uid is read from an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UidSource {
    /// AD's binary objectGUID, rendered as the UUID AD tools show.
    Guid(String),
    Text(String),
}

impl UidSource {
    pub fn attribute(&self) -> &str {
        match self {
            UidSource::Guid(a) | UidSource::Text(a) => a,
        }
    }

    pub fn read(&self, entry: &Entry) -> Option<String> {
        match self {
            UidSource::Guid(attr) => entry.raw(attr).first().and_then(|v| guid_to_uuid(v)),
            UidSource::Text(attr) => entry.first_text(attr).map(str::to_string),
        }
    }
}

/// objectGUID bytes → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; the first three groups are
/// little-endian, as AD prints them.
pub fn guid_to_uuid(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

/// The resolved attribute table of one source.
#[derive(Debug, Clone)]
pub struct Mapping {
    fields: BTreeMap<Field, Vec<String>>,
    pub uid: UidSource,
    pub region: Option<String>,
}

impl Mapping {
    pub fn new(
        preset: Preset,
        overrides: &BTreeMap<String, OneOrMany>,
        uid_attribute: Option<&str>,
        region: Option<String>,
    ) -> Result<Mapping, String> {
        let mut fields: BTreeMap<Field, Vec<String>> = FIELDS
            .iter()
            .map(|(_, f)| {
                let attrs = preset_attributes(preset, *f);
                (*f, attrs.iter().map(|a| a.to_string()).collect())
            })
            .collect();
        for (key, attrs) in overrides {
            let field = FIELDS
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    let known: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
                    format!(
                        "attributes.{key}: unknown field (one of {})",
                        known.join(", ")
                    )
                })?;
            fields.insert(field, attrs.clone().into_vec());
        }
        let uid = match uid_attribute {
            Some(a) if a.eq_ignore_ascii_case("objectGUID") => UidSource::Guid(a.to_string()),
            Some(a) if a.trim().is_empty() => return Err("uid_attribute: must not be empty".into()),
            Some(a) => UidSource::Text(a.to_string()),
            None => match preset {
                Preset::Openldap => UidSource::Text("entryUUID".into()),
                Preset::ActiveDirectory => UidSource::Guid("objectGUID".into()),
            },
        };
        Ok(Mapping {
            fields,
            uid,
            region,
        })
    }

    /// Every attribute to request (mapped ones plus the uid's).
    pub fn requested(&self) -> Vec<String> {
        let mut attrs: Vec<String> = self.fields.values().flatten().cloned().collect();
        attrs.push(self.uid.attribute().to_string());
        attrs.sort_by_key(|a| a.to_ascii_lowercase());
        attrs.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        attrs
    }

    fn attrs(&self, field: Field) -> &[String] {
        self.fields.get(&field).map_or(&[], Vec::as_slice)
    }

    /// All text values of a field, attribute by attribute.
    fn texts<'e>(&self, entry: &'e Entry, field: Field) -> Vec<&'e str> {
        self.attrs(field)
            .iter()
            .flat_map(|a| entry.texts(a))
            .collect()
    }

    fn first<'e>(&self, entry: &'e Entry, field: Field) -> Option<&'e str> {
        self.attrs(field).iter().find_map(|a| entry.first_text(a))
    }

    /// A number in E.164 when valid (the expensive step the caller caches).
    pub fn normalize_phone(&self, number: &str) -> String {
        normalize_phone(number, self.region.as_deref())
    }

    /// Raw bytes of the first photo attribute present.
    pub fn photo<'e>(&self, entry: &'e Entry) -> Option<&'e [u8]> {
        self.attrs(Field::Photo)
            .iter()
            .find_map(|a| entry.raw(a).first())
            .map(Vec::as_slice)
            .filter(|b| !b.is_empty())
    }

    /// Attributes that name an entry, best first: the card name's, then AD's `name`.
    pub fn name_attributes(&self) -> Vec<String> {
        let mut attrs = self.attrs(Field::FormattedName).to_vec();
        attrs.push("name".to_string());
        attrs
    }

    /// The name `entry` would have on its card (see [`Mapping::name_attributes`]).
    pub fn name(&self, entry: &Entry) -> Option<String> {
        self.name_attributes()
            .iter()
            .find_map(|a| entry.first_text(a))
            .map(str::to_string)
    }

    /// The manager's DN, resolved to a name later.
    pub fn manager_dn<'e>(&self, entry: &'e Entry) -> Option<&'e str> {
        self.first(entry, Field::Manager)
    }

    /// Everything but the photo and the manager, which need the rest of the listing. Phone
    /// numbers go through `phone` (normalization with a cache).
    pub fn contact(
        &self,
        uid: String,
        entry: &Entry,
        phone: &mut dyn FnMut(&str) -> String,
    ) -> Contact {
        let one = |f| self.first(entry, f).map(str::to_string);
        let all = |f| -> Vec<String> {
            self.texts(entry, f)
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let mut contact = Contact {
            uid,
            formatted_name: one(Field::FormattedName).unwrap_or_default(),
            nicknames: all(Field::Nickname),
            organization: one(Field::Organization),
            department: one(Field::Department),
            title: one(Field::Title),
            note: one(Field::Note),
            ..Contact::default()
        };
        contact.name.given = one(Field::GivenName).into_iter().collect();
        contact.name.family = one(Field::FamilyName).into_iter().collect();
        contact.name.additional = one(Field::AdditionalName).into_iter().collect();
        contact.name.prefixes = all(Field::Prefix);
        contact.name.suffixes = all(Field::Suffix);
        self.emails(entry, &mut contact.emails);
        self.phones(entry, &mut contact.phones, phone);
        let address = Address {
            po_box: one(Field::PoBox).unwrap_or_default(),
            extended: one(Field::Office).unwrap_or_default(),
            street: one(Field::Street).unwrap_or_default(),
            locality: one(Field::Locality).unwrap_or_default(),
            region: one(Field::Region).unwrap_or_default(),
            postal_code: one(Field::PostalCode).unwrap_or_default(),
            country: one(Field::Country).unwrap_or_default(),
            label: Some(Label::Work),
            preferred: false,
        };
        if !address.is_empty() {
            contact.addresses.push(address);
        }
        contact.urls = self
            .texts(entry, Field::Url)
            .into_iter()
            // labeledURI is "URI optional-label".
            .filter_map(|v| v.split_whitespace().next())
            .map(|url| Url {
                url: url.to_string(),
                label: Some(Label::Work),
            })
            .collect();
        contact
    }

    fn emails(&self, entry: &Entry, emails: &mut Vec<Email>) {
        let mut push = |address: &str, preferred: bool| {
            let address = address.trim();
            if address.is_empty() {
                return;
            }
            match emails
                .iter_mut()
                .find(|e| e.address.eq_ignore_ascii_case(address))
            {
                Some(existing) => existing.preferred |= preferred,
                None => emails.push(Email {
                    address: address.to_string(),
                    label: Some(Label::Work),
                    preferred,
                }),
            }
        };
        for (i, mail) in self.texts(entry, Field::Email).into_iter().enumerate() {
            push(mail, i == 0);
        }
        for value in self.texts(entry, Field::ProxyAddresses) {
            // "SMTP:" marks the primary address; "smtp:" the aliases; X400:, SIP: … are not mail.
            if let Some(address) = value.strip_prefix("SMTP:") {
                push(address, true);
            } else if let Some(address) = strip_prefix_ignore_case(value, "smtp:") {
                push(address, false);
            }
        }
        if emails.iter().filter(|e| e.preferred).count() > 1 {
            for e in emails.iter_mut().skip(1) {
                e.preferred = false;
            }
        }
    }

    /// `phone` normalizes a number as written (see [`Mapping::normalize_phone`]).
    fn phones(
        &self,
        entry: &Entry,
        phones: &mut Vec<Phone>,
        phone: &mut dyn FnMut(&str) -> String,
    ) {
        let kinds: [(Field, PhoneKind, Option<Label>); 7] = [
            (Field::WorkPhone, PhoneKind::Voice, Some(Label::Work)),
            (Field::Mobile, PhoneKind::Cell, None),
            (Field::OtherPhone, PhoneKind::Voice, Some(Label::Work)),
            (
                Field::IpPhone,
                PhoneKind::Voice,
                Some(Label::Custom("IP Phone".into())),
            ),
            (Field::HomePhone, PhoneKind::Voice, Some(Label::Home)),
            (Field::Pager, PhoneKind::Pager, None),
            (Field::Fax, PhoneKind::Fax, Some(Label::Work)),
        ];
        for (field, kind, label) in kinds {
            for number in self.texts(entry, field) {
                let number = phone(number);
                if phones.iter().any(|p| p.number == number && p.kind == kind) {
                    continue;
                }
                phones.push(Phone {
                    preferred: phones.is_empty(),
                    number,
                    kind,
                    label: label.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, &[u8])]) -> Entry {
        let mut e = Entry {
            dn: "cn=x".into(),
            ..Entry::default()
        };
        for (k, v) in pairs {
            match e.attrs.iter_mut().find(|(n, _)| n == k) {
                Some((_, values)) => values.push(v.to_vec()),
                None => e.attrs.push((k.to_string(), vec![v.to_vec()])),
            }
        }
        e
    }

    #[test]
    fn guid_renders_like_ad() {
        let bytes = [
            0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34,
            0x56, 0x78,
        ];
        assert_eq!(
            guid_to_uuid(&bytes).as_deref(),
            Some("12345678-1234-5678-9abc-def012345678")
        );
        assert_eq!(guid_to_uuid(&bytes[..15]), None);
    }

    #[test]
    fn active_directory_preset_maps_proxy_addresses_and_phones() {
        let m = Mapping::new(Preset::ActiveDirectory, &BTreeMap::new(), None, None).unwrap();
        let e = entry(&[
            ("displayName", b"Dana Scully"),
            ("mail", b"dana@example.com"),
            ("proxyAddresses", b"smtp:DANA@example.com"),
            ("proxyAddresses", b"SMTP:d.scully@example.com"),
            ("proxyAddresses", b"X400:c=US;a= ;p=Example"),
            ("telephoneNumber", b"+1 202 555 0101"),
            ("otherTelephone", b"+1 202 555 0102"),
            ("ipPhone", b"+1 202 555 0103"),
            ("co", b"United States"),
            ("c", b"US"),
            ("physicalDeliveryOfficeName", b"Basement"),
        ]);
        let c = m.contact("u1".into(), &e, &mut |n| m.normalize_phone(n));
        let mails: Vec<(&str, bool)> = c
            .emails
            .iter()
            .map(|e| (e.address.as_str(), e.preferred))
            .collect();
        assert_eq!(
            mails,
            [("dana@example.com", true), ("d.scully@example.com", false)]
        );
        assert_eq!(c.phones.len(), 3);
        assert_eq!(c.phones[2].label, Some(Label::Custom("IP Phone".into())));
        assert_eq!(c.addresses[0].country, "United States");
        assert_eq!(c.addresses[0].extended, "Basement");
    }

    #[test]
    fn proxy_addresses_with_non_ascii_at_the_prefix_boundary() {
        let m = Mapping::new(Preset::ActiveDirectory, &BTreeMap::new(), None, None).unwrap();
        let e = entry(&[
            ("proxyAddresses", "sip:é.user@corp.example.com".as_bytes()),
            ("proxyAddresses", "smtpé".as_bytes()),
            ("proxyAddresses", "Smtp:rené@corp.example.com".as_bytes()),
        ]);
        let c = m.contact("u1".into(), &e, &mut |n| n.to_string());
        let mails: Vec<&str> = c.emails.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(mails, ["rené@corp.example.com"]);
    }

    #[test]
    fn overrides_replace_and_disable_attributes() {
        let mut overrides = BTreeMap::new();
        overrides.insert("mobile".to_string(), OneOrMany::Many(vec![]));
        overrides.insert(
            "nickname".to_string(),
            OneOrMany::One("displayNamePrintable".into()),
        );
        let m = Mapping::new(Preset::Openldap, &overrides, Some("uid"), None).unwrap();
        let e = entry(&[("mobile", b"+1 555 0100"), ("displayNamePrintable", b"Dee")]);
        let c = m.contact("u".into(), &e, &mut |n| m.normalize_phone(n));
        assert!(c.phones.is_empty());
        assert_eq!(c.nicknames, ["Dee"]);
        assert_eq!(m.uid, UidSource::Text("uid".into()));
        let bad = BTreeMap::from([("mobil".to_string(), OneOrMany::One("x".into()))]);
        let err = Mapping::new(Preset::Openldap, &bad, None, None).unwrap_err();
        assert!(err.contains("attributes.mobil: unknown field"), "{err}");
    }
}
