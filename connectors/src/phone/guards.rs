//! Checks of the `phonenumber` crate's results, for its bugs: [`keeps_digits`] because it
//! strips trunk prefixes that are real digits, [`is_valid`] because it calls numbers with a
//! digit too many valid.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use phonenumber::Type;
use regex::{Regex, RegexBuilder};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

/// Whether the digits of `written` are those of `e164` with at most the country code `code`
/// left out and a trunk prefix of that country added (`0` in DE, `8` in RU, `1` in the US).
/// The trunk prefix is the number's country's, never the default region's: `+49 172 6919312`
/// published as `+49726919312` fails, because `1` is no German trunk prefix.
pub(super) fn keeps_digits(written: &str, e164: &str, code: u16) -> bool {
    let cc = code.to_string();
    let Some(nsn) = e164
        .strip_prefix('+')
        .and_then(|n| n.strip_prefix(cc.as_str()))
    else {
        return false;
    };
    let digits: String = written.chars().filter(char::is_ascii_digit).collect();
    let trunks = DATABASE.by_code(&code).unwrap_or_default();
    let is_national = |national: &str| {
        national == nsn
            || trunks
                .iter()
                .filter_map(|m| m.national_prefix())
                .any(|trunk| national.strip_prefix(trunk) == Some(nsn))
    };
    is_national(&digits) || digits.strip_prefix(cc.as_str()).is_some_and(is_national)
}

/// The number types libphonenumber's `is_valid_number` accepts.
const VALID_TYPES: [Type; 10] = [
    Type::FixedLine,
    Type::Mobile,
    Type::TollFree,
    Type::PremiumRate,
    Type::SharedCost,
    Type::PersonalNumber,
    Type::Voip,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

/// Whether the national number `national` with country code `code` matches the general
/// pattern and the pattern of one of the number types of its region entirely, as
/// libphonenumber asks. The crate only asks for a match at the start, so it takes numbers with
/// digits too many.
pub(super) fn is_valid(code: u16, national: &str) -> bool {
    let Some((meta, typed)) = region_of(code, national) else {
        return false;
    };
    matches_whole(meta.descriptors().general(), national) && (typed || has_type(meta, national))
}

/// Whether `national` entirely matches one of the number types of `meta`.
fn has_type(meta: &'static Metadata, national: &str) -> bool {
    VALID_TYPES
        .iter()
        .filter_map(|kind| meta.descriptors().get(*kind))
        .any(|pattern| matches_whole(pattern, national))
}

/// The region of a national number among those sharing its country code, chosen as
/// libphonenumber does: the first (main region first) whose leading digits it starts with, or
/// without leading digits, whose number types it matches. (The crate's `PhoneNumber::metadata`
/// drops the leading zeros of Italian numbers before choosing, and finds none.) Also says
/// whether the number is known to match one of the region's types (chosen by them).
fn region_of(code: u16, national: &str) -> Option<(&'static Metadata, bool)> {
    let regions = DATABASE.by_code(&code)?;
    if let [only] = regions[..] {
        return Some((only, false));
    }
    regions
        .into_iter()
        .find_map(|meta| match meta.leading_digits() {
            Some(leading) => leading
                .find(national)
                .is_some_and(|m| m.start() == 0)
                .then_some((meta, false)),
            None => has_type(meta, national).then_some((meta, true)),
        })
}

/// Whether `pattern` allows the length of `national` and matches all of it. The crate's own
/// `Descriptor::is_match` (the length, then a match at the start) is implied by this and not
/// asked: its every call hashes the pattern's text with SipHash under the crate's global
/// pattern-cache lock, which made it a fifth of the time of reading a directory's numbers.
pub(super) fn matches_whole(pattern: &'static Descriptor, national: &str) -> bool {
    let lengths = pattern.possible_length();
    let length_allowed = lengths.is_empty()
        || u16::try_from(national.len()).is_ok_and(|length| lengths.contains(&length));
    length_allowed && anchored(pattern).is_some_and(|re| re.is_match(national))
}

/// `^(?:pattern)$` of a descriptor's national number pattern, compiled once per descriptor (a
/// few thousand at most), with whitespace ignored as the crate does. `None` if it does not
/// compile: the number is invalid. Shared, not cloned: a cloned `Regex` starts with no search
/// cache and builds one at its first match, which cost more than the match itself. Looked up
/// by the descriptor's address, which the static metadata database keeps for the program's
/// life: no pattern text is hashed.
fn anchored(pattern: &'static Descriptor) -> Option<Arc<Regex>> {
    type Compiled = HashMap<usize, Option<Arc<Regex>>, Xxh3DefaultBuilder>;
    static COMPILED: LazyLock<Mutex<Compiled>> = LazyLock::new(Mutex::default);
    let key = std::ptr::from_ref(pattern) as usize;
    let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = compiled.get(&key) {
        return known.clone();
    }
    let built = RegexBuilder::new(&format!("^(?:{})$", pattern.national_number().as_str()))
        .ignore_whitespace(true)
        .build()
        .ok()
        .map(Arc::new);
    compiled.insert(key, built.clone());
    built
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_country_code_and_a_trunk_prefix_may_differ() {
        assert!(keeps_digits("+49 172 6919312", "+491726919312", 49));
        assert!(keeps_digits("0172 6919312", "+491726919312", 49));
        assert!(keeps_digits("49 (0) 172 6919312", "+491726919312", 49));
        assert!(keeps_digits("1 (650) 253-0000", "+16502530000", 1));
        assert!(keeps_digits("8 800 555 35 35", "+78005553535", 7));
        // The crate's results for those with region US and RU: a digit lost.
        assert!(!keeps_digits("+49 172 6919312", "+49726919312", 49));
        assert!(!keeps_digits("8 800 555 35 35", "+7005553535", 7));
        // `1` is the US trunk prefix, not Germany's.
        assert!(!keeps_digits("1 172 6919312", "+49726919312", 49));
        assert!(!keeps_digits("030 901820 ext 7", "+4930901820", 49));
    }

    #[test]
    fn a_pattern_must_match_the_whole_number() {
        assert!(is_valid(49, "1726919312"));
        assert!(is_valid(39, "0212345678"));
        assert!(!is_valid(86, "101234567"));
        assert!(!is_valid(49, "17269193121234"));
    }
}
