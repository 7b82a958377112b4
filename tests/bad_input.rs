//! Hostile and broken requests get a clear status and the server keeps serving.

mod support;

use support::http::{basic, Conn};
use support::{google_row, multiget_body, propfind_body, Multistatus, Server};

fn server() -> Server {
    Server::with_staff(
        "",
        &[google_row("Ann", "Lee", "Example", "ann@example.com", "")],
    )
}

fn still_serving(server: &Server) {
    let r = server.propfind(&server.book_path(), "1", &propfind_body(&["D:getetag"]));
    assert_eq!(r.status, 207);
    assert_eq!(Multistatus::parse(&r.body).responses.len(), 2);
}

#[test]
fn malformed_dtd_and_unbound_prefix_bodies_get_400() {
    let server = server();
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol3;</D:displayname></D:prop></D:propfind>"#;
    let cases = [
        (
            "PROPFIND",
            r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag></D:prop></D:propfind>"#,
            "malformed",
        ),
        ("PROPFIND", laughs, "DTD"),
        (
            "PROPFIND",
            r#"<D:propfind xmlns:D="DAV:"><D:prop><Z:getetag/></D:prop></D:propfind>"#,
            "prefix",
        ),
        (
            "REPORT",
            r#"<C:addressbook-multiget xmlns:D="DAV:"><D:href>/x</D:href></C:addressbook-multiget>"#,
            "prefix",
        ),
        ("REPORT", "this is not XML", "malformed"),
        ("PROPFIND", r#"<D:multistatus xmlns:D="DAV:"/>"#, "propfind"),
    ];
    for (method, body, expected) in cases {
        let r = server.request(method, &server.book_path(), &[("Depth", "0")], body);
        assert_eq!(r.status, 400, "{method} {body}");
        let text = r.text();
        assert!(
            text.to_lowercase().contains(&expected.to_lowercase()),
            "{expected}: {text}"
        );
    }
    still_serving(&server);
}

#[test]
fn oversized_propfind_gets_413_and_a_big_multiget_is_accepted() {
    let server = server();
    let padding = "<!-- x -->".repeat(120_000);
    let body = format!(
        r#"<D:propfind xmlns:D="DAV:">{padding}<D:prop><D:getetag/></D:prop></D:propfind>"#
    );
    assert!(body.len() > 1024 * 1024);
    let mut conn = Conn::open(server.port);
    let auth = basic("alice", "secret");
    let r = conn.send(
        "PROPFIND",
        &server.book_path(),
        &[("Depth", "0"), ("Authorization", &auth)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 413);
    still_serving(&server);

    // Thunderbird's first sync: one multiget naming every card (100,000 hrefs ≈ 6 MB).
    let hrefs: Vec<String> = (0..100_000)
        .map(|i| format!("{}{i:032x}.vcf", server.book_path()))
        .collect();
    let body = multiget_body(&hrefs, None);
    assert!(body.len() > 5 * 1024 * 1024);
    let r = server.report(&server.book_path(), &body);
    assert_eq!(r.status, 207);
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.responses.len(), 100_000);
    assert!(r.chunked, "a large multistatus is streamed");
    still_serving(&server);
}

#[test]
fn traversal_and_paths_outside_the_layout_get_404() {
    let server = server();
    for path in [
        "/addressbooks/alice/staff/../../bob/staff/".to_string(),
        "/addressbooks/alice/staff/%2e%2e/%2e%2e/etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        "/addressbooks/alice/staff/a/b/c.vcf".to_string(),
        "/addressbooks/alice/nosuchbook/".to_string(),
    ] {
        for method in ["GET", "PROPFIND"] {
            let r = server.request(method, &path, &[("Depth", "0")], "");
            assert_eq!(r.status, 404, "{method} {path}");
        }
    }
    still_serving(&server);
}

#[test]
fn wrong_passwords_keep_getting_401_and_the_right_one_works() {
    let server = server();
    // Within the failures allowed before delays start (see tests/login_limits.rs).
    for _ in 0..4 {
        let auth = basic("alice", "guess");
        let r = server.request(
            "PROPFIND",
            "/",
            &[("Authorization", &auth), ("Depth", "0")],
            "",
        );
        assert_eq!(r.status, 401);
    }
    let r = server.request(
        "PROPFIND",
        "/",
        &[("Authorization", "Bearer abc"), ("Depth", "0")],
        "",
    );
    assert_eq!(r.status, 401);
    let r = server.request(
        "PROPFIND",
        "/",
        &[("Authorization", "Basic %%%"), ("Depth", "0")],
        "",
    );
    assert_eq!(r.status, 401);
    still_serving(&server);
}
