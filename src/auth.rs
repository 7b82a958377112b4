//! HTTP Basic authentication against the configured users.
//!
//! argon2 verification is deliberately slow, and phones poll often: a successful login is
//! remembered for a short while under a salted hash of the credentials (never the password
//! itself), so a polling phone costs one hash lookup. Failures are never cached as success.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use base64::Engine;
use xxhash_rust::xxh3::Xxh3;

use crate::config::AuthSettings;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Anonymous mode: everybody reads everything.
    Anonymous,
    User(String),
}

impl Identity {
    /// The name used in principal and home URLs.
    pub fn principal_name(&self) -> &str {
        match self {
            Identity::Anonymous => ANONYMOUS_PRINCIPAL,
            Identity::User(name) => name,
        }
    }
}

/// The principal name used in anonymous mode.
pub const ANONYMOUS_PRINCIPAL: &str = "anonymous";

/// Why a request is not authenticated; both answer 401 with a challenge.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
}

pub struct Authenticator {
    users: Option<Arc<HashMap<String, String>>>,
    recent: moka::sync::Cache<u128, String>,
    salt: u128,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Authenticator {
        let users = match settings {
            AuthSettings::Anonymous => None,
            AuthSettings::Users(users) => Some(Arc::new(
                users
                    .iter()
                    .map(|u| (u.name.clone(), u.password_hash.clone()))
                    .collect(),
            )),
        };
        Authenticator {
            users,
            recent: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
            salt: random_salt(),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.users.is_none()
    }

    /// Checks an `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&[u8]>) -> Result<Identity, AuthFailure> {
        let Some(users) = &self.users else {
            return Ok(Identity::Anonymous);
        };
        let (user, password) = parse_basic(header.ok_or(AuthFailure::Missing)?)?;
        let key = self.cache_key(&user, &password);
        if let Some(name) = self.recent.get(&key) {
            return Ok(Identity::User(name));
        }
        let Some(hash) = users.get(&user).cloned() else {
            return Err(AuthFailure::Invalid);
        };
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        if !verified {
            return Err(AuthFailure::Invalid);
        }
        self.recent.insert(key, user.clone());
        Ok(Identity::User(user))
    }

    fn cache_key(&self, user: &str, password: &str) -> u128 {
        let mut hasher = Xxh3::new();
        hasher.update(&self.salt.to_le_bytes());
        hasher.update(user.as_bytes());
        hasher.update(&[0]);
        hasher.update(password.as_bytes());
        hasher.digest128()
    }
}

/// A per-process salt so cache keys cannot be precomputed.
fn random_salt() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut hi = state.build_hasher();
    hi.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let mut lo = state.build_hasher();
    lo.write_u32(std::process::id());
    (u128::from(hi.finish()) << 64) | u128::from(lo.finish())
}

fn parse_basic(header: &[u8]) -> Result<(String, String), AuthFailure> {
    let text = std::str::from_utf8(header).map_err(|_| AuthFailure::Invalid)?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or(AuthFailure::Invalid)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthFailure::Missing);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthFailure::Invalid)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthFailure::Invalid)?;
    let (user, password) = decoded.split_once(':').ok_or(AuthFailure::Invalid)?;
    Ok((user.to_string(), password.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes a password for the config file (argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserConfig;

    fn basic(user: &str, password: &str) -> Vec<u8> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {token}").into_bytes()
    }

    #[tokio::test]
    async fn users_are_checked_and_failures_not_cached() {
        let hash = hash_password("s3cret").expect("hash");
        let auth = Authenticator::new(&AuthSettings::Users(vec![UserConfig {
            name: "alice".into(),
            password_hash: hash,
        }]));
        assert_eq!(auth.authenticate(None).await, Err(AuthFailure::Missing));
        assert_eq!(
            auth.authenticate(Some(&basic("alice", "s3cret"))).await,
            Ok(Identity::User("alice".into()))
        );
        // Cached now; a wrong password must still fail.
        assert_eq!(
            auth.authenticate(Some(&basic("alice", "wrong"))).await,
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            auth.authenticate(Some(&basic("bob", "s3cret"))).await,
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            auth.authenticate(Some(b"Basic !!!notbase64")).await,
            Err(AuthFailure::Invalid)
        );
    }
}
