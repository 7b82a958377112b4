//! REPORT addressbook-query (RFC 6352 §8.6): members matching the filter (an empty filter
//! matches all), truncated to `limit/nresults` with a 507 on the collection when cut short.

use super::paths;
use super::reply::{MultistatusStream, XML_TYPE};
use super::report::BookRequest;
use super::request::Query;
use super::response::CardResponder;
use super::{xml, Reply};

pub fn answer(on: &BookRequest, request: Query) -> Reply {
    let (user, book, state) = (on.user, on.book, on.state);
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
            xml::href(&mut tail, &paths::book_href(user, book));
            tail.push_str(
                "<D:status>HTTP/1.1 507 Insufficient Storage</D:status>\
                 <D:error><D:number-of-matches-within-limits/></D:error></D:response>",
            );
        }
    }
    let responder = CardResponder::for_report(on, request.props, &request.address_data);
    let stream = MultistatusStream::new(String::new(), matches, tail, move |member, out| {
        responder.write(out, &responder.href(&member), &member)
    });
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}
