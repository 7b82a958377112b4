//! The directory's changes as they happen: OpenLDAP's content synchronization (RFC 4533,
//! syncrepl refreshAndPersist against the `syncprov` overlay) and Active Directory's change
//! notification control. Both are triggers: each change makes the poller poll at once
//! (debounced), and the poll reads the changed entries incrementally. What an incremental read
//! cannot see is noted for it here: the DNs of deleted entries (syncrepl's delete state or
//! entryUUID, an AD tombstone's RDN and lastKnownParent), or that only a full listing will do
//! (a resumed refresh that only lists what is present, e-syncRefreshRequired, too many
//! deletions at once). The syncrepl stream asks for no attributes ("1.1"): it costs the
//! server a DN per change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ldap3::controls::{MakeCritical, RawControl, RefreshMode, SyncRequest};
use ldap3::{Ldap, Scope};

use super::search::{read_entry, Entry};
use super::sync_messages::{sync_info, sync_state, EntryState, SyncInfo};
use super::{connect_service, normalize_dn, ConnectError, LdapSource, Preset};
use crate::{Changes, Live, WatchEnd};

/// Active Directory's change notification control (LDAP_SERVER_NOTIFICATION_OID).
const AD_NOTIFICATION_OID: &str = "1.2.840.113556.1.4.528";
/// Active Directory's show-deleted control: without it a deletion is never notified.
const AD_SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";

/// Deleted DNs kept for the next poll at most; past that it lists in full.
const MAX_NOTED: usize = 10_000;

/// What the change streams saw that the next poll must apply.
#[derive(Debug, Default)]
pub(super) struct Notes {
    /// Normalized DNs of entries deleted (or moved out of the filter) since the last poll.
    pub(super) deleted: Vec<String>,
    /// A change the stream cannot name entry by entry: the next poll lists in full.
    pub(super) relist: bool,
}

impl Notes {
    fn delete(&mut self, dn: Option<String>) {
        match dn {
            Some(dn) if self.deleted.len() < MAX_NOTED => self.deleted.push(dn),
            _ => self.relist = true,
        }
    }
}

/// Where the change streams are: each base's last cookie, and the entryUUID → DN of every
/// entry they reported (syncrepl names some deletions by UUID only). Taken with the notes, so
/// a checkpoint's cookie never covers a change its listing lacks.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Position {
    pub(super) cookies: HashMap<String, Vec<u8>>,
    pub(super) uuids: HashMap<Vec<u8>, String>,
}

#[derive(Default)]
struct Tracked {
    notes: Notes,
    position: Position,
}

/// What the streams of one source share with its polls; a reconnect resumes each base from
/// its cookie instead of refreshing it whole.
#[derive(Default)]
pub(super) struct Shared(Mutex<Tracked>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tracked> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The notes gathered since the last poll (emptied), and the position they reach.
    pub(super) fn take_notes(&self) -> (Notes, Position) {
        let mut tracked = self.lock();
        (std::mem::take(&mut tracked.notes), tracked.position.clone())
    }

    /// Gives the notes of a poll that failed back, for the next one.
    pub(super) fn restore_notes(&self, notes: Notes) {
        let mut tracked = self.lock();
        tracked.notes.relist |= notes.relist;
        for dn in notes.deleted {
            tracked.notes.delete(Some(dn));
        }
    }

    /// Resumes from a checkpoint's position.
    pub(super) fn resume(&self, position: Position) {
        self.lock().position = position;
    }

    fn note(&self, f: impl FnOnce(&mut Notes)) {
        f(&mut self.lock().notes);
    }

    fn cookie(&self, base: &str) -> Option<Vec<u8>> {
        self.lock().position.cookies.get(base).cloned()
    }

    /// Records one stream message: its note (before the cookie that covers it), the DN its
    /// entry has now (or `None`: deleted), and the new cookie.
    fn record(
        &self,
        base: &str,
        uuid: Option<(&[u8], Option<String>)>,
        note: impl FnOnce(&mut Notes),
        cookie: Option<Vec<u8>>,
    ) {
        let mut tracked = self.lock();
        note(&mut tracked.notes);
        if let Some((uuid, dn)) = uuid {
            match dn {
                Some(dn) => {
                    tracked.position.uuids.insert(uuid.to_vec(), dn);
                }
                None => {
                    tracked.position.uuids.remove(uuid);
                }
            }
        }
        if let Some(cookie) = cookie {
            tracked.position.cookies.insert(base.to_string(), cookie);
        }
    }

    /// The DN of a deleted entry known by its UUID only.
    fn dn_of(&self, uuid: &[u8]) -> Option<String> {
        self.lock().position.uuids.get(uuid).cloned()
    }

    fn forget_cookie(&self, base: &str) {
        self.lock().position.cookies.remove(base);
    }
}

/// One base's change stream, with what it reports to.
struct Stream {
    ldap: Ldap,
    base: String,
    scope: Scope,
    filter: String,
    shared: Arc<Shared>,
    changes: Changes,
    /// Streams whose refresh is done, of `total`: the source is live when all are.
    ready: Arc<AtomicUsize>,
    total: usize,
}

impl Stream {
    fn ready(&self, how: Live) {
        if self.ready.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
            self.changes.live(how);
        }
    }

    /// Follows the base with syncrepl (refreshAndPersist) until the stream ends.
    async fn syncrepl(mut self) -> WatchEnd {
        let cookie = self.shared.cookie(&self.base);
        let resumed = cookie.is_some();
        let request = SyncRequest {
            mode: RefreshMode::RefreshAndPersist,
            cookie,
            reload_hint: false,
        };
        let mut stream = match self
            .ldap
            .with_controls(request.critical())
            .streaming_search(&self.base, self.scope, &self.filter, vec!["1.1"])
            .await
        {
            Ok(s) => s,
            Err(e) => return lost(&self.base, e),
        };
        let mut refreshing = true;
        // A resumed refresh that lists what is present (the cookie is older than the
        // server's session log): deletions are implied, only a full listing finds them.
        let mut implied = false;
        loop {
            let message = match stream.next().await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return lost(&self.base, e),
            };
            if message.is_intermediate() {
                let (cookie, ends_refresh) = match sync_info(message.0) {
                    Some(SyncInfo::NewCookie(c)) => (Some(c), false),
                    Some(SyncInfo::Refresh { cookie, done }) => (cookie, done),
                    Some(SyncInfo::IdSet {
                        cookie,
                        deletes: true,
                        uuids,
                    }) => {
                        for uuid in &uuids {
                            // An entry never reported was never listed.
                            if let Some(dn) = self.shared.dn_of(uuid) {
                                self.shared.record(
                                    &self.base,
                                    Some((uuid, None)),
                                    |n| n.delete(Some(dn)),
                                    None,
                                );
                            }
                        }
                        if !refreshing {
                            self.changes.changed();
                        }
                        (cookie, false)
                    }
                    Some(SyncInfo::IdSet {
                        cookie,
                        deletes: false,
                        ..
                    }) => {
                        implied |= resumed;
                        (cookie, false)
                    }
                    None => (None, false),
                };
                self.shared.record(&self.base, None, |_| {}, cookie);
                if ends_refresh && refreshing {
                    refreshing = false;
                    self.ready(Live::Syncrepl);
                    if implied {
                        self.shared.note(|n| n.relist = true);
                    }
                    // What changed before the stream started, or while no stream ran: an
                    // incremental poll reads it.
                    self.changes.changed();
                }
                continue;
            }
            let Some(state) = sync_state(&message.1) else {
                continue;
            };
            let dn = Entry::from_ber(message.0).map(|e| normalize_dn(&e.dn));
            let uuid = state.entry_uuid.as_slice();
            match state.state {
                EntryState::Delete => {
                    let dn = dn.or_else(|| self.shared.dn_of(uuid));
                    self.shared.record(
                        &self.base,
                        Some((uuid, None)),
                        |n| n.delete(dn),
                        state.cookie,
                    );
                }
                EntryState::Present | EntryState::Add | EntryState::Modify => {
                    implied |= resumed && refreshing && state.state == EntryState::Present;
                    self.shared
                        .record(&self.base, Some((uuid, dn)), |_| {}, state.cookie);
                }
            }
            if !refreshing {
                self.changes.changed();
            }
        }
        let done = stream.finish().await;
        match done.rc {
            // e-syncRefreshRequired: the cookie is too old for the server's history.
            4096 => {
                self.shared.forget_cookie(&self.base);
                self.shared.note(|n| n.relist = true);
                self.changes.changed();
                WatchEnd::Lost(format!(
                    "the server asks for a full reload under {:?} (e-syncRefreshRequired)",
                    self.base
                ))
            }
            // unavailableCriticalExtension, unwillingToPerform: no syncprov on this database.
            12 | 53 => WatchEnd::Unsupported(format!(
                "the server does not offer content synchronization under {:?} (no syncprov \
                 overlay): {}",
                self.base, done.text
            )),
            rc => WatchEnd::Lost(format!(
                "the change stream under {:?} ended with result code {rc}: {}",
                self.base, done.text
            )),
        }
    }

    /// Follows the base with AD change notifications until the search ends. On the deleted
    /// objects container this sees deletions: a tombstone's DN keeps the entry's RDN and
    /// `lastKnownParent` its parent, which give the DN the next poll removes.
    async fn notifications(mut self) -> WatchEnd {
        let controls = vec![
            RawControl {
                ctype: AD_NOTIFICATION_OID.into(),
                crit: true,
                val: None,
            },
            RawControl {
                ctype: AD_SHOW_DELETED_OID.into(),
                crit: false,
                val: None,
            },
        ];
        let mut stream = match self
            .ldap
            .with_controls(controls)
            .streaming_search(
                &self.base,
                self.scope,
                "(objectClass=*)",
                vec!["isDeleted", "lastKnownParent"],
            )
            .await
        {
            Ok(s) => s,
            Err(e) => return lost(&self.base, e),
        };
        // The server answers only when something changes: a refusal comes at once, so a
        // stream that has not ended is taken as established.
        let mut ready = false;
        loop {
            let next = if ready {
                stream.next().await
            } else {
                match tokio::time::timeout(NOTIFICATION_REFUSAL, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        ready = true;
                        self.ready(Live::AdNotifications);
                        // What changed before the notifications started.
                        self.changes.changed();
                        continue;
                    }
                }
            };
            let message = match next {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return lost(&self.base, e),
            };
            match Entry::from_ber(message.0) {
                Some(e) if e.first_text("isDeleted") == Some("TRUE") => {
                    let dn = deleted_dn(&e);
                    self.shared.note(|n| n.delete(dn));
                }
                Some(_) => {}
                // Not an entry: what changed is unknown.
                None => self.shared.note(|n| n.relist = true),
            }
            self.changes.changed();
        }
        let done = stream.finish().await;
        match done.rc {
            12 | 53 => WatchEnd::Unsupported(format!(
                "the server refuses change notifications under {:?}: {}",
                self.base, done.text
            )),
            rc => WatchEnd::Lost(format!(
                "the change notifications under {:?} ended with result code {rc}: {}",
                self.base, done.text
            )),
        }
    }
}

/// How long a notification search has to be refused before it is taken as established.
const NOTIFICATION_REFUSAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The DN an AD tombstone had before its deletion: its RDN before the "\0ADEL:<guid>" AD
/// appends, under its `lastKnownParent`. Normalized; `None` when the tombstone lacks either.
fn deleted_dn(tombstone: &Entry) -> Option<String> {
    let (rdn, _) = tombstone.dn.split_once("\\0ADEL:")?;
    let parent = tombstone.first_text("lastKnownParent")?;
    Some(normalize_dn(&format!("{rdn},{parent}")))
}

fn lost(base: &str, e: ldap3::LdapError) -> WatchEnd {
    WatchEnd::Lost(format!("the change stream under {base:?} broke: {e}"))
}

impl LdapSource {
    /// Follows every base the source reads until one stream ends; the first end is the
    /// watch's (the others stop with it).
    pub(super) async fn watch_directory(&self, changes: &Changes) -> WatchEnd {
        let mut ldap = match connect_service(&self.settings.server).await {
            Ok(l) => l,
            Err(e @ ConnectError::Rejected { .. }) => return WatchEnd::Refused(e.to_string()),
            Err(e) => return WatchEnd::Lost(e.to_string()),
        };
        let mut bases: Vec<String> = self.bases.clone();
        let mut filter = self.filter.clone();
        if let Some(g) = &self.groups {
            bases.extend(g.bases.iter().cloned());
            filter = format!("(|{}{})", self.filter, g.filter);
        }
        bases.sort();
        bases.dedup();
        let mut watched: Vec<(String, Scope)> =
            bases.into_iter().map(|b| (b, Scope::Subtree)).collect();
        if self.settings.preset == Preset::ActiveDirectory {
            // Deletions are notified only in the deleted objects container.
            match deleted_objects(&mut ldap).await {
                Ok(Some(container)) => watched.push((container, Scope::OneLevel)),
                Ok(None) => {}
                Err(e) => return WatchEnd::Lost(e.to_string()),
            }
        }
        let ready = Arc::new(AtomicUsize::new(0));
        let mut streams = tokio::task::JoinSet::new();
        for (base, scope) in &watched {
            let stream = Stream {
                ldap: ldap.clone(),
                base: base.clone(),
                scope: *scope,
                filter: filter.clone(),
                shared: Arc::clone(&self.live),
                changes: changes.clone(),
                ready: Arc::clone(&ready),
                total: watched.len(),
            };
            match self.settings.preset {
                Preset::Openldap => streams.spawn(stream.syncrepl()),
                Preset::ActiveDirectory => streams.spawn(stream.notifications()),
            };
        }
        match streams.join_next().await {
            Some(Ok(end)) => end,
            Some(Err(e)) => WatchEnd::Lost(format!("the change stream stopped: {e}")),
            None => WatchEnd::Unsupported("no base to watch".into()),
        }
    }
}

/// The domain's deleted objects container, from the root DSE; `None` when the server does not
/// name a default naming context (deletions are then seen at the full listings only).
async fn deleted_objects(ldap: &mut Ldap) -> Result<Option<String>, crate::SourceError> {
    let attrs = ["defaultNamingContext".to_string()];
    let root = read_entry(ldap, "", &attrs).await?;
    Ok(root
        .as_ref()
        .and_then(|e| e.first_text("defaultNamingContext"))
        .map(|nc| format!("CN=Deleted Objects,{nc}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_names_the_entry_it_was() {
        let tombstone = Entry {
            dn: "CN=Doe\\, Jane\\0ADEL:cc88a027-8468-4402-b85b-faf78986f95b,CN=Deleted Objects,DC=corp,DC=example,DC=com".into(),
            attrs: vec![
                ("isDeleted".into(), vec![b"TRUE".to_vec()]),
                ("lastKnownParent".into(), vec![b"OU=Staff,DC=corp,DC=example,DC=com".to_vec()]),
            ],
        };
        assert_eq!(
            deleted_dn(&tombstone),
            Some(normalize_dn(
                "CN=Doe\\, Jane,OU=Staff,DC=corp,DC=example,DC=com"
            ))
        );
        let without_parent = Entry {
            attrs: Vec::new(),
            ..tombstone
        };
        assert_eq!(deleted_dn(&without_parent), None);
    }
}
