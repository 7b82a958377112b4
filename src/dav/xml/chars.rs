//! Which characters and names XML 1.0 allows (Fifth Edition, §2.2 `Char`, §2.3 `Name`), so
//! requests carrying others are refused and replies never contain them.

/// `Char`: tab, line feed, carriage return and the Unicode scalar values above U+001F except
/// U+FFFE and U+FFFF (surrogates cannot occur in a Rust `char`).
pub fn is_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// `NCName`: a name without a colon (a prefix or a local name).
pub fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// An element name as written: `local` or `prefix:local`.
pub fn is_qname(name: &str) -> bool {
    match name.split_once(':') {
        Some((prefix, local)) => is_ncname(prefix) && is_ncname(local),
        None => is_ncname(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_and_names() {
        assert!(is_char('\t') && is_char('é') && is_char('\u{1F600}'));
        assert!(!is_char('\u{1}') && !is_char('\u{FFFE}') && !is_char('\u{FFFF}'));
        assert!(is_qname("D:getetag") && is_qname("x-odd.name") && is_qname("é"));
        for bad in ["", "a&b", "a\"b", "1a", "a:b:c", ":a", "a:", "a b"] {
            assert!(!is_qname(bad), "{bad:?}");
        }
    }
}
