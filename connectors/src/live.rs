//! Change notifications: how a source that can see its changes as they happen (syncrepl, AD
//! change notifications, inotify) tells the poller to read it now instead of at the next poll
//! interval. A notification is only a trigger: the poller then runs the source's ordinary poll,
//! so every change goes through the same listing, removal guard and snapshot as a timed poll.

use std::sync::Arc;

/// The link between a source's watch and the poller: the watch says when it is established
/// ([`Changes::live`]) and when something changed ([`Changes::changed`]); the poller waits for
/// changes ([`Changes::next`]) and reports the mode.
#[derive(Clone)]
pub struct Changes(Arc<Inner>);

struct Inner {
    changed: tokio::sync::Notify,
    mode: tokio::sync::watch::Sender<Option<Live>>,
}

impl Default for Changes {
    fn default() -> Changes {
        Changes(Arc::new(Inner {
            changed: tokio::sync::Notify::new(),
            mode: tokio::sync::watch::Sender::new(None),
        }))
    }
}

impl Changes {
    /// The watch is established: changes arrive by `how`.
    pub fn live(&self, how: Live) {
        self.0.mode.send_replace(Some(how));
    }

    /// The watch ended: the source is polled on its interval only.
    pub fn not_live(&self) {
        self.0.mode.send_replace(None);
    }

    /// How changes arrive now, `None` while the source is only polled.
    pub fn mode(&self) -> Option<Live> {
        *self.0.mode.borrow()
    }

    /// A receiver of mode changes, for the status.
    pub fn modes(&self) -> tokio::sync::watch::Receiver<Option<Live>> {
        self.0.mode.subscribe()
    }

    /// Something changed in the source. A change signalled while nobody waits is kept (one),
    /// so none is lost between two polls.
    pub fn changed(&self) {
        self.0.changed.notify_one();
    }

    /// Waits for the next [`Changes::changed`].
    pub async fn next(&self) {
        self.0.changed.notified().await;
    }
}

/// How a watched source's changes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// RFC 4533 content synchronization (OpenLDAP's syncprov), refreshAndPersist.
    Syncrepl,
    /// Active Directory's change notification control (1.2.840.113556.1.4.528).
    AdNotifications,
    /// Filesystem notifications on the source's files.
    Inotify,
}

impl Live {
    /// Whether the watch sees every change the source's fingerprint would (the files it
    /// reads): then the poller need not stat them between polls.
    pub fn covers_fingerprint(self) -> bool {
        matches!(self, Live::Inotify)
    }
}

impl std::fmt::Display for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Live::Syncrepl => "syncrepl",
            Live::AdNotifications => "AD notifications",
            Live::Inotify => "inotify",
        })
    }
}

/// Why a source's watch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEnd {
    /// The source cannot report changes (a server without the feature, a kind of source with
    /// no push): it is polled on its interval, and not watched again until restarted.
    Unsupported(String),
    /// The watch broke (a lost connection): polled meanwhile, watched again after a backoff.
    Lost(String),
    /// The server refused the watch's credentials: watched again only after a long wait, as
    /// polls are (quick retries could lock the service account).
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_signalled_before_anyone_waits_is_kept() {
        let changes = Changes::default();
        changes.changed();
        changes.changed();
        tokio::time::timeout(std::time::Duration::from_secs(5), changes.next())
            .await
            .expect("the kept change");
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), changes.next())
                .await
                .is_err(),
            "two signals before a wait are one change"
        );
    }
}
