//! Conditional request headers on a card (RFC 9110 §13): `If-None-Match` and
//! `If-Modified-Since` for GET/HEAD, `If-Match` to tell which version a refused write was
//! made against.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::RequestHead;
use crate::store::Member;

/// Whether a list of (possibly weak) entity tags, or `*`, names `etag`.
pub fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// When the card's content last changed, for `Last-Modified` and `getlastmodified`.
pub fn last_modified(member: &Member) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(member.changed)
}

/// Whether a GET/HEAD of `member` is answered 304: `If-None-Match` decides when present
/// (§13.2.2); otherwise `If-Modified-Since` when it is a valid HTTP-date no earlier than the
/// card's last change (an unreadable date is ignored, as §13.1.3 asks).
pub fn not_modified(head: &RequestHead, member: &Member) -> bool {
    if let Some(inm) = head.if_none_match.as_deref() {
        return etag_matches(inm, &member.etag.quoted());
    }
    head.if_modified_since
        .as_deref()
        .and_then(|date| httpdate::parse_http_date(date.trim()).ok())
        .is_some_and(|since| last_modified(member) <= since)
}

/// Whether a write's `If-Match` (absent: any version) was made against `member`'s version.
pub fn made_against(head: &RequestHead, member: &Member) -> bool {
    head.if_match
        .as_deref()
        .is_none_or(|im| etag_matches(im, &member.etag.quoted()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(etag_matches("*", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }

    #[test]
    fn if_none_match_takes_precedence_over_if_modified_since() {
        let mut member = Member::new(cardbridge_connectors::Contact {
            uid: "a".into(),
            ..Default::default()
        });
        member.changed = 1_000_000_000;
        let later = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_000_000_001));
        let earlier = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(999_999_999));
        let head = |inm: Option<&str>, ims: &str| RequestHead {
            if_none_match: inm.map(String::from),
            if_modified_since: Some(ims.to_string()),
            ..RequestHead::default()
        };
        assert!(not_modified(&head(None, &later), &member));
        assert!(!not_modified(&head(None, &earlier), &member));
        assert!(!not_modified(&head(None, "yesterday"), &member));
        assert!(!not_modified(&head(Some("\"other\""), &later), &member));
        assert!(not_modified(
            &head(Some(&member.etag.quoted()), &earlier),
            &member
        ));
    }
}
