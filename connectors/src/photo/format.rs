//! Telling image formats apart by their first bytes, and describing what is not an image.

use image::ImageFormat;

/// The format from the magic bytes; `None` for anything we do not decode.
pub(super) fn sniff(data: &[u8]) -> Option<ImageFormat> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

pub(super) fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        _ => "image",
    }
}

/// What unsupported data looks like, so the operator can tell a HEIC photo, a base64 string
/// that was never decoded, or an HTML error page from random bytes.
pub(super) fn describe_start(data: &[u8]) -> String {
    let head = &data[..data.len().min(16)];
    if data.starts_with(b"/9j/") || data.starts_with(b"iVBORw0KGgo") {
        return "looks like base64 text: decode it first".into();
    }
    if data.len() >= 12 && &data[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&data[8..12]).into_owned();
        return format!("looks like HEIF/AVIF, brand \"{brand}\"");
    }
    if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        return "looks like TIFF".into();
    }
    if data.starts_with(b"BM") && data.len() > 14 {
        return "looks like BMP".into();
    }
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return format!("starts with text \"{}\"", String::from_utf8_lossy(head));
    }
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("starts with bytes {}", hex.join(" "))
}
