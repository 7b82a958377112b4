//! The `[store]` table: where the state file lives, how long the change log reaches back, and
//! when the removal guard holds a poll. (The store itself is `crate::store`.)

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::parse_duration;
use crate::store::{RemovalGuard, Retention};

fn default_log_retention() -> usize {
    10_000
}
fn default_guard_share() -> f64 {
    0.5
}
fn default_guard_min() -> usize {
    10
}

/// Where and how long sync state is kept, and when a poll is too destructive to publish.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// Directory of the state file (snapshots and change logs survive restarts). Without it
    /// state lives in memory only.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// Change-log entries kept per book; older sync tokens get a full resync.
    #[serde(default = "default_log_retention")]
    pub change_log_entries: usize,
    /// Drop change-log entries older than this ("30d"); none by default.
    #[serde(default)]
    pub change_log_max_age: Option<String>,
    /// A poll removing more than this share of a book is held until accepted.
    #[serde(default = "default_guard_share")]
    pub removal_guard_share: f64,
    /// ... but only when it removes at least this many cards.
    #[serde(default = "default_guard_min")]
    pub removal_guard_min: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            state_dir: None,
            change_log_entries: default_log_retention(),
            change_log_max_age: None,
            removal_guard_share: default_guard_share(),
            removal_guard_min: default_guard_min(),
        }
    }
}

impl StoreSettings {
    /// Resolves `state_dir` against `base` (the config file's directory) and derives the
    /// change-log retention and the removal guard.
    pub(super) fn resolve(
        mut self,
        base: &Path,
    ) -> Result<(StoreSettings, Retention, RemovalGuard), String> {
        self.state_dir = self.state_dir.map(|dir| base.join(dir));
        let max_age = match &self.change_log_max_age {
            Some(text) => {
                Some(parse_duration(text).map_err(|e| format!("[store] change_log_max_age: {e}"))?)
            }
            None => None,
        };
        if self.change_log_entries < 2 {
            return Err("[store] change_log_entries: must be at least 2".into());
        }
        if !(0.0..=1.0).contains(&self.removal_guard_share) {
            return Err("[store] removal_guard_share: must be between 0.0 and 1.0".into());
        }
        let retention = Retention {
            max_entries: self.change_log_entries,
            max_age,
        };
        let guard = RemovalGuard {
            share: self.removal_guard_share,
            min_removals: self.removal_guard_min,
        };
        Ok((self, retention, guard))
    }
}
