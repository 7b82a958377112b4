//! ActiveSync exports through the real server: a folder of WBXML / XML exports replayed in
//! name order, a later export's Change and Delete arriving as a sync delta (seen by inotify:
//! the folder is never polled within a test), and a damaged export that changes nothing while
//! the others keep loading.

mod support;

use std::time::Duration;

use support::cards::{delta, eventually, eventually_within, get};
use support::{Server, ServerSpec};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/connectors/tests/fixtures/activesync/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

const CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:{PORT}"]

[[source]]
id = "exchange"
kind = "activesync"
path = "exports"
# Neither polled nor stat-checked within a test: new exports arrive by inotify.
poll_interval = "1h"
check_interval = "1h"

[[addressbook]]
id = "staff"
sources = ["exchange"]
"#;

/// A server reading the folder `exports` holding `files`.
fn start(files: &[(&str, Vec<u8>)]) -> Server {
    let mut all = vec![];
    for (name, bytes) in files {
        all.push((format!("exports/{name}"), bytes.clone()));
    }
    Server::start(ServerSpec {
        config: CONFIG.into(),
        files: all,
    })
}

fn wait_for_new_token(server: &Server, old: &str) -> String {
    let mut token = String::new();
    eventually_within(
        server,
        "a change published",
        Duration::from_secs(20),
        || {
            token = server.token();
            token != old
        },
    );
    token
}

#[test]
fn a_later_export_reaches_clients_as_a_delta() {
    let server = start(&[
        ("001-sync.wbxml", fixture("sync-response.wbxml")),
        ("002-gal.xml", fixture("gal-search-response.xml")),
    ]);
    let before = server.listing();
    let token = server.token();
    let zoe = before
        .keys()
        .find(|h| get(&server, h).contains("Zoë"))
        .expect("Zoë's card")
        .clone();
    let marisol = before
        .keys()
        .find(|h| get(&server, h).contains("Marisol"))
        .expect("Marisol's card")
        .clone();

    let change = r#"<?xml version="1.0" encoding="utf-8"?>
<Sync xmlns="AirSync:" xmlns:contacts="Contacts:">
  <Collections><Collection>
    <SyncKey>4</SyncKey><CollectionId>2</CollectionId><Status>1</Status>
    <Commands>
      <Change><ServerId>2:2</ServerId><ApplicationData>
        <contacts:FirstName>Zoë</contacts:FirstName>
        <contacts:LastName>Ångström-Nakamura</contacts:LastName>
        <contacts:JobTitle>Chief Cartographer</contacts:JobTitle>
      </ApplicationData></Change>
      <Delete><ServerId>2:1</ServerId></Delete>
    </Commands>
  </Collection></Collections>
</Sync>"#;
    support::server::write_atomically(&server.path("exports/003-changes.xml"), change.as_bytes());
    let new_token = wait_for_new_token(&server, &token);
    let (changed, removed, _) = delta(&server, &token);
    assert_eq!(changed, vec![zoe.clone()]);
    assert_eq!(removed, vec![marisol]);
    assert!(get(&server, &zoe).contains("TITLE:Chief Cartographer"));

    // A truncated WBXML export changes nothing; the server names the file and the offset.
    let mut truncated = fixture("sync-response.wbxml");
    truncated.truncate(truncated.len() / 2);
    support::server::write_atomically(&server.path("exports/004-broken.wbxml"), &truncated);
    wait_for_log(&server, "004-broken.wbxml");
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("004-broken.wbxml"))
        .expect("log line");
    assert!(line.contains("byte"), "{line}");
    assert_eq!(server.token(), new_token);
}

/// Waits until the server log mentions `needle` (a poll has read the folder).
fn wait_for_log(server: &Server, needle: &str) {
    eventually(server, &format!("a log line naming {needle}"), || {
        server.log().contains(needle)
    });
}

#[test]
fn a_damaged_export_keeps_its_cards_until_it_reads_again() {
    let gal = fixture("gal-search-response.xml");
    let server = start(&[
        ("001-sync.wbxml", fixture("sync-response.wbxml")),
        ("002-gal.xml", gal.clone()),
    ]);
    let before = server.listing();
    assert_eq!(before.len(), 7);
    let token = server.token();

    support::server::write_atomically(&server.path("exports/002-gal.xml"), &gal[..gal.len() / 2]);
    wait_for_log(&server, "002-gal.xml");
    assert_eq!(server.listing(), before);
    let (changed, removed, _) = delta(&server, &token);
    assert!(
        changed.is_empty() && removed.is_empty(),
        "{changed:?} {removed:?}"
    );
    assert_eq!(server.token(), token);

    // Repaired, with one change: clients get exactly that change.
    let repaired = String::from_utf8(gal)
        .expect("UTF-8")
        .replace("Facilities Coordinator", "Facilities Manager");
    support::server::write_atomically(&server.path("exports/002-gal.xml"), repaired.as_bytes());
    wait_for_new_token(&server, &token);
    let (changed, removed, _) = delta(&server, &token);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(removed.is_empty(), "{removed:?}");
    assert!(get(&server, &changed[0]).contains("TITLE:Facilities Manager"));
    assert_eq!(server.listing().len(), 7);
}

#[test]
fn a_syncroton_log_with_mixed_collections_publishes_its_contacts() {
    let name = "syncroton-sync-mixed.xml";
    let server = start(&[(name, fixture(name))]);
    let cards: Vec<String> = server.listing().keys().map(|h| get(&server, h)).collect();
    assert_eq!(cards.len(), 2, "{cards:?}");
    let aroha = cards
        .iter()
        .find(|c| c.contains("Aroha"))
        .expect("Aroha's card");
    assert!(
        aroha.contains("BDAY:2009-08-01"),
        "local midnight in UTC+13 is 1 August:\n{aroha}"
    );
    assert!(aroha.contains("IMPP:aroha@jabber.example.co.nz"), "{aroha}");
    assert!(!aroha.contains("sip:"), "{aroha}");
    let sione = cards.iter().find(|c| c.contains("Sione")).expect("Sione");
    assert!(
        sione.contains("BDAY:1988-03-15"),
        "midnight of 15 March in Tonga:\n{sione}"
    );
    wait_for_log(&server, "not contacts");
    let log = server.log();
    let notes: Vec<&str> = log.lines().filter(|l| l.contains("not contacts")).collect();
    assert_eq!(notes.len(), 1, "one note per file:\n{log}");
    assert!(notes[0].contains(name), "{}", notes[0]);
}
