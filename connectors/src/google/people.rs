//! People API JSON → [`Contact`].
//!
//! Every field the model has is filled; where it has none, values go to `extra` under the
//! names clients read (the same names the ActiveSync and CSV sources use):
//!
//! | People API                       | Contact                                               |
//! |----------------------------------|-------------------------------------------------------|
//! | resourceName                     | uid, with `/` as `-` (`people-c123…`) so card URLs stay readable |
//! | names (primary)                  | FN, N; phonetic names → `X-PHONETIC-FIRST-NAME`, `-MIDDLE-NAME`, `-LAST-NAME` |
//! | nicknames                        | NICKNAME                                              |
//! | organizations (primary/current)  | ORG, department, TITLE, ROLE (jobDescription); phoneticName → `X-PHONETIC-ORG` |
//! | emailAddresses, urls             | EMAIL, URL with home/work/other or the custom label   |
//! | phoneNumbers                     | TEL: Google's canonical E.164 form, else normalized text; mobile/fax/pager kinds |
//! | addresses                        | ADR (formattedValue as the street when nothing is structured) |
//! | birthdays, events "anniversary"  | BDAY, ANNIVERSARY (year optional)                     |
//! | biographies                      | NOTE                                                  |
//! | photos                           | PHOTO, downloaded (letter avatars Google generates are left out) |
//! | memberships                      | group cards of the account's own contact groups        |
//! | relations                        | manager → manager; spouse → `X-EVOLUTION-SPOUSE`; child → `X-CHILD`; assistant → `X-EVOLUTION-ASSISTANT` |
//! | imClients, sipAddresses          | IMPP (`xmpp:`, `sip:`, …)                              |
//! | userDefined                      | `X-<KEY>`                                             |
//! | locations (directory, current)   | extended address of the work address ("SEA-4, floor 2, desk 2.204") |
//!
//! Left out: externalIds, other relation types, occupations, interests, skills (no field
//! clients share), and Google's own metadata.

use serde::Deserialize;

use crate::phone::normalize_phone;
use crate::{Address, Contact, Email, Impp, Label, PartialDate, Phone, PhoneKind, Url};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldMetadata {
    pub primary: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PersonMetadata {
    pub deleted: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NameField {
    pub metadata: FieldMetadata,
    pub display_name: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
    pub phonetic_family_name: Option<String>,
    pub phonetic_given_name: Option<String>,
    pub phonetic_middle_name: Option<String>,
    pub unstructured_name: Option<String>,
}

/// Emails, URLs, SIP addresses, nicknames, biographies: a value and maybe a type.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueField {
    pub metadata: FieldMetadata,
    pub value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PhoneField {
    pub metadata: FieldMetadata,
    pub value: Option<String>,
    pub canonical_form: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddressField {
    pub metadata: FieldMetadata,
    pub formatted_value: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub formatted_type: Option<String>,
    pub po_box: Option<String>,
    pub street_address: Option<String>,
    pub extended_address: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrganizationField {
    pub metadata: FieldMetadata,
    pub name: Option<String>,
    pub phonetic_name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub job_description: Option<String>,
    pub current: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct GoogleDate {
    pub year: Option<i64>,
    pub month: Option<i64>,
    pub day: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DateField {
    pub metadata: FieldMetadata,
    pub date: Option<GoogleDate>,
    pub text: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PhotoField {
    pub metadata: FieldMetadata,
    pub url: Option<String>,
    /// Google's generated letter avatar, not a photo anyone chose.
    pub default: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupMembership {
    pub contact_group_resource_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Membership {
    pub contact_group_membership: Option<GroupMembership>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Relation {
    pub person: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImClient {
    pub username: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserDefined {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocationField {
    pub value: Option<String>,
    pub current: Option<bool>,
    pub building_id: Option<String>,
    pub floor: Option<String>,
    pub desk_code: Option<String>,
}

/// One person as the People API returns it (only the parts cardbridge reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Person {
    pub resource_name: String,
    pub metadata: PersonMetadata,
    pub names: Vec<NameField>,
    pub nicknames: Vec<ValueField>,
    pub email_addresses: Vec<ValueField>,
    pub phone_numbers: Vec<PhoneField>,
    pub addresses: Vec<AddressField>,
    pub organizations: Vec<OrganizationField>,
    pub birthdays: Vec<DateField>,
    pub events: Vec<DateField>,
    pub urls: Vec<ValueField>,
    pub biographies: Vec<ValueField>,
    pub photos: Vec<PhotoField>,
    pub memberships: Vec<Membership>,
    pub relations: Vec<Relation>,
    pub im_clients: Vec<ImClient>,
    pub sip_addresses: Vec<ValueField>,
    pub user_defined: Vec<UserDefined>,
    pub locations: Vec<LocationField>,
}

/// A person converted: the contact (photo still to download), where its photo is, the
/// contact groups it belongs to, and values that had to be left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub contact: Contact,
    pub photo_url: Option<String>,
    pub groups: Vec<String>,
    pub warnings: Vec<String>,
}

/// The card uid of a resource name: `people/c123` → `people-c123`.
pub fn uid(resource_name: &str) -> String {
    resource_name.replace('/', "-")
}

/// Conversion options.
pub struct Options<'a> {
    pub region: Option<&'a str>,
    /// Longest photo side served; the photo URL asks Google for that size.
    pub photo_size: Option<u32>,
}

/// Converts one (not deleted) person.
pub fn contact(person: &Person, opts: &Options) -> Mapped {
    let mut c = Contact {
        uid: uid(&person.resource_name),
        ..Contact::default()
    };
    let mut warnings = Vec::new();

    if let Some(n) = primary(&person.names, |n| &n.metadata) {
        c.formatted_name = text(&n.display_name)
            .or(text(&n.unstructured_name))
            .unwrap_or_default()
            .to_string();
        c.name.family = list(&n.family_name);
        c.name.given = list(&n.given_name);
        c.name.additional = list(&n.middle_name);
        c.name.prefixes = list(&n.honorific_prefix);
        c.name.suffixes = list(&n.honorific_suffix);
        for (value, property) in [
            (&n.phonetic_given_name, "X-PHONETIC-FIRST-NAME"),
            (&n.phonetic_middle_name, "X-PHONETIC-MIDDLE-NAME"),
            (&n.phonetic_family_name, "X-PHONETIC-LAST-NAME"),
        ] {
            if let Some(v) = text(value) {
                c.extra.push((property.into(), v.into()));
            }
        }
    }
    for nickname in person.nicknames.iter().filter_map(|n| text(&n.value)) {
        if !c.nicknames.iter().any(|x| x == nickname) {
            c.nicknames.push(nickname.to_string());
        }
    }
    let orgs: Vec<&OrganizationField> = person
        .organizations
        .iter()
        .filter(|o| o.current != Some(false))
        .collect();
    if let Some(org) = orgs
        .iter()
        .find(|o| o.metadata.primary)
        .or(orgs.first())
        .copied()
        .or(person.organizations.first())
    {
        c.organization = text(&org.name).map(String::from);
        c.department = text(&org.department).map(String::from);
        c.title = text(&org.title).map(String::from);
        c.role = text(&org.job_description).map(String::from);
        if let Some(v) = text(&org.phonetic_name) {
            c.extra.push(("X-PHONETIC-ORG".into(), v.into()));
        }
    }
    for email in &person.email_addresses {
        let Some(address) = text(&email.value) else {
            continue;
        };
        if c.emails
            .iter()
            .any(|e| e.address.eq_ignore_ascii_case(address))
        {
            continue;
        }
        c.emails.push(Email {
            address: address.to_string(),
            label: label(email.kind.as_deref(), email.formatted_type.as_deref()),
            preferred: email.metadata.primary,
        });
    }
    for phone in &person.phone_numbers {
        let number = match (text(&phone.canonical_form), text(&phone.value)) {
            // Google's E.164 form, parsed with the account's own region.
            (Some(canonical), _) => canonical.to_string(),
            (None, Some(value)) => normalize_phone(value, opts.region),
            (None, None) => continue,
        };
        if c.phones.iter().any(|p| p.number == number) {
            continue;
        }
        let (kind, label) = phone_kind(phone.kind.as_deref(), phone.formatted_type.as_deref());
        c.phones.push(Phone {
            number,
            kind,
            label,
            preferred: phone.metadata.primary,
        });
    }
    for a in &person.addresses {
        let mut address = Address {
            po_box: owned(&a.po_box),
            extended: owned(&a.extended_address),
            street: owned(&a.street_address),
            locality: owned(&a.city),
            region: owned(&a.region),
            postal_code: owned(&a.postal_code),
            country: text(&a.country)
                .or(text(&a.country_code))
                .unwrap_or_default()
                .to_string(),
            label: label(a.kind.as_deref(), a.formatted_type.as_deref()),
            preferred: a.metadata.primary,
        };
        if address.is_empty() {
            // Only free text: keep it whole as the street.
            match text(&a.formatted_value) {
                Some(formatted) => address.street = formatted.to_string(),
                None => continue,
            }
        }
        c.addresses.push(address);
    }
    if let Some(office) = office(&person.locations) {
        match c
            .addresses
            .iter_mut()
            .find(|a| a.label == Some(Label::Work) && a.extended.is_empty())
        {
            Some(work) => work.extended = office,
            None => c.addresses.push(Address {
                extended: office,
                label: Some(Label::Work),
                ..Address::default()
            }),
        }
    }
    for url in &person.urls {
        if let Some(value) = text(&url.value) {
            c.urls.push(Url {
                url: value.to_string(),
                label: label(url.kind.as_deref(), url.formatted_type.as_deref()),
            });
        }
    }
    for im in &person.im_clients {
        if let Some(username) = text(&im.username) {
            push_impp(&mut c.impps, impp_uri(im.protocol.as_deref(), username));
        }
    }
    for sip in person.sip_addresses.iter().filter_map(|s| text(&s.value)) {
        let uri = if sip.to_ascii_lowercase().starts_with("sip:") {
            sip.to_string()
        } else {
            format!("sip:{sip}")
        };
        push_impp(&mut c.impps, uri);
    }
    let birthday = primary_with(&person.birthdays, |b| b.date.is_some())
        .or_else(|| primary(&person.birthdays, |b| &b.metadata));
    if let Some(b) = birthday {
        match b.date.and_then(date) {
            Some(d) => c.birthday = Some(d),
            None => warnings.push(format!(
                "birthday {:?} is not a calendar date",
                b.text.as_deref().unwrap_or("")
            )),
        }
    }
    if let Some(anniversary) = person.events.iter().find(|e| {
        e.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("anniversary"))
    }) {
        match anniversary.date.and_then(date) {
            Some(d) => c.anniversary = Some(d),
            None => warnings.push("anniversary is not a calendar date".into()),
        }
    }
    c.note = primary(&person.biographies, |b| &b.metadata)
        .and_then(|b| text(&b.value))
        .map(String::from);
    for relation in &person.relations {
        let (Some(who), Some(kind)) = (text(&relation.person), relation.kind.as_deref()) else {
            continue;
        };
        match kind.to_ascii_lowercase().as_str() {
            "manager" if c.manager.is_none() => c.manager = Some(who.to_string()),
            "spouse" | "domesticpartner" => {
                c.extra.push(("X-EVOLUTION-SPOUSE".into(), who.into()));
            }
            "child" => c.extra.push(("X-CHILD".into(), who.into())),
            "assistant" => c.extra.push(("X-EVOLUTION-ASSISTANT".into(), who.into())),
            _ => {}
        }
    }
    for field in &person.user_defined {
        if let (Some(key), Some(value)) = (text(&field.key), text(&field.value)) {
            c.extra
                .push((crate::extra_property_name(key), value.to_string()));
        }
    }
    let photo_url = primary_with(&person.photos, |p| !p.default && text(&p.url).is_some())
        .and_then(|p| text(&p.url))
        .map(|url| sized(url, opts.photo_size));
    let mut groups = Vec::new();
    for name in person
        .memberships
        .iter()
        .filter_map(|m| m.contact_group_membership.as_ref())
        .filter_map(|g| text(&g.contact_group_resource_name))
    {
        if !groups.iter().any(|g| g == name) {
            groups.push(name.to_string());
        }
    }
    Mapped {
        contact: c,
        photo_url,
        groups,
        warnings,
    }
}

/// The primary field, else the first.
fn primary<T>(fields: &[T], metadata: impl Fn(&T) -> &FieldMetadata) -> Option<&T> {
    fields
        .iter()
        .find(|f| metadata(f).primary)
        .or(fields.first())
}

/// The first usable field, the primary one when it is usable.
fn primary_with<T: HasMetadata>(fields: &[T], usable: impl Fn(&T) -> bool) -> Option<&T> {
    fields
        .iter()
        .filter(|f| usable(f))
        .find(|f| f.metadata().primary)
        .or_else(|| fields.iter().find(|f| usable(f)))
}

trait HasMetadata {
    fn metadata(&self) -> &FieldMetadata;
}

impl HasMetadata for DateField {
    fn metadata(&self) -> &FieldMetadata {
        &self.metadata
    }
}

impl HasMetadata for PhotoField {
    fn metadata(&self) -> &FieldMetadata {
        &self.metadata
    }
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn owned(value: &Option<String>) -> String {
    text(value).unwrap_or_default().to_string()
}

fn list(value: &Option<String>) -> Vec<String> {
    text(value).map(|s| vec![s.to_string()]).unwrap_or_default()
}

/// Google's `type` (`home`, `work`, `other` or the user's own text) as a label; custom labels
/// keep the text the user typed.
fn label(kind: Option<&str>, formatted: Option<&str>) -> Option<Label> {
    let kind = kind.map(str::trim).filter(|k| !k.is_empty())?;
    Some(match kind.to_ascii_lowercase().as_str() {
        "home" => Label::Home,
        "work" => Label::Work,
        "other" => Label::Other,
        _ => Label::Custom(
            formatted
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .unwrap_or(kind)
                .to_string(),
        ),
    })
}

/// Phone `type` values the People API defines, as a kind and label.
fn phone_kind(kind: Option<&str>, formatted: Option<&str>) -> (PhoneKind, Option<Label>) {
    match kind.map(str::trim).unwrap_or("") {
        "mobile" => (PhoneKind::Cell, None),
        "workMobile" => (PhoneKind::Cell, Some(Label::Work)),
        "homeFax" => (PhoneKind::Fax, Some(Label::Home)),
        "workFax" => (PhoneKind::Fax, Some(Label::Work)),
        "otherFax" => (PhoneKind::Fax, Some(Label::Other)),
        "pager" => (PhoneKind::Pager, None),
        "workPager" => (PhoneKind::Pager, Some(Label::Work)),
        // The same reading as Google's CSV export (see csv::fields::phone_label).
        "main" => (PhoneKind::Voice, Some(Label::Work)),
        "googleVoice" => (PhoneKind::Voice, Some(Label::Custom("Google Voice".into()))),
        other => (PhoneKind::Voice, label(Some(other), formatted)),
    }
}

/// A Google date; year 0 or absent means "no year", month or day 0 means no date.
fn date(d: GoogleDate) -> Option<PartialDate> {
    let month = u8::try_from(d.month?)
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    let day = u8::try_from(d.day?).ok().filter(|d| (1..=31).contains(d))?;
    let year = match d.year {
        None | Some(0) => None,
        Some(y) => Some(u16::try_from(y).ok().filter(|y| (1..=9999).contains(y))?),
    };
    Some(PartialDate { year, month, day })
}

/// The current desk location of a directory profile, as one line.
fn office(locations: &[LocationField]) -> Option<String> {
    let location = locations.iter().find(|l| l.current != Some(false))?;
    let mut parts = Vec::new();
    if let Some(place) = text(&location.value).or(text(&location.building_id)) {
        parts.push(place.to_string());
    }
    if let Some(floor) = text(&location.floor) {
        parts.push(format!("floor {floor}"));
    }
    if let Some(desk) = text(&location.desk_code) {
        parts.push(format!("desk {desk}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// An IM account as an IMPP URI, by the schemes clients recognise.
fn impp_uri(protocol: Option<&str>, username: &str) -> String {
    if let Some((scheme, _)) = username.split_once(':') {
        let is_scheme = scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if is_scheme {
            return username.to_string();
        }
    }
    let scheme = match protocol.unwrap_or("").to_ascii_lowercase().as_str() {
        "jabber" | "googletalk" | "xmpp" => "xmpp",
        "sip" => "sip",
        "aim" => "aim",
        "msn" => "msnim",
        "yahoo" => "ymsgr",
        "skype" => "skype",
        "icq" => "icq",
        "qq" => "x-apple",
        "" => "xmpp",
        other => return format!("x-{}:{username}", sanitize_scheme(other)),
    };
    format!("{scheme}:{username}")
}

fn sanitize_scheme(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn push_impp(impps: &mut Vec<Impp>, uri: String) {
    if !impps.iter().any(|i| i.uri.eq_ignore_ascii_case(&uri)) {
        impps.push(Impp { uri });
    }
}

/// Asks for the photo at the size that will be served: Google photo URLs end in `=s<pixels>`.
fn sized(url: &str, size: Option<u32>) -> String {
    let Some(size) = size else {
        return url.to_string();
    };
    match url.rsplit_once("=s") {
        Some((head, digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{head}=s{size}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_labels() {
        let d = |y, m, dd| GoogleDate {
            year: y,
            month: Some(m),
            day: Some(dd),
        };
        assert_eq!(
            date(d(Some(0), 11, 3)),
            Some(PartialDate {
                year: None,
                month: 11,
                day: 3
            })
        );
        assert_eq!(date(d(None, 13, 3)), None);
        assert_eq!(date(d(Some(1991), 2, 0)), None);
        assert_eq!(
            label(Some("Boat"), Some("Boat")),
            Some(Label::Custom("Boat".into()))
        );
        assert_eq!(label(Some("work"), Some("Work")), Some(Label::Work));
        assert_eq!(label(None, Some("Work")), None);
        assert_eq!(
            phone_kind(Some("homeFax"), None),
            (PhoneKind::Fax, Some(Label::Home))
        );
    }

    #[test]
    fn photo_urls_ask_for_the_served_size() {
        assert_eq!(
            sized("https://lh3.example/a/AEx=s100", Some(256)),
            "https://lh3.example/a/AEx=s256"
        );
        assert_eq!(
            sized("https://lh3.example/a/photo.jpg", Some(256)),
            "https://lh3.example/a/photo.jpg"
        );
        assert_eq!(sized("https://x/a=s100", None), "https://x/a=s100");
    }

    #[test]
    fn im_accounts_become_uris() {
        assert_eq!(
            impp_uri(Some("jabber"), "z@example.org"),
            "xmpp:z@example.org"
        );
        assert_eq!(impp_uri(Some("Skype"), "zoe"), "skype:zoe");
        assert_eq!(impp_uri(Some("Matrix Chat"), "@z:x"), "x-matrixchat:@z:x");
        assert_eq!(impp_uri(Some("jabber"), "xmpp:z@x"), "xmpp:z@x");
        assert_eq!(crate::extra_property_name("Badge no."), "X-BADGE-NO");
    }
}
