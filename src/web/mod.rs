//! The web face: pages for people on the same port as the DAV answers for clients.
//!
//! Which requests it answers is decided here, once the HTTP layer has authenticated them:
//! `GET`/`HEAD` of `/` from a browser (`text/html` in `Accept`) and `GET`/`HEAD` of anything
//! under [`PREFIX`]. Every other request, a PROPFIND or a client that does not ask for HTML,
//! goes on to the DAV layer and gets exactly the answer it got before there was a web face.
//!
//! Operator pages live beside these in their own module, dispatched from [`answer`] before
//! the `GET`/`HEAD` rule (their forms `POST`, with [`WebRequest::body`]).
//!
//! | file | job |
//! |---|---|
//! | `page.rs` | the shared layout, escaping, and the safe headers every reply carries |
//! | `style.rs` | the stylesheet, served from the binary (no CDN: works offline) |
//! | `site.rs` | the URLs a user's clients need, from `[server] public_url` or the request |
//! | `user.rs` | the user's books with card counts and last change |
//! | `setup.rs` | the setup page: Apple profile, QR code, DAVx5, Thunderbird, Evolution |
//! | `profile.rs` | the Apple configuration profile (`.mobileconfig`) |
//! | `signing.rs` | signing it (CMS) when the operator gives a certificate |
//! | `qr.rs` | the QR code of the setup page, as SVG |
//! | `admin/` | the operator pages: books, sources, held polls, JSON (`[auth] admins` only) |

mod admin;
mod page;
mod profile;
mod qr;
mod setup;
mod signing;
mod site;
mod style;
mod user;

use crate::app::AppState;
use crate::auth::Identity;
use crate::dav::{Reply, RequestHead};
pub use admin::is_operator;
pub use signing::ProfileSigner;

/// Where the web face's own paths live; nothing of the DAV layout starts with it.
pub const PREFIX: &str = "/web/";

/// What the web face knows of a request the HTTP layer has authenticated.
pub struct WebRequest<'a> {
    pub head: &'a RequestHead,
    pub identity: &'a Identity,
    /// The `Host` header, for URLs when `[server] public_url` is unset.
    pub host: Option<&'a str>,
    /// Whether the connection is TLS.
    pub secure: bool,
    /// The `Authorization` header (the profile may carry the user's own password).
    pub authorization: Option<&'a [u8]>,
    /// The request body, read within the PROPFIND limit.
    pub body: &'a [u8],
    /// Whether the user is an operator ([`is_operator`]): the operator pages answer them and
    /// the layout links there.
    pub operator: bool,
    /// The query string of the request's URL (without `?`).
    pub query: Option<&'a str>,
    /// The `Origin` and `Referer` headers: where a form was posted from.
    pub origin: Option<&'a str>,
    pub referer: Option<&'a str>,
}

/// The web face's answer, or `None` when the request is for the DAV layer.
pub async fn answer(app: &AppState, request: &WebRequest<'_>) -> Option<Reply> {
    if let Some(reply) = admin::answer(app, request).await {
        return Some(reply);
    }
    let head = request.head;
    let path = head.path.split(['?', '#']).next().unwrap_or("");
    let readable = matches!(head.method.as_str(), "GET" | "HEAD");
    if path == "/" {
        return (readable && accepts_html(head.accept.as_deref()))
            .then(|| user::page(app, request));
    }
    if readable && path == PREFIX.trim_end_matches('/') {
        return Some(Reply::new(308).header("Location", PREFIX));
    }
    let rest = path.strip_prefix(PREFIX)?;
    if !readable {
        return None;
    }
    Some(match rest {
        "" => user::page(app, request),
        style::PATH => style::reply(),
        setup::PATH => setup::page(app, request),
        qr::PATH => qr::reply(app, request),
        profile::PATH => profile::reply(app, request),
        _ => page::not_found(request),
    })
}

/// Whether `Accept` names `text/html` (a browser navigating), with a quality above zero.
fn accepts_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("text/html") && !refused
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_browsers_asking_for_html_get_pages_at_the_root() {
        assert!(accepts_html(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(accepts_html(Some("TEXT/HTML")));
        assert!(!accepts_html(Some("*/*")));
        assert!(!accepts_html(Some("text/vcard")));
        assert!(!accepts_html(Some("text/html;q=0")));
        assert!(!accepts_html(None));
    }
}
