//! One Web Push request (RFC 8030 §5): the message encrypted for the subscription, signed
//! with VAPID, POSTed to its push resource; and what the push service's answer means.

use std::time::Duration;

use super::ece::ReceiverKeys;
use super::saved::Subscription;
use super::vapid::VapidKey;
use crate::config::PushSettings;

/// What a push service said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 404 or 410: the subscription no longer exists; forget it.
    Gone,
    /// A network error, 429 or 5xx: try again, after the push service's `Retry-After` if it
    /// gave one.
    Retry(Option<Duration>),
    /// Any other answer: this message cannot be delivered as it is (logged, not retried).
    Refused(String),
}

/// The client for every push service: no redirects (a push resource is where messages go,
/// nowhere else), bounded waits, and TLS only unless `[push] allow_plain_http`.
pub fn client(settings: &PushSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .https_only(!settings.allow_plain_http)
        .user_agent(concat!("cardbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the push client: {e}"))
}

/// Header values of one message.
pub struct Headers<'a> {
    pub settings: &'a PushSettings,
    /// Lets the push service replace an undelivered message of the same book by a newer one.
    pub topic: Option<&'a str>,
}

/// Sends `plaintext` to `subscription`, signed with `key`.
pub async fn send(
    client: &reqwest::Client,
    subscription: &Subscription,
    plaintext: &str,
    key: &VapidKey,
    headers: Headers<'_>,
    now: u64,
) -> Outcome {
    let rng = ring::rand::SystemRandom::new();
    let url = match reqwest::Url::parse(&subscription.push_resource) {
        Ok(url) => url,
        Err(e) => return Outcome::Refused(format!("push resource is not a URL: {e}")),
    };
    let receiver = ReceiverKeys {
        public: subscription.public_key.clone(),
        auth: subscription.auth.clone(),
    };
    let body = match receiver.encrypt(plaintext.as_bytes(), &rng) {
        Ok(body) => body,
        Err(e) => return Outcome::Refused(format!("cannot encrypt: {e}")),
    };
    let origin = url.origin().ascii_serialization();
    let subject = &headers.settings.vapid_subject;
    let authorization = match key.authorization(&origin, subject, now, &rng) {
        Ok(value) => value,
        Err(e) => return Outcome::Refused(e),
    };
    let mut request = client
        .post(url)
        .header("Authorization", authorization)
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/xml; charset=\"UTF-8\"")
        .header("TTL", headers.settings.ttl.as_secs().to_string())
        .header("Urgency", headers.settings.urgency.as_str());
    if let Some(topic) = headers.topic {
        request = request.header("Topic", topic);
    }
    let response = match request.body(body).send().await {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!(subscription = %subscription.id, "push request failed: {e}");
            return Outcome::Retry(None);
        }
    };
    let status = response.status().as_u16();
    match status {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => Outcome::Retry(retry_after(response.headers())),
        _ => Outcome::Refused(format!("the push service answered {status}")),
    }
}

/// `Retry-After` in seconds (the date form is rare from push services and is ignored).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}
