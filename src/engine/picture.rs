//! What the SR worker hands to the screen: the decoded planes as the decoder made them, and the
//! network's x2 luma when the network ran. The window's shader converts and scales them on the
//! GPU (the window's `ui::video_view`); nothing here builds an RGB picture.

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{Context as SwsContext, Flags};
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use super::{BufferPool, EngineError, PooledBytes};

/// How a frame's planes lie in memory, for upload as textures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneLayout {
    /// Bits per sample (8 to 16); samples over 8 bits take two bytes, little-endian.
    pub bits: u32,
    /// log2 of the chroma subsampling, horizontally and vertically.
    pub chroma_shift: (u32, u32),
    /// Chroma in one interleaved plane (NV12, P010) rather than two.
    pub semi_planar: bool,
}

impl PlaneLayout {
    /// The layout of `format`, when the screen path reads it as it is.
    pub fn of(format: Pixel) -> Option<Self> {
        let (bits, semi_planar) = match format {
            Pixel::YUV420P | Pixel::YUVJ420P | Pixel::YUV422P | Pixel::YUVJ422P | Pixel::YUV444P | Pixel::YUVJ444P => {
                (8, false)
            }
            Pixel::YUV420P10LE | Pixel::YUV422P10LE | Pixel::YUV444P10LE => (10, false),
            Pixel::YUV420P12LE | Pixel::YUV422P12LE | Pixel::YUV444P12LE => (12, false),
            Pixel::YUV420P16LE | Pixel::YUV422P16LE | Pixel::YUV444P16LE => (16, false),
            Pixel::NV12 => (8, true),
            // P010 keeps its 10 bits in the high bits of each 16-bit sample: read as 16-bit.
            Pixel::P010LE | Pixel::P016LE => (16, true),
            _ => return None,
        };
        let descriptor = format.descriptor()?;
        Some(Self {
            bits,
            chroma_shift: (u32::from(descriptor.log2_chroma_w()), u32::from(descriptor.log2_chroma_h())),
            semi_planar,
        })
    }

    pub fn bytes_per_sample(self) -> usize {
        if self.bits > 8 { 2 } else { 1 }
    }

    /// The size of the chroma planes of a `width` x `height` frame.
    pub fn chroma_size(self, width: u32, height: u32) -> (u32, u32) {
        (width.div_ceil(1 << self.chroma_shift.0), height.div_ceil(1 << self.chroma_shift.1))
    }
}

/// Whether `format` holds RGB (or palette) pictures rather than luma and chroma.
fn is_rgb(format: Pixel) -> bool {
    format.descriptor().is_some_and(|descriptor| {
        // SAFETY: a descriptor from FFmpeg's static table.
        let flags = unsafe { (*descriptor.as_ptr()).flags };
        flags & (ffmpeg::ffi::AV_PIX_FMT_FLAG_RGB | ffmpeg::ffi::AV_PIX_FMT_FLAG_PAL) as u64 != 0
    })
}

/// Whether `format` is one of FFmpeg's `yuvj` formats, full range whatever the frame's tag says.
pub fn is_yuvj(format: Pixel) -> bool {
    matches!(format, Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P | Pixel::YUVJ411P)
}

/// The matrix and range of a `format` frame tagged `space` and `range` once swscale has brought it
/// to a YUV format set up by [`set_yuv_colour`]: RGB and palette pictures become full-range BT.601
/// (all 256 levels kept); luma-and-chroma ones keep their codes, so their tags (a `yuvj` format's
/// range is full whatever its tag says, and grey without a range tag is full, as FFmpeg takes it).
pub fn yuv_tags(format: Pixel, space: color::Space, range: color::Range) -> (color::Space, color::Range) {
    let grey = format.descriptor().is_some_and(|descriptor| descriptor.nb_components() <= 2);
    if is_rgb(format) {
        (color::Space::SMPTE170M, color::Range::JPEG)
    } else if is_yuvj(format) || (grey && range == color::Range::Unspecified) {
        (space, color::Range::JPEG)
    } else {
        (space, range)
    }
}

/// Sets `context`, converting `format` frames to a YUV format, to write the codes [`yuv_tags`]
/// describes. Left alone, swscale writes limited-range codes whatever the source, so a full-range
/// or RGB source would come out squeezed under tags that say full range.
pub fn set_yuv_colour(context: &mut SwsContext, format: Pixel) {
    // SAFETY: reads and writes the context's own colour details through FFmpeg's accessors; the
    // coefficient table is FFmpeg's static one.
    unsafe {
        let context = context.as_mut_ptr();
        let (mut inverse_table, mut table) = (std::ptr::null_mut(), std::ptr::null_mut());
        let (mut source_range, mut destination_range, mut brightness, mut contrast, mut saturation) = (0, 0, 0, 0, 0);
        if ffmpeg::ffi::sws_getColorspaceDetails(
            context,
            &mut inverse_table,
            &mut source_range,
            &mut table,
            &mut destination_range,
            &mut brightness,
            &mut contrast,
            &mut saturation,
        ) < 0
        {
            return;
        }
        let (table, destination_range) = if is_rgb(format) {
            (ffmpeg::ffi::sws_getCoefficients(ffmpeg::ffi::SWS_CS_ITU601), 1)
        } else {
            (table.cast_const(), source_range)
        };
        ffmpeg::ffi::sws_setColorspaceDetails(
            context,
            inverse_table.cast_const(),
            source_range,
            table,
            destination_range,
            brightness,
            contrast,
            saturation,
        );
    }
}

/// The 4:2:0 format `format`'s frames are brought to: 10-bit from a deeper format (8 bits would
/// band what the input did not), 8-bit otherwise.
pub fn planar_format(format: Pixel) -> Pixel {
    // SAFETY: a descriptor from FFmpeg's static table, which has at least one component.
    let depth = format.descriptor().map_or(8, |descriptor| unsafe { (*descriptor.as_ptr()).comp[0].depth });
    if depth > 8 { Pixel::YUV420P10LE } else { Pixel::YUV420P }
}

/// Brings frames of any other format (packed RGB, YUYV, grey, alpha...) to 4:2:0, 10-bit from a
/// deeper format and 8-bit otherwise, the context kept while the format and size hold. Shared by
/// the screen path and the neural upscaler.
pub struct ToPlanar {
    context: Option<(SwsContext, (Pixel, u32, u32))>,
    converted: ffmpeg::frame::Video,
}

// SAFETY: the swscale context has no thread affinity; its owner uses it from one thread at a time.
unsafe impl Send for ToPlanar {}

impl Default for ToPlanar {
    fn default() -> Self {
        Self { context: None, converted: ffmpeg::frame::Video::empty() }
    }
}

impl ToPlanar {
    /// `frame` itself when its layout is readable (semi-planar ones only when `semi_planar_ok`),
    /// else a 4:2:0 copy (kept in `self`).
    pub fn convert<'a>(
        &'a mut self,
        frame: &'a ffmpeg::frame::Video,
        semi_planar_ok: bool,
    ) -> Result<(&'a ffmpeg::frame::Video, PlaneLayout), EngineError> {
        if let Some(layout) = PlaneLayout::of(frame.format()).filter(|layout| semi_planar_ok || !layout.semi_planar) {
            return Ok((frame, layout));
        }
        self.run(frame)?;
        Ok((&self.converted, PlaneLayout::of(self.converted.format()).expect("4:2:0 is planar")))
    }

    /// A 4:2:0 copy of `frame` of its own (for a frame the screen cannot read as it is).
    pub fn converted_copy(&mut self, frame: &ffmpeg::frame::Video) -> Result<ffmpeg::frame::Video, EngineError> {
        self.run(frame)?;
        let mut copy = ffmpeg::frame::Video::empty();
        std::mem::swap(&mut copy, &mut self.converted);
        copy.set_pts(frame.pts());
        Ok(copy)
    }

    fn run(&mut self, frame: &ffmpeg::frame::Video) -> Result<(), EngineError> {
        let (format, width, height) = (frame.format(), frame.width(), frame.height());
        let convert_error = |e: ffmpeg::Error| EngineError::Convert {
            width,
            height,
            format: format!("{format:?}").to_lowercase(),
            cause: e.to_string(),
        };
        let key = (format, width, height);
        if self.context.as_ref().is_none_or(|(_, current)| *current != key) {
            // Bilinear chroma: a colour detail finer than the 4:2:0 grid is averaged, not dropped
            // or kept by where it falls (luma, at the same size, is copied either way).
            let mut context = SwsContext::get(
                format,
                width,
                height,
                planar_format(format),
                width,
                height,
                Flags::BILINEAR | Flags::ACCURATE_RND,
            )
            .map_err(convert_error)?;
            set_yuv_colour(&mut context, format);
            self.context = Some((context, key));
            // The copy of another format or size would be refused as the new context's output.
            self.converted = ffmpeg::frame::Video::empty();
        }
        let (context, _) = self.context.as_mut().expect("context was just set");
        context.run(frame, &mut self.converted).map_err(convert_error)?;
        // The copy's tags say what its codes mean, which for an RGB source is not what the source's say.
        let (space, range) = yuv_tags(format, frame.color_space(), frame.color_range());
        self.converted.set_color_space(space);
        self.converted.set_color_range(range);
        self.converted.set_color_primaries(frame.color_primaries());
        self.converted.set_color_transfer_characteristic(frame.color_transfer_characteristic());
        Ok(())
    }
}

/// The network's luma at twice the frame's size: 16-bit little-endian samples, 0 to 65535 over the
/// stream's code range (what the luma plane's 0 to max code means), rows tightly packed.
#[derive(Clone)]
pub struct LumaImage {
    pub width: u32,
    pub height: u32,
    pub samples: LumaSamples,
}

/// Where a [`LumaImage`]'s 16-bit codes are.
#[derive(Clone)]
pub enum LumaSamples {
    /// In memory, little-endian, row by row.
    Host(PooledBytes),
    /// On the GPU the window draws with: an `Rgba8Unorm` texture whose r and g hold each code's
    /// low and high byte (what the ladder's kernels write and the window's shader reads).
    Device(super::gpu::PooledTexture),
}

impl std::fmt::Debug for LumaImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.samples {
            LumaSamples::Host(_) => "host",
            LumaSamples::Device(_) => "device",
        };
        write!(f, "LumaImage {{ {}x{} on the {place} }}", self.width, self.height)
    }
}

impl LumaImage {
    /// `luma` (values in [0, 1] of the code range, `width` x `height`) quantised to 16 bits.
    pub fn quantise(luma: &[f32], width: usize, height: usize, pool: &BufferPool) -> Self {
        let mut samples = pool.take(2 * width * height);
        for (out, &value) in samples.chunks_exact_mut(2).zip(&luma[..width * height]) {
            // `max` first maps NaN to 0 (`clamp` would keep it), so the value is finite and in
            // [0.5, 65535.5].
            #[allow(clippy::manual_clamp)]
            let scaled = value.max(0.0).min(1.0) * 65535.0 + 0.5;
            // SAFETY: finite and in range (above); unlike `as`, it converts four at a time.
            let code = unsafe { scaled.to_int_unchecked::<i32>() } as u16;
            out.copy_from_slice(&code.to_le_bytes());
        }
        Self { width: width as u32, height: height as u32, samples: LumaSamples::Host(samples) }
    }

    /// The 16-bit codes, little-endian, row by row: read back from the GPU when they are there.
    pub fn host_codes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.samples {
            LumaSamples::Host(bytes) => std::borrow::Cow::Borrowed(bytes),
            LumaSamples::Device(texture) => std::borrow::Cow::Owned(texture.read_codes()),
        }
    }

    /// Sample `(x, y)` in [0, 1] of the code range.
    #[cfg(test)]
    pub fn get(&self, x: usize, y: usize) -> f32 {
        let at = 2 * (y * self.width as usize + x);
        let codes = self.host_codes();
        f32::from(u16::from_le_bytes([codes[at], codes[at + 1]])) / 65535.0
    }
}

/// What the upscaling stage made of a frame for the screen.
#[derive(Debug, Clone)]
pub enum Upscaled {
    /// Nothing: the screen scales the decoded planes itself (the ladder's floor, or a picture
    /// not shown enlarged).
    None,
    /// The network's x2 luma; chroma comes from the decoded planes.
    Luma(LumaImage),
}

/// A frame ready for the screen, with its presentation time.
pub struct Picture {
    pub pts_secs: f64,
    pub duration_secs: f64,
    /// The decoded planes, in a layout [`PlaneLayout::of`] reads.
    pub frame: ffmpeg::frame::Video,
    pub upscaled: Upscaled,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Picture {{ pts {:.3}, {}x{} {:?}, {:?} }}",
            self.pts_secs,
            self.frame.width(),
            self.frame.height(),
            self.frame.format(),
            self.upscaled
        )
    }
}

impl Picture {
    /// The size of the picture as made: the upscaled one, or the decoded frame's.
    pub fn size(&self) -> (u32, u32) {
        match &self.upscaled {
            Upscaled::None => (self.frame.width(), self.frame.height()),
            Upscaled::Luma(luma) => (luma.width, luma.height),
        }
    }

    /// True when the network made (part of) this picture.
    pub fn is_upscaled(&self) -> bool {
        !matches!(self.upscaled, Upscaled::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_of_the_formats_the_screen_reads() {
        crate::media::init_ffmpeg();
        let yuv420 = PlaneLayout::of(Pixel::YUV420P).unwrap();
        assert_eq!((yuv420.bits, yuv420.chroma_shift, yuv420.semi_planar), (8, (1, 1), false));
        assert_eq!(yuv420.chroma_size(641, 361), (321, 181));
        let p010 = PlaneLayout::of(Pixel::P010LE).unwrap();
        assert_eq!((p010.bits, p010.chroma_shift, p010.semi_planar, p010.bytes_per_sample()), (16, (1, 1), true, 2));
        assert_eq!(PlaneLayout::of(Pixel::YUV422P10LE).unwrap().chroma_shift, (1, 0));
        assert!(PlaneLayout::of(Pixel::RGB24).is_none());
    }

    #[test]
    fn other_formats_are_brought_to_planar_yuv() {
        crate::media::init_ffmpeg();
        let mut rgb = ffmpeg::frame::Video::new(Pixel::RGB24, 20, 10);
        rgb.data_mut(0).fill(200);
        let mut to_planar = ToPlanar::default();
        let copy = to_planar.converted_copy(&rgb).unwrap();
        assert_eq!((copy.format(), copy.width(), copy.height()), (Pixel::YUV420P, 20, 10));
        // A stream whose size changes: each size converted in place in turn.
        for (width, height) in [(20, 10), (12, 6), (20, 10)] {
            let frame = ffmpeg::frame::Video::new(Pixel::RGB24, width, height);
            let (converted, _) = to_planar.convert(&frame, false).unwrap();
            assert_eq!((converted.width(), converted.height()), (width, height));
        }
        let planar = crate::media::gradient_frame(8, 8);
        let (same, layout) = to_planar.convert(&planar, false).unwrap();
        assert_eq!(same.data(0).as_ptr(), planar.data(0).as_ptr(), "a readable frame is not copied");
        assert_eq!(layout.bits, 8);
    }

    /// Red on every other row: each chroma sample, which covers two rows, gets half of it (swscale's
    /// nearest-sample filter took one of the two rows); luma keeps every row.
    #[test]
    fn colour_finer_than_the_chroma_grid_is_averaged() {
        crate::media::init_ffmpeg();
        let mut rgb = ffmpeg::frame::Video::new(Pixel::RGB24, 16, 4);
        let stride = rgb.stride(0);
        for (y, row) in rgb.data_mut(0).chunks_exact_mut(stride).enumerate() {
            for pixel in row[..48].chunks_exact_mut(3) {
                pixel.copy_from_slice(if y % 2 == 1 { &[255, 0, 0] } else { &[128, 128, 128] });
            }
        }
        let copy = ToPlanar::default().converted_copy(&rgb).unwrap();
        // Full-range BT.601: grey's Cr is 128, red's 255.5 (clipped to 255); half of each is ~191.
        let chroma_width = copy.width() as usize / 2;
        for (row, cr) in copy.data(2).chunks(copy.stride(2)).take(2).enumerate() {
            for &value in &cr[1..chroma_width - 1] {
                assert!(value.abs_diff(191) <= 12, "row {row}: Cr {:?}", &cr[..chroma_width]);
            }
        }
        let luma_at = |row: usize| copy.data(0)[row * copy.stride(0)];
        assert!(luma_at(0).abs_diff(128) <= 1 && luma_at(1).abs_diff(76) <= 1, "{} {}", luma_at(0), luma_at(1));
    }

    /// RGB becomes full-range BT.601, all its levels kept and tagged so; a full-range YUV format
    /// the screen cannot read keeps its codes and says they are full range, a deep one stays deep;
    /// grey keeps its codes and its range tag, full where it has none.
    #[test]
    fn converted_frames_say_what_their_codes_mean() {
        crate::media::init_ffmpeg();
        let mut rgb = ffmpeg::frame::Video::new(Pixel::RGB24, 16, 2);
        rgb.set_color_range(color::Range::JPEG);
        let stride = rgb.stride(0);
        for (x, pixel) in rgb.data_mut(0)[..48].chunks_exact_mut(3).enumerate() {
            pixel.copy_from_slice(match x / 4 {
                0 => &[0, 0, 0],
                1 => &[255, 255, 255],
                2 => &[255, 0, 0],
                _ => &[0, 0, 255],
            });
        }
        let first_row = rgb.data(0)[..48].to_vec();
        rgb.data_mut(0)[stride..stride + 48].copy_from_slice(&first_row);
        let mut to_planar = ToPlanar::default();
        let copy = to_planar.converted_copy(&rgb).unwrap();
        assert_eq!((copy.color_space(), copy.color_range()), (color::Space::SMPTE170M, color::Range::JPEG));
        // BT.601 luma of black, white, red and blue over the full 0-255.
        let luma: Vec<u8> = [0, 4, 8, 12].iter().map(|&x| copy.data(0)[x]).collect();
        for (got, expected) in luma.iter().zip([0u8, 255, 76, 29]) {
            assert!(got.abs_diff(expected) <= 1, "luma {luma:?}");
        }

        let mut yuvj = ffmpeg::frame::Video::new(Pixel::YUVJ411P, 16, 2);
        yuvj.data_mut(0).fill(0);
        yuvj.data_mut(1).fill(128);
        yuvj.data_mut(2).fill(128);
        let copy = to_planar.converted_copy(&yuvj).unwrap();
        assert_eq!((copy.format(), copy.color_range()), (Pixel::YUV420P, color::Range::JPEG));
        assert_eq!(copy.data(0)[0], 0, "full-range black is not squeezed to 16");

        let mut deep = ffmpeg::frame::Video::new(Pixel::YUVA444P10LE, 16, 2);
        let codes: [u16; 4] = [832, 512, 512, 1023]; // Y, Cb, Cr, alpha
        for (plane, code) in codes.iter().enumerate() {
            for sample in deep.data_mut(plane).chunks_exact_mut(2) {
                sample.copy_from_slice(&code.to_le_bytes());
            }
        }
        let (copy, layout) = to_planar.convert(&deep, false).unwrap();
        assert_eq!((copy.format(), layout.bits), (Pixel::YUV420P10LE, 10), "a deep format stays deep");
        assert_eq!(u16::from_le_bytes([copy.data(0)[0], copy.data(0)[1]]), 832, "its codes kept");

        let mut grey = ffmpeg::frame::Video::new(Pixel::GRAY8, 16, 2);
        grey.data_mut(0).fill(0);
        for (tag, expected) in
            [(color::Range::Unspecified, color::Range::JPEG), (color::Range::MPEG, color::Range::MPEG)]
        {
            grey.set_color_range(tag);
            let copy = to_planar.converted_copy(&grey).unwrap();
            assert_eq!(
                (copy.data(0)[0], copy.data(1)[0], copy.color_range()),
                (0, 128, expected),
                "grey tagged {tag:?}"
            );
        }
    }

    #[test]
    fn luma_is_quantised_to_sixteen_bits() {
        let pool = BufferPool::default();
        let image = LumaImage::quantise(&[0.0, 0.5, 1.0, 1.2, -0.1, f32::NAN], 3, 2, &pool);
        assert_eq!((image.width, image.height, image.host_codes().len()), (3, 2, 12));
        assert_eq!(image.get(1, 0), 32768.0 / 65535.0);
        // Out of range clamped; NaN (which no network should make) black.
        assert_eq!((image.get(2, 0), image.get(0, 1), image.get(1, 1), image.get(2, 1)), (1.0, 1.0, 0.0, 0.0));
    }
}
