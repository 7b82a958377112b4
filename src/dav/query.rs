//! REPORT addressbook-query (RFC 6352 §8.6): members matching the filter (an empty filter
//! matches all), truncated with a 507 on the collection when cut short by `limit/nresults` or
//! by the evaluation budget (`[server] query_max_evaluations`), so no query runs unbounded.
//!
//! Filters on the properties clients search are answered by the book state's
//! [`QueryIndex`]; the rest by evaluating the filter on each card. Both give the same cards
//! and the same cut.

use std::sync::Arc;

use super::card_responder::{BookRequest, CardResponder};
use super::multistatus::{End, Multistatus, Response};
use super::paths;
use super::query_index::QueryIndex;
use super::request::Query;
use super::Reply;
use crate::store::Member;

pub fn answer(on: &BookRequest, request: Query) -> Reply {
    let (user, book, state) = (on.user, on.book, on.state);
    let budget = on.app.config.server.query_max_evaluations;
    let cards_affordable =
        usize::try_from(budget / request.filter.cost_per_card()).unwrap_or(usize::MAX);
    let index = (!request.filter.prop_filters.is_empty()).then(|| {
        state
            .derived
            .get_or_init(|| QueryIndex::build(&state.snapshot))
    });
    let found = index.as_ref().and_then(|i| i.matching(&request.filter));
    let (matches, truncated) = match found {
        Some(positions) => cut(
            &positions,
            state.snapshot.members(),
            state.snapshot.len(),
            cards_affordable,
            request.limit,
        ),
        None => scan(
            state.snapshot.members(),
            |member| request.filter.matches(&member.contact()),
            cards_affordable,
            request.limit,
        ),
    };
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

/// The filter evaluated on each card, within the budget and limit.
fn scan<'a>(
    members: impl Iterator<Item = &'a Arc<Member>>,
    matches_filter: impl Fn(&Member) -> bool,
    cards_affordable: usize,
    limit: Option<usize>,
) -> (Vec<Arc<Member>>, bool) {
    let mut matches = Vec::new();
    for (examined, member) in members.enumerate() {
        if examined >= cards_affordable {
            return (matches, true);
        }
        if matches_filter(member) {
            if limit.is_some_and(|limit| matches.len() >= limit) {
                return (matches, true);
            }
            matches.push(member.clone());
        }
    }
    (matches, false)
}

/// The members at `positions` (ascending) with the cut [`scan`] would make: cards past the
/// budget are not examined, and a match past the limit truncates.
fn cut<'a>(
    positions: &[u32],
    members: impl Iterator<Item = &'a Arc<Member>>,
    len: usize,
    cards_affordable: usize,
    limit: Option<usize>,
) -> (Vec<Arc<Member>>, bool) {
    let mut matches = Vec::new();
    let mut members = members.enumerate();
    for &position in positions {
        let position = position as usize;
        if position >= cards_affordable {
            break;
        }
        if limit.is_some_and(|limit| matches.len() >= limit) {
            return (matches, true);
        }
        match members.find(|(i, _)| *i == position) {
            Some((_, member)) => matches.push(Arc::clone(member)),
            None => break,
        }
    }
    (matches, len > cards_affordable)
}

#[cfg(test)]
mod tests {
    use cardbridge_connectors::Contact;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The index's matches are cut exactly where the scan stops.
        #[test]
        fn cut_where_the_scan_stops(
            flags in prop::collection::vec(any::<bool>(), 0..40),
            affordable in 0usize..45,
            limit in prop::option::of(0usize..10),
        ) {
            let members: Vec<Arc<Member>> = (0..flags.len())
                .map(|i| {
                    Arc::new(Member::new(Contact {
                        uid: format!("u{i:03}"),
                        ..Contact::default()
                    }))
                })
                .collect();
            let flagged = |m: &Member| {
                members
                    .iter()
                    .position(|x| x.name == m.name)
                    .is_some_and(|i| flags[i])
            };
            let positions: Vec<u32> = (0..flags.len() as u32)
                .filter(|&i| flags[i as usize])
                .collect();
            let (a, ta) = scan(members.iter(), flagged, affordable, limit);
            let (b, tb) = cut(&positions, members.iter(), members.len(), affordable, limit);
            let names = |v: &[Arc<Member>]| v.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
            prop_assert_eq!(names(&a), names(&b));
            prop_assert_eq!(ta, tb);
        }
    }
}
