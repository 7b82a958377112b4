//! Refusing writes: every book is read-only. Refusals are fast and carry
//! `DAV:need-privileges`. A refused PUT or DELETE of an existing card also heals it (see
//! [`crate::store::Book::heal`]): the client has already applied its edit or deletion locally
//! and would otherwise keep it, so the card gets a new ETag and comes back in that client's
//! next sync. Every other refusal touches nothing, so tokens and ETags stay valid.

use std::sync::Arc;

use super::conditional;
use super::locate::{locate, Located};
use super::paths::{self, Resource};
use super::reply::{self, Reply};
use super::request;
use super::xml;
use super::RequestHead;
use crate::app::AppState;

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

/// Refuses a write method; a PUT or DELETE of a card `user` can read heals that card first.
pub fn refuse_write(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
) -> Reply {
    if matches!(head.method.as_str(), "PUT" | "DELETE") {
        heal(app, head, user, resource);
    }
    refuse(&head.path, &head.method)
}

/// Heals the card a refused PUT or DELETE was made against. A card that does not exist (a
/// client creating one) has nothing to bring back; a write made against an older version
/// (`If-Match`) needs nothing, as the client's next sync brings the current one anyway.
fn heal(app: &Arc<AppState>, head: &RequestHead, user: &str, resource: &Resource) {
    let Resource::Card { book: id, name, .. } = resource else {
        return;
    };
    let Ok(Located::Card { member }) = locate(app, user, resource) else {
        return;
    };
    let Some((_, book)) = app.readable_book(user, id) else {
        return;
    };
    if !conditional::made_against(head, &member) {
        return;
    }
    match book.heal(name, member.etag, app.state_file.as_deref()) {
        Ok(true) => tracing::info!(
            book = %id,
            card = %name,
            method = %head.method,
            "write refused; card healed so the client gets it back at its next sync"
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!(book = %id, card = %name, "write refused; heal not recorded: {e}"),
    }
}

fn refuse(path: &str, method: &str) -> Reply {
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
