//! The one place contact photos from every source are capped and downscaled.
//!
//! Phones and desktop clients only show JPEG and PNG photos reliably, and multi-megabyte
//! photos make REPORTs time out, so whatever a source delivers (LDAP `jpegPhoto`, a Google
//! download, an ActiveSync `Picture`) leaves here as a small baseline JPEG — or as the
//! original bytes when it already is a small, plain JPEG, to avoid a second lossy encode.

use std::error::Error as _;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::codecs::jpeg::JpegEncoder;
use image::error::{LimitError, LimitErrorKind};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};
use serde::Deserialize;

use crate::Photo;

/// Longest side a decoder may see: larger images are refused before any pixel is decoded,
/// so a tiny file claiming huge dimensions cannot exhaust memory.
const MAX_DECODE_SIDE: u32 = 10_000;
/// Allocation cap for the decoded pixels (an 85-megapixel RGB photo), for the same reason;
/// converting and resizing briefly need about as much again.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

const MIB: usize = 1024 * 1024;

/// How photos are served; one section of the configuration, shared by all sources.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotoSettings {
    /// Longest side, in pixels, of a served photo. Larger photos are downscaled.
    pub max_dimension: u32,
    /// JPEG quality (1–100) used when a photo has to be re-encoded.
    pub quality: u8,
    /// Inputs larger than this are refused without being decoded.
    pub max_input_bytes: usize,
}

impl Default for PhotoSettings {
    fn default() -> Self {
        Self {
            max_dimension: 256,
            quality: 85,
            max_input_bytes: 10 * MIB,
        }
    }
}

impl PhotoSettings {
    /// Checks the values [`normalize_photo`] would reject, so a bad configuration can fail at
    /// startup instead of on every photo.
    pub fn validate(&self) -> Result<(), PhotoError> {
        if !(1..=100).contains(&self.quality) {
            return Err(PhotoError::InvalidSettings(format!(
                "quality must be 1 to 100, got {}",
                self.quality
            )));
        }
        if self.max_dimension == 0 {
            return Err(PhotoError::InvalidSettings(
                "max_dimension must be at least 1 pixel".into(),
            ));
        }
        if self.max_input_bytes == 0 {
            return Err(PhotoError::InvalidSettings(
                "max_input_bytes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

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
        Some(jpeg_structure(data).map_err(|detail| decode_error(format, detail))?)
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
    let rgb = flatten_onto_white(image);
    let (new_width, new_height) = fit_within(width, height, settings.max_dimension);
    let small = if (new_width, new_height) == (width, height) {
        rgb
    } else {
        // Averaging whole blocks first leaves the filter a 2:1 to 4:1 reduction, which
        // makes camera-sized photos about twice as fast at no visible cost.
        let block_width = (width / (2 * new_width)).max(1);
        let block_height = (height / (2 * new_height)).max(1);
        let rgb = if block_width > 1 || block_height > 1 {
            box_shrink(&rgb, block_width, block_height)
        } else {
            rgb
        };
        // Triangle (bilinear, widened by the scale factor) averages every source pixel, so
        // the reduction does not alias, and it is cheaper than CatmullRom.
        image::imageops::resize(&rgb, new_width, new_height, FilterType::Triangle)
    };
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

/// The format from the magic bytes; `None` for anything we do not decode.
fn sniff(data: &[u8]) -> Option<ImageFormat> {
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

fn format_name(format: ImageFormat) -> &'static str {
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
fn describe_start(data: &[u8]) -> String {
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

/// What the marker walk learned about a JPEG.
#[derive(Clone, Copy)]
struct JpegStructure {
    /// Baseline, extended or progressive Huffman coding with 1 or 3 components: what every
    /// client decodes, so it can be served as it is. CMYK (4 components) is not, e.g. on
    /// Android, and arithmetic or lossless coding hardly anywhere.
    plain: bool,
}

/// Walks the JPEG markers to the first scan and checks that an end-of-image marker follows.
///
/// The JPEG decoder is lenient and paints missing data grey, so a truncated download would
/// otherwise be served as a half-grey photo; a missing EOI is the reliable sign of it.
fn jpeg_structure(data: &[u8]) -> Result<JpegStructure, String> {
    let mut pos = 2;
    let mut frame: Option<(u8, u8)> = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = match (data.get(pos), data.get(pos + 1)) {
            (Some(0xFF), Some(&marker)) => marker,
            (Some(_), Some(_)) => return Err(format!("corrupt headers (no marker at byte {pos})")),
            _ => return Err("the file ends in its headers (truncated?)".into()),
        };
        pos += 2;
        if marker == 0xD9 {
            return Err("the file has no image data".into());
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue; // standalone markers carry no length
        }
        let (Some(&hi), Some(&lo)) = (data.get(pos), data.get(pos + 1)) else {
            return Err("the file ends in its headers (truncated?)".into());
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return Err(format!("corrupt headers (bad length at byte {pos})"));
        }
        if pos + length > data.len() {
            return Err("the file ends in its headers (truncated?)".into());
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame && frame.is_none() {
            // SOFn payload: precision, height (2), width (2), component count.
            frame = data.get(pos + 7).map(|&components| (marker, components));
        }
        if marker == 0xDA {
            break;
        }
        pos += length;
    }
    // Inside entropy-coded data a literal 0xFF is always followed by 0x00 or a restart
    // marker, so FF D9 after the first scan header can only be the end-of-image marker.
    if !data[pos..].windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err("the file is cut off (truncated?)".into());
    }
    let plain = matches!(frame, Some((0xC0..=0xC2, 1 | 3)));
    Ok(JpegStructure { plain })
}

/// `(width, height)` scaled so the longer side is at most `max`, keeping the aspect ratio;
/// never upscales.
fn fit_within(width: u32, height: u32, max: u32) -> (u32, u32) {
    if width <= max && height <= max {
        return (width, height);
    }
    let scale = |side: u32, long: u32| -> u32 {
        let scaled = (u64::from(side) * u64::from(max) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(max).clamp(1, max)
    };
    if width >= height {
        (max, scale(height, width))
    } else {
        (scale(width, height), max)
    }
}

/// Each `block_width`x`block_height` block averaged into one pixel. The right and bottom
/// edges drop the pixels that do not fill a block, fewer than one block, which shifts the
/// aspect ratio by well under a pixel of the final photo.
fn box_shrink(image: &RgbImage, block_width: u32, block_height: u32) -> RgbImage {
    let (kx, ky) = (block_width as usize, block_height as usize);
    let (width, height) = (image.width() / block_width, image.height() / block_height);
    let src = image.as_raw();
    let stride = image.width() as usize * 3;
    // A multiplication instead of a division per sample: this loop dominates the pass.
    let inverse = 1.0 / (kx * ky) as f64;
    // Column sums over the block's rows first: a flat loop the compiler vectorizes.
    let mut columns = vec![0u32; stride];
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for block_row in src.chunks_exact(stride * ky) {
        columns.fill(0);
        for row in block_row.chunks_exact(stride) {
            for (sum, &value) in columns.iter_mut().zip(row) {
                *sum += u32::from(value);
            }
        }
        for block in columns.chunks_exact(3 * kx) {
            // u64: a 10000-pixel square averaged into one pixel overflows u32.
            let mut sum = [0u64; 3];
            for pixel in block.chunks_exact(3) {
                sum[0] += u64::from(pixel[0]);
                sum[1] += u64::from(pixel[1]);
                sum[2] += u64::from(pixel[2]);
            }
            out.extend(sum.map(|s| (s as f64 * inverse + 0.5) as u8));
        }
    }
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(width, height))
}

/// RGB pixels with any transparency composited onto white, as JPEG has no alpha and clients
/// would otherwise show transparent areas black.
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let over_white = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

fn is_dimension_error(e: &LimitError) -> bool {
    matches!(e.kind(), LimitErrorKind::DimensionError)
}

/// The dimension-limit error, with the actual size read from the header so the operator
/// sees how far over it is.
fn too_many_pixels(data: &[u8], format: ImageFormat) -> PhotoError {
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

fn image_error(format: ImageFormat, e: ImageError) -> PhotoError {
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

fn decode_error(format: ImageFormat, detail: String) -> PhotoError {
    PhotoError::Decode {
        format: format_name(format),
        detail,
    }
}

/// `bytes` for an error message, rounded up so an input just over a limit never reads as
/// equal to it.
fn size_rounded_up(bytes: usize) -> String {
    human_size(bytes, true)
}

fn size_rounded_down(bytes: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgba, RgbaImage};

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([
                (x * 255 / width.max(1)) as u8,
                (y * 255 / height.max(1)) as u8,
                ((x + y) % 256) as u8,
            ])
        })
    }

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        encode(
            &DynamicImage::ImageRgb8(gradient(width, height)),
            ImageFormat::Jpeg,
        )
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        encode(
            &DynamicImage::ImageRgb8(gradient(width, height)),
            ImageFormat::Png,
        )
    }

    /// Decodes a served photo, checking it is a baseline JPEG (SOF0) first.
    fn served(photo: &Photo) -> RgbImage {
        assert_eq!(photo.media_type, "image/jpeg");
        assert!(
            photo.data.starts_with(&[0xFF, 0xD8, 0xFF]),
            "not a JPEG: {:02x?}",
            &photo.data[..photo.data.len().min(4)]
        );
        assert!(
            photo.data.windows(2).any(|w| w == [0xFF, 0xC0]),
            "no baseline frame header"
        );
        image::load_from_memory_with_format(&photo.data, ImageFormat::Jpeg)
            .unwrap()
            .into_rgb8()
    }

    fn normalize(data: &[u8]) -> Result<Photo, PhotoError> {
        normalize_photo(data, &PhotoSettings::default())
    }

    fn error_text(data: &[u8]) -> String {
        match normalize(data) {
            Ok(photo) => panic!("expected an error, got {} bytes", photo.data.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn large_png_is_downscaled_keeping_aspect() {
        let photo = normalize(&png(1200, 800)).unwrap();
        let image = served(&photo);
        assert_eq!(image.width(), 256);
        assert!((170..=171).contains(&image.height()), "{}", image.height());
        // The gradient survives the trip: left edge dark red, right edge bright red.
        let left = image.get_pixel(2, 85).0[0];
        let right = image.get_pixel(253, 85).0[0];
        assert!(left < 30 && right > 225, "left {left}, right {right}");
    }

    #[test]
    fn portrait_keeps_aspect_too() {
        let image = served(&normalize(&jpeg(300, 900)).unwrap());
        assert_eq!((image.width(), image.height()), (85, 256));
    }

    #[test]
    fn large_jpeg_is_downscaled_and_small() {
        let input = jpeg(2000, 2000);
        let photo = normalize(&input).unwrap();
        let image = served(&photo);
        assert_eq!((image.width(), image.height()), (256, 256));
        assert!(
            photo.data.len() < 40_000,
            "{} bytes from {}",
            photo.data.len(),
            input.len()
        );
    }

    #[test]
    fn small_jpeg_passes_through_unchanged() {
        let input = jpeg(100, 100);
        let photo = normalize(&input).unwrap();
        assert_eq!(photo.media_type, "image/jpeg");
        assert!(photo.data == input, "small JPEG was re-encoded");

        let edge = jpeg(256, 200);
        assert!(normalize(&edge).unwrap().data == edge);
    }

    #[test]
    fn extreme_aspect_ratios_keep_their_colour() {
        let strip = RgbImage::from_pixel(3000, 6, image::Rgb([100, 150, 200]));
        let input = encode(&DynamicImage::ImageRgb8(strip), ImageFormat::Png);
        let image = served(&normalize(&input).unwrap());
        assert_eq!((image.width(), image.height()), (256, 1));
        let [r, g, b] = image.get_pixel(128, 0).0;
        assert!(
            r.abs_diff(100) < 8 && g.abs_diff(150) < 8 && b.abs_diff(200) < 8,
            "{r},{g},{b}"
        );

        // Averaging a block of over 2^32 / 255 pixels into one must not overflow.
        let square = RgbImage::from_pixel(4200, 4100, image::Rgb([255, 255, 255]));
        let dot = box_shrink(&square, 4200, 4100);
        assert_eq!(dot.get_pixel(0, 0).0, [255, 255, 255]);
    }

    #[test]
    fn small_png_is_converted_without_upscaling() {
        let image = served(&normalize(&png(40, 30)).unwrap());
        assert_eq!((image.width(), image.height()), (40, 30));
    }

    #[test]
    fn max_dimension_setting_is_honoured() {
        let settings = PhotoSettings {
            max_dimension: 64,
            ..PhotoSettings::default()
        };
        let input = jpeg(100, 100);
        let photo = normalize_photo(&input, &settings).unwrap();
        assert!(photo.data != input);
        let image = served(&photo);
        assert_eq!((image.width(), image.height()), (64, 64));
    }

    #[test]
    fn quality_changes_the_output() {
        let input = png(400, 400);
        let low = PhotoSettings {
            quality: 10,
            ..PhotoSettings::default()
        };
        let high = PhotoSettings {
            quality: 100,
            ..PhotoSettings::default()
        };
        let low = normalize_photo(&input, &low).unwrap().data.len();
        let high = normalize_photo(&input, &high).unwrap().data.len();
        assert!(low * 2 < high, "quality 10: {low} bytes, 100: {high} bytes");
    }

    #[test]
    fn transparency_becomes_white() {
        // Left half fully transparent black, right half opaque blue.
        let rgba = RgbaImage::from_fn(400, 200, |x, _| {
            if x < 200 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([0, 0, 255, 255])
            }
        });
        let input = encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png);
        let image = served(&normalize(&input).unwrap());
        assert_eq!((image.width(), image.height()), (256, 128));
        let [r, g, b] = image.get_pixel(20, 64).0;
        assert!(
            r > 245 && g > 245 && b > 245,
            "transparent became {r},{g},{b}"
        );
        let [r, g, b] = image.get_pixel(236, 64).0;
        assert!(r < 20 && g < 20 && b > 230, "blue became {r},{g},{b}");
    }

    #[test]
    fn gif_first_frame_is_used() {
        let input = encode(
            &DynamicImage::ImageRgba8(RgbaImage::from_pixel(300, 150, Rgba([255, 0, 0, 255]))),
            ImageFormat::Gif,
        );
        assert!(input.starts_with(b"GIF8"));
        let image = served(&normalize(&input).unwrap());
        assert_eq!((image.width(), image.height()), (256, 128));
        let [r, g, b] = image.get_pixel(128, 64).0;
        assert!(r > 230 && g < 25 && b < 25, "red became {r},{g},{b}");
    }

    #[test]
    fn webp_is_converted() {
        let input = encode(
            &DynamicImage::ImageRgba8(RgbaImage::from_pixel(512, 512, Rgba([0, 200, 0, 255]))),
            ImageFormat::WebP,
        );
        assert!(input.starts_with(b"RIFF"));
        let image = served(&normalize(&input).unwrap());
        assert_eq!((image.width(), image.height()), (256, 256));
        let [r, g, b] = image.get_pixel(128, 128).0;
        assert!(r < 25 && g > 180 && b < 25, "green became {r},{g},{b}");
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
    fn rotated_jpeg(width: u32, height: u32) -> Vec<u8> {
        // Left half black, right half white, as stored.
        let image = RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        // Little-endian TIFF with one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
        let exif = vec![
            b'I', b'I', 0x2A, 0, 8, 0, 0, 0, // header, IFD at 8
            1, 0, // one entry
            0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, // orientation = 6
            0, 0, 0, 0, // no next IFD
        ];
        let mut out = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
        encoder.set_exif_metadata(exif).unwrap();
        encoder
            .write_image(
                image.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    #[test]
    fn exif_orientation_is_applied() {
        // Stored 400x200 with black left, white right; displayed it is 200x400 with black on
        // top (rotating clockwise moves the left edge to the top).
        let image = served(&normalize(&rotated_jpeg(400, 200)).unwrap());
        assert_eq!((image.width(), image.height()), (128, 256));
        assert!(image.get_pixel(64, 20).0[0] < 30, "top is not black");
        assert!(image.get_pixel(64, 236).0[0] > 225, "bottom is not white");
    }

    #[test]
    fn small_rotated_jpeg_is_not_passed_through() {
        let input = rotated_jpeg(100, 50);
        let photo = normalize(&input).unwrap();
        assert!(photo.data != input, "rotated JPEG served as stored");
        let image = served(&photo);
        assert_eq!((image.width(), image.height()), (50, 100));
    }

    #[test]
    fn truncated_images_are_errors() {
        let whole = jpeg(2000, 2000);
        let text = error_text(&whole[..whole.len() / 2]);
        assert!(text.starts_with("cannot decode JPEG: "), "{text}");
        assert!(text.contains("truncated"), "{text}");

        let small = jpeg(100, 100);
        let text = error_text(&small[..small.len() - 40]);
        assert!(text.contains("truncated"), "{text}");
        assert!(error_text(&small[..300]).contains("truncated"));
        assert!(error_text(&small[..10]).contains("truncated"));

        let whole = png(600, 600);
        let text = error_text(&whole[..whole.len() / 2]);
        assert!(text.starts_with("cannot decode PNG: "), "{text}");
    }

    #[test]
    fn garbage_and_empty_input_are_errors() {
        assert_eq!(error_text(&[]), "photo is empty");

        let mut state = 0x1234_5678_u32;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        let text = error_text(&noise);
        assert!(
            text.starts_with("not a JPEG, PNG, GIF or WebP image (starts with bytes "),
            "{text}"
        );

        let text = error_text(b"<!DOCTYPE html><html>Quota exceeded</html>");
        assert_eq!(
            text,
            "not a JPEG, PNG, GIF or WebP image (starts with text \"<!DOCTYPE html><\")"
        );
        assert!(error_text(b"/9j/4AAQSkZJRgABAQ").contains("base64"));

        // Right magic bytes, nonsense after them.
        let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
        fake.extend_from_slice(&noise);
        assert!(error_text(&fake).starts_with("cannot decode JPEG: "));
        let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
        fake.extend_from_slice(&noise);
        assert!(error_text(&fake).starts_with("cannot decode PNG: "));
        // A 10x10 logical screen, so the noise is read as blocks rather than dimensions.
        let mut fake = b"GIF89a\x0a\0\x0a\0".to_vec();
        fake.extend_from_slice(&noise[..50]);
        let text = error_text(&fake);
        assert!(text.starts_with("cannot decode GIF: "), "{text}");
        let mut fake = b"RIFF\x10\0\0\0WEBPVP8 ".to_vec();
        fake.extend_from_slice(&noise[..50]);
        assert!(error_text(&fake).starts_with("cannot decode WebP: "));
    }

    #[test]
    fn oversize_input_is_refused_without_decoding() {
        let settings = PhotoSettings {
            max_input_bytes: 1000,
            ..PhotoSettings::default()
        };
        // Not an image at all: the size check comes before any parsing.
        let err = normalize_photo(&[0u8; 1001], &settings).unwrap_err();
        assert!(matches!(err, PhotoError::TooLarge { .. }));

        let err = normalize(&vec![0u8; 12 * MIB]).unwrap_err();
        assert_eq!(err.to_string(), "photo is 12 MB, over the 10 MB limit");
        let err = normalize(&vec![0u8; 10 * MIB + 1]).unwrap_err();
        assert_eq!(err.to_string(), "photo is 10.1 MB, over the 10 MB limit");
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // A valid 1-pixel-high PNG header claiming 20000 pixels width: refused from the header.
        let wide = RgbImage::new(20_000, 1);
        let input = encode(&DynamicImage::ImageRgb8(wide), ImageFormat::Png);
        assert_eq!(
            error_text(&input),
            "photo is 20000x1 pixels, over the 10000x10000 limit"
        );
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A PNG whose header announces `width`x`height` RGBA but whose pixel data is absent:
    /// what a decompression bomb looks like to the checks made before decoding.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], body: &[u8]| {
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(body);
            let crc = crc32(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        };
        let mut header = Vec::new();
        header.extend_from_slice(&width.to_be_bytes());
        header.extend_from_slice(&height.to_be_bytes());
        header.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, not interlaced
        chunk(b"IHDR", &header);
        chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn decompression_bombs_are_refused_before_decoding() {
        assert_eq!(
            error_text(&png_header_only(9000, 9000)),
            "cannot decode PNG: it needs more than 256 MB of memory to decode"
        );
        assert_eq!(
            error_text(&png_header_only(50_000, 50_000)),
            "photo is 50000x50000 pixels, over the 10000x10000 limit"
        );
        // The same header with a sane size gets as far as the (missing) pixel data.
        let text = error_text(&png_header_only(900, 900));
        assert!(text.starts_with("cannot decode PNG: "), "{text}");
        assert!(!text.contains("memory"), "{text}");
    }

    #[test]
    fn settings_are_validated_and_deserialized() {
        let bad = PhotoSettings {
            quality: 0,
            ..PhotoSettings::default()
        };
        let err = normalize_photo(&jpeg(10, 10), &bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid photo settings: quality must be 1 to 100, got 0"
        );
        let bad = PhotoSettings {
            quality: 101,
            ..PhotoSettings::default()
        };
        assert!(bad.validate().is_err());
        let bad = PhotoSettings {
            max_dimension: 0,
            ..PhotoSettings::default()
        };
        assert!(bad.validate().is_err());
        assert!(PhotoSettings::default().validate().is_ok());

        let value = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            [("max_dimension", 128u32)].into_iter(),
        );
        let parsed = PhotoSettings::deserialize(value).unwrap();
        assert_eq!(
            parsed,
            PhotoSettings {
                max_dimension: 128,
                ..PhotoSettings::default()
            }
        );
        let value = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            [("max_dimensions", 128u32)].into_iter(),
        );
        assert!(PhotoSettings::deserialize(value).is_err());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_rounded_up(500), "500 bytes");
        assert_eq!(size_rounded_up(1536), "1.5 KB");
        assert_eq!(size_rounded_down(10 * MIB), "10 MB");
        assert_eq!(size_rounded_up(10 * MIB + 1), "10.1 MB");
        assert_eq!(size_rounded_down(10 * MIB + MIB / 2), "10.5 MB");
    }

    /// A measurement, not a test: `cargo test --release -p cardbridge-connectors
    /// photo::tests::timing -- --ignored --nocapture`. Prints the fastest of 20 runs, as the
    /// machine is shared.
    #[test]
    #[ignore]
    fn timing() {
        fn fastest(mut run: impl FnMut()) -> std::time::Duration {
            (0..20)
                .map(|_| {
                    let start = std::time::Instant::now();
                    run();
                    start.elapsed()
                })
                .min()
                .unwrap()
        }
        let settings = PhotoSettings::default();
        for side in [1200, 2000] {
            let input = jpeg(side, side);
            let whole = fastest(|| {
                normalize_photo(&input, &settings).unwrap();
            });
            let decode = fastest(|| {
                image::load_from_memory(&input).unwrap();
            });
            let decoded = image::load_from_memory(&input).unwrap().into_rgb8();
            let factor = side / 512;
            let shrink = fastest(|| {
                box_shrink(&decoded, factor, factor);
            });
            let shrunk = box_shrink(&decoded, factor, factor);
            let triangle = fastest(|| {
                image::imageops::resize(&shrunk, 256, 256, FilterType::Triangle);
            });
            let direct = fastest(|| {
                image::imageops::resize(&decoded, 256, 256, FilterType::Triangle);
            });
            let catmull = fastest(|| {
                image::imageops::resize(&decoded, 256, 256, FilterType::CatmullRom);
            });
            println!(
                "{side}x{side} JPEG ({} KB): normalize {whole:?} = decode {decode:?} + \
                 downscale {:?} (box {shrink:?}, Triangle {triangle:?}) + encode; \
                 Triangle alone would take {direct:?}, CatmullRom {catmull:?}",
                input.len() / 1024,
                shrink + triangle,
            );
        }
        let small = jpeg(200, 200);
        let pass = fastest(|| {
            normalize_photo(&small, &settings).unwrap();
        });
        println!("200x200 JPEG pass-through: {pass:?}");
    }
}
