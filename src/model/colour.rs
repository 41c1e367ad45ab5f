//! RGB images through the luma network: Y (BT.601, limited range) is upscaled by a subgraph,
//! Cb and Cr bilinearly, and the result converted back to RGB.

use super::photo::{Luma, bt601_luma};
use super::resize::{Kernel, upscale_x2};

/// BT.601 limited-range chroma of 8-bit RGB, as a fraction of 255 (128 = neutral).
fn bt601_chroma(r: f32, g: f32, b: f32) -> (f32, f32) {
    let cb = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
    let cr = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
    (cb / 255.0, cr / 255.0)
}

/// 8-bit RGB of BT.601 limited-range Y, Cb, Cr given as fractions of 255.
fn bt601_rgb(y: f32, cb: f32, cr: f32) -> [u8; 3] {
    let (y, cb, cr) = (y * 255.0 - 16.0, cb * 255.0 - 128.0, cr * 255.0 - 128.0);
    let r = 1.164_383 * y + 1.596_027 * cr;
    let g = 1.164_383 * y - 0.391_762 * cb - 0.812_968 * cr;
    let b = 1.164_383 * y + 2.017_232 * cb;
    [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// Upscales `rgb` x2: luma with `upscale_luma`, chroma bilinearly.
pub fn upscale_rgb(rgb: &image::RgbImage, upscale_luma: impl FnOnce(&Luma) -> Luma) -> image::RgbImage {
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    let mut planes =
        [Vec::with_capacity(width * height), Vec::with_capacity(width * height), Vec::with_capacity(width * height)];
    for pixel in rgb.pixels() {
        let [r, g, b] = pixel.0.map(f32::from);
        let (cb, cr) = bt601_chroma(r, g, b);
        planes[0].push(bt601_luma(r, g, b));
        planes[1].push(cb);
        planes[2].push(cr);
    }
    let [y, cb, cr] = planes.map(|plane| Luma::new(width, height, plane));
    let y = upscale_luma(&y);
    let (cb, cr) = (upscale_x2(&cb, Kernel::Bilinear), upscale_x2(&cr, Kernel::Bilinear));
    image::RgbImage::from_fn(2 * width as u32, 2 * height as u32, |x, row| {
        let i = row as usize * 2 * width + x as usize;
        image::Rgb(bt601_rgb(y.data[i], cb.data[i], cr.data[i]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_survives_the_round_trip_through_ycbcr() {
        for rgb in [[0u8, 0, 0], [255, 255, 255], [200, 30, 90], [12, 240, 17]] {
            let [r, g, b] = rgb.map(f32::from);
            let (cb, cr) = bt601_chroma(r, g, b);
            let back = bt601_rgb(bt601_luma(r, g, b), cb, cr);
            for (a, b) in rgb.iter().zip(back) {
                assert!((i16::from(*a) - i16::from(b)).abs() <= 1, "{rgb:?} -> {back:?}");
            }
        }
    }
}
