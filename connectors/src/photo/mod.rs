//! The one place contact photos from every source are capped and downscaled.
//!
//! Phones and desktop clients only show JPEG and PNG photos reliably, and multi-megabyte
//! photos make REPORTs time out, so whatever a source delivers (LDAP `jpegPhoto`, a Google
//! download, an ActiveSync `Picture`) leaves here as a small baseline JPEG — or as the
//! original bytes when it already is a small, plain JPEG, to avoid a second lossy encode.
//!
//! `format` sniffs the format, `jpeg` walks a JPEG's markers (complete? plain?), `scale`
//! brings pixels to the served size, `error` words why a photo was dropped and `settings`
//! is the configuration section; this module runs them in order.

mod error;
mod format;
mod jpeg;
mod scale;
mod settings;

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

pub use error::PhotoError;
use error::{decode_error, image_error, is_dimension_error, too_many_pixels};
use format::{describe_start, sniff};
use jpeg::{jpeg_structure, JpegStructure};
pub use scale::downscale;
use scale::flatten_onto_white;
pub use settings::PhotoSettings;

use crate::Photo;

/// Longest side a decoder may see: larger images are refused before any pixel is decoded,
/// so a tiny file claiming huge dimensions cannot exhaust memory.
const MAX_DECODE_SIDE: u32 = 10_000;
/// Allocation cap for the decoded pixels (an 85-megapixel RGB photo), for the same reason;
/// converting and resizing briefly need about as much again.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

const MIB: usize = 1024 * 1024;

/// Turns photo bytes from any source into what is served: the original bytes when they are
/// already a plain JPEG within `max_dimension`, otherwise a downscaled baseline JPEG.
///
/// The format is sniffed from the content, since sources' declared types are often wrong.
pub fn normalize_photo(data: &[u8], settings: &PhotoSettings) -> Result<Photo, PhotoError> {
    settings.validate()?;
    if data.is_empty() {
        return Err(PhotoError::Empty);
    }
    if data.len() > settings.max_input_bytes {
        return Err(PhotoError::TooLarge {
            size: data.len(),
            limit: settings.max_input_bytes,
        });
    }
    let format = sniff(data).ok_or_else(|| PhotoError::UnsupportedFormat {
        found: describe_start(data),
    })?;
    let jpeg = if format == ImageFormat::Jpeg {
        Some(jpeg_structure(data).map_err(|e| decode_error(format, e.to_string()))?)
    } else {
        None
    };

    // Hostile input can make a decoder panic in rare cases; one bad photo must cost only
    // that photo, not the whole source poll.
    catch_unwind(AssertUnwindSafe(|| {
        normalize_decoded(data, format, jpeg, settings)
    }))
    .unwrap_or_else(|_| {
        Err(decode_error(
            format,
            "the decoder crashed on this input".into(),
        ))
    })
}

fn normalize_decoded(
    data: &[u8],
    format: ImageFormat,
    jpeg: Option<JpegStructure>,
    settings: &PhotoSettings,
) -> Result<Photo, PhotoError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    reader.limits(limits.clone());
    let mut decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(ImageError::Limits(e)) if is_dimension_error(&e) => {
            return Err(too_many_pixels(data, format))
        }
        Err(e) => return Err(image_error(format, e)),
    };
    let (width, height) = decoder.dimensions();
    // The orientation only improves the result: a broken EXIF block is not worth a photo.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);

    if jpeg.is_some_and(|j| j.plain)
        && width <= settings.max_dimension
        && height <= settings.max_dimension
        && orientation == Orientation::NoTransforms
    {
        return Ok(Photo {
            media_type: "image/jpeg".into(),
            data: data.to_vec(),
        });
    }

    // `from_decoder` does not count the pixel buffer against the limits by itself.
    limits
        .reserve(decoder.total_bytes())
        .and_then(|()| decoder.set_limits(limits))
        .map_err(|e| image_error(format, e))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(format, e))?;
    let small = downscale(flatten_onto_white(image), settings.max_dimension);
    // Applied to the small image: rotating after the resize is far cheaper, and the
    // longest-side fit is the same either way round.
    let mut small = DynamicImage::ImageRgb8(small);
    small.apply_orientation(orientation);

    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, settings.quality)
        .encode_image(&small)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(Photo {
        media_type: "image/jpeg".into(),
        data: out,
    })
}

#[cfg(test)]
mod tests;
