//! REPORT addressbook-multiget (RFC 6352 §8.7): each href answered on its own; hrefs that
//! name nothing in this book (unknown, elsewhere, traversal) get a 404 response.

use std::sync::Arc;

use super::card_responder::{BookRequest, CardResponder};
use super::multistatus::{End, Multistatus};
use super::paths::{self, Resource};
use super::request::Multiget;
use super::Reply;

pub fn answer(on: &BookRequest, request: Multiget) -> Reply {
    let responder = CardResponder::for_report(on, request.props, &request.address_data);
    let state = Arc::clone(on.state);
    Multistatus::new().stream(
        request.hrefs,
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
                Some(member) => responder.write_at(out, href.as_str().into(), member),
                None => responder.write_missing(out, href.as_str().into()),
            }
        },
        End::default(),
    )
}
