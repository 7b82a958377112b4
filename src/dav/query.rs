//! REPORT addressbook-query (RFC 6352 §8.6): members matching the filter (an empty filter
//! matches all), truncated to `limit/nresults` with a 507 on the collection when cut short.

use std::sync::Arc;

use super::paths;
use super::props::{PropContext, Target};
use super::reply::{MultistatusStream, XML_TYPE};
use super::report::CardData;
use super::request::Query;
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
    request: Query,
) -> Reply {
    let mut matches: Vec<_> = state
        .snapshot
        .members()
        .filter(|m| request.filter.matches(&m.contact))
        .cloned()
        .collect();
    let mut tail = String::new();
    if let Some(limit) = request.limit {
        if matches.len() > limit {
            matches.truncate(limit);
            tail.push_str("<D:response>");
            super::xml::href(&mut tail, &paths::book_href(user, book));
            tail.push_str(
                "<D:status>HTTP/1.1 507 Insufficient Storage</D:status>\
                 <D:error><D:number-of-matches-within-limits/></D:error></D:response>",
            );
        }
    }
    let card_data = CardData::requested(&request.props, &request.address_data);
    let selection = Selection::Props(request.props);
    let app = Arc::clone(app);
    let published = state.published;
    let user = user.to_string();
    let book = book.to_string();
    let minimal = head.minimal;
    let stream = MultistatusStream::new(String::new(), matches, tail, move |member, out| {
        let href = paths::card_href(&user, &book, &member.name);
        let extra: Vec<_> = card_data.iter().map(|c| c.render(&app, &member)).collect();
        let ctx = PropContext {
            app: &app,
            user: &user,
        };
        let target = Target::Card {
            member: &member,
            published,
        };
        response::write(out, &ctx, &target, &href, &selection, &extra, minimal);
    });
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}
