//! Compressed answers through the real server: a large multistatus comes in the coding the
//! client accepts and decodes to exactly the bytes a client without `Accept-Encoding` gets;
//! small answers, refused codings and cards fetched by GET are sent as they are.

mod support;

use support::{multiget_body, propfind_body, staff_rows, Multistatus, Server};

/// 400 cards: a PROPFIND Depth 1 of well over 64 KiB, streamed in several chunks.
fn server() -> Server {
    Server::with_staff("", &staff_rows(400))
}

fn propfind(
    server: &Server,
    depth: &str,
    accept_encoding: Option<&str>,
) -> support::http::Response {
    let mut headers = vec![("Depth", depth), ("Content-Type", "application/xml")];
    if let Some(coding) = accept_encoding {
        headers.push(("Accept-Encoding", coding));
    }
    let r = server.request(
        "PROPFIND",
        &server.book_path(),
        &headers,
        &propfind_body(&["D:getetag"]),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    r
}

#[test]
fn large_multistatus_decodes_to_the_identity_bytes() {
    let server = server();
    let plain = propfind(&server, "1", None);
    assert!(plain.header("content-encoding").is_none());
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    assert_eq!(Multistatus::parse(&plain.body).responses.len(), 401);
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("zstd;q=0.5, gzip;q=1.0", "gzip"),
        ("*", "zstd"),
    ] {
        // Twice: the first answer is compressed as it streams, the second is the kept copy.
        for _ in 0..2 {
            let r = propfind(&server, "1", Some(accept));
            assert_eq!(r.header("content-encoding"), Some(coding), "{accept}");
            assert_eq!(r.header("vary"), Some("Accept-Encoding"));
            assert!(r.body.len() * 4 < plain.body.len(), "{accept}: compressed");
            assert_eq!(r.decoded(), plain.body, "{accept}");
        }
    }
}

#[test]
fn reports_are_compressed_too() {
    let server = server();
    let listing = propfind(&server, "1", None);
    let hrefs: Vec<String> = Multistatus::parse(&listing.body)
        .responses
        .iter()
        .skip(1)
        .map(|r| r.href.clone())
        .collect();
    let body = multiget_body(&hrefs, None);
    let send = |accept: Option<&str>| {
        let mut headers = vec![("Content-Type", "application/xml")];
        if let Some(a) = accept {
            headers.push(("Accept-Encoding", a));
        }
        server.request("REPORT", &server.book_path(), &headers, &body)
    };
    let plain = send(None);
    assert_eq!(plain.status, 207);
    let gz = send(Some("gzip"));
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.decoded(), plain.body);
}

#[test]
fn refused_codings_small_answers_and_cards_are_sent_as_they_are() {
    let server = server();
    let plain = propfind(&server, "1", None);
    for accept in ["gzip;q=0", "identity", "br", "gzip;q=0, zstd;q=0"] {
        let r = propfind(&server, "1", Some(accept));
        assert!(r.header("content-encoding").is_none(), "{accept}");
        assert_eq!(r.body, plain.body, "{accept}");
    }
    // The book's own properties: a few hundred bytes.
    let small = propfind(&server, "0", Some("gzip"));
    assert!(small.header("content-encoding").is_none());
    assert!(small.header("vary").is_none());
    assert!(small.body.len() < 1024);
    // A card keeps its ETag, so it is never coded.
    let href = Multistatus::parse(&plain.body).responses[1].href.clone();
    let card = server.request("GET", &href, &[("Accept-Encoding", "gzip, zstd")], "");
    assert_eq!(card.status, 200);
    assert!(card.header("content-encoding").is_none());
    assert!(card.text().starts_with("BEGIN:VCARD"));
}
