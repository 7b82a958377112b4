//! Group entries: their member DNs, including AD's ranged retrieval, and the people of
//! nested groups.
//!
//! AD returns at most 1,500 values of `member` per read, as `member;range=0-1499`, and the
//! rest only when asked for `member;range=1500-*` and so on; a big group read naively loses
//! members.

use std::collections::HashSet;

use ldap3::{Ldap, Scope};

use super::mapping::strip_prefix_ignore_case;
use super::search::{search_all, Entry, Query};

/// Attributes that list group members.
pub const MEMBER_ATTRIBUTES: [&str; 2] = ["member", "uniqueMember"];

/// How many member links nesting is followed through: a person in a group inside a group is
/// two links from the outer group. Real directories nest a few levels; the bound keeps a
/// login's searches and a poll's work finite whatever the directory holds (cycles end
/// earlier: a group already seen is not entered again).
pub const MAX_NESTING: usize = 8;

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
        let page = search_all(ldap, &query).await.map_err(|e| e.to_string())?;
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
pub(super) fn ranged_values(entry: &Entry) -> Option<(Vec<String>, Option<u64>)> {
    let (range, values) = entry.attrs.iter().find_map(|(name, values)| {
        strip_prefix_ignore_case(name, "member;range=").map(|range| (range, values))
    })?;
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
pub(super) fn strip_unique_id(value: &str) -> String {
    match value.rsplit_once('#') {
        Some((dn, id)) if id.starts_with('\'') && id.ends_with("'B") => dn.to_string(),
        _ => value.to_string(),
    }
}

/// What a member DN stands for in the book.
pub enum Member<'a> {
    /// A person's card: its uid.
    Person(&'a str),
    /// A group's card: its uid and its member DNs.
    Group(&'a str, &'a [String]),
}

/// The uids of the people `group` (uid and member DNs) holds, directly or through nested
/// groups up to [`MAX_NESTING`] links away, each once and in the order met. Nested groups
/// are flattened rather than listed: clients show a group's members as people, and a group
/// card inside a group shows as an odd contact or not at all. Members `lookup` does not
/// know (outside the book) are left out.
pub fn flatten<'a>(
    group: (&'a str, &'a [String]),
    lookup: impl Fn(&str) -> Option<Member<'a>>,
) -> Vec<String> {
    let (uid, direct) = group;
    let mut groups_seen = HashSet::from([uid]);
    let mut people_seen = HashSet::new();
    let mut people = Vec::new();
    let mut level = vec![direct];
    for _ in 0..MAX_NESTING {
        let mut next = Vec::new();
        for dn in level.into_iter().flatten() {
            match lookup(dn.as_str()) {
                Some(Member::Person(person)) if people_seen.insert(person) => {
                    people.push(person.to_string());
                }
                Some(Member::Group(inner, members)) if groups_seen.insert(inner) => {
                    next.push(members);
                }
                _ => {}
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    people
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
    fn unique_ids_are_stripped() {
        assert_eq!(strip_unique_id("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
        assert_eq!(strip_unique_id("cn=a#b,dc=x"), "cn=a#b,dc=x");
    }

    /// Groups `g0` … `g<n>`, each holding person `p<i>` and the next group; the last holds
    /// `g0` again (a cycle).
    fn chain(n: usize) -> Vec<(String, Vec<String>)> {
        (0..=n)
            .map(|i| {
                let next = if i == n { 0 } else { i + 1 };
                (format!("g{i}"), vec![format!("p{i}"), format!("g{next}")])
            })
            .collect()
    }

    fn flatten_chain(groups: &[(String, Vec<String>)]) -> Vec<String> {
        let lookup = |dn: &str| match groups.iter().find(|(uid, _)| uid == dn) {
            Some((uid, members)) => Some(Member::Group(uid.as_str(), members.as_slice())),
            None => groups
                .iter()
                .flat_map(|(_, m)| m)
                .find(|m| *m == dn)
                .map(|m| Member::Person(m.as_str())),
        };
        flatten((groups[0].0.as_str(), groups[0].1.as_slice()), lookup)
    }

    #[test]
    fn nesting_is_flattened_through_cycles_up_to_the_bound() {
        let short = chain(2);
        assert_eq!(flatten_chain(&short), ["p0", "p1", "p2"]);
        let long = chain(MAX_NESTING + 3);
        let people = flatten_chain(&long);
        // p0 is one link away, p<i> i + 1 links.
        assert_eq!(people.len(), MAX_NESTING);
        assert_eq!(people.last(), Some(&format!("p{}", MAX_NESTING - 1)));
    }
}
