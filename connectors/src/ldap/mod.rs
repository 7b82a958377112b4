//! LDAP and Active Directory as a contact source, and the directory side of LDAP login.
//!
//! A poll is either a full paged listing of every base (the only way to notice deletions) or,
//! in between, an incremental search for entries whose change attribute (modifyTimestamp,
//! uSNChanged) moved past the highest value seen. Either way the source hands the store a
//! complete listing, so what clients see is the diff. Any search error fails the poll as a
//! whole: a partial listing would look like mass deletion.

mod connect;
mod groups;
pub mod login;
mod mapping;
mod people;
mod reuse;
mod search;
mod settings;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ldap3::Ldap;
use tokio::time::Instant;

pub use connect::{connect_as, connect_service, ConnectError};
pub use mapping::{Field, Mapping};
pub use settings::{GroupSettings, LdapSettings, OneOrMany, Preset, Scope, ServerSettings};

use crate::{Contact, ContactKind, PollOutcome, SkippedRecord, Source, SourceError};
pub use groups::normalize_dn;
use groups::{first_rdn_value, member_dns};
use people::{Caches, Mapped, Worker};
use search::{search_all, search_each, Entry, Query};

pub struct LdapSource {
    id: String,
    settings: LdapSettings,
    mapping: Arc<Mapping>,
    bases: Vec<String>,
    filter: String,
    groups: Option<GroupQuery>,
    change_attribute: Option<String>,
    state: tokio::sync::Mutex<State>,
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
}

/// A record as kept between polls: the contact resolved (manager named, members as uids) and
/// shared with the listing the store holds, so the directory is in memory once.
struct Stored {
    dn: String,
    contact: Arc<Contact>,
    manager_dn: Option<String>,
    member_dns: Vec<String>,
}

impl Stored {
    fn new(record: Record) -> Stored {
        let mut contact = record.contact;
        contact.shrink_to_fit();
        Stored {
            dn: record.dn,
            contact: Arc::new(contact),
            manager_dn: record.manager_dn,
            member_dns: record.member_dns,
        }
    }

    /// Whether `record` (fresh from the directory, unresolved) says what this one says.
    fn same_as(&self, record: &Record) -> bool {
        if self.dn != record.dn
            || self.manager_dn != record.manager_dn
            || self.member_dns != record.member_dns
        {
            return false;
        }
        let mut unresolved = Contact::clone(&self.contact);
        unresolved.manager = None;
        unresolved.members = Vec::new();
        unresolved == record.contact
    }
}

/// A converted entry, before resolution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    dn: String,
    contact: Contact,
    manager_dn: Option<String>,
    member_dns: Vec<String>,
}

/// Default filters of the presets.
fn preset_filters(preset: Preset) -> (&'static str, &'static str) {
    match preset {
        Preset::Openldap => (
            "(objectClass=inetOrgPerson)",
            "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
        ),
        // Computers are AD users too; bit 2 of userAccountControl marks disabled accounts.
        Preset::ActiveDirectory => (
            "(&(objectClass=user)(!(objectClass=computer))(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
            "(objectClass=group)",
        ),
    }
}

fn preset_change_attribute(preset: Preset) -> &'static str {
    match preset {
        Preset::Openldap => "modifyTimestamp",
        Preset::ActiveDirectory => "uSNChanged",
    }
}

impl LdapSource {
    /// Validates the settings; the error is a message for the config file's reader.
    pub fn new(id: String, settings: LdapSettings) -> Result<LdapSource, String> {
        settings.server.validate()?;
        if let Some(region) = &settings.default_region {
            if !crate::phone::is_known_region(region) {
                return Err(format!(
                    "default_region: {region:?} is not an ISO 3166 region code such as \"US\""
                ));
            }
        }
        if settings.page_size < 1 {
            return Err("page_size: must be at least 1".into());
        }
        let bases = settings.base.clone().into_vec();
        if bases.is_empty() || bases.iter().any(|b| b.trim().is_empty()) {
            return Err("base: give one or more base DNs".into());
        }
        let mapping = Mapping::new(
            settings.preset,
            &settings.attributes,
            settings.uid_attribute.as_deref(),
            settings.default_region.clone(),
        )?;
        let (people_filter, group_filter) = preset_filters(settings.preset);
        let filter = settings
            .filter
            .clone()
            .unwrap_or_else(|| people_filter.to_string());
        check_filter(&filter).map_err(|e| format!("filter: {e}"))?;
        let groups = match &settings.groups {
            None => None,
            Some(g) => {
                let filter = g.filter.clone().unwrap_or_else(|| group_filter.to_string());
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
        let change_attribute = match settings.change_attribute.as_deref() {
            Some("") => None,
            Some(a) => Some(a.to_string()),
            None => Some(preset_change_attribute(settings.preset).to_string()),
        };
        Ok(LdapSource {
            id,
            settings,
            mapping: Arc::new(mapping),
            bases,
            filter,
            groups,
            change_attribute,
            state: tokio::sync::Mutex::default(),
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
        };
        let worker = tokio::task::spawn_blocking(move || worker.run(receiver));
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
        let (people, caches) = worker
            .await
            .map_err(|e| SourceError::Other(format!("converting entries failed: {e}")))?;
        searched.map_err(SourceError::Other)?;
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
                groups.extend(search_all(ldap, &query).await.map_err(SourceError::Other)?);
            }
        }
        Ok((people, groups, caches))
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
            .unwrap_or_else(|| first_rdn_value(&entry.dn));
        Ok(Record {
            dn: normalize_dn(&entry.dn),
            contact: Contact {
                uid,
                kind: ContactKind::Group,
                formatted_name: name.to_string(),
                note: entry.first_text("description").map(str::to_string),
                ..Contact::default()
            },
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
    ) -> Result<(Vec<Record>, Option<String>, Caches), SourceError> {
        let (people, groups, caches) = self.fetch(ldap, extra, caches).await?;
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
    ) -> Result<PollOutcome, SourceError> {
        let mut skipped = Vec::new();
        let caches = std::mem::take(&mut state.caches);
        let (records, mark, mut caches) = self.records(ldap, None, caches, &mut skipped).await?;
        caches.keep_used();
        // Unchanged entries keep their shared contact: no second copy, no churn in the store.
        let mut previous = std::mem::take(&mut state.records);
        let mut fresh = State {
            mark,
            caches,
            last_full: Some(Instant::now()),
            ..State::default()
        };
        for record in records {
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
                Some(old) if old.same_as(&record) => old,
                _ => Stored::new(record),
            };
            fresh.records.insert(stored.contact.uid.clone(), stored);
        }
        drop(previous);
        *state = fresh;
        state.resolve();
        Ok(PollOutcome {
            contacts: state.listing(),
            skipped,
            unchanged: false,
            notices: Vec::new(),
        })
    }

    async fn incremental(
        &self,
        ldap: &mut Ldap,
        state: &mut State,
        attr: &str,
        mark: &str,
    ) -> Result<PollOutcome, SourceError> {
        let term = format!("({attr}>={})", ldap3::ldap_escape(mark));
        let mut skipped = Vec::new();
        let caches = std::mem::take(&mut state.caches);
        let result = self.records(ldap, Some(&term), caches, &mut skipped).await;
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
        for record in records {
            let uid = record.contact.uid.clone();
            if let Some(old) = state.records.get(&uid) {
                if old.same_as(&record) {
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
        if !changed && skipped.is_empty() {
            return Ok(PollOutcome::unchanged());
        }
        state.resolve();
        Ok(PollOutcome {
            contacts: state.listing(),
            skipped,
            unchanged: false,
            notices: Vec::new(),
        })
    }
}

impl State {
    /// Names managers and turns member DNs into uids. A contact whose resolution did not
    /// change keeps its shared copy; a changed one is copied only if the store still holds it.
    fn resolve(&mut self) {
        let resolutions: Vec<(Option<String>, Vec<String>)> = self
            .records
            .values()
            .map(|r| {
                let manager = r.manager_dn.as_ref().map(|dn| {
                    self.by_dn
                        .get(dn)
                        .and_then(|uid| self.records.get(uid))
                        .map(|m| m.contact.formatted_name.clone())
                        .filter(|name| !name.is_empty())
                        .unwrap_or_else(|| first_rdn_value(dn).to_string())
                });
                let members = r
                    .member_dns
                    .iter()
                    .filter_map(|dn| self.by_dn.get(dn))
                    .filter(|uid| **uid != r.contact.uid)
                    .cloned()
                    .collect();
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

    fn listing(&self) -> Vec<Arc<Contact>> {
        self.records
            .values()
            .map(|r| Arc::clone(&r.contact))
            .collect()
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

    async fn poll(&self) -> Result<PollOutcome, SourceError> {
        let mut state = self.state.lock().await;
        let mut ldap = connect_service(&self.settings.server)
            .await
            .map_err(|e| SourceError::Other(e.to_string()))?;
        ldap.with_timeout(self.settings.server.timeout);
        let due_full = state
            .last_full
            .is_none_or(|t| t.elapsed() >= self.settings.full_listing_interval);
        let result = match (&self.change_attribute, state.mark.clone(), due_full) {
            (Some(attr), Some(mark), false) => {
                self.incremental(&mut ldap, &mut state, attr, &mark).await
            }
            _ => self.full_listing(&mut ldap, &mut state).await,
        };
        let _ = ldap.unbind().await;
        result
    }
}
