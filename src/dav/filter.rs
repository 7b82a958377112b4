//! addressbook-query filters (RFC 6352 §10.5) evaluated against contacts.
//!
//! Values are taken from the normalized contact, property by property, as the vCard would
//! show them; a multi-valued property matches when any of its values does.

use cardbridge_connectors::{Contact, Label};

use crate::vcard;
use crate::vcard::vocabulary::{self, prop, TYPE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Test {
    #[default]
    AnyOf,
    AllOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collation {
    UnicodeCasemap,
    AsciiCasemap,
    Octet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

/// A text-match compiled once per request: the needle is folded for its collation and its
/// digits pulled out here, not again for every card.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMatch {
    pub collation: Collation,
    pub match_type: MatchType,
    pub negate: bool,
    needle: String,
    digits: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamFilter {
    /// Uppercased; only TYPE is evaluated.
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PropFilter {
    /// Uppercased vCard property name.
    pub name: String,
    pub test: Test,
    pub is_not_defined: bool,
    pub text_matches: Vec<TextMatch>,
    pub param_filters: Vec<ParamFilter>,
}

/// An empty filter matches every card (Evolution, tsdav and macOS rely on that).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub test: Test,
    pub prop_filters: Vec<PropFilter>,
}

impl Filter {
    pub fn matches(&self, contact: &Contact) -> bool {
        combine(self.test, self.prop_filters.iter(), |pf| {
            pf.matches(contact)
        })
    }

    /// The most checks one card can cost (text-matches and param-filters, at least one per
    /// prop-filter and per card): the unit of a query's evaluation budget.
    pub fn cost_per_card(&self) -> u64 {
        let checks: usize = self
            .prop_filters
            .iter()
            .map(|pf| (pf.text_matches.len() + pf.param_filters.len()).max(1))
            .sum();
        checks.max(1) as u64
    }
}

fn combine<T>(test: Test, mut items: impl Iterator<Item = T>, f: impl FnMut(T) -> bool) -> bool {
    match test {
        Test::AnyOf => {
            let mut items = items.peekable();
            items.peek().is_none() || items.any(f)
        }
        Test::AllOf => items.all(f),
    }
}

/// One value of a property: its text and its TYPE parameter values (lowercase).
struct Value {
    text: String,
    types: Vec<&'static str>,
}

fn plain(text: impl Into<String>) -> Value {
    Value {
        text: text.into(),
        types: Vec::new(),
    }
}

fn label_types(label: &Option<Label>) -> Vec<&'static str> {
    label
        .as_ref()
        .and_then(vocabulary::label_type)
        .map(|t| t.lower)
        .into_iter()
        .collect()
}

/// The values a contact has for a vCard property, as rendered.
fn values(contact: &Contact, property: &str) -> Vec<Value> {
    let texts = |list: &[String]| list.iter().map(|s| plain(s.clone())).collect();
    match property {
        prop::FN => vec![plain(vcard::formatted_name(contact))],
        prop::UID => vec![plain(contact.uid.clone())],
        // Structured properties match on their whole value (`Family;Given;…`), as a
        // client reading the card would see it, so negation means what it says.
        prop::N => {
            let n = &contact.name;
            if n.is_empty() {
                return Vec::new();
            }
            let parts = [&n.family, &n.given, &n.additional, &n.prefixes, &n.suffixes];
            vec![plain(
                parts
                    .iter()
                    .map(|p| p.join(","))
                    .collect::<Vec<_>>()
                    .join(";"),
            )]
        }
        prop::NICKNAME => texts(&contact.nicknames),
        prop::ORG => contact
            .organization
            .iter()
            .map(|org| match &contact.department {
                Some(dept) => plain(format!("{org};{dept}")),
                None => plain(org.clone()),
            })
            .collect(),
        prop::TITLE => contact.title.iter().map(|s| plain(s.clone())).collect(),
        prop::ROLE => contact.role.iter().map(|s| plain(s.clone())).collect(),
        prop::NOTE => contact.note.iter().map(|s| plain(s.clone())).collect(),
        prop::CATEGORIES => texts(&contact.categories),
        prop::EMAIL => contact
            .emails
            .iter()
            .map(|e| Value {
                text: e.address.clone(),
                types: label_types(&e.label),
            })
            .collect(),
        prop::TEL => contact
            .phones
            .iter()
            .map(|p| {
                let mut types = label_types(&p.label);
                types.push(vocabulary::phone_type(p.kind).lower);
                Value {
                    text: p.number.clone(),
                    types,
                }
            })
            .collect(),
        prop::ADR => contact
            .addresses
            .iter()
            .flat_map(|a| {
                let types = label_types(&a.label);
                [
                    &a.po_box,
                    &a.extended,
                    &a.street,
                    &a.locality,
                    &a.region,
                    &a.postal_code,
                    &a.country,
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(move |s| Value {
                    text: s.clone(),
                    types: types.clone(),
                })
            })
            .collect(),
        prop::URL => contact
            .urls
            .iter()
            .map(|u| Value {
                text: u.url.clone(),
                types: label_types(&u.label),
            })
            .collect(),
        prop::IMPP => contact.impps.iter().map(|i| plain(i.uri.clone())).collect(),
        prop::KIND | prop::X_ADDRESSBOOKSERVER_KIND => {
            vec![plain(vocabulary::kind_value(&contact.kind))]
        }
        _ => Vec::new(),
    }
}

/// The texts of a contact's values for `property`, as filters compare them (the query
/// index keeps them folded, so it answers exactly what [`Filter::matches`] would).
pub(super) fn texts(contact: &Contact, property: &str) -> impl Iterator<Item = String> {
    values(contact, property).into_iter().map(|v| v.text)
}

impl PropFilter {
    fn matches(&self, contact: &Contact) -> bool {
        let values = values(contact, &self.name);
        if self.is_not_defined {
            return values.is_empty();
        }
        if values.is_empty() {
            return false;
        }
        if self.text_matches.is_empty() && self.param_filters.is_empty() {
            return true;
        }
        let phone = self.name == prop::TEL;
        let tests = self
            .text_matches
            .iter()
            .map(Check::Text)
            .chain(self.param_filters.iter().map(Check::Param));
        combine(self.test, tests, |check| match check {
            Check::Text(tm) => values.iter().any(|v| tm.matches_value(&v.text, phone)),
            Check::Param(pf) => values.iter().any(|v| pf.matches(&v.types)),
        })
    }
}

enum Check<'a> {
    Text(&'a TextMatch),
    Param(&'a ParamFilter),
}

impl ParamFilter {
    fn matches(&self, types: &[&str]) -> bool {
        if self.name != TYPE {
            return self.is_not_defined;
        }
        if self.is_not_defined {
            return types.is_empty();
        }
        match &self.text_match {
            None => !types.is_empty(),
            Some(tm) => types.iter().any(|t| tm.matches_value(t, false)),
        }
    }
}

impl TextMatch {
    pub fn new(text: &str, collation: Collation, match_type: MatchType, negate: bool) -> Self {
        TextMatch {
            collation,
            match_type,
            negate,
            needle: fold(collation, text),
            digits: digits(text),
        }
    }

    /// The text compared, folded for the collation.
    pub(super) fn needle(&self) -> &str {
        &self.needle
    }

    /// The digits of the text (phone numbers also match on digits alone).
    pub(super) fn digits(&self) -> &str {
        &self.digits
    }

    /// Whether one value matches; `negate-condition` inverts the result per value.
    fn matches_value(&self, value: &str, phone: bool) -> bool {
        let hit = self.compare(value) || (phone && self.compare_digits(value));
        hit != self.negate
    }

    fn compare(&self, value: &str) -> bool {
        apply(self.match_type, &fold(self.collation, value), &self.needle)
    }

    /// Phone numbers also match on digits alone, so "555 0142" finds "+12065550142".
    fn compare_digits(&self, value: &str) -> bool {
        !self.digits.is_empty() && apply(self.match_type, &digits(value), &self.digits)
    }
}

pub(super) fn fold(collation: Collation, text: &str) -> String {
    match collation {
        Collation::Octet => text.to_string(),
        Collation::AsciiCasemap => text.to_ascii_lowercase(),
        Collation::UnicodeCasemap => text.to_lowercase(),
    }
}

pub(super) fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn apply(match_type: MatchType, haystack: &str, needle: &str) -> bool {
    match match_type {
        MatchType::Equals => haystack == needle,
        MatchType::Contains => haystack.contains(needle),
        MatchType::StartsWith => haystack.starts_with(needle),
        MatchType::EndsWith => haystack.ends_with(needle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardbridge_connectors::{Email, Name, Phone, PhoneKind};

    fn contact() -> Contact {
        Contact {
            uid: "u1".into(),
            formatted_name: "Zoë Ångström".into(),
            name: Name {
                family: vec!["Ångström".into()],
                given: vec!["Zoë".into()],
                ..Name::default()
            },
            nicknames: vec!["Zo".into()],
            organization: Some("Example Corp".into()),
            emails: vec![Email {
                address: "zoe@example.org".into(),
                label: Some(Label::Home),
                preferred: true,
            }],
            phones: vec![Phone {
                number: "+12065550142".into(),
                kind: PhoneKind::Cell,
                label: Some(Label::Work),
                preferred: false,
            }],
            ..Contact::default()
        }
    }

    fn tm(text: &str, collation: Collation, match_type: MatchType, negate: bool) -> TextMatch {
        TextMatch::new(text, collation, match_type, negate)
    }

    fn prop(name: &str, matches: Vec<TextMatch>) -> PropFilter {
        PropFilter {
            name: name.into(),
            test: Test::AnyOf,
            is_not_defined: false,
            text_matches: matches,
            param_filters: Vec::new(),
        }
    }

    fn filter(test: Test, props: Vec<PropFilter>) -> Filter {
        Filter {
            test,
            prop_filters: props,
        }
    }

    fn one(name: &str, text: &str, c: Collation, m: MatchType, negate: bool) -> bool {
        filter(Test::AnyOf, vec![prop(name, vec![tm(text, c, m, negate)])]).matches(&contact())
    }

    use Collation::*;
    use MatchType::*;

    #[test]
    fn empty_filter_matches_all() {
        assert!(Filter::default().matches(&contact()));
    }

    #[test]
    fn collations() {
        assert!(one("FN", "ÅNGSTRÖM", UnicodeCasemap, Contains, false));
        assert!(!one("FN", "ÅNGSTRÖM", AsciiCasemap, Contains, false));
        assert!(one("FN", "zoË", UnicodeCasemap, StartsWith, false));
        assert!(one("EMAIL", "ZOE@EXAMPLE.ORG", AsciiCasemap, Equals, false));
        assert!(!one("EMAIL", "ZOE@EXAMPLE.ORG", Octet, Equals, false));
        assert!(one("EMAIL", "zoe@example.org", Octet, Equals, false));
    }

    #[test]
    fn match_types_and_negation() {
        assert!(one("ORG", "example", UnicodeCasemap, Contains, false));
        assert!(one("ORG", "corp", UnicodeCasemap, EndsWith, false));
        assert!(!one("ORG", "corp", UnicodeCasemap, StartsWith, false));
        assert!(one("ORG", "corp", UnicodeCasemap, StartsWith, true));
        assert!(!one("NICKNAME", "zo", UnicodeCasemap, Equals, true));
        assert!(one("N", "ångström;zoë", UnicodeCasemap, StartsWith, false));
        assert!(!one("N", "zoë", UnicodeCasemap, Equals, false));
    }

    #[test]
    fn phones_match_on_digits() {
        assert!(one("TEL", "555 0142", UnicodeCasemap, Contains, false));
        assert!(one(
            "TEL",
            "(206) 555-0142",
            UnicodeCasemap,
            EndsWith,
            false
        ));
        assert!(!one("TEL", "555 0199", UnicodeCasemap, Contains, false));
    }

    #[test]
    fn anyof_allof_and_undefined() {
        let hit = prop("FN", vec![tm("zoë", UnicodeCasemap, Contains, false)]);
        let miss = prop("EMAIL", vec![tm("nobody", UnicodeCasemap, Contains, false)]);
        assert!(filter(Test::AnyOf, vec![hit.clone(), miss.clone()]).matches(&contact()));
        assert!(!filter(Test::AllOf, vec![hit, miss]).matches(&contact()));
        let mut undefined = prop("TITLE", vec![]);
        undefined.is_not_defined = true;
        assert!(filter(Test::AnyOf, vec![undefined.clone()]).matches(&contact()));
        undefined.name = "EMAIL".into();
        assert!(!filter(Test::AnyOf, vec![undefined]).matches(&contact()));
    }

    #[test]
    fn type_parameters() {
        let mut tel = prop("TEL", vec![]);
        tel.param_filters.push(ParamFilter {
            name: "TYPE".into(),
            is_not_defined: false,
            text_match: Some(tm("cell", AsciiCasemap, Equals, false)),
        });
        assert!(filter(Test::AnyOf, vec![tel.clone()]).matches(&contact()));
        tel.param_filters[0].text_match = Some(tm("fax", AsciiCasemap, Equals, false));
        assert!(!filter(Test::AnyOf, vec![tel]).matches(&contact()));
    }
}
