//! REPORT dispatch (Depth is ignored: clients send 0, 1 or nothing) and the `address-data`
//! rendering the three reports share.

use std::sync::Arc;

use super::locate::{locate, Located};
use super::paths::Resource;
use super::request::{self, Report, RequestError};
use super::{multiget, query, sync_collection, Reply, RequestHead};
use crate::app::AppState;
use crate::store::PublishedBook;

/// A report addressed to one book, as one user sees it.
pub struct BookRequest<'a> {
    pub app: &'a Arc<AppState>,
    pub head: &'a RequestHead,
    pub user: &'a str,
    pub book: &'a str,
    pub state: &'a Arc<PublishedBook>,
}

pub fn handle(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    body: &[u8],
) -> Reply {
    let report = match request::parse_report(body, &(&app.config.server).into()) {
        Ok(report) => report,
        Err(RequestError::FilterTooLarge(reason)) => {
            return Reply::dav_error(400, "<C:supported-filter/>", &reason)
        }
        Err(RequestError::UnsupportedCollation(collation)) => {
            return Reply::dav_error(
                403,
                "<C:supported-collation/>",
                &format!("collation {collation:?} is not supported"),
            )
        }
        Err(e) => return Reply::dav_error(400, "", &e.to_string()),
    };
    let (book, state) = match locate(app, user, resource) {
        Ok(Located::Book { id, state, .. }) => (id, state),
        Ok(_) => {
            return Reply::dav_error(
                403,
                "<D:supported-report/>",
                "reports are answered on address books only",
            )
        }
        Err(reply) => return reply,
    };
    let on = BookRequest {
        app,
        head,
        user,
        book,
        state: &state,
    };
    match report {
        Report::SyncCollection(sync) => sync_collection::answer(&on, sync),
        Report::Multiget(get) => multiget::answer(&on, get),
        Report::Query(q) => query::answer(&on, q),
        Report::Unsupported(name) => Reply::dav_error(
            403,
            "<D:supported-report/>",
            &format!("report {{{}}}{} is not supported", name.ns, name.local),
        ),
    }
}
