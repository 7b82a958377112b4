//! The QR code of the user's setup page, drawn here as SVG (no external service sees the
//! URL): a phone's camera opens the page, where the profile download and the instructions are.

use qrcode::render::svg;
use qrcode::QrCode;

use super::page;
use super::site::Site;
use super::{setup, WebRequest};
use crate::app::AppState;
use crate::dav::{DavError, Reply};

/// Its path under [`super::PREFIX`].
pub const PATH: &str = "setup-qr.svg";

pub fn reply(app: &AppState, request: &WebRequest<'_>) -> Reply {
    let url = Site::of(app, request).page_url(setup::PATH);
    match svg_of(&url) {
        Some(image) => page::personal(Reply::new(200)).body("image/svg+xml", image),
        None => Reply::from(DavError::Internal("the QR code could not be drawn")),
    }
}

/// `text` as a QR code in SVG, black on white with the quiet zone scanners need; `None` when
/// it is too long for a QR code (a URL from configuration never is).
pub fn svg_of(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}
