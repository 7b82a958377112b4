//! LDAP and Active Directory as a contact source, and the directory side of LDAP login.
//!
//! A poll is either a full paged listing of every base (the only way to notice deletions) or,
//! in between, an incremental search for entries whose change attribute (modifyTimestamp,
//! uSNChanged) moved past the highest value seen. Either way the source hands the store a
//! complete listing, so what clients see is the diff. Any search error fails the poll as a
//! whole: a partial listing would look like mass deletion.

mod checkpoint;
mod connect;
mod dn;
mod groups;
mod live;
pub mod login;
mod mapping;
mod people;
#[cfg(test)]
mod proptests;
mod reuse;
pub(crate) mod search;
mod settings;
mod sync_messages;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ldap3::Ldap;
use tokio::time::Instant;

pub use connect::{connect_as, connect_service, ConnectError};
pub use mapping::{Field, Mapping};
pub use settings::{GroupSettings, LdapSettings, OneOrMany, Preset, Scope, ServerSettings};

use crate::{
    Cancel, Contact, ContactKind, Intake, PollOutcome, SkippedRecord, Source, SourceError,
};
use dn::first_rdn_value;
pub use dn::normalize_dn;
use groups::{flatten, member_dns, Member};
use people::{Caches, Mapped, Worker};
use search::{read_entry, search_all, search_each, Entry, Query};

pub struct LdapSource {
    id: String,
    settings: LdapSettings,
    mapping: Arc<Mapping>,
    bases: Vec<String>,
    filter: String,
    groups: Option<GroupQuery>,
    change_attribute: Option<String>,
    state: tokio::sync::Mutex<State>,
    /// What the change streams tell the polls (see `live.rs`).
    live: Arc<live::Shared>,
}

struct GroupQuery {
    bases: Vec<String>,
    filter: String,
}

/// What the source knows between polls.
#[derive(Default)]
struct State {
    /// By uid: people and groups, their contacts shared with the published listing.
    records: BTreeMap<String, Stored>,
    /// Normalized DN → uid.
    by_dn: HashMap<String, String>,
    /// Highest change-attribute value seen; incremental polls ask for entries at or above it.
    mark: Option<String>,
    last_full: Option<Instant>,
    /// Validated phone numbers and downscaled photos from earlier polls.
    caches: Caches,
    /// Names of managers outside the listing (a disabled account, another base), read from
    /// their own entries, by normalized DN; read again at every full listing.
    outside_names: HashMap<String, String>,
    /// Where the change streams were when the last good poll began: the listing covers
    /// every change up to there (saved with it in the checkpoint).
    position: live::Position,
    /// A listing has been handed out since the start (or the resumption): until then even
    /// an incremental poll that finds nothing hands out the whole listing.
    handed_out: bool,
    /// Changed (listing or position) since the last checkpoint was taken.
    unsaved: bool,
}

/// A record as kept between polls: the contact resolved (manager named, members as uids) and
/// shared with the listing the store holds, so the directory is in memory once.
struct Stored {
    dn: String,
    contact: Arc<Contact>,
    /// As the directory wrote it: its first RDN names a manager nothing else is known about.
    manager_dn: Option<String>,
    member_dns: Vec<String>,
}

impl Stored {
    fn new(record: Record) -> Stored {
        Stored {
            dn: record.dn,
            contact: record.contact,
            manager_dn: record.manager_dn,
            member_dns: record.member_dns,
        }
    }

    /// Whether `record` (fresh from the directory, unresolved) says what this one says. The
    /// record is lent this one's resolution (manager, members) for the comparison instead of
    /// this contact being copied to drop it: a full listing compares every entry.
    fn same_as(&self, record: &mut Record) -> bool {
        if self.dn != record.dn
            || self.manager_dn != record.manager_dn
            || self.member_dns != record.member_dns
        {
            return false;
        }
        // A fresh record's contact is its own: no copy is made here.
        let fresh = Arc::make_mut(&mut record.contact);
        fresh.manager = self.contact.manager.clone();
        fresh.members = self.contact.members.clone();
        let same = *fresh == *self.contact;
        fresh.manager = None;
        fresh.members = Vec::new();
        same
    }
}

/// A converted entry, before resolution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// Normalized.
    dn: String,
    /// Shared from the start (see [`shared`]): a listing of 100,000 records then moves
    /// pointers from the worker to the state, not whole contacts.
    contact: Arc<Contact>,
    /// As written in the entry.
    manager_dn: Option<String>,
    /// Normalized.
    member_dns: Vec<String>,
}

/// `contact` as a record and the state keep it: every list at its exact length (see
/// [`Contact::shrink_to_fit`]), behind the pointer the published listing shares.
fn shared(mut contact: Contact) -> Arc<Contact> {
    contact.shrink_to_fit();
    Arc::new(contact)
}

/// The preset's people filter. AD lists people as user accounts and, when `contacts`, as
/// contact objects (mail-enabled entries for people outside the organisation, no account).
fn preset_people_filter(preset: Preset, contacts: bool) -> String {
    match preset {
        Preset::Openldap => "(objectClass=inetOrgPerson)".to_string(),
        // Computers are AD users too; bit 2 of userAccountControl marks disabled accounts.
        Preset::ActiveDirectory => {
            let users = "(&(objectClass=user)(!(objectClass=computer))(!(userAccountControl:1.2.840.113556.1.4.803:=2)))";
            if contacts {
                format!("(|{users}(objectClass=contact))")
            } else {
                users.to_string()
            }
        }
    }
}

fn preset_group_filter(preset: Preset) -> &'static str {
    match preset {
        Preset::Openldap => "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
        Preset::ActiveDirectory => "(objectClass=group)",
    }
}

fn preset_change_attribute(preset: Preset) -> &'static str {
    match preset {
        Preset::Openldap => "modifyTimestamp",
        Preset::ActiveDirectory => "uSNChanged",
    }
}

/// What the settings compile to: checked once, when the source is configured.
struct Compiled {
    mapping: Mapping,
    bases: Vec<String>,
    filter: String,
    groups: Option<GroupQuery>,
    change_attribute: Option<String>,
}

impl LdapSettings {
    /// Checks what can be checked without a directory (the error is a message for the config
    /// file's reader).
    pub fn validate(&self) -> Result<(), String> {
        self.compile().map(drop)
    }

    fn compile(&self) -> Result<Compiled, String> {
        self.server.validate()?;
        crate::phone::check_region(self.default_region.as_deref())?;
        if self.page_size < 1 {
            return Err("page_size: must be at least 1".into());
        }
        let bases = self.base.clone().into_vec();
        if bases.is_empty() || bases.iter().any(|b| b.trim().is_empty()) {
            return Err("base: give one or more base DNs".into());
        }
        let mapping = Mapping::new(
            self.preset,
            &self.attributes,
            self.uid_attribute.as_deref(),
            self.default_region.clone(),
        )?;
        let filter = people_filter(self)?;
        check_filter(&filter).map_err(|e| format!("filter: {e}"))?;
        let groups = match &self.groups {
            None => None,
            Some(g) => {
                let filter = g
                    .filter
                    .clone()
                    .unwrap_or_else(|| preset_group_filter(self.preset).to_string());
                check_filter(&filter).map_err(|e| format!("groups.filter: {e}"))?;
                Some(GroupQuery {
                    bases: g
                        .base
                        .clone()
                        .map_or_else(|| bases.clone(), |b| b.into_vec()),
                    filter,
                })
            }
        };
        let change_attribute = match self.change_attribute.as_deref() {
            Some("") => None,
            Some(a) => Some(a.to_string()),
            None => Some(preset_change_attribute(self.preset).to_string()),
        };
        Ok(Compiled {
            mapping,
            bases,
            filter,
            groups,
            change_attribute,
        })
    }
}

impl LdapSource {
    /// Validates the settings; the error is a message for the config file's reader.
    pub fn new(id: String, settings: LdapSettings) -> Result<LdapSource, String> {
        let Compiled {
            mapping,
            bases,
            filter,
            groups,
            change_attribute,
        } = settings.compile()?;
        Ok(LdapSource {
            id,
            settings,
            mapping: Arc::new(mapping),
            bases,
            filter,
            groups,
            change_attribute,
            state: tokio::sync::Mutex::default(),
            live: Arc::default(),
        })
    }

    fn people_attributes(&self) -> Vec<String> {
        let mut attrs = self.mapping.requested();
        attrs.extend(self.change_attribute.clone());
        attrs
    }

    fn group_attributes(&self) -> Vec<String> {
        let mut attrs: Vec<String> = ["cn", "description"]
            .into_iter()
            .chain(groups::MEMBER_ATTRIBUTES)
            .map(str::to_string)
            .collect();
        attrs.push(self.mapping.uid.attribute().to_string());
        attrs.extend(self.change_attribute.clone());
        attrs
    }

    /// People (converted by the worker while the search runs) and groups matching `extra`
    /// (an additional filter term). The caches go to the worker and come back.
    async fn fetch(
        &self,
        ldap: &mut Ldap,
        extra: Option<&str>,
        caches: Caches,
        cancel: &Cancel,
    ) -> Result<(Vec<Mapped>, Vec<Entry>, Caches), SourceError> {
        let narrowed = |filter: &str| match extra {
            Some(term) => format!("(&{filter}{term})"),
            None => filter.to_string(),
        };
        let (batches, receiver) = tokio::sync::mpsc::channel(4);
        let worker = Worker {
            mapping: Arc::clone(&self.mapping),
            photos: self.settings.photos.clone(),
            change_attribute: self.change_attribute.clone(),
            caches,
            cancel: cancel.clone(),
        };
        let worker = cancel.spawn_blocking(move || worker.run(receiver));
        let people_attrs = self.people_attributes();
        let filter = narrowed(&self.filter);
        let mut searched = Ok(());
        for base in &self.bases {
            let query = Query {
                base,
                scope: self.settings.scope.to_ldap(),
                filter: &filter,
                attrs: &people_attrs,
                page_size: self.settings.page_size,
            };
            searched = search_each(ldap, &query, |batch| {
                let batches = batches.clone();
                async move { batches.send(batch).await.is_ok() }
            })
            .await;
            if searched.is_err() {
                break;
            }
        }
        drop(batches);
        let (people, caches) = worker.await??;
        searched?;
        let mut groups = Vec::new();
        if let Some(g) = &self.groups {
            let attrs = self.group_attributes();
            let filter = narrowed(&g.filter);
            for base in &g.bases {
                let query = Query {
                    base,
                    scope: ldap3::Scope::Subtree,
                    filter: &filter,
                    attrs: &attrs,
                    page_size: self.settings.page_size,
                };
                groups.extend(search_all(ldap, &query).await?);
            }
        }
        Ok((people, groups, caches))
    }

    /// Names the managers outside the listing from their own entries (displayName, cn, AD's
    /// name): one base-scope read per DN not named yet. A manager the server does not show
    /// is named by its DN's first RDN, as written. Fails only when the connection does.
    async fn name_outside_managers(
        &self,
        ldap: &mut Ldap,
        state: &mut State,
    ) -> Result<(), SourceError> {
        let wanted: BTreeMap<String, &str> = state
            .records
            .values()
            .filter_map(|r| r.manager_dn.as_deref())
            .map(|dn| (normalize_dn(dn), dn))
            .filter(|(key, _)| {
                !state.by_dn.contains_key(key) && !state.outside_names.contains_key(key)
            })
            .collect();
        let attrs = self.mapping.name_attributes();
        let mut names = Vec::with_capacity(wanted.len());
        for (key, dn) in wanted {
            let entry = read_entry(ldap, dn, &attrs).await?;
            let name = entry
                .and_then(|e| self.mapping.name(&e))
                .unwrap_or_else(|| first_rdn_value(dn));
            names.push((key, name));
        }
        state.outside_names.extend(names);
        Ok(())
    }

    async fn group(&self, ldap: &mut Ldap, entry: &Entry) -> Result<Record, SkippedRecord> {
        let uid = self.mapping.uid.read(entry).ok_or_else(|| SkippedRecord {
            location: entry.dn.clone(),
            reason: format!(
                "no usable {} attribute to identify the group",
                self.mapping.uid.attribute()
            ),
        })?;
        let members = member_dns(ldap, entry)
            .await
            .map_err(|reason| SkippedRecord {
                location: entry.dn.clone(),
                reason,
            })?;
        let name = entry
            .first_text("cn")
            .map_or_else(|| first_rdn_value(&entry.dn), str::to_string);
        Ok(Record {
            dn: normalize_dn(&entry.dn),
            contact: shared(Contact {
                uid,
                kind: ContactKind::Group,
                formatted_name: name,
                note: entry.first_text("description").map(str::to_string),
                ..Contact::default()
            }),
            manager_dn: None,
            member_dns: members.iter().map(|m| normalize_dn(m)).collect(),
        })
    }

    /// Fetches and converts; entries that cannot be converted are reported. Returns the
    /// records, the highest change mark seen and the caches.
    async fn records(
        &self,
        ldap: &mut Ldap,
        extra: Option<&str>,
        caches: Caches,
        skipped: &mut Vec<SkippedRecord>,
        cancel: &Cancel,
    ) -> Result<(Vec<Record>, Option<String>, Caches), SourceError> {
        let (people, groups, caches) = self.fetch(ldap, extra, caches, cancel).await?;
        let mut mark: Option<String> = None;
        let mut note = |value: Option<&str>| {
            if let Some(value) = value {
                if mark.as_deref().is_none_or(|m| later(value, m)) {
                    mark = Some(value.to_string());
                }
            }
        };
        let mut records = Vec::with_capacity(people.len() + groups.len());
        for mapped in people {
            note(mapped.mark.as_deref());
            skipped.extend(mapped.photo_note);
            match mapped.record {
                Ok(r) => records.push(r),
                Err(s) => skipped.push(s),
            }
        }
        for entry in &groups {
            note(
                self.change_attribute
                    .as_deref()
                    .and_then(|a| entry.first_text(a)),
            );
            match self.group(ldap, entry).await {
                Ok(r) => records.push(r),
                Err(s) => skipped.push(s),
            }
        }
        Ok((records, mark, caches))
    }

    async fn full_listing(
        &self,
        ldap: &mut Ldap,
        state: &mut State,
        cancel: &Cancel,
    ) -> Result<PollOutcome, SourceError> {
        let mut skipped = Vec::new();
        let caches = std::mem::take(&mut state.caches);
        let (records, mark, mut caches) = self
            .records(ldap, None, caches, &mut skipped, cancel)
            .await?;
        caches.keep_used();
        // Unchanged entries keep their shared contact: no second copy, no churn in the store.
        let mut previous = std::mem::take(&mut state.records);
        let mut fresh = State {
            mark,
            caches,
            last_full: Some(Instant::now()),
            // Sized once: growing it rehashed every DN seen so far, several times over.
            by_dn: HashMap::with_capacity(records.len()),
            ..State::default()
        };
        for mut record in records {
            if fresh.records.contains_key(&record.contact.uid) {
                skipped.push(SkippedRecord {
                    location: record.dn.clone(),
                    reason: format!(
                        "{} {:?} is already used by another entry",
                        self.mapping.uid.attribute(),
                        record.contact.uid
                    ),
                });
                continue;
            }
            fresh
                .by_dn
                .insert(record.dn.clone(), record.contact.uid.clone());
            let stored = match previous.remove(&record.contact.uid) {
                Some(old) if old.same_as(&mut record) => old,
                _ => Stored::new(record),
            };
            fresh.records.insert(stored.contact.uid.clone(), stored);
        }
        drop(previous);
        if let Err(e) = self.name_outside_managers(ldap, &mut fresh).await {
            // The records moved into `fresh`, which is dropped: the next poll lists in full.
            state.last_full = None;
            return Err(e);
        }
        *state = fresh;
        state.resolve();
        tracing::info!(source = %self.id, entries = state.records.len(), "listed in full");
        Ok(PollOutcome {
            skipped,
            ..PollOutcome::default()
        })
    }

    async fn incremental(
        &self,
        ldap: &mut Ldap,
        state: &mut State,
        attr: &str,
        mark: &str,
        deleted: &[String],
        cancel: &Cancel,
    ) -> Result<PollOutcome, SourceError> {
        let term = format!("({attr}>={})", ldap3::ldap_escape(mark));
        let mut skipped = Vec::new();
        let caches = std::mem::take(&mut state.caches);
        let result = self
            .records(ldap, Some(&term), caches, &mut skipped, cancel)
            .await;
        let (records, new_mark, mut caches) = match result {
            Ok(r) => r,
            Err(e) => {
                // The caches were lost with the failed poll: the next full listing rebuilds.
                state.last_full = None;
                return Err(e);
            }
        };
        caches.keep_all();
        state.caches = caches;
        if let Some(m) = new_mark {
            if later(&m, mark) {
                state.mark = Some(m);
            }
        }
        let mut changed = false;
        // Deletions first: an entry deleted and created again since is among `records`.
        for dn in deleted {
            if let Some(uid) = state.by_dn.remove(dn) {
                state.records.remove(&uid);
                changed = true;
            }
        }
        for mut record in records {
            let uid = record.contact.uid.clone();
            if let Some(old) = state.records.get(&uid) {
                if old.same_as(&mut record) {
                    continue;
                }
                // A rename (modrdn) keeps the uid and moves the DN.
                let old_dn = old.dn.clone();
                state.by_dn.remove(&old_dn);
            }
            state.by_dn.insert(record.dn.clone(), uid.clone());
            state.records.insert(uid, Stored::new(record));
            changed = true;
        }
        if !changed && skipped.is_empty() && state.handed_out {
            return Ok(PollOutcome::unchanged());
        }
        if let Err(e) = self.name_outside_managers(ldap, state).await {
            // The records have changed, the listing has not: the next poll lists in full.
            state.last_full = None;
            return Err(e);
        }
        state.resolve();
        Ok(PollOutcome {
            skipped,
            ..PollOutcome::default()
        })
    }
}

impl State {
    /// Names managers and turns member DNs into uids (nested groups flattened, see
    /// [`flatten`]). A contact whose resolution did not change keeps its shared copy; a
    /// changed one is copied only if the store still holds it.
    fn resolve(&mut self) {
        let resolutions: Vec<(Option<String>, Vec<String>)> = self
            .records
            .values()
            .map(|r| {
                let manager = r.manager_dn.as_deref().map(|dn| self.manager_name(dn));
                let members = if r.contact.kind == ContactKind::Group {
                    flatten((r.contact.uid.as_str(), r.member_dns.as_slice()), |dn| {
                        self.member(dn)
                    })
                } else {
                    Vec::new()
                };
                (manager, members)
            })
            .collect();
        for (record, (manager, members)) in self.records.values_mut().zip(resolutions) {
            if record.contact.manager != manager || record.contact.members != members {
                let contact = Arc::make_mut(&mut record.contact);
                contact.manager = manager;
                contact.members = members;
            }
        }
    }

    /// The manager's card name, else the name read from its entry, else its DN's first RDN.
    fn manager_name(&self, dn: &str) -> String {
        let key = normalize_dn(dn);
        self.by_dn
            .get(&key)
            .and_then(|uid| self.records.get(uid))
            .map(|m| m.contact.formatted_name.clone())
            .filter(|name| !name.is_empty())
            .or_else(|| self.outside_names.get(&key).cloned())
            .unwrap_or_else(|| first_rdn_value(dn))
    }

    /// What a (normalized) member DN is in the book.
    fn member(&self, dn: &str) -> Option<Member<'_>> {
        let record = self.by_dn.get(dn).and_then(|uid| self.records.get(uid))?;
        Some(match record.contact.kind {
            ContactKind::Group => Member::Group(&record.contact.uid, &record.member_dns),
            _ => Member::Person(&record.contact.uid),
        })
    }

    fn listing(&self) -> Vec<Arc<Contact>> {
        self.records
            .values()
            .map(|r| Arc::clone(&r.contact))
            .collect()
    }
}

/// The people filter: the configured one, or the preset's (with AD contact objects unless
/// `include_contacts = false`).
fn people_filter(settings: &LdapSettings) -> Result<String, String> {
    match (&settings.filter, settings.include_contacts, settings.preset) {
        (Some(_), Some(_), _) => Err(
            "include_contacts: applies to the preset's filter only; with your own filter, add \
             (objectClass=contact) to it yourself"
                .into(),
        ),
        (_, Some(_), Preset::Openldap) => {
            Err("include_contacts: only for preset = \"active-directory\"".into())
        }
        (Some(filter), None, _) => Ok(filter.clone()),
        (None, contacts, preset) => Ok(preset_people_filter(preset, contacts.unwrap_or(true))),
    }
}

/// Whether change-attribute value `a` is after `b`: numerically for USNs, as text for
/// GeneralizedTime (fixed-width, so text order is time order).
fn later(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}

/// Rejects filters that are obviously not LDAP filters before any server sees them.
fn check_filter(filter: &str) -> Result<(), String> {
    let filter = filter.trim();
    if !(filter.starts_with('(') && filter.ends_with(')')) {
        return Err(format!("{filter:?} must be enclosed in parentheses"));
    }
    let mut depth: i64 = 0;
    for c in filter.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return Err(format!("{filter:?} has unbalanced parentheses"));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Source for LdapSource {
    fn id(&self) -> &str {
        &self.id
    }

    /// The password and CA files: a service password an operator just changed is tried at
    /// once, not after the wait a refused bind earns.
    async fn fingerprint(&self) -> Option<String> {
        let server = &self.settings.server;
        let files: Vec<std::path::PathBuf> = [&server.bind_password_file, &server.ca_file]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        crate::regular::fingerprint(&files)
    }

    async fn poll(&self, cancel: &Cancel, intake: &Intake) -> Result<PollOutcome, SourceError> {
        let mut state = self.state.lock().await;
        let mut ldap = connect_service(&self.settings.server).await?;
        ldap.with_timeout(self.settings.server.timeout);
        let (notes, position) = self.live.take_notes();
        let due_full = notes.relist
            || state
                .last_full
                .is_none_or(|t| t.elapsed() >= self.settings.full_listing_interval);
        let result = match (&self.change_attribute, state.mark.clone(), due_full) {
            (Some(attr), Some(mark), false) => {
                self.incremental(&mut ldap, &mut state, attr, &mark, &notes.deleted, cancel)
                    .await
            }
            _ => self.full_listing(&mut ldap, &mut state, cancel).await,
        };
        match &result {
            Ok(outcome) => {
                if !outcome.unchanged {
                    intake.take_all(state.listing());
                }
                state.unsaved |= !outcome.unchanged || position != state.position;
                state.position = position;
                state.handed_out = true;
            }
            Err(_) => self.live.restore_notes(notes),
        }
        let _ = ldap.unbind().await;
        result
    }

    async fn checkpoint(&self) -> Option<Vec<u8>> {
        crate::checkpoint::take_unsaved(&mut *self.state.lock().await)
    }

    async fn resume(&self, saved: &[u8]) {
        let mut state = self.state.lock().await;
        match checkpoint::load(saved) {
            Ok((resumed, position)) => {
                tracing::info!(
                    source = %self.id,
                    entries = resumed.records.len(),
                    "resumed: the next poll reads what changed since the checkpoint"
                );
                *state = resumed;
                self.live.resume(position);
            }
            Err(e) => {
                tracing::warn!(source = %self.id, "checkpoint not used, listing in full: {e}")
            }
        }
    }

    /// Syncrepl against OpenLDAP, change notifications against Active Directory.
    async fn watch(&self, changes: &crate::Changes) -> crate::WatchEnd {
        self.watch_directory(changes).await
    }
}

impl crate::checkpoint::Checkpointed for State {
    fn unsaved(&mut self) -> &mut bool {
        &mut self.unsaved
    }

    fn save(&self) -> Option<Vec<u8>> {
        checkpoint::save(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source from the JSON form of its settings (server and base filled in).
    fn source(settings: serde_json::Value) -> Result<LdapSource, String> {
        let mut value = serde_json::json!({"server": {"url": "ldap://localhost"}, "base": "dc=x"});
        if let (Some(all), Some(extra)) = (value.as_object_mut(), settings.as_object()) {
            all.extend(extra.clone());
        }
        let settings = serde_json::from_value(value).map_err(|e| e.to_string())?;
        LdapSource::new("d".into(), settings)
    }

    fn filter(settings: serde_json::Value) -> String {
        source(settings).map_or_else(|e| e, |s| s.filter)
    }

    fn person(uid: &str, manager_dn: &str) -> Stored {
        Stored::new(Record {
            dn: format!("cn={uid},o=x"),
            contact: shared(Contact {
                uid: uid.into(),
                formatted_name: uid.into(),
                ..Contact::default()
            }),
            manager_dn: Some(manager_dn.into()),
            member_dns: Vec::new(),
        })
    }

    #[test]
    fn managers_outside_the_book_keep_their_own_name() {
        let mut state = State::default();
        state
            .records
            .insert("a".into(), person("a", "CN=Doe\\, Jane,OU=Gone,DC=x"));
        state
            .records
            .insert("b".into(), person("b", "CN=Disabled User 0,OU=Staff,DC=x"));
        state.outside_names.insert(
            normalize_dn("cn=disabled user 0, ou=staff, dc=x"),
            "Dee Zero".into(),
        );
        state.resolve();
        let manager = |uid: &str| state.records[uid].contact.manager.clone();
        // Not readable: the RDN value, unescaped, as written.
        assert_eq!(manager("a").as_deref(), Some("Doe, Jane"));
        // Read from the entry (its displayName).
        assert_eq!(manager("b").as_deref(), Some("Dee Zero"));
    }

    #[test]
    fn active_directory_lists_contact_objects_unless_told_not_to() {
        let ad = serde_json::json!({"preset": "active-directory"});
        assert!(filter(ad).contains("(objectClass=contact)"));
        let without = serde_json::json!({"preset": "active-directory", "include_contacts": false});
        let users = filter(without);
        assert!(users.starts_with("(&(objectClass=user)"), "{users}");
        assert!(!users.contains("contact"), "{users}");
        let own = serde_json::json!({
            "preset": "active-directory", "filter": "(objectClass=user)", "include_contacts": true
        });
        assert!(filter(own).starts_with("include_contacts: applies to the preset's filter"));
        let openldap = serde_json::json!({"include_contacts": true});
        assert!(filter(openldap).starts_with("include_contacts: only for preset"));
    }
}
