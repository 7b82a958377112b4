use super::*;
use crate::dav::Body;

/// Status, headers and body text of the reply for `error`.
fn reply(error: DavError) -> (u16, Vec<(&'static str, String)>, String) {
    let reply = Reply::from(error);
    let Body::Full(body) = reply.body else {
        panic!("a complete body");
    };
    let body = String::from_utf8(body.to_vec()).expect("UTF-8");
    (reply.status, reply.headers, body)
}

fn body(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\" \
         xmlns:C=\"urn:ietf:params:xml:ns:carddav\" xmlns:CS=\"http://calendarserver.org/ns/\" \
         xmlns:CB=\"urn:cardbridge:error\">{inner}</D:error>\n"
    )
}

#[test]
fn each_error_has_its_status_condition_and_description() {
    let cases = [
        (
            DavError::ValidSyncToken { status: 400 },
            400,
            "<D:valid-sync-token/><CB:description>the sync token is unknown or has expired; \
             sync again with an empty token</CB:description>",
        ),
        (
            DavError::ValidSyncToken { status: 403 },
            403,
            "<D:valid-sync-token/><CB:description>the sync token is unknown or has expired; \
             sync again with an empty token</CB:description>",
        ),
        (
            DavError::NeedPrivileges {
                href: "/a&b.vcf".into(),
                privilege: Privilege::Unbind,
            },
            403,
            "<D:need-privileges><D:resource><D:href>/a&amp;b.vcf</D:href><D:privilege>\
             <D:unbind/></D:privilege></D:resource></D:need-privileges>\
             <CB:description>this address book is read-only</CB:description>",
        ),
        (
            DavError::SupportedReport("report {urn:x}y is not supported".into()),
            403,
            "<D:supported-report/><CB:description>report {urn:x}y is not supported\
             </CB:description>",
        ),
        (
            DavError::SupportedFilter("too <many>".into()),
            400,
            "<C:supported-filter/><CB:description>too &lt;many&gt;</CB:description>",
        ),
        (
            DavError::SupportedCollation("i;x&y".into()),
            403,
            "<C:supported-collation/><CB:description>collation &quot;i;x&amp;y&quot; is not \
             supported</CB:description>",
        ),
        (
            DavError::PropfindFiniteDepth,
            403,
            "<D:propfind-finite-depth/><CB:description>Depth: infinity is not supported; use \
             Depth 0 or 1</CB:description>",
        ),
        (
            DavError::BadRequest("bad \u{1}".into()),
            400,
            "<CB:description>bad \u{FFFD}</CB:description>",
        ),
        (
            DavError::BodyTooLarge { limit: 10 },
            413,
            "<CB:description>request body larger than 10 bytes</CB:description>",
        ),
        (
            DavError::Timeout,
            408,
            "<CB:description>the request body arrived too slowly</CB:description>",
        ),
        (
            DavError::Internal("oops"),
            500,
            "<CB:description>oops</CB:description>",
        ),
    ];
    for (error, status, inner) in cases {
        let name = format!("{error:?}");
        let (got_status, headers, got_body) = reply(error);
        assert_eq!(got_status, status, "{name}");
        assert_eq!(got_body, body(inner), "{name}");
        assert_eq!(
            headers,
            vec![("Content-Type", XML_TYPE.to_string())],
            "{name}"
        );
    }
}

#[test]
fn login_errors_carry_their_headers() {
    let (status, headers, text) = reply(DavError::Unauthorized {
        description: "authentication required",
        realm: "Staff".into(),
    });
    assert_eq!(status, 401);
    assert_eq!(
        headers,
        vec![
            ("Content-Type", XML_TYPE.to_string()),
            (
                "WWW-Authenticate",
                "Basic realm=\"Staff\", charset=\"UTF-8\"".to_string()
            ),
        ]
    );
    assert_eq!(
        text,
        body("<CB:description>authentication required</CB:description>")
    );
    let (status, headers, text) = reply(DavError::TooManyLogins { retry_after: 7 });
    assert_eq!(status, 429);
    assert_eq!(headers.get(1), Some(&("Retry-After", "7".to_string())));
    assert_eq!(
        text,
        body("<CB:description>too many failed logins; try again later</CB:description>")
    );
    let (status, headers, _) = reply(DavError::Unavailable {
        description: "busy",
        retry_after: 2,
    });
    assert_eq!(status, 503);
    assert_eq!(headers.get(1), Some(&("Retry-After", "2".to_string())));
}
