//! Paged searches (RFC 2696) and the entries they return.
//!
//! Directories cap how many entries one search may return (AD: 1,000; OpenLDAP: `sizelimit`);
//! paging is the only way past the cap, so every listing pages.

use std::collections::HashMap;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, Scope, SearchEntry};

/// One directory entry, attribute names lower-cased, every value as bytes (text values are
/// UTF-8; binary ones such as photos and objectGUID are not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    pub fn from_search(entry: SearchEntry) -> Entry {
        let mut attrs: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for (name, values) in entry.attrs {
            attrs
                .entry(name.to_ascii_lowercase())
                .or_default()
                .extend(values.into_iter().map(String::into_bytes));
        }
        for (name, values) in entry.bin_attrs {
            attrs
                .entry(name.to_ascii_lowercase())
                .or_default()
                .extend(values);
        }
        Entry {
            dn: entry.dn,
            attrs,
        }
    }

    /// Raw values of an attribute (name compared case-insensitively).
    pub fn raw(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
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

/// Runs a paged search to the end. Any error — including a size or time limit hit before the
/// last page — fails the whole search: a partial listing would look like deletions.
pub async fn search_all(ldap: &mut Ldap, query: &Query<'_>) -> Result<Vec<Entry>, String> {
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
        .map_err(|e| format!("search under {:?}: {e}", query.base))?;
    let mut entries = Vec::new();
    loop {
        let next = stream
            .next()
            .await
            .map_err(|e| format!("search under {:?}: {e}", query.base))?;
        let Some(raw) = next else { break };
        // ldap3 panics on a malformed entry; a broken server must not take the process down.
        match std::panic::catch_unwind(|| SearchEntry::construct(raw)) {
            Ok(entry) => entries.push(Entry::from_search(entry)),
            Err(_) => return Err(format!("search under {:?}: malformed entry", query.base)),
        }
    }
    let result = stream.finish().await;
    match result.rc {
        0 => Ok(entries),
        // noSuchObject: the base is gone, which is an error, not an empty directory.
        rc => Err(format!(
            "search under {:?} with {:?} ended with result code {rc}{}: {}",
            query.base,
            query.filter,
            match rc {
                3 => " (time limit)",
                4 => " (size limit: the server did not honour paging)",
                32 => " (no such base DN)",
                50 => " (insufficient access)",
                _ => "",
            },
            result.text
        )),
    }
}
