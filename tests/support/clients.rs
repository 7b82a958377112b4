//! The world every real-client test syncs against, and a recorder of what a client sends.
//!
//! [`World`] is the real server with a `staff` book of [`CARDS`] generated cards (Alice's, not
//! the guest's) and a small `rooms` book everyone may read, behind a [`Recorder`]: a loopback
//! proxy that keeps every request and the status of its answer. [`World::change_source`]
//! edits two cards, adds one and deletes one in the CSV, so every client test checks the same
//! exact delta. A test calls [`World::save_recording`] at its end; with `RECORD_CLIENTS=1` in
//! the environment that writes `tests/fixtures/clients/<client>.json`, which
//! `tests/client_replay.rs` replays against a fresh world on every run, so the request shape
//! of each client stays protected even where the client itself cannot run.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine;
use calcard::vcard::VCardValue;
use serde::{Deserialize, Serialize};

use super::server::users_config;
use super::{Multistatus, Server, ServerSpec};

/// Cards in the staff book: "a few thousand", as a company directory has.
pub const CARDS: usize = 2000;
/// The users: Alice reads both books, the guest only `rooms`.
pub const ALICE: (&str, &str) = ("alice", "secret");
pub const GUEST: (&str, &str) = ("guest", "guest-pw");

/// The source change every client must see exactly.
pub struct Change {
    /// Index of a card whose phone number changes.
    pub phone_edited: usize,
    /// Index of a card that gets a nickname (organization, name and email make a CSV row's
    /// identity, so editing them would be a deletion and an addition).
    pub nickname_edited: usize,
    /// Index of the card removed from the source.
    pub deleted: usize,
    /// Index of the card added (`CARDS`, one past the generated ones).
    pub added: usize,
}

pub const CHANGE: Change = Change {
    phone_edited: 10,
    nickname_edited: 20,
    deleted: 30,
    added: CARDS,
};

/// What a client must hold for one card: its name, email, phone digits, organization and
/// nickname.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expected {
    pub formatted_name: String,
    pub email: String,
    /// The phone's digits, however a client formats them.
    pub phone_digits: String,
    pub organization: String,
    pub nickname: String,
}

/// One generated person, as the source has it before or after the change.
fn person(i: usize, changed: bool) -> Expected {
    let mut phone = format!("+1 212 555 {:04}", 1000 + i);
    let mut nickname = String::new();
    if changed && i == CHANGE.nickname_edited {
        nickname = "Nick".into();
    }
    if changed && i == CHANGE.phone_edited {
        phone = "+1 646 555 0199".into();
    }
    Expected {
        formatted_name: format!("Given{i:04} Family{i:04}"),
        email: format!("person{i:04}@example.com"),
        phone_digits: digits(&phone),
        organization: format!("Division {}", i % 17),
        nickname,
    }
}

/// The indexes in the staff book before (`false`) or after (`true`) the change.
fn indexes(changed: bool) -> Vec<usize> {
    let mut all: Vec<usize> = (0..CARDS).collect();
    if changed {
        all.retain(|&i| i != CHANGE.deleted);
        all.push(CHANGE.added);
    }
    all
}

/// The staff CSV (Google's export format) before or after the change.
pub fn staff_csv(changed: bool) -> String {
    let rows: Vec<String> = indexes(changed)
        .into_iter()
        .map(|i| {
            let p = person(i, changed);
            let (given, family) = p.formatted_name.split_once(' ').unwrap_or_default();
            format!(
                "{given},{family},{},* Work,{},Work,+{},{},",
                p.organization, p.email, p.phone_digits, p.nickname
            )
        })
        .collect();
    super::google_csv(&rows)
}

/// What a client must hold for the staff book, keyed by formatted name.
pub fn expected(changed: bool) -> BTreeMap<String, Expected> {
    indexes(changed)
        .into_iter()
        .map(|i| {
            let p = person(i, changed);
            (p.formatted_name.clone(), p)
        })
        .collect()
}

/// The digits of a phone number (`+1 (212) 555-1000` → `12125551000`).
pub fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// What a client holds, read from the vCards it kept: each card parsed strictly and keyed by
/// its formatted name, to compare with [`expected`]. A name held twice fails: a client that
/// keeps a card twice shows it twice.
pub fn held<'a>(cards: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Expected> {
    let mut out = BTreeMap::new();
    for card in cards {
        let parsed = super::vcard::parse_strict(card);
        // The first value of the first such property: ORG's first component is the
        // organization's name (a client may keep empty unit components after it).
        let one = |name: &str| {
            parsed
                .entries
                .iter()
                .find(|e| e.name.as_str().eq_ignore_ascii_case(name))
                .and_then(|e| e.values.first())
                .map(|v| match v {
                    VCardValue::Text(text) => text.clone(),
                    VCardValue::Component(parts) => parts.first().cloned().unwrap_or_default(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default()
        };
        let person = Expected {
            formatted_name: one("FN"),
            email: one("EMAIL"),
            phone_digits: digits(&one("TEL")),
            organization: one("ORG"),
            nickname: one("NICKNAME"),
        };
        let name = person.formatted_name.clone();
        assert!(
            out.insert(name.clone(), person).is_none(),
            "{name} held twice:\n{card}"
        );
    }
    out
}

/// The formatted names of the rooms book, the only book the guest sees.
pub const ROOMS: [&str; 3] = ["Room Aurora", "Room Borealis", "Room Cirrus"];

fn config() -> String {
    format!(
        r#"{}
[[source]]
id = "staff"
kind = "csv"
path = "staff.csv"
check_interval = "1s"
default_region = "US"

[[source]]
id = "rooms"
kind = "csv"
path = "rooms.csv"
check_interval = "1h"

[[addressbook]]
id = "staff"
name = "Staff directory"
description = "Everyone"
sources = ["staff"]
readers = ["{alice}"]

[[addressbook]]
id = "rooms"
name = "Meeting rooms"
sources = ["rooms"]
readers = ["*"]
"#,
        users_config(&[ALICE, GUEST]),
        alice = ALICE.0,
    )
}

fn rooms_csv() -> String {
    let rows: Vec<String> = ROOMS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (given, family) = name.split_once(' ').unwrap_or((name, ""));
            super::google_row(
                given,
                family,
                "Facilities",
                &format!("room{i}@example.com"),
                "",
            )
        })
        .collect();
    super::google_csv(&rows)
}

/// The server, its books and the recorder in front of it.
pub struct World {
    pub server: Server,
    pub recorder: Recorder,
}

impl World {
    pub fn start() -> World {
        let mut server = Server::start(ServerSpec {
            config: config(),
            files: vec![
                ("staff.csv".into(), staff_csv(false).into_bytes()),
                ("rooms.csv".into(), rooms_csv().into_bytes()),
            ],
        });
        server.login_as(ALICE.0, ALICE.1);
        let recorder = Recorder::start(server.port);
        World { server, recorder }
    }

    /// The root URL a client is given (through the recorder): it must discover the rest.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.recorder.port)
    }

    /// The staff book's URL for a client that cannot discover.
    pub fn staff_url(&self) -> String {
        format!("{}addressbooks/{}/staff/", self.url(), ALICE.0)
    }

    /// The rooms book's URL as `user` sees it.
    pub fn rooms_url(&self, user: &str) -> String {
        format!("{}addressbooks/{user}/rooms/", self.url())
    }

    /// Applies [`CHANGE`] to the CSV and waits until the server has published it: a delta of
    /// three changed cards (two edits, the addition) and one removed. Returns the changed
    /// cards' hrefs.
    pub fn change_source(&self) -> Vec<String> {
        let before = self.server.token();
        self.server
            .rewrite_and_wait("staff.csv", &staff_csv(true), &before);
        let (changed, removed, _) = super::cards::delta(&self.server, &before);
        assert_eq!(
            (changed.len(), removed.len()),
            (3, 1),
            "{changed:?} {removed:?}"
        );
        self.recorder.mark(Mark::SourceChanged);
        changed
    }

    /// With `RECORD_CLIENTS=1`, writes what the client sent as `tests/fixtures/clients/<name>.json`.
    pub fn save_recording(&self, client: &str, version: &str) {
        if std::env::var_os("RECORD_CLIENTS").is_none() {
            return;
        }
        let recording = Recording {
            client: client.to_string(),
            version: version.to_string(),
            events: self.recorder.events(),
        };
        let path = fixture_path(client);
        let text = serde_json::to_string_pretty(&recording).expect("recording serializes");
        std::fs::write(&path, text + "\n").expect("write recording");
        eprintln!(
            "recorded {} events to {}",
            recording.events.len(),
            path.display()
        );
    }
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients")
}

fn fixture_path(client: &str) -> PathBuf {
    fixture_dir().join(format!("{client}.json"))
}

/// A point in a recording where the test did something besides the client's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mark {
    /// [`World::change_source`] ran here.
    SourceChanged,
}

/// One request as the client sent it, and what the server answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// The user of its `Authorization` header, if any (the password is not kept).
    pub user: Option<String>,
    pub method: String,
    pub target: String,
    /// Headers as sent, `Authorization`, `Host` and `Content-Length` left out.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
    /// For a 207: each response's href with its statuses (its own, or each propstat's).
    pub responses: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    Exchange(Exchange),
    Mark(Mark),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    pub client: String,
    pub version: String,
    pub events: Vec<Event>,
}

/// The hrefs and statuses of a 207 body, sorted, as a replay compares them.
pub fn outline(status: u16, body: &[u8]) -> Vec<(String, Vec<String>)> {
    if status != 207 {
        return Vec::new();
    }
    let mut out: Vec<(String, Vec<String>)> = Multistatus::parse(body)
        .responses
        .into_iter()
        .map(|r| {
            let mut statuses: Vec<String> = r.status.into_iter().collect();
            statuses.extend(r.propstats.into_iter().map(|p| p.status));
            statuses.sort();
            (r.href, statuses)
        })
        .collect();
    out.sort();
    out
}

/// A loopback HTTP/1.1 proxy that forwards every byte unchanged and keeps, per request, the
/// request and its answer's status and outline.
pub struct Recorder {
    pub port: u16,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Recorder {
    pub fn start(upstream: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind recorder");
        let port = listener.local_addr().expect("recorder address").port();
        let events = Arc::new(Mutex::new(Vec::new()));
        let shared = events.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let events = shared.clone();
                std::thread::spawn(move || relay(client, upstream, &events));
            }
        });
        Recorder { port, events }
    }

    pub fn mark(&self, mark: Mark) {
        self.events.lock().expect("events").push(Event::Mark(mark));
    }

    /// Everything recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("events").clone()
    }

    /// How many requests were recorded so far: where [`Recorder::since`] starts.
    pub fn count(&self) -> usize {
        self.exchanges().len()
    }

    /// The requests recorded after the first `count`.
    pub fn since(&self, count: usize) -> Vec<Exchange> {
        self.exchanges().into_iter().skip(count).collect()
    }

    /// The requests recorded so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Exchange(x) => Some(x),
                Event::Mark(_) => None,
            })
            .collect()
    }

    /// The requests recorded after [`World::change_source`] ran.
    pub fn exchanges_after_change(&self) -> Vec<Exchange> {
        self.events()
            .into_iter()
            .skip_while(|e| !matches!(e, Event::Mark(Mark::SourceChanged)))
            .filter_map(|e| match e {
                Event::Exchange(x) => Some(x),
                Event::Mark(_) => None,
            })
            .collect()
    }
}

/// The cards `exchanges` asked the server for: each GET's target and each href of an
/// addressbook-multiget body (whatever its namespace prefix), sorted.
pub fn cards_fetched(exchanges: &[Exchange]) -> Vec<String> {
    let mut hrefs: Vec<String> = exchanges
        .iter()
        .filter(|x| x.method == "GET")
        .map(|x| x.target.clone())
        .collect();
    for multiget in reports(exchanges, "addressbook-multiget") {
        for tag in multiget.body.split('<').skip(1) {
            let Some((name, text)) = tag.split_once('>') else {
                continue;
            };
            if name.rsplit(':').next() == Some("href") && !name.starts_with('/') {
                hrefs.push(text.trim().to_string());
            }
        }
    }
    hrefs.sort();
    hrefs
}

/// One HTTP message read off a stream: its head lines and its (de-chunked) body.
struct Message {
    head: Vec<String>,
    body: Vec<u8>,
    /// The bytes exactly as they came, to forward.
    raw: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

/// A buffered reader that also keeps the raw bytes it consumed.
struct Tap {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Tap {
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                true
            }
        }
    }

    /// Takes bytes up to and including `delimiter`.
    fn until(&mut self, delimiter: &[u8], raw: &mut Vec<u8>) -> Option<Vec<u8>> {
        loop {
            if let Some(at) = self
                .buf
                .windows(delimiter.len())
                .position(|w| w == delimiter)
            {
                let taken: Vec<u8> = self.buf.drain(..at + delimiter.len()).collect();
                raw.extend_from_slice(&taken);
                return Some(taken);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn exactly(&mut self, n: usize, raw: &mut Vec<u8>) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        let taken: Vec<u8> = self.buf.drain(..n).collect();
        raw.extend_from_slice(&taken);
        Some(taken)
    }

    /// Reads one message; `bodiless` for answers that never carry a body (HEAD, 1xx, 204, 304).
    fn message(&mut self, bodiless: impl Fn(&str) -> bool) -> Option<Message> {
        let mut raw = Vec::new();
        let head = self.until(b"\r\n\r\n", &mut raw)?;
        let head: Vec<String> = String::from_utf8_lossy(&head)
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        let mut message = Message {
            head,
            body: Vec::new(),
            raw,
        };
        if bodiless(message.head.first().map_or("", String::as_str)) {
            return Some(message);
        }
        let chunked = message
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            loop {
                let size_line = self.until(b"\r\n", &mut message.raw)?;
                let size_text = String::from_utf8_lossy(&size_line);
                let size = usize::from_str_radix(
                    size_text.trim().split(';').next().unwrap_or("0").trim(),
                    16,
                )
                .ok()?;
                if size == 0 {
                    self.until(b"\r\n", &mut message.raw)?;
                    return Some(message);
                }
                let chunk = self.exactly(size, &mut message.raw)?;
                message.body.extend_from_slice(&chunk);
                self.exactly(2, &mut message.raw)?;
            }
        }
        let length = message
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        message.body = self.exactly(length, &mut message.raw)?;
        Some(message)
    }
}

fn user_of(authorization: Option<&str>) -> Option<String> {
    let encoded = authorization?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.0.to_string())
}

/// Forwards one client connection, request by request, recording each exchange.
fn relay(client: TcpStream, upstream: u16, events: &Mutex<Vec<Event>>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (Ok(mut to_client), Ok(mut to_server)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let mut from_client = Tap {
        stream: client,
        buf: Vec::new(),
    };
    let mut from_server = Tap {
        stream: server,
        buf: Vec::new(),
    };
    while let Some(request) = from_client.message(|_| false) {
        if to_server.write_all(&request.raw).is_err() {
            break;
        }
        let request_line = request.head.first().cloned().unwrap_or_default();
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let head_request = method == "HEAD";
        // Interim answers (100 Continue) are forwarded and skipped.
        let response = loop {
            let Some(response) = from_server.message(|status_line| {
                let code = status_line.split_whitespace().nth(1).unwrap_or("");
                head_request || code.starts_with('1') || code == "204" || code == "304"
            }) else {
                return;
            };
            let interim = response.head.first().is_some_and(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|c| c.starts_with('1'))
            });
            if !interim {
                break response;
            }
            if to_client.write_all(&response.raw).is_err() {
                return;
            }
        };
        let status: u16 = response
            .head
            .first()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = request
            .head
            .iter()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| {
                !["authorization", "host", "content-length"]
                    .contains(&n.trim().to_ascii_lowercase().as_str())
            })
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        let exchange = Exchange {
            user: user_of(request.header("authorization")),
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&request.body).into_owned(),
            status,
            responses: outline(
                status,
                &super::http::decode(response.header("content-encoding"), &response.body),
            ),
        };
        events
            .lock()
            .expect("events")
            .push(Event::Exchange(exchange));
        // Forwarded only once recorded, so a test that has its answer sees it recorded.
        if to_client.write_all(&response.raw).is_err() {
            break;
        }
        let closes = response
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if closes {
            break;
        }
    }
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = to_server.shutdown(Shutdown::Both);
}

/// The REPORTs among `exchanges` whose body's root element is `report` (a local name such as
/// "addressbook-multiget" or "sync-collection"), whatever namespace prefix the client chose.
pub fn reports<'a>(exchanges: &'a [Exchange], report: &str) -> Vec<&'a Exchange> {
    let root = |body: &str| -> Option<String> {
        let tag = body
            .split('<')
            .find(|t| !t.is_empty() && !t.starts_with(['?', '!']))?;
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()?;
        Some(name.rsplit(':').next().unwrap_or(name).to_string())
    };
    exchanges
        .iter()
        .filter(|x| x.method == "REPORT" && root(&x.body).as_deref() == Some(report))
        .collect()
}

/// Runs a client's driver script (`program script args...`, the scripts in `tests/clients/`)
/// and parses the JSON report it prints; a failed run fails the test with its stderr.
pub fn run_driver<T: serde::de::DeserializeOwned>(
    program: &str,
    script: &std::path::Path,
    args: &[&str],
) -> T {
    let out = std::process::Command::new(program)
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program} {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{} {args:?}: not a JSON report ({e}):\n{stdout}",
            script.display()
        )
    })
}

/// The password of a world user, for replaying a recording.
pub fn password_of(user: &str) -> Option<&'static str> {
    [ALICE, GUEST]
        .into_iter()
        .find(|(name, _)| *name == user)
        .map(|(_, password)| password)
}
