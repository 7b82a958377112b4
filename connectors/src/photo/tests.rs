use super::error::{size_rounded_down, size_rounded_up};
use super::scale::box_shrink;
use super::*;
use image::RgbImage;
use image::{ImageEncoder, Rgba, RgbaImage};
use serde::Deserialize;

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
