//! RFC 6578 sync through the real server: initial sync, deltas after editing the CSV,
//! invalid tokens, and a broken source that must not take data away from clients.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::cards::eventually_within;
use support::multistatus::DAV;
use support::server::standard_config;
use support::{google_row, propfind_body, sync_body, Multistatus, Server, ServerSpec};

fn rows() -> Vec<String> {
    vec![
        google_row("Ann", "Lee", "Example", "ann@example.com", "(650) 253-0000"),
        google_row("Bo", "Chen", "Example", "bo@example.com", ""),
        google_row("Cy", "Diaz", "Example", "cy@example.com", ""),
        google_row("Di", "Evans", "Example", "di@example.com", ""),
    ]
}

/// href → etag of every card, by sync-collection from an empty token.
fn initial_sync(server: &Server) -> (BTreeMap<String, String>, String) {
    let r = server.report(&server.book_path(), &sync_body("", false));
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    let cards = ms
        .responses
        .iter()
        .map(|resp| (resp.href.clone(), resp.text(DAV, "getetag").expect("etag")))
        .collect();
    (cards, ms.sync_token.expect("token"))
}

#[test]
fn initial_sync_returns_every_member_and_agrees_with_propfind() {
    let server = Server::with_staff("", &rows());
    let (cards, token) = initial_sync(&server);
    assert_eq!(cards.len(), 4);
    assert!(token.starts_with("urn:") && token.contains(':'));
    let r = server.propfind(&server.book_path(), "1", &propfind_body(&["D:getetag"]));
    let listed: BTreeMap<String, String> = Multistatus::parse(&r.body)
        .responses
        .iter()
        .skip(1)
        .map(|resp| (resp.href.clone(), resp.text(DAV, "getetag").expect("etag")))
        .collect();
    assert_eq!(listed, cards);
    // Nothing changed: the same token comes back with an empty delta.
    let r = server.report(&server.book_path(), &sync_body(&token, false));
    let ms = Multistatus::parse(&r.body);
    assert!(ms.responses.is_empty());
    assert_eq!(ms.sync_token.as_deref(), Some(token.as_str()));
}

#[test]
fn editing_the_csv_yields_exactly_the_changes() {
    let original = rows();
    let server = Server::with_staff("", &original);
    let (before, token) = initial_sync(&server);
    let getctag_before = server.token();
    assert_eq!(getctag_before, token);

    // Change Ann's phone and nickname (her uid stays: name, org and email are unchanged),
    // delete Cy, add Eve.
    let mut edited = original.clone();
    edited[0] = google_row("Ann", "Lee", "Example", "ann@example.com", "(650) 253-0001")
        .replace(",,", ",Annie,");
    edited.remove(2);
    edited.push(google_row("Eve", "Fox", "Example", "eve@example.com", ""));
    let new_token = server.rewrite_and_wait("staff.csv", &support::google_csv(&edited), &token);
    assert_ne!(new_token, token);

    let r = server.report(&server.book_path(), &sync_body(&token, true));
    assert_eq!(r.status, 207);
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.sync_token.as_deref(), Some(new_token.as_str()));
    assert_eq!(ms.responses.len(), 3, "{}", r.text());
    let removed = ms.with_status("HTTP/1.1 404 Not Found");
    assert_eq!(removed.len(), 1);
    assert!(
        before.contains_key(&removed[0]),
        "the removed card was a member"
    );
    let present = ms.present();
    assert_eq!(present.len(), 2);
    let changed: Vec<&String> = present.iter().filter(|h| before.contains_key(*h)).collect();
    let added: Vec<&String> = present
        .iter()
        .filter(|h| !before.contains_key(*h))
        .collect();
    assert_eq!((changed.len(), added.len()), (1, 1));
    let changed_resp = ms.by_href(changed[0]).expect("changed");
    assert_ne!(
        changed_resp.text(DAV, "getetag"),
        before.get(changed[0]).cloned()
    );
    let card = changed_resp
        .text(support::multistatus::CARDDAV, "address-data")
        .expect("inline data");
    assert!(card.contains("+16502530001"), "{card}");
    assert!(card.contains("\r\n"), "CRLF survives the XML");
    let added_card = ms
        .by_href(added[0])
        .and_then(|r| r.text(support::multistatus::CARDDAV, "address-data"))
        .expect("data");
    assert!(added_card.contains("FN:Eve Fox"), "{added_card}");

    // The listing agrees with the delta, and the old token still answers the same delta.
    let (after, _) = initial_sync(&server);
    assert_eq!(after.len(), 4);
    assert!(!after.contains_key(&removed[0]));
    let again = Multistatus::parse(
        &server
            .report(&server.book_path(), &sync_body(&token, false))
            .body,
    );
    assert_eq!(again.responses.len(), 3);
}

#[test]
fn reordering_the_file_changes_nothing() {
    let original = rows();
    let server = Server::with_staff("", &original);
    let token = server.token();
    let mut reordered = original.clone();
    reordered.reverse();
    support::server::write_atomically(
        &server.path("staff.csv"),
        support::google_csv(&reordered).as_bytes(),
    );
    // Wait until the server has re-read the file, then compare.
    eventually_within(&server, "a second poll", Duration::from_secs(20), || {
        server.log().matches("polled").count() >= 2
    });
    assert_eq!(server.token(), token);
}

#[test]
fn unknown_tokens_get_403_and_thunderbird_gets_400() {
    let server = Server::with_staff("", &rows());
    for token in [
        "urn:cardbridge:sync:00000000000000000000000000000001",
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "http://example.com/sync/1",
    ] {
        let r = server.report(&server.book_path(), &sync_body(token, false));
        assert_eq!(r.status, 403, "{token}");
        assert!(r.text().contains("valid-sync-token"), "{}", r.text());
        let tb = server.request(
            "REPORT",
            &server.book_path(),
            &[(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0",
            )],
            &sync_body(token, false),
        );
        assert_eq!(tb.status, 400, "Thunderbird only recovers from 400");
        assert!(tb.text().contains("valid-sync-token"));
    }
}

#[test]
fn thunderbird_status_is_configurable() {
    let server = Server::with_staff("", &rows());
    drop(server);
    let config = standard_config("").replace(
        "listen = [\"127.0.0.1:{PORT}\"]",
        "listen = [\"127.0.0.1:{PORT}\"]\nthunderbird_invalid_token_status = 403",
    );
    let server = Server::start(ServerSpec {
        config,
        files: vec![(
            "staff.csv".into(),
            support::google_csv(&rows()).into_bytes(),
        )],
    });
    let tb = server.request(
        "REPORT",
        &server.book_path(),
        &[("User-Agent", "Thunderbird/128")],
        &sync_body("urn:x:1", false),
    );
    assert_eq!(tb.status, 403);
}

#[test]
fn a_broken_source_keeps_what_clients_have() {
    let server = Server::with_staff("", &rows());
    let (before, token) = initial_sync(&server);
    let polls = |s: &Server| s.log().matches("poll failed").count();
    let wait_for_failure = |s: &Server, n: usize| {
        eventually_within(s, "a failed poll", Duration::from_secs(20), || {
            polls(s) >= n
        });
    };
    // Garbage that is not a contact export at all.
    support::server::write_atomically(&server.path("staff.csv"), b"\x00\x01binary junk\xff\xfe");
    wait_for_failure(&server, 1);
    assert_eq!(initial_sync(&server), (before.clone(), token.clone()));
    // The file disappears.
    std::fs::remove_file(server.path("staff.csv")).expect("remove");
    wait_for_failure(&server, 2);
    assert_eq!(initial_sync(&server), (before.clone(), token.clone()));
    let r = server.report(&server.book_path(), &sync_body(&token, false));
    assert!(
        Multistatus::parse(&r.body).responses.is_empty(),
        "no removals reach clients"
    );
    // It comes back with one change: the server recovers by itself.
    let mut fixed = rows();
    fixed.push(google_row("Eve", "Fox", "Example", "eve@example.com", ""));
    let new_token = server.rewrite_and_wait("staff.csv", &support::google_csv(&fixed), &token);
    let r = server.report(&server.book_path(), &sync_body(&token, false));
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.present().len(), 1);
    assert_eq!(ms.sync_token, Some(new_token));
}
