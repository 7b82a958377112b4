//! A Web Push service for the tests (`fake_push.py`): hands out subscriptions, and checks
//! and decrypts what the server pushes to them with independent implementations (py_vapid,
//! http_ece, cryptography). See the script for what it verifies. Also what a phone does with
//! the server: registering, and syncing when a message arrives.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::cards::{delta, eventually_within};
use super::http::{Conn, Response};
use super::{Multistatus, Server};

/// The WebDAV-Push namespace.
pub const PUSH: &str = "https://bitfire.at/webdav-push";

/// `[push]` for the tests: plain HTTP to the fake push service and no rate limit, so each
/// change is one message.
pub const PUSH_SETTINGS: &str = r#"
[push]
enabled = true
vapid_subject = "mailto:ops@example.com"
ttl = "1h"
urgency = "high"
min_interval = "1ms"
allow_plain_http = true
"#;

/// [`PUSH_SETTINGS`] with the state directory push keeps its registrations in.
pub fn push_config() -> String {
    format!("\n[store]\nstate_dir = \"state\"\n{PUSH_SETTINGS}")
}

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

    fn request(&self, method: &str, path: &str) -> Response {
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

    /// Waits until `subscription` has received `count` requests; all it received.
    pub fn wait_for(
        &self,
        server: &Server,
        subscription: &Subscription,
        count: usize,
    ) -> Vec<Received> {
        let mut received = Vec::new();
        eventually_within(
            server,
            "push message received",
            Duration::from_secs(30),
            || {
                received = self.received(subscription);
                received.len() >= count
            },
        );
        received
    }

    /// What a phone does on its `nth` push message (1-based): checks that it decrypted,
    /// verified and names `topic`, then syncs the standard book from `since`, the token it
    /// had. The sync must answer with the pushed token.
    pub fn sync_on_push(
        &self,
        server: &Server,
        phone: &Subscription,
        nth: usize,
        topic: &str,
        since: &str,
    ) -> PushedDelta {
        let received = self.wait_for(server, phone, nth);
        let pushed = received[nth - 1].sync_token(topic);
        let (changed, removed, token) = delta(server, since);
        assert_eq!(token, pushed, "sync-collection's token is the pushed one");
        PushedDelta {
            changed,
            removed,
            token,
        }
    }
}

/// What a phone's sync after a push brought: changed and removed hrefs, and the new token.
#[derive(Debug)]
pub struct PushedDelta {
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub token: String,
}

impl PushedDelta {
    /// The one changed card's href and the new token; fails unless that is all the sync got.
    pub fn one_changed(self) -> (String, String) {
        match (&self.changed[..], &self.removed[..]) {
            ([href], []) => (href.clone(), self.token),
            _ => panic!("expected one changed card: {self:?}"),
        }
    }

    /// The one removed card's href; fails unless that is all the sync got.
    pub fn one_removed(self) -> String {
        match (&self.changed[..], &self.removed[..]) {
            ([], [href]) => href.clone(),
            _ => panic!("expected one removed card: {self:?}"),
        }
    }
}

impl Received {
    /// The sync token of a `push-message` that verified, decrypted and names `topic`.
    pub fn sync_token(&self, topic: &str) -> String {
        assert_eq!(self.error, None, "the push service could not verify it");
        let payload = &self.payload;
        assert!(
            payload.contains("<push-message xmlns=\"https://bitfire.at/webdav-push\""),
            "{payload}"
        );
        assert!(
            payload.contains(&format!("<topic>{topic}</topic>")),
            "{payload}"
        );
        payload
            .split("<D:sync-token>")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_else(|| panic!("no sync-token in {payload}"))
            .to_string()
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

/// The push properties of the standard book: (VAPID key, topic, element names in
/// supported-triggers).
pub fn push_properties(server: &Server) -> (String, String, Vec<String>) {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:P="{PUSH}"><D:prop><P:transports/><P:topic/><P:supported-triggers/></D:prop></D:propfind>"#
    );
    let r = server.propfind(&server.book_path(), "0", &body);
    assert_eq!(r.status, 207, "{}", r.text());
    let text = r.text();
    let key = text
        .split("<P:vapid-public-key type=\"p256ecdsa\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no VAPID key in {text}"))
        .to_string();
    let ms = Multistatus::parse(&r.body);
    let book = &ms.responses[0];
    let topic = book.text(PUSH, "topic").expect("topic");
    let triggers = book
        .prop(PUSH, "supported-triggers")
        .expect("supported-triggers")
        .children
        .clone();
    (key, topic, triggers)
}

/// POSTs `body` as XML to `path`.
pub fn register(server: &Server, path: &str, body: &str) -> Response {
    server.request(
        "POST",
        path,
        &[("Content-Type", "application/xml; charset=utf-8")],
        body,
    )
}

/// Registers `subscription` for the standard book; returns the registration URL's path.
pub fn registered(server: &Server, subscription: &Subscription) -> String {
    let r = register(
        server,
        &server.book_path(),
        &register_body(subscription, None),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let location = r.header("Location").expect("Location").to_string();
    assert!(location.starts_with("http://127.0.0.1"), "{location}");
    assert!(r.header("Expires").is_some());
    location
        .split_once("127.0.0.1")
        .map(|(_, rest)| rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit()))
        .expect("path")
        .to_string()
}
