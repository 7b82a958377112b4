//! One CSV row with access by header name, and what reading it produced.

use std::collections::HashMap;

use xxhash_rust::xxh3::Xxh3DefaultBuilder;

/// Header name → column index (first occurrence wins). Hashed with xxh3, not SipHash: a
/// Google row looks up a hundred column names; SipHash (here and in the phone library's
/// pattern cache) was a fifth of the time of reading a file.
pub struct Header {
    index: HashMap<String, usize, Xxh3DefaultBuilder>,
    pub names: Vec<String>,
}

impl Header {
    pub fn new(names: Vec<String>) -> Header {
        let mut index = HashMap::default();
        for (i, name) in names.iter().enumerate() {
            index.entry(name.trim().to_string()).or_insert(i);
        }
        Header { index, names }
    }

    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

pub struct Row<'a> {
    pub header: &'a Header,
    pub record: &'a csv::StringRecord,
}

impl<'a> Row<'a> {
    /// The trimmed cell under `column`, `None` when absent or blank.
    pub fn get(&self, column: &str) -> Option<&'a str> {
        let i = *self.header.index.get(column)?;
        let value = self.record.get(i)?.trim();
        (!value.is_empty()).then_some(value)
    }

    /// The cell as a one-element list (empty when blank), for name components.
    pub fn list(&self, column: &str) -> Vec<String> {
        self.get(column)
            .map(|v| vec![v.to_string()])
            .unwrap_or_default()
    }

    pub fn is_blank(&self) -> bool {
        self.record.iter().all(|cell| cell.trim().is_empty())
    }
}

/// Problems with single fields of a row that still produced a contact.
pub type FieldWarnings = Vec<String>;
