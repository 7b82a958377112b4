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
mod search;
mod settings;

use std::collections::{BTreeMap, HashMap};

use ldap3::Ldap;
use tokio::time::Instant;
use xxhash_rust::xxh3::xxh3_64;

pub use connect::{connect_as, connect_service, ConnectError};
pub use mapping::{Field, Mapping};
pub use settings::{GroupSettings, LdapSettings, OneOrMany, Preset, Scope, ServerSettings};

use crate::photo::normalize_photo;
use crate::{Contact, ContactKind, Photo, PollOutcome, SkippedRecord, Source, SourceError};
pub use groups::normalize_dn;
use groups::{first_rdn_value, member_dns};
use search::{search_all, Entry, Query};

pub struct LdapSource {
    id: String,
    settings: LdapSettings,
    mapping: Mapping,
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
    /// By uid; people and groups before manager / member resolution.
    records: BTreeMap<String, Record>,
    /// Normalized DN → uid.
    by_dn: HashMap<String, String>,
    /// Highest change-attribute value seen; incremental polls ask for entries at or above it.
    mark: Option<String>,
    last_full: Option<Instant>,
    /// Normalized photos by hash of the raw bytes, so unchanged photos are not re-encoded.
    photos: HashMap<u64, Option<Photo>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Record {
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
            mapping,
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

    /// People and (when configured) groups matching `extra` (an additional filter term).
    async fn fetch(
        &self,
        ldap: &mut Ldap,
        extra: Option<&str>,
    ) -> Result<(Vec<Entry>, Vec<Entry>), String> {
        let narrowed = |filter: &str| match extra {
            Some(term) => format!("(&{filter}{term})"),
            None => filter.to_string(),
        };
        let people_attrs = self.people_attributes();
        let filter = narrowed(&self.filter);
        let mut people = Vec::new();
        for base in &self.bases {
            let query = Query {
                base,
                scope: self.settings.scope.to_ldap(),
                filter: &filter,
                attrs: &people_attrs,
                page_size: self.settings.page_size,
            };
            people.extend(search_all(ldap, &query).await?);
        }
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
        Ok((people, groups))
    }

    /// A person entry as a record; a photo that cannot be used is reported and left out, the
    /// contact stays.
    fn person(
        &self,
        state: &mut State,
        entry: &Entry,
        skipped: &mut Vec<SkippedRecord>,
    ) -> Result<Record, SkippedRecord> {
        let uid = self.uid(entry)?;
        let mut contact = self.mapping.contact(uid, entry);
        let mut photo_error = None;
        if let Some(raw) = self.mapping.photo(entry) {
            let key = xxh3_64(raw);
            let photo = state.photos.entry(key).or_insert_with(|| {
                normalize_photo(raw, &self.settings.photos)
                    .map_err(|e| photo_error = Some(e.to_string()))
                    .ok()
            });
            contact.photo = photo.clone();
        }
        if let Some(error) = photo_error {
            skipped.push(SkippedRecord {
                location: entry.dn.clone(),
                reason: format!("photo left out: {error}"),
            });
        }
        Ok(Record {
            dn: normalize_dn(&entry.dn),
            contact,
            manager_dn: self.mapping.manager_dn(entry).map(normalize_dn),
            member_dns: Vec::new(),
        })
    }

    async fn group(&self, ldap: &mut Ldap, entry: &Entry) -> Result<Record, SkippedRecord> {
        let uid = self.uid(entry)?;
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

    fn uid(&self, entry: &Entry) -> Result<String, SkippedRecord> {
        self.mapping.uid.read(entry).ok_or_else(|| SkippedRecord {
            location: entry.dn.clone(),
            reason: format!(
                "no usable {} attribute to identify the entry",
                self.mapping.uid.attribute()
            ),
        })
    }

    /// Converts fetched entries to records; entries that cannot be converted are reported.
    async fn records(
        &self,
        ldap: &mut Ldap,
        state: &mut State,
        people: &[Entry],
        groups: &[Entry],
        skipped: &mut Vec<SkippedRecord>,
    ) -> Vec<Record> {
        let mut records = Vec::with_capacity(people.len() + groups.len());
        for entry in people {
            match self.person(state, entry, skipped) {
                Ok(r) => records.push(r),
                Err(s) => skipped.push(s),
            }
        }
        for entry in groups {
            match self.group(ldap, entry).await {
                Ok(r) => records.push(r),
                Err(s) => skipped.push(s),
            }
        }
        records
    }

    fn note_marks(&self, state: &mut State, entries: &[Entry]) {
        let Some(attr) = &self.change_attribute else {
            return;
        };
        for value in entries.iter().filter_map(|e| e.first_text(attr)) {
            if state.mark.as_deref().is_none_or(|mark| later(value, mark)) {
                state.mark = Some(value.to_string());
            }
        }
    }

    async fn full_listing(
        &self,
        ldap: &mut Ldap,
        state: &mut State,
    ) -> Result<PollOutcome, SourceError> {
        let (people, groups) = self.fetch(ldap, None).await.map_err(SourceError::Other)?;
        let mut skipped = Vec::new();
        let old_photos = std::mem::take(&mut state.photos);
        let mut fresh = State {
            photos: old_photos,
            ..State::default()
        };
        let records = self
            .records(ldap, &mut fresh, &people, &groups, &mut skipped)
            .await;
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
            fresh.records.insert(record.contact.uid.clone(), record);
        }
        // Keep only the photos still in use, so the cache does not grow forever.
        let used: std::collections::HashSet<&Photo> = fresh
            .records
            .values()
            .filter_map(|r| r.contact.photo.as_ref())
            .collect();
        let keep: Vec<u64> = fresh
            .photos
            .iter()
            .filter(|(_, p)| p.as_ref().is_none_or(|p| used.contains(p)))
            .map(|(k, _)| *k)
            .collect();
        let mut photos = HashMap::with_capacity(keep.len());
        for k in keep {
            if let Some(p) = fresh.photos.remove(&k) {
                photos.insert(k, p);
            }
        }
        fresh.photos = photos;
        self.note_marks(&mut fresh, &people);
        self.note_marks(&mut fresh, &groups);
        fresh.last_full = Some(Instant::now());
        *state = fresh;
        Ok(PollOutcome {
            contacts: state.resolved(),
            skipped,
            unchanged: false,
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
        let (people, groups) = self
            .fetch(ldap, Some(&term))
            .await
            .map_err(SourceError::Other)?;
        let mut skipped = Vec::new();
        let records = self
            .records(ldap, state, &people, &groups, &mut skipped)
            .await;
        let mut changed = false;
        for record in records {
            let uid = record.contact.uid.clone();
            if let Some(old) = state.records.get(&uid) {
                if *old == record {
                    continue;
                }
                // A rename (modrdn) keeps the uid and moves the DN.
                let old_dn = old.dn.clone();
                state.by_dn.remove(&old_dn);
            }
            state.by_dn.insert(record.dn.clone(), uid.clone());
            state.records.insert(uid, record);
            changed = true;
        }
        self.note_marks(state, &people);
        self.note_marks(state, &groups);
        if !changed && skipped.is_empty() {
            return Ok(PollOutcome::unchanged());
        }
        Ok(PollOutcome {
            contacts: state.resolved(),
            skipped,
            unchanged: false,
        })
    }
}

impl State {
    /// The listing with managers named and group members turned into uids.
    fn resolved(&self) -> Vec<Contact> {
        self.records
            .values()
            .map(|r| {
                let mut contact = r.contact.clone();
                contact.manager = r.manager_dn.as_ref().map(|dn| {
                    self.by_dn
                        .get(dn)
                        .and_then(|uid| self.records.get(uid))
                        .map(|m| m.contact.formatted_name.clone())
                        .filter(|name| !name.is_empty())
                        .unwrap_or_else(|| first_rdn_value(dn).to_string())
                });
                contact.members = r
                    .member_dns
                    .iter()
                    .filter_map(|dn| self.by_dn.get(dn))
                    .filter(|uid| **uid != r.contact.uid)
                    .cloned()
                    .collect();
                contact
            })
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
