//! The `[push]` table: WebDAV-Push (draft by the DAVx5 authors) for address books, sent over
//! Web Push. Off by default; the push machinery itself is `crate::push`.

use std::time::Duration;

use serde::Deserialize;

use super::parse_duration;

/// `[push]` as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPush {
    #[serde(default)]
    enabled: bool,
    /// The VAPID `sub` claim: how a push service reaches the operator (`mailto:` or `https:`).
    #[serde(default)]
    vapid_subject: Option<String>,
    /// How long a push service keeps an undelivered message (the `TTL` header).
    #[serde(default = "default_ttl")]
    ttl: String,
    /// `Urgency` of every message (RFC 8030 §5.3).
    #[serde(default = "default_urgency")]
    urgency: String,
    /// The shortest time between two messages to one subscription; changes in between are
    /// merged into one message carrying the latest sync token.
    #[serde(default = "default_min_interval")]
    min_interval: String,
    /// The longest a registration lasts (a client asking for more gets this).
    #[serde(default = "default_max_expiry")]
    max_expiry: String,
    #[serde(default = "default_max_per_user")]
    max_subscriptions_per_user: usize,
    /// Accept `http:` push resources (a push gateway on the local network, tests). Off: the
    /// draft requires TLS to the push service.
    #[serde(default)]
    allow_plain_http: bool,
}

fn default_ttl() -> String {
    "1d".into()
}
fn default_urgency() -> String {
    "normal".into()
}
fn default_min_interval() -> String {
    "10s".into()
}
fn default_max_expiry() -> String {
    "7d".into()
}
fn default_max_per_user() -> usize {
    50
}

/// Validated `[push]` settings, present only when push is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSettings {
    pub vapid_subject: String,
    pub ttl: Duration,
    pub urgency: String,
    pub min_interval: Duration,
    pub max_expiry: Duration,
    pub max_subscriptions_per_user: usize,
    pub allow_plain_http: bool,
}

/// The draft asks servers to let registrations live at least three days.
const SHORTEST_MAX_EXPIRY: Duration = Duration::from_secs(3 * 24 * 3600);

impl RawPush {
    /// `None` when push is off; `has_state_dir` because the VAPID key and the subscriptions
    /// must survive restarts (a new key breaks every phone's subscription).
    pub(super) fn resolve(self, has_state_dir: bool) -> Result<Option<PushSettings>, String> {
        if !self.enabled {
            return Ok(None);
        }
        if !has_state_dir {
            return Err(
                "[push] enabled needs [store] state_dir: the VAPID key and the \
                        subscriptions are kept there"
                    .into(),
            );
        }
        let subject = self.vapid_subject.unwrap_or_default();
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err(
                "[push] vapid_subject: give a mailto: or https: contact for the \
                        push services (RFC 8292 §2.1)"
                    .into(),
            );
        }
        let duration =
            |key: &str, text: &str| parse_duration(text).map_err(|e| format!("[push] {key}: {e}"));
        let ttl = duration("ttl", &self.ttl)?;
        if ttl > Duration::from_secs(28 * 24 * 3600) {
            return Err("[push] ttl: at most 28d (push services cap it)".into());
        }
        if !matches!(
            self.urgency.as_str(),
            "very-low" | "low" | "normal" | "high"
        ) {
            return Err("[push] urgency: one of very-low, low, normal, high".into());
        }
        let max_expiry = duration("max_expiry", &self.max_expiry)?;
        if max_expiry < SHORTEST_MAX_EXPIRY {
            return Err("[push] max_expiry: at least 3d (the draft's minimum)".into());
        }
        if self.max_subscriptions_per_user == 0 {
            return Err("[push] max_subscriptions_per_user: must be positive".into());
        }
        Ok(Some(PushSettings {
            vapid_subject: subject,
            ttl,
            urgency: self.urgency,
            min_interval: duration("min_interval", &self.min_interval)?,
            max_expiry,
            max_subscriptions_per_user: self.max_subscriptions_per_user,
            allow_plain_http: self.allow_plain_http,
        }))
    }
}
