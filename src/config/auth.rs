//! The `[auth]` table: anonymous, static users or directory logins, and the limits on login
//! attempts. (Checking a login is `crate::auth`.)

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use cardbridge_connectors::ldap::login::LoginSettings;
use cardbridge_connectors::ldap::ServerSettings as LdapServer;
use serde::Deserialize;

use super::parse_duration;
use super::source::{resolve_server_paths, SourceConfig, SourceSettings};

/// Who may connect.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthSettings {
    /// No credentials asked; everyone reads every book.
    Anonymous,
    /// HTTP Basic against static users with argon2 password hashes.
    Users(Vec<UserConfig>),
    /// HTTP Basic checked by binding to a directory as the user.
    Ldap(LdapAuth),
}

/// `[auth]` limits on login attempts: wrong passwords must not buy unbounded memory, threads
/// or guesses.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginLimits {
    /// Password verifications running at once (each argon2 run holds ~19 MiB).
    pub verify_threads: usize,
    /// Logins waiting for a verification slot; beyond that, 503 with Retry-After.
    pub verify_queue: usize,
    /// Failed logins for one user name from one address before delays start.
    pub failures_per_user_address: u32,
    /// Failed logins from one address (any user names) before delays start.
    pub failures_per_address: u32,
    /// Failed logins for one user name from all addresses after which every address that has
    /// failed for it is delayed from its first failure; an address that has not failed is
    /// still heard, so the right password from elsewhere gets in.
    pub failures_per_user: u32,
    /// The delay after the first failure over a limit; it doubles with each further one.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Failure counts are forgotten after this long without a failure.
    pub failure_window: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoginLimits {
    #[serde(default)]
    verify_threads: usize,
    #[serde(default = "default_verify_queue")]
    verify_queue: usize,
    #[serde(default = "default_failures_per_user_address")]
    failures_per_user_address: u32,
    #[serde(default = "default_failures_per_address")]
    failures_per_address: u32,
    #[serde(default = "default_failures_per_user")]
    failures_per_user: u32,
    #[serde(default = "default_first_delay")]
    first_delay: String,
    #[serde(default = "default_max_delay")]
    max_delay: String,
    #[serde(default = "default_failure_window")]
    failure_window: String,
}

fn default_verify_queue() -> usize {
    32
}
fn default_failures_per_user_address() -> u32 {
    5
}
fn default_failures_per_address() -> u32 {
    20
}
fn default_failures_per_user() -> u32 {
    100
}
fn default_first_delay() -> String {
    "1s".into()
}
fn default_max_delay() -> String {
    "5m".into()
}
fn default_failure_window() -> String {
    "15m".into()
}

impl Default for RawLoginLimits {
    fn default() -> Self {
        RawLoginLimits {
            verify_threads: 0,
            verify_queue: default_verify_queue(),
            failures_per_user_address: default_failures_per_user_address(),
            failures_per_address: default_failures_per_address(),
            failures_per_user: default_failures_per_user(),
            first_delay: default_first_delay(),
            max_delay: default_max_delay(),
            failure_window: default_failure_window(),
        }
    }
}

impl RawLoginLimits {
    fn parse(self) -> Result<LoginLimits, String> {
        let duration =
            |key: &str, text: &str| parse_duration(text).map_err(|e| format!("[auth] {key}: {e}"));
        let limits = LoginLimits {
            verify_threads: if self.verify_threads > 0 {
                self.verify_threads
            } else {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            },
            verify_queue: self.verify_queue,
            failures_per_user_address: self.failures_per_user_address,
            failures_per_address: self.failures_per_address,
            failures_per_user: self.failures_per_user,
            first_delay: duration("first_delay", &self.first_delay)?,
            max_delay: duration("max_delay", &self.max_delay)?,
            failure_window: duration("failure_window", &self.failure_window)?,
        };
        if limits.first_delay.is_zero() || limits.max_delay < limits.first_delay {
            return Err(
                "[auth] first_delay must be above zero and max_delay at least as long".into(),
            );
        }
        Ok(limits)
    }
}

/// `[auth.ldap]`: where the directory is and how users are found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct LdapAuth {
    pub server: LdapServer,
    pub login: LoginSettings,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// PHC string from `cardbridge hash-password`.
    pub password_hash: String,
}

/// The `[auth]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    mode: String,
    #[serde(default)]
    users: Vec<UserConfig>,
    ldap: Option<toml::Table>,
    /// Who sees the operator pages: user names, or `"group:<DN>"` with LDAP logins.
    #[serde(default)]
    admins: Vec<String>,
    #[serde(flatten)]
    limits: RawLoginLimits,
}

/// The `[auth]` table, parsed.
pub(super) struct ParsedAuth {
    pub settings: AuthSettings,
    pub limits: LoginLimits,
    pub admins: Vec<String>,
}

/// Who may connect, the login limits and the operators, from the `[auth]` table (anonymous
/// without one). `sources` are the parsed `[[source]]`s an `[auth.ldap]` table may name; `base`
/// is the config file's directory.
pub(super) fn parse(
    raw: Option<RawAuth>,
    sources: &[SourceConfig],
    base: &Path,
) -> Result<ParsedAuth, String> {
    match raw {
        Some(mut raw_auth) => {
            let limits = std::mem::take(&mut raw_auth.limits).parse()?;
            let admins = std::mem::take(&mut raw_auth.admins);
            let settings = parse_mode(Some(raw_auth), sources, base)?;
            check_admins(&admins, &settings)?;
            Ok(ParsedAuth {
                settings,
                limits,
                admins,
            })
        }
        None => Ok(ParsedAuth {
            settings: parse_mode(None, sources, base)?,
            limits: RawLoginLimits::default().parse()?,
            admins: Vec::new(),
        }),
    }
}

/// `admins` must name users that can log in: anonymous mode has no names to tell operators
/// by, a static user must exist, and groups need directory logins.
fn check_admins(admins: &[String], settings: &AuthSettings) -> Result<(), String> {
    for admin in admins {
        let group = admin.starts_with(super::GROUP_PREFIX);
        match settings {
            AuthSettings::Anonymous => {
                return Err(
                    "[auth] admins needs mode = \"users\" or \"ldap\": anonymous visitors \
                     cannot be told apart"
                        .into(),
                )
            }
            AuthSettings::Users(_) if group => {
                return Err(format!(
                    "[auth] admins: {admin:?}: \"group:\" entries need mode = \"ldap\""
                ))
            }
            AuthSettings::Users(users) if !users.iter().any(|u| &u.name == admin) => {
                return Err(format!(
                    "[auth] admins names unknown user {admin:?} (not in [[auth.users]])"
                ))
            }
            _ if admin.is_empty() || admin == "*" => {
                return Err(format!("[auth] admins: {admin:?} is not a user name"))
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_mode(
    raw: Option<RawAuth>,
    sources: &[SourceConfig],
    base: &Path,
) -> Result<AuthSettings, String> {
    let Some(raw) = raw else {
        return Ok(AuthSettings::Anonymous);
    };
    if raw.ldap.is_some() && raw.mode != "ldap" {
        return Err(format!("[auth.ldap] is given but mode is {:?}", raw.mode));
    }
    match raw.mode.as_str() {
        "anonymous" => {
            if !raw.users.is_empty() {
                return Err("[auth] users are given but mode is \"anonymous\"".into());
            }
            Ok(AuthSettings::Anonymous)
        }
        "users" => {
            if raw.users.is_empty() {
                return Err("[auth] mode = \"users\" needs at least one [[auth.users]]".into());
            }
            let mut seen = HashSet::new();
            for user in &raw.users {
                if user.name.is_empty() || user.name.contains(':') || user.name.contains('/') {
                    return Err(format!(
                        "[[auth.users]] name {:?}: must be non-empty without ':' or '/'",
                        user.name
                    ));
                }
                if !seen.insert(user.name.as_str()) {
                    return Err(format!("[[auth.users]] name {:?} is used twice", user.name));
                }
                argon2::PasswordHash::new(&user.password_hash).map_err(|e| {
                    format!(
                        "[[auth.users]] {:?}: password_hash is not a PHC hash ({e}); \
                         create one with `cardbridge hash-password`",
                        user.name
                    )
                })?;
            }
            Ok(AuthSettings::Users(raw.users))
        }
        "ldap" => {
            if !raw.users.is_empty() {
                return Err("[auth] users are given but mode is \"ldap\"".into());
            }
            let table = raw
                .ldap
                .ok_or("[auth] mode = \"ldap\" needs an [auth.ldap] table")?;
            parse_ldap_auth(table, sources, base).map(AuthSettings::Ldap)
        }
        other => Err(format!(
            "[auth] mode: {other:?} is not one of \"anonymous\", \"users\", \"ldap\""
        )),
    }
}

/// `[auth.ldap]`: the directory is given as a `server` table or as the id of an LDAP source
/// whose server (and service account) to reuse; the rest are login settings.
fn parse_ldap_auth(
    mut table: toml::Table,
    sources: &[SourceConfig],
    base: &Path,
) -> Result<LdapAuth, String> {
    let at = "[auth.ldap]";
    // A login through a source's server finds users the way that source does (the AD preset
    // also turns on AD's nested-group rule), unless `preset` says otherwise.
    let mut inherited_preset = None;
    let server = match (table.remove("server"), table.remove("source")) {
        (Some(server), None) => {
            let mut server: LdapServer = server
                .try_into()
                .map_err(|e: toml::de::Error| format!("{at} server: {}", e.message()))?;
            resolve_server_paths(&mut server, base);
            server
        }
        (None, Some(toml::Value::String(id))) => sources
            .iter()
            .find_map(|s| match &s.settings {
                SourceSettings::Ldap(ldap) if s.id == id => {
                    inherited_preset = Some(ldap.preset);
                    Some(ldap.server.clone())
                }
                _ => None,
            })
            .ok_or_else(|| format!("{at} source: {id:?} is not an LDAP [[source]]"))?,
        (None, Some(_)) => return Err(format!("{at} source: must be a source id")),
        (Some(_), Some(_)) => return Err(format!("{at}: give server or source, not both")),
        (None, None) => {
            return Err(format!(
                "{at}: say where the directory is: a [auth.ldap.server] table, or source = \"<id of an ldap source>\""
            ))
        }
    };
    server.validate().map_err(|e| format!("{at} {e}"))?;
    let preset_given = table.contains_key("preset");
    let mut login: LoginSettings = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))?;
    if let (false, Some(preset)) = (preset_given, inherited_preset) {
        login.preset = preset;
    }
    Ok(LdapAuth { server, login })
}
