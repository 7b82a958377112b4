//! Google contacts and the Google Workspace directory as a contact source (People API).
//!
//! The first poll lists everything with `requestSyncToken` (all pages); later polls ask only
//! for changes since the sync token, and people marked `metadata.deleted` are removed. An
//! expired sync token (or a delta with entries that cannot be read) means a full listing in
//! the same poll, never a partial one. The sync state lives in memory: after a restart the
//! source lists everything again and the server's store turns that into the right deltas.
//!
//! A poll is all-or-nothing: every listing (contacts, other contacts, groups) is fetched
//! before anything is applied, so an error on page 7 or a cancelled poll changes nothing and
//! clients keep the last good data. Only the photo cache fills up as downloads finish.
//!
//! A person listed with `metadata.previousResourceNames` (its id changed, or other contacts
//! were merged into it) replaces the records under those names, in whichever listing they
//! are: clients see the old cards removed and the new one added in the same change.

mod api;
mod auth;
mod checkpoint;
pub(crate) mod html;
pub mod login;
pub(crate) mod mapping;
mod photos;
mod settings;
pub(crate) mod wire;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

pub use api::retry_after;
use api::{Api, ApiError, Feed, Listed};
pub use auth::{assertion, read_key, ServiceAccountKey, JWT_BEARER_GRANT};
use auth::{Auth, Method};
use mapping::Mapped;
use photos::PhotoCache;
pub use settings::{
    DirectorySource, GoogleSettings, Listing, OAuthSettings, ServiceAccountSettings,
    DEFAULT_TOKEN_URL, SCOPE_CONTACTS, SCOPE_DIRECTORY, SCOPE_OTHER_CONTACTS,
};
use wire::Person;

use crate::{
    Cancel, Contact, ContactKind, Intake, PollOutcome, SkippedRecord, Source, SourceError,
    Throttled,
};

pub struct GoogleSource {
    id: String,
    settings: GoogleSettings,
    http: reqwest::Client,
    api: Api,
    state: tokio::sync::Mutex<State>,
}

/// What the source knows between polls.
#[derive(Default)]
struct State {
    feeds: BTreeMap<Feed, FeedState>,
    /// The account's own contact groups: resource name → name.
    groups: BTreeMap<String, String>,
    photos: PhotoCache,
    /// Google asked for no requests before this.
    quiet_until: Option<Instant>,
    /// A listing has been handed out since the start (or the resumption).
    listed: bool,
    /// Changed (records or sync tokens) since the last checkpoint was taken.
    unsaved: bool,
}

#[derive(Default)]
struct FeedState {
    sync_token: Option<String>,
    /// By resource name.
    records: BTreeMap<String, Mapped>,
    /// Entries of the last full listing that could not be read.
    unreadable: Vec<SkippedRecord>,
}

/// A fetched listing, not applied yet.
enum Change {
    Full {
        sync_token: Option<String>,
        records: BTreeMap<String, Mapped>,
        unreadable: Vec<SkippedRecord>,
        /// Former names of the people listed: records to drop from every listing.
        superseded: Vec<String>,
    },
    Delta {
        sync_token: Option<String>,
        upserts: Vec<(String, Mapped)>,
        deletions: Vec<String>,
        superseded: Vec<String>,
    },
}

impl Change {
    fn superseded(&self) -> &[String] {
        match self {
            Change::Full { superseded, .. } | Change::Delta { superseded, .. } => superseded,
        }
    }
}

/// The former names of the (not deleted) people listed, other than their own.
fn former_names(people: &[Person]) -> Vec<String> {
    let mut names: Vec<String> = people
        .iter()
        .filter(|p| !p.metadata.deleted)
        .flat_map(|p| {
            p.metadata
                .previous_resource_names
                .iter()
                .filter(|name| **name != p.resource_name && !name.is_empty())
        })
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

impl GoogleSource {
    /// Validates the settings; the error is a message for the config file's reader.
    pub fn new(id: String, settings: GoogleSettings) -> Result<GoogleSource, String> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("cardbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        let method = match (&settings.oauth, &settings.service_account) {
            (Some(oauth), _) => Method::Refresh(oauth.clone()),
            (None, Some(sa)) => Method::ServiceAccount(sa.clone()),
            (None, None) => return Err("no sign-in method".into()),
        };
        let auth = Auth::new(
            http.clone(),
            method,
            settings.scopes(),
            settings.token_url.clone(),
            id.clone(),
        );
        let api = Api::new(
            http.clone(),
            &settings.api_url,
            auth,
            settings.page_size,
            settings.directory_sources.clone(),
        )?;
        Ok(GoogleSource {
            id,
            settings,
            http,
            api,
            state: tokio::sync::Mutex::default(),
        })
    }

    fn feeds(&self) -> Vec<Feed> {
        match self.settings.listing {
            Listing::Contacts if self.settings.other_contacts => {
                vec![Feed::Connections, Feed::OtherContacts]
            }
            Listing::Contacts => vec![Feed::Connections],
            Listing::Directory => vec![Feed::Directory],
        }
    }

    fn groups_enabled(&self) -> bool {
        self.settings.listing == Listing::Contacts && self.settings.groups
    }

    fn map(&self, person: &Person) -> Mapped {
        let opts = mapping::Options {
            region: self.settings.default_region.as_deref(),
            photo_size: Some(self.settings.photos.max_dimension),
        };
        let mut mapped = mapping::contact(person, &opts);
        if !self.settings.download_photos {
            mapped.photo_url = None;
        }
        mapped
    }

    /// The changes since the feed's sync token, or a full listing when there is none, it has
    /// expired, or the changes cannot be applied.
    async fn fetch(&self, feed: Feed, current: Option<&FeedState>) -> Result<Change, ApiError> {
        if let Some(token) = current.and_then(|c| c.sync_token.as_deref()) {
            match self.api.list(feed, Some(token)).await {
                Ok(listed) if listed.unreadable.is_empty() => return Ok(self.delta(listed)),
                // An entry that cannot be read cannot be applied: list everything, where it
                // is reported and the rest is right.
                Ok(_) | Err(ApiError::ExpiredSyncToken) => {}
                Err(e) => return Err(e),
            }
        }
        match self.api.list(feed, None).await {
            Ok(listed) => Ok(self.full(listed)),
            Err(ApiError::ExpiredSyncToken) => Err(ApiError::Failed(format!(
                "{}: Google called a listing without sync token expired",
                feed.describe()
            ))),
            Err(e) => Err(e),
        }
    }

    fn full(&self, listed: Listed) -> Change {
        let superseded = former_names(&listed.people);
        let records = listed
            .people
            .iter()
            .filter(|p| !p.metadata.deleted)
            .filter(|p| superseded.binary_search(&p.resource_name).is_err())
            .map(|p| (p.resource_name.clone(), self.map(p)))
            .collect();
        Change::Full {
            sync_token: listed.next_sync_token,
            records,
            unreadable: listed.unreadable,
            superseded,
        }
    }

    fn delta(&self, listed: Listed) -> Change {
        let superseded = former_names(&listed.people);
        let mut upserts = Vec::new();
        let mut deletions = Vec::new();
        for person in &listed.people {
            if person.metadata.deleted {
                deletions.push(person.resource_name.clone());
            } else if superseded.binary_search(&person.resource_name).is_err() {
                upserts.push((person.resource_name.clone(), self.map(person)));
            }
        }
        Change::Delta {
            sync_token: listed.next_sync_token,
            upserts,
            deletions,
            superseded,
        }
    }

    /// User-created, not deleted groups: resource name → name.
    async fn fetch_groups(&self) -> Result<BTreeMap<String, String>, ApiError> {
        let groups = self.api.contact_groups().await?;
        Ok(groups
            .into_iter()
            .filter(|g| !g.metadata.deleted)
            .filter(|g| g.group_type.as_deref() == Some("USER_CONTACT_GROUP"))
            .filter(|g| !g.resource_name.is_empty())
            .map(|g| {
                let name = g
                    .formatted_name
                    .filter(|n| !n.trim().is_empty())
                    .or(g.name)
                    .unwrap_or_else(|| g.resource_name.clone());
                (g.resource_name, name)
            })
            .collect())
    }

    async fn poll_locked(
        &self,
        state: &mut State,
        cancel: &Cancel,
        intake: &Intake,
    ) -> Result<PollOutcome, ApiError> {
        let mut changes = Vec::new();
        for feed in self.feeds() {
            let change = self.fetch(feed, state.feeds.get(&feed)).await?;
            changes.push((feed, change));
        }
        let groups = if self.groups_enabled() {
            Some(self.fetch_groups().await?)
        } else {
            None
        };

        // Photos of the records as they will be, that are not cached yet (this retries the
        // downloads that failed for a passing reason).
        let wanted = photos_wanted(state, &changes);
        let later = photos::download(
            &self.http,
            wanted.clone(),
            &self.settings.photos,
            &mut state.photos,
            cancel,
        )
        .await;

        // Nothing below waits: the poll applies completely or not at all.
        let mut changed = !state.listed;
        changed |= wanted
            .iter()
            .any(|url| state.photos.get(url).is_some_and(|p| p.is_ok()));
        let superseded: Vec<String> = changes
            .iter()
            .flat_map(|(_, change)| change.superseded())
            .cloned()
            .collect();
        for (feed, change) in changes {
            let feed = state.feeds.entry(feed).or_default();
            let token = feed.sync_token.clone();
            changed |= apply(feed, change);
            state.unsaved |= feed.sync_token != token;
        }
        for feed in state.feeds.values_mut() {
            for name in &superseded {
                changed |= feed.records.remove(name).is_some();
            }
        }
        if let Some(groups) = groups {
            changed |= state.groups != groups;
            state.groups = groups;
        }
        let used: HashSet<&String> = state
            .feeds
            .values()
            .flat_map(|f| f.records.values())
            .filter_map(|m| m.photo_url.as_ref())
            .collect();
        let unused: Vec<String> = state
            .photos
            .keys()
            .filter(|url| !used.contains(url))
            .cloned()
            .collect();
        for url in unused {
            state.photos.remove(&url);
        }
        state.listed = true;
        state.unsaved |= changed;
        if !changed {
            return Ok(PollOutcome::unchanged());
        }
        let mut left_out = state.left_out();
        left_out.extend(later.into_iter().map(|(url, reason)| SkippedRecord {
            location: state.owner_of(&url),
            reason: format!("photo left out for now, tried again at the next poll: {reason}"),
        }));
        intake.take_all(state.listing().into_iter().map(Into::into).collect());
        Ok(PollOutcome {
            skipped: state.unreadable(),
            left_out,
            ..PollOutcome::default()
        })
    }
}

/// Photo URLs the records will use once `changes` are applied, that are not cached.
fn photos_wanted(state: &State, changes: &[(Feed, Change)]) -> Vec<String> {
    let mut urls = HashSet::new();
    for (feed, change) in changes {
        let current = state.feeds.get(feed);
        match change {
            Change::Full { records, .. } => {
                urls.extend(records.values().filter_map(|m| m.photo_url.as_ref()));
            }
            Change::Delta {
                upserts, deletions, ..
            } => {
                let replaced: HashSet<&String> =
                    upserts.iter().map(|(r, _)| r).chain(deletions).collect();
                urls.extend(upserts.iter().filter_map(|(_, m)| m.photo_url.as_ref()));
                if let Some(current) = current {
                    urls.extend(
                        current
                            .records
                            .iter()
                            .filter(|(r, _)| !replaced.contains(r))
                            .filter_map(|(_, m)| m.photo_url.as_ref()),
                    );
                }
            }
        }
    }
    for (feed, current) in &state.feeds {
        if !changes.iter().any(|(f, _)| f == feed) {
            urls.extend(
                current
                    .records
                    .values()
                    .filter_map(|m| m.photo_url.as_ref()),
            );
        }
    }
    let mut wanted: Vec<String> = urls
        .into_iter()
        .filter(|url| !state.photos.contains_key(*url))
        .cloned()
        .collect();
    wanted.sort();
    wanted
}

/// Applies a fetched listing; whether any record changed.
fn apply(feed: &mut FeedState, change: Change) -> bool {
    match change {
        Change::Full {
            sync_token,
            records,
            unreadable,
            ..
        } => {
            let changed = feed.records != records || feed.unreadable != unreadable;
            feed.sync_token = sync_token;
            feed.records = records;
            feed.unreadable = unreadable;
            changed
        }
        Change::Delta {
            sync_token,
            upserts,
            deletions,
            ..
        } => {
            let mut changed = false;
            for resource in deletions {
                changed |= feed.records.remove(&resource).is_some();
            }
            for (resource, mapped) in upserts {
                if feed.records.get(&resource) != Some(&mapped) {
                    feed.records.insert(resource, mapped);
                    changed = true;
                }
            }
            feed.sync_token = sync_token;
            changed
        }
    }
}

impl State {
    /// Every card: people with their photos, then one group card per contact group.
    fn listing(&self) -> Vec<Contact> {
        let mut contacts = Vec::new();
        for record in self.feeds.values().flat_map(|f| f.records.values()) {
            let mut contact = record.contact.clone();
            contact.photo = record
                .photo_url
                .as_ref()
                .and_then(|url| self.photos.get(url))
                .and_then(|p| p.as_ref().ok())
                .cloned();
            contacts.push(contact);
        }
        for (resource, name) in &self.groups {
            let members = self
                .feeds
                .values()
                .flat_map(|f| f.records.values())
                .filter(|m| m.groups.contains(resource))
                .map(|m| m.contact.uid.clone())
                .collect();
            contacts.push(Contact {
                uid: mapping::uid(resource),
                kind: ContactKind::Group,
                formatted_name: name.clone(),
                members,
                ..Contact::default()
            });
        }
        contacts
    }

    /// Entries that could not be read: no card.
    fn unreadable(&self) -> Vec<SkippedRecord> {
        self.feeds
            .values()
            .flat_map(|f| f.unreadable.iter().cloned())
            .collect()
    }

    /// Values left out of published cards, with where they were.
    fn left_out(&self) -> Vec<SkippedRecord> {
        let mut left_out = Vec::new();
        for (resource, record) in self.feeds.values().flat_map(|f| f.records.iter()) {
            for warning in &record.warnings {
                left_out.push(SkippedRecord {
                    location: resource.clone(),
                    reason: format!("field left out: {warning}"),
                });
            }
            if let Some(Err(e)) = record.photo_url.as_ref().and_then(|u| self.photos.get(u)) {
                left_out.push(SkippedRecord {
                    location: resource.clone(),
                    reason: format!("photo left out: {e}"),
                });
            }
        }
        left_out
    }

    /// The resource name of a record using photo `url` (for reports).
    fn owner_of(&self, url: &str) -> String {
        self.feeds
            .values()
            .flat_map(|f| f.records.iter())
            .find(|(_, m)| m.photo_url.as_deref() == Some(url))
            .map_or_else(|| url.to_string(), |(r, _)| r.clone())
    }
}

#[async_trait::async_trait]
impl Source for GoogleSource {
    fn id(&self) -> &str {
        &self.id
    }

    /// The credential files: an operator who signs in again (`cardbridge google-login`) or
    /// replaces a key is heard at once, not after the wait a refused sign-in earns.
    async fn fingerprint(&self) -> Option<String> {
        let files: Vec<std::path::PathBuf> =
            match (&self.settings.oauth, &self.settings.service_account) {
                (Some(oauth), _) => [&oauth.token_file, &oauth.client_secret_file]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect(),
                (None, Some(account)) => vec![account.key_file.clone()],
                (None, None) => Vec::new(),
            };
        crate::regular::fingerprint(&files)
    }

    async fn checkpoint(&self) -> Option<Vec<u8>> {
        crate::checkpoint::take_unsaved(&mut *self.state.lock().await)
    }

    async fn resume(&self, saved: &[u8]) {
        let mut state = self.state.lock().await;
        match checkpoint::load(saved) {
            Ok(resumed) => {
                tracing::info!(
                    source = %self.id,
                    "resumed: the next poll asks Google for the changes since the saved sync tokens"
                );
                *state = resumed;
            }
            Err(e) => {
                tracing::warn!(source = %self.id, "checkpoint not used, listing in full: {e}")
            }
        }
    }

    async fn watch(&self, _changes: &crate::Changes) -> crate::WatchEnd {
        crate::WatchEnd::Unsupported("the People API has no push".into())
    }

    /// Google's blocking work is one photo at a time, each awaited by the poll: dropping the
    /// poll stops it between photos, so `_cancel` is not needed.
    async fn poll(&self, cancel: &Cancel, intake: &Intake) -> Result<PollOutcome, SourceError> {
        let mut state = self.state.lock().await;
        if let Some(until) = state.quiet_until {
            let now = Instant::now();
            if now < until {
                let wait = until - now;
                return Err(SourceError::RateLimited {
                    retry_after: Some(wait),
                    message: format!(
                        "Google asked for no requests for another {} s (rate limit)",
                        wait.as_secs().max(1)
                    ),
                });
            }
            state.quiet_until = None;
        }
        self.api.take_throttling();
        let result = self.poll_locked(&mut state, cancel, intake).await;
        let (retries, waited) = self.api.take_throttling();
        match result {
            Ok(mut outcome) => {
                outcome.throttled = (retries > 0).then(|| Throttled {
                    by: "Google".into(),
                    retries,
                    waited,
                });
                Ok(outcome)
            }
            Err(error) => {
                if let ApiError::RateLimited {
                    retry_after: Some(wait),
                    ..
                } = &error
                {
                    state.quiet_until = Some(Instant::now() + *wait);
                }
                Err(error.into())
            }
        }
    }
}

#[cfg(test)]
mod proptests;
impl crate::checkpoint::Checkpointed for State {
    fn unsaved(&mut self) -> &mut bool {
        &mut self.unsaved
    }

    fn save(&self) -> Option<Vec<u8>> {
        checkpoint::save(self)
    }
}

#[cfg(test)]
mod tests;
