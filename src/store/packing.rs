//! Packing a poll's contacts while the source is still reading: the source hands each contact
//! over as it reads it (see [`cardbridge_connectors::Intake`]) and a thread of its own caps,
//! hashes and packs it, in order. A large listing is then never held as full contacts (about
//! 1.8 KB each, against some 250 bytes packed), and reading and packing share the machine's
//! cores. The packed listing is used only when the poll succeeds; a failed poll drops it.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};

use cardbridge_connectors::{Cancel, Contact, Intake, PollOutcome, Source, SourceError, Take};

use super::merge::{Listed, Listing};
use crate::vcard::caps::{self, Caps};

/// Contacts handed to the packing thread at once: few enough to hold little, enough that the
/// hand-over costs little per contact.
const BATCH: usize = 256;

/// Batches waiting for the packing thread: a source that reads faster than it packs waits.
const QUEUED: usize = 8;

/// A poll's contacts, packed.
#[derive(Debug, Default)]
pub struct Packed {
    pub listing: Listing,
    /// One per value the size caps cut, naming the card, in listing order.
    pub notices: Vec<String>,
}

/// The source's end: collects contacts into batches for the packing thread.
struct Batches {
    batch: Vec<Arc<Contact>>,
    /// `None` once the poll has finished handing over.
    to_packer: Option<SyncSender<Vec<Arc<Contact>>>>,
}

impl Batches {
    fn send(&mut self, batch: Vec<Arc<Contact>>) {
        if batch.is_empty() {
            return;
        }
        // A packer that has gone (it failed) fails the poll in `Packing::finish`.
        if let Some(to_packer) = &self.to_packer {
            let _ = to_packer.send(batch);
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.send(batch);
    }
}

impl Take for Batches {
    fn take(&mut self, contact: Arc<Contact>) {
        self.batch.push(contact);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn take_all(&mut self, contacts: Vec<Arc<Contact>>) {
        self.flush();
        self.send(contacts);
    }
}

/// One poll's packing: the intake to hand the source, and the thread packing what it takes.
pub struct Packing {
    batches: Arc<Mutex<Batches>>,
    packer: tokio::task::JoinHandle<Packed>,
}

impl Packing {
    /// Starts the packing thread (on the runtime's blocking pool); contacts are cut to `caps`.
    pub fn start(caps: Caps) -> Packing {
        let (to_packer, batches) = sync_channel(QUEUED);
        Packing {
            batches: Arc::new(Mutex::new(Batches {
                batch: Vec::with_capacity(BATCH),
                to_packer: Some(to_packer),
            })),
            packer: tokio::task::spawn_blocking(move || pack(&batches, &caps)),
        }
    }

    /// Where the source hands its contacts.
    pub fn intake(&self) -> Intake {
        Intake::new(self.batches.clone())
    }

    /// Waits until everything handed over is packed (after the poll succeeded).
    pub async fn finish(self) -> Result<Packed, String> {
        {
            let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
            batches.flush();
            batches.to_packer = None;
        }
        self.packer
            .await
            .map_err(|e| format!("packing the contacts failed: {e}"))
    }
}

/// Caps, hashes and packs each contact as it arrives, until the source's end closes.
fn pack(batches: &Receiver<Vec<Arc<Contact>>>, caps: &Caps) -> Packed {
    let mut listed = Vec::new();
    let mut notices = Vec::new();
    for batch in batches {
        listed.reserve(batch.len());
        for mut contact in batch {
            notices.extend(caps::apply_noted(&mut contact, caps));
            listed.push(Listed::of(&contact));
        }
    }
    listed.shrink_to_fit();
    Packed {
        listing: Arc::new(listed),
        notices,
    }
}

/// One poll of `source`, its contacts packed as they are read, the notices of the values the
/// caps cut added to the outcome's (after the source's own).
pub async fn poll(
    source: &dyn Source,
    cancel: &Cancel,
    caps: Caps,
) -> Result<(PollOutcome, Listing), SourceError> {
    let packing = Packing::start(caps);
    let mut outcome = source.poll(cancel, &packing.intake()).await?;
    let packed = packing
        .finish()
        .await
        .map_err(|message| SourceError::BadData {
            location: source.id().to_string(),
            message,
        })?;
    outcome.notices.extend(packed.notices);
    Ok((outcome, packed.listing))
}
