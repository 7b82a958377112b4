//! Person entries to records, on a worker thread fed page by page while the search is still
//! running: validating phone numbers and downscaling photos cost more than receiving the
//! entries, so the two overlap, and each entry is dropped as soon as it is converted.

use std::sync::Arc;

use super::dn::normalize_dn;
use super::mapping::Mapping;
use super::reuse::Reuse;
use super::search::Entry;
use super::{shared, Record};
use crate::photo::{normalize_photo, PhotoSettings};
use crate::{Cancel, Photo, SkippedRecord, SourceError};

/// Caches the worker owns while it runs and hands back afterwards.
#[derive(Default)]
pub struct Caches {
    pub phones: Reuse<String>,
    pub photos: Reuse<Option<Photo>>,
}

impl Caches {
    pub fn keep_used(&mut self) {
        self.phones.keep_used();
        self.photos.keep_used();
    }

    pub fn keep_all(&mut self) {
        self.phones.keep_all();
        self.photos.keep_all();
    }
}

/// What the worker made of one entry.
pub struct Mapped {
    pub record: Result<Record, SkippedRecord>,
    /// A photo that could not be used (the contact stays, without it).
    pub photo_note: Option<SkippedRecord>,
    /// The entry's change-attribute value.
    pub mark: Option<String>,
}

pub struct Worker {
    pub mapping: Arc<Mapping>,
    pub photos: PhotoSettings,
    pub change_attribute: Option<String>,
    pub caches: Caches,
    /// Set when the poll is given up: the worker stops before the next entry (its photo
    /// would be decoded next) and the poll's result is dropped.
    pub cancel: Cancel,
}

impl Worker {
    /// Converts batches until the channel closes, or fails once the poll is given up.
    pub fn run(
        mut self,
        mut batches: tokio::sync::mpsc::Receiver<Vec<Entry>>,
    ) -> Result<(Vec<Mapped>, Caches), SourceError> {
        // Loaded while the first page is on its way, not when its first number needs it.
        crate::phone::load();
        let mut out = Vec::new();
        while let Some(batch) = batches.blocking_recv() {
            for entry in batch {
                self.cancel.check()?;
                out.push(self.map(entry));
            }
        }
        Ok((out, self.caches))
    }

    fn map(&mut self, entry: Entry) -> Mapped {
        let mark = self
            .change_attribute
            .as_deref()
            .and_then(|a| entry.first_text(a))
            .map(str::to_string);
        let Some(uid) = self.mapping.uid.read(&entry) else {
            return Mapped {
                record: Err(SkippedRecord {
                    reason: format!(
                        "no usable {} attribute to identify the entry",
                        self.mapping.uid.attribute()
                    ),
                    location: entry.dn,
                }),
                photo_note: None,
                mark,
            };
        };
        let mapping = &self.mapping;
        let phones = &mut self.caches.phones;
        let mut contact = mapping.contact(uid, &entry, &mut |number| {
            phones.get_or(number.as_bytes(), || mapping.normalize_phone(number))
        });
        let mut photo_note = None;
        if let Some(raw) = mapping.photo(&entry) {
            let settings = &self.photos;
            let mut error = None;
            contact.photo = self.caches.photos.get_or(raw, || {
                normalize_photo(raw, settings)
                    .map_err(|e| error = Some(e.to_string()))
                    .ok()
            });
            photo_note = error.map(|e| SkippedRecord {
                location: entry.dn.clone(),
                reason: format!("photo left out: {e}"),
            });
        }
        Mapped {
            record: Ok(Record {
                dn: normalize_dn(&entry.dn),
                manager_dn: mapping.manager_dn(&entry).map(str::to_string),
                contact: shared(contact),
                member_dns: Vec::new(),
            }),
            photo_note,
            mark,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::settings::Preset;
    use super::*;

    fn person(cn: &str) -> Entry {
        Entry {
            dn: format!("cn={cn},o=x"),
            attrs: vec![
                ("cn".into(), vec![cn.as_bytes().to_vec()]),
                ("entryUUID".into(), vec![format!("uuid-{cn}").into_bytes()]),
            ],
        }
    }

    /// Converts two entries with a worker whose poll is (or is not) given up.
    fn convert(cancel: Cancel) -> Result<(Vec<Mapped>, Caches), SourceError> {
        let mapping =
            Mapping::new(Preset::Openldap, &Default::default(), None, None).expect("mapping");
        let worker = Worker {
            mapping: Arc::new(mapping),
            photos: PhotoSettings::default(),
            change_attribute: None,
            caches: Caches::default(),
            cancel,
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        sender
            .try_send(vec![person("Ann"), person("Bo")])
            .expect("send");
        drop(sender);
        worker.run(receiver)
    }

    #[test]
    fn a_given_up_poll_converts_no_more_entries() {
        let (mapped, _) = convert(Cancel::default()).expect("converts");
        assert_eq!(mapped.len(), 2);
        let cancel = Cancel::default();
        cancel.cancel();
        assert!(matches!(convert(cancel), Err(SourceError::Cancelled)));
    }
}
