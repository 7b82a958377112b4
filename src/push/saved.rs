//! The push state on disk (`push.json` in the state directory): the VAPID key, the secret
//! topics are derived from, and the registered subscriptions. Written whole, atomically
//! (temp file, fsync, rename) and readable by the service user only: it holds a private key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bumped when the layout changes; a file from another version is refused, not misread.
const FORMAT: u32 = 1;

/// One registration: a phone's Web Push subscription for one user's view of one book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The registration id, the last segment of its registration URL.
    pub id: String,
    pub user: String,
    pub book: String,
    /// Where messages are POSTed (the Web Push "push resource").
    pub push_resource: String,
    /// The phone's P-256 ECDH public key (uncompressed).
    pub public_key: Vec<u8>,
    /// The phone's 16-byte authentication secret.
    pub auth: Vec<u8>,
    /// Unix seconds after which nothing is sent.
    pub expires: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    format: u32,
    /// The VAPID key as a PKCS#8 document.
    pub vapid_pkcs8: Vec<u8>,
    /// Keys the topics (an HMAC of the book id), so a push service cannot guess book names.
    pub topic_secret: Vec<u8>,
    pub subscriptions: Vec<Subscription>,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("push.json")
}

impl Saved {
    pub fn new(vapid_pkcs8: Vec<u8>, topic_secret: Vec<u8>) -> Saved {
        Saved {
            format: FORMAT,
            vapid_pkcs8,
            topic_secret,
            subscriptions: Vec::new(),
        }
    }

    /// The saved state, `None` when there is none yet.
    pub fn read(path: &Path) -> Result<Option<Saved>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let saved: Saved = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: {e}; restore it from a backup or delete it (phones then register again)",
                path.display()
            )
        })?;
        if saved.format != FORMAT {
            return Err(format!(
                "{}: format {} is not {FORMAT}; written by another cardbridge version",
                path.display(),
                saved.format
            ));
        }
        Ok(Some(saved))
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
        let text = serde_json::to_vec(self).map_err(|e| format!("{}: {e}", path.display()))?;
        let tmp = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(&text).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)
    }
}
