//! `[[source]] kind = "ldap"` settings, and the connection settings shared with LDAP login.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::photo::PhotoSettings;

/// How to reach and bind to a directory server (`[source.server]`, `[auth.ldap.server]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// PEM file of the CA(s) that signed the server certificate; the system roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// Accepts any certificate. For tests against throwaway servers only.
    #[serde(default)]
    pub danger_skip_tls_verify: bool,
    /// Service account; anonymous bind when absent.
    pub bind_dn: Option<String>,
    pub bind_password: Option<String>,
    /// File holding the service account's password (trailing newline ignored), so the config
    /// file can be world-readable.
    pub bind_password_file: Option<PathBuf>,
    /// Connecting and each operation give up after this long.
    #[serde(default = "default_timeout", with = "crate::duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl ServerSettings {
    /// Checks what can be checked without a network.
    pub fn validate(&self) -> Result<(), String> {
        let lower = self.url.to_ascii_lowercase();
        if !(lower.starts_with("ldap://") || lower.starts_with("ldaps://")) {
            return Err(format!(
                "server.url: {:?} must start with ldap:// or ldaps://",
                self.url
            ));
        }
        if self.starttls && lower.starts_with("ldaps://") {
            return Err("server.starttls: only for ldap:// URLs (ldaps:// is TLS already)".into());
        }
        if self.bind_password.is_some() && self.bind_password_file.is_some() {
            return Err("server: give bind_password or bind_password_file, not both".into());
        }
        if self.bind_dn.is_none()
            && (self.bind_password.is_some() || self.bind_password_file.is_some())
        {
            return Err("server: a bind password needs a bind_dn".into());
        }
        Ok(())
    }
}

/// Attribute naming conventions of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// inetOrgPerson / groupOfNames, entryUUID, modifyTimestamp.
    #[default]
    Openldap,
    /// AD user objects, objectGUID, uSNChanged, disabled accounts left out.
    ActiveDirectory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Base,
    One,
    #[default]
    Sub,
}

impl Scope {
    pub fn to_ldap(self) -> ldap3::Scope {
        match self {
            Scope::Base => ldap3::Scope::Base,
            Scope::One => ldap3::Scope::OneLevel,
            Scope::Sub => ldap3::Scope::Subtree,
        }
    }
}

/// A string or a list of strings in TOML.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Group cards (`[source.groups]`): present = enabled.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSettings {
    /// Where groups live; the source's `base` when absent.
    pub base: Option<OneOrMany>,
    /// The preset's group filter when absent.
    pub filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    pub server: ServerSettings,
    #[serde(default)]
    pub preset: Preset,
    /// One or more base DNs searched for people.
    pub base: OneOrMany,
    #[serde(default)]
    pub scope: Scope,
    /// The preset's people filter when absent.
    pub filter: Option<String>,
    /// Active Directory: also publish contact objects (`objectClass=contact`, the external
    /// people of an Exchange address list) next to user accounts. On unless set to false;
    /// only for the preset's filter (an own `filter` says what it wants itself).
    pub include_contacts: Option<bool>,
    /// RFC 2696 page size; servers cap it at their own limit.
    #[serde(default = "default_page_size")]
    pub page_size: i32,
    /// Attribute holding a stable id; the preset's (entryUUID / objectGUID) when absent.
    pub uid_attribute: Option<String>,
    /// Per-field attribute overrides, e.g. `mobile = ["mobile", "otherMobile"]`, `fax = []`.
    #[serde(default)]
    pub attributes: BTreeMap<String, OneOrMany>,
    pub groups: Option<GroupSettings>,
    #[serde(default)]
    pub photos: PhotoSettings,
    /// Region for numbers written without a country code, e.g. "DE".
    pub default_region: Option<String>,
    /// Polls in between full listings ask only for entries changed since the last one; a full
    /// listing (the only way to see deletions) runs at least this often.
    #[serde(default = "default_full_listing_interval", with = "crate::duration")]
    pub full_listing_interval: Duration,
    /// Attribute for incremental polls; the preset's (modifyTimestamp / uSNChanged) when
    /// absent, `""` to always list everything.
    pub change_attribute: Option<String>,
}

fn default_page_size() -> i32 {
    500
}

fn default_full_listing_interval() -> Duration {
    Duration::from_secs(3600)
}
