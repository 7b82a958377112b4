//! The RFC 4533 (content synchronization) messages a syncrepl change stream carries: the
//! Sync State control on each entry and the Sync Info intermediate message. Decoded here
//! rather than with ldap3's parsers, which panic on a value they do not expect: whatever the
//! server sends, a malformed message is `None`, never a panic.

use ldap3::asn1::{parse_tag, StructureTag, TagClass, PL};
use ldap3::controls::Control;

/// The Sync State control's OID.
const SYNC_STATE_OID: &str = "1.3.6.1.4.1.4203.1.9.1.2";
/// The Sync Info intermediate message's name.
const SYNC_INFO_OID: &str = "1.3.6.1.4.1.4203.1.9.1.4";

/// What happened to an entry (Sync State control, RFC 4533 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    Present,
    Add,
    Modify,
    Delete,
}

/// An entry's Sync State control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub state: EntryState,
    pub entry_uuid: Vec<u8>,
    pub cookie: Option<Vec<u8>>,
}

/// A Sync Info message (RFC 4533 §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncInfo {
    NewCookie(Vec<u8>),
    /// refreshDelete or refreshPresent: the end of a refresh phase when `done`.
    Refresh {
        cookie: Option<Vec<u8>>,
        done: bool,
    },
    /// Entries named by UUID only: deleted (when `deletes`) or present.
    IdSet {
        cookie: Option<Vec<u8>>,
        deletes: bool,
        uuids: Vec<Vec<u8>>,
    },
}

/// The Sync State control among an entry's controls.
pub fn sync_state(controls: &[Control]) -> Option<SyncState> {
    let raw = controls.iter().find(|c| c.1.ctype == SYNC_STATE_OID)?;
    let (_, tag) = parse_tag(raw.1.val.as_deref()?).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    let state = match parts.next()?.expect_primitive()?.as_slice() {
        [0] => EntryState::Present,
        [1] => EntryState::Add,
        [2] => EntryState::Modify,
        [3] => EntryState::Delete,
        _ => return None,
    };
    let entry_uuid = parts.next()?.expect_primitive()?;
    let cookie = parts.next().and_then(StructureTag::expect_primitive);
    Some(SyncState {
        state,
        entry_uuid,
        cookie,
    })
}

/// The Sync Info value of an IntermediateResponse (`[APPLICATION 25]`); `None` for any other
/// message or a malformed one.
pub fn sync_info(message: StructureTag) -> Option<SyncInfo> {
    let mut name = None;
    let mut value = None;
    for part in message.match_id(25)?.expect_constructed()? {
        match part.id {
            0 => name = part.expect_primitive(),
            1 => value = part.expect_primitive(),
            _ => {}
        }
    }
    if name.as_deref() != Some(SYNC_INFO_OID.as_bytes()) {
        return None;
    }
    let (_, info) = parse_tag(&value?).ok()?;
    if info.class != TagClass::Context {
        return None;
    }
    match (info.id, info.payload) {
        (0, PL::P(cookie)) => Some(SyncInfo::NewCookie(cookie)),
        (1 | 2, PL::C(parts)) => {
            let mut cookie = None;
            let mut done = true;
            for part in parts {
                match part.payload {
                    PL::P(bytes) if part.id == 4 => cookie = Some(bytes),
                    PL::P(bytes) if part.id == 1 => done = bytes.iter().any(|b| *b != 0),
                    _ => return None,
                }
            }
            Some(SyncInfo::Refresh { cookie, done })
        }
        (3, PL::C(parts)) => {
            let mut cookie = None;
            let mut deletes = false;
            let mut uuids = Vec::new();
            for part in parts {
                match part.payload {
                    PL::P(bytes) if part.id == 4 => cookie = Some(bytes),
                    PL::P(bytes) if part.id == 1 => deletes = bytes.iter().any(|b| *b != 0),
                    PL::C(set) if part.id == 17 => {
                        uuids = set
                            .into_iter()
                            .map(StructureTag::expect_primitive)
                            .collect::<Option<Vec<_>>>()?;
                    }
                    _ => return None,
                }
            }
            Some(SyncInfo::IdSet {
                cookie,
                deletes,
                uuids,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use ldap3::asn1::{write, ASNTag, Boolean, OctetString, Sequence, Tag};
    use ldap3::controls::RawControl;
    use proptest::prelude::*;

    use super::*;

    fn octets(id: u64, class: TagClass, bytes: &[u8]) -> Tag {
        Tag::OctetString(OctetString {
            id,
            class,
            inner: bytes.to_vec(),
        })
    }

    fn encode(tag: Tag) -> Vec<u8> {
        let mut buf = bytes::BytesMut::new();
        write::encode_into(&mut buf, tag.into_structure()).expect("encode");
        buf.to_vec()
    }

    /// An IntermediateResponse carrying the Sync Info `value`.
    fn intermediate(value: Tag) -> StructureTag {
        Tag::Sequence(Sequence {
            id: 25,
            class: TagClass::Application,
            inner: vec![
                octets(0, TagClass::Context, SYNC_INFO_OID.as_bytes()),
                octets(1, TagClass::Context, &encode(value)),
            ],
        })
        .into_structure()
    }

    #[test]
    fn a_delete_state_with_its_uuid_and_cookie() {
        let value = encode(Tag::Sequence(Sequence {
            inner: vec![
                Tag::Enumerated(ldap3::asn1::Enumerated {
                    inner: 3,
                    ..Default::default()
                }),
                octets(4, TagClass::Universal, b"0123456789abcdef"),
                octets(4, TagClass::Universal, b"rid=000,csn=1"),
            ],
            ..Default::default()
        }));
        let control = Control(
            None,
            RawControl {
                ctype: SYNC_STATE_OID.into(),
                crit: false,
                val: Some(value),
            },
        );
        assert_eq!(
            sync_state(&[control]),
            Some(SyncState {
                state: EntryState::Delete,
                entry_uuid: b"0123456789abcdef".to_vec(),
                cookie: Some(b"rid=000,csn=1".to_vec()),
            })
        );
    }

    #[test]
    fn the_end_of_a_refresh_and_a_new_cookie() {
        let refresh = intermediate(Tag::Sequence(Sequence {
            id: 1,
            class: TagClass::Context,
            inner: vec![
                octets(4, TagClass::Universal, b"csn=2"),
                Tag::Boolean(Boolean {
                    inner: true,
                    ..Default::default()
                }),
            ],
        }));
        assert_eq!(
            sync_info(refresh),
            Some(SyncInfo::Refresh {
                cookie: Some(b"csn=2".to_vec()),
                done: true
            })
        );
        let cookie = intermediate(octets(0, TagClass::Context, b"csn=3"));
        assert_eq!(
            sync_info(cookie),
            Some(SyncInfo::NewCookie(b"csn=3".to_vec()))
        );
    }

    proptest! {
        /// Whatever a server sends as a control value or an intermediate message: no panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let control = Control(None, RawControl {
                ctype: SYNC_STATE_OID.into(),
                crit: false,
                val: Some(bytes.clone()),
            });
            let _ = sync_state(&[control]);
            let _ = sync_info(intermediate(octets(4, TagClass::Universal, &bytes)));
            if let Ok((_, tag)) = parse_tag(&bytes) {
                let _ = sync_info(intermediate(Tag::StructureTag(tag)));
            }
        }
    }
}
