//! REPORT addressbook-query (RFC 6352 §8.6): members matching the filter (an empty filter
//! matches all), truncated with a 507 on the collection when cut short by `limit/nresults` or
//! by the evaluation budget (`[server] query_max_evaluations`), so no query runs unbounded.

use super::paths;
use super::reply::{MultistatusStream, XML_TYPE};
use super::report::BookRequest;
use super::request::Query;
use super::response::CardResponder;
use super::{xml, Reply};

pub fn answer(on: &BookRequest, request: Query) -> Reply {
    let (user, book, state) = (on.user, on.book, on.state);
    let budget = on.app.config.server.query_max_evaluations;
    let cards_affordable =
        usize::try_from(budget / request.filter.cost_per_card()).unwrap_or(usize::MAX);
    let mut matches = Vec::new();
    let mut truncated = false;
    for (examined, member) in state.snapshot.members().enumerate() {
        if examined >= cards_affordable {
            truncated = true;
            break;
        }
        if request.filter.matches(&member.contact) {
            if request.limit.is_some_and(|limit| matches.len() >= limit) {
                truncated = true;
                break;
            }
            matches.push(member.clone());
        }
    }
    let mut tail = String::new();
    if truncated {
        tail.push_str("<D:response>");
        xml::href(&mut tail, &paths::book_href(user, book));
        tail.push_str(
            "<D:status>HTTP/1.1 507 Insufficient Storage</D:status>\
             <D:error><D:number-of-matches-within-limits/></D:error></D:response>",
        );
    }
    let responder = CardResponder::for_report(on, request.props, &request.address_data);
    let stream = MultistatusStream::new(String::new(), matches, tail, move |member, out| {
        responder.write(out, &responder.href(&member), &member)
    });
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}
