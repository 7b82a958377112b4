//! Why a photo was dropped, worded for the operator: decoder errors reworded, sizes in
//! units a person reads.

use std::error::Error as _;
use std::io::Cursor;

use image::error::{LimitError, LimitErrorKind};
use image::{ImageError, ImageFormat, ImageReader, Limits};

use super::format::format_name;
use super::{MAX_DECODE_ALLOC, MAX_DECODE_SIDE, MIB};

/// Why a photo was dropped; worded for the operator reading the source's skip log.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("photo is empty")]
    Empty,
    #[error(
        "photo is {}, over the {} limit",
        size_rounded_up(*size),
        size_rounded_down(*limit)
    )]
    TooLarge { size: usize, limit: usize },
    #[error("photo is {width}x{height} pixels, over the {max}x{max} limit")]
    TooManyPixels { width: u32, height: u32, max: u32 },
    #[error("not a JPEG, PNG, GIF or WebP image ({found})")]
    UnsupportedFormat { found: String },
    #[error("cannot decode {format}: {detail}")]
    Decode {
        format: &'static str,
        detail: String,
    },
    #[error("cannot encode JPEG: {0}")]
    Encode(String),
    #[error("invalid photo settings: {0}")]
    InvalidSettings(String),
}

pub(super) fn is_dimension_error(e: &LimitError) -> bool {
    matches!(e.kind(), LimitErrorKind::DimensionError)
}

/// The dimension-limit error, with the actual size read from the header so the operator
/// sees how far over it is.
pub(super) fn too_many_pixels(data: &[u8], format: ImageFormat) -> PhotoError {
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    reader.limits(Limits::no_limits());
    match reader.into_dimensions() {
        Ok((width, height)) => PhotoError::TooManyPixels {
            width,
            height,
            max: MAX_DECODE_SIDE,
        },
        Err(e) => image_error(format, e),
    }
}

pub(super) fn image_error(format: ImageFormat, e: ImageError) -> PhotoError {
    let detail = match &e {
        ImageError::Limits(limit) if matches!(limit.kind(), LimitErrorKind::InsufficientMemory) => {
            format!(
                "it needs more than {} of memory to decode",
                size_rounded_down(MAX_DECODE_ALLOC as usize)
            )
        }
        ImageError::Limits(limit) if is_dimension_error(limit) => {
            format!("it is larger than {MAX_DECODE_SIDE}x{MAX_DECODE_SIDE} pixels")
        }
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the file is cut off (truncated?)".into()
        }
        // Its own text repeats "decoding <format>", which our message already says.
        ImageError::Decoding(inner) => inner
            .source()
            .map_or_else(|| inner.to_string(), |source| source.to_string()),
        _ => e.to_string(),
    };
    decode_error(format, detail)
}

pub(super) fn decode_error(format: ImageFormat, detail: String) -> PhotoError {
    PhotoError::Decode {
        format: format_name(format),
        detail,
    }
}

/// `bytes` for an error message, rounded up so an input just over a limit never reads as
/// equal to it.
pub(super) fn size_rounded_up(bytes: usize) -> String {
    human_size(bytes, true)
}

pub(super) fn size_rounded_down(bytes: usize) -> String {
    human_size(bytes, false)
}

fn human_size(bytes: usize, round_up: bool) -> String {
    let (unit, name) = if bytes >= MIB {
        (MIB, "MB")
    } else if bytes >= 1024 {
        (1024, "KB")
    } else {
        return format!("{bytes} bytes");
    };
    // Tenths of the unit, rounded in the requested direction.
    let tenths = if round_up {
        (bytes * 10).div_ceil(unit)
    } else {
        bytes * 10 / unit
    };
    if tenths % 10 == 0 {
        format!("{} {name}", tenths / 10)
    } else {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    }
}
