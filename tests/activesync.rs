//! ActiveSync exports through the real server: a folder of WBXML / XML exports replayed in
//! name order, a later export's Change and Delete arriving as a sync delta (seen by inotify:
//! the folder is never polled within a test), and a damaged export that changes nothing while
//! the others keep loading.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::cards::{self, all, delta, eventually, eventually_within, get};
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

/// href → unfolded vCard of `hrefs` by one addressbook-multiget.
fn multiget(server: &Server, hrefs: &[String]) -> BTreeMap<String, String> {
    cards::multiget(server, hrefs)
        .into_iter()
        .map(|(href, _, card)| (href, card))
        .collect()
}

/// Every card by initial sync, multiget and GET: the three must agree.
fn served(server: &Server) -> BTreeMap<String, String> {
    let synced = all(server);
    let hrefs: Vec<String> = synced.keys().cloned().collect();
    assert_eq!(multiget(server, &hrefs), synced);
    for (href, card) in &synced {
        assert_eq!(&get(server, href), card, "{href}");
    }
    synced
}

fn card_of<'a>(cards: &'a BTreeMap<String, String>, who: &str) -> &'a str {
    cards
        .values()
        .find(|c| c.contains(who))
        .unwrap_or_else(|| panic!("{who}'s card in {cards:?}"))
}

/// The state file keeps photos apart from the cards and reads them when a card is sent: after
/// a restart with the exports gone, sync, multiget and GET give the same cards byte for byte,
/// photos included, and a photo the source dropped stays gone.
#[test]
fn photos_are_served_the_same_after_a_restart_and_go_when_the_source_drops_them() {
    let mut server = Server::start(ServerSpec {
        config: format!("{CONFIG}\n[store]\nstate_dir = \"state\"\n"),
        files: vec![("exports/001-sync.xml".into(), fixture("sync-response.xml"))],
    });
    let before = served(&server);
    let token = server.token();
    assert!(card_of(&before, "Marisol").contains("\nPHOTO;"));
    assert!(card_of(&before, "Haruki").contains("\nPHOTO;"));

    server.kill();
    std::fs::remove_dir_all(server.path("exports")).expect("the exports go away");
    server.restart(&[]);
    assert_eq!(server.token(), token);
    assert_eq!(served(&server), before);

    // A Change replaces the whole record: Marisol's comes without her photo.
    let change = r#"<?xml version="1.0" encoding="utf-8"?>
<Sync xmlns="AirSync:" xmlns:contacts="Contacts:">
  <Collections><Collection>
    <SyncKey>4</SyncKey><CollectionId>2</CollectionId><Status>1</Status>
    <Commands>
      <Change><ServerId>2:1</ServerId><ApplicationData>
        <contacts:FirstName>Marisol</contacts:FirstName>
        <contacts:LastName>Ventanilla</contacts:LastName>
      </ApplicationData></Change>
    </Commands>
  </Collection></Collections>
</Sync>"#;
    std::fs::create_dir(server.path("exports")).expect("the folder back");
    std::fs::write(
        server.path("exports/001-sync.xml"),
        fixture("sync-response.xml"),
    )
    .expect("the export back");
    server.restart(&[]);
    support::server::write_atomically(&server.path("exports/002-change.xml"), change.as_bytes());
    wait_for_new_token(&server, &token);
    let changed = served(&server);
    assert!(!card_of(&changed, "Marisol").contains("PHOTO"));
    assert!(card_of(&changed, "Haruki").contains("\nPHOTO;"));
    std::fs::remove_dir_all(server.path("exports")).expect("the exports go away");
    server.restart(&[]);
    assert_eq!(served(&server), changed);
}
