//! The one kernel training needs beyond the forward ones: the weight gradient of a 3x3
//! convolution, `dW[o][i][ky][kx] = sum over pixels p of dZ[o](p) * X[i](p + (kx - 1, ky - 1))`, a
//! reduction over the image. (The input gradient is a forward convolution with the weights
//! flipped and transposed, see [`PackedConv::transposed`].) Vectorised along rows like the forward
//! kernel: each step loads `R` vectors of output gradient and the nine shifted input vectors once,
//! into `9 x R` accumulators.

use super::kernels::{Isa, Planes};
use super::lanes::{Lanes, Portable};

/// Adds the weight and bias gradients of a 3x3 convolution from `input` (its input planes) and
/// `output_gradient` (the gradient at its pre-activation output) into `weight_gradient`, laid out
/// `[out][in_stride][3][3]` (a prefix of a wider layer's gradient when `in_stride` is larger than
/// the input's channels), and `bias_gradient` (`[out]`).
///
/// The output gradient's columns right of the image must be zero (a fresh [`Planes`] and every
/// kernel's output keep them so).
///
/// # Panics
/// If the planes differ in size, the gradients are too short, or `isa` is not supported.
pub fn accumulate_conv_gradients(
    isa: Isa,
    input: &Planes,
    output_gradient: &Planes,
    in_stride: usize,
    weight_gradient: &mut [f32],
    bias_gradient: &mut [f32],
) {
    assert!(isa.is_supported(), "{} is not supported by this CPU", isa.name());
    assert!((input.width, input.height) == (output_gradient.width, output_gradient.height));
    let (in_channels, out_channels) = (input.channels, output_gradient.channels);
    assert!(in_channels <= in_stride && weight_gradient.len() >= out_channels * in_stride * 9 && bias_gradient.len() >= out_channels);
    for (o, bias) in bias_gradient[..out_channels].iter_mut().enumerate() {
        *bias += (0..output_gradient.height).map(|y| output_gradient.row(o, y).iter().sum::<f32>()).sum::<f32>();
    }
    let pairs = match isa {
        // Two output channels share each input load: 18 accumulators of AVX-512's 32 registers.
        Isa::Avx512 if out_channels % 2 == 0 => 2,
        _ => 1,
    };
    for first in (0..out_channels).step_by(pairs) {
        for i in 0..in_channels {
            let mut sums = [[0.0f32; 9]; 2];
            // SAFETY: the CPU supports `isa` (checked above); the planes match in size.
            unsafe {
                match (isa, pairs) {
                    #[cfg(target_arch = "x86_64")]
                    (Isa::Avx512, 2) => avx512_pair(input, output_gradient, first, i, &mut sums),
                    #[cfg(target_arch = "x86_64")]
                    (Isa::Avx512, _) => avx512_single(input, output_gradient, first, i, &mut sums),
                    #[cfg(target_arch = "x86_64")]
                    (Isa::Avx2Fma, _) => avx2_single(input, output_gradient, first, i, &mut sums),
                    _ => reduce::<Portable, 1>(input, output_gradient, first, i, &mut sums),
                }
            }
            for (r, taps) in sums[..pairs].iter().enumerate() {
                let at = ((first + r) * in_stride + i) * 9;
                for (gradient, sum) in weight_gradient[at..at + 9].iter_mut().zip(taps) {
                    *gradient += sum;
                }
            }
        }
    }
}

/// The nine tap sums of output channels `first..first + R` against input channel `i`.
///
/// # Safety
/// The CPU runs `L`; the planes have the same size and `output_gradient` is zero right of the image.
#[inline(always)]
unsafe fn reduce<L: Lanes, const R: usize>(input: &Planes, output_gradient: &Planes, first: usize, i: usize, sums: &mut [[f32; 9]; 2]) {
    let (width, stride) = (input.width, input.stride);
    // SAFETY (pointer arithmetic): a block reads up to column x + WIDTH + 1 of a padded row, inside
    // its slack; output gradient rows are read from column x up to x + WIDTH, inside theirs.
    unsafe {
        let mut acc = [[L::splat(0.0); 9]; R];
        let source = input.data.as_ptr().add(i * input.plane);
        let gradient = output_gradient.data.as_ptr();
        for y in 0..input.height {
            let mut x = 0;
            while x < width {
                let dz: [L; R] = std::array::from_fn(|r| L::load(gradient.add(output_gradient.index(first + r, x, y))));
                let top_left = source.add(y * stride + x);
                for ky in 0..3 {
                    for kx in 0..3 {
                        let pixels = L::load(top_left.add(ky * stride + kx));
                        for (acc, dz) in acc.iter_mut().zip(&dz) {
                            acc[ky * 3 + kx] = acc[ky * 3 + kx].mul_add(*dz, pixels);
                        }
                    }
                }
                x += L::WIDTH;
            }
        }
        let mut lanes = [0.0f32; 16];
        for (r, taps) in acc.iter().enumerate() {
            for (tap, value) in taps.iter().enumerate() {
                value.store(lanes.as_mut_ptr());
                sums[r][tap] = lanes[..L::WIDTH].iter().sum();
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_pair(input: &Planes, output_gradient: &Planes, first: usize, i: usize, sums: &mut [[f32; 9]; 2]) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce::<super::lanes::Avx512, 2>(input, output_gradient, first, i, sums) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_single(input: &Planes, output_gradient: &Planes, first: usize, i: usize, sums: &mut [[f32; 9]; 2]) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce::<super::lanes::Avx512, 1>(input, output_gradient, first, i, sums) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_single(input: &Planes, output_gradient: &Planes, first: usize, i: usize, sums: &mut [[f32; 9]; 2]) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce::<super::lanes::Avx2, 1>(input, output_gradient, first, i, sums) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the definition, summed in f64, on every instruction set this CPU has.
    #[test]
    fn weight_gradients_match_the_definition() {
        let (cin, cout, width, height) = (3, 4, 21, 5);
        let value = |seed: usize| ((seed * 2_654_435_761) % 1000) as f32 / 500.0 - 1.0;
        let mut input = Planes::new(cin, width, height);
        let mut gradient = Planes::new(cout, width, height);
        for c in 0..cin {
            for y in 0..height {
                for (x, v) in input.row_mut(c, y).iter_mut().enumerate() {
                    *v = value(c * 1000 + y * 100 + x);
                }
            }
        }
        for c in 0..cout {
            for y in 0..height {
                for (x, v) in gradient.row_mut(c, y).iter_mut().enumerate() {
                    *v = value(7 + c * 1000 + y * 100 + x);
                }
            }
        }
        let at = |c: usize, x: isize, y: isize| -> f64 {
            if x < 0 || y < 0 || x >= width as isize || y >= height as isize { 0.0 } else { input.row(c, y as usize)[x as usize] as f64 }
        };
        for isa in Isa::supported() {
            let in_stride = cin + 2;
            let mut weights = vec![0.0; cout * in_stride * 9];
            let mut bias = vec![0.0; cout];
            accumulate_conv_gradients(isa, &input, &gradient, in_stride, &mut weights, &mut bias);
            for o in 0..cout {
                let expected_bias: f64 = (0..height).map(|y| gradient.row(o, y).iter().map(|&v| v as f64).sum::<f64>()).sum();
                assert!((bias[o] as f64 - expected_bias).abs() < 1e-4, "{}", isa.name());
                for i in 0..in_stride {
                    for tap in 0..9 {
                        let (ky, kx) = ((tap / 3) as isize - 1, (tap % 3) as isize - 1);
                        let expected: f64 = if i >= cin {
                            0.0
                        } else {
                            (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).map(|(x, y)| gradient.row(o, y)[x] as f64 * at(i, x as isize + kx, y as isize + ky)).sum()
                        };
                        let got = weights[(o * in_stride + i) * 9 + tap] as f64;
                        assert!((got - expected).abs() < 1e-4, "{} o{o} i{i} tap{tap}: {got} vs {expected}", isa.name());
                    }
                }
            }
        }
    }
}
