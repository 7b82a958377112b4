//! Extracting what the DAV layer needs from pingora's request header.

use pingora::http::RequestHeader;

use crate::dav::RequestHead;

fn header(req: &RequestHeader, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub fn request_head(req: &RequestHeader) -> RequestHead {
    let brief = header(req, "brief").is_some_and(|v| v.trim().eq_ignore_ascii_case("t"));
    let prefer_minimal = header(req, "prefer").is_some_and(|v| {
        v.split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
    });
    RequestHead {
        method: req.method.as_str().to_string(),
        path: req.uri.path().to_string(),
        depth: header(req, "depth"),
        accept: header(req, "accept"),
        accept_encoding: header(req, "accept-encoding"),
        if_none_match: header(req, "if-none-match"),
        if_modified_since: header(req, "if-modified-since"),
        if_match: header(req, "if-match"),
        user_agent: header(req, "user-agent").unwrap_or_default(),
        minimal: brief || prefer_minimal,
        host: header(req, "host")
            .or_else(|| req.uri.authority().map(|a| a.to_string()))
            .filter(|h| is_host(h)),
        secure: false,
    }
}

/// A host name or address with an optional port: safe to put into a URL we hand out.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}
