//! REPORT dispatch (Depth is ignored: clients send 0, 1 or nothing): the three reports are
//! answered on address books only.

use std::sync::Arc;

use super::card_responder::BookRequest;
use super::error::DavError;
use super::locate::{locate, Located};
use super::paths::Resource;
use super::request::{Report, RequestError};
use super::{multiget, query, sync_collection, Reply, RequestHead};
use crate::app::AppState;

pub fn handle(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    report: Result<Report, RequestError>,
) -> Reply {
    let report = match report {
        Ok(report) => report,
        Err(e) => return refuse(e).for_report("other"),
    };
    let kind = kind(&report);
    answer(app, head, user, resource, report).for_report(kind)
}

/// The report's element name, for the request metrics.
fn kind(report: &Report) -> &'static str {
    match report {
        Report::SyncCollection(_) => "sync-collection",
        Report::Multiget(_) => "addressbook-multiget",
        Report::Query(_) => "addressbook-query",
        Report::Unsupported(_) => "other",
    }
}

/// The error for a report body that cannot be answered as sent.
fn refuse(error: RequestError) -> Reply {
    match error {
        RequestError::FilterTooLarge(reason) => DavError::SupportedFilter(reason).into(),
        RequestError::UnsupportedCollation(collation) => {
            DavError::SupportedCollation(collation).into()
        }
        e => DavError::BadRequest(e.to_string().into()).into(),
    }
}

fn answer(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    report: Report,
) -> Reply {
    let (book, state) = match locate(app, user, resource) {
        Ok(Located::Book { id, state, .. }) => (id, state),
        Ok(_) => {
            return DavError::SupportedReport("reports are answered on address books only".into())
                .into()
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
        Report::Unsupported(name) => DavError::SupportedReport(format!(
            "report {{{}}}{} is not supported",
            name.ns, name.local
        ))
        .into(),
    }
}
