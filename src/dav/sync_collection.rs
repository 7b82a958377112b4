//! REPORT sync-collection (RFC 6578): every member for an empty token, else the members
//! changed since the token's state; removed members as 404 responses; always a new token.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::card_responder::{BookRequest, CardResponder};
use super::error::DavError;
use super::multistatus::{End, Multistatus, Response};
use super::paths;
use super::request::SyncCollection;
use super::response_cache::ResponseCache;
use super::{Reply, RequestHead};
use crate::app::AppState;
use crate::store::{ClientToken, PublishedBook, ResumeToken, SyncToken};

pub fn answer(on: &BookRequest, request: SyncCollection) -> Reply {
    if !request.token.trim().is_empty() {
        return answer_fresh(on, request);
    }
    // A first sync lists the whole state: the same for every client of this state and user
    // asking the same, so it is kept with the state (its token is the state's own).
    let cache = ResponseCache::of(on.state);
    let key = format!(
        "sync-collection\n{}\n{}\n{:?}\n{:?}\n{:?}",
        on.user, on.head.minimal, request.limit, request.props, request.address_data
    );
    if let Some(reply) = cache.reply(&key) {
        return reply;
    }
    let reply = answer_fresh(on, request);
    cache.record(key, reply, &on.app.responses)
}

fn answer_fresh(on: &BookRequest, request: SyncCollection) -> Reply {
    let (app, head, user, book, state) = (on.app, on.head, on.user, on.book, on.state);
    let Some((base, names)) = changed_names(state, request.token.trim()) else {
        return invalid_token(app, head);
    };
    let mut names: Vec<String> = names.into_iter().collect();
    let mut truncated = None;
    let mut token = state.token().to_uri();
    if let Some(limit) = request.limit.filter(|limit| names.len() > *limit) {
        // Truncated: a 507 on the collection itself, and a token that resumes after the
        // last name sent (DAVx5 and Evolution loop until no 507 comes back).
        names.truncate(limit);
        let after = names.last().cloned().unwrap_or_default();
        token = ResumeToken {
            base,
            page: state.snapshot.digest(),
            after,
        }
        .to_uri();
        truncated = Some(Response::truncated(paths::book_href(user, book)));
    }
    let responder = CardResponder::for_report(on, request.props, &request.address_data);
    let state = Arc::clone(state);
    Multistatus::new().stream(
        names,
        move |name, out| match state.snapshot.get(&name) {
            Some(member) => responder.write(out, member),
            None => responder.write_missing(out, responder.href(&name).into()),
        },
        End {
            truncated,
            sync_token: Some(token),
        },
    )
}

/// The sorted names to report for `token`, and the base state a resume token must carry;
/// `None` for a token this book cannot answer (unknown, expired, foreign).
fn changed_names(state: &PublishedBook, token: &str) -> Option<(u128, BTreeSet<String>)> {
    let all_members = || state.snapshot.members().map(|m| m.name.clone()).collect();
    let since = |base: u128| -> Option<BTreeSet<String>> {
        if base == 0 {
            Some(all_members())
        } else {
            state.log.delta_since(base).map(|d| d.names)
        }
    };
    if token.is_empty() {
        return Some((0, all_members()));
    }
    match ClientToken::parse(token)? {
        ClientToken::State(SyncToken(digest)) if digest != 0 => Some((digest, since(digest)?)),
        ClientToken::State(_) => None,
        ClientToken::Resume(resume) => {
            // Names after the cut, plus anything that changed since the page was taken
            // (including names before the cut): nothing is lost if the book moved on.
            let mut names: BTreeSet<String> = since(resume.base)?
                .into_iter()
                .filter(|name| name.as_str() > resume.after.as_str())
                .collect();
            names.extend(state.log.delta_since(resume.page)?.names);
            Some((resume.base, names))
        }
    }
}

/// Unknown or expired token: 403 + `DAV:valid-sync-token` makes DAVx5, Evolution and iOS
/// start over; Thunderbird only recovers from a 400, so it gets the configured status.
fn invalid_token(app: &AppState, head: &RequestHead) -> Reply {
    let status = if head.user_agent.contains("Thunderbird") {
        app.config.server.thunderbird_invalid_token_status
    } else {
        403
    };
    DavError::ValidSyncToken { status }.into()
}
