//! OPTIONS and the RFC 6764 well-known redirect: both answered without credentials.

use super::{Reply, ALLOW};

/// `DAV: 1, 3, addressbook` on every resource (DAVx5 drops principals without it; Evolution
/// refuses books without it), plus `webdav-push` on a book when push is on (the draft's
/// service detection); `Allow` lists no write method (Evolution reads writability from it,
/// so the `POST` of a push registration is not listed either).
pub fn options(push: bool) -> Reply {
    let dav = if push {
        "1, 3, addressbook, webdav-push"
    } else {
        "1, 3, addressbook"
    };
    Reply::new(200).header("DAV", dav).header("Allow", ALLOW)
}

/// `/.well-known/carddav` → the context path, for GET, PROPFIND and anything else.
pub fn well_known_redirect() -> Reply {
    Reply::new(301).header("Location", "/")
}
