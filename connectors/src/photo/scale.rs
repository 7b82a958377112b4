//! Pixels to the served size: alpha flattened onto white, block averaging then a Triangle
//! filter down to the longest side allowed.

use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};

/// `image` shrunk so its longer side is at most `max`, keeping the aspect ratio; never
/// upscales. Public for the photo benchmark, which times this step alone.
pub fn downscale(image: RgbImage, max: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let (new_width, new_height) = fit_within(width, height, max);
    if (new_width, new_height) == (width, height) {
        return image;
    }
    // Averaging whole blocks first leaves the filter a 2:1 to 4:1 reduction, which makes
    // camera-sized photos about twice as fast at no visible cost.
    let block_width = (width / (2 * new_width)).max(1);
    let block_height = (height / (2 * new_height)).max(1);
    let image = if block_width > 1 || block_height > 1 {
        box_shrink(&image, block_width, block_height)
    } else {
        image
    };
    // Triangle (bilinear, widened by the scale factor) averages every source pixel, so the
    // reduction does not alias, and it is cheaper than CatmullRom.
    image::imageops::resize(&image, new_width, new_height, FilterType::Triangle)
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
pub(super) fn box_shrink(image: &RgbImage, block_width: u32, block_height: u32) -> RgbImage {
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
pub(super) fn flatten_onto_white(image: DynamicImage) -> RgbImage {
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
