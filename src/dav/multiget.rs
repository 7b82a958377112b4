//! REPORT addressbook-multiget (RFC 6352 §8.7): each href answered on its own; hrefs that
//! name nothing in this book (unknown, elsewhere, traversal) get a 404 response.

use std::sync::Arc;

use super::paths::{self, Resource};
use super::props::{PropContext, Target};
use super::reply::{MultistatusStream, XML_TYPE};
use super::report::CardData;
use super::request::Multiget;
use super::response::{self, Selection};
use super::{Reply, RequestHead};
use crate::state::AppState;
use crate::store::BookState;

pub fn answer(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    book: &str,
    state: &Arc<BookState>,
    request: Multiget,
) -> Reply {
    let card_data = CardData::requested(&request.props, &request.address_data);
    let selection = Selection::Props(request.props);
    let app = Arc::clone(app);
    let state = Arc::clone(state);
    let user = user.to_string();
    let book = book.to_string();
    let minimal = head.minimal;
    let stream = MultistatusStream::new(
        String::new(),
        request.hrefs,
        String::new(),
        move |href, out| {
            let member = match paths::parse(&href) {
                Some(Resource::Card {
                    user: owner,
                    book: id,
                    name,
                }) if owner == user && id == book => state.snapshot.get(&name),
                _ => None,
            };
            match member {
                Some(member) => {
                    let extra: Vec<_> = card_data.iter().map(|c| c.render(&app, member)).collect();
                    let ctx = PropContext {
                        app: &app,
                        user: &user,
                    };
                    let target = Target::Card {
                        member,
                        published: state.published,
                    };
                    response::write(out, &ctx, &target, &href, &selection, &extra, minimal);
                }
                None => response::write_status(out, &href, 404),
            }
        },
    );
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}
