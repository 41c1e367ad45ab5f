//! The plain upscaler: FFmpeg's swscale, bicubic, from the stream's YUV straight to RGBA at twice the
//! size, honouring the stream's colour matrix and range.

use ffmpeg_next as ffmpeg;
use ffmpeg::ffi;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{Context as SwsContext, Flags};
use ffmpeg::util::color;

use super::colour::Matrix;
use super::{EngineError, RgbaImage, SCALE, Upscaler};

/// The scaler context for the current input shape, rebuilt when it changes (mid-stream resolution
/// or format changes are legal in most codecs).
pub struct SwsUpscaler {
    context: Option<(SwsContext, InputShape)>,
    filter: Flags,
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
    /// Bicubic, the plain upscaler.
    pub fn new() -> Self {
        Self { context: None, filter: Flags::BICUBIC }
    }

    /// Bilinear: the cheapest, the floor below the ladder's smallest rung.
    pub fn bilinear() -> Self {
        Self { context: None, filter: Flags::BILINEAR }
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
                self.filter | Flags::ACCURATE_RND | Flags::FULL_CHR_H_INT,
            )?;
            set_colour_details(&mut context, shape.space, shape.range, shape.height);
            self.context = Some((context, shape));
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
    (match Matrix::of(space, stream_height) {
        Matrix::Bt601 => ffi::SWS_CS_ITU601,
        Matrix::Bt709 => ffi::SWS_CS_ITU709,
        Matrix::Bt2020 => ffi::SWS_CS_BT2020,
    }) as i32
}

/// Tells `context` the stream's matrix and range (full-range RGB out).
pub(crate) fn set_colour_details(context: &mut SwsContext, space: color::Space, range: color::Range, stream_height: u32) {
    let source_full_range = i32::from(range == color::Range::JPEG);
    // SAFETY: the context is valid; sws_getCoefficients returns a pointer to a static table.
    unsafe {
        let source_matrix = ffi::sws_getCoefficients(matrix_of(space, stream_height));
        let output_matrix = ffi::sws_getCoefficients(ffi::SWS_CS_DEFAULT as i32);
        const UNITY: i32 = 1 << 16;
        ffi::sws_setColorspaceDetails(context.as_mut_ptr(), source_matrix, source_full_range, output_matrix, 1, 0, UNITY, UNITY);
    }
}

impl Upscaler for SwsUpscaler {
    fn name(&self) -> String {
        if self.filter == Flags::BILINEAR { "bilinear (swscale)" } else { "bicubic (swscale)" }.to_owned()
    }

    fn upscale(&mut self, frame: &ffmpeg::frame::Video) -> Result<RgbaImage, EngineError> {
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
        let mut scaled = ffmpeg::frame::Video::empty();
        self.context_for(shape).map_err(convert_error)?.run(frame, &mut scaled).map_err(convert_error)?;
        let (width, height) = (scaled.width(), scaled.height());
        Ok(RgbaImage { width, height, pixels: packed_plane(&scaled, 0, width as usize * 4, height as usize).into() })
    }
}

/// Plane `index` of `frame` without its row padding: `height` rows of `row_bytes`.
pub(crate) fn packed_plane(frame: &ffmpeg::frame::Video, index: usize, row_bytes: usize, height: usize) -> Vec<u8> {
    let stride = frame.stride(index);
    let data = frame.data(index);
    let mut packed = Vec::with_capacity(row_bytes * height);
    for row in 0..height {
        packed.extend_from_slice(&data[row * stride..row * stride + row_bytes]);
    }
    packed
}
