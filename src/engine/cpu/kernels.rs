//! 3x3 convolutions on channel planes, vectorised along image rows: each step loads `Q` vectors of
//! neighbouring pixels of one input channel and multiplies them by `R` broadcast weights, one per
//! output channel, into `R x Q` accumulators that stay in registers. So any channel count (1 to the
//! widest) uses full vectors, and every load feeds several FMAs. Bias, residual and ReLU are fused
//! into the store; the tail is fused with the bilinear residual and the pixel shuffle. One generic
//! body ([`Lanes`]) is compiled for AVX-512, AVX2+FMA and a portable path; rows are split across
//! a thread pool.

use rayon::prelude::*;

use super::lanes::{Lanes, Portable};
use crate::model::supernet::BILINEAR_TAPS;

/// Columns past the right border that a row's last vector block may write (and read) into.
const SLACK: usize = 64;

/// Which code path runs the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2Fma,
    Portable,
}

impl Isa {
    /// The best path this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx2Fma;
            }
        }
        Isa::Portable
    }

    /// Every path this CPU can run, best first.
    pub fn supported() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2Fma, Isa::Portable].into_iter().filter(|isa| isa.is_supported()).collect()
    }

    /// Whether this CPU can run `self` (checked on every layer, so it allocates nothing).
    pub fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
            Isa::Portable => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Portable => "portable",
        }
    }

    /// Output channels computed together (`R`) for a layer with `out_channels`.
    fn channel_block(self, out_channels: usize) -> usize {
        match (self, out_channels) {
            (Isa::Avx512, c) if c % 8 == 0 => 8,
            (_, c) if c % 4 == 0 => 4,
            _ => 1,
        }
    }
}

/// One convolution, weights packed as `[out block][in][ky][kx][R]`: the `R` weights one step
/// broadcasts are adjacent, and one block's weights are read in order.
#[derive(Debug, Clone)]
pub struct PackedConv {
    pub in_channels: usize,
    pub out_channels: usize,
    /// Output channels per block (`R`), chosen for the instruction set.
    pub block: usize,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub relu: bool,
    /// Adds the input pixel before the activation (needs `in_channels == out_channels`).
    pub residual: bool,
}

impl PackedConv {
    /// Packs burn's `[out, in, 3, 3]` weights for `isa`.
    pub fn pack(
        isa: Isa,
        weights_oihw: &[f32],
        bias: &[f32],
        in_channels: usize,
        out_channels: usize,
        relu: bool,
        residual: bool,
    ) -> Self {
        assert_eq!(weights_oihw.len(), out_channels * in_channels * 9);
        assert!(!residual || in_channels == out_channels, "a residual layer keeps its width");
        let block = isa.channel_block(out_channels);
        let mut weights = Vec::with_capacity(weights_oihw.len());
        for first in (0..out_channels).step_by(block) {
            for i in 0..in_channels {
                for tap in 0..9 {
                    weights.extend((first..first + block).map(|o| weights_oihw[(o * in_channels + i) * 9 + tap]));
                }
            }
        }
        Self { in_channels, out_channels, block, weights, bias: bias.to_vec(), relu, residual }
    }

    /// The convolution whose forward pass is the input gradient of the layer with burn's
    /// `[out, in, 3, 3]` weights: those weights flipped in both directions, inputs and outputs
    /// swapped, no bias and no ReLU. With `residual`, its input (the layer's output gradient) is
    /// added, the gradient of the layer's skip connection.
    pub fn transposed(isa: Isa, weights_oihw: &[f32], in_channels: usize, out_channels: usize, residual: bool) -> Self {
        let mut flipped = vec![0.0; weights_oihw.len()];
        for o in 0..out_channels {
            for i in 0..in_channels {
                for tap in 0..9 {
                    flipped[(i * out_channels + o) * 9 + 8 - tap] = weights_oihw[(o * in_channels + i) * 9 + tap];
                }
            }
        }
        Self::pack(isa, &flipped, &vec![0.0; in_channels], out_channels, in_channels, false, residual)
    }

    /// Multiply-adds per pixel.
    pub fn macs_per_pixel(&self) -> usize {
        self.in_channels * self.out_channels * 9
    }
}

/// `channels` planes of `width` x `height` values with a one-pixel zero border (the convolutions'
/// padding) and slack columns on the right, so a row's vector blocks never need a bounds check.
#[derive(Debug, Clone)]
pub struct Planes {
    pub data: Vec<f32>,
    pub channels: usize,
    pub width: usize,
    pub height: usize,
    /// Values from one row to the next.
    pub stride: usize,
    /// Values from one channel to the next.
    pub plane: usize,
}

impl Planes {
    /// Bytes of `channels` planes of `width` x `height`.
    pub fn bytes_for(channels: usize, width: usize, height: usize) -> usize {
        4 * channels * (width + 2 + SLACK) * (height + 2)
    }

    pub fn new(channels: usize, width: usize, height: usize) -> Self {
        let stride = width + 2 + SLACK;
        let plane = stride * (height + 2);
        Self { data: vec![0.0; channels * plane], channels, width, height, stride, plane }
    }

    /// Index of pixel (`x`, `y`) of `channel` (image coordinates; -1 and `width` are the border).
    #[inline(always)]
    pub fn index(&self, channel: usize, x: usize, y: usize) -> usize {
        channel * self.plane + (y + 1) * self.stride + x + 1
    }

    /// Row `y` of `channel`: `width` values.
    pub fn row(&self, channel: usize, y: usize) -> &[f32] {
        let start = self.index(channel, 0, y);
        &self.data[start..start + self.width]
    }

    pub fn row_mut(&mut self, channel: usize, y: usize) -> &mut [f32] {
        let start = self.index(channel, 0, y);
        &mut self.data[start..start + self.width]
    }

    /// Uses the first `channels` planes (the buffer keeps its size, so a narrower layer reuses it).
    pub fn set_channels(&mut self, channels: usize) {
        assert!(channels * self.plane <= self.data.len(), "{channels} channels do not fit");
        self.channels = channels;
    }

    pub fn has_shape(&self, channels: usize, width: usize, height: usize) -> bool {
        (self.channels, self.width, self.height) == (channels, width, height)
    }
}

/// A raw pointer that row tasks share; each task writes only its own rows.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint rows (see `for_each_row`), and the owner waits for all of them.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

/// Computes output row `y` of `conv` for every output channel.
///
/// # Safety
/// `output` is a `Planes` of the same geometry as `input` with `conv.out_channels` channels that
/// nobody else writes at row `y`; the CPU runs `L`.
#[inline(always)]
unsafe fn conv_row<L: Lanes, const R: usize, const Q: usize>(
    conv: &PackedConv,
    input: &Planes,
    output: *mut f32,
    y: usize,
) {
    let (cin, width, stride, plane) = (conv.in_channels, input.width, input.stride, input.plane);
    let block = L::WIDTH * Q;
    let source = input.data.as_ptr();
    for first in (0..conv.out_channels).step_by(R) {
        let weights = conv.weights[first * cin * 9..(first + R) * cin * 9].as_ptr();
        let mut x = 0;
        while x < width {
            // SAFETY (all pointer arithmetic below): the top-left neighbour of pixel (x, y) is at
            // padded (x, y); a block reads columns up to x + block + 1 < width + 2 + SLACK.
            unsafe {
                let mut acc: [[L; Q]; R] = std::array::from_fn(|r| [L::splat(conv.bias[first + r]); Q]);
                for channel in 0..cin {
                    let top_left = source.add(channel * plane + y * stride + x);
                    let taps = weights.add(channel * 9 * R);
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let row = top_left.add(ky * stride + kx);
                            let pixels: [L; Q] = std::array::from_fn(|q| L::load(row.add(q * L::WIDTH)));
                            let tap = taps.add((ky * 3 + kx) * R);
                            for (r, acc) in acc.iter_mut().enumerate() {
                                let weight = L::splat(*tap.add(r));
                                for (a, p) in acc.iter_mut().zip(&pixels) {
                                    *a = a.mul_add(*p, weight);
                                }
                            }
                        }
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    let at = input.index(first + r, x, y);
                    for (q, a) in acc.iter().enumerate() {
                        let mut value = *a;
                        if conv.residual {
                            value = value.add(L::load(source.add(at + q * L::WIDTH)));
                        }
                        if conv.relu {
                            value = value.max_zero();
                        }
                        value.store(output.add(at + q * L::WIDTH));
                    }
                }
            }
            x += block;
        }
        // The last block wrote past the image: restore the zero border (and clear the slack).
        for channel in first..first + R {
            let row_end = channel * plane + (y + 1) * stride;
            // SAFETY: columns width + 1 ..= x inside this row of this plane, which this task owns.
            unsafe { std::ptr::write_bytes(output.add(row_end + width + 1), 0, x - width) };
        }
    }
}

// Register budgets: AVX-512 has 32 vector registers (8 x 3 accumulators), AVX2 16 (4 x 2, beside
// the two pixel vectors and the weight: with 4 x 3 the compiler spilled pixels to the stack).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn conv_row_avx512(conv: &PackedConv, input: &Planes, output: *mut f32, y: usize) {
    use super::lanes::Avx512;
    // SAFETY: forwarded from the caller.
    unsafe {
        match conv.block {
            8 => conv_row::<Avx512, 8, 3>(conv, input, output, y),
            4 => conv_row::<Avx512, 4, 4>(conv, input, output, y),
            _ => conv_row::<Avx512, 1, 4>(conv, input, output, y),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn conv_row_avx2(conv: &PackedConv, input: &Planes, output: *mut f32, y: usize) {
    use super::lanes::Avx2;
    // SAFETY: forwarded from the caller.
    unsafe {
        match conv.block {
            4 => conv_row::<Avx2, 4, 2>(conv, input, output, y),
            _ => conv_row::<Avx2, 1, 8>(conv, input, output, y),
        }
    }
}

/// The portable path (no target features to enable).
unsafe fn conv_row_portable(conv: &PackedConv, input: &Planes, output: *mut f32, y: usize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match conv.block {
            4 => conv_row::<Portable, 4, 2>(conv, input, output, y),
            _ => conv_row::<Portable, 1, 4>(conv, input, output, y),
        }
    }
}

/// Runs `task(y)` for every row, in strips spread over `pool`'s threads.
fn for_each_row(pool: &rayon::ThreadPool, height: usize, task: impl Fn(usize) + Send + Sync) {
    // A few strips per thread evens out the load; strips of several rows keep weights hot.
    let strips = (pool.current_num_threads() * 4).min(height).max(1);
    let per_strip = height.div_ceil(strips);
    pool.install(|| {
        (0..height.div_ceil(per_strip)).into_par_iter().for_each(|strip| {
            (strip * per_strip..((strip + 1) * per_strip).min(height)).for_each(&task);
        })
    });
}

/// The row function of `conv` for `isa`.
fn row_kernel(isa: Isa, conv: &PackedConv) -> unsafe fn(&PackedConv, &Planes, *mut f32, usize) {
    assert_eq!(conv.block, isa.channel_block(conv.out_channels), "weights packed for another instruction set");
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => conv_row_avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => conv_row_avx2,
        _ => conv_row_portable,
    }
}

/// `output = conv(input)`, one row per task.
///
/// # Panics
/// If the planes do not have the layer's shape, or `isa` is not supported by this CPU.
pub fn conv3x3(isa: Isa, pool: &rayon::ThreadPool, conv: &PackedConv, input: &Planes, output: &mut Planes) {
    let kernel = checked_kernel(isa, conv, input, output);
    let out = SharedOut(output.data.as_mut_ptr());
    // SAFETY: the CPU supports `isa` and the shapes match (checked); each row is one task's.
    for_each_row(pool, input.height, |y| unsafe { kernel(conv, input, { out }.0, y) });
}

/// `output = conv(input)` on the calling thread (training runs one image strip per thread), and
/// `finish_row(output, y)` after each row `y`, while that row is still in cache.
///
/// # Panics
/// As [`conv3x3`].
pub fn conv3x3_serial(
    isa: Isa,
    conv: &PackedConv,
    input: &Planes,
    output: &mut Planes,
    mut finish_row: impl FnMut(&mut Planes, usize),
) {
    let kernel = checked_kernel(isa, conv, input, output);
    for y in 0..input.height {
        // SAFETY: the CPU supports `isa` and the shapes match (checked); one writer.
        unsafe { kernel(conv, input, output.data.as_mut_ptr(), y) };
        finish_row(output, y);
    }
}

/// The row function of `conv` for `isa`, after checking that the CPU runs `isa` and that the
/// planes have the layer's shape.
fn checked_kernel(
    isa: Isa,
    conv: &PackedConv,
    input: &Planes,
    output: &Planes,
) -> unsafe fn(&PackedConv, &Planes, *mut f32, usize) {
    assert!(isa.is_supported(), "{} is not supported by this CPU", isa.name());
    assert!(input.has_shape(conv.in_channels, input.width, input.height));
    assert!(output.has_shape(conv.out_channels, input.width, input.height));
    row_kernel(isa, conv)
}

/// The tail, fused: `tail` (width -> 4 phases) on `features` into `phases`, then the bilinear x2
/// phases of `luma` added and pixel-shuffled into `output` (2W x 2H), row by row in one task.
pub fn tail_bilinear_shuffle(
    isa: Isa,
    pool: &rayon::ThreadPool,
    tail: &PackedConv,
    features: &Planes,
    luma: &Planes,
    phases: &mut Planes,
    output: &mut [f32],
) {
    assert!(isa.is_supported(), "{} is not supported by this CPU", isa.name());
    assert!(phases.has_shape(4, features.width, features.height) && luma.has_shape(1, features.width, features.height));
    let (width, height) = (features.width, features.height);
    let output = &mut output[..4 * width * height];
    let kernel = row_kernel(isa, tail);
    let phases_out = SharedOut(phases.data.as_mut_ptr());
    let out = SharedOut(output.as_mut_ptr());
    let (phases_stride, phases_plane) = (phases.stride, phases.plane);
    for_each_row(pool, height, |y| {
        // SAFETY: as in `conv3x3`; then row y of the phases is this task's, and so are output rows
        // 2y and 2y + 1.
        unsafe {
            kernel(tail, features, { phases_out }.0, y);
            let phase_row = |phase: usize| {
                let start = phase * phases_plane + (y + 1) * phases_stride + 1;
                std::slice::from_raw_parts({ phases_out }.0.add(start), width)
            };
            for dy in 0..2 {
                let target = std::slice::from_raw_parts_mut({ out }.0.add((2 * y + dy) * 2 * width), 2 * width);
                shuffle_row(luma, y, dy, [phase_row(2 * dy), phase_row(2 * dy + 1)], target);
            }
        }
    });
}

/// Output row `2y + dy`: the two phases of that row plus the bilinear x2 of `luma` (edges
/// replicated), interleaved.
fn shuffle_row(luma: &Planes, y: usize, dy: usize, phases: [&[f32]; 2], target: &mut [f32]) {
    let (width, height) = (luma.width, luma.height);
    let [above, centre, below] = BILINEAR_TAPS[dy];
    let (row_above, row_centre, row_below) =
        (luma.row(0, y.saturating_sub(1)), luma.row(0, y), luma.row(0, (y + 1).min(height - 1)));
    let vertical = |x: usize| above * row_above[x] + centre * row_centre[x] + below * row_below[x];
    let [[left0, centre0, right0], [left1, centre1, right1]] = BILINEAR_TAPS;
    let (mut previous, mut current) = (vertical(0), vertical(0));
    for x in 0..width {
        let next = vertical((x + 1).min(width - 1));
        target[2 * x] = phases[0][x] + left0 * previous + centre0 * current + right0 * next;
        target[2 * x + 1] = phases[1][x] + left1 * previous + centre1 * current + right1 * next;
        (previous, current) = (current, next);
    }
}

/// Peak multiply-add throughput of `isa` on `threads` threads, in GFLOP/s (2 FLOP per FMA lane):
/// independent FMA chains, enough of them to hide the latency.
pub fn fma_peak_gflops(isa: Isa, threads: usize, iterations: usize) -> f64 {
    #[inline(always)]
    unsafe fn chains<L: Lanes>(iterations: usize) -> f32 {
        const CHAINS: usize = 12;
        // SAFETY: forwarded from the caller.
        unsafe {
            let mut acc = [L::splat(1.0); CHAINS];
            let (a, b) = (L::splat(0.999_999), L::splat(1e-7));
            for _ in 0..iterations {
                for value in &mut acc {
                    *value = b.mul_add(*value, a);
                }
            }
            let mut sum = [0.0f32; 16];
            acc.iter().fold(L::splat(0.0), |s, v| s.add(*v)).store(sum.as_mut_ptr());
            sum[0]
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512(iterations: usize) -> f32 {
        // SAFETY: forwarded from the caller.
        unsafe { chains::<super::lanes::Avx512>(iterations) }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(iterations: usize) -> f32 {
        // SAFETY: forwarded from the caller.
        unsafe { chains::<super::lanes::Avx2>(iterations) }
    }
    assert!(isa.is_supported(), "{} is not supported by this CPU", isa.name());
    let lanes = match isa {
        Isa::Avx512 => 16,
        _ => 8,
    };
    let start = std::time::Instant::now();
    let sums: Vec<f32> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || match isa {
                    // SAFETY: `isa` is supported (checked above).
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => unsafe { avx512(iterations) },
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2Fma => unsafe { avx2(iterations) },
                    // SAFETY: the portable lanes need nothing.
                    _ => unsafe { chains::<Portable>(iterations) },
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("FMA loop")).collect()
    });
    std::hint::black_box(sums);
    let flops = 2.0 * 12.0 * lanes as f64 * iterations as f64 * threads as f64;
    flops / start.elapsed().as_secs_f64() / 1e9
}
