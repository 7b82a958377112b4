//! People API JSON (the types in `wire`) → [`Contact`].
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
//! | birthdays, events "anniversary"  | BDAY, ANNIVERSARY; a year, a year and month or text only → the model's loose date |
//! | biographies                      | NOTE; TEXT_HTML ones as plain text (see `html`)       |
//! | photos                           | PHOTO, downloaded (letter avatars Google generates are left out) |
//! | memberships                      | group cards of the account's own contact groups        |
//! | relations                        | the first manager → manager; the rest → related people (spouse, child, … or the custom label) |
//! | imClients, sipAddresses          | IMPP (`xmpp:`, `sip:`, …)                              |
//! | userDefined                      | custom fields, the key kept exactly as the label      |
//! | locations (desks, "grew up")     | lines after the biography in NOTE ("Office: SEA-4, floor 2, desk 2.204"): a desk is no postal address |
//!
//! Left out: externalIds, other relation types, occupations, interests, skills (no field
//! clients share), and Google's own metadata.

use super::html;
use super::wire::{
    AddressField, DateField, FieldMetadata, GoogleDate, ImClient, LocationField, Membership,
    NameField, OrganizationField, Person, PhoneField, PhotoField, RelationField, UserDefined,
    ValueField,
};
use crate::phone::normalize_phone;
use crate::{
    Address, Contact, CustomField, Email, Impp, Label, LooseDate, PartialDate, Phone, PhoneKind,
    Related, Relation, Url,
};

/// A person converted: the contact (photo still to download), where its photo is, the
/// contact groups it belongs to, and values that had to be left out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Converts one (not deleted) person: one function per field family, in the order their
/// values reach the card.
pub fn contact(person: &Person, opts: &Options) -> Mapped {
    let mut c = Contact {
        uid: uid(&person.resource_name),
        ..Contact::default()
    };
    let mut warnings = Vec::new();
    names(&mut c, &person.names);
    c.nicknames = nicknames(&person.nicknames);
    organization(&mut c, &person.organizations);
    c.emails = emails(&person.email_addresses);
    c.phones = phones(&person.phone_numbers, opts.region);
    c.addresses = addresses(&person.addresses);
    c.urls = urls(&person.urls);
    c.impps = impps(&person.im_clients, &person.sip_addresses);
    dates(&mut c, person, &mut warnings);
    c.note = note(
        primary(&person.biographies, |b| &b.metadata).and_then(biography),
        &person.locations,
    );
    relations(&mut c, &person.relations);
    c.custom_fields = custom_fields(&person.user_defined);
    Mapped {
        contact: c,
        photo_url: photo_url(&person.photos, opts.photo_size),
        groups: groups(&person.memberships),
        warnings,
    }
}

/// FN and N from the primary name; phonetic names go to `extra`.
fn names(c: &mut Contact, names: &[NameField]) {
    let Some(n) = primary(names, |n| &n.metadata) else {
        return;
    };
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

/// Every nickname once.
fn nicknames(nicknames: &[ValueField]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for nickname in nicknames.iter().filter_map(|n| text(&n.value)) {
        if !out.iter().any(|x| x == nickname) {
            out.push(nickname.to_string());
        }
    }
    out
}

/// ORG, department, TITLE and ROLE from the primary current organization (else the first
/// current one, else the first); its phonetic name goes to `extra`.
fn organization(c: &mut Contact, organizations: &[OrganizationField]) {
    let current: Vec<&OrganizationField> = organizations
        .iter()
        .filter(|o| o.current != Some(false))
        .collect();
    let Some(org) = current
        .iter()
        .find(|o| o.metadata.primary)
        .or(current.first())
        .copied()
        .or(organizations.first())
    else {
        return;
    };
    c.organization = text(&org.name).map(String::from);
    c.department = text(&org.department).map(String::from);
    c.title = text(&org.title).map(String::from);
    c.role = text(&org.job_description).map(String::from);
    if let Some(v) = text(&org.phonetic_name) {
        c.extra.push(("X-PHONETIC-ORG".into(), v.into()));
    }
}

/// Every address once (compared without case), with its label.
fn emails(fields: &[ValueField]) -> Vec<Email> {
    let mut emails: Vec<Email> = Vec::new();
    for email in fields {
        let Some(address) = text(&email.value) else {
            continue;
        };
        if emails
            .iter()
            .any(|e| e.address.eq_ignore_ascii_case(address))
        {
            continue;
        }
        emails.push(Email {
            address: address.to_string(),
            label: label(email.kind.as_deref(), email.formatted_type.as_deref()),
            preferred: email.metadata.primary,
        });
    }
    emails
}

/// Every number once: Google's canonical E.164 form, else the text normalized for `region`.
fn phones(fields: &[PhoneField], region: Option<&str>) -> Vec<Phone> {
    let mut phones: Vec<Phone> = Vec::new();
    for phone in fields {
        let number = match (text(&phone.canonical_form), text(&phone.value)) {
            // Google's E.164 form, parsed with the account's own region.
            (Some(canonical), _) => canonical.to_string(),
            (None, Some(value)) => normalize_phone(value, region),
            (None, None) => continue,
        };
        if phones.iter().any(|p| p.number == number) {
            continue;
        }
        let (kind, label) = phone_kind(phone.kind.as_deref(), phone.formatted_type.as_deref());
        phones.push(Phone {
            number,
            kind,
            label,
            preferred: phone.metadata.primary,
        });
    }
    phones
}

/// Structured addresses; one with only free text keeps it whole as the street.
fn addresses(fields: &[AddressField]) -> Vec<Address> {
    let mut addresses = Vec::new();
    for a in fields {
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
        addresses.push(address);
    }
    addresses
}

fn urls(fields: &[ValueField]) -> Vec<Url> {
    fields
        .iter()
        .filter_map(|url| {
            text(&url.value).map(|value| Url {
                url: value.to_string(),
                label: label(url.kind.as_deref(), url.formatted_type.as_deref()),
            })
        })
        .collect()
}

/// IM accounts, then SIP addresses, as IMPP URIs, each once.
fn impps(im_clients: &[ImClient], sip_addresses: &[ValueField]) -> Vec<Impp> {
    let mut impps = Vec::new();
    for im in im_clients {
        if let Some(username) = text(&im.username) {
            push_impp(&mut impps, impp_uri(im.protocol.as_deref(), username));
        }
    }
    for sip in sip_addresses.iter().filter_map(|s| text(&s.value)) {
        let uri = if sip.to_ascii_lowercase().starts_with("sip:") {
            sip.to_string()
        } else {
            format!("sip:{sip}")
        };
        push_impp(&mut impps, uri);
    }
    impps
}

/// BDAY from the birthdays (a usable one first, the primary one among those), ANNIVERSARY
/// from the first "anniversary" event; a date that is none is a warning.
fn dates(c: &mut Contact, person: &Person, warnings: &mut Vec<String>) {
    let birthday = primary_with(&person.birthdays, |b| day(b).is_some())
        .or_else(|| primary(&person.birthdays, |b| &b.metadata));
    if let Some(b) = birthday {
        match when(b) {
            Some(Ok(d)) => c.birthday = Some(d),
            Some(Err(loose)) => c.birthday_loose = Some(loose),
            None => warnings.push(format!("birthday {:?} is no date", b.date)),
        }
    }
    if let Some(anniversary) = person.events.iter().find(|e| {
        e.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("anniversary"))
    }) {
        match when(anniversary) {
            Some(Ok(d)) => c.anniversary = Some(d),
            Some(Err(loose)) => c.anniversary_loose = Some(loose),
            None => warnings.push(format!("anniversary {:?} is no date", anniversary.date)),
        }
    }
}

/// The first manager → manager; every other relation → related people.
fn relations(c: &mut Contact, relations: &[RelationField]) {
    for relation in relations {
        let Some(who) = text(&relation.person) else {
            continue;
        };
        let kind = text(&relation.kind).unwrap_or_default();
        if kind.eq_ignore_ascii_case("manager") && c.manager.is_none() {
            c.manager = Some(who.to_string());
            continue;
        }
        c.related.push(Related {
            name: who.to_string(),
            relation: relation_kind(kind, text(&relation.formatted_type)),
        });
    }
}

/// User-defined fields with both a key and a value; the key stays the label.
fn custom_fields(fields: &[UserDefined]) -> Vec<CustomField> {
    fields
        .iter()
        .filter_map(|field| match (text(&field.key), text(&field.value)) {
            (Some(key), Some(value)) => Some(CustomField {
                label: key.to_string(),
                value: value.to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// Where to download the photo (the primary one when usable), sized for serving; Google's
/// generated letter avatars are no photo.
fn photo_url(photos: &[PhotoField], size: Option<u32>) -> Option<String> {
    primary_with(photos, |p| !p.default && text(&p.url).is_some())
        .and_then(|p| text(&p.url))
        .map(|url| sized(url, size))
}

/// The contact groups the person belongs to, each once.
fn groups(memberships: &[Membership]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for name in memberships
        .iter()
        .filter_map(|m| m.contact_group_membership.as_ref())
        .filter_map(|g| text(&g.contact_group_resource_name))
    {
        if !groups.iter().any(|g| g == name) {
            groups.push(name.to_string());
        }
    }
    groups
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

/// A date field as a calendar day, else as what vCard 4.0 can still say (a year, a year and
/// month, the text); `None` when it holds nothing usable.
pub(super) fn when(field: &DateField) -> Option<Result<PartialDate, LooseDate>> {
    if let Some(d) = day(field) {
        return Some(Ok(d));
    }
    let loose = field.date.and_then(|d| {
        let year = u16::try_from(d.year?)
            .ok()
            .filter(|y| (1..=9999).contains(y))?;
        let month = d.month.filter(|m| *m != 0);
        match (month, d.day.filter(|d| *d != 0)) {
            (None, None) => Some(LooseDate::Year(year)),
            (Some(m), None) => u8::try_from(m)
                .ok()
                .filter(|m| (1..=12).contains(m))
                .map(|m| LooseDate::YearMonth(year, m)),
            _ => None,
        }
    });
    loose
        .or_else(|| text(&field.text).map(|t| LooseDate::Text(t.to_string())))
        .map(Err)
}

fn day(field: &DateField) -> Option<PartialDate> {
    field.date.and_then(date)
}

/// A Google date; year 0 or absent means "no year", month or day 0 means no date, and so
/// does a day the month does not have (the renderer would leave it out).
fn date(d: GoogleDate) -> Option<PartialDate> {
    let month = u8::try_from(d.month?)
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    let day = u8::try_from(d.day?).ok()?;
    let year = match d.year {
        None | Some(0) => None,
        Some(y) => Some(u16::try_from(y).ok().filter(|y| (1..=9999).contains(y))?),
    };
    Some(PartialDate { year, month, day }).filter(PartialDate::exists)
}

/// A biography as plain text: HTML ones lose their markup.
pub(super) fn biography(field: &ValueField) -> Option<String> {
    let value = text(&field.value)?;
    let is_html = field
        .content_type
        .as_deref()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("TEXT_HTML"));
    let plain = if is_html {
        html::to_text(value)
    } else {
        value.to_string()
    };
    (!plain.trim().is_empty()).then_some(plain)
}

/// The biography, then a line per location: a desk is no postal address, and the note is the
/// field every client shows.
fn note(biography: Option<String>, locations: &[LocationField]) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in locations.iter().filter_map(location_line) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let places = (!lines.is_empty()).then(|| lines.join("\n"));
    match (biography, places) {
        (Some(bio), Some(places)) => Some(format!("{bio}\n\n{places}")),
        (bio, places) => bio.or(places),
    }
}

/// "Office: SEA-4, floor 2, desk 2.204", "Grew up in: Tromsø"; past desks are left out.
pub(super) fn location_line(location: &LocationField) -> Option<String> {
    let kind = text(&location.kind).unwrap_or("desk");
    let label = match kind {
        "desk" if location.current == Some(false) => return None,
        "desk" => "Office",
        "grewUp" => "Grew up in",
        other => other,
    };
    let mut parts = Vec::new();
    if let Some(place) = text(&location.value).or(text(&location.building_id)) {
        parts.push(place.to_string());
    }
    for (value, name) in [
        (&location.floor, "floor"),
        (&location.floor_section, "section"),
        (&location.desk_code, "desk"),
    ] {
        if let Some(value) = text(value) {
            parts.push(format!("{name} {value}"));
        }
    }
    (!parts.is_empty()).then(|| format!("{label}: {}", parts.join(", ")))
}

/// Google's relation `type` (see the Relation resource) as a kind; anything else keeps the
/// label the user sees.
pub(super) fn relation_kind(kind: &str, formatted: Option<&str>) -> Relation {
    match kind {
        "spouse" => Relation::Spouse,
        "partner" | "domesticPartner" => Relation::Partner,
        "child" => Relation::Child,
        "parent" => Relation::Parent,
        "mother" => Relation::Mother,
        "father" => Relation::Father,
        "brother" => Relation::Brother,
        "sister" => Relation::Sister,
        "friend" => Relation::Friend,
        "relative" => Relation::Relative,
        "assistant" => Relation::Assistant,
        "referredBy" => Relation::Custom(formatted.unwrap_or("Referred by").to_string()),
        other => Relation::Custom(formatted.unwrap_or(other).to_string()),
    }
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
        let field = |year, month, day, text: Option<&str>| DateField {
            date: Some(GoogleDate { year, month, day }),
            text: text.map(String::from),
            ..DateField::default()
        };
        assert_eq!(
            when(&field(Some(1980), None, None, Some("1980"))),
            Some(Err(LooseDate::Year(1980)))
        );
        assert_eq!(
            when(&field(Some(2009), Some(6), Some(0), None)),
            Some(Err(LooseDate::YearMonth(2009, 6)))
        );
        assert_eq!(
            when(&field(None, Some(13), Some(1), Some(" Easter "))),
            Some(Err(LooseDate::Text("Easter".into())))
        );
        assert_eq!(when(&field(Some(0), Some(13), None, None)), None);
        // A day the month does not have is no date; its text is kept instead.
        assert_eq!(
            when(&field(Some(1991), Some(2), Some(30), Some("30.02.1991"))),
            Some(Err(LooseDate::Text("30.02.1991".into())))
        );
        assert_eq!(
            when(&field(None, Some(2), Some(29), None)).and_then(Result::ok),
            Some(PartialDate {
                year: None,
                month: 2,
                day: 29
            })
        );
        assert_eq!(when(&field(Some(1900), Some(2), Some(29), None)), None);
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
