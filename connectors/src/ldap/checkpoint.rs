//! The LDAP source's checkpoint: its records as of its last good poll, the change mark and the
//! syncrepl position that poll reached. With it a restarted server reads only what changed
//! since (the streams resume from their cookies, the poll from its mark) instead of listing
//! the directory again. Photos and phone caches are not kept: they are rebuilt as entries
//! change.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::live::Position;
use super::{State, Stored};
use crate::Contact;

/// Bumped when the layout changes: a checkpoint of another version is not used.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    records: Vec<SavedRecord>,
    mark: Option<String>,
    outside_names: HashMap<String, String>,
    position: Position,
}

#[derive(Serialize, Deserialize)]
struct SavedRecord {
    dn: String,
    contact: Contact,
    manager_dn: Option<String>,
    member_dns: Vec<String>,
}

/// The checkpoint of `state`; `None` before any listing, or when the source has no change
/// mark (every poll lists in full: there is nothing to resume).
pub(super) fn save(state: &State) -> Option<Vec<u8>> {
    if !state.handed_out || state.mark.is_none() {
        return None;
    }
    let checkpoint = Checkpoint {
        records: state
            .records
            .values()
            .map(|r| SavedRecord {
                dn: r.dn.clone(),
                contact: Contact::clone(&r.contact),
                manager_dn: r.manager_dn.clone(),
                member_dns: r.member_dns.clone(),
            })
            .collect(),
        mark: state.mark.clone(),
        outside_names: state.outside_names.clone(),
        position: state.position.clone(),
    };
    crate::checkpoint::encode(VERSION, &checkpoint)
}

/// The state a checkpoint describes, counted as freshly listed (the next full listing is a
/// whole interval away), and the position its streams resume from.
pub(super) fn load(bytes: &[u8]) -> Result<(State, Position), String> {
    let checkpoint: Checkpoint = crate::checkpoint::decode(VERSION, bytes)?;
    let mut state = State {
        mark: checkpoint.mark,
        outside_names: checkpoint.outside_names,
        last_full: Some(Instant::now()),
        position: checkpoint.position.clone(),
        ..State::default()
    };
    for record in checkpoint.records {
        let uid = record.contact.uid.clone();
        state.by_dn.insert(record.dn.clone(), uid.clone());
        state.records.insert(
            uid,
            Stored {
                dn: record.dn,
                contact: Arc::new(record.contact),
                manager_dn: record.manager_dn,
                member_dns: record.member_dns,
            },
        );
    }
    Ok((state, checkpoint.position))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_gives_back_the_records_mark_and_position() {
        let mut state = State {
            mark: Some("20260101000000Z".into()),
            handed_out: true,
            ..State::default()
        };
        state
            .position
            .cookies
            .insert("dc=x".into(), b"csn=1".to_vec());
        state
            .position
            .uuids
            .insert(vec![1; 16], "uid=a,dc=x".into());
        let contact = Contact {
            uid: "a".into(),
            formatted_name: "A".into(),
            ..Contact::default()
        };
        state.by_dn.insert("uid=a,dc=x".into(), "a".into());
        state.records.insert(
            "a".into(),
            Stored {
                dn: "uid=a,dc=x".into(),
                contact: Arc::new(contact.clone()),
                manager_dn: None,
                member_dns: Vec::new(),
            },
        );
        let bytes = save(&state).expect("a checkpoint");
        let (resumed, position) = load(&bytes).expect("loads");
        assert_eq!(position, state.position);
        assert_eq!(resumed.mark, state.mark);
        assert_eq!(resumed.by_dn, state.by_dn);
        assert_eq!(*resumed.records["a"].contact, contact);
        assert!(
            !resumed.handed_out,
            "the first poll hands out the whole listing"
        );
        assert!(load(&bytes[..bytes.len() / 2]).is_err());
    }
}
