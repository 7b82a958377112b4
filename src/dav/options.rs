//! OPTIONS and the RFC 6764 well-known redirect: both answered without credentials.

use super::{Reply, ALLOW};

/// `DAV: 1, 3, addressbook` on every resource (DAVx5 drops principals without it; Evolution
/// refuses books without it); `Allow` lists no write method (Evolution reads writability from
/// it).
pub fn options() -> Reply {
    Reply::new(200)
        .header("DAV", "1, 3, addressbook")
        .header("Allow", ALLOW)
}

/// `/.well-known/carddav` → the context path, for GET, PROPFIND and anything else.
pub fn well_known_redirect() -> Reply {
    Reply::new(301).header("Location", "/")
}
