//! A Web Push service for the tests (`fake_push.py`): hands out subscriptions, and checks
//! and decrypts what the server pushes to them with independent implementations (py_vapid,
//! http_ece, cryptography). See the script for what it verifies.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::http::Conn;

pub struct FakePush {
    child: Child,
    pub port: u16,
}

/// A subscription as a phone would register it (keys base64url).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub push_resource: String,
    pub public_key: String,
    pub auth: String,
}

/// One request the push service received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The status it answered (201; 410 for a gone subscription, 503 when told to fail, 400
    /// when a check failed).
    pub answered: u16,
    /// What failed to verify or decrypt, if anything.
    pub error: Option<String>,
    /// The decrypted message.
    pub payload: String,
    /// The `k=` of the VAPID header (the token verified against it).
    pub vapid_key: String,
    pub claims: serde_json::Value,
    pub ttl: Option<String>,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    pub content_type: Option<String>,
    /// Unix seconds (fractional) when it arrived.
    pub received_at: f64,
}

impl FakePush {
    /// Starts the service; fails with the install hint when a Python module is missing.
    pub fn start() -> FakePush {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/fake_push.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is needed for the push tests (scripts/setup.sh)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        let port = match line.trim().strip_prefix("PORT ") {
            Some(port) => port.parse().expect("port"),
            None => {
                let _ = child.kill();
                panic!("the fake push service did not start: {line}");
            }
        };
        FakePush { child, port }
    }

    fn request(&self, method: &str, path: &str) -> super::http::Response {
        Conn::open(self.port).send(method, path, &[], b"")
    }

    /// A new subscription with fresh keys.
    pub fn subscribe(&self) -> Subscription {
        let r = self.request("POST", "/subscriptions");
        assert_eq!(r.status, 201, "{}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        let field = |name: &str| v[name].as_str().expect(name).to_string();
        Subscription {
            id: field("id"),
            push_resource: field("push_resource"),
            public_key: field("public_key"),
            auth: field("auth"),
        }
    }

    /// From now on, pushes to `subscription` are answered 410 Gone.
    pub fn make_gone(&self, subscription: &Subscription) {
        let r = self.request("POST", &format!("/subscriptions/{}/gone", subscription.id));
        assert_eq!(r.status, 204);
    }

    /// The next `n` pushes to `subscription` are answered 503 Service Unavailable.
    pub fn fail_next(&self, subscription: &Subscription, n: usize) {
        let r = self.request(
            "POST",
            &format!("/subscriptions/{}/fail/{n}", subscription.id),
        );
        assert_eq!(r.status, 204);
    }

    /// Everything pushed to `subscription` so far, oldest first.
    pub fn received(&self, subscription: &Subscription) -> Vec<Received> {
        let r = self.request(
            "GET",
            &format!("/subscriptions/{}/messages", subscription.id),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let list: Vec<serde_json::Value> = serde_json::from_slice(&r.body).expect("json");
        list.iter()
            .map(|m| {
                let text = |name: &str| m[name].as_str().map(str::to_string);
                Received {
                    answered: m["answered"].as_u64().unwrap_or(0) as u16,
                    error: text("error"),
                    payload: text("payload").unwrap_or_default(),
                    vapid_key: text("vapid_key").unwrap_or_default(),
                    claims: m["claims"].clone(),
                    ttl: text("ttl"),
                    urgency: text("urgency"),
                    topic: text("topic"),
                    content_type: text("content_type"),
                    received_at: m["received_at"].as_f64().unwrap_or(0.0),
                }
            })
            .collect()
    }
}

impl Drop for FakePush {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `push-register` body for `subscription` (content updates, depth 1), with an optional
/// IMF-fixdate `expires`.
pub fn register_body(subscription: &Subscription, expires: Option<&str>) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<push-register xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:">
  <subscription><web-push-subscription>
    <push-resource>{}</push-resource>
    <content-encoding>aes128gcm</content-encoding>
    <subscription-public-key type="p256dh">{}</subscription-public-key>
    <auth-secret>{}</auth-secret>
  </web-push-subscription></subscription>
  <trigger><content-update><D:depth>1</D:depth></content-update></trigger>
  {}
</push-register>"#,
        subscription.push_resource,
        subscription.public_key,
        subscription.auth,
        expires.map_or(String::new(), |e| format!("<expires>{e}</expires>"))
    )
}
