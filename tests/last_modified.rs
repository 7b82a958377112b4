//! A card's `getlastmodified` and `Last-Modified` are when its own content last changed, not
//! when the book was last republished, and GET/HEAD answer `If-Modified-Since` (RFC 9110).

mod support;

use std::time::{Duration, SystemTime};

use support::multistatus::DAV;
use support::{google_csv, google_row, propfind_body, Multistatus, Server};

/// Ann and Bo; a phone number is not part of the card's uid, so changing one edits the card.
fn rows(bo_phone: &str, ann_phone: &str) -> Vec<String> {
    vec![
        google_row("Ann", "Lee", "Example", "ann@example.com", ann_phone),
        google_row("Bo", "Chen", "Example", "bo@example.com", bo_phone),
    ]
}

/// The card's `getlastmodified`, which must equal its GET `Last-Modified`.
fn last_modified(server: &Server, href: &str) -> String {
    let r = server.propfind(href, "0", &propfind_body(&["D:getlastmodified"]));
    assert_eq!(r.status, 207, "{}", r.text());
    let prop = Multistatus::parse(&r.body).responses[0]
        .text(DAV, "getlastmodified")
        .expect("getlastmodified");
    let r = server.request("GET", href, &[], "");
    assert_eq!(r.header("Last-Modified"), Some(prop.as_str()), "{href}");
    prop
}

/// Waits until the clock has passed `date` (HTTP-dates have whole seconds), so a change made
/// now would show.
fn past(date: &str) {
    let date = httpdate::parse_http_date(date).expect("HTTP-date");
    while SystemTime::now() < date + Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn href_of(server: &Server, fn_: &str) -> String {
    support::cards::all(server)
        .into_iter()
        .find(|(_, card)| card.contains(&format!("FN:{fn_}")))
        .map(|(href, _)| href)
        .expect("card")
}

#[test]
fn a_card_is_modified_when_its_content_changes_not_when_the_book_is() {
    let server = Server::with_staff("", &rows("", ""));
    let (ann, bo) = (href_of(&server, "Ann Lee"), href_of(&server, "Bo Chen"));
    let ann_before = last_modified(&server, &ann);
    let bo_before = last_modified(&server, &bo);
    past(&ann_before);

    let token = server.token();
    let token = server.rewrite_and_wait(
        "staff.csv",
        &google_csv(&rows("(650) 253-0000", "")),
        &token,
    );
    assert_eq!(
        last_modified(&server, &ann),
        ann_before,
        "Ann did not change"
    );
    let bo_after = last_modified(&server, &bo);
    assert_ne!(bo_after, bo_before, "Bo changed");
    past(&bo_after);

    server.rewrite_and_wait(
        "staff.csv",
        &google_csv(&rows("(650) 253-0000", "(650) 253-0001")),
        &token,
    );
    assert_ne!(last_modified(&server, &ann), ann_before, "Ann changed");
    assert_eq!(last_modified(&server, &bo), bo_after);
}

#[test]
fn if_modified_since_answers_304_unless_if_none_match_says_otherwise() {
    let server = Server::with_staff("", &rows("", ""));
    let ann = href_of(&server, "Ann Lee");
    let date = last_modified(&server, &ann);
    let etag = server.listing()[&ann].clone();
    for method in ["GET", "HEAD"] {
        let r = server.request(method, &ann, &[("If-Modified-Since", &date)], "");
        assert_eq!(r.status, 304, "{method}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("ETag"), Some(etag.as_str()));
        assert_eq!(r.header("Last-Modified"), Some(date.as_str()));
    }
    let earlier = httpdate::fmt_http_date(
        httpdate::parse_http_date(&date).expect("date") - Duration::from_secs(1),
    );
    let r = server.request("GET", &ann, &[("If-Modified-Since", &earlier)], "");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("FN:Ann Lee"));
    // If-None-Match decides when both are sent (RFC 9110 §13.2.2).
    let r = server.request(
        "GET",
        &ann,
        &[("If-Modified-Since", &date), ("If-None-Match", "\"other\"")],
        "",
    );
    assert_eq!(r.status, 200);
    let r = server.request(
        "GET",
        &ann,
        &[("If-Modified-Since", &earlier), ("If-None-Match", &etag)],
        "",
    );
    assert_eq!(r.status, 304);
    let r = server.request("GET", &ann, &[("If-Modified-Since", "not a date")], "");
    assert_eq!(r.status, 200, "an unreadable date is ignored");
}
