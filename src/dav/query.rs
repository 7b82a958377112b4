//! REPORT addressbook-query (RFC 6352 §8.6): members matching the filter (an empty filter
//! matches all), truncated with a 507 on the collection when cut short by `limit/nresults` or
//! by the evaluation budget (`[server] query_max_evaluations`), so no query runs unbounded.

use super::card_responder::{BookRequest, CardResponder};
use super::multistatus::{End, Multistatus, Response};
use super::paths;
use super::request::Query;
use super::Reply;

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
        if request.filter.matches(&member.contact()) {
            if request.limit.is_some_and(|limit| matches.len() >= limit) {
                truncated = true;
                break;
            }
            matches.push(member.clone());
        }
    }
    let end = End {
        truncated: truncated.then(|| Response::truncated(paths::book_href(user, book))),
        sync_token: None,
    };
    let responder = CardResponder::for_report(on, request.props, &request.address_data);
    Multistatus::new().stream(
        matches,
        move |member, out| responder.write(out, &member),
        end,
    )
}
