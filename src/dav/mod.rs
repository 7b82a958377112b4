//! The read-only WebDAV/CardDAV protocol layer: from a parsed request to a [`Reply`].
//! Transport concerns (sockets, bodies, limits, authentication) live in `crate::http`.
//!
//! Handlers (`propfind`, `report` and the three reports, `readonly`, `get`) describe their
//! answer as data: a `multistatus` model (built per resource by `describe` and, for cards,
//! `card_responder`) or a [`DavError`]. Only `xml::writer` turns either into XML.

mod address_data;
mod card_responder;
mod conditional;
mod describe;
mod error;
pub mod filter;
mod get;
mod locate;
mod multiget;
mod multistatus;
mod options;
pub mod paths;
mod propfind;
mod props;
mod push;
mod query;
mod query_index;
mod readonly;
pub mod reply;
mod report;
pub mod request;
mod response_cache;
mod sync_collection;
mod xml;

use std::sync::Arc;

use bytes::Bytes;

use crate::app::AppState;
use crate::auth::Identity;
pub use error::DavError;
use paths::Resource;
pub use reply::{Body, BodyProducer, Reply};

/// The parts of an HTTP request the DAV layer looks at.
#[derive(Debug, Default, Clone)]
pub struct RequestHead {
    pub method: String,
    pub path: String,
    pub depth: Option<String>,
    pub accept: Option<String>,
    /// Content codings the client takes (the transport compresses large answers).
    pub accept_encoding: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub if_match: Option<String>,
    pub user_agent: String,
    /// `Brief: t` or `Prefer: return=minimal`: 404 propstats may be left out.
    pub minimal: bool,
    /// The `Host` the client addressed (for absolute URLs, e.g. a push registration's
    /// `Location`); `None` when absent or not a plain host name or address.
    pub host: Option<String>,
    /// Whether the request came over HTTPS.
    pub secure: bool,
}

impl RequestHead {
    /// `scheme://host` as the client addressed this server.
    pub fn origin(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}", self.host.as_deref().unwrap_or("localhost"))
    }
}

/// Methods this server implements; everything else that writes is refused with 403.
pub const ALLOW: &str = "OPTIONS, GET, HEAD, PROPFIND, REPORT";

/// Methods that would change state: answered with 403 `DAV:need-privileges`.
pub fn is_write_method(method: &str) -> bool {
    matches!(
        method,
        "PUT"
            | "DELETE"
            | "MKCOL"
            | "PROPPATCH"
            | "MOVE"
            | "COPY"
            | "POST"
            | "LOCK"
            | "UNLOCK"
            | "ACL"
            | "MKCALENDAR"
            | "PATCH"
    )
}

/// A request body, with a REPORT's parsed once: deciding where to answer the report needs
/// it (`answers_here`), and answering it needs it again.
pub struct RequestBody {
    bytes: Bytes,
    /// `None` when not a REPORT, or too large to parse on the connection's thread.
    report: Option<Result<request::Report, request::RequestError>>,
}

impl RequestBody {
    /// Report bodies up to this size are parsed where they arrive: a multiget of a few
    /// hundred hrefs. Larger ones are parsed on the blocking pool (parsing them is work too).
    const PARSED_HERE: usize = 32 * 1024;

    pub fn new(app: &AppState, head: &RequestHead, bytes: Bytes) -> RequestBody {
        let report = (head.method == "REPORT" && bytes.len() <= Self::PARSED_HERE)
            .then(|| request::parse_report(&bytes, &(&app.config.server).into()));
        RequestBody { bytes, report }
    }
}

/// Answers a request from an authenticated identity (the HTTP layer has already handled
/// `/.well-known/carddav`, OPTIONS and authentication). `resource` is the request path as
/// parsed once by the HTTP layer (`paths::parse`); `None`, a path outside the layout, is a 404.
pub fn handle(
    app: &Arc<AppState>,
    head: &RequestHead,
    resource: Option<&Resource>,
    identity: &Identity,
    body: RequestBody,
) -> Reply {
    let Some(resource) = resource else {
        return locate::not_found();
    };
    let user = identity.principal_name();
    let RequestBody {
        bytes: body,
        report,
    } = body;
    match head.method.as_str() {
        "PROPFIND" => propfind::handle(app, head, user, resource, &body),
        "REPORT" => {
            let report = report
                .unwrap_or_else(|| request::parse_report(&body, &(&app.config.server).into()));
            report::handle(app, head, user, resource, report)
        }
        "GET" | "HEAD" => get::handle(app, head, user, resource),
        "PROPPATCH" => readonly::proppatch(app, user, resource, &head.path, &body),
        "POST" if app.push.is_some() && matches!(resource, Resource::Book { .. }) => {
            push::post(app, head, user, resource, &body)
        }
        "DELETE" if matches!(resource, Resource::PushSubscription { .. }) => {
            push::unregister(app, user, resource)
        }
        method if is_write_method(method) => readonly::refuse_write(app, head, user, resource),
        _ => Reply::new(405).header("Allow", ALLOW),
    }
}

/// Most hrefs of a multiget answered on the connection's thread: a client's batch (DAVx5
/// sends 10, Evolution 100) costs less than a hop to the blocking pool and back.
const MULTIGET_HERE: usize = 256;

/// Whether answering the request stays small: a PROPFIND of Depth 0, a multiget of one
/// batch of cards, or the sync-collection of a client that is up to date (a phone's
/// periodic poll, answered by an empty delta). Those are answered on the connection's own
/// thread, where a hop to the blocking pool costs more than the work; anything else may
/// read every card.
pub fn answers_here(
    app: &AppState,
    head: &RequestHead,
    resource: Option<&Resource>,
    identity: &Identity,
    body: &RequestBody,
) -> bool {
    match head.method.as_str() {
        // A missing Depth is answered as 0 (see propfind.rs). Larger bodies are left to
        // the pool unparsed.
        "PROPFIND" => {
            body.bytes.len() <= 4096
                && matches!(head.depth.as_deref().map(str::trim), None | Some("0"))
        }
        "REPORT" => match &body.report {
            Some(Ok(request::Report::Multiget(get))) => get.hrefs.len() <= MULTIGET_HERE,
            Some(Ok(request::Report::SyncCollection(sync))) => {
                let Some(resource) = resource else {
                    return false;
                };
                matches!(
                    locate::locate(app, identity.principal_name(), resource),
                    Ok(locate::Located::Book { state, .. })
                        if sync.token.trim() == state.token().to_uri()
                )
            }
            _ => false,
        },
        _ => false,
    }
}

pub use options::{options, well_known_redirect};
