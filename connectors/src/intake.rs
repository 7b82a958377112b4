//! Where a poll's contacts go, one at a time, as the source produces them.
//!
//! A CSV export of a million people is a million full [`Contact`]s (about 1.8 KB each in
//! memory) but a far smaller listing once the server has packed them for its store. Handing
//! each contact over as soon as it is read, instead of returning them all in one list, lets
//! the server pack it at once, so a poll never holds its whole listing as contacts. The poll
//! stays all-or-nothing: what was handed over is used only when the poll succeeds.

use std::sync::{Arc, Mutex, PoisonError};

use crate::{Cancel, Contact, PollOutcome, Source, SourceError};

/// What receives a poll's contacts (the server packs them for its store).
pub trait Take: Send {
    /// The next contact of the listing, in the source's order.
    fn take(&mut self, contact: Arc<Contact>);

    /// A whole listing at once, in order: for a source that keeps its listing between polls
    /// (LDAP, Google) and hands it over from async code in one step.
    fn take_all(&mut self, contacts: Vec<Arc<Contact>>) {
        for contact in contacts {
            self.take(contact);
        }
    }
}

/// A poll's way to hand over its contacts; cloned into the poll's blocking work.
#[derive(Clone)]
pub struct Intake(Arc<Mutex<dyn Take>>);

impl Intake {
    pub fn new(take: Arc<Mutex<dyn Take>>) -> Intake {
        Intake(take)
    }

    /// Hands over the next contact of the listing.
    pub fn take(&self, contact: Arc<Contact>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(contact);
    }

    /// Hands over a whole listing (see [`Take::take_all`]).
    pub fn take_all(&self, contacts: Vec<Arc<Contact>>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_all(contacts);
    }

    /// An intake that keeps the contacts as they come, and where they are kept: for tests and
    /// tools that look at the contacts themselves.
    pub fn collecting() -> (Intake, Arc<Mutex<Kept>>) {
        let kept = Arc::new(Mutex::new(Kept::default()));
        (Intake::new(kept.clone()), kept)
    }
}

/// Contacts kept whole as they were handed over.
#[derive(Debug, Default)]
pub struct Kept(pub Vec<Arc<Contact>>);

impl Take for Kept {
    fn take(&mut self, contact: Arc<Contact>) {
        self.0.push(contact);
    }
}

/// A poll's outcome with the contacts it handed over, kept whole.
#[derive(Debug, Default)]
pub struct Collected {
    pub contacts: Vec<Arc<Contact>>,
    pub outcome: PollOutcome,
}

impl std::ops::Deref for Collected {
    type Target = PollOutcome;

    fn deref(&self) -> &PollOutcome {
        &self.outcome
    }
}

impl Collected {
    /// Runs `poll` with an intake that keeps the contacts; the contacts of a failed poll are
    /// dropped with it.
    pub fn of(
        poll: impl FnOnce(&Intake) -> Result<PollOutcome, SourceError>,
    ) -> Result<Collected, SourceError> {
        let (intake, kept) = Intake::collecting();
        let outcome = poll(&intake)?;
        drop(intake);
        let contacts = std::mem::take(&mut kept.lock().unwrap_or_else(PoisonError::into_inner).0);
        Ok(Collected { contacts, outcome })
    }

    /// One poll of `source`, its contacts kept.
    pub async fn poll(source: &dyn Source, cancel: &Cancel) -> Result<Collected, SourceError> {
        let (intake, kept) = Intake::collecting();
        let outcome = source.poll(cancel, &intake).await?;
        let contacts = std::mem::take(&mut kept.lock().unwrap_or_else(PoisonError::into_inner).0);
        Ok(Collected { contacts, outcome })
    }
}
