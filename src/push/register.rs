//! What a `push-register` body asks for, checked: a Web Push subscription the server can
//! encrypt for and reach, a trigger it supports, and an expiry it understands.

use std::time::UNIX_EPOCH;

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use ring::rand::SecureRandom;

use super::ece::ReceiverKeys;
use super::registry::Registration;
use crate::config::PushSettings;

/// Longest push resource URL accepted (push services hand out a few hundred bytes).
const MAX_URL: usize = 2048;

/// base64url as the draft writes keys, with or without padding.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The fields of a `push-register` body, as text (read by `dav::request`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RawRegistration {
    /// Whether `subscription` holds a `web-push-subscription`.
    pub web_push: bool,
    pub push_resource: Option<String>,
    pub content_encoding: Option<String>,
    /// The `type` attribute of `subscription-public-key`.
    pub key_type: Option<String>,
    pub public_key: Option<String>,
    pub auth_secret: Option<String>,
    /// Whether `trigger` asks for content updates (at any depth: every depth is served as 1,
    /// the only one a book has).
    pub content_update: bool,
    pub expires: Option<String>,
}

/// Why a registration is refused (each maps to the draft's answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// 403 with `invalid-subscription`.
    #[error("invalid subscription: {0}")]
    Subscription(String),
    /// 403 with the no-trigger-supported precondition.
    #[error("no supported trigger: this server sends content updates only")]
    NoTrigger,
    /// 400: a malformed field outside the subscription.
    #[error("{0}")]
    BadRequest(String),
}

fn subscription(why: impl Into<String>) -> Invalid {
    Invalid::Subscription(why.into())
}

fn decoded(field: &str, text: Option<&str>) -> Result<Vec<u8>, Invalid> {
    let text = text.ok_or_else(|| subscription(format!("{field} is missing")))?;
    BASE64URL
        .decode(text.trim())
        .map_err(|e| subscription(format!("{field} is not base64url: {e}")))
}

/// Checks `raw` into a registration.
pub fn check_registration(
    raw: &RawRegistration,
    settings: &PushSettings,
    rng: &dyn SecureRandom,
) -> Result<Registration, Invalid> {
    if !raw.web_push {
        return Err(subscription(
            "subscription needs a web-push-subscription (the only transport offered)",
        ));
    }
    let resource = raw
        .push_resource
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| subscription("push-resource is missing"))?;
    if resource.len() > MAX_URL {
        return Err(subscription(format!(
            "push-resource is longer than {MAX_URL} bytes"
        )));
    }
    let url = reqwest::Url::parse(resource)
        .map_err(|e| subscription(format!("push-resource is not an absolute URL: {e}")))?;
    let scheme_ok =
        url.scheme() == "https" || (settings.allow_plain_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
        return Err(subscription(
            "push-resource must be an https: URL with a host",
        ));
    }
    if raw.content_encoding.as_deref().map(str::trim) != Some("aes128gcm") {
        return Err(subscription("content-encoding must be aes128gcm"));
    }
    if raw
        .key_type
        .as_deref()
        .is_some_and(|t| t.trim() != "p256dh")
    {
        return Err(subscription("subscription-public-key type must be p256dh"));
    }
    let keys = ReceiverKeys {
        public: decoded("subscription-public-key", raw.public_key.as_deref())?,
        auth: decoded("auth-secret", raw.auth_secret.as_deref())?,
    };
    keys.check(rng).map_err(|e| subscription(e.to_string()))?;
    if !raw.content_update {
        return Err(Invalid::NoTrigger);
    }
    let expires = match raw.expires.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let at = httpdate::parse_http_date(text).map_err(|_| {
                Invalid::BadRequest(format!(
                    "expires {text:?} is not an IMF-fixdate (e.g. Wed, 20 Dec 2023 10:03:31 GMT)"
                ))
            })?;
            Some(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
        }
    };
    Ok(Registration {
        push_resource: url.to_string(),
        public_key: keys.public,
        auth: keys.auth,
        expires,
    })
}
