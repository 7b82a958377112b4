//! The cost of a DAV request is bounded: addressbook-query filters are capped and budgeted,
//! requested properties are deduplicated and capped, and every reply is well-formed XML even
//! when the request names odd namespaces or carries character references.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::multistatus::{CARDDAV, DAV};
use support::server::standard_config;
use support::{google_row, multiget_body, propfind_body, Multistatus, Server, ServerSpec};

fn rows() -> Vec<String> {
    ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay"]
        .iter()
        .map(|n| google_row(n, "Lee", "Example", &format!("{n}@example.com"), ""))
        .collect()
}

fn server_with(settings: &str) -> Server {
    let config = standard_config("").replacen("[server]\n", &format!("[server]\n{settings}\n"), 1);
    Server::start(ServerSpec {
        config,
        files: vec![(
            "staff.csv".into(),
            support::google_csv(&rows()).into_bytes(),
        )],
    })
}

fn query_body(filter: &str) -> String {
    support::query_body(&format!("<C:filter>{filter}</C:filter>"), false)
}

fn prop_filter(matches: usize, text: &str) -> String {
    let tm = format!("<C:text-match>{text}</C:text-match>").repeat(matches);
    format!(r#"<C:prop-filter name="EMAIL">{tm}</C:prop-filter>"#)
}

/// Parses `body` with Python's expat-based minidom, an XML 1.0 parser independent of the
/// server's, which refuses anything not well-formed.
fn assert_well_formed(body: &[u8]) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("write body");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(
        out.status.success(),
        "not well-formed XML: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(body)
    );
}

#[test]
fn oversized_query_filters_get_400_supported_filter() {
    let server = server_with("");
    let cases = [
        ("prop-filters", prop_filter(1, "ann").repeat(65)),
        ("text-matches", prop_filter(17, "ann")),
        ("bytes", prop_filter(1, &"a".repeat(1025))),
    ];
    for (what, filter) in cases {
        let r = server.report(&server.book_path(), &query_body(&filter));
        assert_eq!(r.status, 400, "{what}");
        assert_well_formed(&r.body);
        let text = r.text();
        assert!(text.contains("supported-filter"), "{what}: {text}");
        assert!(text.contains(what), "{what}: {text}");
    }
    // At the limits the query is answered.
    let filter = prop_filter(16, "ann").repeat(64);
    let r = server.report(&server.book_path(), &query_body(&filter));
    assert_eq!(r.status, 207, "{}", r.text());
    assert_eq!(Multistatus::parse(&r.body).responses.len(), 1);
}

#[test]
fn query_over_the_evaluation_budget_is_truncated_with_507() {
    // Each card costs one evaluation per text-match: two text-matches, budget 6 → 3 cards.
    let server = server_with("query_max_evaluations = 6");
    let filter = r#"<C:prop-filter name="EMAIL"><C:text-match>example</C:text-match><C:text-match>nobody</C:text-match></C:prop-filter>"#;
    let r = server.report(&server.book_path(), &query_body(filter));
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.present().len(), 3);
    let book = ms.by_href(&server.book_path()).expect("507 on the book");
    assert_eq!(
        book.status.as_deref(),
        Some("HTTP/1.1 507 Insufficient Storage")
    );
    assert!(book
        .errors
        .contains(&"number-of-matches-within-limits".to_string()));
}

fn unknown_props(count: usize) -> String {
    (0..count).map(|i| format!("<X:p{i}/>")).collect::<String>()
}

fn multiget_with_props(server: &Server, props: &str) -> support::http::Response {
    let href = format!("{}nobody.vcf", server.book_path());
    let body = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:X="urn:x"><D:prop>{props}</D:prop>{}</C:addressbook-multiget>"#,
        format!("<D:href>{href}</D:href>").repeat(3)
    );
    server.report(&server.book_path(), &body)
}

#[test]
fn requested_properties_are_deduplicated_and_capped() {
    let server = server_with("");
    // The same property asked 5,000 times is reported once per response.
    let r = server.propfind(
        &server.book_path(),
        "0",
        &format!(
            r#"<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop>{}</D:prop></D:propfind>"#,
            "<D:getetag/><X:same/>".repeat(5000)
        ),
    );
    assert_eq!(r.status, 207, "{}", r.text());
    let ms = Multistatus::parse(&r.body);
    let props: Vec<_> = ms.responses[0]
        .propstats
        .iter()
        .flat_map(|ps| ps.props.iter())
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(props.len(), 2);
    let members = server.propfind(&server.book_path(), "1", &propfind_body(&["D:getetag"]));
    let href = Multistatus::parse(&members.body).present()[0].clone();
    let r = server.report(
        &server.book_path(),
        &multiget_body(&[href], None).replace("<D:getetag/>", &"<D:getetag/>".repeat(3000)),
    );
    assert_eq!(r.status, 207);
    let ms = Multistatus::parse(&r.body);
    assert_eq!(ms.responses[0].propstats[0].props.len(), 2);
    assert!(ms.responses[0].text(CARDDAV, "address-data").is_some());
    assert!(ms.responses[0].text(DAV, "getetag").is_some());
    // 100 distinct properties are answered, 101 are refused.
    assert_eq!(
        multiget_with_props(&server, &unknown_props(100)).status,
        207
    );
    let r = multiget_with_props(&server, &unknown_props(101));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("100"), "{}", r.text());
    let r = server.propfind(
        &server.book_path(),
        "0",
        &format!(
            r#"<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop>{}</D:prop></D:propfind>"#,
            unknown_props(101)
        ),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn replies_stay_well_formed_for_odd_names_and_character_references() {
    let server = server_with("");
    let book = server.book_path();
    // Character references XML 1.0 does not allow, in an href and in a namespace.
    for bad in ["&#x1;", "&#xFFFE;", "&#xFFFF;", "&#x1F;"] {
        let r = server.report(&book, &multiget_body(&[format!("{book}a{bad}b.vcf")], None));
        assert_well_formed(&r.body);
        assert_eq!(r.status, 400, "href with {bad}");
        let r = server.propfind(
            &book,
            "0",
            &format!(
                r#"<D:propfind xmlns:D="DAV:" xmlns:X="urn:a{bad}"><D:prop><X:p/></D:prop></D:propfind>"#
            ),
        );
        assert_well_formed(&r.body);
        assert_eq!(r.status, 400, "namespace with {bad}");
    }
    // Names that are not XML names, and namespaces that need escaping when echoed.
    let odd = [
        r#"<X:a&amp;b xmlns:X="urn:x"/>"#,
        r#"<X:a"b xmlns:X="urn:x"/>"#,
        r#"<X:p xmlns:X="urn:a&lt;b&amp;c&quot;d'e"/>"#,
        r#"<X:p xmlns:X="urn:&#xE9;&#x9;&#xA;"/>"#,
    ];
    for prop in odd {
        let body = format!(r#"<D:propfind xmlns:D="DAV:"><D:prop>{prop}</D:prop></D:propfind>"#);
        let r = server.propfind(&book, "0", &body);
        assert_well_formed(&r.body);
        assert!(matches!(r.status, 207 | 400), "{prop}: {}", r.status);
    }
}
