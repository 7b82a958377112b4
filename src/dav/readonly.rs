//! Refusing writes: every book is read-only. Refusals are fast, carry `DAV:need-privileges`,
//! and touch nothing, so tokens and ETags stay valid (iOS tries to write anyway).

use std::sync::Arc;

use super::locate::locate;
use super::paths;
use super::reply::{self, Reply};
use super::request;
use super::xml;
use crate::state::AppState;

/// The privilege a write method would need (RFC 3744 §3).
fn privilege(method: &str) -> &'static str {
    match method {
        "PUT" | "PATCH" | "POST" => "write-content",
        "DELETE" => "unbind",
        "MKCOL" | "MKCALENDAR" => "bind",
        "PROPPATCH" => "write-properties",
        "ACL" => "write-acl",
        _ => "write",
    }
}

pub fn refuse(path: &str, method: &str) -> Reply {
    let mut condition = String::from("<D:need-privileges><D:resource>");
    xml::href(&mut condition, path);
    condition.push_str("<D:privilege><D:");
    condition.push_str(privilege(method));
    condition.push_str("/></D:privilege></D:resource></D:need-privileges>");
    Reply::dav_error(403, &condition, "this address book is read-only")
}

/// PROPPATCH: a multistatus with 403 for each property (clients setting colours or me-card
/// expect per-property answers, not a failed request).
pub fn proppatch(
    app: &Arc<AppState>,
    user: &str,
    resource: &paths::Resource,
    path: &str,
    body: &[u8],
) -> Reply {
    let patch = match request::parse_proppatch(body, &(&app.config.server).into()) {
        Ok(p) => p,
        Err(e) => return Reply::dav_error(400, "", &e.to_string()),
    };
    if let Err(reply) = locate(app, user, resource) {
        return reply;
    }
    let mut out = String::from("<D:response>");
    xml::href(&mut out, path);
    if !patch.props.is_empty() {
        out.push_str("<D:propstat><D:prop>");
        for name in &patch.props {
            xml::empty(&mut out, name);
        }
        out.push_str("</D:prop><D:status>HTTP/1.1 403 Forbidden</D:status>");
        out.push_str("<D:error><D:need-privileges/></D:error>");
        out.push_str(
            "<D:responsedescription>this address book is read-only</D:responsedescription>",
        );
        out.push_str("</D:propstat>");
    }
    out.push_str("</D:response>");
    reply::multistatus(out)
}
