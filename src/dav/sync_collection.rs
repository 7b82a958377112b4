//! REPORT sync-collection (RFC 6578): every member for an empty token, else the members
//! changed since the token's state; removed members as 404 responses; always a new token.

use std::sync::Arc;

use super::paths;
use super::reply::{MultistatusStream, XML_TYPE};
use super::request::SyncCollection;
use super::response::{self, CardResponder};
use super::{Reply, RequestHead};
use crate::state::AppState;
use crate::store::{BookState, SyncToken};

pub fn answer(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    book: &str,
    state: &Arc<BookState>,
    request: SyncCollection,
) -> Reply {
    let token = request.token.trim();
    let names: Vec<String> = if token.is_empty() {
        state.snapshot.members().map(|m| m.name.clone()).collect()
    } else {
        let delta = SyncToken::parse(token).and_then(|t| state.log.delta_since(t.0));
        match delta {
            Some(delta) => delta.names.into_iter().collect(),
            None => return invalid_token(app, head),
        }
    };
    let tail = format!("<D:sync-token>{}</D:sync-token>", state.token().to_uri());
    let responder = CardResponder::for_report(
        app,
        head,
        user,
        book,
        state,
        request.props,
        &request.address_data,
    );
    let state = Arc::clone(state);
    let stream = MultistatusStream::new(String::new(), names, tail, move |name, out| {
        match state.snapshot.get(&name) {
            Some(member) => responder.write(out, &responder.href(member), member),
            None => {
                let href = paths::card_href(&responder.user, &responder.book, &name);
                response::write_status(out, &href, 404)
            }
        }
    });
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}

/// Unknown or expired token: 403 + `DAV:valid-sync-token` makes DAVx5, Evolution and iOS
/// start over; Thunderbird only recovers from a 400, so it gets the configured status.
fn invalid_token(app: &AppState, head: &RequestHead) -> Reply {
    let status = if head.user_agent.contains("Thunderbird") {
        app.config.server.thunderbird_invalid_token_status
    } else {
        403
    };
    Reply::dav_error(
        status,
        "<D:valid-sync-token/>",
        "the sync token is unknown or has expired; sync again with an empty token",
    )
}
