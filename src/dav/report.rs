//! REPORT dispatch (Depth is ignored: clients send 0, 1 or nothing) and the `address-data`
//! rendering the three reports share.

use std::sync::Arc;

use super::locate::{locate, Located};
use super::paths::Resource;
use super::request::{self, AddressData, QName, Report, RequestError};
use super::xml;
use super::{multiget, query, sync_collection, Reply, RequestHead};
use crate::state::AppState;
use crate::store::Member;
use crate::vcard::VcardVersion;

pub fn handle(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    body: &[u8],
) -> Reply {
    let report = match request::parse_report(body) {
        Ok(report) => report,
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
    let book = book.to_string();
    match report {
        Report::SyncCollection(sync) => {
            sync_collection::answer(app, head, user, &book, &state, sync)
        }
        Report::Multiget(get) => multiget::answer(app, head, user, &book, &state, get),
        Report::Query(q) => query::answer(app, head, user, &book, &state, q),
        Report::Unsupported(name) => Reply::dav_error(
            403,
            "<D:supported-report/>",
            &format!("report {{{}}}{} is not supported", name.ns, name.local),
        ),
    }
}

/// How `address-data` is to be rendered for one report.
#[derive(Clone)]
pub struct CardData {
    name: QName,
    version: VcardVersion,
}

impl CardData {
    /// `Some` when the report's `<D:prop>` asked for `address-data`. vCard 4.0 only when
    /// asked for by `version` or the content type; 3.0 otherwise (macOS rejects 4.0).
    pub fn requested(props: &[QName], address_data: &Option<AddressData>) -> Option<CardData> {
        let name = props
            .iter()
            .find(|n| n.ns == request::NS_CARDDAV && n.local == "address-data")?;
        let wants_v4 = address_data.as_ref().is_some_and(|ad| {
            ad.version.as_deref().map(str::trim) == Some("4.0")
                || ad
                    .content_type
                    .as_deref()
                    .is_some_and(|ct| ct.replace(' ', "").contains("version=4.0"))
        });
        Some(CardData {
            name: name.clone(),
            version: if wants_v4 {
                VcardVersion::V4
            } else {
                VcardVersion::V3
            },
        })
    }

    /// The `(address-data, escaped card)` pair for a response.
    pub fn render(&self, app: &AppState, member: &Member) -> (QName, String) {
        let bytes = app.cards.get(member, self.version);
        let text = String::from_utf8_lossy(&bytes);
        (self.name.clone(), xml::escape(&text))
    }
}
