//! CSV files as a contact source: Google and Outlook exports, or any CSV with a column
//! mapping. The whole file is re-read when it changes; a file that cannot be read or decoded
//! fails the poll (clients keep the previous data), a bad row is skipped and reported.

mod damage;
mod decode;
mod fields;
mod google;
mod in_order;
mod mapped;
mod outlook;
mod read;
mod row;
mod settings;

use std::collections::HashMap;

use xxhash_rust::xxh3::{Xxh3, Xxh3DefaultBuilder};

use crate::{Cancel, Collected, Contact, Intake, PollOutcome, SkippedRecord, Source, SourceError};
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

/// Rows read before they are converted together (half on a second thread): enough that
/// starting the thread costs little per row, few enough to hold little (about 4 MB).
const CHUNK: usize = 2048;

/// A row as read. What reading alone decides (a row that cannot be parsed, or has too many
/// fields) keeps its place among the rows, so reports stay in row order.
enum Read {
    Skipped(SkippedRecord),
    Row {
        line: u64,
        record: csv::StringRecord,
    },
}

/// One row converted: its contact, with its uid or why it gets none, and the fields left out.
struct Converted {
    contact: Contact,
    warnings: row::FieldWarnings,
    uid: Result<(), NoUid>,
}

/// What taking rows in order keeps between chunks.
struct Taken<'a> {
    path: &'a str,
    intake: &'a Intake,
    outcome: PollOutcome,
    /// The line of each uid taken, for reporting duplicates. xxh3, not SipHash: a directory
    /// export has one uid per row.
    first_line: HashMap<String, u64, Xxh3DefaultBuilder>,
    groups: Option<Groups>,
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

    /// Parses file contents (already read) into a listing, its contacts kept.
    pub fn parse(&self, bytes: &[u8]) -> Result<Collected, SourceError> {
        Collected::of(|intake| self.parse_until(bytes.to_vec(), &Cancel::default(), intake))
    }

    /// Parses file contents, handing each contact to `intake` as its row is read; ends early
    /// (an error) once `cancel` is set: checked before decoding and before each row.
    fn parse_until(
        &self,
        bytes: Vec<u8>,
        cancel: &Cancel,
        intake: &Intake,
    ) -> Result<PollOutcome, SourceError> {
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
        let mut damage = Damage::new(text, &decoded.replaced, reader.position().byte());
        let mut taken = Taken {
            path: &path,
            intake,
            outcome: PollOutcome::default(),
            first_line: HashMap::default(),
            groups: self.settings.groups_from_categories.then(Groups::default),
        };
        let convert = |record: &&csv::StringRecord| self.convert(format, &header, record, &opts);
        let mut rows: Vec<Read> = Vec::with_capacity(CHUNK);
        let mut record = csv::StringRecord::new();
        // Start (byte, line) and field count of the last row, and whether an earlier row was
        // short too, to tell a cut-off file.
        let mut last_row: Option<(u64, u64, usize)> = None;
        let mut short_rows = false;
        loop {
            cancel.check()?;
            if rows.len() >= CHUNK {
                self.take_rows(&mut rows, &convert, &mut taken);
            }
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
                    rows.push(Read::Skipped(SkippedRecord {
                        location: format!("{path}:{line}"),
                        reason: e.to_string(),
                    }));
                    continue;
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            let row = Row {
                header: &header,
                record: &record,
            };
            if row.is_blank() {
                continue;
            }
            if record.len() > header.names.len() {
                rows.push(Read::Skipped(SkippedRecord {
                    location: format!("{path}:{line}"),
                    reason: format!(
                        "{} fields, but the header has {}",
                        record.len(),
                        header.names.len()
                    ),
                }));
                continue;
            }
            rows.push(Read::Row {
                line,
                record: std::mem::take(&mut record),
            });
        }
        self.take_rows(&mut rows, &convert, &mut taken);
        if let Some((byte, line, fields)) = last_row {
            let short_last_row = fields < header.names.len() && !short_rows;
            self.check_complete(text, byte, short_last_row.then_some(fields))
                .map_err(|reason| bad_data(&format!("{path}:{line}"), reason))?;
        }
        let mut outcome = taken.outcome;
        outcome.notices = damage.report(&path, &decoded.encoding);
        for group in taken.groups.map(Groups::cards).unwrap_or_default() {
            intake.take(group.into());
        }
        Ok(outcome)
    }

    /// A row as a contact with its uid (or why it gets none), and the fields left out of it.
    fn convert(
        &self,
        format: CsvFormat,
        header: &Header,
        record: &csv::StringRecord,
        opts: &Options,
    ) -> Converted {
        let row = Row { header, record };
        let (mut contact, warnings) = match format {
            CsvFormat::Google => google::contact(&row, opts),
            CsvFormat::Outlook => outlook::contact(&row, opts),
            CsvFormat::Mapped | CsvFormat::Auto => mapped::contact(&row, &self.columns, opts),
        };
        let uid = self.assign_uid(&row, &mut contact);
        contact.shrink_to_fit();
        Converted {
            contact,
            warnings,
            uid,
        }
    }

    /// Converts the rows read so far (on two threads, see `in_order`), then takes them in row
    /// order; `rows` is left empty.
    fn take_rows(
        &self,
        rows: &mut Vec<Read>,
        convert: &(impl Fn(&&csv::StringRecord) -> Converted + Sync),
        taken: &mut Taken,
    ) {
        let records: Vec<&csv::StringRecord> = rows
            .iter()
            .filter_map(|read| match read {
                Read::Row { record, .. } => Some(record),
                Read::Skipped(_) => None,
            })
            .collect();
        let mut converted = in_order::map(&records, convert).into_iter();
        for read in rows.drain(..) {
            match (read, &mut converted) {
                (Read::Skipped(skipped), _) => taken.outcome.skipped.push(skipped),
                (Read::Row { line, .. }, converted) => {
                    if let Some(row) = converted.next() {
                        self.take_row(line, row, taken);
                    }
                }
            }
        }
    }

    /// Hands a converted row's contact to the intake, or reports why it is left out (no uid, a
    /// uid an earlier row has); reports the fields left out of it either way.
    fn take_row(&self, line: u64, row: Converted, taken: &mut Taken) {
        let location = format!("{}:{line}", taken.path);
        for warning in row.warnings {
            taken.outcome.skipped.push(SkippedRecord {
                location: location.clone(),
                reason: format!("field left out: {warning}"),
            });
        }
        let contact = row.contact;
        if let Err(e) = row.uid {
            taken.outcome.skipped.push(SkippedRecord {
                location,
                reason: e.to_string(),
            });
            return;
        }
        if let Some(first) = taken.first_line.get(&contact.uid) {
            let reason = match &self.settings.key_column {
                Some(key) => format!("duplicate {key:?} {:?}: same as line {first}", contact.uid),
                None => format!(
                    "duplicate of line {first} (same name, organization and first email/phone)"
                ),
            };
            taken
                .outcome
                .skipped
                .push(SkippedRecord { location, reason });
            return;
        }
        taken.first_line.insert(contact.uid.clone(), line);
        if let Some(groups) = &mut taken.groups {
            groups.add(&contact);
        }
        taken.intake.take(contact.into());
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

/// The categories of the contacts read so far, each with the uids of its members, keyed by
/// the lowercased name (the first spelling seen names the group).
#[derive(Default)]
struct Groups(std::collections::BTreeMap<String, (String, Vec<String>)>);

impl Groups {
    fn add(&mut self, contact: &Contact) {
        for category in &contact.categories {
            let entry = self
                .0
                .entry(category.to_lowercase())
                .or_insert_with(|| (category.clone(), Vec::new()));
            entry.1.push(contact.uid.clone());
        }
    }

    /// One group card per category, listing the uids of its members. The group's uid derives
    /// from the category name, so it stays the same whatever else changes.
    fn cards(self) -> Vec<Contact> {
        self.0
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
}

#[async_trait::async_trait]
impl Source for CsvSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn poll(&self, cancel: &Cancel, intake: &Intake) -> Result<PollOutcome, SourceError> {
        let this = CsvSource {
            id: self.id.clone(),
            settings: self.settings.clone(),
            columns: self.columns.clone(),
        };
        let stop = cancel.clone();
        let intake = intake.clone();
        cancel
            .spawn_blocking(move || {
                let bytes = read::settled(&this.settings.path, REREAD_PAUSE, crate::regular::read)?;
                this.parse_until(bytes, &stop, &intake)
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
