//! REPORT addressbook-multiget (RFC 6352 §8.7): each href answered on its own; hrefs that
//! name nothing in this book (unknown, elsewhere, traversal) get a 404 response.

use std::sync::Arc;

use super::paths::{self, Resource};
use super::reply::{MultistatusStream, XML_TYPE};
use super::report::BookRequest;
use super::request::Multiget;
use super::response::{self, CardResponder};
use super::Reply;

pub fn answer(on: &BookRequest, request: Multiget) -> Reply {
    let responder = CardResponder::for_report(on, request.props, &request.address_data);
    let state = Arc::clone(on.state);
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
                }) if owner == responder.user && id == responder.book => state.snapshot.get(&name),
                _ => None,
            };
            match member {
                Some(member) => responder.write(out, &href, member),
                None => response::write_status(out, &href, 404),
            }
        },
    );
    Reply::new(207).stream(XML_TYPE, stream.boxed())
}
