//! The operator files in the state directory: the status file `status.json` the running server
//! writes (read by `cardbridge status`), and the accept requests `accept/<book>` written by
//! `cardbridge accept` (consumed by the poller). Not the state file (`store::StateFile`).
//!
//! Files rather than a socket: they work with the server stopped too, need no extra port,
//! and are written atomically (temp file + rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::Hold;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceStatus {
    /// Unix seconds of the last poll attempt and of the last successful one.
    pub last_poll: Option<u64>,
    pub last_success: Option<u64>,
    /// The last poll's error; `None` when it succeeded.
    pub error: Option<String>,
    /// Its cause in one word (unreachable, refused, rate-limited, unreadable, bad-data,
    /// config, timeout, state-file), which decided when the source is tried again.
    #[serde(default)]
    pub cause: Option<String>,
    pub consecutive_failures: u32,
    /// How long the last poll took, in milliseconds (successful or not).
    #[serde(default)]
    pub last_duration_ms: Option<u64>,
    pub contacts: usize,
    pub skipped: usize,
    /// The first few skipped records of the last listing, with where and why.
    #[serde(default)]
    pub skipped_sample: Vec<SkippedStatus>,
    /// Unix seconds of the next scheduled poll (a changed file is polled sooner).
    #[serde(default)]
    pub next_poll: Option<u64>,
    /// The last poll that had to wait out the server's rate limit (kept until the next one).
    #[serde(default)]
    pub throttled: Option<ThrottledStatus>,
    /// How changes reach the source's books: "live (syncrepl)", "live (inotify)", … or
    /// "polling (why it is not watched)".
    #[serde(default)]
    pub live: Option<String>,
}

/// A record a source could not turn into a contact: `file:line`, a DN or a resource name,
/// and why.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SkippedStatus {
    pub location: String,
    pub reason: String,
}

/// "throttled by Google: 4 retries, 37 s waited", and when.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ThrottledStatus {
    pub at: u64,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HoldStatus {
    pub removals: usize,
    pub members_now: usize,
    pub members_held: usize,
    pub since: u64,
    /// Names of some of the cards it would remove.
    #[serde(default)]
    pub sample: Vec<String>,
}

impl From<&Hold> for HoldStatus {
    fn from(hold: &Hold) -> Self {
        HoldStatus {
            removals: hold.removals,
            members_now: hold.members_now,
            members_held: hold.members_held,
            since: hold.since,
            sample: hold.sample.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BookStatus {
    pub members: usize,
    pub token: String,
    pub published: u64,
    pub hold: Option<HoldStatus>,
}

/// The contents of the status file: every source's last poll and every book's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub written: u64,
    /// The server process that wrote the file (`cardbridge reload` signals it).
    #[serde(default)]
    pub pid: Option<u32>,
    /// The last configuration reload, when there has been one.
    #[serde(default)]
    pub reload: Option<ReloadStatus>,
    pub sources: BTreeMap<String, SourceStatus>,
    pub books: BTreeMap<String, BookStatus>,
}

/// When the configuration was last reloaded, and why it was refused if it was.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReloadStatus {
    /// Unix milliseconds, so a `cardbridge reload` can tell its own reload from an earlier one.
    pub at_ms: u64,
    pub error: Option<String>,
}

fn status_path(state_dir: &Path) -> PathBuf {
    state_dir.join("status.json")
}

fn accept_path(state_dir: &Path, book: &str) -> PathBuf {
    state_dir.join("accept").join(book)
}

impl Status {
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        let path = status_path(state_dir);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)
    }

    pub fn read(state_dir: &Path) -> Result<Status, String> {
        let path = status_path(state_dir);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (has `cardbridge serve` run with this config?)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The human-readable report `cardbridge status` prints.
    pub fn render(&self, now: u64) -> String {
        let ago = |t: u64| format!("{}s ago", now.saturating_sub(t));
        let mut out = String::new();
        if let Some(reload) = &self.reload {
            let at = ago(reload.at_ms / 1000);
            match &reload.error {
                None => out.push_str(&format!("configuration reloaded {at}\n")),
                Some(e) => out.push_str(&format!(
                    "configuration reload REFUSED {at} (the previous one stays): {e}\n"
                )),
            }
        }
        for (id, book) in &self.books {
            out.push_str(&format!(
                "book {id}: {} cards, token {}, published {}\n",
                book.members,
                book.token,
                ago(book.published)
            ));
            if let Some(hold) = &book.hold {
                out.push_str(&format!(
                    "  HELD since {}: a poll would remove {} of {} cards (leaving {}); \
                     run `cardbridge accept -c CONFIG --book {id}` to let it through\n",
                    ago(hold.since),
                    hold.removals,
                    hold.members_now,
                    hold.members_held
                ));
                if !hold.sample.is_empty() {
                    out.push_str(&format!("  it removes e.g. {}\n", hold.sample.join(", ")));
                }
            }
        }
        for (id, source) in &self.sources {
            let last = source.last_poll.map_or_else(|| "never".to_string(), ago);
            match &source.error {
                None => out.push_str(&format!(
                    "source {id}: ok, {} contacts, {} skipped, last poll {last}\n",
                    source.contacts, source.skipped
                )),
                Some(error) => out.push_str(&format!(
                    "source {id}: FAILING ({}{} in a row, last poll {last}, last success {}): \
                     {error}\n",
                    source
                        .cause
                        .as_deref()
                        .map_or_else(String::new, |c| format!("{c}, ")),
                    source.consecutive_failures,
                    source.last_success.map_or_else(|| "never".to_string(), ago)
                )),
            }
            if let Some(live) = &source.live {
                out.push_str(&format!("  changes: {live}\n"));
            }
            if let Some(throttled) = &source.throttled {
                out.push_str(&format!(
                    "  {} in the poll {}\n",
                    throttled.message,
                    ago(throttled.at)
                ));
            }
        }
        out
    }
}

/// Asks the running server to let the held poll of `book` through.
pub fn request_accept(state_dir: &Path, book: &str) -> std::io::Result<()> {
    let path = accept_path(state_dir, book);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, b"")
}

/// Whether an accept was requested for `book` (the request is consumed).
pub fn take_accept(state_dir: &Path, book: &str) -> bool {
    std::fs::remove_file(accept_path(state_dir, book)).is_ok()
}
