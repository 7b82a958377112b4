//! GET/HEAD: cards as vCards (3.0 unless `Accept` asks for 4.0) with their ETag and
//! `Last-Modified`, and 304 for a client that holds the current version; collections answer a
//! short text so a browser shows something useful.

use std::sync::Arc;

use super::conditional;
use super::locate::{locate, Located};
use super::paths::Resource;
use super::props::CARD_CONTENT_TYPE;
use super::{Reply, RequestHead};
use crate::app::AppState;
use crate::vcard::VcardVersion;

pub fn handle(app: &Arc<AppState>, head: &RequestHead, user: &str, resource: &Resource) -> Reply {
    let located = match locate(app, user, resource) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let Located::Card { member } = located else {
        return Reply::new(200).body(
            "text/plain; charset=utf-8",
            "This is a cardbridge CardDAV collection. Add the server's address to a CardDAV \
             client (iPhone, DAVx5, Thunderbird, vdirsyncer) to sync it.\n",
        );
    };
    let etag = member.etag.quoted();
    let last_modified = httpdate::fmt_http_date(conditional::last_modified(&member));
    // Either way the client now holds this version.
    member.delivered();
    if conditional::not_modified(head, &member) {
        return Reply::new(304)
            .header("ETag", etag)
            .header("Last-Modified", last_modified);
    }
    let version = if accepts_v4(head.accept.as_deref()) {
        VcardVersion::V4
    } else {
        VcardVersion::V3
    };
    let bytes = app.cards.get(&member, version).into_bytes();
    Reply::new(200)
        .header("ETag", etag)
        .header("Last-Modified", last_modified)
        .body(CARD_CONTENT_TYPE, bytes)
}

/// `Accept: text/vcard; version=4.0` (sabre-style negotiation).
fn accepts_v4(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|range| {
            let range = range.to_ascii_lowercase().replace(' ', "");
            range.starts_with("text/vcard") && range.contains("version=4.0")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert!(accepts_v4(Some("text/vcard; version=4.0")));
        assert!(!accepts_v4(Some("text/vcard")));
        assert!(!accepts_v4(None));
    }
}
