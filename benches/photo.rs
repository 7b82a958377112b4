//! Photo benchmark: what serving a camera-sized JPEG costs, step by step (decode, downscale,
//! the whole normalization including the encode), against resizing with a single filter,
//! and what a small JPEG that passes through unchanged costs. Prints the fastest of 20 runs
//! of each, as the machine may be shared. Run with `cargo bench --bench photo`.

use std::io::Cursor;
use std::time::{Duration, Instant};

use cardbridge_connectors::photo::{downscale, normalize_photo, PhotoSettings};
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, RgbImage};

const RUNS: usize = 20;

fn fastest(mut run: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// A gradient photo as a JPEG: smooth areas and edges, like a portrait.
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(pixels)
        .write_to(&mut out, ImageFormat::Jpeg)
        .expect("encode the input photo");
    out.into_inner()
}

fn main() {
    let settings = PhotoSettings::default();
    let max = settings.max_dimension;
    for side in [1200, 2000] {
        let input = jpeg(side, side);
        let whole = fastest(|| {
            normalize_photo(&input, &settings).expect("normalize");
        });
        let decode = fastest(|| {
            image::load_from_memory(&input).expect("decode");
        });
        let decoded = image::load_from_memory(&input).expect("decode").into_rgb8();
        let shrink = fastest(|| {
            downscale(decoded.clone(), max);
        });
        let copy = fastest(|| {
            let _ = decoded.clone();
        });
        let triangle = fastest(|| {
            image::imageops::resize(&decoded, max, max, FilterType::Triangle);
        });
        let catmull = fastest(|| {
            image::imageops::resize(&decoded, max, max, FilterType::CatmullRom);
        });
        println!(
            "{side}x{side} JPEG ({} KB) to {max}x{max}: normalize {whole:?} = decode {decode:?} \
             + downscale {:?} (block average, then Triangle) + encode; Triangle alone would \
             take {triangle:?}, CatmullRom {catmull:?}",
            input.len() / 1024,
            shrink.saturating_sub(copy),
        );
    }
    let small = jpeg(200, 200);
    let pass = fastest(|| {
        normalize_photo(&small, &settings).expect("normalize");
    });
    println!("200x200 JPEG pass-through: {pass:?}");
}
