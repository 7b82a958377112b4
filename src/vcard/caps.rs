//! Size caps on what a card carries: a 50 MB note in a CSV cell must not become a 50 MB card
//! on every phone. Applied to contacts as they arrive from a source, before they are stored,
//! so rendering stays a pure function of the stored contact and ETags stay stable.
//!
//! Sizes are counted as written in the card: UTF-8 octets plus one per backslash escape (`\,`,
//! `\;`, `\\`, `\n`); the photo is not counted (sources cap it by pixels and bytes).

use cardbridge_connectors::contact::{Contact, Label};

use super::vocabulary::prop;

/// Appended to a value that was cut, so a reader sees that text is missing.
pub const MARKER: &str = "… [truncated]";

/// Octets counted for a value's property name, parameters and line end.
const LINE: usize = 16;

/// Octets of the lines every card has (BEGIN, VERSION, PRODID, UID, END).
const CARD: usize = 256;

/// Folding adds three octets (`CRLF` + space) per 74 of content.
const FOLDED_SHARE: (usize, usize) = (74, 77);

/// The limits (`[server] max_property_bytes`, `max_card_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Largest text value of one property.
    pub property_bytes: usize,
    /// Largest card, without its photo.
    pub card_bytes: usize,
}

/// How a value over its budget is shortened.
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    /// Free text: cut at a character boundary, with `MARKER`.
    Text,
    /// An address, number or URI: a shortened one would be wrong, so it is left out.
    Whole,
}

/// Calls `$visit(cut, property, value)` for every capped value of `$c`, the ones a reader
/// needs most first (they keep their place when a card is over its total): identity, ways to
/// reach the person, then descriptions, the note last. `$m` is `mut` for the pass that cuts.
macro_rules! each_value {
    ($c:expr, $visit:ident $(, $m:tt)?) => {{
        let c = $c;
        $visit(Cut::Text, prop::FN, &$($m)? c.formatted_name);
        for part in [
            &$($m)? c.name.family,
            &$($m)? c.name.given,
            &$($m)? c.name.additional,
            &$($m)? c.name.prefixes,
            &$($m)? c.name.suffixes,
        ] {
            for v in part {
                $visit(Cut::Text, prop::N, v);
            }
        }
        for (name, value) in [
            (prop::ORG, &$($m)? c.organization),
            (prop::ORG, &$($m)? c.department),
            (prop::TITLE, &$($m)? c.title),
            (prop::ROLE, &$($m)? c.role),
        ] {
            if let Some(v) = value {
                $visit(Cut::Text, name, v);
            }
        }
        for e in &$($m)? c.emails {
            $visit(Cut::Whole, prop::EMAIL, &$($m)? e.address);
        }
        for p in &$($m)? c.phones {
            $visit(Cut::Whole, prop::TEL, &$($m)? p.number);
        }
        for u in &$($m)? c.urls {
            $visit(Cut::Whole, prop::URL, &$($m)? u.url);
        }
        for i in &$($m)? c.impps {
            $visit(Cut::Whole, prop::IMPP, &$($m)? i.uri);
        }
        for a in &$($m)? c.addresses {
            for v in [
                &$($m)? a.po_box,
                &$($m)? a.extended,
                &$($m)? a.street,
                &$($m)? a.locality,
                &$($m)? a.region,
                &$($m)? a.postal_code,
                &$($m)? a.country,
            ] {
                $visit(Cut::Text, prop::ADR, v);
            }
        }
        if let Some(v) = &$($m)? c.manager {
            $visit(Cut::Text, prop::RELATED, v);
        }
        for v in &$($m)? c.nicknames {
            $visit(Cut::Text, prop::NICKNAME, v);
        }
        for v in &$($m)? c.categories {
            $visit(Cut::Text, prop::CATEGORIES, v);
        }
        let labels = (&$($m)? c.emails).into_iter().map(|e| &$($m)? e.label)
            .chain((&$($m)? c.phones).into_iter().map(|p| &$($m)? p.label))
            .chain((&$($m)? c.addresses).into_iter().map(|a| &$($m)? a.label))
            .chain((&$($m)? c.urls).into_iter().map(|u| &$($m)? u.label));
        for label in labels {
            if let Some(Label::Custom(v)) = label {
                $visit(Cut::Text, "X-ABLabel", v);
            }
        }
        for (_, v) in &$($m)? c.extra {
            $visit(Cut::Text, "extra property", v);
        }
        if let Some(v) = &$($m)? c.note {
            $visit(Cut::Text, prop::NOTE, v);
        }
    }};
}

/// Octets of `value` as written in a card.
fn written(value: &str) -> usize {
    value.len() + value.bytes().filter(|b| b"\\,;\n".contains(b)).count()
}

/// The byte index at which `value` must be cut so that the kept part plus `MARKER` writes in
/// at most `max` octets (a character boundary).
fn cut_point(value: &str, max: usize) -> usize {
    let room = max.saturating_sub(written(MARKER));
    let mut used = 0;
    for (i, c) in value.char_indices() {
        used += written(c.encode_utf8(&mut [0; 4]));
        if used > room {
            return i;
        }
    }
    value.len()
}

fn over(contact: &Contact, caps: &Caps) -> bool {
    let (mut total, mut too_big) = (0usize, false);
    let mut visit = |_: Cut, _: &str, v: &String| {
        let size = written(v);
        too_big |= size > caps.property_bytes;
        total += size + LINE;
    };
    each_value!(contact, visit);
    too_big || total > card_budget(caps)
}

fn card_budget(caps: &Caps) -> usize {
    (caps.card_bytes / FOLDED_SHARE.1 * FOLDED_SHARE.0).saturating_sub(CARD)
}

/// Shortens `contact` to fit `caps`; returns one line per value cut or left out, naming the
/// property and the sizes. Contacts within the caps are not touched (nor copied).
pub fn apply(contact: &mut std::sync::Arc<Contact>, caps: &Caps) -> Vec<String> {
    if !over(contact, caps) {
        return Vec::new();
    }
    let mut cuts = Vec::new();
    let mut remaining = card_budget(caps);
    let mut visit = |cut: Cut, property: &str, v: &mut String| {
        let size = written(v);
        let room = remaining.saturating_sub(LINE).min(caps.property_bytes);
        let reason = if size <= room {
            remaining -= size + LINE;
            return;
        } else if room < caps.property_bytes {
            format!("the card is over {} bytes", caps.card_bytes)
        } else {
            format!("over {} bytes per property", caps.property_bytes)
        };
        if cut == Cut::Text && room > written(MARKER) {
            v.truncate(cut_point(v, room));
            v.push_str(MARKER);
            let kept = written(v);
            remaining = remaining.saturating_sub(kept + LINE);
            cuts.push(format!(
                "{property} cut from {size} to {kept} bytes ({reason})"
            ));
        } else {
            v.clear();
            cuts.push(format!("{property} left out ({size} bytes; {reason})"));
        }
    };
    let c = std::sync::Arc::make_mut(contact);
    each_value!(c, visit, mut);
    cuts
}

/// Shortens a contact of a poll to the card size caps; returns a notice per value cut, naming
/// the card.
pub fn apply_noted(contact: &mut std::sync::Arc<Contact>, caps: &Caps) -> Vec<String> {
    if !over(contact, caps) {
        return Vec::new();
    }
    let card = format!(
        "card {:?} ({:?})",
        contact.uid,
        crate::vcard::formatted_name(contact)
            .chars()
            .take(40)
            .collect::<String>()
    );
    let cuts = apply(contact, caps);
    cuts.into_iter()
        .map(|cut| format!("{card}: {cut}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cardbridge_connectors::contact::{Email, Url};

    use super::*;
    use crate::vcard::{render, VcardVersion};

    const CAPS: Caps = Caps {
        property_bytes: 32 * 1024,
        card_bytes: 256 * 1024,
    };

    fn contact() -> Contact {
        Contact {
            uid: "u1".into(),
            formatted_name: "Ann Lee".into(),
            ..Contact::default()
        }
    }

    #[test]
    fn a_huge_note_is_cut_at_a_character_with_the_marker() {
        let mut c = contact();
        c.note = Some("Zoë; ".repeat(400_000));
        let mut shared = Arc::new(c);
        let cuts = apply(&mut shared, &CAPS);
        let note = shared.note.as_deref().expect("note");
        assert!(note.ends_with(MARKER), "{}", &note[note.len() - 40..]);
        assert!(written(note) <= CAPS.property_bytes);
        assert!(written(note) > CAPS.property_bytes - 8, "cut far too short");
        assert_eq!(cuts.len(), 1, "{cuts:?}");
        assert!(cuts[0].starts_with("NOTE cut from 2800000 to "), "{cuts:?}");
        let card = render(&shared, VcardVersion::V4);
        assert!(card.len() <= CAPS.card_bytes, "{}", card.len());
    }

    #[test]
    fn a_card_over_its_total_loses_its_least_needed_values_first() {
        let mut c = contact();
        c.emails = (0..4)
            .map(|i| Email {
                address: format!("ann{i}@example.com"),
                label: None,
                preferred: false,
            })
            .collect();
        c.urls = vec![Url {
            url: format!("https://example.com/{}", "x".repeat(40_000)),
            label: None,
        }];
        c.extra = (0..12)
            .map(|i| (format!("X-F{i}"), "y".repeat(30_000)))
            .collect();
        c.note = Some("n".repeat(30_000));
        let mut shared = Arc::new(c);
        let cuts = apply(&mut shared, &CAPS);
        assert_eq!(shared.emails.len(), 4);
        assert!(shared.emails.iter().all(|e| !e.address.is_empty()));
        assert_eq!(shared.urls[0].url, "", "a cut URL would be wrong: left out");
        assert_eq!(shared.note.as_deref(), Some(""), "{cuts:?}");
        assert!(shared.extra[0].1.len() == 30_000);
        for version in [VcardVersion::V3, VcardVersion::V4] {
            let card = render(&shared, version);
            assert!(card.len() <= CAPS.card_bytes, "{}", card.len());
        }
        assert!(
            cuts[0].starts_with("URL left out (40020 bytes; over 32768"),
            "{cuts:?}"
        );
        assert!(
            cuts.last().is_some_and(|c| c.starts_with("NOTE left out")),
            "{cuts:?}"
        );
    }

    #[test]
    fn a_card_within_the_caps_is_not_copied() {
        let mut shared = Arc::new(contact());
        let other = Arc::clone(&shared);
        assert!(apply(&mut shared, &CAPS).is_empty());
        assert!(Arc::ptr_eq(&shared, &other));
    }
}
