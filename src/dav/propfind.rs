//! PROPFIND on every resource, Depth 0 and 1 (Depth infinity is refused, RFC 4918 §9.1).

use std::borrow::Cow;
use std::sync::Arc;

use super::card_responder::CardResponder;
use super::describe::{describe, Selection};
use super::error::DavError;
use super::locate::{locate, Located};
use super::multistatus::{End, Multistatus};
use super::paths::{self, Resource};
use super::props::{PropContext, Target};
use super::reply::Reply;
use super::request::{self, Propfind};
use super::response_cache::ResponseCache;
use super::RequestHead;
use crate::app::AppState;
use crate::store::PublishedBook;

pub fn handle(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    body: &[u8],
) -> Reply {
    // A missing Depth is treated as 0: several clients omit it for single-resource queries.
    let depth_one = match head.depth.as_deref().map(str::trim) {
        None | Some("0") => false,
        Some("1") => true,
        Some(d) if d.eq_ignore_ascii_case("infinity") => {
            return DavError::PropfindFiniteDepth.into()
        }
        Some(other) => {
            return DavError::BadRequest(format!("invalid Depth header {other:?}").into()).into()
        }
    };
    let selection = if body.iter().all(u8::is_ascii_whitespace) {
        Selection::All(Vec::new())
    } else {
        match request::parse_propfind(body, &(&app.config.server).into()) {
            Ok(Propfind::AllProp { include }) => Selection::All(include),
            Ok(Propfind::PropName) => Selection::Names,
            Ok(Propfind::Prop(names)) => Selection::Props(names),
            Err(e) => return DavError::BadRequest(e.to_string().into()).into(),
        }
    };
    let located = match locate(app, user, resource) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let ctx = PropContext { app, user };
    let mut multistatus = Multistatus::new();
    let mut write = |target: &Target, href: &str| {
        multistatus.push(&describe(
            &ctx,
            target,
            Cow::Borrowed(href),
            &selection,
            None,
            head.minimal,
        ))
    };
    let self_href = match resource {
        Resource::Root | Resource::WellKnown => "/".to_string(),
        Resource::Principals => "/principals/".to_string(),
        Resource::Principal { .. } => paths::principal_href(user),
        Resource::Home { .. } => paths::home_href(user),
        Resource::Book { book, .. } => paths::book_href(user, book),
        Resource::Card { book, name, .. } => paths::card_href(user, book, name),
        Resource::PushSubscription { id } => paths::push_subscription_href(id),
    };
    match &located {
        Located::Root => {
            write(&Target::Root, &self_href);
            if depth_one {
                write(&Target::Principals, "/principals/");
            }
        }
        Located::Principals => {
            write(&Target::Principals, &self_href);
            if depth_one {
                write(&Target::Principal, &paths::principal_href(user));
            }
        }
        Located::Principal => write(&Target::Principal, &self_href),
        Located::Home => {
            write(&Target::Home, &self_href);
            if depth_one {
                for config in app.readable_books(user) {
                    let Some(book) = app.books.get(&config.id) else {
                        continue;
                    };
                    let state = book.state();
                    let target = Target::Book {
                        config,
                        state: &state,
                    };
                    write(&target, &paths::book_href(user, &config.id));
                }
            }
        }
        Located::Book { id, config, state } if depth_one => {
            // The same question of the same state has the same answer: kept with the state.
            let cache = ResponseCache::of(state);
            let key = format!(
                "{user}\n{}\n{:?}\n{:?}\n{selection:?}",
                head.minimal,
                config.display_name(),
                config.description
            );
            if let Some(reply) = cache.reply(&key) {
                return reply;
            }
            write(&Target::Book { config, state }, &self_href);
            let reply = stream_members(app, head, user, id, state, multistatus, selection);
            return cache.record(key, reply, &app.responses);
        }
        Located::Book { config, state, .. } => {
            write(&Target::Book { config, state }, &self_href);
        }
        Located::Card { member } => {
            write(&Target::Card { member }, &self_href);
        }
    }
    multistatus.reply()
}

/// Depth 1 on a book: the book's own response, then every member, streamed.
fn stream_members(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    book: &str,
    state: &Arc<PublishedBook>,
    multistatus: Multistatus,
    selection: Selection,
) -> Reply {
    let members: Vec<_> = state.snapshot.members().cloned().collect();
    let responder = CardResponder {
        app: Arc::clone(app),
        user: user.to_string(),
        book: book.to_string(),
        selection,
        card_data: None,
        minimal: head.minimal,
    };
    multistatus.stream(
        members,
        move |member, out| responder.write(out, &member),
        End::default(),
    )
}
