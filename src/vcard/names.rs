//! FN derivation: every card needs a non-empty display name, sources often give none.

use std::borrow::Cow;

use cardbridge_connectors::contact::{Contact, Name};

/// FN when the contact has none: from N (given additional family, prefixes/suffixes around),
/// else organization, else first email, else first phone, else the uid.
pub fn formatted_name(contact: &Contact) -> String {
    display_name(contact).into_owned()
}

/// [`formatted_name`] without an allocation in the common case of an explicit FN.
pub(crate) fn display_name(contact: &Contact) -> Cow<'_, str> {
    let explicit = contact.formatted_name.trim();
    if !explicit.is_empty() {
        return Cow::Borrowed(explicit);
    }
    let from_n = name_words(&contact.name);
    if !from_n.is_empty() {
        return Cow::Owned(from_n);
    }
    let fallback = [contact.organization.as_deref()]
        .into_iter()
        .chain(
            contact
                .emails
                .iter()
                .map(|e| Some(e.address.as_str()))
                .take(1),
        )
        .chain(
            contact
                .phones
                .iter()
                .map(|p| Some(p.number.as_str()))
                .take(1),
        )
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty());
    Cow::Borrowed(fallback.unwrap_or_else(|| contact.uid.trim()))
}

/// "Dr. John Quincy Public Jr.": N components in reading order, blanks skipped.
fn name_words(name: &Name) -> String {
    let mut out = String::new();
    let parts = [
        &name.prefixes,
        &name.given,
        &name.additional,
        &name.family,
        &name.suffixes,
    ];
    for word in parts.into_iter().flatten().map(|s| s.trim()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardbridge_connectors::contact::{Email, Phone, PhoneKind};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn explicit_fn_wins_and_is_trimmed() {
        let c = Contact {
            uid: "u".into(),
            formatted_name: "  Ada Lovelace ".into(),
            organization: Some("Org".into()),
            ..Default::default()
        };
        assert_eq!(formatted_name(&c), "Ada Lovelace");
    }

    #[test]
    fn derives_from_n_in_reading_order() {
        let c = Contact {
            uid: "u".into(),
            formatted_name: " ".into(),
            name: Name {
                family: strings(&["Public"]),
                given: strings(&["John", ""]),
                additional: strings(&["Quincy", " "]),
                prefixes: strings(&["Dr."]),
                suffixes: strings(&["Jr."]),
            },
            ..Default::default()
        };
        assert_eq!(formatted_name(&c), "Dr. John Quincy Public Jr.");
    }

    #[test]
    fn falls_back_to_org_email_phone_uid() {
        let mut c = Contact {
            uid: "uid-1".into(),
            name: Name {
                family: strings(&[" "]),
                ..Default::default()
            },
            organization: Some(" ".into()),
            emails: vec![Email {
                address: "a@example.com".into(),
                label: None,
                preferred: false,
            }],
            phones: vec![Phone {
                number: "+4930123".into(),
                kind: PhoneKind::Voice,
                label: None,
                preferred: false,
            }],
            ..Default::default()
        };
        assert_eq!(formatted_name(&c), "a@example.com");
        c.organization = Some("ACME".into());
        assert_eq!(formatted_name(&c), "ACME");
        c.organization = None;
        c.emails.clear();
        assert_eq!(formatted_name(&c), "+4930123");
        c.phones.clear();
        assert_eq!(formatted_name(&c), "uid-1");
    }
}
