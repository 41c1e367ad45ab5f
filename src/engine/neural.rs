//! The neural upscaler on the CPU: luma through a ladder rung (our kernels), chroma bilinear
//! (swscale), then the stream's YUV to RGBA with its own matrix and range.

use std::sync::Arc;

use ffmpeg_next as ffmpeg;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{Context as SwsContext, Flags};

use super::cpu::PackedNetwork;
use super::cpu::network::NetworkRunner;
use super::swscale::{packed_plane, set_colour_details};
use super::{EngineError, RgbaImage, SCALE, Upscaler, UpscalerFactory};
use crate::model::manifest::Manifest;

/// Input formats whose first plane is 8-bit luma, as the network reads it.
const EIGHT_BIT_YUV: [Pixel; 6] = [Pixel::YUV420P, Pixel::YUVJ420P, Pixel::YUV422P, Pixel::YUVJ422P, Pixel::YUV444P, Pixel::YUVJ444P];

/// A factory of upscalers for rung `index` of the model at `manifest`: the rung is packed once and
/// shared by every upscaler made.
pub fn rung_factory(manifest: &std::path::Path, index: usize) -> Result<UpscalerFactory, String> {
    let model = Manifest::load_with_weights(manifest, &burn::prelude::Device::flex()).map_err(|e| e.to_string())?;
    let last = model.manifest.ladder.len() - 1;
    let rung = model.manifest.rung(index).ok_or_else(|| format!("--rung {index}: the ladder has rungs 0 to {last}"))?;
    let network = Arc::new(PackedNetwork::from_supernet(&model.supernet, rung.spec));
    let name = rung.name.clone();
    Ok(Arc::new(move || Box::new(NeuralUpscaler::new(Arc::clone(&network), &name))))
}

pub struct NeuralUpscaler {
    runner: NetworkRunner,
    name: String,
    /// Other formats (10-bit, packed) are first converted to 8-bit 4:2:0.
    to_yuv420: Option<(SwsContext, (Pixel, u32, u32))>,
    /// The frame to 4:4:4 at twice the size, bilinear: the chroma the output uses.
    chroma: Option<(SwsContext, (Pixel, u32, u32))>,
    /// 4:4:4 at twice the size to RGBA, with the stream's colour details.
    to_rgba: Option<(SwsContext, (u32, u32, ffmpeg::util::color::Space, ffmpeg::util::color::Range))>,
    luma_in: Vec<f32>,
    luma_out: Vec<f32>,
}

// SAFETY: the swscale contexts have no thread affinity; the upscaler is owned by one thread at a time
// (built on the caller's thread, moved into the SR worker, never shared).
unsafe impl Send for NeuralUpscaler {}

impl NeuralUpscaler {
    pub fn new(network: Arc<PackedNetwork>, rung_name: &str) -> Self {
        let name = format!("{rung_name} {} (cpu kernels)", network.spec);
        Self {
            runner: NetworkRunner::with_defaults(network),
            name,
            to_yuv420: None,
            chroma: None,
            to_rgba: None,
            luma_in: Vec::new(),
            luma_out: Vec::new(),
        }
    }
}

/// The cached context for `key`, rebuilt when the key changes.
fn context_for<K: PartialEq + Copy>(
    slot: &mut Option<(SwsContext, K)>,
    key: K,
    build: impl FnOnce() -> Result<SwsContext, ffmpeg::Error>,
) -> Result<&mut SwsContext, ffmpeg::Error> {
    if slot.as_ref().is_none_or(|(_, current)| *current != key) {
        *slot = Some((build()?, key));
    }
    let Some((context, _)) = slot.as_mut() else { unreachable!("context was just set") };
    Ok(context)
}

impl Upscaler for NeuralUpscaler {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn upscale(&mut self, frame: &ffmpeg::frame::Video) -> Result<RgbaImage, EngineError> {
        let (width, height, format) = (frame.width(), frame.height(), frame.format());
        let convert_error = |e: ffmpeg::Error| EngineError::Convert {
            width,
            height,
            format: format!("{format:?}").to_lowercase(),
            cause: e.to_string(),
        };
        let mut converted = ffmpeg::frame::Video::empty();
        let source = if EIGHT_BIT_YUV.contains(&format) {
            frame
        } else {
            let to_yuv420 = context_for(&mut self.to_yuv420, (format, width, height), || {
                SwsContext::get(format, width, height, Pixel::YUV420P, width, height, Flags::POINT)
            })
            .map_err(convert_error)?;
            to_yuv420.run(frame, &mut converted).map_err(convert_error)?;
            &converted
        };
        let (w, h) = (width as usize, height as usize);
        let (out_width, out_height) = (width * SCALE, height * SCALE);

        self.luma_in.clear();
        let (stride, luma) = (source.stride(0), source.data(0));
        for row in 0..h {
            self.luma_in.extend(luma[row * stride..row * stride + w].iter().map(|&v| f32::from(v) / 255.0));
        }
        self.luma_out.resize(4 * w * h, 0.0);
        self.runner.upscale(&self.luma_in, w, h, &mut self.luma_out);

        let source_format = source.format();
        let chroma = context_for(&mut self.chroma, (source_format, width, height), || {
            SwsContext::get(source_format, width, height, Pixel::YUV444P, out_width, out_height, Flags::BILINEAR)
        })
        .map_err(convert_error)?;
        let mut full = ffmpeg::frame::Video::empty();
        chroma.run(source, &mut full).map_err(convert_error)?;
        let stride = full.stride(0);
        let luma_plane = full.data_mut(0);
        for (row, values) in self.luma_out.chunks_exact(2 * w).enumerate() {
            for (dst, value) in luma_plane[row * stride..row * stride + 2 * w].iter_mut().zip(values) {
                *dst = (value * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
        let (space, range) = (frame.color_space(), frame.color_range());
        let to_rgba = context_for(&mut self.to_rgba, (out_width, out_height, space, range), || {
            let mut context = SwsContext::get(Pixel::YUV444P, out_width, out_height, Pixel::RGBA, out_width, out_height, Flags::POINT)?;
            set_colour_details(&mut context, space, range, height);
            Ok(context)
        })
        .map_err(convert_error)?;
        let mut rgba = ffmpeg::frame::Video::empty();
        to_rgba.run(&full, &mut rgba).map_err(convert_error)?;
        Ok(RgbaImage { width: out_width, height: out_height, pixels: packed_plane(&rgba, 0, out_width as usize * 4, out_height as usize) })
    }
}
