//! The `[[addressbook]]` tables: which sources a book merges and who may read it.

use cardbridge_connectors::ldap::normalize_dn;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookConfig {
    pub id: String,
    /// `DAV:displayname`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub sources: Vec<String>,
    /// User names allowed to read; `"*"` means every user, `"group:<DN>"` the members of a
    /// directory group (LDAP login). Ignored in anonymous mode.
    #[serde(default = "default_readers")]
    pub readers: Vec<String>,
}

fn default_readers() -> Vec<String> {
    vec!["*".into()]
}

impl BookConfig {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// Whether `user`, a member of the directory `groups` (normalized DNs), may read the book.
    pub fn readable_by(&self, user: &str, groups: &[String]) -> bool {
        self.readers.iter().any(|r| r == "*") || names_match(&self.readers, user, groups)
    }

    /// The directory groups named in `readers`.
    pub fn reader_groups(&self) -> impl Iterator<Item = &str> {
        self.readers
            .iter()
            .filter_map(|r| r.strip_prefix(GROUP_PREFIX))
    }
}

/// Whether `entries` (user names and `group:<DN>`s, as in `readers` and `[auth] admins`) name
/// `user` or one of their directory `groups` (normalized DNs).
pub(super) fn names_match(entries: &[String], user: &str, groups: &[String]) -> bool {
    entries.iter().any(|e| {
        e == user
            || e.strip_prefix(GROUP_PREFIX)
                .is_some_and(|dn| groups.contains(&normalize_dn(dn)))
    })
}

/// `readers` entries naming a directory group.
pub const GROUP_PREFIX: &str = "group:";
