//! GET/HEAD: cards as vCards (3.0 unless `Accept` asks for 4.0) with their ETag and
//! `If-None-Match` → 304; collections answer a short text so a browser shows something useful.

use std::sync::Arc;

use super::locate::{locate, Located};
use super::paths::Resource;
use super::props::CARD_CONTENT_TYPE;
use super::{Reply, RequestHead};
use crate::state::AppState;
use crate::vcard::VcardVersion;

pub fn handle(app: &Arc<AppState>, head: &RequestHead, user: &str, resource: &Resource) -> Reply {
    let located = match locate(app, user, resource) {
        Ok(l) => l,
        Err(reply) => return reply,
    };
    let Located::Card { member, .. } = located else {
        return Reply::new(200).body(
            "text/plain; charset=utf-8",
            "This is a cardbridge CardDAV collection. Add the server's address to a CardDAV \
             client (iPhone, DAVx5, Thunderbird, vdirsyncer) to sync it.\n",
        );
    };
    let etag = member.etag.quoted();
    if head
        .if_none_match
        .as_deref()
        .is_some_and(|inm| etag_matches(inm, &etag))
    {
        return Reply::new(304).header("ETag", etag);
    }
    let version = if accepts_v4(head.accept.as_deref()) {
        VcardVersion::V4
    } else {
        VcardVersion::V3
    };
    let bytes = app.cards.get(&member, version);
    Reply::new(200)
        .header("ETag", etag)
        .body(CARD_CONTENT_TYPE, bytes)
}

/// `If-None-Match` holds `*` or a list of (possibly weak) entity tags.
fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
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
    fn conditional_and_negotiation() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
        assert!(accepts_v4(Some("text/vcard; version=4.0")));
        assert!(!accepts_v4(Some("text/vcard")));
        assert!(!accepts_v4(None));
    }
}
