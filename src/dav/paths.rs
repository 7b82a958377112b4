//! The URL layout, and mapping request paths to resources.
//!
//! ```text
//! /.well-known/carddav          → 301 to /
//! /                             context root (current-user-principal)
//! /principals/                  principal collection
//! /principals/{user}/           principal
//! /addressbooks/{user}/         address-book home
//! /addressbooks/{user}/{book}/  address book
//! /addressbooks/{user}/{book}/{card}.vcf
//! /push-subscriptions/{id}      a WebDAV-Push registration (DELETE unsubscribes)
//! ```
//! Card names are `[A-Za-z0-9._-]` only, so hrefs never need re-encoding by clients.

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    WellKnown,
    Root,
    Principals,
    Principal {
        user: String,
    },
    Home {
        user: String,
    },
    Book {
        user: String,
        book: String,
    },
    Card {
        user: String,
        book: String,
        name: String,
    },
    /// A push registration: only its owner may DELETE it; nothing else is served there.
    PushSubscription {
        id: String,
    },
}

pub fn principal_href(user: &str) -> String {
    format!("/principals/{user}/")
}

pub fn home_href(user: &str) -> String {
    format!("/addressbooks/{user}/")
}

pub fn book_href(user: &str, book: &str) -> String {
    format!("/addressbooks/{user}/{book}/")
}

pub fn push_subscription_href(id: &str) -> String {
    format!("/push-subscriptions/{id}")
}

pub fn card_href(user: &str, book: &str, name: &str) -> String {
    format!("/addressbooks/{user}/{book}/{name}")
}

/// Parses a request path (or an href from a request body: absolute URLs, percent-encoding and
/// a query string are accepted). `None` for anything outside the layout, including `..`
/// segments, so traversal can never name anything.
pub fn parse(raw: &str) -> Option<Resource> {
    let path = strip_origin(raw.trim());
    let path = path.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    if !decoded.starts_with('/') {
        return None;
    }
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    if segments
        .iter()
        .any(|s| *s == "." || *s == ".." || s.contains('\\') || s.contains('\0'))
    {
        return None;
    }
    let owned = |s: &str| s.to_string();
    Some(match segments.as_slice() {
        [] => Resource::Root,
        [".well-known", "carddav"] => Resource::WellKnown,
        ["principals"] => Resource::Principals,
        ["principals", user] => Resource::Principal { user: owned(user) },
        ["addressbooks", user] => Resource::Home { user: owned(user) },
        ["addressbooks", user, book] => Resource::Book {
            user: owned(user),
            book: owned(book),
        },
        ["addressbooks", user, book, name] => Resource::Card {
            user: owned(user),
            book: owned(book),
            name: owned(name),
        },
        ["push-subscriptions", id] => Resource::PushSubscription { id: owned(id) },
        _ => return None,
    })
}

/// Drops `scheme://host[:port]` from an absolute URL href.
fn strip_origin(href: &str) -> &str {
    match href.find("://") {
        Some(i) if href[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let rest = &href[i + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        }
        _ => href,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str) -> Option<Resource> {
        Some(Resource::Card {
            user: "alice".into(),
            book: "staff".into(),
            name: name.into(),
        })
    }

    #[test]
    fn layout() {
        assert_eq!(parse("/"), Some(Resource::Root));
        assert_eq!(parse("/.well-known/carddav"), Some(Resource::WellKnown));
        assert_eq!(
            parse("/principals/alice"),
            Some(Resource::Principal {
                user: "alice".into()
            })
        );
        assert_eq!(parse("/addressbooks/alice/staff/a.vcf"), card("a.vcf"));
        assert_eq!(parse("/addressbooks/alice/staff/a%2Evcf"), card("a.vcf"));
        assert_eq!(
            parse("https://dav.example.com:8443/addressbooks/alice/staff/a.vcf"),
            card("a.vcf")
        );
        assert_eq!(parse("/addressbooks/alice/staff/a.vcf?x=1"), card("a.vcf"));
    }

    #[test]
    fn traversal_and_junk_name_nothing() {
        assert_eq!(parse("/addressbooks/alice/staff/../../bob/x/y.vcf"), None);
        assert_eq!(parse("/addressbooks/alice/staff/%2e%2e/x"), None);
        assert_eq!(parse("/etc/passwd"), None);
        assert_eq!(parse("relative/path"), None);
        assert_eq!(parse("/addressbooks/alice/staff/a/b"), None);
        assert_eq!(parse("/addressbooks/alice/staff/%ff"), None);
    }
}
