//! Quality metrics on the Y channel, as SR papers report them: PSNR and SSIM with a border of
//! `SHAVE_PIXELS` ignored (the scale factor), on 8-bit code values.

use super::photo::Luma;

/// Border ignored by both metrics (the x2 scale factor).
pub const SHAVE_PIXELS: usize = 2;

fn shaved(image: &Luma) -> Luma {
    image.crop(SHAVE_PIXELS, SHAVE_PIXELS, image.width - 2 * SHAVE_PIXELS, image.height - 2 * SHAVE_PIXELS)
}

/// PSNR in dB of `test` against `reference` (same size), values rounded to 8 bits first.
pub fn psnr_y(reference: &Luma, test: &Luma) -> f64 {
    assert_eq!((reference.width, reference.height), (test.width, test.height), "psnr: sizes differ");
    let (reference, test) = (shaved(&reference.quantized()), shaved(&test.quantized()));
    let mse: f64 = reference.data.iter().zip(&test.data).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>()
        / reference.data.len() as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (1.0 / mse).log10() }
}

/// SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03) on 8-bit values.
pub fn ssim_y(reference: &Luma, test: &Luma) -> f64 {
    assert_eq!((reference.width, reference.height), (test.width, test.height), "ssim: sizes differ");
    let scale =
        |image: &Luma| -> Vec<f64> { shaved(&image.quantized()).data.iter().map(|v| f64::from(*v) * 255.0).collect() };
    let (a, b) = (scale(reference), scale(test));
    let (width, height) = (reference.width - 2 * SHAVE_PIXELS, reference.height - 2 * SHAVE_PIXELS);
    const RADIUS: usize = 5;
    const SIGMA: f64 = 1.5;
    let window: Vec<f64> = {
        let raw: Vec<f64> =
            (0..=2 * RADIUS).map(|i| (-((i as f64 - RADIUS as f64).powi(2)) / (2.0 * SIGMA * SIGMA)).exp()).collect();
        let total: f64 = raw.iter().sum();
        raw.into_iter().map(|w| w / total).collect()
    };
    let (c1, c2) = ((0.01 * 255.0f64).powi(2), (0.03 * 255.0f64).powi(2));
    // Separable Gaussian filtering of the five moments, "valid" region only.
    let filter = |values: &[f64]| -> Vec<f64> {
        let rows: Vec<f64> = (0..height)
            .flat_map(|y| (0..=width - 2 * RADIUS - 1).map(move |x| (y, x)))
            .map(|(y, x)| window.iter().enumerate().map(|(k, w)| w * values[y * width + x + k]).sum())
            .collect();
        let out_width = width - 2 * RADIUS;
        (0..height - 2 * RADIUS)
            .flat_map(|y| (0..out_width).map(move |x| (y, x)))
            .map(|(y, x)| window.iter().enumerate().map(|(k, w)| w * rows[(y + k) * out_width + x]).sum())
            .collect()
    };
    let product = |p: &[f64], q: &[f64]| -> Vec<f64> { p.iter().zip(q).map(|(x, y)| x * y).collect() };
    let (mu_a, mu_b) = (filter(&a), filter(&b));
    let (aa, bb, ab) = (filter(&product(&a, &a)), filter(&product(&b, &b)), filter(&product(&a, &b)));
    let map: Vec<f64> = (0..mu_a.len())
        .map(|i| {
            let (ma, mb) = (mu_a[i], mu_b[i]);
            let (va, vb, cov) = (aa[i] - ma * ma, bb[i] - mb * mb, ab[i] - ma * mb);
            ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
        })
        .collect();
    map.iter().sum::<f64>() / map.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(width: usize, height: usize) -> Luma {
        Luma::new(
            width,
            height,
            (0..width * height).map(|i| ((i * 37 % 101) as f32 / 100.0 * 200.0 + 16.0).round() / 255.0).collect(),
        )
    }

    /// Every pixel one code value off: MSE = (1/255)^2, so PSNR = 20 log10(255) = 48.1308 dB.
    #[test]
    fn psnr_of_a_one_code_value_error_is_48_13_db() {
        let reference = pattern(40, 30);
        let test = Luma::new(40, 30, reference.data.iter().map(|v| v + 1.0 / 255.0).collect());
        assert!((psnr_y(&reference, &test) - 48.1308).abs() < 1e-3, "{}", psnr_y(&reference, &test));
    }

    #[test]
    fn the_shaved_border_does_not_count() {
        let reference = pattern(40, 30);
        let mut test = reference.clone();
        for x in 0..40 {
            test.data[x] = 1.0; // first row: inside the shave
        }
        assert_eq!(psnr_y(&reference, &test), f64::INFINITY);
    }

    #[test]
    fn ssim_is_one_for_identical_images_and_drops_with_noise() {
        let reference = Luma::new(48, 40, (0..48 * 40).map(|i| (i % 48 + i / 48) as f32 / 88.0 * 0.5 + 0.25).collect());
        assert!((ssim_y(&reference, &reference) - 1.0).abs() < 1e-12);
        let noisy = Luma::new(
            48,
            40,
            reference.data.iter().enumerate().map(|(i, v)| v + if i % 2 == 0 { 0.03 } else { -0.03 }).collect(),
        );
        let value = ssim_y(&reference, &noisy);
        assert!(value < 0.99 && value > 0.0, "{value}");
    }
}
