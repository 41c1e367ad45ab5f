//! Separable resampling with MATLAB `imresize` semantics (the convention SR papers measure with):
//! bicubic (a = -0.5) and Lanczos-3 kernels, antialiasing when shrinking, symmetric edge handling.
//! LR training and validation images are `downscale_x2` of the ground truth; bicubic and Lanczos
//! upscaling are the baselines every rung is compared with.

use super::photo::Luma;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Triangle filter: bilinear interpolation when enlarging.
    Bilinear,
    Bicubic,
    Lanczos3,
}

impl Kernel {
    fn width(self) -> f64 {
        match self {
            Kernel::Bilinear => 2.0,
            Kernel::Bicubic => 4.0,
            Kernel::Lanczos3 => 6.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let ax = x.abs();
        match self {
            Kernel::Bilinear => (1.0 - ax).max(0.0),
            Kernel::Bicubic if ax <= 1.0 => 1.5 * ax.powi(3) - 2.5 * ax.powi(2) + 1.0,
            Kernel::Bicubic if ax <= 2.0 => -0.5 * ax.powi(3) + 2.5 * ax.powi(2) - 4.0 * ax + 2.0,
            Kernel::Bicubic => 0.0,
            Kernel::Lanczos3 if ax < 1e-12 => 1.0,
            Kernel::Lanczos3 if ax < 3.0 => {
                let px = std::f64::consts::PI * x;
                3.0 * px.sin() * (px / 3.0).sin() / (px * px)
            }
            Kernel::Lanczos3 => 0.0,
        }
    }
}

/// For each output sample: the input indices and normalised weights that make it.
fn contributions(in_length: usize, out_length: usize, scale: f64, kernel: Kernel) -> Vec<Vec<(usize, f32)>> {
    let antialias = scale < 1.0;
    let kernel_width = if antialias { kernel.width() / scale } else { kernel.width() };
    let taps = kernel_width.ceil() as i64 + 2;
    let period = 2 * in_length as i64;
    (1..=out_length)
        .map(|x| {
            // 1-based input coordinate of output sample x, as MATLAB computes it.
            let u = x as f64 / scale + 0.5 * (1.0 - 1.0 / scale);
            let left = (u - kernel_width / 2.0).floor() as i64;
            let mut weights: Vec<(usize, f64)> = (left..left + taps)
                .map(|index| {
                    let distance = u - index as f64;
                    let w = if antialias { scale * kernel.weight(scale * distance) } else { kernel.weight(distance) };
                    // Symmetric padding: ... 2 1 | 1 2 ... n | n n-1 ...
                    let wrapped = (index - 1).rem_euclid(period);
                    let source = if wrapped < in_length as i64 { wrapped } else { period - 1 - wrapped };
                    (source as usize, w)
                })
                .filter(|(_, w)| *w != 0.0)
                .collect();
            let total: f64 = weights.iter().map(|(_, w)| w).sum();
            weights.iter_mut().for_each(|(_, w)| *w /= total);
            weights.into_iter().map(|(i, w)| (i, w as f32)).collect()
        })
        .collect()
}

/// Resizes `image` to `width` x `height` (vertical pass first, as MATLAB does at equal scales).
pub fn resize(image: &Luma, width: usize, height: usize, kernel: Kernel) -> Luma {
    let rows = contributions(image.height, height, height as f64 / image.height as f64, kernel);
    let mut vertical = vec![0.0f32; image.width * height];
    for (out_row, taps) in rows.iter().enumerate() {
        let out = &mut vertical[out_row * image.width..(out_row + 1) * image.width];
        for &(in_row, weight) in taps {
            let input = &image.data[in_row * image.width..(in_row + 1) * image.width];
            for (o, i) in out.iter_mut().zip(input) {
                *o += weight * i;
            }
        }
    }
    let columns = contributions(image.width, width, width as f64 / image.width as f64, kernel);
    let mut data = vec![0.0f32; width * height];
    for row in 0..height {
        let input = &vertical[row * image.width..(row + 1) * image.width];
        for (out_column, taps) in columns.iter().enumerate() {
            data[row * width + out_column] = taps.iter().map(|&(i, w)| w * input[i]).sum();
        }
    }
    Luma::new(width, height, data)
}

/// The LR counterpart of a ground-truth image: bicubic x1/2 with antialiasing, rounded to 8 bits.
/// Odd sizes lose their last row or column first.
pub fn downscale_x2(hr: &Luma) -> Luma {
    Downscaler::Bicubic.downscale_x2(hr)
}

/// The filters an LR for training may be made with: cameras, encoders and players downscale
/// differently, and a network that only saw bicubic LR learns its particular softness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downscaler {
    Bicubic,
    Lanczos3,
    /// The mean of each 2x2 block.
    Area,
}

impl Downscaler {
    pub const ALL: [Downscaler; 3] = [Downscaler::Bicubic, Downscaler::Lanczos3, Downscaler::Area];

    /// x1/2 of `hr` (odd sizes lose their last row or column), rounded to 8 bits.
    pub fn downscale_x2(self, hr: &Luma) -> Luma {
        let even = hr.crop(0, 0, hr.width & !1, hr.height & !1);
        let (width, height) = (even.width / 2, even.height / 2);
        let lr = match self {
            Downscaler::Bicubic => resize(&even, width, height, Kernel::Bicubic),
            Downscaler::Lanczos3 => resize(&even, width, height, Kernel::Lanczos3),
            Downscaler::Area => {
                let at = |x: usize, y: usize| {
                    (even.at(2 * x, 2 * y)
                        + even.at(2 * x + 1, 2 * y)
                        + even.at(2 * x, 2 * y + 1)
                        + even.at(2 * x + 1, 2 * y + 1))
                        / 4.0
                };
                Luma::new(width, height, (0..width * height).map(|i| at(i % width, i / width)).collect())
            }
        };
        lr.quantized()
    }
}

pub fn upscale_x2(lr: &Luma, kernel: Kernel) -> Luma {
    resize(lr, lr.width * 2, lr.height * 2, kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_constant_images_stay_constant() {
        let flat = Luma::new(9, 7, vec![0.5; 63]);
        for kernel in [Kernel::Bilinear, Kernel::Bicubic, Kernel::Lanczos3] {
            for image in [upscale_x2(&flat, kernel), resize(&flat, 4, 3, kernel)] {
                assert!(image.data.iter().all(|v| (v - 0.5).abs() < 1e-6));
            }
        }
    }

    /// Symmetric edges keep a ramp symmetric about its centre.
    #[test]
    fn a_ramp_downscales_symmetrically() {
        let ramp = Luma::new(4, 4, (0..16).map(|v| v as f32 / 15.0).collect());
        let small = resize(&ramp, 2, 2, Kernel::Bicubic);
        // By symmetry the 2x2 result is a ramp with equal steps and mean 0.5.
        let mean: f32 = small.data.iter().sum::<f32>() / 4.0;
        assert!((mean - 0.5).abs() < 1e-6);
        assert!((small.at(1, 0) - small.at(0, 0) - (small.at(1, 1) - small.at(0, 1))).abs() < 1e-6);
        assert!(small.at(1, 0) > small.at(0, 0) && small.at(0, 1) > small.at(0, 0));
    }

    #[test]
    fn upscaling_interpolates_between_samples() {
        let step = Luma::new(2, 1, vec![0.0, 1.0]);
        let up = resize(&step, 4, 1, Kernel::Bicubic);
        assert!(up.data.windows(2).all(|w| w[1] >= w[0]), "{:?}", up.data);
    }
}
