//! 3x3 convolution kernels on channels-last (HWC) f32 planes. One generic body, compiled twice:
//! with AVX2+FMA (selected at run time when the CPU has them) and portable. The inner loop runs over
//! output channels, contiguous in the packed weights, so the compiler vectorizes it. Work is split
//! across cores by row strips.

use std::ops::Range;

use crate::model::supernet::BILINEAR_TAPS;

/// The widest layer the kernels handle (accumulators live on the stack).
pub const MAX_CHANNELS: usize = 64;

/// One convolution with its weights packed as `[ky][kx][in][out]`.
#[derive(Debug, Clone)]
pub struct PackedConv {
    pub in_channels: usize,
    pub out_channels: usize,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub relu: bool,
    /// Adds the input pixel before the activation (needs `in_channels == out_channels`).
    pub residual: bool,
}

impl PackedConv {
    /// Packs burn's `[out, in, 3, 3]` weights.
    pub fn pack(weights_oihw: &[f32], bias: &[f32], in_channels: usize, out_channels: usize, relu: bool, residual: bool) -> Self {
        assert!(in_channels <= MAX_CHANNELS && out_channels <= MAX_CHANNELS, "layer wider than {MAX_CHANNELS}");
        assert_eq!(weights_oihw.len(), out_channels * in_channels * 9);
        let mut weights = vec![0.0; weights_oihw.len()];
        for o in 0..out_channels {
            for i in 0..in_channels {
                for k in 0..9 {
                    weights[(k * in_channels + i) * out_channels + o] = weights_oihw[(o * in_channels + i) * 9 + k];
                }
            }
        }
        Self { in_channels, out_channels, weights, bias: bias.to_vec(), relu, residual }
    }
}

/// Which code path runs the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Avx2Fma,
    Portable,
}

impl Isa {
    /// The best path this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx2Fma;
        }
        Isa::Portable
    }
}

/// A plane of `width` x `height` pixels with `channels` values each (HWC).
pub struct Plane<'a> {
    pub data: &'a [f32],
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

#[inline(always)]
fn multiply_add<const FMA: bool>(acc: f32, a: f32, b: f32) -> f32 {
    // `mul_add` is one instruction where FMA is enabled, a slow library call where it is not.
    if FMA { a.mul_add(b, acc) } else { acc + a * b }
}

/// Pixels of a row computed together: each weight vector loaded once serves this many pixels.
const PIXEL_BLOCK: usize = 4;

/// Bias, residual and activation of one output pixel, written to `out`.
#[inline(always)]
fn finish_pixel(conv: &PackedConv, acc: &mut [f32], input_pixel: &[f32], out: &mut [f32]) {
    if conv.residual {
        acc.iter_mut().zip(input_pixel).for_each(|(a, v)| *a += v);
    }
    if conv.relu {
        acc.iter_mut().for_each(|a| *a = a.max(0.0));
    }
    out.copy_from_slice(acc);
}

#[inline(always)]
fn conv_rows_generic<const FMA: bool>(conv: &PackedConv, input: &Plane<'_>, rows: Range<usize>, output: &mut [f32]) {
    let (width, height, cin, cout) = (input.width, input.height, conv.in_channels, conv.out_channels);
    let pixel = |x: usize, y: usize| &input.data[(y * width + x) * cin..(y * width + x + 1) * cin];
    for (row_index, y) in rows.enumerate() {
        let out_row = &mut output[row_index * width * cout..(row_index + 1) * width * cout];
        // Kernel rows that fall inside the image (zero padding outside).
        let kernel_rows = usize::from(y == 0)..=if y + 1 < height { 2 } else { 1 };
        let mut x = 0;
        while x < width {
            // Blocks of pixels whose 3x3 neighbourhoods lie inside the row: no bounds checks.
            if x >= 1 && x + PIXEL_BLOCK < width {
                let mut acc = [[0.0f32; MAX_CHANNELS]; PIXEL_BLOCK];
                for a in &mut acc {
                    a[..cout].copy_from_slice(&conv.bias);
                }
                for ky in kernel_rows.clone() {
                    let sy = y + ky - 1;
                    for kx in 0..3 {
                        let taps = &conv.weights[(ky * 3 + kx) * cin * cout..(ky * 3 + kx + 1) * cin * cout];
                        let base = (sy * width + x + kx - 1) * cin;
                        for (ic, weights) in taps.chunks_exact(cout).enumerate() {
                            for (p, a) in acc.iter_mut().enumerate() {
                                let value = input.data[base + p * cin + ic];
                                for (a, w) in a[..cout].iter_mut().zip(weights) {
                                    *a = multiply_add::<FMA>(*a, value, *w);
                                }
                            }
                        }
                    }
                }
                for (p, a) in acc.iter_mut().enumerate() {
                    finish_pixel(conv, &mut a[..cout], pixel(x + p, y), &mut out_row[(x + p) * cout..(x + p + 1) * cout]);
                }
                x += PIXEL_BLOCK;
                continue;
            }
            let mut acc = [0.0f32; MAX_CHANNELS];
            acc[..cout].copy_from_slice(&conv.bias);
            for ky in kernel_rows.clone() {
                let sy = y + ky - 1;
                for kx in 0..3 {
                    let Some(sx) = (x + kx).checked_sub(1).filter(|&sx| sx < width) else { continue };
                    let taps = &conv.weights[(ky * 3 + kx) * cin * cout..(ky * 3 + kx + 1) * cin * cout];
                    for (value, weights) in pixel(sx, sy).iter().zip(taps.chunks_exact(cout)) {
                        for (a, w) in acc[..cout].iter_mut().zip(weights) {
                            *a = multiply_add::<FMA>(*a, *value, *w);
                        }
                    }
                }
            }
            finish_pixel(conv, &mut acc[..cout], pixel(x, y), &mut out_row[x * cout..(x + 1) * cout]);
            x += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn conv_rows_avx2(conv: &PackedConv, input: &Plane<'_>, rows: Range<usize>, output: &mut [f32]) {
    conv_rows_generic::<true>(conv, input, rows, output);
}

fn conv_rows(isa: Isa, conv: &PackedConv, input: &Plane<'_>, rows: Range<usize>, output: &mut [f32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2Fma` is only produced by `Isa::detect` on a CPU that has AVX2 and FMA.
        Isa::Avx2Fma => unsafe { conv_rows_avx2(conv, input, rows, output) },
        _ => conv_rows_generic::<false>(conv, input, rows, output),
    }
}

/// Splits `height` rows into `strips` contiguous ranges.
fn strips(height: usize, strips: usize) -> Vec<Range<usize>> {
    let per_strip = height.div_ceil(strips.max(1)).max(1);
    (0..height).step_by(per_strip).map(|start| start..(start + per_strip).min(height)).collect()
}

/// `output = conv(input)` over the whole plane, one row strip per thread.
pub fn conv3x3(isa: Isa, threads: usize, conv: &PackedConv, input: &Plane<'_>, output: &mut [f32]) {
    assert_eq!(input.channels, conv.in_channels);
    let row_values = input.width * conv.out_channels;
    let output = &mut output[..input.height * row_values];
    let ranges = strips(input.height, threads);
    if ranges.len() == 1 {
        return conv_rows(isa, conv, input, 0..input.height, output);
    }
    std::thread::scope(|scope| {
        let mut rest = output;
        for range in ranges {
            let (strip, tail) = rest.split_at_mut(range.len() * row_values);
            rest = tail;
            scope.spawn(move || conv_rows(isa, conv, input, range, strip));
        }
    });
}

/// The tail, fused: `tail` (width -> 4 phases, into the `phases` scratch) on `features`, plus the
/// bilinear x2 phases of `luma`, pixel-shuffled into `output` (2W x 2H).
pub fn tail_bilinear_shuffle(
    isa: Isa,
    threads: usize,
    tail: &PackedConv,
    features: &Plane<'_>,
    luma: &[f32],
    phases: &mut [f32],
    output: &mut [f32],
) {
    let (width, height) = (features.width, features.height);
    conv3x3(isa, threads, tail, features, phases);
    let at = |x: isize, y: isize| luma[(y.clamp(0, height as isize - 1) as usize) * width + x.clamp(0, width as isize - 1) as usize];
    for y in 0..height {
        for x in 0..width {
            for dy in 0..2 {
                for dx in 0..2 {
                    let mut bilinear = 0.0;
                    for (ky, wy) in BILINEAR_TAPS[dy].iter().enumerate() {
                        for (kx, wx) in BILINEAR_TAPS[dx].iter().enumerate() {
                            bilinear += wy * wx * at(x as isize + kx as isize - 1, y as isize + ky as isize - 1);
                        }
                    }
                    output[(2 * y + dy) * 2 * width + 2 * x + dx] = phases[(y * width + x) * 4 + dy * 2 + dx] + bilinear;
                }
            }
        }
    }
}
