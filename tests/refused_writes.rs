//! A refused PUT or DELETE of a card heals the client that sent it: the card comes back in the
//! next sync-collection delta with a new ETag and the server's content, so a local edit is
//! overwritten and a local deletion undone without a full resync, and nobody else downloads
//! more than that card.

mod support;

use support::cards;
use support::multistatus::{CS, DAV};
use support::{google_row, propfind_body, Multistatus, Server};

fn server(extra: &str) -> Server {
    Server::with_staff(
        extra,
        &[
            google_row("Ann", "Lee", "Example", "ann@example.com", ""),
            google_row("Bo", "Chen", "Example", "bo@example.com", ""),
            google_row("Cy", "Park", "Example", "cy@example.com", ""),
        ],
    )
}

const EDITED: &str =
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Edited on a phone\r\nN:;;;;\r\nEND:VCARD\r\n";

/// The refused write, checked to be refused exactly as before (403 `DAV:need-privileges`).
fn refused(server: &Server, method: &str, href: &str, if_match: Option<&str>) {
    let mut headers = vec![("Content-Type", "text/vcard")];
    if let Some(etag) = if_match {
        headers.push(("If-Match", etag));
    }
    let body = if method == "PUT" { EDITED } else { "" };
    let r = server.request(method, href, &headers, body);
    assert_eq!(r.status, 403, "{method} {href}");
    assert!(r.text().contains("need-privileges"), "{}", r.text());
}

fn getlastmodified(server: &Server, href: &str) -> String {
    let r = server.propfind(href, "0", &propfind_body(&["D:getlastmodified"]));
    Multistatus::parse(&r.body).responses[0]
        .text(DAV, "getlastmodified")
        .expect("getlastmodified")
}

fn ctag(server: &Server) -> String {
    let r = server.propfind(&server.book_path(), "0", &propfind_body(&["CS:getctag"]));
    Multistatus::parse(&r.body).responses[0]
        .text(CS, "getctag")
        .expect("getctag")
}

/// The heal of one refused write: exactly that card in the next delta, with a new ETag and
/// the server's unchanged content; after downloading it the following delta is empty.
fn heals(method: &str) {
    let server = server("");
    let token = server.token();
    let ctag_before = ctag(&server);
    let before = server.listing();
    let content = cards::all(&server);
    let card = before.keys().next().expect("a card").clone();
    let modified = getlastmodified(&server, &card);

    refused(&server, method, &card, Some(&before[&card]));

    let (changed, removed, healed_token) = cards::delta(&server, &token);
    assert_eq!(
        changed,
        vec![card.clone()],
        "only the refused card comes back"
    );
    assert!(removed.is_empty());
    assert_ne!(healed_token, token);
    assert_ne!(ctag(&server), ctag_before, "getctag clients see a change");
    let after = server.listing();
    assert_ne!(
        after[&card], before[&card],
        "a new ETag replaces the client's"
    );
    for (href, etag) in &before {
        if href != &card {
            assert_eq!(&after[href], etag, "other cards keep their ETags");
        }
    }
    let fetched = cards::multiget(&server, &changed);
    // The server's own card, marked with its heal revision so that clients comparing content
    // rather than ETags see the change too.
    let healed = content[&card].replace("END:VCARD", "X-CARDBRIDGE-REVISION:1\r\nEND:VCARD");
    assert_eq!(
        fetched,
        vec![(card.clone(), after[&card].clone(), healed)],
        "the server's own version, not the edit"
    );
    assert_eq!(
        getlastmodified(&server, &card),
        modified,
        "the content did not change"
    );
    let (changed, removed, token2) = cards::delta(&server, &healed_token);
    assert!(changed.is_empty() && removed.is_empty(), "no endless loop");
    assert_eq!(token2, healed_token);
}

#[test]
fn a_refused_put_brings_back_the_servers_card() {
    heals("PUT");
}

#[test]
fn a_refused_delete_brings_the_card_back() {
    heals("DELETE");
}

#[test]
fn another_client_downloads_only_the_healed_card() {
    let mut server = server("");
    let token = server.token();
    let card = server.listing().keys().next().expect("a card").clone();
    refused(&server, "DELETE", &card, None);
    server.login_as("bob", "hunter2");
    let (changed, removed, _) = cards::delta(&server, &token);
    let name = card.rsplit('/').next().expect("name");
    assert_eq!(changed, vec![format!("{}{name}", server.book_path())]);
    assert!(removed.is_empty());
}

#[test]
fn repeated_refusals_heal_the_card_once() {
    let server = server("");
    let token = server.token();
    let before = server.listing();
    let card = before.keys().next().expect("a card").clone();
    refused(&server, "PUT", &card, Some(&before[&card]));
    let healed = server.token();
    // The same stale version again, no version at all, a delete: nothing new to bring back
    // before the client has fetched the healed card.
    refused(&server, "PUT", &card, Some(&before[&card]));
    refused(&server, "PUT", &card, None);
    refused(&server, "DELETE", &card, None);
    assert_eq!(server.token(), healed, "one heal, not one per request");
    let (changed, _, _) = cards::delta(&server, &token);
    assert_eq!(changed, vec![card.clone()]);

    // Once fetched, a new edit of the healed version is healed again.
    let fetched = cards::multiget(&server, &changed);
    refused(&server, "PUT", &card, Some(&fetched[0].1));
    let (changed, _, _) = cards::delta(&server, &healed);
    assert_eq!(changed, vec![card]);
}

#[test]
fn writes_to_cards_that_do_not_exist_change_nothing() {
    let server = server("");
    let token = server.token();
    refused(
        &server,
        "PUT",
        &format!("{}created-on-a-phone.vcf", server.book_path()),
        None,
    );
    refused(
        &server,
        "DELETE",
        &format!("{}gone.vcf", server.book_path()),
        None,
    );
    assert_eq!(server.token(), token);
}

#[test]
fn a_heal_survives_a_restart() {
    let mut server = server("\n[store]\nstate_dir = \"state\"\n");
    let token = server.token();
    let card = server.listing().keys().next().expect("a card").clone();
    refused(&server, "PUT", &card, None);
    let healed = server.token();
    let listing = server.listing();
    server.restart(&[]);
    assert_eq!(server.token(), healed);
    assert_eq!(server.listing(), listing);
    let (changed, _, _) = cards::delta(&server, &token);
    assert_eq!(changed, vec![card]);
}

/// A real client as oracle: vdirsyncer syncing both ways (not told the book is read-only),
/// the server winning conflicts. Its upload of a local edit and its deletion are refused; the
/// next sync brings the server's cards back over both, and the sync after is quiet. Without
/// the heal the edit would be re-sent, and refused, at every sync.
#[test]
fn vdirsyncer_gets_the_servers_cards_back_after_refused_writes() {
    let server = server("");
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, contacts) = support::vdirsyncer::config(
        dir.path(),
        "staff",
        "collections = null\nconflict_resolution = \"b wins\"",
        &format!("http://127.0.0.1:{}{}", server.port, server.book_path()),
        ("alice", "secret"),
        "",
    );
    std::fs::create_dir_all(&contacts).expect("dir");
    let sync = || support::vdirsyncer::run(&config, &["sync"]);
    let files = || -> std::collections::BTreeMap<String, String> {
        std::fs::read_dir(&contacts)
            .expect("folder")
            .map(|e| e.expect("entry").path())
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("card");
                (p.display().to_string(), text)
            })
            .collect()
    };
    let (ok, out) = support::vdirsyncer::run(&config, &["discover", "staff"]);
    assert!(ok, "{out}");
    let (ok, out) = sync();
    assert!(ok, "{out}");
    let synced = files();
    assert_eq!(synced.len(), 3, "{out}");
    let mut paths = synced.keys();
    let (edited, deleted) = (
        paths.next().expect("a card").clone(),
        paths.next().expect("another").clone(),
    );
    let original = &synced[&edited];
    let fn_line = original.lines().find(|l| l.starts_with("FN:")).expect("FN");
    std::fs::write(
        &edited,
        original.replace(fn_line, "FN:Edited in vdirsyncer"),
    )
    .expect("edit");
    std::fs::remove_file(&deleted).expect("delete");

    let (ok, out) = sync();
    assert!(!ok && out.contains("403"), "the writes are refused:\n{out}");
    let (ok, out) = sync();
    assert!(ok, "the next sync succeeds:\n{out}");
    let back: std::collections::BTreeMap<String, String> = files()
        .into_iter()
        .map(|(path, card)| (path, card.replace("X-CARDBRIDGE-REVISION:1\r\n", "")))
        .collect();
    assert_eq!(back, synced, "the server's cards are back:\n{out}");
    let (ok, quiet) = sync();
    assert!(ok, "{quiet}");
    assert!(
        !quiet.contains("Copying") && !quiet.contains("Deleting"),
        "nothing more to do:\n{quiet}"
    );
}
