//! addressbook-multiget and addressbook-query through the real server; every card returned
//! must parse with a strict vCard parser, in 3.0 and 4.0.

mod support;

use support::multistatus::{CARDDAV, DAV};
use support::server::standard_config;
use support::vcard::{parse_strict, values, version};
use support::{multiget_body, propfind_body, Multistatus, Server, ServerSpec};

/// The Google Contacts export sample: non-ASCII names, multi-line notes, yearless birthdays.
fn server() -> Server {
    Server::start(ServerSpec {
        config: standard_config(""),
        files: vec![(
            "staff.csv".into(),
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/connectors/tests/fixtures/google-contacts.csv"
            ))
            .expect("fixture"),
        )],
    })
}

fn member_hrefs(server: &Server) -> Vec<String> {
    let r = server.propfind(&server.book_path(), "1", &propfind_body(&["D:getetag"]));
    Multistatus::parse(&r.body)
        .responses
        .iter()
        .skip(1)
        .map(|r| r.href.clone())
        .collect()
}

fn cards_by_multiget(
    server: &Server,
    hrefs: &[String],
    v: Option<&str>,
    depth: Option<&str>,
) -> Vec<String> {
    let mut headers = vec![("Content-Type", "application/xml; charset=utf-8")];
    if let Some(d) = depth {
        headers.push(("Depth", d));
    }
    let r = server.request(
        "REPORT",
        &server.book_path(),
        &headers,
        &multiget_body(hrefs, v),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.responses.len(), hrefs.len());
    ms.responses
        .iter()
        .map(|resp| {
            assert!(resp.text(DAV, "getetag").is_some());
            resp.text(CARDDAV, "address-data").expect("address-data")
        })
        .collect()
}

#[test]
fn multiget_cards_parse_strictly_in_3_and_4() {
    let server = server();
    let hrefs = member_hrefs(&server);
    assert_eq!(hrefs.len(), 6);
    for (requested, expected) in [(None, "3.0"), (Some("3.0"), "3.0"), (Some("4.0"), "4.0")] {
        // Clients send Depth 0, 1 or nothing: all must work.
        for depth in [None, Some("0"), Some("1")] {
            let cards = cards_by_multiget(&server, &hrefs, requested, depth);
            for card in &cards {
                assert_eq!(version(card), expected, "{card}");
                let parsed = parse_strict(card);
                assert_eq!(values(&parsed, "UID").len(), 1);
                assert_eq!(values(&parsed, "FN").len(), 1, "{card}");
                assert_eq!(values(&parsed, "N").len(), 1, "{card}");
            }
            let all = cards.join("");
            assert!(all.contains("Zoë") && all.contains("Ångström-Nakamura"));
        }
    }
    let cards = cards_by_multiget(&server, &hrefs, None, None);
    let zoe = cards.iter().find(|c| c.contains("Zoë")).expect("Zoë");
    let parsed = parse_strict(zoe);
    assert_eq!(values(&parsed, "FN"), vec!["Zoë Ångström-Nakamura"]);
    assert!(values(&parsed, "EMAIL").contains(&"zoe.angstrom@example.org".to_string()));
    assert!(
        values(&parsed, "TEL")
            .iter()
            .any(|t| t.contains("+46705550199")),
        "{zoe}"
    );
    assert!(
        zoe.contains("BDAY;X-APPLE-OMIT-YEAR=1604:1604-11-03"),
        "{zoe}"
    );
    let cards4 = cards_by_multiget(&server, &hrefs, Some("4.0"), None);
    let zoe4 = cards4.iter().find(|c| c.contains("Zoë")).expect("Zoë");
    assert!(zoe4.contains("BDAY:--1103"), "{zoe4}");
    let org_only = cards
        .iter()
        .find(|c| c.contains("Example Facilities GmbH"))
        .expect("org row");
    assert_eq!(
        values(&parse_strict(org_only), "FN"),
        vec!["Example Facilities GmbH"]
    );
}

#[test]
fn multiget_accepts_encoded_and_absolute_hrefs_and_404s_the_rest() {
    let server = server();
    let hrefs = member_hrefs(&server);
    let name = hrefs[0].rsplit('/').next().expect("name").to_string();
    let encoded = format!("{}{}", server.book_path(), name.replace('.', "%2E"));
    let absolute = format!("http://127.0.0.1:{}{}", server.port, hrefs[1]);
    let unknown = format!("{}nobody.vcf", server.book_path());
    let elsewhere = format!("/addressbooks/bob/staff/{name}");
    let traversal = format!("{}../../bob/staff/{name}", server.book_path());
    let asked = vec![
        encoded.clone(),
        absolute.clone(),
        unknown.clone(),
        elsewhere.clone(),
        traversal.clone(),
    ];
    let r = server.report(&server.book_path(), &multiget_body(&asked, None));
    assert_eq!(r.status, 207);
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.responses.len(), 5);
    for found in [&encoded, &absolute] {
        let resp = ms.by_href(found).expect("answered under the href asked");
        assert!(resp.text(CARDDAV, "address-data").is_some());
    }
    for missing in [&unknown, &elsewhere, &traversal] {
        let resp = ms.by_href(missing).expect("own response");
        assert_eq!(resp.status.as_deref(), Some("HTTP/1.1 404 Not Found"));
    }
}

fn query(server: &Server, filter: &str, limit: Option<usize>) -> Multistatus {
    let limit = limit
        .map(|n| format!("<C:limit><C:nresults>{n}</C:nresults></C:limit>"))
        .unwrap_or_default();
    let body = support::query_body(&format!("{filter}{limit}"), true);
    let r = server.request("REPORT", &server.book_path(), &[("Depth", "1")], &body);
    assert_eq!(r.status, 207, "{}", r.text());
    Multistatus::parse(&r.body)
}

fn names(ms: &Multistatus) -> Vec<String> {
    let mut v: Vec<String> = ms
        .responses
        .iter()
        .filter_map(|r| r.text(CARDDAV, "address-data"))
        .map(|card| values(&parse_strict(&card), "FN").remove(0))
        .collect();
    v.sort();
    v
}

fn text_match(prop: &str, text: &str, attrs: &str) -> String {
    format!(
        r#"<C:filter><C:prop-filter name="{prop}"><C:text-match {attrs}>{text}</C:text-match></C:prop-filter></C:filter>"#
    )
}

#[test]
fn query_filters() {
    let server = server();
    // No filter and an empty filter: every card (Evolution, tsdav, macOS).
    assert_eq!(names(&query(&server, "", None)).len(), 6);
    assert_eq!(names(&query(&server, "<C:filter/>", None)).len(), 6);
    // FN contains, default collation i;unicode-casemap folds non-ASCII.
    assert_eq!(
        names(&query(&server, &text_match("FN", "ÅNGSTRÖM", ""), None)),
        vec!["Zoë Ångström-Nakamura"]
    );
    // i;ascii-casemap does not fold Å/å.
    let ascii = text_match("FN", "ÅNGSTRÖM", r#"collation="i;ascii-casemap""#);
    assert!(names(&query(&server, &ascii, None)).is_empty());
    // i;octet is case-sensitive.
    assert!(names(&query(
        &server,
        &text_match("N", "ventanilla", r#"collation="i;octet""#),
        None
    ))
    .is_empty());
    assert_eq!(
        names(&query(
            &server,
            &text_match("N", "Ventanilla", r#"collation="i;octet""#),
            None
        ))
        .len(),
        1
    );
    // Match types on EMAIL, ORG, NICKNAME, TEL.
    assert_eq!(
        names(&query(
            &server,
            &text_match("EMAIL", "@example.org", r#"match-type="ends-with""#),
            None
        ))
        .len(),
        4
    );
    assert_eq!(
        names(&query(
            &server,
            &text_match("ORG", "example", r#"match-type="starts-with""#),
            None
        ))
        .len(),
        4
    );
    assert_eq!(
        names(&query(
            &server,
            &text_match("NICKNAME", "kobby", r#"match-type="equals""#),
            None
        )),
        vec!["Kwabena Osei-Mensah"]
    );
    assert_eq!(
        names(&query(&server, &text_match("TEL", "555 0143", ""), None)),
        vec!["Marisol T. Ventanilla"]
    );
    // negate-condition: everyone whose ORG does not start with "Example" — but only cards that
    // have an ORG at all are tested by a prop-filter with a text-match.
    let negated = text_match(
        "ORG",
        "Example",
        r#"match-type="starts-with" negate-condition="yes""#,
    );
    assert!(names(&query(&server, &negated, None)).is_empty());
    // anyof / allof.
    let two = |test: &str| {
        format!(
            r#"<C:filter test="{test}"><C:prop-filter name="FN"><C:text-match>Zoë</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>marisol</C:text-match></C:prop-filter></C:filter>"#
        )
    };
    assert_eq!(names(&query(&server, &two("anyof"), None)).len(), 2);
    assert!(names(&query(&server, &two("allof"), None)).is_empty());
    // is-not-defined: cards without an ORG.
    let undefined =
        r#"<C:filter><C:prop-filter name="ORG"><C:is-not-defined/></C:prop-filter></C:filter>"#;
    assert_eq!(names(&query(&server, undefined, None)).len(), 2);
}

#[test]
fn query_limit_truncates_with_507_on_the_book() {
    let server = server();
    let ms = query(&server, "", Some(2));
    assert_eq!(names(&ms).len(), 2);
    let truncated = ms
        .by_href(&server.book_path())
        .expect("507 response on the book href");
    assert_eq!(
        truncated.status.as_deref(),
        Some("HTTP/1.1 507 Insufficient Storage")
    );
    assert!(truncated
        .errors
        .contains(&"number-of-matches-within-limits".to_string()));
    assert!(query(&server, "", Some(10))
        .by_href(&server.book_path())
        .is_none());
}

#[test]
fn unsupported_collation_and_reports_are_refused_cleanly() {
    let server = server();
    let body = support::query_body(&text_match("FN", "x", r#"collation="i;klingon""#), false);
    let r = server.report(&server.book_path(), &body);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("supported-collation"));
    let r = server.report(
        &server.book_path(),
        r#"<D:expand-property xmlns:D="DAV:"/>"#,
    );
    assert_eq!(r.status, 403);
    assert!(r.text().contains("supported-report"));
}

#[test]
fn get_serves_3_by_default_4_on_request_and_304_for_a_known_etag() {
    let server = server();
    let href = member_hrefs(&server).remove(0);
    let r = server.request("GET", &href, &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/vcard; charset=utf-8"));
    let etag = r.header("etag").expect("etag").to_string();
    assert_eq!(version(&r.text()), "3.0");
    parse_strict(&r.text());
    let r4 = server.request("GET", &href, &[("Accept", "text/vcard; version=4.0")], "");
    assert_eq!(version(&r4.text()), "4.0");
    parse_strict(&r4.text());
    let r = server.request("GET", &href, &[("If-None-Match", &etag)], "");
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = server.request("GET", &href, &[("If-None-Match", "\"stale\"")], "");
    assert_eq!(r.status, 200);
    let head = server.request("HEAD", &href, &[], "");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert!(head.body.is_empty());
    let missing = server.request("GET", &format!("{}nobody.vcf", server.book_path()), &[], "");
    assert_eq!(missing.status, 404);
}
