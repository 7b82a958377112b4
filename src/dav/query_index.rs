//! The index addressbook-query uses for the properties clients search (names, nicknames,
//! organisation, e-mail addresses, phone numbers): built once per book state, on its first
//! query, and dropped with the state.
//!
//! Each property's values are kept folded (`i;unicode-casemap`, what clients send), one
//! after the other between NULs, so a text-match is one SIMD substring search over a few
//! megabytes instead of folding every card's values again: `contains` searches the text,
//! `starts-with` NUL + text, `ends-with` text + NUL, `equals` both. A hit maps back to its
//! value and card by binary search. The values are those [`Filter::matches`] compares
//! (`filter::texts`), so the cards found are the same; what the index cannot answer
//! (other properties and collations, negation, param-filters, is-not-defined, an empty
//! text) is left to the scan.

use memchr::memmem::Finder;

use super::filter::{self, Collation, Filter, MatchType, PropFilter, Test, TextMatch};
use crate::store::Snapshot;
use crate::vcard::vocabulary::prop;

/// The properties indexed.
const INDEXED: &[&str] = &[
    prop::FN,
    prop::N,
    prop::NICKNAME,
    prop::ORG,
    prop::EMAIL,
    prop::TEL,
];

pub struct QueryIndex {
    /// One column per [`INDEXED`] property, in that order.
    columns: Vec<Column>,
    /// The digits of each phone number (`TEL` also matches on digits alone).
    tel_digits: Column,
}

/// The values of one property across the book.
#[derive(Default)]
struct Column {
    /// NUL, then each value followed by a NUL.
    text: String,
    /// Where each value starts in `text`.
    starts: Vec<u32>,
    /// The card (its position in the snapshot) each value belongs to, ascending.
    cards: Vec<u32>,
    /// False when a value holds a NUL itself or the text outgrew `u32` offsets: the scan
    /// answers then.
    usable: bool,
}

impl Column {
    fn new() -> Column {
        Column {
            text: String::from('\0'),
            usable: true,
            ..Column::default()
        }
    }

    fn push(&mut self, card: u32, value: &str) {
        if !self.usable {
            return;
        }
        let Ok(start) = u32::try_from(self.text.len()) else {
            self.usable = false;
            return;
        };
        if value.contains('\0') {
            self.usable = false;
            return;
        }
        self.starts.push(start);
        self.cards.push(card);
        self.text.push_str(value);
        self.text.push('\0');
    }

    /// The cards with a value matching `needle` (folded, non-empty, without NUL), ascending.
    fn cards_matching(&self, match_type: MatchType, needle: &str, out: &mut Vec<u32>) {
        let (pattern, lead) = match match_type {
            MatchType::Contains => (needle.to_string(), 0),
            MatchType::StartsWith => (format!("\0{needle}"), 1),
            MatchType::EndsWith => (format!("{needle}\0"), 0),
            MatchType::Equals => (format!("\0{needle}\0"), 1),
        };
        let finder = Finder::new(pattern.as_bytes());
        let text = self.text.as_bytes();
        let mut from = 0;
        while let Some(found) = text.get(from..).and_then(|rest| finder.find(rest)) {
            let at = from + found + lead;
            let Some(value) = self
                .starts
                .partition_point(|&s| s as usize <= at)
                .checked_sub(1)
            else {
                break;
            };
            if let Some(&card) = self.cards.get(value) {
                if out.last() != Some(&card) {
                    out.push(card);
                }
            }
            // On to the NUL ending this value (it also starts the next one's pattern).
            let end = self
                .starts
                .get(value + 1)
                .map_or(text.len(), |&s| s as usize)
                .saturating_sub(1);
            from = end.max(from + found + 1);
        }
    }
}

impl QueryIndex {
    pub fn build(snapshot: &Snapshot) -> QueryIndex {
        let mut columns: Vec<Column> = INDEXED.iter().map(|_| Column::new()).collect();
        let mut tel_digits = Column::new();
        for (card, member) in snapshot.members().enumerate() {
            let Ok(card) = u32::try_from(card) else {
                columns.iter_mut().for_each(|c| c.usable = false);
                break;
            };
            let contact = member.contact();
            for (property, column) in INDEXED.iter().zip(columns.iter_mut()) {
                for text in filter::texts(&contact, property) {
                    column.push(card, &filter::fold(Collation::UnicodeCasemap, &text));
                    if *property == prop::TEL {
                        tel_digits.push(card, &filter::digits(&text));
                    }
                }
            }
        }
        QueryIndex {
            columns,
            tel_digits,
        }
    }

    /// The positions (in the snapshot) of the cards matching `filter`, ascending, or `None`
    /// when the index cannot answer it.
    pub fn matching(&self, filter: &Filter) -> Option<Vec<u32>> {
        if filter.prop_filters.is_empty() {
            return None;
        }
        let sets = filter
            .prop_filters
            .iter()
            .map(|pf| self.prop_matching(pf))
            .collect::<Option<Vec<_>>>()?;
        Some(combine(filter.test, sets))
    }

    fn prop_matching(&self, pf: &PropFilter) -> Option<Vec<u32>> {
        if pf.is_not_defined || !pf.param_filters.is_empty() || pf.text_matches.is_empty() {
            return None;
        }
        let column = INDEXED
            .iter()
            .position(|p| *p == pf.name)
            .and_then(|i| self.columns.get(i))
            .filter(|c| c.usable)?;
        let phone = pf.name == prop::TEL;
        let sets = pf
            .text_matches
            .iter()
            .map(|tm| {
                if !indexable(tm) || (phone && !self.tel_digits.usable) {
                    return None;
                }
                let mut cards = Vec::new();
                column.cards_matching(tm.match_type, tm.needle(), &mut cards);
                if phone && !tm.digits().is_empty() {
                    self.tel_digits
                        .cards_matching(tm.match_type, tm.digits(), &mut cards);
                    cards.sort_unstable();
                    cards.dedup();
                }
                Some(cards)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(combine(pf.test, sets))
    }
}

fn indexable(tm: &TextMatch) -> bool {
    !tm.negate
        && tm.collation == Collation::UnicodeCasemap
        && !tm.needle().is_empty()
        && !tm.needle().contains('\0')
}

/// Sets of ascending card positions combined as `test` says: any (union) or all
/// (intersection).
fn combine(test: Test, sets: Vec<Vec<u32>>) -> Vec<u32> {
    let mut sets = sets.into_iter();
    let mut result = sets.next().unwrap_or_default();
    for set in sets {
        match test {
            Test::AnyOf => {
                result.extend(set);
                result.sort_unstable();
                result.dedup();
            }
            Test::AllOf => result.retain(|card| set.binary_search(card).is_ok()),
        }
    }
    result
}

#[cfg(test)]
mod tests;
