//! Distinguished names as RFC 4514 writes them: `CN=Doe\, Jane,OU=Staff,DC=example,DC=com`.
//!
//! A DN is compared in a normalized form (so `uid=JDoe, ou=People` and `UID=jdoe,ou=people`
//! are one entry) and shown by the value of its first RDN, unescaped and in its own case.
//! Splitting on every `,` would cut `CN=Doe\, Jane` in two; this module splits only on
//! unescaped separators and never panics on whatever the directory sends.

/// One attribute-value assertion of an RDN: the type as written and the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ava {
    kind: String,
    value: String,
}

/// Splits `text` at every unescaped `separator` (a backslash escapes the next character).
fn split_unescaped(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == separator {
            parts.push(text.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

/// An attribute value with its RFC 4514 escapes undone: `\,` → `,`, `\2C` → `,`, and
/// hex-escaped UTF-8 bytes (`\C3\A9` → `é`); a stray backslash stays as written. Surrounding
/// unescaped spaces are not part of the value.
pub fn unescape_value(value: &str) -> String {
    let value = trim_unescaped(value);
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'\\' {
            bytes.push(first);
            rest = tail;
            continue;
        }
        // Exactly two hex digits: `u8::from_str_radix` alone would also take `+a` as 10.
        let hex = tail
            .get(..2)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (hex, tail.split_first()) {
            (Some(byte), _) => {
                bytes.push(byte);
                rest = tail.get(2..).unwrap_or_default();
            }
            (None, Some((&next, after))) => {
                bytes.push(next);
                rest = after;
            }
            (None, None) => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `value` without surrounding spaces, except an escaped trailing one (`a\ `). Only the
/// space is insignificant (RFC 4514); a tab or newline that `\09`/`\0A` put there is kept.
fn trim_unescaped(value: &str) -> &str {
    let value = value.trim_start_matches(' ');
    let mut bytes = value.as_bytes();
    while let Some((&b' ', rest)) = bytes.split_last() {
        let backslashes = rest.iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 1 {
            break;
        }
        bytes = rest;
    }
    // Only ASCII spaces were cut, so the length is a character boundary.
    value.get(..bytes.len()).unwrap_or(value)
}

/// Escapes what RFC 4514 requires, so a normalized DN is still a DN.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `kind` (spaces around it aside) can name an attribute: a name (`cn`, `msDS-x`) or
/// an OID (`2.5.4.3`). Anything else before an `=` is part of a malformed RDN's value.
fn is_attribute_type(kind: &str) -> bool {
    let kind = kind.trim();
    !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ';')
}

/// The RDNs of `dn`, each a list of its AVAs; an RDN without `=` is one AVA of empty type.
fn parse(dn: &str) -> Vec<Vec<Ava>> {
    split_unescaped(dn, ',')
        .into_iter()
        .map(|rdn| {
            split_unescaped(rdn, '+')
                .into_iter()
                .map(|ava| match split_unescaped(ava, '=').split_first() {
                    Some((kind, value)) if !value.is_empty() && is_attribute_type(kind) => Ava {
                        kind: kind.trim().to_string(),
                        value: unescape_value(ava.get(kind.len() + 1..).unwrap_or_default()),
                    },
                    _ => Ava {
                        kind: String::new(),
                        value: unescape_value(ava),
                    },
                })
                .collect()
        })
        .collect()
}

/// A DN in a form that compares equal however the server or an admin spelled it: case,
/// spaces around separators, `\,` or `\2C`, the order of a multi-valued RDN's parts.
pub fn normalize_dn(dn: &str) -> String {
    plain_normalized(dn).unwrap_or_else(|| parsed_normalized(dn))
}

/// The normalized form of a DN as directories mostly send them (`uid=user1,ou=people,dc=x`:
/// ASCII, one `type=value` per RDN, nothing to unescape, trim, escape or sort), which is
/// the DN lowercased; `None` for any other DN. Every entry of a listing has its DN
/// normalized, and parsing it into parts cost more than the rest of its DN handling.
fn plain_normalized(dn: &str) -> Option<String> {
    if !dn.is_ascii() {
        return None;
    }
    for rdn in dn.split(',') {
        let (kind, value) = rdn.split_once('=')?;
        let plain_kind = !kind.is_empty()
            && kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b';'));
        let plain_value = !value.is_empty()
            && !value.starts_with(['#', ' '])
            && !value.ends_with(' ')
            && !value.contains(['\\', '+', '"', '<', '>', ';', '=']);
        if !(plain_kind && plain_value) {
            return None;
        }
    }
    Some(dn.to_ascii_lowercase())
}

/// [`normalize_dn`] of any DN: parsed into RDNs and their parts.
fn parsed_normalized(dn: &str) -> String {
    parse(dn)
        .into_iter()
        .map(|rdn| {
            let mut avas: Vec<String> = rdn
                .into_iter()
                .map(|ava| {
                    let value = escape_value(&ava.value.to_lowercase());
                    if ava.kind.is_empty() {
                        value
                    } else {
                        format!("{}={value}", ava.kind.to_lowercase())
                    }
                })
                .collect();
            avas.sort();
            avas.join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The value of a DN's first RDN, unescaped and in its own case (`CN=Doe\, Jane,OU=Staff` →
/// `Doe, Jane`): the name shown for an entry nothing better is known about.
pub fn first_rdn_value(dn: &str) -> String {
    parse(dn)
        .into_iter()
        .next()
        .and_then(|rdn| rdn.into_iter().next())
        .map(|ava| ava.value)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| dn.trim().to_string())
}

/// The DN of the entry above `dn` (`ou=Staff,dc=example` for `cn=a\, b,ou=Staff,dc=example`),
/// empty for a DN of one RDN.
pub fn parent_dn(dn: &str) -> &str {
    let first = split_unescaped(dn, ',').first().map_or(0, |rdn| rdn.len());
    dn.get(first + 1..).unwrap_or_default().trim_start()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_commas_stay_inside_the_value() {
        assert_eq!(
            first_rdn_value("CN=Doe\\, Jane,OU=Staff,DC=example,DC=com"),
            "Doe, Jane"
        );
        assert_eq!(first_rdn_value("CN=Doe\\2C Jane,OU=Staff"), "Doe, Jane");
        assert_eq!(first_rdn_value("cn=Ren\\C3\\A9e Roy,o=x"), "Renée Roy");
        assert_eq!(
            first_rdn_value("CN=Disabled User 0,OU=Staff"),
            "Disabled User 0"
        );
        assert_eq!(first_rdn_value("uid=jdoe,ou=people"), "jdoe");
        assert_eq!(first_rdn_value("not a dn"), "not a dn");
        assert_eq!(first_rdn_value("cn= padded\\  ,o=x"), "padded ");
        // Only two hex digits make a hex escape: `\+a` is an escaped plus, then `a`.
        assert_eq!(first_rdn_value("cn=\\+a,o=x"), "+a");
        assert_eq!(first_rdn_value("cn=\\-1,o=x"), "-1");
    }

    #[test]
    fn parents_skip_escaped_commas() {
        assert_eq!(parent_dn("CN=Doe\\, Jane,OU=Staff,DC=x"), "OU=Staff,DC=x");
        assert_eq!(parent_dn("dc=com"), "");
        assert_eq!(parent_dn(""), "");
    }

    #[test]
    fn spellings_of_one_dn_normalize_alike() {
        assert_eq!(
            normalize_dn("UID=JDoe, ou=People,dc=Example, dc=com"),
            "uid=jdoe,ou=people,dc=example,dc=com"
        );
        assert_eq!(
            normalize_dn("CN=Doe\\, Jane,OU=Staff"),
            normalize_dn("cn=doe\\2c jane, ou=staff")
        );
        assert_eq!(
            normalize_dn("CN=Doe\\, Jane,OU=Staff"),
            "cn=doe\\, jane,ou=staff"
        );
        assert_eq!(
            normalize_dn("cn=a+uid=b,o=x"),
            normalize_dn("UID=B + CN=A,o=x")
        );
        assert_ne!(normalize_dn("cn=a\\,b,o=x"), normalize_dn("cn=a,b=,o=x"));
    }

    proptest::proptest! {
        /// The shortcut for plain DNs says what parsing says, on RDNs sprinkled with the
        /// characters that make a DN not plain.
        #[test]
        fn plain_dns_normalize_as_parsed(
            dn in "([a-zA-Z0-9;. -]{0,3}=[a-zA-Z0-9 #;<>\\\\\"=+.-]{0,5},){0,3}[a-zA-Z0-9;.-]{1,3}=[a-zA-Z0-9 #.-]{1,5}"
        ) {
            if let Some(plain) = plain_normalized(&dn) {
                proptest::prop_assert_eq!(plain, parsed_normalized(&dn));
            }
        }
    }

    #[test]
    fn plain_dns_take_the_shortcut() {
        let dn = "uid=User1,ou=people,dc=Example,dc=com";
        assert_eq!(
            plain_normalized(dn).as_deref(),
            Some("uid=user1,ou=people,dc=example,dc=com")
        );
        for not_plain in [
            "cn=Doe\\, Jane,o=x",
            "cn=a+uid=b,o=x",
            "uid=a, o=x",
            "cn=Renée,o=x",
        ] {
            assert_eq!(plain_normalized(not_plain), None, "{not_plain}");
        }
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        for dn in [
            "smtp:=\\+a",
            "smtp:\\ =#",
            "cn=\\0A,o=x",
            "cn=\\09x \\ ,o=x",
            "cn=\\2B\\2b",
        ] {
            let once = normalize_dn(dn);
            assert_eq!(normalize_dn(&once), once, "{dn}");
        }
        // `smtp:` names no attribute, so all of it is one value; its `=` gets escaped.
        assert_eq!(normalize_dn("smtp:=\\+a"), "smtp:\\=\\+a");
        assert_eq!(normalize_dn("cn=\\+a"), "cn=\\+a");
    }
}
