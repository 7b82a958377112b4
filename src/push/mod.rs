//! WebDAV-Push for address books (the draft by the DAVx5 authors, `content.mkd` of
//! bitfireAT/webdav-push), over Web Push: phones register a subscription with a `POST` of
//! `push-register` to a book, and every published change of that book sends them a
//! `push-message` with the book's topic and new sync token, so they sync within seconds
//! instead of at their next poll.
//!
//! | file | job |
//! |---|---|
//! | `registry.rs` | [`Registry`]: registrations, the VAPID key, topics; saved on change |
//! | `saved.rs` | the push state file (`push.json` in the state directory) |
//! | `register.rs` | checking what a `push-register` asks for |
//! | `dispatch.rs` | [`Dispatcher`]: book changes to per-subscription workers, rate limit, retries |
//! | `deliver.rs` | one Web Push request and what its answer means |
//! | `ece.rs` | RFC 8291 message encryption (`aes128gcm`) |
//! | `vapid.rs` | RFC 8292 VAPID key and `Authorization` header |
//! | `message.rs` | the `push-message` bodies |
//! | `rotation.rs` | VAPID key rotation on request |
//!
//! Crypto is ring (already built for rustls and the Google source): ECDH P-256, HKDF-SHA256,
//! AES-128-GCM and ECDSA P-256 are all there, so push adds no crypto stack of its own.

mod deliver;
mod dispatch;
mod ece;
mod message;
mod register;
mod registry;
pub mod rotation;
mod saved;
mod vapid;

use std::path::Path;

pub use dispatch::{Dispatcher, Service};
pub use message::NS_PUSH;
pub use register::{check_registration, Invalid, RawRegistration};
pub use registry::{RegisterError, Registered, Registry};

use crate::config::PushSettings;

/// What the request path and the dispatcher share: the settings and the registry.
pub struct Push {
    pub settings: PushSettings,
    pub registry: Registry,
}

impl Push {
    /// Opens the push state in `state_dir` (creating the VAPID key on first use); a pending
    /// key rotation request is left for the dispatcher.
    pub fn open(settings: PushSettings, state_dir: &Path) -> Result<Push, String> {
        Ok(Push {
            registry: Registry::open(state_dir)?,
            settings,
        })
    }
}
