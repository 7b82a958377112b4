//! The Google source's checkpoint: each feed's sync token with the records it belongs to, the
//! contact groups and the photos in use. With it a restarted server asks Google for the
//! changes since the token instead of listing the whole account (and downloading every photo)
//! again. Photos that could not be used are not kept: they are tried again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::Feed;
use super::mapping::Mapped;
use super::{FeedState, State};
use crate::{Photo, SkippedRecord};

/// Bumped when the layout changes: a checkpoint of another version is not used.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    feeds: Vec<SavedFeed>,
    groups: BTreeMap<String, String>,
    photos: Vec<(String, Photo)>,
}

#[derive(Serialize, Deserialize)]
struct SavedFeed {
    feed: Feed,
    sync_token: Option<String>,
    records: BTreeMap<String, Mapped>,
    /// Where and why, of entries the listing could not read.
    unreadable: Vec<(String, String)>,
}

/// The checkpoint of `state`; `None` before any listing or when no feed has a sync token
/// (nothing to go on from).
pub(super) fn save(state: &State) -> Option<Vec<u8>> {
    if !state.listed || state.feeds.values().all(|f| f.sync_token.is_none()) {
        return None;
    }
    let checkpoint = Checkpoint {
        feeds: state
            .feeds
            .iter()
            .map(|(feed, f)| SavedFeed {
                feed: *feed,
                sync_token: f.sync_token.clone(),
                records: f.records.clone(),
                unreadable: f
                    .unreadable
                    .iter()
                    .map(|s| (s.location.clone(), s.reason.clone()))
                    .collect(),
            })
            .collect(),
        groups: state.groups.clone(),
        photos: state
            .photos
            .iter()
            .filter_map(|(url, p)| Some((url.clone(), p.as_ref().ok()?.clone())))
            .collect(),
    };
    crate::checkpoint::encode(VERSION, &checkpoint)
}

/// The state a checkpoint describes; its first poll still hands out the whole listing.
pub(super) fn load(bytes: &[u8]) -> Result<State, String> {
    let checkpoint: Checkpoint = crate::checkpoint::decode(VERSION, bytes)?;
    Ok(State {
        feeds: checkpoint
            .feeds
            .into_iter()
            .map(|f| {
                let state = FeedState {
                    sync_token: f.sync_token,
                    records: f.records,
                    unreadable: f
                        .unreadable
                        .into_iter()
                        .map(|(location, reason)| SkippedRecord { location, reason })
                        .collect(),
                };
                (f.feed, state)
            })
            .collect(),
        groups: checkpoint.groups,
        photos: checkpoint
            .photos
            .into_iter()
            .map(|(url, photo)| (url, Ok(photo)))
            .collect(),
        ..State::default()
    })
}
