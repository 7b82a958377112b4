//! Every write is refused fast with DAV:need-privileges, and a refused write that has nothing
//! to bring back never disturbs tokens or ETags (iOS writes to read-only books anyway; a
//! refused PUT or DELETE of an existing card heals it, see tests/refused_writes.rs).

mod support;

use support::multistatus::DAV;
use support::{google_row, propfind_body, sync_body, Multistatus, Server};

fn server() -> Server {
    Server::with_staff(
        "",
        &[
            google_row("Ann", "Lee", "Example", "ann@example.com", ""),
            google_row("Bo", "Chen", "Example", "bo@example.com", ""),
        ],
    )
}

#[test]
fn writes_are_refused_and_change_nothing_else() {
    let server = server();
    let token = server.token();
    let before = server.listing();
    let card = before.keys().next().expect("a card").clone();
    let edited =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Edited on an iPhone\r\nN:;;;;\r\nEND:VCARD\r\n";
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "PUT",
            format!("{}new.vcf", server.book_path()),
            edited,
            "write-content",
        ),
        ("DELETE", server.book_path(), "", "unbind"),
        (
            "MKCOL",
            format!("/addressbooks/{}/new/", server.user()),
            "",
            "bind",
        ),
        ("MOVE", card.clone(), "", "write"),
        ("COPY", card.clone(), "", "write"),
        ("POST", server.book_path(), edited, "write-content"),
        ("LOCK", card.clone(), "", "write"),
    ];
    for (method, path, body, privilege) in cases {
        let mut headers = vec![("Content-Type", "text/vcard")];
        if method == "MOVE" || method == "COPY" {
            headers.push(("Destination", "/addressbooks/alice/staff/copy.vcf"));
        }
        let r = server.request(method, &path, &headers, body);
        assert_eq!(r.status, 403, "{method} {path}");
        let text = r.text();
        assert!(
            text.contains("need-privileges") && text.contains(privilege),
            "{method}: {text}"
        );
    }
    assert_eq!(server.token(), token);
    assert_eq!(server.listing(), before);
    let r = server.report(&server.book_path(), &sync_body(&token, false));
    assert_eq!(r.status, 207);
    assert!(
        Multistatus::parse(&r.body).responses.is_empty(),
        "old token still syncs, nothing changed"
    );
}

#[test]
fn proppatch_gets_403_per_property() {
    let server = server();
    let token = server.token();
    let body = r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/" xmlns:CS="http://calendarserver.org/ns/">
        <D:set><D:prop><D:displayname>Mine now</D:displayname><A:addressbook-color>#ff0000</A:addressbook-color></D:prop></D:set>
        <D:remove><D:prop><CS:me-card/></D:prop></D:remove></D:propertyupdate>"#;
    let r = server.request(
        "PROPPATCH",
        &server.book_path(),
        &[("Content-Type", "application/xml")],
        body,
    );
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    let resp = &ms.responses[0];
    assert_eq!(resp.href, server.book_path());
    assert_eq!(resp.propstats.len(), 1);
    assert_eq!(resp.propstats[0].status, "HTTP/1.1 403 Forbidden");
    let names: Vec<&str> = resp.propstats[0]
        .props
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, vec!["displayname", "addressbook-color", "me-card"]);
    let r = server.propfind(&server.book_path(), "0", &propfind_body(&["D:displayname"]));
    assert_eq!(
        Multistatus::parse(&r.body).responses[0]
            .text(DAV, "displayname")
            .as_deref(),
        Some("Staff directory")
    );
    assert_eq!(server.token(), token);
    let r = server.request("PROPPATCH", &server.book_path(), &[], "<D:propertyupdate");
    assert_eq!(r.status, 400);
}
