//! The URLs a user's clients need: the server's base URL (where RFC 6764 discovery starts),
//! the user's principal, each book, and the setup page. The origin is `[server] public_url`
//! when set (behind a reverse proxy the `Host` a browser sends may not be what phones reach),
//! else the request's `Host` on this connection's scheme.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{WebRequest, PREFIX};
use crate::app::AppState;
use crate::config::Origin;
use crate::dav::paths;

/// Characters left as they are in a user name or book id inside a URL path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// One user's view of where the server is.
pub struct Site {
    pub origin: Origin,
    pub user: String,
}

impl Site {
    pub fn of(app: &AppState, request: &WebRequest<'_>) -> Site {
        let origin = app
            .config
            .public_url
            .clone()
            .or_else(|| {
                request
                    .host
                    .and_then(|host| Origin::from_host(host.trim(), request.secure))
            })
            .unwrap_or_else(|| fallback(app, request.secure));
        Site {
            origin,
            user: request.identity.principal_name().to_string(),
        }
    }

    /// The base URL: clients that discover (`/.well-known/carddav`) need nothing more.
    pub fn base_url(&self) -> String {
        format!("{}/", self.origin.url())
    }

    pub fn principal_url(&self) -> String {
        format!(
            "{}{}",
            self.origin.url(),
            paths::principal_href(&segment(&self.user))
        )
    }

    pub fn book_url(&self, book: &str) -> String {
        format!(
            "{}{}",
            self.origin.url(),
            paths::book_href(&segment(&self.user), &segment(book))
        )
    }

    pub fn page_url(&self, page: &str) -> String {
        format!("{}{PREFIX}{page}", self.origin.url())
    }
}

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Without a usable `Host` (HTTP/1.0, or one that is not a host name): the first address the
/// server listens on, named as `localhost`.
fn fallback(app: &AppState, secure: bool) -> Origin {
    let server = &app.config.server;
    let port = if secure {
        server.tls.as_ref().and_then(|t| t.https_port())
    } else {
        server
            .listen
            .first()
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .map(|a| a.port())
    };
    Origin {
        secure,
        host: "localhost".into(),
        port: port.unwrap_or(if secure { 443 } else { 80 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_one_path_segment() {
        let site = Site {
            origin: Origin::parse_url("https://dav.example").unwrap(),
            user: "ann smith@example.org".into(),
        };
        assert_eq!(
            site.principal_url(),
            "https://dav.example/principals/ann%20smith@example.org/"
        );
        assert_eq!(
            site.book_url("staff/x"),
            "https://dav.example/addressbooks/ann%20smith@example.org/staff%2Fx/"
        );
    }
}
