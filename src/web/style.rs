//! The stylesheet: one small file compiled into the binary, so pages need nothing from
//! outside (offline, and `style-src 'self'` in the Content-Security-Policy).

use super::page;
use crate::dav::Reply;

/// Its path under [`super::PREFIX`].
pub const PATH: &str = "style.css";

const CSS: &str = include_str!("style.css");

pub fn reply() -> Reply {
    page::safe_headers(Reply::new(200))
        .header("Cache-Control", "private, max-age=3600")
        .body("text/css; charset=utf-8", CSS)
}
