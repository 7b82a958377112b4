//! EAS contact fields (Contacts, Contacts2, AirSyncBase body; GAL search results) → [`Contact`].
//!
//! The contact is built in a fixed field order, not document order, so two encodings of the
//! same item always give equal contacts. Where the model has no field, values go to `extra`
//! under the names clients read:
//!
//! | EAS                                   | Contact                                            |
//! |---------------------------------------|----------------------------------------------------|
//! | FileAs                                | FN only when there is no name or company (FN is otherwise derived from N); always `X-EVOLUTION-FILE-AS` (Evolution files cards by it) |
//! | OfficeLocation, GAL Office            | extended address of the work address (created if needed): the one place every phone shows it, next to where the person works |
//! | Yomi first/last/company               | `X-PHONETIC-FIRST-NAME`, `X-PHONETIC-LAST-NAME`, `X-PHONETIC-ORG` (Apple, DAVx5) |
//! | Spouse, AssistantName                 | `X-EVOLUTION-SPOUSE`, `X-EVOLUTION-ASSISTANT`      |
//! | Children/Child                        | one `X-CHILD` per child                            |
//! | CustomerId, GovernmentId, AccountName | `X-CUSTOMER-ID`, `X-GOVERNMENT-ID`, `X-ACCOUNT-NAME` |
//! | Contacts Alias, GAL Alias             | `X-ALIAS`                                          |
//! | ManagerName                           | `manager`                                          |
//! | IMAddress 1-3                         | IMPP as written: a scheme only when the source gave one (a bare address is not guessed to be SIP or XMPP) |
//! | MMS                                   | TEL, kind text, label "MMS" (dropped when the same number is already listed) |
//!
//! Every field is single-valued in an item; when one appears twice (a buggy exporter, a
//! hand-edited log) the first is kept and each repetition is noted with its value.
//!
//! Left out on purpose: WeightedRank (a recipient-cache ranking), BodySize/BodyTruncated and
//! NativeBodyType (transport details), CompressedRTF and non-plain-text bodies (noted per
//! contact: request BodyPreference Type 1 to get notes).

use super::codepages::Namespace;
use super::dates::parse_eas_date;
use super::tree::{Element, Ns, ParseError};
use crate::phone::normalize_phone;
use crate::photo::{normalize_photo, PhotoSettings};
use crate::{Address, Contact, Email, Impp, Label, Phone, PhoneKind, Url};

/// Per-file conversion options.
pub struct Options {
    pub region: Option<String>,
    pub photos: PhotoSettings,
}

/// A converted item and notes about values that were left out.
#[derive(Debug)]
pub struct Mapped {
    pub contact: Contact,
    pub warnings: Vec<String>,
}

/// The fields of one item, resolved to (namespace, MS-ASWBXML name).
struct Fields<'a> {
    items: Vec<(Namespace, &'static str, &'a Element)>,
}

impl<'a> Fields<'a> {
    /// Resolves the children of `parent` against the namespaces an item may use. Elements of
    /// other namespaces mean the item is not a contact: an error naming the element. Unknown
    /// names within those namespaces, and repetitions of a field, are noted and skipped.
    fn collect(
        parent: &'a Element,
        allowed: &[Namespace],
        warnings: &mut Vec<String>,
    ) -> Result<Fields<'a>, ParseError> {
        let mut items = Vec::new();
        for child in &parent.children {
            let candidates: Vec<Namespace> = match &child.ns {
                Ns::Known(ns) if allowed.contains(ns) => vec![*ns],
                Ns::Unqualified => allowed.to_vec(),
                _ => {
                    return Err(ParseError::new(
                        child.offset,
                        format!(
                            "{} inside {} is not a {} element: not a contact",
                            child.label(),
                            parent.label(),
                            allowed
                                .iter()
                                .map(|ns| ns.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            };
            match candidates
                .iter()
                .find_map(|ns| ns.canonical(&child.name).map(|name| (*ns, name)))
            {
                Some((ns, name)) => {
                    if items.iter().any(|(n, f, _)| *n == ns && *f == name) {
                        warnings.push(format!(
                            "field left out: {} repeated ({}); an item has one, the first is kept",
                            child.label(),
                            preview(child)
                        ));
                    } else {
                        items.push((ns, name, child));
                    }
                }
                None => warnings.push(format!("field left out: unknown element {}", child.label())),
            }
        }
        Ok(Fields { items })
    }

    fn element(&self, ns: Namespace, name: &str) -> Option<&'a Element> {
        self.items
            .iter()
            .find(|(n, field, _)| *n == ns && *field == name)
            .map(|(_, _, el)| *el)
    }

    /// The trimmed text of the element; `None` when absent or blank.
    fn text(&self, ns: Namespace, name: &str) -> Result<Option<String>, ParseError> {
        match self.element(ns, name) {
            Some(el) => Ok(Some(el.text_value()?).filter(|t| !t.is_empty())),
            None => Ok(None),
        }
    }

    /// Texts of the `item` children of the `list` element (Categories/Category).
    fn list(&self, ns: Namespace, list: &str, item: &str) -> Result<Vec<String>, ParseError> {
        let mut out: Vec<String> = Vec::new();
        if let Some(el) = self.element(ns, list) {
            for child in el.children_named(ns, item) {
                let value = child.text_value()?;
                if !value.is_empty() && !out.contains(&value) {
                    out.push(value);
                }
            }
        }
        Ok(out)
    }
}

/// A repeated field's value for a note: its text, shortened to 80 characters.
fn preview(element: &Element) -> String {
    if element.opaque.is_some() {
        return "binary data".into();
    }
    let text = element.text.trim();
    let short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

fn label(name: &str) -> Label {
    match name {
        "work" => Label::Work,
        "home" => Label::Home,
        "other" => Label::Other,
        custom => Label::Custom(custom.to_string()),
    }
}

/// Phone fields in output order: (namespace, field, kind, label).
const PHONES: [(Namespace, &str, PhoneKind, Option<&str>); 13] = [
    (
        Namespace::Contacts,
        "MobilePhoneNumber",
        PhoneKind::Cell,
        None,
    ),
    (
        Namespace::Contacts,
        "BusinessPhoneNumber",
        PhoneKind::Voice,
        Some("work"),
    ),
    (
        Namespace::Contacts,
        "Business2PhoneNumber",
        PhoneKind::Voice,
        Some("work"),
    ),
    (
        Namespace::Contacts2,
        "CompanyMainPhone",
        PhoneKind::Voice,
        Some("Company Main"),
    ),
    (
        Namespace::Contacts,
        "HomePhoneNumber",
        PhoneKind::Voice,
        Some("home"),
    ),
    (
        Namespace::Contacts,
        "Home2PhoneNumber",
        PhoneKind::Voice,
        Some("home"),
    ),
    (
        Namespace::Contacts,
        "BusinessFaxNumber",
        PhoneKind::Fax,
        Some("work"),
    ),
    (
        Namespace::Contacts,
        "HomeFaxNumber",
        PhoneKind::Fax,
        Some("home"),
    ),
    (Namespace::Contacts, "PagerNumber", PhoneKind::Pager, None),
    (
        Namespace::Contacts,
        "CarPhoneNumber",
        PhoneKind::Voice,
        Some("Car"),
    ),
    (
        Namespace::Contacts,
        "RadioPhoneNumber",
        PhoneKind::Voice,
        Some("Radio"),
    ),
    (
        Namespace::Contacts,
        "AssistantPhoneNumber",
        PhoneKind::Voice,
        Some("Assistant"),
    ),
    (Namespace::Contacts2, "MMS", PhoneKind::Text, Some("MMS")),
];

/// GAL phone fields: `Phone` is the business number.
const GAL_PHONES: [(Namespace, &str, PhoneKind, Option<&str>); 3] = [
    (Namespace::Gal, "MobilePhone", PhoneKind::Cell, None),
    (Namespace::Gal, "Phone", PhoneKind::Voice, Some("work")),
    (Namespace::Gal, "HomePhone", PhoneKind::Voice, Some("home")),
];

/// The address of `"Name" <addr>`, `Name <addr>` or a bare address; `None` for anything
/// without `@` (Exchange writes X.500 DNs such as `/o=...` for some internal contacts).
pub fn mailbox_address(text: &str) -> Option<String> {
    let text = text.trim();
    let inner = match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => text.get(open + 1..close)?,
        _ => text,
    };
    let inner = inner.trim();
    let inner = inner
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(inner, |_| inner.get(7..).unwrap_or(""));
    let valid = inner.contains('@')
        && !inner.starts_with('@')
        && !inner.ends_with('@')
        && !inner
            .chars()
            .any(|c| c.is_whitespace() || "<>\"".contains(c));
    valid.then(|| inner.to_string())
}

struct Builder<'f, 'a> {
    fields: &'f Fields<'a>,
    contact: Contact,
    warnings: Vec<String>,
    opts: &'f Options,
}

impl Builder<'_, '_> {
    fn text(&self, ns: Namespace, name: &str) -> Result<Option<String>, ParseError> {
        self.fields.text(ns, name)
    }

    fn extra(&mut self, ns: Namespace, name: &str, property: &str) -> Result<(), ParseError> {
        if let Some(value) = self.text(ns, name)? {
            self.contact.extra.push((property.to_string(), value));
        }
        Ok(())
    }

    fn phones(
        &mut self,
        table: &[(Namespace, &str, PhoneKind, Option<&str>)],
    ) -> Result<(), ParseError> {
        for (ns, name, kind, lbl) in table {
            let Some(text) = self.text(*ns, name)? else {
                continue;
            };
            let number = normalize_phone(&text, self.opts.region.as_deref());
            if self.contact.phones.iter().any(|p| p.number == number) {
                continue;
            }
            self.contact.phones.push(Phone {
                number,
                kind: *kind,
                label: lbl.map(label),
                preferred: false,
            });
        }
        Ok(())
    }

    fn email(&mut self, ns: Namespace, name: &str, preferred: bool) -> Result<(), ParseError> {
        let Some(text) = self.text(ns, name)? else {
            return Ok(());
        };
        match mailbox_address(&text) {
            Some(address) => {
                let seen = self
                    .contact
                    .emails
                    .iter()
                    .any(|e| e.address.eq_ignore_ascii_case(&address));
                if !seen {
                    self.contact.emails.push(Email {
                        address,
                        label: None,
                        preferred,
                    });
                }
            }
            None => self.warnings.push(format!(
                "field left out: {name}: {text:?} is not an email address"
            )),
        }
        Ok(())
    }

    /// The office goes into the work address's extended field (see the module docs).
    fn office(&mut self, office: Option<String>) {
        let Some(office) = office else {
            return;
        };
        match self
            .contact
            .addresses
            .iter_mut()
            .find(|a| a.label == Some(Label::Work) && a.extended.is_empty())
        {
            Some(work) => work.extended = office,
            None => self.contact.addresses.insert(
                0,
                Address {
                    extended: office,
                    label: Some(Label::Work),
                    ..Address::default()
                },
            ),
        }
    }

    fn date(&mut self, name: &str) -> Result<Option<crate::PartialDate>, ParseError> {
        let Some(text) = self.text(Namespace::Contacts, name)? else {
            return Ok(None);
        };
        Ok(parse_eas_date(&text).unwrap_or_else(|e| {
            self.warnings.push(format!("field left out: {name}: {e}"));
            None
        }))
    }

    /// A picture element's bytes, capped and downscaled; problems drop the photo only.
    fn photo(&mut self, element: Option<&Element>) {
        let Some(element) = element else {
            return;
        };
        if element.text.trim().is_empty() && element.opaque.is_none() {
            return;
        }
        let result = element.binary_value().and_then(|bytes| {
            normalize_photo(&bytes, &self.opts.photos).map_err(|e| e.to_string())
        });
        match result {
            Ok(photo) => self.contact.photo = Some(photo),
            Err(e) => self.warnings.push(format!("photo left out: {e}")),
        }
    }

    /// Notes: the AirSyncBase Body (plain text only) or the EAS 2.5 Contacts:Body string.
    fn note(&mut self) -> Result<(), ParseError> {
        let body = self
            .fields
            .element(Namespace::AirSyncBase, "Body")
            .or_else(|| self.fields.element(Namespace::Contacts, "Body"));
        let Some(body) = body else {
            if self
                .fields
                .element(Namespace::Contacts, "CompressedRTF")
                .is_some()
            {
                self.warnings
                    .push("note left out: CompressedRTF bodies are not decoded".into());
            }
            return Ok(());
        };
        let structured = body
            .children
            .iter()
            .any(|c| c.is(Namespace::AirSyncBase, "Type") || c.is(Namespace::AirSyncBase, "Data"));
        if !structured {
            let text = body.text_value()?;
            self.contact.note = Some(text).filter(|t| !t.is_empty());
            return Ok(());
        }
        let kind = match body.child(Namespace::AirSyncBase, "Type") {
            Some(t) => t.text_value()?,
            None => "1".to_string(),
        };
        let data = match body.child(Namespace::AirSyncBase, "Data") {
            Some(d) => d.text_value()?,
            None => String::new(),
        };
        if data.is_empty() {
            return Ok(());
        }
        if kind != "1" {
            let format = match kind.as_str() {
                "2" => "HTML",
                "3" => "RTF",
                "4" => "MIME",
                _ => "an unknown format",
            };
            self.warnings.push(format!(
                "note left out: the body is {format} (Type {kind}); export with \
                 BodyPreference Type 1 for plain-text notes"
            ));
            return Ok(());
        }
        let truncated = match body.child(Namespace::AirSyncBase, "Truncated") {
            Some(t) => matches!(t.text_value()?.as_str(), "1" | "true"),
            None => false,
        };
        if truncated {
            self.warnings
                .push("note truncated by the server; published as sent".into());
        }
        self.contact.note = Some(data);
        Ok(())
    }
}

fn one(value: Option<String>) -> Vec<String> {
    value.into_iter().collect()
}

/// A Sync `ApplicationData` → contact (uid left empty for the caller).
pub fn from_application_data(data: &Element, opts: &Options) -> Result<Mapped, ParseError> {
    use Namespace::{Contacts as C, Contacts2 as C2};
    let mut warnings = Vec::new();
    let fields = Fields::collect(
        data,
        &[
            Namespace::Contacts,
            Namespace::Contacts2,
            Namespace::AirSyncBase,
        ],
        &mut warnings,
    )?;
    let mut b = Builder {
        fields: &fields,
        contact: Contact::default(),
        warnings,
        opts,
    };
    b.contact.name.given = one(b.text(C, "FirstName")?);
    b.contact.name.additional = one(b.text(C, "MiddleName")?);
    b.contact.name.family = one(b.text(C, "LastName")?);
    b.contact.name.prefixes = one(b.text(C, "Title")?);
    b.contact.name.suffixes = one(b.text(C, "Suffix")?);
    b.contact.nicknames = one(b.text(C2, "NickName")?);
    b.contact.organization = b.text(C, "CompanyName")?;
    b.contact.department = b.text(C, "Department")?;
    b.contact.title = b.text(C, "JobTitle")?;
    let file_as = b.text(C, "FileAs")?;
    if b.contact.name.is_empty() && b.contact.organization.is_none() {
        b.contact.formatted_name = file_as.clone().unwrap_or_default();
    }
    b.email(C, "Email1Address", true)?;
    b.email(C, "Email2Address", false)?;
    b.email(C, "Email3Address", false)?;
    b.phones(&PHONES)?;
    for (prefix, lbl) in [
        ("Business", Label::Work),
        ("Home", Label::Home),
        ("Other", Label::Other),
    ] {
        let part = |b: &Builder, field: &str| -> Result<String, ParseError> {
            Ok(b.text(C, &format!("{prefix}Address{field}"))?
                .unwrap_or_default())
        };
        let address = Address {
            street: part(&b, "Street")?,
            locality: part(&b, "City")?,
            region: part(&b, "State")?,
            postal_code: part(&b, "PostalCode")?,
            country: part(&b, "Country")?,
            label: Some(lbl),
            ..Address::default()
        };
        if !address.is_empty() {
            b.contact.addresses.push(address);
        }
    }
    let office = b.text(C, "OfficeLocation")?;
    b.office(office);
    if let Some(url) = b.text(C, "WebPage")? {
        b.contact.urls.push(Url {
            url,
            label: Some(Label::Work),
        });
    }
    for name in ["IMAddress", "IMAddress2", "IMAddress3"] {
        if let Some(uri) = b.text(C2, name)? {
            if !b.contact.impps.iter().any(|i| i.uri == uri) {
                b.contact.impps.push(Impp { uri });
            }
        }
    }
    b.contact.birthday = b.date("Birthday")?;
    b.contact.anniversary = b.date("Anniversary")?;
    b.contact.manager = b.text(C2, "ManagerName")?;
    b.contact.categories = fields.list(C, "Categories", "Category")?;
    b.note()?;
    b.photo(fields.element(C, "Picture"));
    b.extra(C, "YomiFirstName", "X-PHONETIC-FIRST-NAME")?;
    b.extra(C, "YomiLastName", "X-PHONETIC-LAST-NAME")?;
    b.extra(C, "YomiCompanyName", "X-PHONETIC-ORG")?;
    if let Some(file_as) = file_as {
        b.contact
            .extra
            .push(("X-EVOLUTION-FILE-AS".into(), file_as));
    }
    b.extra(C, "Spouse", "X-EVOLUTION-SPOUSE")?;
    for child in fields.list(C, "Children", "Child")? {
        b.contact.extra.push(("X-CHILD".into(), child));
    }
    b.extra(C, "AssistantName", "X-EVOLUTION-ASSISTANT")?;
    b.extra(C2, "CustomerId", "X-CUSTOMER-ID")?;
    b.extra(C2, "GovernmentId", "X-GOVERNMENT-ID")?;
    b.extra(C2, "AccountName", "X-ACCOUNT-NAME")?;
    b.extra(C, "Alias", "X-ALIAS")?;
    Ok(Mapped {
        contact: b.contact,
        warnings: b.warnings,
    })
}

/// A GAL search result's `Properties` → contact (uid left empty for the caller).
pub fn from_gal(properties: &Element, opts: &Options) -> Result<Mapped, ParseError> {
    use Namespace::Gal as G;
    let mut warnings = Vec::new();
    let fields = Fields::collect(properties, &[Namespace::Gal], &mut warnings)?;
    let mut b = Builder {
        fields: &fields,
        contact: Contact::default(),
        warnings,
        opts,
    };
    b.contact.formatted_name = b.text(G, "DisplayName")?.unwrap_or_default();
    b.contact.name.given = one(b.text(G, "FirstName")?);
    b.contact.name.family = one(b.text(G, "LastName")?);
    b.contact.organization = b.text(G, "Company")?;
    b.contact.title = b.text(G, "Title")?;
    b.email(G, "EmailAddress", true)?;
    b.phones(&GAL_PHONES)?;
    let office = b.text(G, "Office")?;
    b.office(office);
    if let Some(picture) = fields.element(G, "Picture") {
        let status = match picture.child(G, "Status") {
            Some(s) => s.text_value()?,
            None => "1".to_string(),
        };
        // 173 no picture, 174 too large, 175 limit reached: nothing to publish either way.
        if status == "1" {
            b.photo(picture.child(G, "Data"));
        }
    }
    b.extra(G, "Alias", "X-ALIAS")?;
    Ok(Mapped {
        contact: b.contact,
        warnings: b.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes() {
        assert_eq!(
            mailbox_address("\"Marisol Ventanilla\" <marisol.ventanilla@example.com>").as_deref(),
            Some("marisol.ventanilla@example.com")
        );
        assert_eq!(
            mailbox_address("Haru <h@example.com>").as_deref(),
            Some("h@example.com")
        );
        assert_eq!(
            mailbox_address(" zoe@example.org ").as_deref(),
            Some("zoe@example.org")
        );
        assert_eq!(
            mailbox_address("\"a <b>\" <c@example.com>").as_deref(),
            Some("c@example.com")
        );
        assert_eq!(
            mailbox_address("MAILTO:x@example.com").as_deref(),
            Some("x@example.com")
        );
        assert_eq!(mailbox_address("/o=ExchangeLabs/ou=Exchange"), None);
        assert_eq!(mailbox_address("\"Name only\""), None);
        assert_eq!(mailbox_address("a b@example.com"), None);
    }
}
