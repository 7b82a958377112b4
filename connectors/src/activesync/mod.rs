//! Exchange ActiveSync exports as a contact source: Sync responses of a Contacts folder and
//! GAL Search responses, as decoded EAS XML, raw WBXML or base64 WBXML (as server logs print
//! it), from one file or a folder of them.
//!
//! A folder is replayed in file-name order and each file's commands in document order, so a
//! later Change or Delete wins; name exports so that they sort chronologically (timestamps
//! or zero-padded counters). Every poll replays everything, so an edited old file gives the
//! same result as a fresh start.
//!
//! Each file is decoded completely before any of its commands is applied, and the source
//! remembers each file's last good decoding (by path, in memory). A file that stops reading
//! (cut short while an exporter rewrites it, damaged, unreadable) is reported with its byte
//! offset or element and replays its last good commands until it reads again, so its contacts
//! stay on phones; a file taken out of the folder takes its contacts with it. A damaged file
//! with nothing remembered (since the server started) is skipped and the others still load.
//! When no file can be used the poll fails, so clients keep the previous data.

mod codepages;
mod commands;
mod dates;
mod detect;
pub(crate) mod fields;
mod settings;
mod tree;
mod wbxml;
mod xml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Cancel, Contact, Intake, PollOutcome, SkippedRecord, Source, SourceError};
use commands::{Command, Parsed};
use detect::Format;
pub use settings::ActiveSyncSettings;
use tree::ParseError;

/// Why one file cannot be used; the text names the format taken and the byte offset.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    /// Empty, UTF-16, or none of the three formats.
    #[error("{0}")]
    Format(String),
    #[error("{}, byte {}: {}", format.describe(), error.offset, error.message)]
    Decode { format: Format, error: ParseError },
}

pub struct ActiveSyncSource {
    id: String,
    settings: ActiveSyncSettings,
    /// Each file's last good decoding, by path (see the module docs).
    last_good: Arc<Mutex<HashMap<PathBuf, Parsed>>>,
}

/// One listed item during a replay, with where its current version came from.
struct Slot {
    contact: Contact,
    location: String,
    warnings: Vec<String>,
}

/// The replay state: items in first-seen order; a deleted item leaves an empty slot.
#[derive(Default)]
struct Replay {
    slots: Vec<Option<Slot>>,
    index: HashMap<String, usize>,
}

impl Replay {
    /// Applies one file's commands; stops (an error) once `cancel` is set.
    fn apply(
        &mut self,
        file: &str,
        commands: Vec<Command>,
        cancel: &Cancel,
    ) -> Result<(), SourceError> {
        for command in commands {
            cancel.check()?;
            match command {
                Command::Upsert(record) => {
                    let slot = Slot {
                        location: format!("{file} ({})", record.origin),
                        warnings: record.warnings,
                        contact: record.contact,
                    };
                    match self.index.get(&slot.contact.uid).copied() {
                        Some(i) => {
                            if let Some(existing) = self.slots.get_mut(i) {
                                *existing = Some(slot);
                            }
                        }
                        None => {
                            self.index
                                .insert(slot.contact.uid.clone(), self.slots.len());
                            self.slots.push(Some(slot));
                        }
                    }
                }
                Command::Delete { uid } => {
                    if let Some(i) = self.index.remove(&uid) {
                        if let Some(existing) = self.slots.get_mut(i) {
                            *existing = None;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Hands the surviving contacts to `intake`, noting in `outcome` what is wrong with them;
    /// items with nothing to show (no name, organization, email or phone) are left out with a
    /// note.
    fn finish(self, outcome: &mut PollOutcome, intake: &Intake) {
        for slot in self.slots.into_iter().flatten() {
            for reason in slot.warnings {
                outcome.skipped.push(SkippedRecord {
                    location: slot.location.clone(),
                    reason,
                });
            }
            let c = &slot.contact;
            let anonymous = c.formatted_name.trim().is_empty()
                && c.name.is_empty()
                && c.organization.is_none()
                && c.emails.is_empty()
                && c.phones.is_empty();
            if anonymous {
                outcome.skipped.push(SkippedRecord {
                    location: slot.location,
                    reason: "no name, organization, email or phone".into(),
                });
            } else {
                let mut contact = slot.contact;
                contact.shrink_to_fit();
                intake.take(contact.into());
            }
        }
    }
}

impl ActiveSyncSource {
    /// Validates the settings; the error is a message for the config file's reader.
    pub fn new(id: String, settings: ActiveSyncSettings) -> Result<ActiveSyncSource, String> {
        settings.validate()?;
        Ok(ActiveSyncSource {
            id,
            settings,
            last_good: Arc::default(),
        })
    }

    fn options(&self) -> fields::Options {
        fields::Options {
            region: self.settings.default_region.clone(),
            photos: self.settings.photos.clone(),
        }
    }

    /// Decodes one file completely into its commands. The error says which format the file
    /// was taken for and names the byte offset (or the offending element and its offset).
    pub(crate) fn parse_file(bytes: &[u8], opts: &fields::Options) -> Result<Parsed, FileError> {
        let (format, bytes) = detect::detect(bytes).map_err(FileError::Format)?;
        let root = match format {
            Format::Xml => xml::decode(&bytes),
            Format::Wbxml | Format::Base64Wbxml => wbxml::decode(&bytes),
        };
        root.and_then(|root| commands::commands(&root, opts))
            .map_err(|error| FileError::Decode { format, error })
    }

    /// Replays the configured file or folder (blocking: call from a blocking thread), handing
    /// the contacts to `intake`. Ends early (an error) once `cancel` is set: checked before
    /// each file and each command.
    pub fn load(&self, cancel: &Cancel, intake: &Intake) -> Result<PollOutcome, SourceError> {
        let root = &self.settings.path;
        let files = list_files(root)?;
        let opts = self.options();
        let mut last_good = self
            .last_good
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        last_good.retain(|path, _| files.contains(path));
        let mut replay = Replay::default();
        let mut outcome = PollOutcome::default();
        let mut failures = Vec::new();
        for file in &files {
            cancel.check()?;
            let name = file.display().to_string();
            let parsed = crate::regular::read(file)
                .map_err(FileError::Read)
                .and_then(|bytes| Self::parse_file(&bytes, &opts))
                .map_err(|e| e.to_string());
            let (parsed, note) = match (parsed, last_good.get(file)) {
                (Ok(parsed), _) => {
                    last_good.insert(file.clone(), parsed.clone());
                    (parsed, None)
                }
                (Err(reason), Some(kept)) => {
                    let note = format!(
                        "{reason}; its last good contents stay published until it reads again"
                    );
                    (kept.clone(), Some(note))
                }
                (Err(reason), None) => {
                    failures.push(format!("{name}: {reason}"));
                    outcome.skipped.push(SkippedRecord {
                        location: name,
                        reason,
                    });
                    continue;
                }
            };
            for reason in note.into_iter().chain(parsed.notes) {
                outcome.skipped.push(SkippedRecord {
                    location: name.clone(),
                    reason,
                });
            }
            replay.apply(&name, parsed.commands, cancel)?;
        }
        drop(last_good);
        if !files.is_empty() && failures.len() == files.len() {
            // The file's name is already in the error when the path is the file itself.
            let message = match outcome.skipped.pop() {
                Some(only) if Path::new(&only.location) == root.as_path() => only.reason,
                _ => format!("no file could be used: {}", failures.join("; ")),
            };
            return Err(SourceError::BadData {
                location: root.display().to_string(),
                message: format!("cannot decode: {message}"),
            });
        }
        replay.finish(&mut outcome, intake);
        Ok(outcome)
    }
}

fn unreadable(path: &Path, e: std::io::Error) -> SourceError {
    SourceError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The file itself, or the folder's regular files (not hidden, not in subfolders) sorted by
/// name.
fn list_files(path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| unreadable(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| unreadable(path, e))? {
        let entry = entry.map_err(|e| unreadable(path, e))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let file = entry.path();
        // Follows symlinks; a dangling one is listed and reported as unreadable.
        let is_dir = std::fs::metadata(&file).is_ok_and(|m| m.is_dir());
        if !hidden && !is_dir {
            files.push(file);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// The files a poll would read, fingerprinted.
fn fingerprint(path: &Path) -> Option<String> {
    crate::regular::fingerprint(&list_files(path).ok()?)
}

#[async_trait::async_trait]
impl Source for ActiveSyncSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn poll(&self, cancel: &Cancel, intake: &Intake) -> Result<PollOutcome, SourceError> {
        let this = ActiveSyncSource {
            id: self.id.clone(),
            settings: self.settings.clone(),
            last_good: Arc::clone(&self.last_good),
        };
        let stop = cancel.clone();
        let intake = intake.clone();
        cancel
            .spawn_blocking(move || this.load(&stop, &intake))
            .await?
    }

    async fn fingerprint(&self) -> Option<String> {
        let path = self.settings.path.clone();
        tokio::task::spawn_blocking(move || fingerprint(&path))
            .await
            .ok()
            .flatten()
    }

    async fn watch(&self, changes: &crate::Changes) -> crate::WatchEnd {
        crate::file_watch::watch(&self.settings.path, changes).await
    }
}

#[cfg(test)]
mod tests;
