//! HTTP Basic authentication against the configured users or a directory (LDAP bind).
//!
//! argon2 verification is deliberately slow, an LDAP login takes three round trips, and phones
//! poll often: a successful login is remembered for a short while under a salted hash of the
//! credentials (never the password itself), so a polling phone costs one hash lookup. Failures
//! are never cached as success. A directory that cannot answer is a 503 (try later), never a
//! 401 that would make phones ask their users for a new password.
//!
//! Checking a password is expensive, so it is bounded: verifications run in a small pool with
//! a bounded queue (`pool`), failures delay further attempts (`throttle`), and an unknown user
//! name costs the same verification as a wrong password, so timing does not reveal names.

mod pool;
mod throttle;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use xxhash_rust::xxh3::Xxh3;

use cardbridge_connectors::ldap::login::{Directory, LoginError};

use crate::config::{AuthSettings, Config};
use crate::metrics::{LoginOutcome, Logins};
use pool::VerifyPool;
use throttle::Throttle;

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

/// Why a request is not authenticated: `Missing` and `Invalid` answer 401 with a challenge,
/// `Unavailable` 503.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
    /// The directory could not be asked; the message is for the log.
    Unavailable(String),
    /// Too many failed logins from this client: try again after this long (429).
    Throttled(Duration),
    /// Every verification slot and queue place is taken (503).
    Busy,
}

/// Where credentials are checked.
enum Backend {
    Anonymous,
    Users {
        hashes: HashMap<String, String>,
        /// Checked for unknown names: same parameters as the real hashes, so the same cost.
        dummy: String,
    },
    Ldap {
        directory: Directory,
        /// Every `group:` DN named by a book's readers, checked at login.
        groups: Vec<String>,
    },
}

pub struct Authenticator {
    backend: Backend,
    recent: moka::sync::Cache<u128, String>,
    /// Directory groups of users who logged in recently; outlives `recent` so a request that
    /// has just been authenticated always finds its groups.
    memberships: moka::sync::Cache<String, Arc<Vec<String>>>,
    salt: u128,
    pool: VerifyPool,
    throttle: Throttle,
    /// Password checks by outcome, for `/metrics` (shared across reloads).
    logins: Arc<Logins>,
}

impl Authenticator {
    pub fn new(config: &Config, logins: Arc<Logins>) -> Result<Authenticator, String> {
        let mut ttl = Duration::from_secs(300);
        let backend = match &config.auth {
            AuthSettings::Anonymous => Backend::Anonymous,
            AuthSettings::Users(users) => Backend::Users {
                hashes: users
                    .iter()
                    .map(|u| (u.name.clone(), u.password_hash.clone()))
                    .collect(),
                dummy: dummy_hash(users.first().map(|u| u.password_hash.as_str()))?,
            },
            AuthSettings::Ldap(ldap) => {
                ttl = ldap.login.cache_ttl;
                // The groups that decide something: a book's readers, the operators.
                let admin_groups = config
                    .admins
                    .iter()
                    .filter_map(|a| a.strip_prefix(crate::config::GROUP_PREFIX));
                let mut groups: Vec<String> = config
                    .books
                    .iter()
                    .flat_map(|b| b.reader_groups())
                    .chain(admin_groups)
                    .map(str::to_string)
                    .collect();
                groups.sort();
                groups.dedup();
                Backend::Ldap {
                    directory: Directory::new(ldap.server.clone(), &ldap.login)
                        .map_err(|e| format!("[auth.ldap] {e}"))?,
                    groups,
                }
            }
        };
        let salt = random_salt();
        Ok(Authenticator {
            backend,
            logins,
            pool: VerifyPool::new(
                config.login_limits.verify_threads,
                config.login_limits.verify_queue,
            ),
            throttle: Throttle::new(&config.login_limits, salt as u64),
            recent: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            memberships: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl * 2)
                .build(),
            salt,
        })
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self.backend, Backend::Anonymous)
    }

    /// The directory groups `user` belonged to at their last login (none outside LDAP mode).
    pub fn groups(&self, user: &str) -> Arc<Vec<String>> {
        self.memberships.get(user).unwrap_or_default()
    }

    /// Checks an `Authorization` header value sent from `client`.
    pub async fn authenticate(
        &self,
        header: Option<&[u8]>,
        client: IpAddr,
    ) -> Result<Identity, AuthFailure> {
        if self.is_anonymous() {
            return Ok(Identity::Anonymous);
        }
        let (user, password) = parse_basic(header.ok_or(AuthFailure::Missing)?)?;
        let key = self.cache_key(&user, &password);
        if let Some(name) = self.recent.get(&key) {
            if self.memberships.contains_key(&name) {
                return Ok(Identity::User(name));
            }
        }
        if let Some(wait) = self.throttle.wait(&user, client) {
            self.logins.record(LoginOutcome::Throttled);
            return Err(AuthFailure::Throttled(wait));
        }
        let verified = self.verify(&user, password).await;
        match &verified {
            Err(AuthFailure::Invalid) => {
                self.throttle.failed(&user, client);
                self.logins.record(LoginOutcome::Failed);
            }
            Ok(()) => {
                self.throttle.succeeded(&user, client);
                self.logins.record(LoginOutcome::Ok);
            }
            Err(AuthFailure::Busy) => self.logins.record(LoginOutcome::Throttled),
            Err(_) => {}
        }
        verified?;
        self.recent.insert(key, user.clone());
        Ok(Identity::User(user))
    }

    /// Checks the password against the configured hash or the directory; remembers the
    /// user's groups on success.
    async fn verify(&self, user: &str, password: String) -> Result<(), AuthFailure> {
        match &self.backend {
            Backend::Anonymous => Ok(()),
            Backend::Users { hashes, dummy } => {
                let (hash, known) = match hashes.get(user) {
                    Some(hash) => (hash.clone(), true),
                    None => (dummy.clone(), false),
                };
                let verified = self
                    .pool
                    .run(move || verify_password(&password, &hash))
                    .await
                    .map_err(|pool::Busy| AuthFailure::Busy)?;
                if !(verified && known) {
                    return Err(AuthFailure::Invalid);
                }
                self.memberships.insert(user.to_string(), Arc::default());
                Ok(())
            }
            Backend::Ldap { directory, groups } => {
                match directory.login(user, &password, groups).await {
                    Ok(login) => {
                        self.memberships
                            .insert(user.to_string(), Arc::new(login.groups));
                        Ok(())
                    }
                    Err(LoginError::Denied(reason)) => {
                        tracing::info!(user = %user.escape_debug(), "LDAP login refused: {reason}");
                        Err(AuthFailure::Invalid)
                    }
                    Err(LoginError::Unavailable(reason)) => Err(AuthFailure::Unavailable(reason)),
                }
            }
        }
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

/// The user name and password of a `Basic` Authorization header.
pub fn parse_basic(header: &[u8]) -> Result<(String, String), AuthFailure> {
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

/// A hash of a random password with the parameters of `like` (a configured hash), so that
/// checking a password against it costs what checking a real one does.
fn dummy_hash(like: Option<&str>) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, SaltString};
    let unusable = format!("{:032x}", random_salt());
    let salt = SaltString::generate(&mut OsRng);
    let err = |e: argon2::password_hash::Error| format!("[[auth.users]] password_hash: {e}");
    let Some(like) = like.map(PasswordHash::new).transpose().map_err(err)? else {
        return hash_password(&unusable);
    };
    Argon2::default()
        .hash_password_customized(
            unusable.as_bytes(),
            Some(like.algorithm),
            like.version,
            argon2::Params::try_from(&like).map_err(err)?,
            &salt,
        )
        .map(|h| h.to_string())
        .map_err(err)
}

/// Hashes a password for the config file (argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{rand_core::OsRng, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> Vec<u8> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {token}").into_bytes()
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// Alice with `hash`, throttling out of the way.
    fn users_mode(hash: &str) -> Authenticator {
        let config = Config::parse(
            &format!(
                "[auth]\nmode = \"users\"\nfailures_per_user_address = 100\n\
                 [[auth.users]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n\
                 [[source]]\nid = \"s\"\nkind = \"csv\"\npath = \"s.csv\"\n\
                 [[addressbook]]\nid = \"b\"\nsources = [\"s\"]\n"
            ),
            std::path::Path::new("/tmp/x.toml"),
        )
        .expect("config");
        Authenticator::new(&config, Arc::default()).expect("authenticator")
    }

    fn verifications(auth: &Authenticator) -> u64 {
        auth.pool.started.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[tokio::test]
    async fn an_unknown_user_costs_the_same_verification_as_a_wrong_password() {
        let auth = users_mode(&hash_password("s3cret").expect("hash"));
        assert_eq!(
            auth.authenticate(Some(&basic("alice", "wrong")), LOCAL)
                .await,
            Err(AuthFailure::Invalid)
        );
        assert_eq!(verifications(&auth), 1);
        assert_eq!(
            auth.authenticate(Some(&basic("mallory", "wrong")), LOCAL)
                .await,
            Err(AuthFailure::Invalid)
        );
        assert_eq!(verifications(&auth), 2);
    }

    #[test]
    fn the_dummy_hash_has_the_configured_parameters() {
        // Stronger than the defaults, as an operator might choose.
        let configured = "$argon2id$v=19$m=8192,t=5,p=2$c29tZXNhbHRzb21lc2FsdA$2Tc3fD6N1d3qL8j8rOaC0bq9v3q1WmF0gP6lEo7O2Ks";
        let auth = users_mode(configured);
        let Backend::Users { dummy, .. } = &auth.backend else {
            panic!("users mode");
        };
        let dummy = PasswordHash::new(dummy).expect("PHC");
        let configured = PasswordHash::new(configured).expect("PHC");
        assert_eq!(dummy.algorithm, configured.algorithm);
        assert_eq!(dummy.version, configured.version);
        assert_eq!(
            argon2::Params::try_from(&dummy).expect("params"),
            argon2::Params::try_from(&configured).expect("params")
        );
    }

    #[tokio::test]
    async fn users_are_checked_and_failures_not_cached() {
        let auth = users_mode(&hash_password("s3cret").expect("hash"));
        assert_eq!(
            auth.authenticate(None, LOCAL).await,
            Err(AuthFailure::Missing)
        );
        assert_eq!(
            auth.authenticate(Some(&basic("alice", "s3cret")), LOCAL)
                .await,
            Ok(Identity::User("alice".into()))
        );
        // Cached now; a wrong password must still fail.
        assert_eq!(
            auth.authenticate(Some(&basic("alice", "wrong")), LOCAL)
                .await,
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            auth.authenticate(Some(&basic("bob", "s3cret")), LOCAL)
                .await,
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            auth.authenticate(Some(b"Basic !!!notbase64"), LOCAL).await,
            Err(AuthFailure::Invalid)
        );
    }
}
