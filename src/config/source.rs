//! The `[[source]]` tables: each source's id, schedule and its kind's own settings (checked by
//! the settings themselves, with no network or file access). Instantiating the sources is
//! `crate::source_setup`.

use std::path::Path;
use std::time::Duration;

use cardbridge_connectors::activesync::ActiveSyncSettings;
use cardbridge_connectors::csv::CsvSettings;
use cardbridge_connectors::google::GoogleSettings;
use cardbridge_connectors::ldap::{LdapSettings, ServerSettings as LdapServer};

use super::{check_id, parse_duration};

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    /// Longest time between two polls.
    pub poll_interval: Duration,
    /// How often the source's cheap change check (e.g. file mtime) runs between polls, while
    /// the source is not watched.
    pub check_interval: Duration,
    /// How long a watched source's changes must pause before it is read: a burst (or a file
    /// written in several steps) is read once.
    pub debounce: Duration,
    /// A poll taking longer than this fails (and is retried with backoff).
    pub timeout: Duration,
    pub settings: SourceSettings,
    /// Everything the `[[source]]` table said, in one canonical text (keys sorted, paths
    /// relative to `base`): two configs describe the same source exactly when their keys are
    /// equal, which is how a reload tells a changed source from an unchanged one.
    pub key: String,
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

pub(super) fn parse_source(
    index: usize,
    mut table: toml::Table,
    base: &Path,
) -> Result<SourceConfig, String> {
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
    let debounce = match take_string(&mut table, "debounce", &at)? {
        Some(text) => parse_duration(&text).map_err(|e| format!("{at}: debounce: {e}"))?,
        None => Duration::from_millis(200),
    };
    let timeout = match take_string(&mut table, "timeout", &at)? {
        Some(text) => parse_duration(&text).map_err(|e| format!("{at}: timeout: {e}"))?,
        None => Duration::from_secs(300),
    };
    let key = format!(
        "kind={kind} base={base:?} poll_interval={poll_interval:?} \
         check_interval={check_interval:?} debounce={debounce:?} timeout={timeout:?} {table}"
    );
    let settings = match kind.as_str() {
        "csv" => {
            let mut csv: CsvSettings = kind_settings(table, &at)?;
            csv.path = base.join(&csv.path);
            SourceSettings::Csv(csv)
        }
        "ldap" => {
            let mut ldap: LdapSettings = kind_settings(table, &at)?;
            resolve_server_paths(&mut ldap.server, base);
            SourceSettings::Ldap(Box::new(ldap))
        }
        "activesync" => {
            let mut eas: ActiveSyncSettings = kind_settings(table, &at)?;
            eas.path = base.join(&eas.path);
            SourceSettings::ActiveSync(eas)
        }
        "google" => {
            let mut google: GoogleSettings = kind_settings(table, &at)?;
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
        debounce,
        timeout,
        settings,
        key,
    })
}

/// The rest of a `[[source]]` table read as its kind's settings.
fn kind_settings<T: serde::de::DeserializeOwned>(
    table: toml::Table,
    at: &str,
) -> Result<T, String> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| format!("{at}: {}", e.message()))
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

/// Files named in a server table are relative to the config file.
pub(super) fn resolve_server_paths(server: &mut LdapServer, base: &Path) {
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
