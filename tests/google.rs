//! The Google source against a fake Google on a loopback port (support/fake_google.rs):
//! what clients see after a full listing over two pages, a delta with one change and one
//! deletion, an expired sync token, a 429, a 401; the form the refresh flow posts and the
//! JWT the service-account flow signs; the errors an operator reads; and `google-login`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Value};
use support::cards::{all as cards, delta, eventually, jpeg_size, photo as card_photo};
use support::fake_google::{FakeGoogle, Reply, Request};
use support::{Server, ServerSpec};

const CONNECTIONS: &str = "/v1/people/me/connections";
const DIRECTORY: &str = "/v1/people:listDirectoryPeople";
const GROUPS: &str = "/v1/contactGroups";
const OTHER_CONTACTS: &str = "/v1/otherContacts";
const TOKEN: &str = "/token";
const CONTACTS_SCOPE: &str = "https://www.googleapis.com/auth/contacts.readonly";
const DIRECTORY_SCOPE: &str = "https://www.googleapis.com/auth/directory.readonly";
const REFRESH_TOKEN: &str = "1//refresh-token-one";

const MARISOL: &str = "people-c5560416945881956120";
const ZOE: &str = "people-c7130220489847164441";
const FACILITIES: &str = "people-c756143198553711720";
const HARUKI: &str = "people-c6462898457081607682";
const KWABENA: &str = "people-c9156883343963364165";
const SUPPLIERS: &str = "contactGroups-5e1b2c3d4f60718a";

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/connectors/tests/fixtures/google/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture with its photo URLs pointing at the fake.
fn fixture(name: &str, fake: &FakeGoogle) -> Value {
    let text = String::from_utf8(fixture_bytes(name)).expect("UTF-8 fixture");
    serde_json::from_str(&text.replace("https://photos.example.org", &fake.url("/photos")))
        .expect("fixture JSON")
}

/// The person with `resource` from a listing.
fn person(listing: &Value, list: &str, resource: &str) -> Value {
    listing[list]
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["resourceName"] == resource)
        .unwrap_or_else(|| panic!("{resource} not in listing"))
        .clone()
}

fn without(listing: &Value, list: &str, resources: &[&str]) -> Value {
    let mut listing = listing.clone();
    listing[list]
        .as_array_mut()
        .expect("list")
        .retain(|p| !resources.contains(&p["resourceName"].as_str().unwrap_or("")));
    listing
}

fn empty_delta(token: &str) -> String {
    json!({ "nextSyncToken": token }).to_string()
}

/// How the fake behaves; the tests change it between steps.
struct Script {
    /// Pages of a full listing, in order (each but the last has a nextPageToken).
    full: Vec<Value>,
    /// Answer to each sync token; an unknown token is expired.
    deltas: HashMap<String, String>,
    /// Used once each, in order, instead of the next listing answer.
    inject: VecDeque<Reply>,
    /// Refresh tokens the token endpoint accepts.
    refresh_tokens: HashSet<String>,
    /// Access tokens the API refuses with 401; `revoke_all` refuses every one.
    revoked: HashSet<String>,
    revoke_all: bool,
    /// Scope the token endpoint says it granted.
    granted_scope: String,
    issued: usize,
    groups: Value,
    /// The "Other contacts" listing.
    other: Value,
    /// Requests for Marisol's photo answered 503 before the photo host works again.
    photo_failures: usize,
}

impl Script {
    fn new(full: Vec<Value>, scope: &str) -> Script {
        Script {
            full,
            deltas: HashMap::new(),
            inject: VecDeque::new(),
            refresh_tokens: HashSet::from([REFRESH_TOKEN.to_string()]),
            revoked: HashSet::new(),
            revoke_all: false,
            granted_scope: scope.into(),
            issued: 0,
            other: json!({"otherContacts": [], "nextSyncToken": "O1"}),
            photo_failures: 0,
            groups: json!({"contactGroups": [
                {"resourceName": "contactGroups/myContacts", "groupType": "SYSTEM_CONTACT_GROUP",
                 "name": "myContacts", "formattedName": "My Contacts"},
                {"resourceName": "contactGroups/starred", "groupType": "SYSTEM_CONTACT_GROUP",
                 "name": "starred", "formattedName": "Starred"},
                {"resourceName": "contactGroups/5e1b2c3d4f60718a", "groupType": "USER_CONTACT_GROUP",
                 "name": "Suppliers", "formattedName": "Suppliers"}
            ], "totalItems": 3}),
        }
    }

    fn answer(&mut self, r: &Request) -> Reply {
        match r.path.as_str() {
            TOKEN => self.token(r),
            CONNECTIONS | DIRECTORY => {
                if let Some(refused) = self.unauthorized(r) {
                    return refused;
                }
                if let Some(reply) = self.inject.pop_front() {
                    return reply;
                }
                self.listing(r)
            }
            GROUPS => self
                .unauthorized(r)
                .unwrap_or_else(|| Reply::json(200, self.groups.to_string())),
            OTHER_CONTACTS => self
                .unauthorized(r)
                .unwrap_or_else(|| match r.param("syncToken") {
                    Some(token) => Reply::json(200, empty_delta(token)),
                    None => Reply::json(200, self.other.to_string()),
                }),
            path if path.contains("Marisol") && self.photo_failures > 0 => {
                self.photo_failures -= 1;
                Reply::json(503, "{}")
            }
            path if path.starts_with("/photos/") => photo(path),
            _ => Reply::not_found(),
        }
    }

    fn token(&mut self, r: &Request) -> Reply {
        let form = r.form();
        let ok = match form.get("grant_type").map(String::as_str) {
            Some("refresh_token") => form
                .get("refresh_token")
                .is_some_and(|t| self.refresh_tokens.contains(t)),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => form.contains_key("assertion"),
            Some("authorization_code") => form.get("code").is_some_and(|c| c == "4/the-code"),
            _ => false,
        };
        if !ok {
            return Reply::json(
                400,
                r#"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#,
            );
        }
        self.issued += 1;
        let mut body = json!({
            "access_token": format!("at-{}", self.issued),
            "expires_in": 3599,
            "scope": self.granted_scope,
            "token_type": "Bearer",
        });
        if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
            body["refresh_token"] = json!("1//refresh-token-from-login");
        }
        Reply::json(200, body.to_string())
    }

    fn unauthorized(&self, r: &Request) -> Option<Reply> {
        let token = r.bearer().unwrap_or("");
        let known = token
            .strip_prefix("at-")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n >= 1 && n <= self.issued);
        (!known || self.revoke_all || self.revoked.contains(token)).then(|| {
            Reply::json(
                401,
                r#"{"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}"#,
            )
        })
    }

    fn listing(&self, r: &Request) -> Reply {
        if let Some(token) = r.param("syncToken") {
            return match self.deltas.get(token) {
                Some(delta) => Reply::json(200, delta.clone()),
                None => Reply::json(
                    400,
                    String::from_utf8(fixture_bytes("error-expired-sync-token.json"))
                        .expect("UTF-8"),
                ),
            };
        }
        let index = match r.param("pageToken") {
            None => Some(0),
            Some(token) => self
                .full
                .iter()
                .position(|p| p["nextPageToken"] == token)
                .map(|i| i + 1),
        };
        match index.and_then(|i| self.full.get(i)) {
            Some(page) => Reply::json(200, page.to_string()),
            None => Reply::json(
                400,
                r#"{"error": {"code": 400, "message": "Invalid page token", "status": "INVALID_ARGUMENT"}}"#,
            ),
        }
    }
}

/// Marisol's and Haruki's photos; any other (letter avatars included) is missing.
fn photo(path: &str) -> Reply {
    if path.contains("Marisol") || path.contains("Adaeze") {
        Reply::bytes("image/jpeg", fixture_bytes("photo-1200.jpg"))
    } else if path.contains("Haruki") {
        Reply::bytes("image/jpeg", fixture_bytes("photo-96.jpg"))
    } else {
        Reply::not_found()
    }
}

/// The fake with `script`, shared with the test.
fn start_fake(script: Script) -> (FakeGoogle, Arc<Mutex<Script>>) {
    let script = Arc::new(Mutex::new(script));
    let handled = Arc::clone(&script);
    let fake = FakeGoogle::start(move |r| handled.lock().expect("script").answer(r));
    (fake, script)
}

/// A fake serving the two fixture pages (the first listing a contact whose photo is at the
/// fake) with no changes after them.
fn contacts_fake() -> (FakeGoogle, Arc<Mutex<Script>>) {
    let (fake, script) = start_fake(Script::new(vec![], CONTACTS_SCOPE));
    let page1 = fixture("people-connections-page1.json", &fake);
    let page2 = fixture("people-connections-page2.json", &fake);
    let t1 = page2["nextSyncToken"].as_str().expect("token").to_string();
    {
        let mut s = script.lock().expect("script");
        s.full = vec![page1, page2];
        s.deltas.insert(t1.clone(), empty_delta(&t1));
    }
    (fake, script)
}

/// A server whose one book `staff` is fed by a Google source at `fake`; `source_extra` goes
/// into the source table, `tables` after it.
fn config(fake: &FakeGoogle, source_extra: &str, tables: &str) -> String {
    format!(
        r#"
[server]
listen = ["127.0.0.1:{{PORT}}"]

[[source]]
id = "google"
kind = "google"
poll_interval = "1s"
check_interval = "1s"
timeout = "60s"
api_url = "{api}"
token_url = "{token}"
request_timeout = "10s"
{source_extra}
{tables}

[[addressbook]]
id = "staff"
sources = ["google"]
"#,
        api = fake.url("/"),
        token = fake.url(TOKEN),
    )
}

const OAUTH: &str = r#"
[source.oauth]
client_id = "cid-123.apps.googleusercontent.com"
client_secret_file = "client-secret"
token_file = "google-token"
"#;

fn oauth_files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("client-secret".into(), b"csecret-456\n".to_vec()),
        (
            "google-token".into(),
            format!("{REFRESH_TOKEN}\n").into_bytes(),
        ),
    ]
}

fn href(server: &Server, uid: &str) -> String {
    format!("{}{uid}.vcf", server.book_path())
}

fn card(cards: &BTreeMap<String, String>, server: &Server, uid: &str) -> String {
    cards
        .get(&href(server, uid))
        .unwrap_or_else(|| panic!("no card {uid} in {:#?}", cards.keys()))
        .clone()
}

fn photo_size(card: &str) -> (u16, u16) {
    jpeg_size(&card_photo(card))
}

fn set(script: &Arc<Mutex<Script>>, change: impl FnOnce(&mut Script)) {
    change(&mut script.lock().expect("script"));
}

#[test]
fn contacts_reach_clients_then_deltas_expiry_429_and_401() {
    let (fake, script) = contacts_fake();
    let server = Server::start(ServerSpec {
        config: config(&fake, "page_size = 3", OAUTH),
        files: oauth_files(),
    });

    // 1. The full listing over two pages: five people and the one user group.
    let all = cards(&server);
    assert_eq!(all.len(), 6, "{:#?}", all.keys());
    let marisol = card(&all, &server, MARISOL);
    support::vcard::parse_strict(&marisol);
    assert!(marisol.contains("FN:Marisol T. Ventanilla"), "{marisol}");
    assert!(marisol.contains("N:Ventanilla;Marisol;T.;;"), "{marisol}");
    assert!(marisol.contains("ORG:Example Widgets Ltd;Procurement"));
    assert!(marisol.contains("EMAIL;TYPE=INTERNET,WORK,PREF:marisol.ventanilla@example.com"));
    assert!(
        marisol.contains("TEL;TYPE=CELL,PREF:+12065550143"),
        "{marisol}"
    );
    assert!(marisol.contains("BDAY:1984-05-12"), "{marisol}");
    assert!(marisol.contains("NOTE:Prefers email.\\nQuarterly review in March."));
    // The 1200 px photo arrives downscaled to the configured 256 px.
    let (w, h) = photo_size(&marisol);
    assert!(w <= 256 && h <= 256, "{w}x{h}");
    // Letter avatars are no photos.
    assert!(!card(&all, &server, ZOE).contains("PHOTO"));
    // A nameless contact is listed by its company.
    assert!(card(&all, &server, FACILITIES).contains("FN:Example Facilities GmbH"));
    let kwabena = card(&all, &server, KWABENA);
    assert!(
        kwabena.contains("TEL;TYPE=FAX,HOME:+441615550189"),
        "{kwabena}"
    );
    // The user group is a group card of its two members; system groups are not cards.
    let suppliers = card(&all, &server, SUPPLIERS);
    assert!(suppliers.contains("FN:Suppliers"), "{suppliers}");
    assert!(suppliers.contains("X-ADDRESSBOOKSERVER-KIND:group"));
    let mut members: Vec<&str> = suppliers
        .lines()
        .filter_map(|l| l.strip_prefix("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:"))
        .collect();
    members.sort();
    assert_eq!(members, vec![MARISOL, KWABENA]);
    assert!(!all.values().any(|c| c.contains("FN:Starred")));

    // The refresh flow posted the client's credentials and the stored refresh token.
    let tokens = fake.requests_to(TOKEN);
    assert_eq!(tokens.len(), 1, "one access token, cached: {tokens:#?}");
    let form = tokens[0].form();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], REFRESH_TOKEN);
    assert_eq!(form["client_id"], "cid-123.apps.googleusercontent.com");
    assert_eq!(form["client_secret"], "csecret-456");
    // Page 1 asked for a sync token, page 2 followed the page token; both with the token.
    let listings = fake.requests_to(CONNECTIONS);
    let first = &listings[0];
    assert_eq!(first.param("requestSyncToken"), Some("true"));
    assert_eq!(first.param("pageSize"), Some("3"));
    assert_eq!(first.param("pageToken"), None);
    assert_eq!(first.param("syncToken"), None);
    assert!(first
        .param("personFields")
        .is_some_and(|f| f.contains("memberships")));
    assert_eq!(
        listings[1].param("pageToken"),
        Some("GgYKAghkEAIiDQoJc29ydF9rZXkYAQ==")
    );
    assert!(listings.iter().all(|r| r.bearer() == Some("at-1")));
    // Photos are asked for at the served size, without the access token.
    let photos: Vec<Request> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/photos/"))
        .collect();
    assert!(photos
        .iter()
        .any(|r| r.path.ends_with("AExamplePhotoMarisol01=s256")));
    assert!(photos.iter().all(|r| r.header("authorization").is_none()));
    assert!(!photos.iter().any(|r| r.path.contains("default-letter")));

    // 2. A delta: Zoë changed, the facilities contact deleted.
    let token = server.token();
    let delta_json = fixture("people-connections-delta.json", &fake);
    let t1 = full_listing_sync_token(&script);
    let t2 = delta_json["nextSyncToken"]
        .as_str()
        .expect("token")
        .to_string();
    set(&script, |s| {
        s.deltas.insert(t1.clone(), delta_json.to_string());
        s.deltas.insert(t2.clone(), empty_delta(&t2));
    });
    eventually(&server, "the delta", || server.token() != token);
    let (changed, removed, token) = delta(&server, &token);
    assert_eq!(changed, vec![href(&server, ZOE)]);
    assert_eq!(removed, vec![href(&server, FACILITIES)]);
    let zoe = card(&cards(&server), &server, ZOE);
    assert!(zoe.contains("ORG:Example Design AB"), "{zoe}");
    assert!(zoe.contains("+46315550142"), "{zoe}");
    assert!(fake
        .requests_to(CONNECTIONS)
        .iter()
        .any(|r| r.param("syncToken") == Some(t1.as_str())));

    // 3. The sync token expires: the source lists everything again, in which Kwabena is
    //    gone. Clients see exactly that: one removal, and the group losing a member.
    let page1 = fixture("people-connections-page1.json", &fake);
    let mut page1 = without(&page1, "connections", &["people/c756143198553711720"]);
    let zoe_now = person(&delta_json, "connections", "people/c7130220489847164441");
    for p in page1["connections"].as_array_mut().expect("list") {
        if p["resourceName"] == "people/c7130220489847164441" {
            *p = zoe_now.clone();
        }
    }
    let mut page2 = without(
        &fixture("people-connections-page2.json", &fake),
        "connections",
        &["people/c9156883343963364165"],
    );
    page2["nextSyncToken"] = json!("T3-after-expiry");
    set(&script, |s| {
        s.full = vec![page1, page2.clone()];
        s.deltas.clear();
        s.deltas
            .insert("T3-after-expiry".into(), empty_delta("T3-after-expiry"));
    });
    eventually(&server, "the full listing after expiry", || {
        server.token() != token
    });
    let (changed, removed, token) = delta(&server, &token);
    assert_eq!(removed, vec![href(&server, KWABENA)]);
    assert_eq!(changed, vec![href(&server, SUPPLIERS)]);
    let requests = fake.requests_to(CONNECTIONS);
    let expired = requests
        .iter()
        .position(|r| r.param("syncToken") == Some(t2.as_str()) && r.answered == 400)
        .expect("the expired token was refused");
    let relisted = &requests[expired + 1];
    assert_eq!(relisted.param("syncToken"), None, "{relisted:?}");
    assert_eq!(relisted.param("pageToken"), None);
    assert_eq!(server.listing().len(), 4);

    // 4. Rate limited once: the source waits as told and the change still arrives, in the
    //    same poll (no failed poll).
    let failed_before = server.log().matches("poll failed").count();
    let mut haruki = person(&page2, "connections", "people/c6462898457081607682");
    haruki["organizations"][0]["title"] = json!("Chief Scientist");
    set(&script, |s| {
        s.inject.push_back(
            Reply::json(
                429,
                r#"{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}"#,
            )
            .with_header("Retry-After", "1"),
        );
        s.deltas.insert(
            "T3-after-expiry".into(),
            json!({"connections": [haruki], "nextSyncToken": "T4"}).to_string(),
        );
        s.deltas.insert("T4".into(), empty_delta("T4"));
    });
    eventually(&server, "the change after a 429", || {
        server.token() != token
    });
    let (changed, removed, token) = delta(&server, &token);
    assert_eq!(changed, vec![href(&server, HARUKI)]);
    assert!(removed.is_empty());
    assert!(card(&cards(&server), &server, HARUKI).contains("TITLE:Chief Scientist"));
    let requests = fake.requests_to(CONNECTIONS);
    let limited = requests
        .iter()
        .position(|r| r.answered == 429)
        .expect("a 429 was served");
    assert_eq!(
        requests[limited].param("syncToken"),
        Some("T3-after-expiry")
    );
    assert_eq!(
        requests[limited + 1].param("syncToken"),
        Some("T3-after-expiry")
    );
    assert_eq!(requests[limited + 1].answered, 200);
    assert_eq!(server.log().matches("poll failed").count(), failed_before);

    // 5. The access token is refused (401): one new token, the request again, no failure.
    let mut marisol = person(
        &fixture("people-connections-page1.json", &fake),
        "connections",
        "people/c5560416945881956120",
    );
    marisol["biographies"][0]["value"] = json!("Prefers phone calls now.");
    set(&script, |s| {
        s.revoked.insert("at-1".into());
        s.deltas.insert(
            "T4".into(),
            json!({"connections": [marisol], "nextSyncToken": "T5"}).to_string(),
        );
        s.deltas.insert("T5".into(), empty_delta("T5"));
    });
    eventually(&server, "the change after a 401", || {
        server.token() != token
    });
    assert!(card(&cards(&server), &server, MARISOL).contains("NOTE:Prefers phone calls now."));
    let requests = fake.requests();
    // (The 401 may hit the contact groups request of a poll already under way.)
    let refused = requests
        .iter()
        .position(|r| r.answered == 401)
        .expect("a 401 was served");
    assert_eq!(requests[refused].bearer(), Some("at-1"));
    let (renewal, again) = (&requests[refused + 1], &requests[refused + 2]);
    assert_eq!(renewal.path, TOKEN);
    assert_eq!(renewal.form()["grant_type"], "refresh_token");
    assert_eq!(again.path, requests[refused].path);
    assert_eq!(again.bearer(), Some("at-2"));
    assert_eq!(again.answered, 200);
    assert!(fake.requests_to(CONNECTIONS).iter().any(|r| {
        r.param("syncToken") == Some("T4") && r.bearer() == Some("at-2") && r.answered == 200
    }));
    assert_eq!(server.log().matches("poll failed").count(), failed_before);
    // Marisol's photo was downloaded once, whatever was listed again since.
    let marisol_photo = fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("AExamplePhotoMarisol01"))
        .count();
    assert_eq!(marisol_photo, 1);
}

/// The sync token that ends the full listing the fake serves.
/// The People API has no push: the source is polled, and the status says so. Its sync tokens
/// are saved with the listing they belong to, so a restart asks Google for the changes since
/// instead of listing the whole account and downloading every photo again.
#[test]
fn a_restart_asks_for_the_changes_since_the_saved_sync_token() {
    let (fake, _script) = contacts_fake();
    let mut server = Server::start(ServerSpec {
        config: config(
            &fake,
            "page_size = 3",
            &format!("{OAUTH}\n[store]\nstate_dir = \"state\"\n"),
        ),
        files: oauth_files(),
    });
    eventually(&server, "a checkpoint", || {
        server.log().contains("checkpoint saved")
    });
    let (_, status, _) = support::server::run_cli(&["status", "-c", &server.config_path()]);
    assert!(
        status.contains("changes: polling (the People API has no push)"),
        "{status}"
    );
    let listing = server.listing();
    let token = server.token();
    // Counted before: the restarted server polls at once.
    let restarted = fake.requests().len();
    server.restart(&[]);
    eventually(&server, "a poll after the restart", || {
        server
            .log()
            .matches("resumed: the next poll asks Google")
            .count()
            == 1
            && fake
                .requests_to(CONNECTIONS)
                .iter()
                .any(|r| r.param("syncToken").is_some())
            && fake.requests().len() > restarted
    });
    let after: Vec<Request> = fake.requests().split_off(restarted);
    assert!(
        after
            .iter()
            .filter(|r| r.path == CONNECTIONS)
            .all(|r| r.param("syncToken").is_some()),
        "a listing without sync token after the restart: {after:#?}"
    );
    assert!(
        !after.iter().any(|r| r.path.starts_with("/photos/")),
        "photos downloaded again: {after:#?}"
    );
    assert_eq!(server.token(), token);
    assert_eq!(server.listing(), listing);
}

fn full_listing_sync_token(script: &Arc<Mutex<Script>>) -> String {
    let s = script.lock().expect("script");
    s.full
        .last()
        .and_then(|p| p["nextSyncToken"].as_str())
        .expect("sync token")
        .to_string()
}

#[test]
fn refused_tokens_keep_the_last_good_cards_until_the_operator_signs_in_again() {
    let (fake, script) = contacts_fake();
    let server = Server::start(ServerSpec {
        config: config(&fake, "", OAUTH),
        files: oauth_files(),
    });
    let listing = server.listing();
    let token = server.token();
    assert_eq!(listing.len(), 6);

    // Every access token refused: one new token is tried, then the poll fails.
    set(&script, |s| s.revoke_all = true);
    eventually(&server, "a failed poll", || {
        server
            .log()
            .contains("poll failed, keeping the last good data")
    });
    let log = server.log();
    assert!(
        log.contains("Google refused a freshly issued access token too"),
        "{log}"
    );
    assert_eq!(server.listing(), listing);
    assert_eq!(server.token(), token);

    // A refused sign-in is not retried before the next interval (at least 5 minutes), but
    // any change to the token file is tried at once. The refresh token written is revoked as
    // well: the error says to sign in again.
    assert!(log.contains("cause=\"refused\""), "{log}");
    assert!(log.contains("retry_in_s=300"), "{log}");
    set(&script, |s| s.refresh_tokens.clear());
    let token_file = std::fs::read(server.path("google-token")).expect("token file");
    support::server::write_atomically(&server.path("google-token"), &token_file);
    eventually(&server, "the revoked refresh token reported", || {
        server.log().contains("Google refused the refresh token")
    });
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("Google refused the refresh token"))
        .expect("line");
    assert!(line.contains("google-token"), "names the file: {line}");
    assert!(line.contains("cardbridge google-login"), "{line}");
    assert!(line.contains("--source google"), "{line}");
    assert_eq!(server.listing(), listing);

    // The operator signs in again (a new token file): the next poll uses it, no restart.
    let issued_before = script.lock().expect("script").issued;
    set(&script, |s| {
        s.revoke_all = false;
        s.refresh_tokens.insert("1//refresh-token-two".into());
    });
    support::server::write_atomically(&server.path("google-token"), b"1//refresh-token-two\n");
    eventually(&server, "a poll with the new refresh token", || {
        fake.requests_to(CONNECTIONS).last().is_some_and(|r| {
            r.answered == 200
                && r.bearer()
                    .and_then(|t| t.strip_prefix("at-"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n > issued_before)
        })
    });
    let refresh = fake
        .requests_to(TOKEN)
        .into_iter()
        .rfind(|r| r.answered == 200)
        .expect("a token");
    assert_eq!(refresh.form()["refresh_token"], "1//refresh-token-two");
    assert_eq!(server.listing(), listing);
}

/// A service account key for `client_email` with a fresh RSA key from the openssl CLI
/// (a test key, thrown away with the test); returns (key JSON, public key PEM).
fn service_account_key(dir: &Path) -> (String, String) {
    let key = dir.join("test-key.pem");
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .expect("openssl");
    assert!(public.status.success());
    let json = json!({
        "type": "service_account",
        "project_id": "cardbridge-test",
        "private_key_id": "0123456789abcdef",
        "private_key": std::fs::read_to_string(&key).expect("key"),
        "client_email": "sync@cardbridge-test.iam.gserviceaccount.com",
        "client_id": "104200000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    (
        json.to_string(),
        String::from_utf8(public.stdout).expect("PEM"),
    )
}

/// Whether openssl verifies `signature` over `signed` with `public_pem` (RS256).
fn openssl_verifies(dir: &Path, public_pem: &str, signed: &[u8], signature: &[u8]) -> bool {
    let (public, data, sig) = (
        dir.join("public.pem"),
        dir.join("signed.txt"),
        dir.join("signature.bin"),
    );
    std::fs::write(&public, public_pem).expect("write");
    std::fs::write(&data, signed).expect("write");
    std::fs::write(&sig, signature).expect("write");
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&sig)
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success()
}

#[test]
fn service_account_signs_a_delegation_jwt_and_lists_the_directory() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (key_json, public_pem) = service_account_key(keys.path());
    let (fake, script) = start_fake(Script::new(vec![], DIRECTORY_SCOPE));
    let directory = fixture("directory-people.json", &fake);
    let t1 = directory["nextSyncToken"]
        .as_str()
        .expect("token")
        .to_string();
    set(&script, |s| {
        s.full = vec![directory];
        s.deltas.insert(t1.clone(), empty_delta(&t1));
    });
    // The key file is named relative to the config file.
    let server = Server::start(ServerSpec {
        config: config(&fake, "listing = \"directory\"", SERVICE_ACCOUNT),
        files: vec![("sa.json".into(), key_json.into_bytes())],
    });

    let all = cards(&server);
    assert_eq!(all.len(), 3, "{:#?}", all.keys());
    let ebba = card(&all, &server, "people-104516723309845112731");
    support::vcard::parse_strict(&ebba);
    assert!(ebba.contains("FN:Ebba Lindqvist"), "{ebba}");
    assert!(
        ebba.contains("ORG:Example Widgets Ltd;Operations"),
        "{ebba}"
    );
    assert!(ebba.contains("TITLE:Facilities Coordinator"));
    assert!(
        ebba.contains("TEL;TYPE=VOICE,WORK,PREF:+12065550177"),
        "{ebba}"
    );
    assert!(
        ebba.contains("X-ABRELATEDNAMES:adaeze.okonkwo@example.com"),
        "{ebba}"
    );
    // Her desk is a line of the note, not a postal address.
    assert!(
        ebba.contains("\r\nNOTE:Office: SEA-4\\, floor 2\\, desk 2.204\r\n"),
        "{ebba}"
    );
    assert!(!ebba.contains("\r\nADR"), "{ebba}");
    assert!(!ebba.contains("PHOTO"), "letter avatar: {ebba}");
    let adaeze = card(&all, &server, "people-110287350094413765902");
    let (w, h) = photo_size(&adaeze);
    assert!(w <= 256 && h <= 256, "{w}x{h}");
    let reception = card(&all, &server, "people-c4348927554414989160");
    assert!(
        reception.contains("FN:Reception Desk Seattle"),
        "{reception}"
    );

    // The token request is a JWT bearer grant ...
    let tokens = fake.requests_to(TOKEN);
    assert_eq!(tokens.len(), 1, "{tokens:#?}");
    let form = tokens[0].form();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let jwt = &form["assertion"];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&b64.decode(part).expect("base64url")).expect("JSON")
    };
    // ... whose header names RS256 and the key ...
    let header = decode(parts[0]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], "0123456789abcdef");
    // ... whose claims impersonate the subject with the directory scope for an hour, for
    // the configured token endpoint ...
    let claims = decode(parts[1]);
    assert_eq!(
        claims["iss"],
        "sync@cardbridge-test.iam.gserviceaccount.com"
    );
    assert_eq!(claims["sub"], "admin@example.com");
    assert_eq!(claims["scope"], DIRECTORY_SCOPE);
    assert_eq!(claims["aud"], fake.url(TOKEN).as_str());
    let iat = claims["iat"].as_u64().expect("iat");
    let exp = claims["exp"].as_u64().expect("exp");
    assert_eq!(exp - iat, 3600);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        iat.abs_diff(now) < 600,
        "iat {iat} is not about now ({now})"
    );
    // ... and whose signature the key's public half verifies (and nothing else).
    let signed = format!("{}.{}", parts[0], parts[1]);
    let signature = b64.decode(parts[2]).expect("signature");
    assert!(openssl_verifies(
        keys.path(),
        &public_pem,
        signed.as_bytes(),
        &signature
    ));
    let forged = format!(
        "{}.{}",
        parts[0],
        b64.encode(claims.to_string().replace("admin@", "intruder@"))
    );
    assert!(!openssl_verifies(
        keys.path(),
        &public_pem,
        forged.as_bytes(),
        &signature
    ));

    // The directory listing asks for both kinds of entries, with the access token.
    let listing = &fake.requests_to(DIRECTORY)[0];
    assert_eq!(
        listing.params("sources"),
        vec![
            "DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE",
            "DIRECTORY_SOURCE_TYPE_DOMAIN_CONTACT"
        ]
    );
    assert!(listing
        .param("readMask")
        .is_some_and(|m| m.contains("names")));
    assert_eq!(listing.param("requestSyncToken"), Some("true"));
    assert_eq!(listing.bearer(), Some("at-1"));
    assert!(
        fake.requests_to(GROUPS).is_empty(),
        "no contact groups in a directory"
    );
}

const SERVICE_ACCOUNT: &str = r#"
[source.service_account]
key_file = "sa.json"
subject = "admin@example.com"
"#;

/// `cardbridge check` (one poll) on a Google source at `fake`; (exit code, stdout).
fn check(
    fake: &FakeGoogle,
    source_extra: &str,
    tables: &str,
    files: &[(&str, &str)],
) -> (i32, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).expect("write");
    }
    let path = dir.path().join("cardbridge.toml");
    std::fs::write(
        &path,
        config(fake, source_extra, tables).replace("{PORT}", "8008"),
    )
    .expect("write config");
    let (code, stdout, stderr) =
        support::server::run_cli(&["check", "-c", &path.display().to_string()]);
    assert_ne!(code, 2, "the configuration was refused: {stderr}");
    (code, stdout)
}

/// A fake whose token endpoint answers `token` and whose API answers `api`.
fn fake_answering(token: Reply, api: Reply) -> FakeGoogle {
    FakeGoogle::start(move |r| {
        if r.path == TOKEN {
            token.clone()
        } else {
            api.clone()
        }
    })
}

fn token_ok(scope: &str) -> Reply {
    Reply::json(
        200,
        json!({"access_token": "at-1", "expires_in": 3599, "scope": scope, "token_type": "Bearer"})
            .to_string(),
    )
}

fn google_error(status: u16, message: &str, state: &str, reason: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": status, "message": message, "status": state, "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
             "domain": "googleapis.com"}
        ]}})
        .to_string(),
    )
}

#[test]
fn errors_tell_the_operator_what_to_do() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (key_json, _) = service_account_key(keys.path());
    let oauth_files = [
        ("client-secret", "csecret-456\n"),
        ("google-token", "1//refresh-token-one\n"),
    ];
    let empty = Reply::json(200, r#"{"connections": [], "nextSyncToken": "t"}"#);

    // An unreadable key file: where it should be and how to get one.
    let fake = fake_answering(token_ok(DIRECTORY_SCOPE), empty.clone());
    let (code, out) = check(
        &fake,
        "listing = \"directory\"",
        &SERVICE_ACCOUNT.replace("sa.json", "missing.json"),
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("source google: ERROR cannot read the service account key file"),
        "{out}"
    );
    assert!(out.contains("missing.json"), "{out}");
    assert!(out.contains("Keys → Add key → JSON"), "{out}");

    // Delegation not granted in the Admin console: which client id and which scopes to add.
    let fake = fake_answering(
        Reply::json(
            401,
            r#"{"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#,
        ),
        empty.clone(),
    );
    let (code, out) = check(
        &fake,
        "listing = \"directory\"",
        SERVICE_ACCOUNT,
        &[("sa.json", &key_json)],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Domain-wide delegation"), "{out}");
    assert!(out.contains("client id 104200000000000000001"), "{out}");
    assert!(out.contains(DIRECTORY_SCOPE), "{out}");

    // Directory sharing is off for the domain: where to turn it on.
    let fake = fake_answering(
        token_ok(DIRECTORY_SCOPE),
        google_error(
            403,
            "The caller does not have permission to access the domain directory.",
            "PERMISSION_DENIED",
            "",
        ),
    );
    let (code, out) = check(
        &fake,
        "listing = \"directory\"",
        SERVICE_ACCOUNT,
        &[("sa.json", &key_json)],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("External Directory Sharing"), "{out}");
    assert!(out.contains("Directory settings"), "{out}");

    // The API says the token lacks a scope: consent again.
    let fake = fake_answering(
        Reply::json(
            200,
            r#"{"access_token": "at-1", "expires_in": 3599, "token_type": "Bearer"}"#,
        ),
        google_error(
            403,
            "Request had insufficient authentication scopes.",
            "PERMISSION_DENIED",
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        ),
    );
    let (code, out) = check(&fake, "", OAUTH, &oauth_files);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("lacks a scope"), "{out}");
    assert!(out.contains("cardbridge google-login"), "{out}");

    // The token endpoint says the consent left out the contacts scope: the same advice,
    // before any API call.
    let fake = fake_answering(token_ok("openid email"), empty.clone());
    let (code, out) = check(&fake, "", OAUTH, &oauth_files);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("was not granted {CONTACTS_SCOPE}")),
        "{out}"
    );
    assert!(out.contains("cardbridge google-login"), "{out}");

    // A token file that is not there yet: create it with google-login.
    let fake = fake_answering(token_ok(CONTACTS_SCOPE), empty.clone());
    let (code, out) = check(&fake, "", OAUTH, &oauth_files[..1]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot read the refresh token file"), "{out}");
    assert!(out.contains("google-login"), "{out}");

    // And when all is well, check says so.
    let (code, out) = check(&fake, "", OAUTH, &oauth_files);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("source google: 0 contacts"), "{out}");
}

/// Starts `cardbridge google-login` on a config at `fake`; returns the child and the consent
/// address it printed.
fn start_login(fake: &FakeGoogle, dir: &Path) -> (std::process::Child, Consent) {
    let config = config(
        fake,
        &format!("auth_url = \"{}\"", fake.url("/o/oauth2/v2/auth")),
        OAUTH,
    )
    .replace("{PORT}", "8008");
    std::fs::write(dir.join("cardbridge.toml"), config).expect("config");
    std::fs::write(dir.join("client-secret"), "csecret-456\n").expect("secret");
    let mut child = Command::new(support::server::BIN)
        .args(["google-login", "-c"])
        .arg(dir.join("cardbridge.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn google-login");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let consent = loop {
        let line = lines
            .next()
            .expect("google-login printed no consent address")
            .expect("line");
        if let Some(at) = line.find(&fake.url("/o/oauth2/v2/auth")) {
            break Consent::parse(line[at..].trim());
        }
    };
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, consent)
}

#[test]
fn google_login_walks_through_consent_and_stores_the_refresh_token() {
    let (fake, _script) = start_fake(Script::new(vec![], CONTACTS_SCOPE));
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, consent) = start_login(&fake, dir.path());

    // The consent page is asked for offline, read-only access for this client, with PKCE.
    assert_eq!(
        consent.param("client_id"),
        "cid-123.apps.googleusercontent.com"
    );
    assert_eq!(consent.param("response_type"), "code");
    assert_eq!(consent.param("scope"), CONTACTS_SCOPE);
    assert_eq!(consent.param("access_type"), "offline");
    assert_eq!(consent.param("code_challenge_method"), "S256");
    let redirect = consent.param("redirect_uri");
    let port = consent.port();
    let state = consent.param("state");

    // A redirect for another attempt is turned away; Google's redirect is taken.
    let stale = support::http::Conn::open(port).send("GET", "/?code=4/x&state=other", &[], b"");
    assert_eq!(stale.status, 400);
    let page = support::http::Conn::open(port).send(
        "GET",
        &format!("/?state={state}&code=4/the-code&scope={CONTACTS_SCOPE}"),
        &[],
        b"",
    );
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("you can close this tab"),
        "{}",
        page.text()
    );
    let status = child.wait().expect("google-login ends");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(status.success(), "{stderr}");

    // The code went to the token endpoint with the verifier of the challenge ...
    let exchange = fake
        .requests_to(TOKEN)
        .into_iter()
        .next()
        .expect("a code exchange");
    let form = exchange.form();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "4/the-code");
    assert_eq!(form["redirect_uri"], redirect);
    assert_eq!(form["client_id"], "cid-123.apps.googleusercontent.com");
    assert_eq!(form["client_secret"], "csecret-456");
    assert_eq!(
        s256(&form["code_verifier"]),
        consent.param("code_challenge")
    );
    // ... and the refresh token is in the token file, for this user only.
    let token_file = dir.path().join("google-token");
    assert_eq!(
        std::fs::read_to_string(&token_file).expect("token file"),
        "1//refresh-token-from-login\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Refused consent stores nothing and says so.
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, consent) = start_login(&fake, dir.path());
    let port = consent.port();
    let state = consent.param("state");
    let page = support::http::Conn::open(port).send(
        "GET",
        &format!("/?error=access_denied&state={state}"),
        &[],
        b"",
    );
    assert_eq!(page.status, 200);
    let status = child.wait().expect("google-login ends");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(!status.success());
    assert!(stderr.contains("access_denied"), "{stderr}");
    assert!(!dir.path().join("google-token").exists());
}

/// base64url(SHA-256(text)), by the openssl CLI.
fn s256(text: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("openssl");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out.stdout)
}

/// The consent address google-login printed.
struct Consent {
    query: Vec<(String, String)>,
}

impl Consent {
    fn parse(text: &str) -> Consent {
        let (_, query) = text.split_once('?').expect("query");
        Consent {
            query: support::fake_google::decode_pairs(query),
        }
    }

    /// The value of query parameter `name` (decoded); panics when absent.
    fn param(&self, name: &str) -> String {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in the consent address"))
    }

    /// The port of the loopback redirect.
    fn port(&self) -> u16 {
        let redirect = self.param("redirect_uri");
        redirect
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a loopback redirect: {redirect}"))
    }
}

#[test]
fn other_contacts_join_the_book() {
    let (fake, script) = contacts_fake();
    set(&script, |s| {
        s.granted_scope =
            format!("{CONTACTS_SCOPE} https://www.googleapis.com/auth/contacts.other.readonly");
        s.other = json!({"otherContacts": [{
            "resourceName": "otherContacts/c4711",
            "names": [{"displayName": "Pat Mailer", "givenName": "Pat", "familyName": "Mailer"}],
            "emailAddresses": [{"value": "pat@example.net"}],
            "phoneNumbers": [{"value": "+1 206 555 0199", "canonicalForm": "+12065550199"}]
        }], "nextSyncToken": "O1"});
    });
    let server = Server::start(ServerSpec {
        config: config(&fake, "other_contacts = true", OAUTH),
        files: oauth_files(),
    });
    let all = cards(&server);
    assert_eq!(all.len(), 7, "{:#?}", all.keys());
    let pat = card(&all, &server, "otherContacts-c4711");
    assert!(pat.contains("FN:Pat Mailer"), "{pat}");
    assert!(pat.contains("EMAIL;TYPE=INTERNET:pat@example.net"), "{pat}");
    // Other contacts have only a few fields, and their own sync token.
    let other = &fake.requests_to(OTHER_CONTACTS)[0];
    assert_eq!(
        other.param("readMask"),
        Some("names,emailAddresses,phoneNumbers,photos,metadata")
    );
    assert_eq!(other.param("requestSyncToken"), Some("true"));
    eventually(&server, "a delta poll of other contacts", || {
        fake.requests_to(OTHER_CONTACTS)
            .iter()
            .any(|r| r.param("syncToken") == Some("O1"))
    });
}

#[test]
fn a_photo_that_failed_for_now_arrives_at_a_later_poll() {
    let (fake, script) = contacts_fake();
    set(&script, |s| s.photo_failures = 1);
    let server = Server::start(ServerSpec {
        config: config(&fake, "", OAUTH),
        files: oauth_files(),
    });
    // Nothing about Marisol changes at Google; the photo still arrives, by itself.
    eventually(&server, "Marisol's photo", || {
        card(&cards(&server), &server, MARISOL).contains("PHOTO;")
    });
    let answers: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("AExamplePhotoMarisol01"))
        .map(|r| r.answered)
        .collect();
    assert_eq!(answers, vec![503, 200]);
    assert!(
        server.log().contains("photo left out for now"),
        "{}",
        server.log()
    );
    // The listing itself was not fetched again for it: only deltas after the first.
    let full = fake
        .requests_to(CONNECTIONS)
        .iter()
        .filter(|r| r.param("syncToken").is_none() && r.param("pageToken").is_none())
        .count();
    assert_eq!(full, 1);
}

const INGRID: &str = "people-c3141592653589793238";
const TOMASZ: &str = "people-c2718281828459045235";

/// A state directory, for `cardbridge status`.
const STATE_DIR: &str = "\n[store]\nstate_dir = \"state\"\n";

/// A server on the one-page listing of people-awkward.json (no changes after it). That
/// fixture is written by hand in the shapes of the People API reference (Person: locations,
/// biographies with contentType, birthdays with only `text` or a partial `date`, userDefined,
/// relations with formattedType), not captured from Google.
fn awkward_server() -> (FakeGoogle, Arc<Mutex<Script>>, Server) {
    let (fake, script) = start_fake(Script::new(vec![], CONTACTS_SCOPE));
    let listing = fixture("people-awkward.json", &fake);
    set(&script, |s| {
        s.full = vec![listing];
        s.deltas.insert("AWK-T1".into(), empty_delta("AWK-T1"));
    });
    let server = Server::start(ServerSpec {
        config: config(&fake, "", &format!("{OAUTH}{STATE_DIR}")),
        files: oauth_files(),
    });
    (fake, script, server)
}

/// Waits until `cardbridge status` prints `text` (the status file follows each poll).
fn status_shows(server: &Server, text: &str) {
    eventually(
        server,
        &format!("`cardbridge status` showing {text:?}"),
        || {
            let (_, out, _) = support::server::run_cli(&["status", "-c", &server.config_path()]);
            out.contains(text)
        },
    );
}

/// One card as vCard 4.0, by GET.
fn card_v4(server: &Server, uid: &str) -> String {
    let r = server.request(
        "GET",
        &href(server, uid),
        &[("Accept", "text/vcard; version=4.0")],
        "",
    );
    assert_eq!(r.status, 200, "{uid}");
    support::cards::unfold(&r.text())
}

/// (label, value) of every Apple `itemN.<name>` with its `itemN.X-ABLabel`.
fn labelled(card: &str, name: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = card.lines().collect();
    let mut found = Vec::new();
    for line in &lines {
        let Some((group, rest)) = line.split_once('.') else {
            continue;
        };
        let Some((property, value)) = rest.split_once(':') else {
            continue;
        };
        if !property
            .split(';')
            .next()
            .unwrap_or("")
            .eq_ignore_ascii_case(name)
        {
            continue;
        }
        let label = lines.iter().find_map(|l| {
            let (g, r) = l.split_once('.')?;
            let (p, v) = r.split_once(':')?;
            (g == group && p.eq_ignore_ascii_case("X-ABLabel")).then(|| v.to_string())
        });
        found.push((label.unwrap_or_default(), value.to_string()));
    }
    found
}

#[test]
fn desk_locations_are_no_postal_address() {
    let (_fake, _script, server) = awkward_server();
    let ingrid = card(&cards(&server), &server, INGRID);
    support::vcard::parse_strict(&ingrid);
    let adr: Vec<&str> = ingrid.lines().filter(|l| l.starts_with("ADR")).collect();
    assert_eq!(
        adr,
        vec!["ADR;TYPE=HOME,PREF:;;Thorvald Meyers gate 12;Oslo;;0555;Norway"]
    );
    let note = ingrid
        .lines()
        .find(|l| l.starts_with("NOTE:"))
        .unwrap_or_else(|| panic!("no NOTE: {ingrid}"));
    assert!(
        note.contains("\\nOffice: OSL-2\\, floor 3\\, section B\\, desk 3.114"),
        "{note}"
    );
    assert!(note.contains("\\nGrew up in: Tromsø"), "{note}");
}

#[test]
fn html_biographies_are_published_as_text() {
    let (_fake, _script, server) = awkward_server();
    let ingrid = card(&cards(&server), &server, INGRID);
    assert!(
        ingrid.contains(
            "NOTE:Runs the Oslo office & the choir.\\n\\nCall before 10\\nnot on Fridays — ever."
        ),
        "{ingrid}"
    );
    let note = ingrid
        .lines()
        .find(|l| l.starts_with("NOTE:"))
        .unwrap_or("");
    assert!(!note.contains('<'), "{note}");
}

#[test]
fn partial_and_text_birthdays_are_kept_and_nothing_is_called_skipped() {
    let (_fake, _script, server) = awkward_server();
    let all = cards(&server);
    // vCard 4.0 holds them as they are.
    let ingrid4 = card_v4(&server, INGRID);
    support::vcard::parse_strict(&ingrid4);
    assert!(ingrid4.contains("\r\nBDAY:1980\r\n"), "{ingrid4}");
    let tomasz4 = card_v4(&server, TOMASZ);
    support::vcard::parse_strict(&tomasz4);
    assert!(
        tomasz4.contains("\r\nBDAY;VALUE=text:around Midsummer\r\n"),
        "{tomasz4}"
    );
    assert!(tomasz4.contains("\r\nANNIVERSARY:2009-06\r\n"), "{tomasz4}");
    // vCard 3.0 has no such dates: a line of the note says them.
    let ingrid = card(&all, &server, INGRID);
    assert!(!ingrid.contains("BDAY"), "{ingrid}");
    assert!(ingrid.contains("\\nBirthday: 1980"), "{ingrid}");
    let tomasz = card(&all, &server, TOMASZ);
    support::vcard::parse_strict(&tomasz);
    assert!(
        tomasz.contains("NOTE:Birthday: around Midsummer\\nAnniversary: 2009-06"),
        "{tomasz}"
    );
    assert!(!server.log().contains("WARN"), "{}", server.log());
    // The two people and the (empty) user group.
    status_shows(&server, "ok, 3 contacts, 0 skipped");
}

#[test]
fn custom_fields_keep_their_labels() {
    let (_fake, _script, server) = awkward_server();
    let expected = vec![
        ("Shoe size".to_string(), "42".to_string()),
        ("shoe-size".to_string(), "EU 42".to_string()),
        ("Größe".to_string(), "1\\,80 m".to_string()),
    ];
    let ingrid = card(&cards(&server), &server, INGRID);
    assert_eq!(labelled(&ingrid, "X-CUSTOM"), expected, "{ingrid}");
    assert!(!ingrid.contains("X-SHOE"), "{ingrid}");
    let ingrid4 = card_v4(&server, INGRID);
    assert_eq!(labelled(&ingrid4, "X-CUSTOM"), expected, "{ingrid4}");
}

#[test]
fn a_spouse_is_a_related_name_phones_show() {
    let (_fake, _script, server) = awkward_server();
    let ingrid = card(&cards(&server), &server, INGRID);
    assert_eq!(
        labelled(&ingrid, "X-ABRELATEDNAMES"),
        vec![
            ("_$!<Spouse>!$_".to_string(), "Jane Solberg".to_string()),
            ("Godchild".to_string(), "Ola".to_string()),
        ],
        "{ingrid}"
    );
    assert!(!ingrid.contains("X-EVOLUTION-SPOUSE"), "{ingrid}");
    let ingrid4 = card_v4(&server, INGRID);
    assert!(
        ingrid4.contains("\r\nRELATED;TYPE=spouse;VALUE=text:Jane Solberg\r\n"),
        "{ingrid4}"
    );
    assert_eq!(
        labelled(&ingrid4, "RELATED"),
        vec![("Godchild".to_string(), "Ola".to_string())],
        "{ingrid4}"
    );
}

#[test]
fn a_renamed_contact_replaces_its_old_card_and_merged_ones_go() {
    let (fake, script) = contacts_fake();
    let server = Server::start(ServerSpec {
        config: config(&fake, "", OAUTH),
        files: oauth_files(),
    });
    assert_eq!(cards(&server).len(), 6);
    let token = server.token();
    let t1 = full_listing_sync_token(&script);

    // Zoë's resource name changes: the delta lists her under the new name only.
    let mut zoe = person(
        &fixture("people-connections-page1.json", &fake),
        "connections",
        "people/c7130220489847164441",
    );
    zoe["resourceName"] = json!("people/c8800000000000000001");
    zoe["metadata"]["previousResourceNames"] = json!(["people/c7130220489847164441"]);
    set(&script, |s| {
        s.deltas.insert(
            t1.clone(),
            json!({"connections": [zoe], "nextSyncToken": "R2"}).to_string(),
        );
        s.deltas.insert("R2".into(), empty_delta("R2"));
    });
    eventually(&server, "the rename", || server.token() != token);
    let (changed, removed, token) = delta(&server, &token);
    assert_eq!(changed, vec![href(&server, "people-c8800000000000000001")]);
    assert_eq!(removed, vec![href(&server, ZOE)]);
    let all = cards(&server);
    assert_eq!(all.len(), 6, "{:#?}", all.keys());
    assert_eq!(
        all.values().filter(|c| c.contains("FN:Zoë")).count(),
        1,
        "{:#?}",
        all.keys()
    );

    // Marisol and Kwabena are merged into one contact with a new name.
    let mut merged = person(
        &fixture("people-connections-page1.json", &fake),
        "connections",
        "people/c5560416945881956120",
    );
    merged["resourceName"] = json!("people/c8800000000000000002");
    merged["metadata"]["previousResourceNames"] =
        json!(["people/c5560416945881956120", "people/c9156883343963364165"]);
    set(&script, |s| {
        s.deltas.insert(
            "R2".into(),
            json!({"connections": [merged], "nextSyncToken": "R3"}).to_string(),
        );
        s.deltas.insert("R3".into(), empty_delta("R3"));
    });
    eventually(&server, "the merge", || server.token() != token);
    let (changed, removed, _) = delta(&server, &token);
    assert_eq!(
        removed,
        vec![href(&server, MARISOL), href(&server, KWABENA)],
        "{changed:?}"
    );
    assert!(changed.contains(&href(&server, "people-c8800000000000000002")));
    let all = cards(&server);
    assert_eq!(all.len(), 5, "{:#?}", all.keys());
    let suppliers = card(&all, &server, SUPPLIERS);
    assert!(!suppliers.contains(MARISOL), "{suppliers}");
}

#[test]
fn a_burst_of_429s_is_logged_and_shown_in_status() {
    let (fake, script) = contacts_fake();
    let server = Server::start(ServerSpec {
        config: config(&fake, "", &format!("{OAUTH}{STATE_DIR}")),
        files: oauth_files(),
    });
    let token = server.token();
    let t1 = full_listing_sync_token(&script);
    let mut haruki = person(
        &fixture("people-connections-page2.json", &fake),
        "connections",
        "people/c6462898457081607682",
    );
    haruki["organizations"][0]["title"] = json!("Chief Scientist");
    let quota =
        r#"{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}"#;
    set(&script, |s| {
        for _ in 0..3 {
            s.inject
                .push_back(Reply::json(429, quota).with_header("Retry-After", "1"));
        }
        s.deltas.insert(
            t1.clone(),
            json!({"connections": [haruki], "nextSyncToken": "Q2"}).to_string(),
        );
        s.deltas.insert("Q2".into(), empty_delta("Q2"));
    });
    eventually(&server, "the change after three 429s", || {
        server.token() != token
    });
    assert!(
        server
            .log()
            .contains("throttled by Google: 3 retries, 3 s waited"),
        "{}",
        server.log()
    );
    // Each wait is logged as it starts, not only summed up after the poll.
    assert_eq!(
        server
            .log()
            .matches("Google answered 429; trying again")
            .count(),
        3,
        "{}",
        server.log()
    );
    status_shows(
        &server,
        "throttled by Google: 3 retries, 3 s waited in the poll",
    );
}
