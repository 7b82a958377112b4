//! The `[[source]] kind = "csv"` settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CsvFormat {
    /// Detect Google or Outlook from the header row.
    #[default]
    Auto,
    Google,
    /// Outlook.com and Outlook desktop exports.
    Outlook,
    /// Columns described by `columns`.
    Mapped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CsvEncoding {
    /// A BOM wins (UTF-8, UTF-16 LE/BE); UTF-8 with no more invalid sequences than valid
    /// non-ASCII characters → UTF-8 (bad bytes replaced and reported); otherwise Windows-1252
    /// (Outlook desktop).
    #[default]
    Auto,
    /// UTF-8 as `Auto` decides it, but a file that is mostly not UTF-8 fails the poll.
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252 unless the file starts with a BOM.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSettings {
    pub path: PathBuf,
    #[serde(default)]
    pub format: CsvFormat,
    #[serde(default)]
    pub encoding: CsvEncoding,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Column holding a stable id; otherwise uids are hashes of identifying fields.
    #[serde(default)]
    pub key_column: Option<String>,
    /// ISO 3166 region for national-format phone numbers.
    #[serde(default)]
    pub default_region: Option<String>,
    #[serde(default = "default_separator")]
    pub multi_value_separator: String,
    /// Publish one group card per category (Google labels, Outlook categories), so phones
    /// show them as groups.
    #[serde(default)]
    pub groups_from_categories: bool,
    /// `mapped` format: column header → field spec.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

fn default_delimiter() -> char {
    ','
}

fn default_separator() -> String {
    " ::: ".into()
}

impl CsvSettings {
    /// Checks what can be checked without reading the file.
    pub fn validate(&self) -> Result<(), String> {
        self.mapped_columns().map(drop)
    }

    /// The `[source.columns]` of a mapped file, parsed, once every setting has been checked.
    pub(super) fn mapped_columns(&self) -> Result<Vec<(String, super::mapped::Field)>, String> {
        if self.multi_value_separator.is_empty() {
            return Err("multi_value_separator: must not be empty".into());
        }
        if !self.delimiter.is_ascii() {
            return Err(format!(
                "delimiter: {:?} must be one ASCII character",
                self.delimiter
            ));
        }
        crate::phone::check_region(self.default_region.as_deref())?;
        let columns = self
            .columns
            .iter()
            .map(|(column, spec)| {
                super::mapped::parse_field(spec)
                    .map(|f| (column.clone(), f))
                    .map_err(|e| format!("columns.{column:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        match (self.format, columns.is_empty()) {
            (CsvFormat::Mapped, true) => {
                return Err("format = \"mapped\" needs a [source.columns] table".into())
            }
            (CsvFormat::Google | CsvFormat::Outlook | CsvFormat::Auto, false) => {
                return Err("columns: only used with format = \"mapped\"".into())
            }
            _ => {}
        }
        Ok(columns)
    }
}
