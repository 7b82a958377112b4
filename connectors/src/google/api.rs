//! HTTP to the People API: bearer tokens, paging, retries, and what each error answer means.
//!
//! - 401: the access token is dropped and a new one fetched once; a second 401 fails the poll.
//! - 429 and 5xx: retried within the poll after `Retry-After` (or 1 s, 2 s, 4 s); when Google
//!   asks for a longer wait, the poll fails and the source stays quiet until then.
//! - 400 `EXPIRED_SYNC_TOKEN`: reported as such; the caller lists everything again.
//! - 403: translated into what the operator has to change (scope, API, directory sharing).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::auth::{Auth, AuthError, Method};
use super::settings::DirectorySource;
use super::wire::Person;
use crate::{SkippedRecord, SourceError};

/// Attempts of one request when Google answers 429 or 5xx, or cannot be reached.
const MAX_ATTEMPTS: u32 = 4;
/// Longest `Retry-After` waited out within a poll; longer ones fail the poll.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Fields asked for people in contacts and directory listings.
const PERSON_FIELDS: &str = "names,nicknames,emailAddresses,phoneNumbers,addresses,\
organizations,birthdays,events,urls,biographies,photos,memberships,relations,imClients,\
sipAddresses,userDefined,locations,metadata";
/// The only fields "Other contacts" have.
const OTHER_CONTACT_FIELDS: &str = "names,emailAddresses,phoneNumbers,photos,metadata";

/// One listing with its own sync token.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Feed {
    /// `people/me/connections`.
    Connections,
    /// `otherContacts`.
    OtherContacts,
    /// `people:listDirectoryPeople`.
    Directory,
}

impl Feed {
    fn path(self) -> &'static str {
        match self {
            Feed::Connections => "v1/people/me/connections",
            Feed::OtherContacts => "v1/otherContacts",
            Feed::Directory => "v1/people:listDirectoryPeople",
        }
    }

    /// How error messages name the listing.
    pub fn describe(self) -> &'static str {
        match self {
            Feed::Connections => "listing the account's contacts (people/me/connections)",
            Feed::OtherContacts => "listing \"Other contacts\" (otherContacts)",
            Feed::Directory => "listing the domain directory (people:listDirectoryPeople)",
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    /// The sync token is too old: list everything again.
    ExpiredSyncToken,
    /// Google wants fewer requests; `retry_after` when it said how long to wait.
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// Google refused the credentials or their rights (consent, scope, API not enabled,
    /// directory not shared): a person has to act; the message says how.
    Refused(String),
    /// Google could not be reached, or its answer could not be read off the wire.
    Unreachable(String),
    /// Google's answer cannot be used (not the JSON it documents, a listing that loops).
    BadAnswer { what: String, message: String },
    /// Any other error answer; the message says what to do.
    Failed(String),
}

impl From<ApiError> for SourceError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::RateLimited {
                retry_after,
                message,
            } => SourceError::RateLimited {
                retry_after,
                message,
            },
            ApiError::Refused(message) => SourceError::Refused(message),
            ApiError::BadAnswer { what, message } => SourceError::BadData {
                location: what,
                message,
            },
            ApiError::ExpiredSyncToken | ApiError::Unreachable(_) | ApiError::Failed(_) => {
                SourceError::Unreachable(error.to_string())
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::ExpiredSyncToken => f.write_str("the sync token has expired"),
            ApiError::RateLimited { message, .. }
            | ApiError::Refused(message)
            | ApiError::Unreachable(message)
            | ApiError::Failed(message) => f.write_str(message),
            ApiError::BadAnswer { what, message } => write!(f, "{what}: {message}"),
        }
    }
}

/// One listing (all pages): the people, entries that could not be read, and the cursor for
/// the next delta.
pub struct Listed {
    pub people: Vec<Person>,
    pub unreadable: Vec<SkippedRecord>,
    pub next_sync_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Page {
    connections: Vec<serde_json::Value>,
    people: Vec<serde_json::Value>,
    other_contacts: Vec<serde_json::Value>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

/// A contact group ("label").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContactGroup {
    pub resource_name: String,
    pub name: Option<String>,
    pub formatted_name: Option<String>,
    /// `USER_CONTACT_GROUP` or `SYSTEM_CONTACT_GROUP`.
    pub group_type: Option<String>,
    pub metadata: GroupMetadata,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupMetadata {
    pub deleted: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GroupPage {
    contact_groups: Vec<ContactGroup>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    message: String,
    status: String,
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorDetail {
    reason: String,
}

pub struct Api {
    http: reqwest::Client,
    base: reqwest::Url,
    auth: Auth,
    page_size: u32,
    directory_sources: Vec<DirectorySource>,
    /// 429 answers retried and the time waited for them since the last `take_throttling`.
    throttling: std::sync::Mutex<(u32, Duration)>,
}

impl Api {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        auth: Auth,
        page_size: u32,
        directory_sources: Vec<DirectorySource>,
    ) -> Result<Api, String> {
        // `join` keeps the base's path only when it ends with a slash.
        let base = if base.ends_with('/') {
            base.to_string()
        } else {
            format!("{base}/")
        };
        let base = reqwest::Url::parse(&base).map_err(|e| format!("api_url: {base:?}: {e}"))?;
        Ok(Api {
            http,
            base,
            auth,
            page_size,
            directory_sources,
            throttling: std::sync::Mutex::default(),
        })
    }

    /// The 429s retried and the time waited for them since the last call, which resets both.
    pub fn take_throttling(&self) -> (u32, Duration) {
        self.throttling
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    /// Every page of `feed`: a full listing without `sync_token`, the changes since it with.
    pub async fn list(&self, feed: Feed, sync_token: Option<&str>) -> Result<Listed, ApiError> {
        let mut query: Vec<(&str, String)> = match feed {
            Feed::Connections => vec![("personFields", PERSON_FIELDS.into())],
            Feed::OtherContacts => vec![("readMask", OTHER_CONTACT_FIELDS.into())],
            Feed::Directory => {
                let mut q = vec![("readMask", PERSON_FIELDS.replace(",memberships", ""))];
                q.extend(
                    self.directory_sources
                        .iter()
                        .map(|s| ("sources", s.api_name().to_string())),
                );
                q
            }
        };
        query.push(("pageSize", self.page_size.to_string()));
        query.push(("requestSyncToken", "true".into()));
        if let Some(token) = sync_token {
            query.push(("syncToken", token.to_string()));
        }
        let mut listed = Listed {
            people: Vec::new(),
            unreadable: Vec::new(),
            next_sync_token: None,
        };
        let mut seen = HashSet::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut q = query.clone();
            if let Some(token) = &page_token {
                q.push(("pageToken", token.clone()));
            }
            let page: Page = self.get_json(feed.path(), &q, feed).await?;
            let entries = match feed {
                Feed::Connections => page.connections,
                Feed::OtherContacts => page.other_contacts,
                Feed::Directory => page.people,
            };
            for entry in entries {
                let location = entry
                    .get("resourceName")
                    .and_then(|v| v.as_str())
                    .unwrap_or("(an entry without resourceName)")
                    .to_string();
                match serde_json::from_value::<Person>(entry) {
                    Ok(person) if !person.resource_name.is_empty() => listed.people.push(person),
                    Ok(_) => listed.unreadable.push(SkippedRecord {
                        location,
                        reason: "no resourceName to identify it".into(),
                    }),
                    Err(e) => listed.unreadable.push(SkippedRecord {
                        location,
                        reason: format!("unreadable entry: {e}"),
                    }),
                }
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(token) => {
                    if !seen.insert(token.clone()) {
                        return Err(ApiError::BadAnswer {
                            what: feed.describe().to_string(),
                            message: "Google sent the same page token twice; the listing \
                                      would never end"
                                .into(),
                        });
                    }
                    page_token = Some(token);
                }
                None => {
                    listed.next_sync_token = page.next_sync_token.filter(|t| !t.is_empty());
                    return Ok(listed);
                }
            }
        }
    }

    /// The account's contact groups (all pages).
    pub async fn contact_groups(&self) -> Result<Vec<ContactGroup>, ApiError> {
        let mut groups = Vec::new();
        let mut seen = HashSet::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut q = vec![
                ("pageSize", "1000".to_string()),
                ("groupFields", "name,groupType,metadata".to_string()),
            ];
            if let Some(token) = &page_token {
                q.push(("pageToken", token.clone()));
            }
            let page: GroupPage = self
                .get_json("v1/contactGroups", &q, Feed::Connections)
                .await?;
            groups.extend(page.contact_groups);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(token) if seen.insert(token.clone()) => page_token = Some(token),
                Some(_) => {
                    return Err(ApiError::BadAnswer {
                        what: "listing contact groups".into(),
                        message: "Google sent the same page token twice".into(),
                    })
                }
                None => return Ok(groups),
            }
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        feed: Feed,
    ) -> Result<T, ApiError> {
        let what = if path == "v1/contactGroups" {
            "listing contact groups (contactGroups)"
        } else {
            feed.describe()
        };
        let url = self
            .base
            .join(path)
            .map_err(|e| ApiError::Failed(format!("{what}: bad URL: {e}")))?;
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token = self.auth.token().await.map_err(|e| match e {
                AuthError::Refused(m) => ApiError::Refused(m),
                AuthError::Transient(m) => ApiError::Unreachable(m),
            })?;
            let response = match self
                .http
                .get(url.clone())
                .query(query)
                .bearer_auth(&token)
                .send()
                .await
            {
                Ok(response) => response,
                // Connection trouble: like a 503, worth another try within the poll.
                Err(e) if attempt < MAX_ATTEMPTS => {
                    let delay = backoff(attempt);
                    tracing::warn!(
                        attempt,
                        retry_in_ms = delay.as_millis() as u64,
                        "{what}: cannot reach Google ({e}); trying again"
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(e) => {
                    return Err(ApiError::Unreachable(format!(
                        "{what}: cannot reach {}: {e}",
                        self.base
                    )))
                }
            };
            let status = response.status().as_u16();
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, SystemTime::now()));
            let body = response
                .bytes()
                .await
                .map_err(|e| ApiError::Unreachable(format!("{what}: reading the answer: {e}")))?;
            match status {
                200 => {
                    return serde_json::from_slice(&body).map_err(|e| ApiError::BadAnswer {
                        what: what.to_string(),
                        message: format!("Google's answer is not readable: {e}"),
                    })
                }
                401 if !refreshed => {
                    tracing::info!("{what}: Google refused the access token; fetching a new one");
                    self.auth.invalidate(&token).await;
                    refreshed = true;
                    attempt -= 1;
                }
                401 => {
                    return Err(ApiError::Refused(format!(
                        "{what}: Google refused a freshly issued access token too (401: {}); \
                         check that the People API is enabled in the token's Cloud project",
                        error_message(&body)
                    )))
                }
                429 | 500..=599 => {
                    let delay = wait.unwrap_or_else(|| backoff(attempt));
                    if attempt < MAX_ATTEMPTS && delay <= MAX_WAIT {
                        if status == 429 {
                            if let Ok(mut t) = self.throttling.lock() {
                                t.0 += 1;
                                t.1 += delay;
                            }
                        }
                        tracing::warn!(
                            attempt,
                            retry_in_ms = delay.as_millis() as u64,
                            "{what}: Google answered {status}; trying again"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    let message = match status {
                        429 => format!(
                            "{what}: Google's rate limit for the project is exhausted (429: {})",
                            error_message(&body)
                        ),
                        _ => format!(
                            "{what}: Google answered {status} ({}) {attempt} times",
                            error_message(&body)
                        ),
                    };
                    return Err(ApiError::RateLimited {
                        retry_after: wait,
                        message,
                    });
                }
                _ => return Err(self.classify(what, feed, status, &body)),
            }
        }
    }

    /// Turns an error answer into what the operator needs to know.
    fn classify(&self, what: &str, feed: Feed, status: u16, body: &[u8]) -> ApiError {
        let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
        let error = envelope.error;
        let has = |reason: &str| error.details.iter().any(|d| d.reason == reason);
        let message = error_message(body);
        if status == 400
            && (has("EXPIRED_SYNC_TOKEN") || error.message.contains("Sync token is expired"))
        {
            return ApiError::ExpiredSyncToken;
        }
        if status == 403 {
            if has("ACCESS_TOKEN_SCOPE_INSUFFICIENT") {
                return ApiError::Refused(format!(
                    "{what}: the access token lacks a scope ({message}); {}",
                    self.auth.scope_advice()
                ));
            }
            if has("SERVICE_DISABLED") || error.message.contains("has not been used in project") {
                return ApiError::Refused(format!(
                    "{what}: the People API is not enabled for the Cloud project of the \
                     OAuth client or service account ({message}); enable it in the Cloud \
                     console, APIs & Services → Library → People API"
                ));
            }
            if feed == Feed::Directory {
                let who = match self.auth.method() {
                    Method::ServiceAccount(sa) => format!("{} is", sa.subject),
                    Method::Refresh(_) => "the signed-in account is".to_string(),
                };
                return ApiError::Refused(format!(
                    "{what}: Google refused the domain directory ({message}). An \
                     administrator has to share it: Admin console → Directory → Directory \
                     settings → Sharing settings, turn on Contact sharing and set External \
                     Directory Sharing to \"Organization data and authenticated user basic \
                     profile fields\" (changes can take hours). Otherwise check that {who} a \
                     user of the Workspace domain"
                ));
            }
        }
        let status_text = if error.status.is_empty() {
            String::new()
        } else {
            format!(" {}", error.status)
        };
        ApiError::Failed(format!("{what}: HTTP {status}{status_text}: {message}"))
    }
}

/// Google's error message, or the start of whatever the body was.
fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) if !envelope.error.message.is_empty() => envelope.error.message,
        _ => String::from_utf8_lossy(body)
            .chars()
            .take(200)
            .collect::<String>()
            .trim()
            .to_string(),
    }
}

/// 1 s, 2 s, 4 s, ...
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.saturating_sub(1).min(6))
}

/// A `Retry-After` value: seconds, or an HTTP date (then the time until it).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(90)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
    }
}
