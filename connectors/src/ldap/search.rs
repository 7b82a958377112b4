//! Paged searches (RFC 2696) and the entries they return.
//!
//! Directories cap how many entries one search may return (AD: 1,000; OpenLDAP: `sizelimit`);
//! paging is the only way past the cap, so every listing pages.

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::asn1::StructureTag;
use ldap3::{Ldap, Scope};

use crate::SourceError;

/// One directory entry, every value as bytes (text values are UTF-8; binary ones such as
/// photos and objectGUID are not). Entries carry a dozen attributes or so: a vector scanned
/// case-insensitively beats hashing names for every lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    /// Decodes a SearchResultEntry (RFC 4511 §4.5.2) straight from its BER structure; `None`
    /// when the server sent something else.
    pub fn from_ber(tag: StructureTag) -> Option<Entry> {
        let mut parts = tag.match_id(4)?.expect_constructed()?.into_iter();
        let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
        let attributes = parts.next()?.expect_constructed()?;
        let mut attrs = Vec::with_capacity(attributes.len());
        for attribute in attributes {
            let mut attribute = attribute.expect_constructed()?.into_iter();
            let name = String::from_utf8(attribute.next()?.expect_primitive()?).ok()?;
            let values = attribute
                .next()?
                .expect_constructed()?
                .into_iter()
                .map(StructureTag::expect_primitive)
                .collect::<Option<Vec<_>>>()?;
            attrs.push((name, values));
        }
        Some(Entry { dn, attrs })
    }

    /// Raw values of an attribute (name compared case-insensitively).
    pub fn raw(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Text values, trimmed, empty ones and invalid UTF-8 left out.
    pub fn texts(&self, name: &str) -> impl Iterator<Item = &str> {
        self.raw(name)
            .iter()
            .filter_map(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    pub fn first_text(&self, name: &str) -> Option<&str> {
        self.texts(name).next()
    }
}

/// What to search.
pub struct Query<'a> {
    pub base: &'a str,
    pub scope: Scope,
    pub filter: &'a str,
    pub attrs: &'a [String],
    pub page_size: i32,
}

/// Reads the entry at `dn` (a base-scope search, unpaged: one entry, and the root DSE
/// refuses paging on some servers). `None` when the server does not show it (no such entry,
/// no access, a referral elsewhere); an error only when the exchange itself failed.
pub async fn read_entry(
    ldap: &mut Ldap,
    dn: &str,
    attrs: &[String],
) -> Result<Option<Entry>, SourceError> {
    let result = ldap
        .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
        .await
        .map_err(|e| SourceError::Unreachable(format!("reading {dn:?}: {e}")))?;
    Ok(match result.1.rc {
        0 => result.0.into_iter().find_map(|raw| Entry::from_ber(raw.0)),
        _ => None,
    })
}

/// Runs a paged search to the end, collecting the entries.
pub async fn search_all(ldap: &mut Ldap, query: &Query<'_>) -> Result<Vec<Entry>, SourceError> {
    let mut entries = Vec::new();
    search_each(ldap, query, |batch| {
        entries.extend(batch);
        std::future::ready(true)
    })
    .await?;
    Ok(entries)
}

/// Runs a paged search to the end, handing entries to `sink` in batches of up to a page;
/// `sink` answers false to stop early (its consumer is gone). Any error — including a size or
/// time limit hit before the last page — fails the whole search: a partial listing would
/// look like deletions. A base that does not exist is [`SourceError::Config`].
pub async fn search_each<F, Fut>(
    ldap: &mut Ldap,
    query: &Query<'_>,
    mut sink: F,
) -> Result<(), SourceError>
where
    F: FnMut(Vec<Entry>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let page = usize::try_from(query.page_size.max(1)).unwrap_or(1);
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(query.page_size.max(1))),
    ];
    let mut stream = ldap
        .streaming_search_with(
            adapters,
            query.base,
            query.scope,
            query.filter,
            query.attrs.to_vec(),
        )
        .await
        .map_err(|e| SourceError::Unreachable(format!("search under {:?}: {e}", query.base)))?;
    // Room for a page, but not for whatever page size a config asks for.
    let room = page.min(10_000);
    let mut batch = Vec::with_capacity(room);
    loop {
        let next = stream
            .next()
            .await
            .map_err(|e| SourceError::Unreachable(format!("search under {:?}: {e}", query.base)))?;
        let Some(raw) = next else { break };
        match Entry::from_ber(raw.0) {
            Some(entry) => batch.push(entry),
            None => {
                return Err(SourceError::BadData {
                    location: format!("search under {:?}", query.base),
                    message: "malformed entry".into(),
                })
            }
        }
        // The consumer is gone only when the poll was given up. The next batch gets its
        // room at once (growing a page-sized batch from empty moved every entry 9 times).
        if batch.len() >= page {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(room));
            if !sink(full).await {
                return Err(SourceError::Cancelled);
            }
        }
    }
    if !batch.is_empty() && !sink(batch).await {
        return Err(SourceError::Cancelled);
    }
    let result = stream.finish().await;
    if result.rc == 0 {
        return Ok(());
    }
    let message = format!(
        "search under {:?} with {:?} ended with result code {}{}: {}",
        query.base,
        query.filter,
        result.rc,
        match result.rc {
            3 => " (time limit)",
            4 => " (size limit: the server did not honour paging)",
            32 => " (no such base DN)",
            50 => " (insufficient access)",
            _ => "",
        },
        result.text
    );
    Err(match result.rc {
        // noSuchObject: the base is gone, which is an error, not an empty directory.
        32 => SourceError::Config(message),
        48..=50 => SourceError::Refused(message),
        _ => SourceError::Unreachable(message),
    })
}
