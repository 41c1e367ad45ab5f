//! The plain upscaler: no network, the screen's own scaler shows the decoded planes. On the CPU
//! (a snapshot of such a picture) FFmpeg's swscale makes the same picture: bicubic, from the
//! stream's YUV straight to RGBA at twice the size, honouring the stream's colour matrix and range.

use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{Context as SwsContext, Flags};
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use super::colour::Matrix;
use super::{BufferPool, EngineError, RgbaImage, SCALE, Upscaler};

/// The scaler context for the current input shape, rebuilt when it changes (mid-stream resolution
/// or format changes are legal in most codecs).
pub struct SwsUpscaler {
    context: Option<(SwsContext, InputShape)>,
    /// swscale's output, kept while the shape holds so it is not allocated per frame.
    scaled: ffmpeg::frame::Video,
    buffers: BufferPool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InputShape {
    format: Pixel,
    width: u32,
    height: u32,
    space: color::Space,
    range: color::Range,
}

// SAFETY: an SwsContext has no thread affinity; it is only ever used by the one thread that owns the
// upscaler (it is moved into the SR worker before first use and never shared).
unsafe impl Send for SwsUpscaler {}

impl SwsUpscaler {
    pub fn new() -> Self {
        Self { context: None, scaled: ffmpeg::frame::Video::empty(), buffers: BufferPool::default() }
    }

    /// The whole picture at twice the size, as the screen's bicubic scaler draws it.
    pub fn upscale(&mut self, frame: &ffmpeg::frame::Video) -> Result<RgbaImage, EngineError> {
        let shape = InputShape {
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
            space: frame.color_space(),
            range: frame.color_range(),
        };
        let convert_error = |e: ffmpeg::Error| EngineError::Convert {
            width: shape.width,
            height: shape.height,
            format: format!("{:?}", shape.format).to_lowercase(),
            cause: e.to_string(),
        };
        self.context_for(shape).map_err(convert_error)?;
        let (context, _) = self.context.as_mut().expect("context was just set");
        context.run(frame, &mut self.scaled).map_err(convert_error)?;
        let (width, height) = (self.scaled.width(), self.scaled.height());
        let mut pixels = self.buffers.take(width as usize * 4 * height as usize);
        copy_plane(&self.scaled, 0, width as usize * 4, &mut pixels);
        Ok(RgbaImage { width, height, pixels })
    }

    fn context_for(&mut self, shape: InputShape) -> Result<&mut SwsContext, ffmpeg::Error> {
        if self.context.as_ref().is_none_or(|(_, current)| *current != shape) {
            let mut context = SwsContext::get(
                shape.format,
                shape.width,
                shape.height,
                Pixel::RGBA,
                shape.width * SCALE,
                shape.height * SCALE,
                Flags::BICUBIC | Flags::ACCURATE_RND | Flags::FULL_CHR_H_INT,
            )?;
            set_colour_details(&mut context, shape.space, shape.range, shape.height);
            self.context = Some((context, shape));
            self.scaled = ffmpeg::frame::Video::empty();
        }
        let Some((context, _)) = self.context.as_mut() else { unreachable!("context was just set") };
        Ok(context)
    }
}

impl Default for SwsUpscaler {
    fn default() -> Self {
        Self::new()
    }
}

/// swscale's name for the stream's matrix.
fn matrix_of(space: color::Space, stream_height: u32) -> i32 {
    match Matrix::of(space, stream_height) {
        Matrix::Bt601 => ffi::SWS_CS_ITU601,
        Matrix::Bt709 => ffi::SWS_CS_ITU709,
        Matrix::Bt2020 => ffi::SWS_CS_BT2020,
    }
}

/// Tells `context` the stream's matrix and range (full-range RGB out).
pub(crate) fn set_colour_details(
    context: &mut SwsContext,
    space: color::Space,
    range: color::Range,
    stream_height: u32,
) {
    let source_full_range = i32::from(range == color::Range::JPEG);
    // SAFETY: the context is valid; sws_getCoefficients returns a pointer to a static table.
    unsafe {
        let source_matrix = ffi::sws_getCoefficients(matrix_of(space, stream_height));
        let output_matrix = ffi::sws_getCoefficients(ffi::SWS_CS_DEFAULT);
        const UNITY: i32 = 1 << 16;
        ffi::sws_setColorspaceDetails(
            context.as_mut_ptr(),
            source_matrix,
            source_full_range,
            output_matrix,
            1,
            0,
            UNITY,
            UNITY,
        );
    }
}

impl Upscaler for SwsUpscaler {
    fn name(&self) -> String {
        "bicubic (the screen's scaler)".to_owned()
    }

    /// No network: the screen's own scaler shows the decoded planes.
    fn upscale_luma(
        &mut self,
        _frame: &ffmpeg::frame::Video,
    ) -> Result<Option<super::picture::LumaImage>, EngineError> {
        Ok(None)
    }
}

/// Plane `index` of `frame` without its row padding into `out`: rows of `row_bytes`.
pub(crate) fn copy_plane(frame: &ffmpeg::frame::Video, index: usize, row_bytes: usize, out: &mut [u8]) {
    let (stride, data) = (frame.stride(index), frame.data(index));
    for (row, target) in out.chunks_exact_mut(row_bytes).enumerate() {
        target.copy_from_slice(&data[row * stride..row * stride + row_bytes]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady stream of one size reuses swscale's output frame and the pooled RGBA buffer.
    #[test]
    fn frames_of_one_size_reuse_the_buffers() {
        let frame = crate::media::gradient_frame(40, 24);
        let mut upscaler = SwsUpscaler::new();
        let first = upscaler.upscale(&frame).unwrap();
        assert_eq!((first.width, first.height), (80, 48));
        let address = first.pixels.as_ptr();
        let scaled = upscaler.scaled.data(0).as_ptr();
        drop(first);
        let again = upscaler.upscale(&frame).unwrap();
        assert_eq!(again.pixels.as_ptr(), address);
        assert_eq!(upscaler.scaled.data(0).as_ptr(), scaled);
    }
}
