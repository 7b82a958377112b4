//! The registrations: who asked for messages about which book, where to send them and until
//! when; plus the VAPID key and the topics. Every change is saved before it takes effect, so
//! a restart keeps both the key (phones' subscriptions are bound to it) and the subscriptions.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::saved::{self, Saved, Subscription};
use super::vapid::VapidKey;
use crate::config::PushSettings;

/// What a valid `push-register` asks for (keys already checked).
#[derive(Debug, Clone)]
pub struct Registration {
    pub push_resource: String,
    pub public_key: Vec<u8>,
    pub auth: Vec<u8>,
    /// The expiry the client asked for (Unix seconds), if any.
    pub expires: Option<u64>,
}

/// A registration as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub id: String,
    /// Unix seconds.
    pub expires: u64,
    /// Whether it is new (not an update of the same push resource for the same book).
    pub created: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegisterError {
    #[error("at most {0} push subscriptions per user")]
    TooMany(usize),
    #[error("the requested expiry is in the past")]
    Expired,
    #[error("push subscription not recorded: {0}")]
    Unsaved(String),
}

pub struct Registry {
    path: PathBuf,
    rng: SystemRandom,
    inner: Mutex<Inner>,
}

struct Inner {
    saved: Saved,
    vapid: Arc<VapidKey>,
}

fn random_bytes(rng: &SystemRandom, n: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0; n];
    rng.fill(&mut bytes)
        .map_err(|_| "no randomness available".to_string())?;
    Ok(bytes)
}

impl Registry {
    /// The registry saved in `state_dir`; the first start generates the VAPID key and the
    /// topic secret and saves them.
    pub fn open(state_dir: &Path) -> Result<Registry, String> {
        let path = saved::path(state_dir);
        let rng = SystemRandom::new();
        let saved = match Saved::read(&path)? {
            Some(saved) => saved,
            None => {
                let key = VapidKey::generate(&rng)?;
                let saved = Saved::new(key.pkcs8().to_vec(), random_bytes(&rng, 32)?);
                std::fs::create_dir_all(state_dir)
                    .map_err(|e| format!("{}: {e}", state_dir.display()))?;
                saved.write(&path)?;
                tracing::info!(key = %key.public_key(), "generated the VAPID key");
                saved
            }
        };
        let vapid = Arc::new(
            VapidKey::from_pkcs8(&saved.vapid_pkcs8, &rng)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        );
        Ok(Registry {
            path,
            rng,
            inner: Mutex::new(Inner { saved, vapid }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to a copy of the saved state, saves it, then keeps it.
    fn change<T>(&self, change: impl FnOnce(&mut Saved) -> T) -> Result<T, String> {
        let mut inner = self.lock();
        let mut next = inner.saved.clone();
        let out = change(&mut next);
        next.write(&self.path)?;
        inner.saved = next;
        Ok(out)
    }

    pub fn rng(&self) -> &SystemRandom {
        &self.rng
    }

    pub fn vapid(&self) -> Arc<VapidKey> {
        Arc::clone(&self.lock().vapid)
    }

    /// The book's push topic: stable, unique per book, and telling a push service (which sees
    /// it in the `Topic` header) nothing about the book's name.
    pub fn topic(&self, book: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.lock().saved.topic_secret);
        let tag = hmac::sign(&key, book.as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref().get(..16).unwrap_or_default())
    }

    /// Records (or renews, for the same user, book and push resource) a subscription.
    pub fn register(
        &self,
        user: &str,
        book: &str,
        registration: Registration,
        now: u64,
        settings: &PushSettings,
    ) -> Result<Registered, RegisterError> {
        let longest = now.saturating_add(settings.max_expiry.as_secs());
        let expires = registration.expires.map_or(longest, |e| e.min(longest));
        if expires <= now {
            return Err(RegisterError::Expired);
        }
        let fresh_id = random_bytes(&self.rng, 16)
            .map(|b| URL_SAFE_NO_PAD.encode(b))
            .map_err(RegisterError::Unsaved)?;
        let limit = settings.max_subscriptions_per_user;
        self.change(|saved| {
            let same = |s: &Subscription| {
                s.user == user && s.book == book && s.push_resource == registration.push_resource
            };
            if let Some(existing) = saved.subscriptions.iter_mut().find(|s| same(s)) {
                existing.public_key = registration.public_key;
                existing.auth = registration.auth;
                existing.expires = expires;
                return Ok(Registered {
                    id: existing.id.clone(),
                    expires,
                    created: false,
                });
            }
            saved.subscriptions.retain(|s| s.expires > now);
            let owned = saved
                .subscriptions
                .iter()
                .filter(|s| s.user == user)
                .count();
            if owned >= limit {
                return Err(RegisterError::TooMany(limit));
            }
            saved.subscriptions.push(Subscription {
                id: fresh_id.clone(),
                user: user.to_string(),
                book: book.to_string(),
                push_resource: registration.push_resource,
                public_key: registration.public_key,
                auth: registration.auth,
                expires,
            });
            Ok(Registered {
                id: fresh_id,
                expires,
                created: true,
            })
        })
        .map_err(RegisterError::Unsaved)?
    }

    /// Removes `user`'s registration `id`; `false` when there is no such (unexpired) one.
    pub fn unregister(&self, user: &str, id: &str, now: u64) -> Result<bool, String> {
        let known = self
            .lock()
            .saved
            .subscriptions
            .iter()
            .any(|s| s.id == id && s.user == user && s.expires > now);
        if !known {
            return Ok(false);
        }
        self.remove(id)?;
        Ok(true)
    }

    /// The unexpired subscriptions of `book`.
    pub fn active(&self, book: &str, now: u64) -> Vec<Subscription> {
        self.lock()
            .saved
            .subscriptions
            .iter()
            .filter(|s| s.book == book && s.expires > now)
            .cloned()
            .collect()
    }

    /// Subscription `id` as it is now, if it is still registered and unexpired.
    pub fn current(&self, id: &str, now: u64) -> Option<Subscription> {
        self.lock()
            .saved
            .subscriptions
            .iter()
            .find(|s| s.id == id && s.expires > now)
            .cloned()
    }

    /// Forgets subscription `id` (the push service said it is gone).
    pub fn remove(&self, id: &str) -> Result<(), String> {
        self.change(|saved| saved.subscriptions.retain(|s| s.id != id))
    }

    /// Forgets expired subscriptions; returns how many.
    pub fn sweep(&self, now: u64) -> Result<usize, String> {
        let expired = self
            .lock()
            .saved
            .subscriptions
            .iter()
            .filter(|s| s.expires <= now)
            .count();
        if expired == 0 {
            return Ok(0);
        }
        self.change(|saved| saved.subscriptions.retain(|s| s.expires > now))?;
        Ok(expired)
    }

    /// Replaces the VAPID key. Returns the old key and the subscriptions that were active
    /// (bound to it: they stop working and are forgotten; the caller tells them with the old
    /// key so their phones fetch the new key and register again).
    pub fn rotate(&self, now: u64) -> Result<(Arc<VapidKey>, Vec<Subscription>), String> {
        let key = Arc::new(VapidKey::generate(&self.rng)?);
        let pkcs8 = key.pkcs8().to_vec();
        let active = self.change(|saved| {
            saved.vapid_pkcs8 = pkcs8;
            let active = std::mem::take(&mut saved.subscriptions);
            active.into_iter().filter(|s| s.expires > now).collect()
        })?;
        let old = std::mem::replace(&mut self.lock().vapid, Arc::clone(&key));
        tracing::info!(key = %key.public_key(), "rotated the VAPID key");
        Ok((old, active))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> PushSettings {
        PushSettings {
            vapid_subject: "mailto:ops@example.com".into(),
            ttl: Duration::from_secs(60),
            urgency: "normal".into(),
            min_interval: Duration::ZERO,
            max_expiry: Duration::from_secs(100),
            max_subscriptions_per_user: 2,
            allow_plain_http: false,
        }
    }

    fn registration(resource: &str, expires: Option<u64>) -> Registration {
        Registration {
            push_resource: resource.into(),
            public_key: vec![4; 65],
            auth: vec![1; 16],
            expires,
        }
    }

    #[test]
    fn registrations_renew_expire_stay_per_user_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path()).unwrap();
        let s = settings();
        let first = registry
            .register(
                "alice",
                "staff",
                registration("https://p/1", Some(1050)),
                1000,
                &s,
            )
            .unwrap();
        assert!(first.created);
        assert_eq!(first.expires, 1050);
        // The same push resource again: the same registration, a new expiry (capped).
        let again = registry
            .register(
                "alice",
                "staff",
                registration("https://p/1", None),
                1010,
                &s,
            )
            .unwrap();
        assert_eq!(
            (again.id.as_str(), again.expires, again.created),
            (first.id.as_str(), 1110, false)
        );
        registry
            .register(
                "alice",
                "other",
                registration("https://p/2", None),
                1010,
                &s,
            )
            .unwrap();
        assert_eq!(
            registry.register("alice", "x", registration("https://p/3", None), 1010, &s),
            Err(RegisterError::TooMany(2))
        );
        assert_eq!(
            registry.register("bob", "x", registration("https://p/3", Some(900)), 1010, &s),
            Err(RegisterError::Expired)
        );
        // Bob cannot remove Alice's registration.
        assert_eq!(registry.unregister("bob", &first.id, 1020), Ok(false));

        let key = registry.vapid().public_key();
        let topic = registry.topic("staff");
        let reopened = Registry::open(dir.path()).unwrap();
        assert_eq!(reopened.vapid().public_key(), key);
        assert_eq!(reopened.topic("staff"), topic);
        assert_ne!(reopened.topic("other"), topic);
        assert_eq!(reopened.active("staff", 1020).len(), 1);
        assert!(reopened.active("staff", 1110).is_empty());
        assert_eq!(reopened.sweep(1110), Ok(2));
        assert_eq!(reopened.unregister("alice", &first.id, 1020), Ok(false));
    }
}
