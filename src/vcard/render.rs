//! Contact → one vCard, in the 3.0 dialect Apple clients need or in RFC 6350 4.0.
//!
//! The output is a pure function of the contact and the version (no REV, no clock, fixed
//! property order), so every replica and restart serves byte-identical cards and content-hash
//! ETags stay stable.

use cardbridge_connectors::contact::{
    Contact, ContactKind, Label, LooseDate, PartialDate, Relation,
};

use super::line::LineWriter;
use super::photo_lines::{LineEnd, PhotoLines};
use super::vocabulary::{self, prop, TYPE};
use super::{dates, names, VcardVersion};

const PRODID: &str = "-//cardbridge//cardbridge//EN";

/// Properties the renderer owns; a source extra with one of these names would duplicate a
/// singleton or, for `END`/`BEGIN`, cut the card short.
const RESERVED_EXTRAS: [&str; 12] = [
    prop::BEGIN,
    prop::END,
    prop::VERSION,
    prop::PRODID,
    prop::UID,
    prop::FN,
    prop::N,
    prop::KIND,
    prop::X_ADDRESSBOOKSERVER_KIND,
    prop::MEMBER,
    prop::X_ADDRESSBOOKSERVER_MEMBER,
    REVISION_PROPERTY,
];

/// Marks a card healed after a refused write (see `render_revised`).
const REVISION_PROPERTY: &str = "X-CARDBRIDGE-REVISION";

/// The card as served after `revision` heals of refused writes: the plain rendering at
/// revision 0, else with `X-CARDBRIDGE-REVISION:<revision>` before `END:VCARD`. A client that
/// compares card content rather than ETags (vdirsyncer) then sees the healed card as changed
/// too, and takes it over its local edit. Still a pure function of its inputs.
pub fn render_revised(contact: &Contact, version: VcardVersion, revision: u32) -> String {
    revised(render(contact, version), revision)
}

/// A card as [`render_revised`] gives it, without its `PHOTO` lines, and where a photo's lines
/// go: the text of a card is a few hundred bytes and its photo several kilobytes, so the texts
/// of a whole book can be cached while photos are encoded when sent ([`PhotoLines`]). The
/// contact may come without its photo (the store keeps photos apart).
pub struct WithoutPhoto {
    pub text: String,
    pub photo_at: usize,
}

pub fn render_without_photo(
    contact: &Contact,
    version: VcardVersion,
    revision: u32,
) -> WithoutPhoto {
    let mut renderer = Renderer {
        w: LineWriter::with_capacity(capacity_hint(contact).min(1024)),
        v3: version == VcardVersion::V3,
        next_item: 1,
        photo: Photo::Marked(None),
    };
    renderer.card(contact, version);
    let photo_at = match renderer.photo {
        Photo::Marked(Some(at)) => at,
        // Every card gets to the photo's place.
        Photo::Marked(None) | Photo::Written => renderer.w.len(),
    };
    WithoutPhoto {
        // The revision line goes after the photo, so the mark stays where it is.
        text: revised(renderer.w.finish(), revision),
        photo_at,
    }
}

fn revised(card: String, revision: u32) -> String {
    if revision == 0 {
        return card;
    }
    match card.strip_suffix("END:VCARD\r\n") {
        Some(head) => format!("{head}{REVISION_PROPERTY}:{revision}\r\nEND:VCARD\r\n"),
        None => card,
    }
}

/// Renders one card, CRLF line endings, ending with "END:VCARD\r\n".
///
/// Dialects (3.0 → Apple's, 4.0 → RFC 6350):
/// - Free-text labels become Apple `itemN.` groups with `itemN.X-ABLabel` in both versions
///   (4.0 has no label parameter for TEL/EMAIL/URL; DAVx5 reads the Apple form in 4.0 too).
///   `Label::Other` is `TYPE=OTHER` in 3.0 (Apple's form) and no TYPE in 4.0 (unregistered).
/// - The manager is `itemN.X-ABRELATEDNAMES` + `X-ABLabel:_$!<Manager>!$_` in 3.0 and
///   `RELATED;TYPE=co-worker,manager;VALUE=text:` in 4.0: `co-worker` is the nearest
///   RFC 6350 type, `manager` the token DAVx5 maps to Android's manager relation. It is always
///   text because the model cannot tell a uid from a display name. Other related people
///   take the same path, with Apple's label (`_$!<Spouse>!$_`) and the RFC 6350 type
///   (`spouse`), or their own label as `X-ABLabel` in both versions.
/// - Custom fields are `itemN.X-CUSTOM:value` + `itemN.X-ABLabel:label` in both versions, so
///   labels stay exact and distinct.
/// - Dates that are no calendar day (a year, a year and month, text) are `BDAY:1980`,
///   `BDAY:1980-05`, `BDAY;VALUE=text:…` in 4.0; 3.0 has no syntax for them (Apple drops the
///   card's BDAY), so they are lines at the end of the NOTE ("Birthday: 1980").
/// - Groups: `X-ADDRESSBOOKSERVER-KIND/MEMBER` in 3.0, `KIND/MEMBER` in 4.0. A 3.0 group with an
///   empty N gets `N:<FN>`, since Apple shows a group's N literally (`Team;;;;`).
/// - An organisation-only card gets Apple's `X-ABShowAs:COMPANY` in 3.0 so it is listed by
///   company rather than as "No Name".
/// - 4.0 TEL is a `tel:` URI for E.164 numbers and `VALUE=text` otherwise.
/// - UID and `urn:uuid:` member references percent-encode everything outside
///   `[A-Za-z0-9._~@:/+=-]`, so the two match whether a client reads them as TEXT or URI.
/// - Photos other than JPEG/PNG and dates that do not exist are left out (strict parsers reject
///   the card, Thunderbird only shows JPEG/PNG).
pub fn render(contact: &Contact, version: VcardVersion) -> String {
    let mut renderer = Renderer {
        w: LineWriter::with_capacity(capacity_hint(contact)),
        v3: version == VcardVersion::V3,
        next_item: 1,
        photo: Photo::Written,
    };
    renderer.card(contact, version);
    renderer.w.finish()
}

struct Renderer {
    w: LineWriter,
    v3: bool,
    /// Next Apple `itemN.` group number; groups are numbered in output order.
    next_item: u32,
    photo: Photo,
}

/// What becomes of the photo: written, or left out with its place marked.
enum Photo {
    Written,
    Marked(Option<usize>),
}

impl Renderer {
    fn card(&mut self, c: &Contact, version: VcardVersion) {
        let is_group = c.kind == ContactKind::Group;
        let display = names::display_name(c);

        self.literal(prop::BEGIN, "VCARD");
        self.literal(prop::VERSION, version.as_str());
        self.literal(prop::PRODID, PRODID);
        self.w.start(None, prop::UID);
        self.w.colon();
        self.w.uid(&c.uid);
        self.w.end();
        self.text_prop(None, prop::FN, &display);
        self.structured_name(c, &display);
        if is_group {
            let kind = if self.v3 {
                prop::X_ADDRESSBOOKSERVER_KIND
            } else {
                prop::KIND
            };
            self.literal(kind, vocabulary::kind_value(&ContactKind::Group));
        }
        self.text_list(prop::NICKNAME, &c.nicknames);
        self.organization(c, &display);
        self.opt_text(prop::TITLE, c.title.as_deref());
        self.opt_text(prop::ROLE, c.role.as_deref());
        self.emails(c);
        self.phones(c);
        self.addresses(c);
        self.urls(c);
        for impp in c
            .impps
            .iter()
            .map(|i| i.uri.trim())
            .filter(|u| !u.is_empty())
        {
            self.w.start(None, prop::IMPP);
            self.w.colon();
            self.w.uri(impp);
            self.w.end();
        }
        self.dates(c);
        self.manager(c);
        for related in c.related.iter().filter(|r| !r.name.trim().is_empty()) {
            let (apple, rfc) = relation_names(&related.relation);
            self.related_name(&related.name, apple, &[rfc]);
        }
        self.text_list(prop::CATEGORIES, &c.categories);
        self.note(c);
        for field in c
            .custom_fields
            .iter()
            .filter(|f| !f.value.trim().is_empty())
        {
            let item = self.take_item();
            self.text_prop(Some(item), prop::X_CUSTOM, &field.value);
            self.text_prop(Some(item), prop::X_ABLABEL, &field.label);
        }
        for (name, value) in &c.extra {
            if extra_name_allowed(name) && !value.trim().is_empty() {
                self.text_prop(None, name, value);
            }
        }
        if is_group {
            self.members(c);
        }
        match &mut self.photo {
            Photo::Written => {
                if let Some(photo) = &c.photo {
                    self.photo(&photo.media_type, &photo.data);
                }
            }
            Photo::Marked(at) => *at = Some(self.w.len()),
        }
        self.literal(prop::END, "VCARD");
    }

    fn structured_name(&mut self, c: &Contact, display: &str) {
        self.w.start(None, prop::N);
        self.w.colon();
        let is_group = c.kind == ContactKind::Group;
        if self.v3 && is_group && c.name.is_empty() {
            self.w.text(display);
        } else {
            let n = &c.name;
            let components = [&n.family, &n.given, &n.additional, &n.prefixes, &n.suffixes];
            // 4.0 requires all five components; Apple shows trailing `;` of 3.0 group names.
            let count = if self.v3 && is_group {
                components
                    .iter()
                    .rposition(|values| values.iter().any(|v| !v.trim().is_empty()))
                    .map_or(1, |last| last + 1)
            } else {
                components.len()
            };
            for (i, values) in components.iter().take(count).enumerate() {
                if i > 0 {
                    self.w.raw(";");
                }
                self.list_values(values);
            }
        }
        self.w.end();
    }

    fn organization(&mut self, c: &Contact, display: &str) {
        let org = nonblank(c.organization.as_deref());
        let department = nonblank(c.department.as_deref());
        if org.is_none() && department.is_none() {
            return;
        }
        self.w.start(None, prop::ORG);
        self.w.colon();
        self.w.text(org.unwrap_or_default());
        if let Some(department) = department {
            self.w.raw(";");
            self.w.text(department);
        }
        self.w.end();
        let company_card = c.kind == ContactKind::Individual
            && c.name.is_empty()
            && org.is_some_and(|o| o.trim() == display);
        if self.v3 && company_card {
            self.literal(prop::X_ABSHOWAS, "COMPANY");
        }
    }

    fn emails(&mut self, c: &Contact) {
        for email in &c.emails {
            let address = email.address.trim();
            if address.is_empty() {
                continue;
            }
            let (v3, label_type) = (self.v3, self.label_type(email.label.as_ref()));
            let pref = email.preferred;
            self.labelled(prop::EMAIL, email.label.as_ref(), |w| {
                if v3 {
                    w.param_list(
                        TYPE,
                        &[Some("INTERNET"), label_type, pref.then_some("PREF")],
                    );
                } else {
                    w.param_list(TYPE, &[label_type]);
                    pref_param(w, pref);
                }
                w.colon();
                w.text(address);
            });
        }
    }

    fn phones(&mut self, c: &Contact) {
        for phone in &c.phones {
            let number = phone.number.trim();
            if number.is_empty() {
                continue;
            }
            let (v3, label_type) = (self.v3, self.label_type(phone.label.as_ref()));
            let kind = vocabulary::phone_type(phone.kind).cased(v3);
            let pref = phone.preferred;
            self.labelled(prop::TEL, phone.label.as_ref(), |w| {
                if v3 {
                    w.param_list(TYPE, &[Some(kind), label_type, pref.then_some("PREF")]);
                    w.colon();
                    w.text(number);
                } else {
                    w.param_list(TYPE, &[Some(kind), label_type]);
                    pref_param(w, pref);
                    // RFC 6350 §6.4.1: TEL is a `tel:` URI, text only for unparseable numbers.
                    if is_e164(number) {
                        w.param("VALUE", "uri");
                        w.colon();
                        w.raw("tel:");
                        w.raw(number);
                    } else {
                        w.param("VALUE", "text");
                        w.colon();
                        w.text(number);
                    }
                }
            });
        }
    }

    fn addresses(&mut self, c: &Contact) {
        for adr in c.addresses.iter().filter(|a| !a.is_empty()) {
            let (v3, label_type) = (self.v3, self.label_type(adr.label.as_ref()));
            let pref = adr.preferred;
            self.labelled(prop::ADR, adr.label.as_ref(), |w| {
                if v3 {
                    w.param_list(TYPE, &[label_type, pref.then_some("PREF")]);
                } else {
                    w.param_list(TYPE, &[label_type]);
                    pref_param(w, pref);
                }
                w.colon();
                let components = [
                    &adr.po_box,
                    &adr.extended,
                    &adr.street,
                    &adr.locality,
                    &adr.region,
                    &adr.postal_code,
                    &adr.country,
                ];
                for (i, component) in components.into_iter().enumerate() {
                    if i > 0 {
                        w.raw(";");
                    }
                    w.text(component);
                }
            });
        }
    }

    fn urls(&mut self, c: &Contact) {
        for url in &c.urls {
            let value = url.url.trim();
            if value.is_empty() {
                continue;
            }
            // vCard 3.0 defines no TYPE for URL; only free-text labels survive, as Apple items.
            let label_type = if self.v3 {
                None
            } else {
                self.label_type(url.label.as_ref())
            };
            self.labelled(prop::URL, url.label.as_ref(), |w| {
                w.param_list(TYPE, &[label_type]);
                w.colon();
                w.uri(value);
            });
        }
    }

    fn dates(&mut self, c: &Contact) {
        if let Some(bday) = c.birthday.filter(dates::is_valid) {
            self.w.start(None, prop::BDAY);
            self.date_value(&bday);
            self.w.end();
        } else if let Some(loose) = c.birthday_loose.as_ref().filter(|_| !self.v3) {
            self.loose_date(prop::BDAY, loose);
        }
        if c.anniversary.is_none() && !self.v3 {
            if let Some(loose) = &c.anniversary_loose {
                self.loose_date(prop::ANNIVERSARY, loose);
            }
        }
        if let Some(anniversary) = c.anniversary.filter(dates::is_valid) {
            if self.v3 {
                // vCard 3.0 has no ANNIVERSARY; Apple's form, which DAVx5 reads as well.
                let item = self.take_item();
                self.w.start(Some(item), prop::X_ABDATE);
                self.date_value(&anniversary);
                self.w.end();
                self.text_prop(Some(item), prop::X_ABLABEL, "_$!<Anniversary>!$_");
            } else {
                self.w.start(None, prop::ANNIVERSARY);
                self.date_value(&anniversary);
                self.w.end();
            }
        }
    }

    /// A vCard 4.0 date without a day (RFC 6350 §4.3.1 reduced accuracy) or a text one.
    fn loose_date(&mut self, name: &str, date: &LooseDate) {
        self.w.start(None, name);
        if let LooseDate::Text(text) = date {
            self.w.param("VALUE", "text");
            self.w.colon();
            self.w.text(text);
        } else {
            self.w.colon();
            self.w.raw(&date.to_string());
        }
        self.w.end();
    }

    /// NOTE, with the dates vCard 3.0 cannot hold as lines after it.
    fn note(&mut self, c: &Contact) {
        let mut note = nonblank(c.note.as_deref()).unwrap_or_default().to_string();
        if self.v3 {
            let birthday = c.birthday_loose.as_ref().filter(|_| c.birthday.is_none());
            let anniversary = c
                .anniversary_loose
                .as_ref()
                .filter(|_| c.anniversary.is_none());
            for (label, date) in [("Birthday", birthday), ("Anniversary", anniversary)] {
                let Some(date) = date else { continue };
                if !note.is_empty() {
                    note.push('\n');
                }
                note.push_str(&format!("{label}: {date}"));
            }
        }
        self.opt_text(prop::NOTE, Some(&note));
    }

    /// Colon and date, with Apple's year placeholder parameter in 3.0 when the year is unknown.
    fn date_value(&mut self, date: &PartialDate) {
        if self.v3 {
            if date.year.is_none() {
                self.w.param("X-APPLE-OMIT-YEAR", dates::OMIT_YEAR_PARAM);
            }
            self.w.colon();
            dates::write_v3(&mut self.w, date);
        } else {
            self.w.colon();
            dates::write_v4(&mut self.w, date);
        }
    }

    fn manager(&mut self, c: &Contact) {
        if let Some(manager) = nonblank(c.manager.as_deref()) {
            self.related_name(
                manager,
                "_$!<Manager>!$_",
                &[Some("co-worker"), Some("manager")],
            );
        }
    }

    /// A related person: Apple's `itemN.X-ABRELATEDNAMES` with its label in 3.0; in 4.0
    /// `RELATED;TYPE=…;VALUE=text`, or without a type and with the label as an Apple item
    /// when no RFC 6350 type fits.
    fn related_name(&mut self, name: &str, label: &str, types: &[Option<&'static str>]) {
        let has_type = types.iter().any(Option::is_some);
        if self.v3 || !has_type {
            let item = (!label.trim().is_empty()).then(|| self.take_item());
            let property = if self.v3 {
                prop::X_ABRELATEDNAMES
            } else {
                prop::RELATED
            };
            self.w.start(item, property);
            if !self.v3 {
                self.w.param("VALUE", "text");
            }
            self.w.colon();
            self.w.text(name);
            self.w.end();
            if let Some(item) = item {
                self.text_prop(Some(item), prop::X_ABLABEL, label);
            }
        } else {
            self.w.start(None, prop::RELATED);
            self.w.param_list(TYPE, types);
            self.w.param("VALUE", "text");
            self.w.colon();
            self.w.text(name);
            self.w.end();
        }
    }

    fn members(&mut self, c: &Contact) {
        let name = if self.v3 {
            prop::X_ADDRESSBOOKSERVER_MEMBER
        } else {
            prop::MEMBER
        };
        for member in c.members.iter().filter(|m| !m.trim().is_empty()) {
            self.w.start(None, name);
            self.w.colon();
            self.w.raw("urn:uuid:");
            self.w.uid(member);
            self.w.end();
        }
    }

    fn photo(&mut self, media_type: &str, data: &[u8]) {
        let version = if self.v3 {
            VcardVersion::V3
        } else {
            VcardVersion::V4
        };
        if let Some(lines) = PhotoLines::new(media_type, data, version) {
            self.w.whole_lines(|out| lines.write(out, LineEnd::Crlf));
        }
    }

    /// One property that may carry a free-text label: with one it goes into a fresh Apple
    /// `itemN.` group followed by `itemN.X-ABLabel`. `body` writes params, colon and value.
    fn labelled(&mut self, name: &str, label: Option<&Label>, body: impl FnOnce(&mut LineWriter)) {
        let custom = custom_label(label);
        let item = custom.map(|_| self.take_item());
        self.w.start(item, name);
        body(&mut self.w);
        self.w.end();
        if let (Some(item), Some(text)) = (item, custom) {
            self.text_prop(Some(item), prop::X_ABLABEL, text);
        }
    }

    fn take_item(&mut self) -> u32 {
        let item = self.next_item;
        self.next_item += 1;
        item
    }

    fn label_type(&self, label: Option<&Label>) -> Option<&'static str> {
        // RFC 6350 has no "other" type: a 4.0 card says nothing.
        if !self.v3 && label == Some(&Label::Other) {
            return None;
        }
        label
            .and_then(vocabulary::label_type)
            .map(|t| t.cased(self.v3))
    }

    fn literal(&mut self, name: &str, value: &str) {
        self.w.start(None, name);
        self.w.colon();
        self.w.raw(value);
        self.w.end();
    }

    fn text_prop(&mut self, group: Option<u32>, name: &str, value: &str) {
        self.w.start(group, name);
        self.w.colon();
        self.w.text(value);
        self.w.end();
    }

    fn opt_text(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = nonblank(value) {
            self.text_prop(None, name, value);
        }
    }

    /// A comma-separated TEXT list property, left out when every value is blank.
    fn text_list(&mut self, name: &str, values: &[String]) {
        if values.iter().all(|v| v.trim().is_empty()) {
            return;
        }
        self.w.start(None, name);
        self.w.colon();
        self.list_values(values);
        self.w.end();
    }

    fn list_values(&mut self, values: &[String]) {
        let mut first = true;
        for value in values.iter().filter(|v| !v.trim().is_empty()) {
            if !first {
                self.w.raw(",");
            }
            first = false;
            // Spaces around a list item mean nothing, and readers differ on keeping them.
            self.w.text(value.trim());
        }
    }
}

/// Apple's label and the RFC 6350 `RELATED` type of a relation (`None`: no type fits).
fn relation_names(relation: &Relation) -> (&str, Option<&'static str>) {
    match relation {
        Relation::Spouse => ("_$!<Spouse>!$_", Some("spouse")),
        Relation::Partner => ("_$!<Partner>!$_", Some("sweetheart")),
        Relation::Child => ("_$!<Child>!$_", Some("child")),
        Relation::Parent => ("_$!<Parent>!$_", Some("parent")),
        Relation::Mother => ("_$!<Mother>!$_", Some("parent")),
        Relation::Father => ("_$!<Father>!$_", Some("parent")),
        Relation::Brother => ("_$!<Brother>!$_", Some("sibling")),
        Relation::Sister => ("_$!<Sister>!$_", Some("sibling")),
        Relation::Friend => ("_$!<Friend>!$_", Some("friend")),
        Relation::Relative => ("Relative", Some("kin")),
        Relation::Assistant => ("_$!<Assistant>!$_", Some("agent")),
        Relation::Custom(label) => (label, None),
    }
}

fn pref_param(w: &mut LineWriter, preferred: bool) {
    if preferred {
        w.param("PREF", "1");
    }
}

fn custom_label(label: Option<&Label>) -> Option<&str> {
    match label {
        Some(Label::Custom(text)) if !text.trim().is_empty() => Some(text),
        _ => None,
    }
}

fn nonblank(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// `+` and 1–15 digits: only then is `tel:` + the number a valid global `tel:` URI.
fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Extra property names must be plain `[A-Za-z0-9-]` (no groups, no injection) and must not
/// collide with what the renderer owns.
fn extra_name_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !RESERVED_EXTRAS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Rough output size so the buffer rarely regrows: base64 (4/3) plus folding (76/74) for the
/// photo, the note with some escaping, and a line's worth for every other value.
fn capacity_hint(c: &Contact) -> usize {
    let photo = c
        .photo
        .as_ref()
        .map_or(0, |p| p.data.len().div_ceil(3) * 4 * 76 / 74 + 64);
    let note = c.note.as_ref().map_or(0, |n| n.len() + n.len() / 16);
    let lines = c.emails.len()
        + c.phones.len()
        + 2 * c.addresses.len()
        + c.urls.len()
        + c.impps.len()
        + c.members.len()
        + c.extra.len();
    320 + photo + note + 64 * lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_detection() {
        assert!(is_e164("+4930123456"));
        assert!(is_e164("+1"));
        assert!(!is_e164("+"));
        assert!(!is_e164("+49 30 123"));
        assert!(!is_e164("030123"));
        assert!(!is_e164("+1234567890123456"));
        assert!(!is_e164("+49-30"));
    }

    #[test]
    fn extra_names() {
        assert!(extra_name_allowed("X-PHONETIC-FIRST-NAME"));
        assert!(extra_name_allowed("x-foo1"));
        assert!(!extra_name_allowed(""));
        assert!(!extra_name_allowed("item1.X-ABLabel"));
        assert!(!extra_name_allowed("X FOO"));
        assert!(!extra_name_allowed("X-FÖÖ"));
        assert!(!extra_name_allowed("X:Y"));
        assert!(!extra_name_allowed("end"));
        assert!(!extra_name_allowed("Version"));
    }
}
