//! Refusing writes: every book is read-only. Refusals are fast and carry
//! `DAV:need-privileges`. A refused PUT or DELETE of an existing card also heals it (see
//! [`crate::store::Book::heal`]): the client has already applied its edit or deletion locally
//! and would otherwise keep it, so the card gets a new ETag and comes back in that client's
//! next sync. Every other refusal touches nothing, so tokens and ETags stay valid.

use std::borrow::Cow;
use std::sync::Arc;

use super::conditional;
use super::error::DavError;
use super::locate::{locate, Located};
use super::multistatus::{Condition, Multistatus, Privilege, Prop, Propstat, Response};
use super::paths::Resource;
use super::reply::Reply;
use super::request;
use super::RequestHead;
use crate::app::AppState;

/// The privilege a write method would need (RFC 3744 §3).
fn privilege(method: &str) -> Privilege {
    match method {
        "PUT" | "PATCH" | "POST" => Privilege::WriteContent,
        "DELETE" => Privilege::Unbind,
        "MKCOL" | "MKCALENDAR" => Privilege::Bind,
        "PROPPATCH" => Privilege::WriteProperties,
        "ACL" => Privilege::WriteAcl,
        _ => Privilege::Write,
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
    DavError::NeedPrivileges {
        href: head.path.clone(),
        privilege: privilege(&head.method),
    }
    .into()
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

/// PROPPATCH: a multistatus with 403 for each property (clients setting colours or me-card
/// expect per-property answers, not a failed request).
pub fn proppatch(
    app: &Arc<AppState>,
    user: &str,
    resource: &Resource,
    path: &str,
    body: &[u8],
) -> Reply {
    let patch = match request::parse_proppatch(body, &(&app.config.server).into()) {
        Ok(p) => p,
        Err(e) => return DavError::BadRequest(e.to_string().into()).into(),
    };
    if let Err(reply) = locate(app, user, resource) {
        return reply;
    }
    let mut propstats = Vec::new();
    if !patch.props.is_empty() {
        propstats.push(Propstat {
            status: 403,
            props: patch
                .props
                .iter()
                .map(|n| Prop::name_only(n.name()))
                .collect(),
            error: Some(Condition::NeedPrivileges(None)),
            description: Some("this address book is read-only"),
        });
    }
    let mut multistatus = Multistatus::new();
    multistatus.push(&Response::propstats(Cow::Borrowed(path), propstats));
    multistatus.reply()
}
