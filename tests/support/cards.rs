//! What a syncing client sees of a book: every card by an initial sync, deltas since a token,
//! single cards by GET, and the size of a card's photo; plus waiting for the server's next
//! poll to show.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;

use super::http::Response;
use super::multistatus::{CARDDAV, DAV};
use super::{multiget_body, sync_body, Multistatus, Server};

/// Content lines joined back (cards fold at 75 octets).
pub fn unfold(card: &str) -> String {
    card.replace("\r\n ", "")
}

/// href → unfolded vCard of every card of the standard book, by an initial sync.
pub fn all(server: &Server) -> BTreeMap<String, String> {
    let r = server.report(&server.book_path(), &sync_body("", true));
    cards_in(&r)
        .into_iter()
        .map(|(href, _, card)| (href, card))
        .collect()
}

/// What a client does with a delta: downloads `hrefs` by one addressbook-multiget, as
/// (href, etag, unfolded card).
pub fn multiget(server: &Server, hrefs: &[String]) -> Vec<(String, String, String)> {
    cards_in(&server.report(&server.book_path(), &multiget_body(hrefs, None)))
}

/// (href, etag, unfolded card) of each response of a REPORT that asked for both.
fn cards_in(r: &Response) -> Vec<(String, String, String)> {
    assert_eq!(r.status, 207, "{}", r.text());
    Multistatus::parse(&r.body)
        .responses
        .iter()
        .map(|resp| {
            (
                resp.href.clone(),
                resp.text(DAV, "getetag").expect("etag"),
                unfold(&resp.text(CARDDAV, "address-data").expect("address-data")),
            )
        })
        .collect()
}

/// A token-based sync: (changed hrefs, removed hrefs, new token), hrefs sorted.
pub fn delta(server: &Server, token: &str) -> (Vec<String>, Vec<String>, String) {
    let r = server.report(&server.book_path(), &sync_body(token, false));
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    (
        ms.present(),
        ms.with_status("HTTP/1.1 404 Not Found"),
        ms.sync_token.expect("token"),
    )
}

/// One card by GET, unfolded.
pub fn get(server: &Server, href: &str) -> String {
    let r = server.request("GET", href, &[], "");
    assert_eq!(r.status, 200, "{href}");
    unfold(&r.text())
}

/// Waits (up to 30 s) until `check` holds; the server polls its sources on its own schedule.
pub fn eventually(server: &Server, what: &str, check: impl FnMut() -> bool) {
    eventually_within(server, what, Duration::from_secs(30), check);
}

/// Waits up to `limit` until `check` holds, failing with `what` and the server's log.
pub fn eventually_within(
    server: &Server,
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Width and height from a JPEG's SOF marker.
pub fn jpeg_size(bytes: &[u8]) -> (u16, u16) {
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    let mut i = 2;
    while i + 9 < bytes.len() {
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if (0xC0..=0xC3).contains(&marker) {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]);
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]);
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("no SOF marker");
}

/// The decoded PHOTO of an unfolded 3.0 card, which must be an inline JPEG.
pub fn photo(card: &str) -> Vec<u8> {
    let line = card
        .lines()
        .find(|l| l.starts_with("PHOTO;"))
        .unwrap_or_else(|| panic!("no PHOTO in {card}"));
    assert!(line.starts_with("PHOTO;ENCODING=b;TYPE=JPEG:"), "{line}");
    base64::engine::general_purpose::STANDARD
        .decode(line.split_once(':').expect("value").1)
        .expect("base64 photo")
}
