//! YUV to RGBA for the neural path: the network's upscaled luma, the stream's chroma upsampled
//! bilinearly (where the stream says its chroma samples sit), and the stream's matrix and range.
//! Chroma is interpolated along rows once per chroma row, then each output row blends two of
//! those and applies the matrix in straight loops over contiguous rows that the compiler
//! vectorises; rows are split across the kernel threads.

use ffmpeg::util::{chroma, color};
use ffmpeg_next as ffmpeg;
use rayon::prelude::*;

/// The YUV to RGB matrix of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    Bt601,
    Bt709,
    Bt2020,
}

impl Matrix {
    /// The stream's matrix; untagged ones get what players assume: BT.709 for HD, BT.601 for SD.
    pub fn of(space: color::Space, stream_height: u32) -> Matrix {
        match space {
            color::Space::BT709 => Matrix::Bt709,
            color::Space::BT2020NCL | color::Space::BT2020CL => Matrix::Bt2020,
            color::Space::BT470BG | color::Space::SMPTE170M => Matrix::Bt601,
            _ if stream_height >= 720 => Matrix::Bt709,
            _ => Matrix::Bt601,
        }
    }

    /// (Kr, Kb).
    fn weights(self) -> (f32, f32) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// The network was trained on limited-range luma (16-235 of 255, `model::photo::luma_of`): a
/// full-range stream's codes are squeezed into that range on the way in and stretched back on the
/// way out, and a limited-range stream's codes below black or above white (which the screen shows
/// as black and white) are taken as black and white. (Taken as they were, a code of 0 lay below
/// anything the network had seen, and the top rung lifted flat code 0 to 33.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkLuma {
    /// The network's input is `code * scale + offset`, clamped to `[low, high]`.
    pub scale: f32,
    pub offset: f32,
    pub low: f32,
    pub high: f32,
    /// Its output `v` is `(v - offset) * gain` of the stream's code range (0 to 1).
    pub gain: f32,
}

impl NetworkLuma {
    /// Floats in [0, 1] taken as they are.
    pub const IDENTITY: NetworkLuma = NetworkLuma { scale: 1.0, offset: 0.0, low: 0.0, high: 1.0, gain: 1.0 };

    /// The limited range, as a fraction of 255.
    const BLACK: f32 = 16.0 / 255.0;
    const WHITE: f32 = 235.0 / 255.0;

    /// Codes up to `max_code`, full range or limited.
    pub fn of_codes(max_code: f32, full_range: bool) -> Self {
        let (low, high) = (Self::BLACK, Self::WHITE);
        if full_range {
            let squeeze = high - low;
            NetworkLuma { scale: squeeze / max_code, offset: low, low, high, gain: 1.0 / squeeze }
        } else {
            NetworkLuma { scale: 1.0 / max_code, offset: 0.0, low, high, gain: 1.0 }
        }
    }

    pub fn input(self, code: f32) -> f32 {
        (code * self.scale + self.offset).clamp(self.low, self.high)
    }

    /// The network's outputs `values` as fractions of the stream's code range.
    pub fn to_code_range(self, values: &mut [f32]) {
        if (self.offset, self.gain) != (0.0, 1.0) {
            values.iter_mut().for_each(|value| *value = (*value - self.offset) * self.gain);
        }
    }
}

/// Everything about a stream's colour the conversion needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColourSpec {
    pub matrix: Matrix,
    pub full_range: bool,
    /// Bits per sample (8 or 10 in practice).
    pub bits: u32,
}

impl ColourSpec {
    /// The spec of `frame`, whose samples have `bits` bits.
    pub fn of_frame(frame: &ffmpeg::frame::Video, bits: u32) -> Self {
        let full_range = frame.color_range() == color::Range::JPEG || super::picture::is_yuvj(frame.format());
        Self { matrix: Matrix::of(frame.color_space(), frame.height()), full_range, bits }
    }

    /// The largest sample value.
    fn max_code(self) -> f32 {
        ((1u32 << self.bits) - 1) as f32
    }

    /// How this stream's luma codes reach the network and come back from it.
    pub fn network_luma(self) -> NetworkLuma {
        NetworkLuma::of_codes(self.max_code(), self.full_range)
    }

    /// The whole conversion as numbers, for the screen's shader (the same arithmetic as the CPU
    /// rows): `[y_scale, y_offset, c_scale, c_offset, r_v, g_u, g_v, b_u]`, with
    /// `r = y' + r_v cr`, `g = y' - g_u cb - g_v cr`, `b = y' + b_u cb`.
    pub fn coefficients(self) -> [f32; 8] {
        let (_, _, c_scale, c_offset) = self.affine();
        let m = RowMatrix::new(self);
        [m.y_scale, m.y_offset, c_scale, c_offset, m.r_v, m.g_u, m.g_v, m.b_u]
    }

    /// `(y_scale, y_offset, c_scale, c_offset)`: `y' = luma * y_scale + y_offset` for luma in
    /// [0, 1] of the code range, `c' = code * c_scale + c_offset` for a chroma code value.
    fn affine(self) -> (f32, f32, f32, f32) {
        let step = (1u32 << (self.bits - 8)) as f32;
        let max_code = self.max_code();
        if self.full_range {
            let centre = (1u32 << (self.bits - 1)) as f32;
            (1.0, 0.0, 1.0 / max_code, -centre / max_code)
        } else {
            (max_code / (219.0 * step), -16.0 / 219.0, 1.0 / (224.0 * step), -128.0 / 224.0)
        }
    }
}

/// Where chroma samples sit relative to luma, as a fraction of a chroma sample's span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Siting {
    /// 0: on the first luma sample of the span (left), 0.5: in its centre.
    pub horizontal: f32,
    pub vertical: f32,
}

impl Siting {
    /// FFmpeg's chroma location; unspecified is MPEG-2/H.264's left siting.
    pub fn of(location: chroma::Location) -> Self {
        let (horizontal, vertical) = match location {
            chroma::Location::Center => (0.5, 0.5),
            chroma::Location::TopLeft => (0.0, 0.0),
            chroma::Location::Top => (0.5, 0.0),
            chroma::Location::BottomLeft => (0.0, 1.0),
            chroma::Location::Bottom => (0.5, 1.0),
            chroma::Location::Left | chroma::Location::Unspecified => (0.0, 0.5),
        };
        Self { horizontal, vertical }
    }
}

/// One plane of 8-bit or 16-bit (little-endian, native) samples.
#[derive(Clone, Copy)]
pub struct SamplePlane<'a> {
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
    pub width: usize,
    pub height: usize,
    pub bytes_per_sample: usize,
}

impl SamplePlane<'_> {
    /// Plane `index` of `frame`, `width` x `height` samples.
    pub fn of_frame(
        frame: &ffmpeg::frame::Video,
        index: usize,
        width: usize,
        height: usize,
        bytes_per_sample: usize,
    ) -> SamplePlane<'_> {
        SamplePlane { data: frame.data(index), stride: frame.stride(index), width, height, bytes_per_sample }
    }

    /// Row `y` as code values, through `map`, into `out` (`width` values).
    pub fn read_row(&self, y: usize, out: &mut [f32], map: impl Fn(f32) -> f32) {
        let start = y * self.stride;
        if self.bytes_per_sample == 1 {
            for (o, &v) in out.iter_mut().zip(&self.data[start..start + self.width]) {
                *o = map(f32::from(v));
            }
        } else {
            for (o, v) in out.iter_mut().zip(self.data[start..start + 2 * self.width].chunks_exact(2)) {
                *o = map(f32::from(u16::from_ne_bytes([v[0], v[1]])));
            }
        }
    }
}

/// One interpolation step: `a * (1 - t) + b * t` between samples `a` and `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    a: usize,
    b: usize,
    t: f32,
}

/// Taps mapping `out` output positions onto `samples` chroma samples, each covering `span` source
/// luma samples: output position `i` is at source luma position `(i + 0.5) / scale - 0.5`, chroma
/// sample `j` at `j * span + siting * (span - 1)`.
fn taps(out: usize, samples: usize, scale: f32, span: f32, siting: f32) -> Vec<Tap> {
    (0..out)
        .map(|i| {
            let luma_position = (i as f32 + 0.5) / scale - 0.5;
            let position = ((luma_position - siting * (span - 1.0)) / span).clamp(0.0, (samples - 1) as f32);
            let a = position.floor() as usize;
            Tap { a, b: (a + 1).min(samples - 1), t: position - a as f32 }
        })
        .collect()
}

/// The converter for one frame geometry; buffers are kept between frames.
#[derive(Default)]
pub struct YuvToRgba {
    key: Option<(usize, usize, usize, usize, u32, u32)>,
    columns: Vec<Tap>,
    rows: Vec<Tap>,
    /// Chroma rows interpolated along the row to the output width: U rows, then V rows.
    wide_chroma: Vec<f32>,
}

impl YuvToRgba {
    /// Writes `rgba` (`out_width` x `out_height`, 4 bytes per pixel) from `luma` (the same size,
    /// values in [0, 1] of the code range) and the chroma planes `u` and `v`, whose samples each
    /// span `span_x` x `span_y` source luma samples; the output is `scale` times the source.
    #[allow(clippy::too_many_arguments)]
    pub fn convert(
        &mut self,
        pool: &rayon::ThreadPool,
        luma: &[f32],
        (out_width, out_height): (usize, usize),
        [u, v]: [SamplePlane<'_>; 2],
        (span_x, span_y): (u32, u32),
        scale: u32,
        siting: Siting,
        spec: ColourSpec,
        rgba: &mut [u8],
    ) {
        let (cw, ch) = (u.width, u.height);
        let key = (out_width, out_height, cw, ch, span_x * 16 + span_y, scale);
        if self.key != Some(key) || self.rows.is_empty() {
            self.columns = taps(out_width, cw, scale as f32, span_x as f32, siting.horizontal);
            self.rows = taps(out_height, ch, scale as f32, span_y as f32, siting.vertical);
            self.wide_chroma = vec![0.0; 2 * ch * out_width];
            self.key = Some(key);
        }
        let columns = &self.columns;
        let (wide_u, wide_v) = self.wide_chroma.split_at_mut(ch * out_width);
        let (_, _, c_scale, c_offset) = spec.affine();
        pool.install(|| {
            for (plane, wide) in [(u, &mut *wide_u), (v, &mut *wide_v)] {
                wide.par_chunks_mut(out_width).enumerate().for_each(|(y, wide_row)| {
                    let start = y * plane.stride;
                    let sample = |x: usize| -> f32 {
                        if plane.bytes_per_sample == 1 {
                            f32::from(plane.data[start + x])
                        } else {
                            f32::from(u16::from_ne_bytes([plane.data[start + 2 * x], plane.data[start + 2 * x + 1]]))
                        }
                    };
                    for (out, tap) in wide_row.iter_mut().zip(columns) {
                        let (a, b) = (sample(tap.a), sample(tap.b));
                        *out = (a + (b - a) * tap.t) * c_scale + c_offset;
                    }
                });
            }
        });
        let (wide_u, wide_v) = (&*wide_u, &*wide_v);
        let rows = &self.rows;
        let matrix = RowMatrix::new(spec);
        let rgba = &mut rgba[..out_width * out_height * 4];
        pool.install(|| {
            rgba.par_chunks_mut(out_width * 4).zip(luma.par_chunks(out_width)).enumerate().for_each(
                |(y, (out_row, luma_row))| {
                    let Tap { a, b, t } = rows[y];
                    fn row(wide: &[f32], index: usize, width: usize) -> &[f32] {
                        &wide[index * width..(index + 1) * width]
                    }
                    let chroma = [
                        row(wide_u, a, out_width),
                        row(wide_u, b, out_width),
                        row(wide_v, a, out_width),
                        row(wide_v, b, out_width),
                    ];
                    matrix.convert_row(luma_row, chroma, t, out_row);
                },
            );
        });
    }
}

/// The matrix and range of a stream, as the coefficients one output row needs.
#[derive(Debug, Clone, Copy)]
struct RowMatrix {
    y_scale: f32,
    y_offset: f32,
    r_v: f32,
    g_u: f32,
    g_v: f32,
    b_u: f32,
}

impl RowMatrix {
    fn new(spec: ColourSpec) -> Self {
        let (y_scale, y_offset, _, _) = spec.affine();
        let (kr, kb) = spec.matrix.weights();
        let kg = 1.0 - kr - kb;
        Self {
            y_scale,
            y_offset,
            r_v: 2.0 * (1.0 - kr),
            g_u: 2.0 * kb * (1.0 - kb) / kg,
            g_v: 2.0 * kr * (1.0 - kr) / kg,
            b_u: 2.0 * (1.0 - kb),
        }
    }

    /// One output row: chroma blended between rows `[u_a, u_b, v_a, v_b]` at `t`, then RGBA.
    fn convert_row(&self, luma: &[f32], chroma: [&[f32]; 4], t: f32, out: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { self.convert_row_avx2(luma, chroma, t, out) };
        }
        self.convert_row_generic(luma, chroma, t, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn convert_row_avx2(&self, luma: &[f32], chroma: [&[f32]; 4], t: f32, out: &mut [u8]) {
        self.convert_row_generic(luma, chroma, t, out);
    }

    /// Straight-line arithmetic on whole rows, a pixel per u32, so it compiles to vector code.
    #[inline(always)]
    fn convert_row_generic(&self, luma: &[f32], [u0, u1, v0, v1]: [&[f32]; 4], t: f32, out: &mut [u8]) {
        let width = luma.len();
        let (u0, u1, v0, v1) = (&u0[..width], &u1[..width], &v0[..width], &v1[..width]);
        // SAFETY: any four bytes are a valid u32.
        let (prefix, words, _) = unsafe { out[..4 * width].align_to_mut::<u32>() };
        assert!(prefix.is_empty(), "RGBA rows start on a 4-byte boundary");
        let words = &mut words[..width];
        // `max` then `min` never yield NaN (`max` drops a NaN operand), so the unchecked
        // conversion, which compiles to one vector instruction, is always in range.
        // SAFETY: the value is finite and within 0..=255.
        #[allow(clippy::manual_clamp)] // `clamp` would pass a NaN on to the unchecked conversion
        let to_byte =
            |value: f32| unsafe { (value * 255.0 + 0.5).max(0.0).min(255.0).to_int_unchecked::<i32>() } as u32;
        for x in 0..width {
            let y = luma[x] * self.y_scale + self.y_offset;
            let cb = u0[x] + (u1[x] - u0[x]) * t;
            let cr = v0[x] + (v1[x] - v0[x]) * t;
            let (r, g, b) = (y + self.r_v * cr, y - self.g_u * cb - self.g_v * cr, y + self.b_u * cb);
            words[x] = (to_byte(r) | to_byte(g) << 8 | to_byte(b) << 16 | 0xff00_0000).to_le();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap()
    }

    fn convert_one(y: u16, u: u16, v: u16, spec: ColourSpec) -> [u8; 4] {
        let bytes = if spec.bits > 8 { 2 } else { 1 };
        let encode = |code: u16| if bytes == 1 { vec![code as u8] } else { code.to_ne_bytes().to_vec() };
        let (u_data, v_data) = (encode(u), encode(v));
        let plane = |data| SamplePlane { data, stride: bytes, width: 1, height: 1, bytes_per_sample: bytes };
        let mut rgba = [0u8; 4];
        let luma = [f32::from(y) / spec.max_code()];
        YuvToRgba::default().convert(
            &pool(),
            &luma,
            (1, 1),
            [plane(&u_data), plane(&v_data)],
            (1, 1),
            1,
            Siting::of(chroma::Location::Left),
            spec,
            &mut rgba,
        );
        rgba
    }

    /// Published values: limited-range white, black and the primaries of each matrix.
    #[test]
    fn known_colours_come_out_right() {
        let spec = |matrix, bits| ColourSpec { matrix, full_range: false, bits };
        assert_eq!(convert_one(235, 128, 128, spec(Matrix::Bt709, 8)), [255, 255, 255, 255]);
        assert_eq!(convert_one(16, 128, 128, spec(Matrix::Bt601, 8)), [0, 0, 0, 255]);
        assert_eq!(convert_one(940, 512, 512, spec(Matrix::Bt2020, 10)), [255, 255, 255, 255]);
        // BT.601 red (81, 90, 240), BT.709 red (63, 102, 240), BT.709 green (173, 42, 26).
        let close = |got: [u8; 4], want: [u8; 3]| got[..3].iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 2);
        assert!(close(convert_one(81, 90, 240, spec(Matrix::Bt601, 8)), [255, 0, 0]));
        assert!(close(convert_one(63, 102, 240, spec(Matrix::Bt709, 8)), [255, 0, 0]));
        assert!(close(convert_one(173, 42, 26, spec(Matrix::Bt709, 8)), [0, 255, 0]));
        // BT.2020 10-bit blue: (Y, Cb, Cr) = (116, 960, 476).
        assert!(close(convert_one(116, 960, 476, spec(Matrix::Bt2020, 10)), [0, 0, 255]));
        // Full range: the code values are the values.
        let full = ColourSpec { matrix: Matrix::Bt601, full_range: true, bits: 8 };
        assert_eq!(convert_one(255, 128, 128, full), [255, 255, 255, 255]);
    }

    #[test]
    fn untagged_streams_get_the_players_default_matrix() {
        assert_eq!(Matrix::of(color::Space::Unspecified, 720), Matrix::Bt709);
        assert_eq!(Matrix::of(color::Space::Unspecified, 480), Matrix::Bt601);
        assert_eq!(Matrix::of(color::Space::BT2020NCL, 480), Matrix::Bt2020);
    }

    fn xorshift(state: &mut u32) -> u32 {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        *state
    }

    /// Same-size 4:4:4 frames (no chroma interpolation) against swscale's conversion, for every
    /// matrix, both ranges, 8 and 10 bits.
    #[test]
    fn matches_swscale_for_each_matrix_range_and_depth() {
        use ffmpeg::format::Pixel;
        use ffmpeg::software::scaling::{Context, Flags};
        crate::media::init_ffmpeg();
        let (width, height) = (48, 20);
        let mut state = 7;
        for (format, bits) in [(Pixel::YUV444P, 8), (Pixel::YUV444P10LE, 10)] {
            for space in [color::Space::BT709, color::Space::BT470BG, color::Space::BT2020NCL] {
                for range in [color::Range::MPEG, color::Range::JPEG] {
                    let mut frame = ffmpeg::frame::Video::new(format, width, height);
                    frame.set_color_space(space);
                    frame.set_color_range(range);
                    let step = 1u32 << (bits - 8);
                    for plane in 0..3 {
                        let (low, high) = match (range, plane) {
                            (color::Range::JPEG, _) => (0, (1 << bits) - 1),
                            (_, 0) => (16 * step, 235 * step),
                            _ => (16 * step, 240 * step),
                        };
                        let stride = frame.stride(plane);
                        let data = frame.data_mut(plane);
                        for y in 0..height as usize {
                            for x in 0..width as usize {
                                let code = low + xorshift(&mut state) % (high - low + 1);
                                if bits == 8 {
                                    data[y * stride + x] = code as u8;
                                } else {
                                    data[y * stride + 2 * x..y * stride + 2 * x + 2]
                                        .copy_from_slice(&(code as u16).to_ne_bytes());
                                }
                            }
                        }
                    }
                    let mut reference = ffmpeg::frame::Video::empty();
                    let mut context = Context::get(
                        format,
                        width,
                        height,
                        Pixel::RGBA,
                        width,
                        height,
                        Flags::POINT | Flags::ACCURATE_RND | Flags::FULL_CHR_H_INT,
                    )
                    .unwrap();
                    crate::engine::swscale::set_colour_details(&mut context, space, range, height);
                    context.run(&frame, &mut reference).unwrap();

                    let spec = ColourSpec::of_frame(&frame, bits);
                    let bytes = if bits > 8 { 2 } else { 1 };
                    let (w, h) = (width as usize, height as usize);
                    let mut luma = vec![0.0; w * h];
                    let luma_plane = SamplePlane::of_frame(&frame, 0, w, h, bytes);
                    for (y, row) in luma.chunks_exact_mut(w).enumerate() {
                        luma_plane.read_row(y, row, |code| code / spec.max_code());
                    }
                    let chroma = [1, 2].map(|index| SamplePlane::of_frame(&frame, index, w, h, bytes));
                    let mut ours = vec![0u8; w * h * 4];
                    YuvToRgba::default().convert(
                        &pool(),
                        &luma,
                        (w, h),
                        chroma,
                        (1, 1),
                        1,
                        Siting::of(chroma::Location::Center),
                        spec,
                        &mut ours,
                    );
                    let mut expected = vec![0u8; w * 4 * h];
                    crate::engine::swscale::copy_plane(&reference, 0, w * 4, &mut expected);
                    let worst = ours.iter().zip(&expected).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
                    assert!(worst <= 2, "{format:?} {space:?} {range:?}: off by {worst}");
                }
            }
        }
    }

    /// Left-sited 4:2:0 chroma: output pixels on a chroma sample get it exactly; between samples,
    /// the blend of the two neighbours; past the edges, the edge sample.
    #[test]
    fn chroma_taps_follow_the_siting() {
        let left = taps(8, 2, 2.0, 2.0, 0.0);
        // Output x = 1 is source luma x = 0.25: chroma position 0.125.
        assert_eq!(left[1], Tap { a: 0, b: 1, t: 0.125 });
        assert_eq!(left[0], Tap { a: 0, b: 1, t: 0.0 });
        assert_eq!(left[7].a, 1);
        let centred = taps(4, 2, 1.0, 2.0, 0.5);
        // Luma x = 2 is chroma position 0.75 when samples sit between luma pairs.
        assert_eq!(centred[2], Tap { a: 0, b: 1, t: 0.75 });
    }
}
