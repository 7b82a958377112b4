//! The TOML configuration: server settings, users, sources and address books.
//!
//! Every error names the file and the key; unknown keys are errors, because a misspelt option
//! that is silently ignored is worse than a refusal to start.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cardbridge_connectors::activesync::ActiveSyncSettings;
use cardbridge_connectors::csv::CsvSettings;
pub use cardbridge_connectors::duration::parse_duration;
use cardbridge_connectors::google::GoogleSettings;
use cardbridge_connectors::ldap::login::LoginSettings;
use cardbridge_connectors::ldap::normalize_dn;
use cardbridge_connectors::ldap::{LdapSettings, ServerSettings as LdapServer};
use serde::Deserialize;

use crate::store::{RemovalGuard, Retention};

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
    pub sources: Vec<SourceConfig>,
    pub books: Vec<BookConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Socket addresses to listen on.
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub threads: usize,
    /// Largest PROPFIND/PROPPATCH body accepted, in bytes.
    #[serde(default = "default_propfind_limit")]
    pub propfind_body_limit: usize,
    /// Largest REPORT body accepted, in bytes: Thunderbird's first sync is one multiget naming
    /// every card.
    #[serde(default = "default_report_limit")]
    pub report_body_limit: usize,
    /// Most `prop-filter`s in one addressbook-query; more get 400 `CARDDAV:supported-filter`.
    #[serde(default = "default_query_prop_filters")]
    pub query_max_prop_filters: usize,
    /// Most `text-match`es plus `param-filter`s in one `prop-filter`.
    #[serde(default = "default_query_matches")]
    pub query_max_matches: usize,
    /// Longest `text-match` text, in bytes.
    #[serde(default = "default_query_text_bytes")]
    pub query_max_text_bytes: usize,
    /// Filter evaluations (cards × checks) one addressbook-query may spend; beyond it the
    /// result is cut short with a 507 on the book, as RFC 6352 §8.6.1 allows.
    #[serde(default = "default_query_evaluations")]
    pub query_max_evaluations: u64,
    /// Most distinct properties one PROPFIND, PROPPATCH or REPORT may name; more get 400.
    #[serde(default = "default_max_properties")]
    pub max_requested_properties: usize,
    /// Bytes of rendered vCards kept in memory.
    #[serde(default = "default_cache_bytes")]
    pub card_cache_bytes: u64,
    /// Basic auth realm shown by clients.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Status for an unknown or expired sync token when the client is Thunderbird, which only
    /// recovers from 400 (every other client gets 403 with DAV:valid-sync-token).
    #[serde(default = "default_thunderbird_status")]
    pub thunderbird_invalid_token_status: u16,
    /// Largest text value of one vCard property (a NOTE, an ORG), in bytes as written;
    /// longer text is cut with a visible `"… [truncated]"`.
    #[serde(default = "default_property_bytes")]
    pub max_property_bytes: usize,
    /// Largest vCard without its photo, in bytes; the least needed values go first.
    #[serde(default = "default_card_bytes")]
    pub max_card_bytes: usize,
    /// Time a client has to send a whole request head ("10s"), counted from the connection
    /// or, on a kept-alive one, from the request's first byte: a head dribbled byte by byte
    /// would otherwise hold its connection forever.
    #[serde(default = "default_header_timeout")]
    pub header_timeout: String,
    /// Time a request body may take ("20s"), plus one second per `body_min_rate` bytes
    /// received: enough for any honest link, not for a body dribbled a byte a minute.
    #[serde(default = "default_body_timeout")]
    pub body_timeout: String,
    /// Bytes per second that earn a slow body more time (see `body_timeout`).
    #[serde(default = "default_body_min_rate")]
    pub body_min_rate: u64,
    /// Open connections at most; unset = derived from the file-descriptor limit.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Open connections per client address at most; unset = a quarter of `max_connections`.
    #[serde(default)]
    pub max_connections_per_client: Option<usize>,
}

fn default_listen() -> Vec<String> {
    vec!["127.0.0.1:8008".into()]
}
fn default_propfind_limit() -> usize {
    1024 * 1024
}
fn default_report_limit() -> usize {
    32 * 1024 * 1024
}
fn default_query_prop_filters() -> usize {
    64
}
fn default_query_matches() -> usize {
    16
}
fn default_query_text_bytes() -> usize {
    1024
}
fn default_query_evaluations() -> u64 {
    2_000_000
}
fn default_max_properties() -> usize {
    100
}
fn default_cache_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_property_bytes() -> usize {
    32 * 1024
}
fn default_card_bytes() -> usize {
    256 * 1024
}
fn default_realm() -> String {
    "cardbridge".into()
}
fn default_thunderbird_status() -> u16 {
    400
}
fn default_header_timeout() -> String {
    "10s".into()
}
fn default_body_timeout() -> String {
    "20s".into()
}
fn default_body_min_rate() -> u64 {
    500
}
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

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: default_listen(),
            threads: 0,
            propfind_body_limit: default_propfind_limit(),
            report_body_limit: default_report_limit(),
            query_max_prop_filters: default_query_prop_filters(),
            query_max_matches: default_query_matches(),
            query_max_text_bytes: default_query_text_bytes(),
            query_max_evaluations: default_query_evaluations(),
            max_requested_properties: default_max_properties(),
            card_cache_bytes: default_cache_bytes(),
            realm: default_realm(),
            thunderbird_invalid_token_status: default_thunderbird_status(),
            max_property_bytes: default_property_bytes(),
            max_card_bytes: default_card_bytes(),
            header_timeout: default_header_timeout(),
            body_timeout: default_body_timeout(),
            body_min_rate: default_body_min_rate(),
            max_connections: None,
            max_connections_per_client: None,
        }
    }
}

impl ServerSettings {
    /// The card size caps applied to every source's contacts.
    pub fn caps(&self) -> crate::vcard::caps::Caps {
        crate::vcard::caps::Caps {
            property_bytes: self.max_property_bytes,
            card_bytes: self.max_card_bytes,
        }
    }
}

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

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    /// Longest time between two polls.
    pub poll_interval: Duration,
    /// How often the source's cheap change check (e.g. file mtime) runs between polls.
    pub check_interval: Duration,
    /// A poll taking longer than this fails (and is retried with backoff).
    pub timeout: Duration,
    pub settings: SourceSettings,
}

#[derive(Debug, Clone)]
pub enum SourceSettings {
    Csv(CsvSettings),
    Ldap(Box<LdapSettings>),
    ActiveSync(ActiveSyncSettings),
    Google(Box<GoogleSettings>),
}

impl SourceSettings {
    /// The source's own checks of its settings (no network, no files read).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            SourceSettings::Csv(settings) => settings.validate(),
            SourceSettings::Ldap(settings) => settings.validate(),
            SourceSettings::ActiveSync(settings) => settings.validate(),
            SourceSettings::Google(settings) => settings.validate(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceSettings::Csv(_) => "csv",
            SourceSettings::Ldap(_) => "ldap",
            SourceSettings::ActiveSync(_) => "activesync",
            SourceSettings::Google(_) => "google",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookConfig {
    pub id: String,
    /// `DAV:displayname`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub sources: Vec<String>,
    /// User names allowed to read; `"*"` means every user, `"group:<DN>"` the members of a
    /// directory group (LDAP login). Ignored in anonymous mode.
    #[serde(default = "default_readers")]
    pub readers: Vec<String>,
}

fn default_readers() -> Vec<String> {
    vec!["*".into()]
}

impl BookConfig {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// Whether `user`, a member of the directory `groups` (normalized DNs), may read the book.
    pub fn readable_by(&self, user: &str, groups: &[String]) -> bool {
        self.readers.iter().any(|r| {
            r == "*"
                || r == user
                || r.strip_prefix(GROUP_PREFIX)
                    .is_some_and(|dn| groups.contains(&normalize_dn(dn)))
        })
    }

    /// The directory groups named in `readers`.
    pub fn reader_groups(&self) -> impl Iterator<Item = &str> {
        self.readers
            .iter()
            .filter_map(|r| r.strip_prefix(GROUP_PREFIX))
    }
}

/// `readers` entries naming a directory group.
pub const GROUP_PREFIX: &str = "group:";

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
    auth: Option<RawAuth>,
    #[serde(default)]
    source: Vec<toml::Table>,
    #[serde(default)]
    addressbook: Vec<BookConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    mode: String,
    #[serde(default)]
    users: Vec<UserConfig>,
    ldap: Option<toml::Table>,
    #[serde(flatten)]
    limits: RawLoginLimits,
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
            .map(|(i, table)| parse_source(i, table, base))
            .collect::<Result<Vec<_>, _>>()?;
        let (auth, login_limits) = match raw.auth {
            Some(mut raw_auth) => {
                let limits = std::mem::take(&mut raw_auth.limits).parse()?;
                (parse_auth(Some(raw_auth), &sources, base)?, limits)
            }
            None => (
                parse_auth(None, &sources, base)?,
                RawLoginLimits::default().parse()?,
            ),
        };
        let mut store = raw.store;
        store.state_dir = store.state_dir.map(|dir| base.join(dir));
        let max_age = match &store.change_log_max_age {
            Some(text) => {
                Some(parse_duration(text).map_err(|e| format!("[store] change_log_max_age: {e}"))?)
            }
            None => None,
        };
        if store.change_log_entries < 2 {
            return Err("[store] change_log_entries: must be at least 2".into());
        }
        if !(0.0..=1.0).contains(&store.removal_guard_share) {
            return Err("[store] removal_guard_share: must be between 0.0 and 1.0".into());
        }
        let retention = Retention {
            max_entries: store.change_log_entries,
            max_age,
        };
        let guard = RemovalGuard {
            share: store.removal_guard_share,
            min_removals: store.removal_guard_min,
        };
        let config = Config {
            path: path.to_path_buf(),
            server: raw.server,
            store,
            retention,
            guard,
            auth,
            login_limits,
            sources,
            books: raw.addressbook,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let server = &self.server;
        if server.listen.is_empty() {
            return Err("[server] listen: give at least one address".into());
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

fn parse_auth(
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

/// Files named in a server table are relative to the config file.
fn resolve_server_paths(server: &mut LdapServer, base: &Path) {
    for path in [&mut server.ca_file, &mut server.bind_password_file]
        .into_iter()
        .flatten()
    {
        *path = base.join(&*path);
    }
}

/// Key and token files of a Google source are relative to the config file.
fn resolve_google_paths(google: &mut GoogleSettings, base: &Path) {
    let oauth = google.oauth.as_mut().into_iter().flat_map(|o| {
        [&mut o.client_secret_file, &mut o.token_file]
            .into_iter()
            .flatten()
    });
    let key = google.service_account.as_mut().map(|sa| &mut sa.key_file);
    for path in oauth.chain(key) {
        *path = base.join(&*path);
    }
}

fn parse_source(index: usize, mut table: toml::Table, base: &Path) -> Result<SourceConfig, String> {
    let at = format!("[[source]] #{}", index + 1);
    let id =
        take_string(&mut table, "id", &at)?.ok_or_else(|| format!("{at}: missing key `id`"))?;
    let at = format!("[[source]] {id:?}");
    check_id("[[source]] id", &id)?;
    let kind =
        take_string(&mut table, "kind", &at)?.ok_or_else(|| format!("{at}: missing key `kind`"))?;
    let poll_interval = match take_string(&mut table, "poll_interval", &at)? {
        Some(text) => parse_duration(&text).map_err(|e| format!("{at}: poll_interval: {e}"))?,
        None => Duration::from_secs(300),
    };
    let check_interval = match take_string(&mut table, "check_interval", &at)? {
        Some(text) => parse_duration(&text).map_err(|e| format!("{at}: check_interval: {e}"))?,
        None => Duration::from_secs(2),
    };
    let timeout = match take_string(&mut table, "timeout", &at)? {
        Some(text) => parse_duration(&text).map_err(|e| format!("{at}: timeout: {e}"))?,
        None => Duration::from_secs(300),
    };
    let settings = match kind.as_str() {
        "csv" => {
            let mut csv: CsvSettings = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))?;
            csv.path = base.join(&csv.path);
            SourceSettings::Csv(csv)
        }
        "ldap" => {
            let mut ldap: LdapSettings = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))?;
            resolve_server_paths(&mut ldap.server, base);
            SourceSettings::Ldap(Box::new(ldap))
        }
        "activesync" => {
            let mut eas: ActiveSyncSettings = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))?;
            eas.path = base.join(&eas.path);
            SourceSettings::ActiveSync(eas)
        }
        "google" => {
            let mut google: GoogleSettings = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))?;
            resolve_google_paths(&mut google, base);
            SourceSettings::Google(Box::new(google))
        }
        other => return Err(format!(
            "{at}: kind {other:?} is not supported (supported: \"csv\", \"ldap\", \"activesync\", \"google\")"
        )),
    };
    // Checked here, without a network or the source's files, so the error names the file.
    settings
        .validate()
        .map_err(|e| format!("[[source]] {id:?}: {e}"))?;
    Ok(SourceConfig {
        id,
        poll_interval,
        check_interval,
        timeout,
        settings,
    })
}

fn take_string(table: &mut toml::Table, key: &str, at: &str) -> Result<Option<String>, String> {
    match table.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "{at}: `{key}` must be a string, found {}",
            other.type_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardbridge_connectors::ldap::Preset;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/cardbridge/test.toml"))
    }

    const MINIMAL: &str = r#"
        [[source]]
        id = "staff"
        kind = "csv"
        path = "staff.csv"

        [[addressbook]]
        id = "staff"
        sources = ["staff"]
    "#;

    #[test]
    fn minimal_config_gets_defaults_and_resolves_paths() {
        let config = parse(MINIMAL).expect("valid");
        assert_eq!(config.auth, AuthSettings::Anonymous);
        assert_eq!(config.server.listen, vec!["127.0.0.1:8008".to_string()]);
        assert!(config.server.report_body_limit >= 32 * 1024 * 1024);
        let SourceSettings::Csv(csv) = &config.sources[0].settings else {
            panic!("not a csv source")
        };
        assert_eq!(csv.path, Path::new("/etc/cardbridge/staff.csv"));
        assert_eq!(config.sources[0].poll_interval, Duration::from_secs(300));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse(&format!("{MINIMAL}\n[server]\nlisten_addr = \"x\"\n")).unwrap_err();
        assert!(err.contains("listen_addr"), "{err}");
        let err = parse(&MINIMAL.replace("path = ", "colour = \"red\"\npath = ")).unwrap_err();
        assert!(err.contains("colour") && err.contains("staff"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = parse(&MINIMAL.replace(
            "kind = \"csv\"",
            "kind = \"csv\"\npoll_interval = \"5 parsecs\"",
        ))
        .unwrap_err();
        assert!(err.contains("poll_interval"), "{err}");
        let err =
            parse(&MINIMAL.replace("sources = [\"staff\"]", "sources = [\"nope\"]")).unwrap_err();
        assert!(err.contains("nope"), "{err}");
        let err = parse(&format!("{MINIMAL}\n[auth]\nmode = \"users\"\n[[auth.users]]\nname = \"a\"\npassword_hash = \"plain\"\n"))
            .unwrap_err();
        assert!(err.contains("password_hash"), "{err}");
        let err = parse(&MINIMAL.replace(
            "id = \"staff\"\n        sources",
            "id = \"st/aff\"\n        sources",
        ))
        .unwrap_err();
        assert!(err.contains("st/aff"), "{err}");
    }

    #[test]
    fn login_limits_have_defaults_and_refuse_unknown_keys() {
        let config = parse(MINIMAL).expect("anonymous");
        assert_eq!(config.login_limits.failures_per_user_address, 5);
        assert_eq!(config.login_limits.max_delay, Duration::from_secs(300));
        assert!(config.login_limits.verify_threads >= 1);
        let config = parse(&format!(
            "[auth]\nmode = \"anonymous\"\nverify_threads = 3\nfailure_window = \"1h\"\n{MINIMAL}"
        ))
        .expect("set");
        assert_eq!(config.login_limits.verify_threads, 3);
        assert_eq!(
            config.login_limits.failure_window,
            Duration::from_secs(3600)
        );
        let err = parse(&format!(
            "[auth]\nmode = \"anonymous\"\nfailures_per_adress = 3\n{MINIMAL}"
        ))
        .unwrap_err();
        assert!(err.contains("failures_per_adress"), "{err}");
        let err = parse(&format!(
            "[auth]\nmode = \"anonymous\"\nmax_delay = \"soon\"\n{MINIMAL}"
        ))
        .unwrap_err();
        assert!(err.contains("max_delay"), "{err}");
    }

    #[test]
    fn shipped_configs_are_valid() {
        for name in ["example.toml", "demo.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .join(name);
            let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!config.books.is_empty());
        }
    }

    #[test]
    fn google_files_resolve_against_the_config_directory() {
        let oauth = parse(&MINIMAL.replace(
            "kind = \"csv\"\n        path = \"staff.csv\"",
            "kind = \"google\"\n[source.oauth]\nclient_id = \"c\"\nclient_secret_file = \"s\"\ntoken_file = \"google/token\"",
        ))
        .expect("valid");
        let SourceSettings::Google(google) = &oauth.sources[0].settings else {
            panic!("not a google source")
        };
        let o = google.oauth.as_ref().expect("oauth");
        assert_eq!(
            o.token_file.as_deref(),
            Some(Path::new("/etc/cardbridge/google/token"))
        );
        assert_eq!(
            o.client_secret_file.as_deref(),
            Some(Path::new("/etc/cardbridge/s"))
        );
        let sa = parse(&MINIMAL.replace(
            "kind = \"csv\"\n        path = \"staff.csv\"",
            "kind = \"google\"\nlisting = \"directory\"\n[source.service_account]\nkey_file = \"/keys/sa.json\"\nsubject = \"a@example.com\"",
        ))
        .expect("valid");
        let SourceSettings::Google(google) = &sa.sources[0].settings else {
            panic!("not a google source")
        };
        let key = &google.service_account.as_ref().expect("sa").key_file;
        assert_eq!(key, Path::new("/keys/sa.json"));
    }

    #[test]
    fn ldap_login_through_a_source_takes_its_preset_unless_told() {
        let config = |login_preset: &str| {
            parse(&format!(
                r#"
                [[source]]
                id = "ad"
                kind = "ldap"
                preset = "active-directory"
                base = ["DC=corp,DC=example,DC=com"]
                [source.server]
                url = "ldap://dc1.corp.example.com"

                [[addressbook]]
                id = "gal"
                sources = ["ad"]

                [auth]
                mode = "ldap"
                [auth.ldap]
                source = "ad"
                user_base = "DC=corp,DC=example,DC=com"
                {login_preset}
                "#
            ))
            .expect("valid")
        };
        let preset = |c: Config| match c.auth {
            AuthSettings::Ldap(ldap) => ldap.login.preset,
            other => panic!("not ldap: {other:?}"),
        };
        assert_eq!(preset(config("")), Preset::ActiveDirectory);
        assert_eq!(preset(config("preset = \"openldap\"")), Preset::Openldap);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
