//! The discovery chain real clients walk, with and without
//! credentials, through the real server.

mod support;

use support::http::Conn;
use support::multistatus::{CARDDAV, CS, DAV};
use support::server::standard_config;
use support::{google_row, propfind_body, Multistatus, Server, ServerSpec, GOOGLE_HEADER};

fn staff_csv() -> Vec<u8> {
    format!(
        "{GOOGLE_HEADER}\n{}\n{}\n",
        google_row("Ann", "Lee", "Example", "ann@example.com", "(650) 253-0000"),
        google_row("Bo", "Chen", "Example", "bo@example.com", "")
    )
    .into_bytes()
}

fn server() -> Server {
    let extra = r#"
[[source]]
id = "secret"
kind = "csv"
path = "secret.csv"

[[addressbook]]
id = "board"
name = "Board only"
sources = ["secret"]
readers = ["bob"]
"#;
    Server::start(ServerSpec {
        config: standard_config(extra),
        files: vec![
            ("staff.csv".into(), staff_csv()),
            (
                "secret.csv".into(),
                format!(
                    "{GOOGLE_HEADER}\n{}\n",
                    google_row("Cy", "Board", "", "cy@example.com", "")
                )
                .into_bytes(),
            ),
        ],
    })
}

#[test]
fn well_known_redirects_without_credentials_for_get_and_propfind() {
    let server = server();
    for method in ["GET", "PROPFIND"] {
        let r =
            Conn::open(server.port).send(method, "/.well-known/carddav", &[("Depth", "0")], b"");
        assert_eq!(r.status, 301, "{method}");
        assert_eq!(r.header("location"), Some("/"));
    }
}

#[test]
fn unauthenticated_and_wrong_passwords_get_a_basic_challenge() {
    let server = server();
    let body = propfind_body(&["D:current-user-principal"]);
    let anonymous =
        Conn::open(server.port).send("PROPFIND", "/", &[("Depth", "0")], body.as_bytes());
    assert_eq!(anonymous.status, 401);
    let challenge = anonymous.header("www-authenticate").expect("challenge");
    assert!(
        challenge.starts_with("Basic realm=\"cardbridge\""),
        "{challenge}"
    );
    for (user, password) in [("alice", "wrong"), ("mallory", "secret"), ("alice", "")] {
        let auth = support::http::basic(user, password);
        let r = server.request(
            "PROPFIND",
            "/",
            &[("Depth", "0"), ("Authorization", &auth)],
            &body,
        );
        assert_eq!(r.status, 401, "{user}:{password}");
        assert!(r.header("www-authenticate").is_some());
    }
    // A card URL is no way around it either.
    let r = Conn::open(server.port).send("GET", &format!("{}x.vcf", server.book_path()), &[], b"");
    assert_eq!(r.status, 401);
}

#[test]
fn context_root_principal_home_and_books() {
    let server = server();
    // 1. Context path: current-user-principal.
    let r = server.propfind(
        "/",
        "0",
        &propfind_body(&[
            "D:current-user-principal",
            "D:principal-URL",
            "D:resourcetype",
        ]),
    );
    assert_eq!(r.status, 207);
    assert_eq!(r.status_line, "HTTP/1.1 207 Multi-Status");
    let ms = Multistatus::parse(&r.body);
    let principal = &ms.responses[0]
        .prop(DAV, "current-user-principal")
        .expect("principal")
        .hrefs[0];
    assert_eq!(principal, "/principals/alice/");
    // principal-URL is not a property of the root: reported 404 after the 200 propstat.
    assert_eq!(ms.responses[0].propstats[0].status, "HTTP/1.1 200 OK");
    assert!(ms.responses[0].has_in("HTTP/1.1 404 Not Found", DAV, "principal-URL"));

    // 2. Principal, with the properties iOS asks for.
    let r = server.propfind(
        principal,
        "0",
        &propfind_body(&[
            "C:addressbook-home-set",
            "D:displayname",
            "D:principal-collection-set",
            "D:principal-URL",
            "D:resource-id",
            "D:resourcetype",
            "D:supported-report-set",
            "C:directory-gateway",
            "CS:email-address-set",
        ]),
    );
    let ms = Multistatus::parse(&r.body);
    let resp = &ms.responses[0];
    assert_eq!(resp.href, "/principals/alice/");
    let home = &resp
        .prop(CARDDAV, "addressbook-home-set")
        .expect("home")
        .hrefs[0];
    assert_eq!(home, "/addressbooks/alice/");
    assert!(resp
        .prop(DAV, "resourcetype")
        .expect("type")
        .children
        .contains(&"principal".to_string()));
    assert_eq!(
        resp.prop(DAV, "principal-URL").expect("url").hrefs,
        vec!["/principals/alice/"]
    );
    assert!(resp.text(DAV, "resource-id").is_some() || resp.prop(DAV, "resource-id").is_some());
    assert!(resp.has_in("HTTP/1.1 404 Not Found", CS, "email-address-set"));
    assert!(resp.has_in("HTTP/1.1 404 Not Found", CARDDAV, "directory-gateway"));
    let statuses: Vec<&str> = resp.propstats.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(
        statuses,
        vec!["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"],
        "200 propstat first"
    );

    // 3. Home, Depth 1: only the books alice may read.
    let r = server.propfind(
        home,
        "1",
        &propfind_body(&[
            "D:resourcetype",
            "D:displayname",
            "C:addressbook-description",
            "CS:getctag",
            "D:sync-token",
            "D:current-user-privilege-set",
            "D:supported-report-set",
            "C:supported-address-data",
            "C:max-resource-size",
            "D:owner",
            "CS:me-card",
            "D:add-member",
        ]),
    );
    let ms = Multistatus::parse(&r.body);
    let hrefs: Vec<&str> = ms.responses.iter().map(|r| r.href.as_str()).collect();
    assert_eq!(
        hrefs,
        vec!["/addressbooks/alice/", "/addressbooks/alice/staff/"]
    );
    let book = &ms.responses[1];
    let kinds = &book.prop(DAV, "resourcetype").expect("type").children;
    assert!(kinds.contains(&"collection".into()) && kinds.contains(&"addressbook".into()));
    assert_eq!(
        book.text(DAV, "displayname").as_deref(),
        Some("Staff directory")
    );
    assert_eq!(
        book.text(CARDDAV, "addressbook-description").as_deref(),
        Some("Everyone")
    );
    let token = book.text(DAV, "sync-token").expect("token");
    assert!(token.contains(':'), "sync token must be a URI: {token}");
    assert_eq!(book.text(CS, "getctag"), Some(token));
    let privileges = &book
        .prop(DAV, "current-user-privilege-set")
        .expect("privileges")
        .children;
    assert!(privileges.contains(&"read".into()));
    assert!(
        !privileges
            .iter()
            .any(|p| p.starts_with("write") || p == "all" || p == "bind"),
        "{privileges:?}"
    );
    let reports = &book
        .prop(DAV, "supported-report-set")
        .expect("reports")
        .children;
    for report in [
        "sync-collection",
        "addressbook-multiget",
        "addressbook-query",
    ] {
        assert!(
            reports.contains(&report.to_string()),
            "{report} missing: {reports:?}"
        );
    }
    let body = String::from_utf8_lossy(&r.body);
    assert!(body.contains(r#"version="3.0""#) && body.contains(r#"version="4.0""#));
    assert!(book.prop(CARDDAV, "max-resource-size").is_some());
    assert_eq!(
        book.prop(DAV, "owner").expect("owner").hrefs,
        vec!["/principals/alice/"]
    );
    assert!(book.has_in("HTTP/1.1 404 Not Found", CS, "me-card"));

    // Bob sees his board book too; alice cannot reach it even by URL.
    let bob = support::http::basic("bob", "hunter2");
    let r = server.request(
        "PROPFIND",
        "/addressbooks/bob/",
        &[("Depth", "1"), ("Authorization", &bob)],
        &propfind_body(&["D:displayname"]),
    );
    let names: Vec<String> = Multistatus::parse(&r.body)
        .responses
        .iter()
        .map(|r| r.href.clone())
        .collect();
    assert_eq!(
        names,
        vec![
            "/addressbooks/bob/",
            "/addressbooks/bob/board/",
            "/addressbooks/bob/staff/"
        ]
    );
    let r = server.propfind(
        "/addressbooks/alice/board/",
        "0",
        &propfind_body(&["D:displayname"]),
    );
    assert_eq!(r.status, 404);
    let r = server.propfind(
        "/addressbooks/bob/",
        "0",
        &propfind_body(&["D:displayname"]),
    );
    assert_eq!(
        r.status, 404,
        "another user's home does not exist for alice"
    );
}

#[test]
fn options_announce_carddav_on_principal_and_books_without_write_methods() {
    let server = server();
    for path in ["/principals/alice/", "/addressbooks/alice/staff/", "/"] {
        let r = Conn::open(server.port).send("OPTIONS", path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        let dav = r.header("dav").expect("DAV header");
        for token in ["1", "3", "addressbook"] {
            assert!(
                dav.split(',').any(|t| t.trim() == token),
                "{path}: DAV: {dav}"
            );
        }
        let allow = r.header("allow").expect("Allow");
        for write in ["PUT", "DELETE", "POST"] {
            assert!(!allow.contains(write), "{path}: Allow: {allow}");
        }
        assert!(allow.contains("PROPFIND") && allow.contains("REPORT"));
    }
}

#[test]
fn book_listing_gives_every_card_an_etag_and_vcard_type() {
    let server = server();
    let r = server.propfind(
        &server.book_path(),
        "1",
        &propfind_body(&["D:getetag", "D:getcontenttype", "D:resourcetype"]),
    );
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.responses.len(), 3, "book + 2 cards");
    for card in &ms.responses[1..] {
        let name = card.href.rsplit('/').next().expect("name");
        assert!(name.ends_with(".vcf"));
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "{name}"
        );
        let etag = card.text(DAV, "getetag").expect("etag");
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
            "{etag}"
        );
        assert_eq!(
            card.text(DAV, "getcontenttype").as_deref(),
            Some("text/vcard; charset=utf-8")
        );
    }
}

#[test]
fn home_books_and_cards_all_say_read_only() {
    let server = server();
    let body = propfind_body(&["D:current-user-privilege-set"]);
    let home = server.propfind("/addressbooks/alice/", "0", &body);
    let book = server.propfind(&server.book_path(), "1", &body);
    let mut responses = Multistatus::parse(&home.body).responses;
    responses.extend(Multistatus::parse(&book.body).responses);
    assert_eq!(responses.len(), 4, "home, book, two cards");
    for resp in responses {
        let mut privileges = resp
            .prop(DAV, "current-user-privilege-set")
            .unwrap_or_else(|| panic!("{} has no privilege set", resp.href))
            .children
            .clone();
        privileges.retain(|p| p != "privilege");
        privileges.sort();
        assert_eq!(
            privileges,
            vec!["read", "read-current-user-privilege-set"],
            "{}",
            resp.href
        );
    }
}

#[test]
fn depth_infinity_is_refused_and_brief_drops_404s() {
    let server = server();
    let r = server.propfind(
        &server.book_path(),
        "infinity",
        &propfind_body(&["D:displayname"]),
    );
    assert_eq!(r.status, 403);
    assert!(r.text().contains("propfind-finite-depth"), "{}", r.text());

    let body = propfind_body(&["D:displayname", "CS:me-card"]);
    let r = server.request(
        "PROPFIND",
        &server.book_path(),
        &[("Depth", "0"), ("Brief", "t")],
        &body,
    );
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.responses[0].propstats.len(), 1, "{}", r.text());
    let r = server.request(
        "PROPFIND",
        &server.book_path(),
        &[("Depth", "0"), ("Prefer", "return=minimal")],
        &body,
    );
    assert_eq!(Multistatus::parse(&r.body).responses[0].propstats.len(), 1);
    let r = server.propfind(&server.book_path(), "0", &body);
    assert_eq!(Multistatus::parse(&r.body).responses[0].propstats.len(), 2);
}

#[test]
fn allprop_and_propname() {
    let server = server();
    let r = server.propfind(
        &server.book_path(),
        "0",
        r#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#,
    );
    let ms = Multistatus::parse(&r.body);
    let names: Vec<&str> = ms.responses[0].propstats[0]
        .props
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert!(
        names.contains(&"sync-token") && names.contains(&"getctag"),
        "{names:?}"
    );
    assert!(ms.responses[0].propstats[0]
        .props
        .iter()
        .all(|p| p.text.is_empty()));
    let r = server.propfind(&server.book_path(), "0", "");
    let ms = Multistatus::parse(&r.body);
    assert_eq!(
        ms.responses[0].text(DAV, "displayname").as_deref(),
        Some("Staff directory")
    );
}

#[test]
fn the_home_has_no_displayname_so_clients_do_not_list_it_as_a_book() {
    let server = server();
    let r = server.propfind(
        "/addressbooks/alice/",
        "0",
        &propfind_body(&["D:resourcetype", "D:displayname"]),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    let home = &ms.responses[0];
    assert!(home.has_in("HTTP/1.1 404 Not Found", DAV, "displayname"));
    assert!(home.has_in("HTTP/1.1 200 OK", DAV, "resourcetype"));
    let r = server.propfind("/addressbooks/alice/", "0", "");
    let ms = Multistatus::parse(&r.body);
    assert!(
        ms.responses[0].prop(DAV, "displayname").is_none(),
        "allprop"
    );
}
