//! CSV files as a contact source: Google and Outlook exports, or any CSV with a column
//! mapping. The whole file is re-read when it changes; a file that cannot be read or decoded
//! fails the poll (clients keep the previous data), a bad row is skipped and reported.

mod damage;
mod decode;
mod fields;
mod google;
mod mapped;
mod outlook;
mod read;
mod row;
mod settings;

use std::collections::HashMap;

use xxhash_rust::xxh3::{Xxh3, Xxh3DefaultBuilder};

use crate::{Cancel, Contact, PollOutcome, SkippedRecord, Source, SourceError};
use damage::Damage;
use mapped::Field;
use row::{Header, Row};
pub use settings::{CsvEncoding, CsvFormat, CsvSettings};

/// Per-row conversion options shared by the formats.
#[derive(Debug)]
pub(crate) struct Options {
    pub separator: String,
    pub region: Option<String>,
}

/// A file cut off while it was written: the poll fails as bad data at its last row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Incomplete {
    #[error(
        "the file ends inside a quoted cell: it is incomplete (still being written, or cut \
         short); keeping the previous contacts"
    )]
    OpenQuote,
    #[error(
        "the file ends in the middle of a row ({fields} fields, fewer than the header, no line \
         end): it is incomplete (still being written, or cut short); keeping the previous \
         contacts"
    )]
    ShortLastRow { fields: usize },
}

/// Why a row gets no uid: it is skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NoUid {
    #[error("no name, organization, email or phone")]
    NothingIdentifying,
    #[error("key column {0:?} is empty")]
    EmptyKey(String),
}

/// Wait before reading a file again that changed while it was read: long enough for an
/// exporter to finish a typical file, short enough that the poll is not noticeably late.
const REREAD_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

pub struct CsvSource {
    id: String,
    settings: CsvSettings,
    columns: Vec<(String, Field)>,
}

impl CsvSource {
    /// Validates the settings; the error is a message for the config file's reader.
    pub fn new(id: String, settings: CsvSettings) -> Result<CsvSource, String> {
        let columns = settings.mapped_columns()?;
        Ok(CsvSource {
            id,
            settings,
            columns,
        })
    }

    /// Parses file contents (already read) into a listing.
    pub fn parse(&self, bytes: &[u8]) -> Result<PollOutcome, SourceError> {
        self.parse_until(bytes.to_vec(), &Cancel::default())
    }

    /// [`CsvSource::parse`], ending early (an error) once `cancel` is set: checked before
    /// decoding and before each row.
    fn parse_until(&self, bytes: Vec<u8>, cancel: &Cancel) -> Result<PollOutcome, SourceError> {
        cancel.check()?;
        let path = self.settings.path.display().to_string();
        let decoded = decode::decode_owned(bytes, self.settings.encoding)
            .map_err(|e| bad_data(&path, format!("cannot decode: {e}")))?;
        let text = &decoded.text;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.settings.delimiter as u8)
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header_record = reader.headers().map_err(|e| bad_data(&path, e))?;
        let header = Header::new(header_record.iter().map(|h| h.trim().to_string()).collect());
        if header.names.iter().all(String::is_empty) {
            return Err(bad_data(&path, "the file has no header row"));
        }
        let format = self.resolve_format(&header, &path)?;
        let opts = Options {
            separator: self.settings.multi_value_separator.clone(),
            region: self.settings.default_region.clone(),
        };
        let mut outcome = PollOutcome::default();
        let mut damage = Damage::new(text, &decoded.replaced, reader.position().byte());
        // xxh3, not SipHash: a directory export has one uid per row.
        let mut first_line: HashMap<String, u64, Xxh3DefaultBuilder> = HashMap::default();
        let mut record = csv::StringRecord::new();
        // Start (byte, line) and field count of the last row, and whether an earlier row was
        // short too, to tell a cut-off file.
        let mut last_row: Option<(u64, u64, usize)> = None;
        let mut short_rows = false;
        loop {
            cancel.check()?;
            let line = reader.position().line() + 1;
            match reader.read_record(&mut record) {
                Ok(true) => {
                    short_rows |= last_row.is_some_and(|(_, _, n)| n < header.names.len());
                    last_row = record
                        .position()
                        .map(|p| (p.byte(), p.line(), record.len()));
                    damage.record(&header, &record, reader.position().byte());
                }
                Ok(false) => break,
                Err(e) => {
                    outcome.skipped.push(SkippedRecord {
                        location: format!("{path}:{line}"),
                        reason: e.to_string(),
                    });
                    continue;
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            let location = format!("{path}:{line}");
            let row = Row {
                header: &header,
                record: &record,
            };
            if row.is_blank() {
                continue;
            }
            if record.len() > header.names.len() {
                outcome.skipped.push(SkippedRecord {
                    location,
                    reason: format!(
                        "{} fields, but the header has {}",
                        record.len(),
                        header.names.len()
                    ),
                });
                continue;
            }
            let (mut contact, warnings) = match format {
                CsvFormat::Google => google::contact(&row, &opts),
                CsvFormat::Outlook => outlook::contact(&row, &opts),
                CsvFormat::Mapped | CsvFormat::Auto => mapped::contact(&row, &self.columns, &opts),
            };
            for warning in warnings {
                outcome.skipped.push(SkippedRecord {
                    location: location.clone(),
                    reason: format!("field left out: {warning}"),
                });
            }
            match self.assign_uid(&row, &mut contact) {
                Ok(()) => {}
                Err(e) => {
                    outcome.skipped.push(SkippedRecord {
                        location,
                        reason: e.to_string(),
                    });
                    continue;
                }
            }
            if let Some(first) = first_line.get(&contact.uid) {
                let reason = match &self.settings.key_column {
                    Some(key) => {
                        format!("duplicate {key:?} {:?}: same as line {first}", contact.uid)
                    }
                    None => format!(
                        "duplicate of line {first} (same name, organization and first email/phone)"
                    ),
                };
                outcome.skipped.push(SkippedRecord { location, reason });
                continue;
            }
            first_line.insert(contact.uid.clone(), line);
            contact.shrink_to_fit();
            outcome.contacts.push(contact.into());
        }
        if let Some((byte, line, fields)) = last_row {
            let short_last_row = fields < header.names.len() && !short_rows;
            self.check_complete(text, byte, short_last_row.then_some(fields))
                .map_err(|reason| bad_data(&format!("{path}:{line}"), reason))?;
        }
        outcome.notices = damage.report(&path, &decoded.encoding);
        if self.settings.groups_from_categories {
            let groups = group_cards(outcome.contacts.iter().map(|c| &**c));
            outcome.contacts.extend(groups.into_iter().map(Into::into));
        }
        Ok(outcome)
    }

    /// A file cut off while being written ends inside a quoted cell, or in a short row with no
    /// line end; publishing it would delete every card past the cut, so the poll fails.
    /// `short_fields` is the last row's field count when it is short in a file whose other
    /// rows are all complete (a file of short rows ends in one legitimately).
    fn check_complete(
        &self,
        text: &str,
        last_row_start: u64,
        short_fields: Option<usize>,
    ) -> Result<(), Incomplete> {
        let tail = usize::try_from(last_row_start)
            .ok()
            .and_then(|start| text.get(start..))
            .unwrap_or_default();
        if read::ends_in_open_quote(tail, self.settings.delimiter as u8) {
            return Err(Incomplete::OpenQuote);
        }
        if let Some(fields) = short_fields.filter(|_| !text.ends_with(['\n', '\r'])) {
            return Err(Incomplete::ShortLastRow { fields });
        }
        Ok(())
    }

    fn resolve_format(&self, header: &Header, path: &str) -> Result<CsvFormat, SourceError> {
        let format = match self.settings.format {
            CsvFormat::Auto if google::looks_like(header) => CsvFormat::Google,
            CsvFormat::Auto if outlook::looks_like(header) => CsvFormat::Outlook,
            CsvFormat::Auto => {
                return Err(bad_data(
                    path,
                    "the header is neither a Google nor an Outlook export; set format = \
                     \"mapped\" and describe the columns",
                ))
            }
            other => other,
        };
        let mut needed: Vec<&str> = self.columns.iter().map(|(c, _)| c.as_str()).collect();
        needed.extend(self.settings.key_column.as_deref());
        for column in needed {
            if !header.has(column) {
                return Err(bad_data(
                    path,
                    format!("configured column {column:?} is not in the header"),
                ));
            }
        }
        Ok(format)
    }

    /// The uid: the key column when configured, else a hash of identifying fields (never the
    /// row position, so re-sorting the file changes nothing).
    fn assign_uid(&self, row: &Row, contact: &mut Contact) -> Result<(), NoUid> {
        let identifying = [
            contact.formatted_name.as_str(),
            &contact.name.given.join(" "),
            &contact.name.family.join(" "),
            contact.organization.as_deref().unwrap_or(""),
            // The first email, or the first phone when there is no email: editing a phone
            // number must not turn a card into a new one.
            contact
                .emails
                .first()
                .map(|e| e.address.as_str())
                .or(contact.phones.first().map(|p| p.number.as_str()))
                .unwrap_or(""),
        ]
        .map(|s| s.trim().to_lowercase());
        if identifying.iter().all(String::is_empty) {
            return Err(NoUid::NothingIdentifying);
        }
        if let Some(key) = &self.settings.key_column {
            contact.uid = row
                .get(key)
                .ok_or_else(|| NoUid::EmptyKey(key.clone()))?
                .to_string();
            return Ok(());
        }
        if !contact.uid.is_empty() {
            return Ok(());
        }
        let mut hasher = Xxh3::new();
        for part in &identifying {
            hasher.update(part.as_bytes());
            hasher.update(&[0x1f]);
        }
        contact.uid = format!("{:032x}", hasher.digest128());
        Ok(())
    }
}

/// The file (or `file:line`) as a whole cannot be used.
fn bad_data(location: &str, message: impl std::fmt::Display) -> SourceError {
    SourceError::BadData {
        location: location.to_string(),
        message: message.to_string(),
    }
}

/// One group card per category, listing the uids of its members. The group's uid derives
/// from the category name, so it stays the same whatever else changes.
fn group_cards<'a>(contacts: impl IntoIterator<Item = &'a Contact>) -> Vec<Contact> {
    let mut groups: std::collections::BTreeMap<String, (String, Vec<String>)> = Default::default();
    for contact in contacts {
        for category in &contact.categories {
            let entry = groups
                .entry(category.to_lowercase())
                .or_insert_with(|| (category.clone(), Vec::new()));
            entry.1.push(contact.uid.clone());
        }
    }
    groups
        .into_iter()
        .map(|(key, (name, members))| Contact {
            uid: format!("group-{:032x}", xxhash_rust::xxh3::xxh3_128(key.as_bytes())),
            kind: crate::ContactKind::Group,
            formatted_name: name,
            members,
            ..Contact::default()
        })
        .collect()
}

#[async_trait::async_trait]
impl Source for CsvSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn poll(&self, cancel: &Cancel) -> Result<PollOutcome, SourceError> {
        let this = CsvSource {
            id: self.id.clone(),
            settings: self.settings.clone(),
            columns: self.columns.clone(),
        };
        let stop = cancel.clone();
        cancel
            .spawn_blocking(move || {
                let bytes = read::settled(&this.settings.path, REREAD_PAUSE, crate::regular::read)?;
                this.parse_until(bytes, &stop)
            })
            .await?
    }

    async fn fingerprint(&self) -> Option<String> {
        crate::regular::fingerprint(std::slice::from_ref(&self.settings.path))
    }

    async fn watch(&self, changes: &crate::Changes) -> crate::WatchEnd {
        crate::file_watch::watch(&self.settings.path, changes).await
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
