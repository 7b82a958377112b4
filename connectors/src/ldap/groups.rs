//! Group entries: their member DNs, including AD's ranged retrieval.
//!
//! AD returns at most 1,500 values of `member` per read, as `member;range=0-1499`, and the
//! rest only when asked for `member;range=1500-*` and so on; a big group read naively loses
//! members.

use ldap3::{Ldap, Scope};

use super::search::{search_all, Entry, Query};

/// Attributes that list group members.
pub const MEMBER_ATTRIBUTES: [&str; 2] = ["member", "uniqueMember"];

/// The member DNs of `entry`, with ranged values fetched to the end.
pub async fn member_dns(ldap: &mut Ldap, entry: &Entry) -> Result<Vec<String>, String> {
    let mut dns: Vec<String> = MEMBER_ATTRIBUTES
        .iter()
        .flat_map(|a| entry.texts(a))
        .map(strip_unique_id)
        .collect();
    let mut ranged = ranged_values(entry);
    while let Some((values, next)) = ranged {
        dns.extend(values);
        let Some(start) = next else { break };
        let attrs = vec![format!("member;range={start}-*")];
        let query = Query {
            base: &entry.dn,
            scope: Scope::Base,
            filter: "(objectClass=*)",
            attrs: &attrs,
            page_size: 1,
        };
        let page = search_all(ldap, &query).await?;
        ranged = match page.first().and_then(ranged_values) {
            Some((values, next)) if next.is_none_or(|n| n > start) => Some((values, next)),
            Some(_) => return Err(format!("{}: member ranges do not advance", entry.dn)),
            None => {
                return Err(format!(
                    "{}: the server stopped returning member values at {start}",
                    entry.dn
                ))
            }
        };
    }
    Ok(dns)
}

/// Values of a `member;range=a-b` attribute and where the next range starts (`None` after the
/// last range, `a-*`).
fn ranged_values(entry: &Entry) -> Option<(Vec<String>, Option<u64>)> {
    let (name, values) = entry.attrs.iter().find(|(name, _)| {
        name.get(..13)
            .is_some_and(|p| p.eq_ignore_ascii_case("member;range="))
    })?;
    let range = &name[13..];
    let (_, end) = range.split_once('-')?;
    let next = match end {
        "*" => None,
        end => Some(end.parse::<u64>().ok()?.checked_add(1)?),
    };
    let values = values
        .iter()
        .filter_map(|v| std::str::from_utf8(v).ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    Some((values, next))
}

/// `uniqueMember` values may carry a `#'0101'B` unique-identifier suffix.
fn strip_unique_id(value: &str) -> String {
    match value.rsplit_once('#') {
        Some((dn, id)) if id.starts_with('\'') && id.ends_with("'B") => dn.to_string(),
        _ => value.to_string(),
    }
}

/// A DN in a form that compares equal however the server or an admin spelled it
/// (case, spaces around separators).
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("=")
                .to_lowercase()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The value of a DN's first RDN (`uid=jdoe,ou=people` → `jdoe`), shown when a manager is
/// outside the book.
pub fn first_rdn_value(dn: &str) -> &str {
    dn.split(',')
        .next()
        .and_then(|rdn| rdn.split_once('='))
        .map_or(dn, |(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, values: &[&str]) -> Entry {
        let mut e = Entry {
            dn: "cn=big,ou=groups".into(),
            ..Entry::default()
        };
        e.attrs.push((
            name.to_string(),
            values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        ));
        e
    }

    #[test]
    fn ranges_report_where_to_continue() {
        let first = entry("member;range=0-1499", &["cn=a", "cn=b"]);
        assert_eq!(
            ranged_values(&first),
            Some((vec!["cn=a".into(), "cn=b".into()], Some(1500)))
        );
        let last = entry("member;range=1500-*", &["cn=c"]);
        assert_eq!(ranged_values(&last), Some((vec!["cn=c".into()], None)));
        assert_eq!(ranged_values(&entry("member", &["cn=a"])), None);
        assert_eq!(ranged_values(&entry("member;range=0-x", &["cn=a"])), None);
    }

    #[test]
    fn dns_compare_normalized() {
        assert_eq!(
            normalize_dn("UID=JDoe, ou=People,dc=Example, dc=com"),
            "uid=jdoe,ou=people,dc=example,dc=com"
        );
        assert_eq!(strip_unique_id("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
        assert_eq!(strip_unique_id("cn=a#b,dc=x"), "cn=a#b,dc=x");
        assert_eq!(first_rdn_value("uid=jdoe,ou=people"), "jdoe");
    }
}
