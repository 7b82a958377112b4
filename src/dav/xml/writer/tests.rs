use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;

use super::*;
use crate::dav::multistatus::{End, Multistatus, NeededPrivilege, Privilege};
use crate::dav::xml::QName;
use crate::store::Etag;

/// Text with every character the writer treats specially.
const AWKWARD: &str = "a&b<c>\"d\r\n\u{1}\u{FFFE}\te";
const AWKWARD_ESCAPED: &str = "a&amp;b&lt;c&gt;&quot;d&#13;\n\u{FFFD}\u{FFFD}\te";

fn prop_xml(name: Name, value: Value) -> String {
    let mut out = String::new();
    write_prop(&mut out, &Prop { name, value });
    out
}

fn dav(local: &'static str) -> Name<'static> {
    Name::dav(local)
}

#[test]
fn escaping() {
    let mut out = String::new();
    escape_into(&mut out, AWKWARD);
    assert_eq!(out, AWKWARD_ESCAPED);
}

#[test]
fn text_values_are_escaped() {
    let name = dav("displayname");
    assert_eq!(
        prop_xml(name, Value::Text(Cow::Borrowed(AWKWARD))),
        format!("<D:displayname>{AWKWARD_ESCAPED}</D:displayname>")
    );
    assert_eq!(
        prop_xml(name, Value::Text(Cow::Borrowed(""))),
        "<D:displayname/>"
    );
    assert_eq!(prop_xml(name, Value::Empty), "<D:displayname/>");
}

#[test]
fn href_values_are_escaped() {
    assert_eq!(
        prop_xml(dav("owner"), Value::Href(Cow::Borrowed("/a&b<\"c\"/"))),
        "<D:owner><D:href>/a&amp;b&lt;&quot;c&quot;/</D:href></D:owner>"
    );
}

#[test]
fn card_data_is_escaped_and_invalid_utf8_replaced() {
    let card = Bytes::from_static(b"BEGIN:VCARD\r\nFN:A&B <x>\r\nNOTE:\xff\x01\r\nEND:VCARD\r\n");
    assert_eq!(
        prop_xml(Name::carddav("address-data"), Value::Card(card.into())),
        "<C:address-data>BEGIN:VCARD&#13;\nFN:A&amp;B &lt;x&gt;&#13;\nNOTE:\u{FFFD}\u{FFFD}&#13;\nEND:VCARD&#13;\n</C:address-data>"
    );
}

#[test]
fn formatted_values() {
    assert_eq!(
        prop_xml(dav("getcontentlength"), Value::Number(1234)),
        "<D:getcontentlength>1234</D:getcontentlength>"
    );
    assert_eq!(
        prop_xml(
            dav("getlastmodified"),
            Value::Date(UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        ),
        "<D:getlastmodified>Sun, 09 Sep 2001 01:46:40 GMT</D:getlastmodified>"
    );
    let etag = Etag(0xabc);
    let mut quoted = String::new();
    escape_into(&mut quoted, &etag.quoted());
    assert_eq!(
        prop_xml(dav("getetag"), Value::Etag(etag)),
        format!("<D:getetag>{quoted}</D:getetag>"),
        "the same entity tag as the ETag header"
    );
}

#[test]
fn structured_values() {
    const REPORTS: &[Name<'static>] = &[
        Name::dav("sync-collection"),
        Name::carddav("addressbook-query"),
    ];
    assert_eq!(
        prop_xml(
            dav("resourcetype"),
            Value::ResourceType(&[ResourceKind::Collection, ResourceKind::AddressBook])
        ),
        "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
    );
    assert_eq!(
        prop_xml(dav("resourcetype"), Value::ResourceType(&[])),
        "<D:resourcetype/>"
    );
    assert_eq!(
        prop_xml(
            dav("current-user-privilege-set"),
            Value::Privileges(&[Privilege::Read, Privilege::ReadCurrentUserPrivilegeSet])
        ),
        "<D:current-user-privilege-set><D:privilege><D:read/></D:privilege>\
         <D:privilege><D:read-current-user-privilege-set/></D:privilege>\
         </D:current-user-privilege-set>"
    );
    assert_eq!(
        prop_xml(
            dav("supported-report-set"),
            Value::SupportedReports(REPORTS)
        ),
        "<D:supported-report-set>\
         <D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>\
         <D:supported-report><D:report><C:addressbook-query/></D:report></D:supported-report>\
         </D:supported-report-set>"
    );
    assert_eq!(
        prop_xml(
            Name::carddav("supported-address-data"),
            Value::AddressDataTypes(&["3.0", "4.0"])
        ),
        "<C:supported-address-data>\
         <C:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>\
         <C:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>\
         </C:supported-address-data>"
    );
}

#[test]
fn foreign_and_unqualified_names() {
    let foreign = QName {
        ns: "urn:a&b\"c".into(),
        local: "odd".into(),
    };
    assert_eq!(
        prop_xml(foreign.name(), Value::Text(Cow::Borrowed("x"))),
        r#"<X:odd xmlns:X="urn:a&amp;b&quot;c">x</X:odd>"#
    );
    assert_eq!(
        prop_xml(foreign.name(), Value::Empty),
        r#"<X:odd xmlns:X="urn:a&amp;b&quot;c"/>"#
    );
    assert_eq!(
        prop_xml(
            Name {
                ns: "",
                local: "bare"
            },
            Value::Empty
        ),
        "<bare/>"
    );
    assert_eq!(
        prop_xml(Name::cs("getctag"), Value::Text("t".into())),
        "<CS:getctag>t</CS:getctag>"
    );
}

#[test]
fn responses() {
    let mut out = String::new();
    response(
        &mut out,
        &Response::propstats(
            "/a&b/",
            vec![
                Propstat::new(200, vec![Prop::name_only(dav("getetag"))]),
                Propstat::new(404, vec![Prop::name_only(dav("owner"))]),
            ],
        ),
    );
    assert_eq!(
        out,
        "<D:response><D:href>/a&amp;b/</D:href>\
         <D:propstat><D:prop><D:getetag/></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>\
         <D:propstat><D:prop><D:owner/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>\
         </D:response>"
    );
    out.clear();
    response(&mut out, &Response::status("/gone.vcf", 404));
    assert_eq!(
        out,
        "<D:response><D:href>/gone.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
    );
    out.clear();
    response(&mut out, &Response::truncated("/book/"));
    assert_eq!(
        out,
        "<D:response><D:href>/book/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>\
         <D:error><D:number-of-matches-within-limits/></D:error></D:response>"
    );
    out.clear();
    response(
        &mut out,
        &Response::propstats(
            "/book/",
            vec![Propstat {
                status: 403,
                props: vec![Prop::name_only(dav("displayname"))],
                error: Some(Condition::NeedPrivileges(None)),
                description: Some("read-only & <so>"),
            }],
        ),
    );
    assert_eq!(
        out,
        "<D:response><D:href>/book/</D:href><D:propstat><D:prop><D:displayname/></D:prop>\
         <D:status>HTTP/1.1 403 Forbidden</D:status><D:error><D:need-privileges/></D:error>\
         <D:responsedescription>read-only &amp; &lt;so&gt;</D:responsedescription>\
         </D:propstat></D:response>"
    );
}

#[test]
fn conditions() {
    let mut out = String::new();
    write_condition(
        &mut out,
        &Condition::NeedPrivileges(Some(NeededPrivilege {
            href: "/x&y.vcf",
            privilege: Privilege::WriteContent,
        })),
    );
    assert_eq!(
        out,
        "<D:need-privileges><D:resource><D:href>/x&amp;y.vcf</D:href>\
         <D:privilege><D:write-content/></D:privilege></D:resource></D:need-privileges>"
    );
    for (condition, xml) in [
        (Condition::ValidSyncToken, "<D:valid-sync-token/>"),
        (Condition::SupportedReport, "<D:supported-report/>"),
        (Condition::SupportedFilter, "<C:supported-filter/>"),
        (Condition::SupportedCollation, "<C:supported-collation/>"),
        (Condition::PropfindFiniteDepth, "<D:propfind-finite-depth/>"),
    ] {
        out.clear();
        write_condition(&mut out, &condition);
        assert_eq!(out, xml);
    }
}

#[test]
fn a_whole_multistatus() {
    let mut multistatus = Multistatus::new();
    multistatus.push(&Response::status("/a", 404));
    let reply = multistatus.stream(
        vec!["/b", "/c"],
        |href, out| out.push(&Response::status(href, 404)),
        End {
            truncated: Some(Response::truncated("/")),
            sync_token: Some("http://t/<1>".into()),
        },
    );
    assert_eq!(reply.status, 207);
    let crate::dav::Body::Full(body) = reply.body else {
        panic!("a few responses are written whole");
    };
    let body = std::str::from_utf8(&body).expect("UTF-8");
    let gone = |href: &str| {
        format!("<D:response><D:href>{href}</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>")
    };
    assert_eq!(
        body,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus {ROOT_NAMESPACES}>{}{}{}\
             <D:response><D:href>/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>\
             <D:error><D:number-of-matches-within-limits/></D:error></D:response>\
             <D:sync-token>http://t/&lt;1&gt;</D:sync-token></D:multistatus>\n",
            gone("/a"),
            gone("/b"),
            gone("/c")
        )
    );
}

/// Char by char, as escaping was first written: the reference for the run-copying version.
fn escape_reference(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            c if !crate::dav::xml::chars::is_char(c) => out.push(char::REPLACEMENT_CHARACTER),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

proptest::proptest! {
    #[test]
    fn escaping_equals_the_char_by_char_reference(
        parts in proptest::collection::vec(proptest::sample::select(vec![
            "a", "&", "<", ">", "\"", "'", "\r", "\n", "\t", "\u{1}", "\u{1F}", "\u{7F}",
            "\u{FFFE}", "\u{FFFF}", "\u{FFFD}", "\u{EFFF}", "é", "\u{1F600}", "\u{F000}",
        ]), 0..40),
        any_text in ".{0,40}",
    ) {
        for text in [parts.concat(), any_text] {
            let mut out = String::new();
            escape_into(&mut out, &text);
            proptest::prop_assert_eq!(out, escape_reference(&text));
        }
    }
}
