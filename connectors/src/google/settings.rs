//! The `[[source]] kind = "google"` settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::photo::PhotoSettings;

/// What to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Listing {
    /// The account's own contacts (`people/me/connections`).
    #[default]
    Contacts,
    /// The Workspace domain directory (`people:listDirectoryPeople`).
    Directory,
}

/// Parts of the domain directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectorySource {
    /// The domain's user accounts.
    Profiles,
    /// Shared contacts an administrator added to the domain.
    Contacts,
}

impl DirectorySource {
    pub fn api_name(self) -> &'static str {
        match self {
            DirectorySource::Profiles => "DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE",
            DirectorySource::Contacts => "DIRECTORY_SOURCE_TYPE_DOMAIN_CONTACT",
        }
    }
}

/// An installed-app OAuth client and the refresh token `cardbridge google-login` stored
/// (`[source.oauth]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// Client id of a "Desktop app" OAuth client of the Google Cloud project.
    pub client_id: String,
    pub client_secret: Option<String>,
    /// File holding the client secret (trailing newline ignored).
    pub client_secret_file: Option<PathBuf>,
    /// The refresh token itself; prefer `token_file`, which `google-login` writes.
    pub refresh_token: Option<String>,
    /// File holding the refresh token, written by `cardbridge google-login`; read again whenever
    /// an access token is needed, so logging in again needs no restart.
    pub token_file: Option<PathBuf>,
}

/// A service account with domain-wide delegation (`[source.service_account]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountSettings {
    /// The JSON key downloaded for the service account.
    pub key_file: PathBuf,
    /// The Workspace user to act as (whose contacts, or whose view of the directory).
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleSettings {
    #[serde(default)]
    pub listing: Listing,
    /// `listing = "contacts"`: also publish "Other contacts" (people the account exchanged
    /// mail with but never saved).
    #[serde(default)]
    pub other_contacts: bool,
    /// `listing = "directory"`: which parts of the directory; both by default.
    #[serde(default = "default_directory_sources")]
    pub directory_sources: Vec<DirectorySource>,
    /// `listing = "contacts"`: publish the account's own contact groups ("labels") as group
    /// cards. Google's system groups (My Contacts, Starred, ...) are never published: every
    /// contact is in My Contacts, and the others are flags, not groups.
    #[serde(default = "yes")]
    pub groups: bool,
    pub oauth: Option<OAuthSettings>,
    pub service_account: Option<ServiceAccountSettings>,
    /// ISO 3166 region for phone numbers Google has no canonical form for.
    pub default_region: Option<String>,
    /// Size cap and downscaling of downloaded photos.
    #[serde(default)]
    pub photos: PhotoSettings,
    /// Download contact photos (Google's generated letter avatars are always left out).
    #[serde(default = "yes")]
    pub download_photos: bool,
    /// People API base URL.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// OAuth token endpoint; for service accounts the key file's `token_uri` when absent.
    pub token_url: Option<String>,
    /// Consent page `google-login` sends the operator to.
    #[serde(default = "default_auth_url")]
    pub auth_url: String,
    /// Entries per page (the API allows 1 to 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// One HTTP request gives up after this long.
    #[serde(default = "default_request_timeout", with = "crate::duration")]
    pub request_timeout: Duration,
}

fn yes() -> bool {
    true
}

fn default_directory_sources() -> Vec<DirectorySource> {
    vec![DirectorySource::Profiles, DirectorySource::Contacts]
}

fn default_api_url() -> String {
    "https://people.googleapis.com/".into()
}

pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

fn default_auth_url() -> String {
    "https://accounts.google.com/o/oauth2/v2/auth".into()
}

fn default_page_size() -> u32 {
    1000
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(60)
}

pub const SCOPE_CONTACTS: &str = "https://www.googleapis.com/auth/contacts.readonly";
pub const SCOPE_OTHER_CONTACTS: &str = "https://www.googleapis.com/auth/contacts.other.readonly";
pub const SCOPE_DIRECTORY: &str = "https://www.googleapis.com/auth/directory.readonly";

impl GoogleSettings {
    /// The OAuth scopes this configuration needs (read-only, nothing more).
    pub fn scopes(&self) -> Vec<&'static str> {
        match self.listing {
            Listing::Contacts if self.other_contacts => vec![SCOPE_CONTACTS, SCOPE_OTHER_CONTACTS],
            Listing::Contacts => vec![SCOPE_CONTACTS],
            Listing::Directory => vec![SCOPE_DIRECTORY],
        }
    }

    /// Checks what can be checked without a network or files.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.oauth, &self.service_account) {
            (None, None) => {
                return Err(
                    "say how to sign in: a [source.oauth] table (an account's own consent, \
                     see `cardbridge google-login`) or a [source.service_account] table \
                     (Workspace domain-wide delegation)"
                        .into(),
                )
            }
            (Some(_), Some(_)) => {
                return Err("give [source.oauth] or [source.service_account], not both".into())
            }
            (Some(oauth), None) => {
                if oauth.client_id.trim().is_empty() {
                    return Err("oauth.client_id: must not be empty".into());
                }
                match (&oauth.client_secret, &oauth.client_secret_file) {
                    (Some(_), Some(_)) => {
                        return Err(
                            "oauth: give client_secret or client_secret_file, not both".into()
                        )
                    }
                    (None, None) => {
                        return Err("oauth: give client_secret or client_secret_file (shown \
                                    with the client id in the Cloud console)"
                            .into())
                    }
                    _ => {}
                }
                match (&oauth.refresh_token, &oauth.token_file) {
                    (Some(_), Some(_)) => {
                        return Err("oauth: give refresh_token or token_file, not both".into())
                    }
                    (None, None) => {
                        return Err("oauth: give token_file (written by `cardbridge \
                                    google-login`) or refresh_token"
                            .into())
                    }
                    _ => {}
                }
            }
            (None, Some(sa)) => {
                if !sa.subject.contains('@') {
                    return Err(format!(
                        "service_account.subject: {:?} must be the email address of the \
                         Workspace user to act as",
                        sa.subject
                    ));
                }
            }
        }
        if self.listing != Listing::Contacts && self.other_contacts {
            return Err("other_contacts: only with listing = \"contacts\"".into());
        }
        if self.listing == Listing::Directory && self.directory_sources.is_empty() {
            return Err("directory_sources: give \"profiles\", \"contacts\" or both".into());
        }
        crate::phone::check_region(self.default_region.as_deref())?;
        if !(1..=1000).contains(&self.page_size) {
            return Err("page_size: must be 1 to 1000".into());
        }
        for (key, url) in [
            ("api_url", Some(&self.api_url)),
            ("token_url", self.token_url.as_ref()),
            ("auth_url", Some(&self.auth_url)),
        ] {
            if let Some(url) = url {
                check_url(url).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        self.photos.validate().map_err(|e| format!("photos: {e}"))?;
        Ok(())
    }
}

fn check_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        Ok(_) => Err(format!("{url:?} must be an http:// or https:// URL")),
        Err(e) => Err(format!("{url:?} is not a URL: {e}")),
    }
}
