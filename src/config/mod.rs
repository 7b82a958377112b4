//! The TOML configuration: server settings, users, sources and address books.
//!
//! Every error names the file and the key; unknown keys are errors, because a misspelt option
//! that is silently ignored is worse than a refusal to start. The configuration is pure data:
//! nothing is built or contacted while it is read.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | [`Config`]: reads the file, checks what spans tables (ids, references) |
//! | `server.rs` | `[server]`: listening, limits, timeouts |
//! | `store.rs` | `[store]`: state directory, change-log retention, removal guard |
//! | `auth.rs` | `[auth]`: who may connect, login limits |
//! | `source.rs` | `[[source]]`: schedule and settings per source, relative paths resolved |
//! | `book.rs` | `[[addressbook]]`: a book's sources and readers |
//! | `web.rs` | `[web]`: what the web face's setup downloads contain |
//! | `origin.rs` | the origin clients reach (`[server] public_url`, or a `Host` header) |
//! | `push.rs` | `[push]`: WebDAV-Push over Web Push |

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cardbridge_connectors::duration::parse_duration;
use serde::Deserialize;

use crate::store::{RemovalGuard, Retention};

mod auth;
mod book;
mod origin;
mod push;
mod server;
mod source;
mod store;
#[cfg(test)]
mod tests;
mod web;

pub use auth::{AuthSettings, LdapAuth, LoginLimits, UserConfig};
pub use book::{BookConfig, GROUP_PREFIX};
pub use origin::Origin;
pub use push::PushSettings;
pub use server::ServerSettings;
pub use source::{SourceConfig, SourceSettings};
pub use store::StoreSettings;
pub use web::WebSettings;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from; relative paths inside it resolve against its directory.
    pub path: PathBuf,
    pub server: ServerSettings,
    pub store: StoreSettings,
    /// Change-log retention derived from `store`.
    pub retention: Retention,
    /// The removal guard derived from `store`.
    pub guard: RemovalGuard,
    pub auth: AuthSettings,
    /// How many logins may cost an argon2 verification or a directory bind, and when.
    pub login_limits: LoginLimits,
    /// `[auth] admins`: user names (or `group:<DN>`) who see the operator pages.
    pub admins: Vec<String>,
    /// `[server] admin_listen`, parsed once: where everyone is an operator.
    pub admin_listen: Vec<SocketAddr>,
    pub sources: Vec<SourceConfig>,
    pub books: Vec<BookConfig>,
    /// `[server] metrics_allow`, parsed once: who may read `/metrics`.
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// `[server] trusted_proxies`, parsed once: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `[server] ready_max_failing`, parsed once.
    pub ready_max_failing: Duration,
    /// `[server] public_url`, parsed once: the origin setup instructions name.
    pub public_url: Option<Origin>,
    pub web: WebSettings,
    /// `[push]`, when enabled.
    pub push: Option<PushSettings>,
}

/// A configuration error, always naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: ServerSettings,
    #[serde(default)]
    store: StoreSettings,
    #[serde(default)]
    auth: Option<auth::RawAuth>,
    #[serde(default)]
    source: Vec<toml::Table>,
    #[serde(default)]
    addressbook: Vec<BookConfig>,
    #[serde(default)]
    web: WebSettings,
    push: Option<push::RawPush>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            file: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        Config::parse(&text, path).map_err(err)
    }

    /// Parses configuration text; `path` locates relative file names.
    pub fn parse(text: &str, path: &Path) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        let sources = raw
            .source
            .into_iter()
            .enumerate()
            .map(|(i, table)| source::parse_source(i, table, base))
            .collect::<Result<Vec<_>, _>>()?;
        let auth::ParsedAuth {
            settings: auth,
            limits: login_limits,
            admins,
        } = auth::parse(raw.auth, &sources, base)?;
        let (store, retention, guard) = raw.store.resolve(base)?;
        let push = match raw.push {
            Some(push) => push.resolve(store.state_dir.is_some())?,
            None => None,
        };
        let mut server = raw.server;
        if let Some(tls) = &mut server.tls {
            tls.cert_file = base.join(&tls.cert_file);
            tls.key_file = base.join(&tls.key_file);
        }
        let metrics_allow = networks("metrics_allow", &server.metrics_allow)?;
        let trusted_proxies = networks("trusted_proxies", &server.trusted_proxies)?;
        let admin_listen = server
            .admin_listen
            .iter()
            .map(|addr| {
                addr.parse::<SocketAddr>().map_err(|e| {
                    format!("[server] admin_listen: {addr:?} is not a socket address: {e}")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(shared) = admin_listen.iter().find(|a| {
            server
                .listen
                .iter()
                .any(|l| l.parse::<SocketAddr>().ok() == Some(**a))
        }) {
            return Err(format!(
                "[server] admin_listen: {shared} is in listen too; give the operators an \
                 address of their own"
            ));
        }
        let ready_max_failing = parse_duration(&server.ready_max_failing)
            .map_err(|e| format!("[server] ready_max_failing: {e}"))?;
        let public_url = server
            .public_url
            .as_deref()
            .map(Origin::parse_url)
            .transpose()
            .map_err(|e| format!("[server] public_url: {e}"))?;
        let config = Config {
            public_url,
            web: raw.web.resolve(base)?,
            metrics_allow,
            trusted_proxies,
            ready_max_failing,
            path: path.to_path_buf(),
            server,
            store,
            retention,
            guard,
            auth,
            login_limits,
            admins,
            admin_listen,
            sources,
            books: raw.addressbook,
            push,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let server = &self.server;
        let tls_listen = server.tls.as_ref().map_or(&[][..], |t| &t.listen[..]);
        if server.listen.is_empty() && tls_listen.is_empty() {
            return Err("[server] listen: give at least one address".into());
        }
        for addr in tls_listen {
            addr.parse::<std::net::SocketAddr>().map_err(|e| {
                format!("[server.tls] listen: {addr:?} is not a socket address: {e}")
            })?;
        }
        if server
            .tls
            .as_ref()
            .is_some_and(|t| t.redirect_plain && t.listen.is_empty())
        {
            return Err("[server.tls] redirect_plain needs an HTTPS address in listen".into());
        }
        for addr in &server.listen {
            addr.parse::<std::net::SocketAddr>()
                .map_err(|e| format!("[server] listen: {addr:?} is not a socket address: {e}"))?;
        }
        if server.propfind_body_limit == 0 || server.report_body_limit == 0 {
            return Err("[server] body limits must be positive".into());
        }
        if server.query_max_prop_filters == 0
            || server.query_max_matches == 0
            || server.query_max_text_bytes == 0
            || server.query_max_evaluations == 0
            || server.max_requested_properties == 0
        {
            return Err("[server] query and property limits must be positive".into());
        }
        let header_timeout = self.header_timeout()?;
        if header_timeout.is_zero() {
            return Err("[server] header_timeout: must be positive".into());
        }
        if self.body_timeout()?.is_zero() || server.body_min_rate == 0 {
            return Err("[server] body_timeout and body_min_rate must be positive".into());
        }
        if server.max_connections == Some(0) || server.max_connections_per_client == Some(0) {
            return Err("[server] connection limits must be positive".into());
        }
        if !matches!(server.thunderbird_invalid_token_status, 400 | 403) {
            return Err("[server] thunderbird_invalid_token_status: must be 400 or 403".into());
        }
        if server.max_property_bytes < 64 || server.max_card_bytes < server.max_property_bytes {
            return Err(
                "[server] max_property_bytes must be at least 64 and max_card_bytes at \
                        least max_property_bytes"
                    .into(),
            );
        }
        let mut source_ids = HashSet::new();
        for source in &self.sources {
            if !source_ids.insert(source.id.as_str()) {
                return Err(format!("[[source]] id {:?} is used twice", source.id));
            }
        }
        if self.books.is_empty() {
            return Err("no [[addressbook]] defined: nothing to serve".into());
        }
        let user_names: HashSet<&str> = match &self.auth {
            AuthSettings::Anonymous => HashSet::new(),
            AuthSettings::Users(users) => users.iter().map(|u| u.name.as_str()).collect(),
            AuthSettings::Ldap(_) => HashSet::new(),
        };
        let mut book_ids = HashSet::new();
        for book in &self.books {
            check_id("[[addressbook]] id", &book.id)?;
            if !book_ids.insert(book.id.as_str()) {
                return Err(format!("[[addressbook]] id {:?} is used twice", book.id));
            }
            if book.sources.is_empty() {
                return Err(format!("[[addressbook]] {:?}: sources is empty", book.id));
            }
            for source in &book.sources {
                if !source_ids.contains(source.as_str()) {
                    return Err(format!(
                        "[[addressbook]] {:?}: sources names unknown source {source:?}",
                        book.id
                    ));
                }
            }
            if !matches!(self.auth, AuthSettings::Ldap(_)) && book.reader_groups().next().is_some()
            {
                return Err(format!(
                    "[[addressbook]] {:?}: \"group:\" readers need [auth] mode = \"ldap\"",
                    book.id
                ));
            }
            if let AuthSettings::Users(_) = self.auth {
                for reader in &book.readers {
                    if reader != "*" && !user_names.contains(reader.as_str()) {
                        return Err(format!(
                            "[[addressbook]] {:?}: readers names unknown user {reader:?}",
                            book.id
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether `local`, the address a connection was accepted on, is one of `admin_listen`
    /// (an unspecified address there covers every local address on its port).
    pub fn is_admin_listener(&self, local: SocketAddr) -> bool {
        self.admin_listen
            .iter()
            .any(|a| a.port() == local.port() && (a.ip() == local.ip() || a.ip().is_unspecified()))
    }

    /// Whether `user`, a member of the directory `groups` (normalized DNs), is an operator.
    pub fn is_admin(&self, user: &str, groups: &[String]) -> bool {
        book::names_match(&self.admins, user, groups)
    }

    pub fn book(&self, id: &str) -> Option<&BookConfig> {
        self.books.iter().find(|b| b.id == id)
    }

    /// The state file, when a state directory is configured.
    pub fn state_file_path(&self) -> Option<PathBuf> {
        self.store
            .state_dir
            .as_ref()
            .map(|d| d.join("cardbridge.redb"))
    }

    /// `[server] header_timeout` as a duration.
    pub fn header_timeout(&self) -> Result<Duration, String> {
        parse_duration(&self.server.header_timeout)
            .map_err(|e| format!("[server] header_timeout: {e}"))
    }

    pub fn body_timeout(&self) -> Result<Duration, String> {
        parse_duration(&self.server.body_timeout).map_err(|e| format!("[server] body_timeout: {e}"))
    }

    /// Worker threads to run: the configured number, or one per core.
    pub fn threads(&self) -> usize {
        if self.server.threads > 0 {
            self.server.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// Ids appear in URLs: keep them to characters no client re-encodes.
fn check_id(what: &str, id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {id:?}: use 1-64 characters from A-Z a-z 0-9 . _ - (not starting with .)"
        ))
    }
}

/// IP addresses or CIDR ranges of the `[server]` key `key`.
fn networks(key: &str, entries: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("[server] {key}: {entry:?} is neither an IP address nor a CIDR range")
                })
        })
        .collect()
}
