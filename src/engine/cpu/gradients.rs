//! The one kernel training needs beyond the forward ones: the weight gradient of a 3x3
//! convolution, `dW[o][i][ky][kx] = sum over pixels p of dZ[o](p) * X[i](p + (kx - 1, ky - 1))`, a
//! reduction over the image. (The input gradient is a forward convolution with the weights
//! flipped and transposed, see [`super::kernels::PackedConv::transposed`].) Vectorised along rows like the forward
//! kernel. Each step takes [`BAND_ROWS`] rows of output gradient at once: an input vector then
//! meets up to three of them, so the nine shifted input vectors of a row are loaded once for
//! three rows' multiply-adds. The image is walked in bands of those rows and tiles of columns,
//! every pair of channels within a tile, so a tile's input rows of every channel stay in cache
//! while each output channel passes over them. The sums stay vectors from tile to tile, in a
//! scratch buffer, and are reduced across lanes once at the end: reducing them at every tile took
//! about a tenth of the kernel's time.

use std::cell::RefCell;
use std::ops::Range;

use super::kernels::{Isa, Planes};
use super::lanes::{Lanes, Portable};

/// Output-gradient rows one step takes: with nine accumulators, the rows' gradient vectors and
/// one input vector, 14 of AVX2's 16 registers (27 of AVX-512's 32 with two output channels).
const BAND_ROWS: usize = 4;
/// Columns of a tile: a band's input rows (`BAND_ROWS + 2` per channel) of 40 channels and its
/// output-gradient rows fit in a 512 KiB L2 cache.
const TILE_COLUMNS: usize = 256;
/// Room for one vector of any instruction set in the scratch sums.
const MAX_LANES: usize = 16;
/// The scratch sums of one (output, input) channel pair: nine taps of [`MAX_LANES`] lanes.
const PAIR_SUMS: usize = 9 * MAX_LANES;

thread_local! {
    /// Each thread's scratch sums, kept between calls: a 40-channel layer's take 0.9 MB.
    static LANE_SUMS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

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
    assert!(
        in_channels <= in_stride
            && weight_gradient.len() >= out_channels * in_stride * 9
            && bias_gradient.len() >= out_channels
    );
    for (o, bias) in bias_gradient[..out_channels].iter_mut().enumerate() {
        *bias += (0..output_gradient.height).map(|y| output_gradient.row(o, y).iter().sum::<f32>()).sum::<f32>();
    }
    let pairs = match isa {
        // Two output channels share each input load: 18 accumulators of AVX-512's 32 registers.
        Isa::Avx512 if out_channels % 2 == 0 => 2,
        _ => 1,
    };
    let kernel: BandKernel = match (isa, pairs) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 2) => avx512_pair,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, _) => avx512_single,
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2Fma, _) => avx2_single,
        _ => portable_single,
    };
    let (width, height) = (input.width, input.height);
    LANE_SUMS.with_borrow_mut(|lane_sums| {
        lane_sums.clear();
        lane_sums.resize(out_channels * in_channels * PAIR_SUMS, 0.0);
        // The sums of output channel `o` against input channel `i` start at `(o * in_channels + i) * PAIR_SUMS`.
        let next_output = in_channels * PAIR_SUMS;
        for y in (0..height).step_by(BAND_ROWS) {
            let rows = y..(y + BAND_ROWS).min(height);
            for x in (0..width).step_by(TILE_COLUMNS) {
                let columns = x..(x + TILE_COLUMNS).min(width);
                for first in (0..out_channels).step_by(pairs) {
                    for i in 0..in_channels {
                        let sums = LaneSums {
                            first: lane_sums[(first * in_channels + i) * PAIR_SUMS..].as_mut_ptr(),
                            next_output,
                        };
                        // SAFETY: the CPU supports `isa` (checked above); the planes match in size;
                        // the sums of `first + 1`, when there is a pair, are in the buffer too.
                        unsafe { kernel(input, output_gradient, first, i, rows.clone(), columns.clone(), sums) };
                    }
                }
            }
        }
        for o in 0..out_channels {
            for i in 0..in_channels {
                let sums = &lane_sums[(o * in_channels + i) * PAIR_SUMS..][..PAIR_SUMS];
                let at = (o * in_stride + i) * 9;
                for (gradient, lanes) in weight_gradient[at..at + 9].iter_mut().zip(sums.chunks_exact(MAX_LANES)) {
                    *gradient += lanes.iter().sum::<f32>();
                }
            }
        }
    });
}

/// Adds a band of rows and a tile of columns into the lane sums, for one instruction set.
type BandKernel = unsafe fn(&Planes, &Planes, usize, usize, Range<usize>, Range<usize>, LaneSums);

/// Where a kernel call's sums are: the first output channel's nine tap vectors, [`MAX_LANES`]
/// apart from `first`, the next output channel's `next_output` further.
#[derive(Clone, Copy)]
struct LaneSums {
    first: *mut f32,
    next_output: usize,
}

/// Adds output channels `first..first + R` against input channel `i`, over output rows `rows` (at
/// most [`BAND_ROWS`]) and columns `columns` (starting at a multiple of `L::WIDTH`), into their
/// lane sums.
///
/// # Safety
/// The CPU runs `L`; the planes have the same size and `output_gradient` is zero right of the
/// image; `sums` has `(R - 1) * next_output + PAIR_SUMS` writable values from `first`.
#[inline(always)]
unsafe fn reduce_band<L: Lanes, const R: usize>(
    input: &Planes,
    output_gradient: &Planes,
    first: usize,
    i: usize,
    rows: Range<usize>,
    columns: Range<usize>,
    sums: LaneSums,
) {
    const { assert!(L::WIDTH <= MAX_LANES) };
    // SAFETY: forwarded from the caller.
    unsafe {
        let tap = |r: usize, tap: usize| sums.first.add(r * sums.next_output + tap * MAX_LANES);
        let mut acc: [[L; 9]; R] = std::array::from_fn(|r| std::array::from_fn(|t| L::load(tap(r, t))));
        match rows.len() {
            BAND_ROWS => {
                reduce_rows::<L, R, BAND_ROWS>(input, output_gradient, first, i, rows.start, &columns, &mut acc)
            }
            _ => rows.for_each(|y| reduce_rows::<L, R, 1>(input, output_gradient, first, i, y, &columns, &mut acc)),
        }
        for (r, taps) in acc.iter().enumerate() {
            for (t, value) in taps.iter().enumerate() {
                value.store(tap(r, t));
            }
        }
    }
}

/// Adds output rows `y..y + ROWS` of the band into `acc`.
///
/// # Safety
/// As [`reduce_band`]; `y + ROWS` is at most the height.
#[inline(always)]
unsafe fn reduce_rows<L: Lanes, const R: usize, const ROWS: usize>(
    input: &Planes,
    output_gradient: &Planes,
    first: usize,
    i: usize,
    y: usize,
    columns: &Range<usize>,
    acc: &mut [[L; 9]; R],
) {
    let stride = input.stride;
    // SAFETY (pointer arithmetic): a step reads input columns up to x + WIDTH + 1 of padded rows
    // y..y + ROWS + 2 (inside the plane and its slack) and output gradient rows from column x up
    // to x + WIDTH, inside their slack.
    unsafe {
        let mut sum = *acc;
        let source = input.data.as_ptr().add(i * input.plane);
        let gradient = output_gradient.data.as_ptr();
        let mut x = columns.start;
        while x < columns.end {
            let dz: [[L; ROWS]; R] = std::array::from_fn(|r| {
                std::array::from_fn(|j| L::load(gradient.add(output_gradient.index(first + r, x, y + j))))
            });
            let top_left = source.add(y * stride + x);
            input_row::<L, R, ROWS, 0>(top_left, stride, &dz, &mut sum);
            input_row::<L, R, ROWS, 1>(top_left, stride, &dz, &mut sum);
            input_row::<L, R, ROWS, 2>(top_left, stride, &dz, &mut sum);
            input_row::<L, R, ROWS, 3>(top_left, stride, &dz, &mut sum);
            input_row::<L, R, ROWS, 4>(top_left, stride, &dz, &mut sum);
            input_row::<L, R, ROWS, 5>(top_left, stride, &dz, &mut sum);
            x += L::WIDTH;
        }
        *acc = sum;
    }
}

/// The multiply-adds of padded input row `ROW` of a step (rows `0..ROWS + 2` exist): its three
/// shifted vectors are tap row `ROW - j` of output row `j`. Every index is a constant, so the
/// accumulators stay in registers.
///
/// # Safety
/// As [`reduce_rows`]; `top_left` is the step's top-left input value.
#[inline(always)]
unsafe fn input_row<L: Lanes, const R: usize, const ROWS: usize, const ROW: usize>(
    top_left: *const f32,
    stride: usize,
    dz: &[[L; ROWS]; R],
    sum: &mut [[L; 9]; R],
) {
    const { assert!(ROWS + 2 <= 6, "reduce_rows visits six input rows") };
    if ROW >= ROWS + 2 {
        return;
    }
    for kx in 0..3 {
        // SAFETY: forwarded from the caller.
        let pixels = unsafe { L::load(top_left.add(ROW * stride + kx)) };
        for ky in 0..3 {
            if ROW >= ky && ROW - ky < ROWS {
                for (sum, dz) in sum.iter_mut().zip(dz) {
                    // SAFETY: forwarded from the caller.
                    sum[ky * 3 + kx] = unsafe { sum[ky * 3 + kx].mul_add(dz[ROW - ky], pixels) };
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_pair(
    input: &Planes,
    output_gradient: &Planes,
    first: usize,
    i: usize,
    rows: Range<usize>,
    columns: Range<usize>,
    sums: LaneSums,
) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce_band::<super::lanes::Avx512, 2>(input, output_gradient, first, i, rows, columns, sums) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_single(
    input: &Planes,
    output_gradient: &Planes,
    first: usize,
    i: usize,
    rows: Range<usize>,
    columns: Range<usize>,
    sums: LaneSums,
) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce_band::<super::lanes::Avx512, 1>(input, output_gradient, first, i, rows, columns, sums) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_single(
    input: &Planes,
    output_gradient: &Planes,
    first: usize,
    i: usize,
    rows: Range<usize>,
    columns: Range<usize>,
    sums: LaneSums,
) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce_band::<super::lanes::Avx2, 1>(input, output_gradient, first, i, rows, columns, sums) }
}

unsafe fn portable_single(
    input: &Planes,
    output_gradient: &Planes,
    first: usize,
    i: usize,
    rows: Range<usize>,
    columns: Range<usize>,
    sums: LaneSums,
) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce_band::<Portable, 1>(input, output_gradient, first, i, rows, columns, sums) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the definition, summed in f64, on every instruction set this CPU has: a band and
    /// one row more; two tiles of columns and two rows more.
    #[test]
    fn weight_gradients_match_the_definition() {
        for (cin, cout, width, height) in [(3, 4, 21, 5), (2, 2, TILE_COLUMNS + 37, 2 * BAND_ROWS + 2)] {
            check_against_the_definition(cin, cout, width, height);
        }
    }

    fn check_against_the_definition(cin: usize, cout: usize, width: usize, height: usize) {
        let value = |seed: usize| ((seed * 2_654_435_761) % 1000) as f32 / 500.0 - 1.0;
        let mut input = Planes::new(cin, width, height);
        let mut gradient = Planes::new(cout, width, height);
        for c in 0..cin {
            for y in 0..height {
                for (x, v) in input.row_mut(c, y).iter_mut().enumerate() {
                    *v = value(c * 100_000 + y * 1000 + x);
                }
            }
        }
        for c in 0..cout {
            for y in 0..height {
                for (x, v) in gradient.row_mut(c, y).iter_mut().enumerate() {
                    *v = value(7 + c * 100_000 + y * 1000 + x);
                }
            }
        }
        let at = |c: usize, x: isize, y: isize| -> f64 {
            if x < 0 || y < 0 || x >= width as isize || y >= height as isize {
                0.0
            } else {
                input.row(c, y as usize)[x as usize] as f64
            }
        };
        for isa in Isa::supported() {
            let in_stride = cin + 2;
            let mut weights = vec![0.0; cout * in_stride * 9];
            let mut bias = vec![0.0; cout];
            accumulate_conv_gradients(isa, &input, &gradient, in_stride, &mut weights, &mut bias);
            for o in 0..cout {
                let expected_bias: f64 =
                    (0..height).map(|y| gradient.row(o, y).iter().map(|&v| v as f64).sum::<f64>()).sum();
                assert!(
                    (bias[o] as f64 - expected_bias).abs() < 1e-6 * expected_bias.abs().max(100.0),
                    "{}",
                    isa.name()
                );
                for i in 0..in_stride {
                    for tap in 0..9 {
                        let (ky, kx) = ((tap / 3) as isize - 1, (tap % 3) as isize - 1);
                        let expected: f64 = if i >= cin {
                            0.0
                        } else {
                            (0..height)
                                .flat_map(|y| (0..width).map(move |x| (x, y)))
                                .map(|(x, y)| gradient.row(o, y)[x] as f64 * at(i, x as isize + kx, y as isize + ky))
                                .sum()
                        };
                        let got = weights[(o * in_stride + i) * 9 + tap] as f64;
                        assert!(
                            (got - expected).abs() < 1e-6 * expected.abs().max(100.0),
                            "{} o{o} i{i} tap{tap}: {got} vs {expected}",
                            isa.name()
                        );
                    }
                }
            }
        }
    }
}
