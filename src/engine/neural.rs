//! The neural upscaler: luma through a ladder rung (our kernels on the CPU or a GPU), chroma
//! bilinear, the stream's matrix and range ([`super::colour`]), into pooled RGBA buffers.

use std::sync::Arc;

use ffmpeg_next as ffmpeg;

use super::colour::{ColourSpec, SamplePlane, Siting, YuvToRgba};
use super::cpu::PackedNetwork;
use super::cpu::kernels::Isa;
use super::cpu::network::NetworkRunner;
use super::gpu::GpuRunner;
use super::picture::{LumaImage, Picture, PlaneLayout, ToPlanar, Upscaled};
use super::swscale::SwsUpscaler;
use super::{BufferPool, EngineError, LumaEngine, RgbaImage, SCALE, Upscaler, UpscalerFactory};
use crate::host::hardware_adapter_name;
use crate::model::device::{DeviceChoice, GpuContext};
use crate::model::manifest::{LoadedModel, Manifest};
use crate::model::supernet::{SubgraphSpec, Supernet};

/// Makes engines that run one rung.
pub type EngineFactory = Arc<dyn Fn() -> Box<dyn LumaEngine> + Send + Sync>;

/// Engines for subgraph `spec` of `supernet` on `device` (`auto`: a hardware GPU when wgpu finds
/// one, else the CPU kernels); the rung is prepared once and shared by every engine made.
pub fn engine_factory(
    supernet: &Supernet,
    spec: SubgraphSpec,
    device: DeviceChoice,
) -> Result<EngineFactory, EngineError> {
    let gpu = match device {
        DeviceChoice::Cpu => None,
        DeviceChoice::Gpu => Some(GpuContext::hardware()?),
        DeviceChoice::Auto => hardware_adapter_name().and_then(|_| GpuContext::hardware().ok()),
    };
    Ok(match gpu {
        Some(gpu) => {
            let supernet = supernet.clone();
            Arc::new(move || Box::new(GpuRunner::new(&gpu.device, &gpu.queue, &supernet, &[spec], 0, gpu.name.clone())))
        }
        None => {
            let network = Arc::new(PackedNetwork::from_supernet(supernet, spec, Isa::detect()));
            Arc::new(move || Box::new(NetworkRunner::with_all_cores(Arc::clone(&network))))
        }
    })
}

/// The model at `manifest` with its weights (on the CPU, where rungs are packed from), checked to
/// have rung `rung` when one is asked for.
pub fn load_ladder(manifest: &std::path::Path, rung: Option<usize>) -> Result<LoadedModel, EngineError> {
    let model = Manifest::load_with_weights(manifest, &burn::prelude::Device::flex())?;
    let last = model.manifest.ladder.len() - 1;
    match rung {
        Some(rung) if rung > last => Err(EngineError::NoSuchRung { rung, last }),
        _ => Ok(model),
    }
}

/// A factory of upscalers for rung `index` of the model at `manifest` on `device`.
pub fn rung_factory(
    manifest: &std::path::Path,
    index: usize,
    device: DeviceChoice,
) -> Result<UpscalerFactory, EngineError> {
    let model = load_ladder(manifest, Some(index))?;
    let rung = &model.manifest.ladder[index];
    let engines = engine_factory(&model.supernet, rung.spec, device)?;
    let name = rung.name.clone();
    Ok(Arc::new(move || Box::new(NeuralUpscaler::new(engines(), &name))))
}

pub struct NeuralUpscaler<E: LumaEngine = Box<dyn LumaEngine>> {
    engine: E,
    name: String,
    /// Threads for the colour conversion.
    pool: rayon::ThreadPool,
    /// Formats other than planar YUV (packed, semi-planar) are first converted to 8-bit 4:2:0.
    to_planar: ToPlanar,
    colour: YuvToRgba,
    luma_out: Vec<f32>,
    buffers: BufferPool,
}

impl<E: LumaEngine> NeuralUpscaler<E> {
    pub fn new(engine: E, rung_name: &str) -> Self {
        let name = format!("{rung_name} {} ({})", engine.spec(), engine.describe());
        let threads = crate::host::cores();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("sr-colour-{i}"))
            .build()
            .expect("colour threads");
        Self {
            engine,
            name,
            pool,
            to_planar: ToPlanar::default(),
            colour: YuvToRgba::default(),
            luma_out: Vec::new(),
            buffers: BufferPool::default(),
        }
    }

    pub fn engine(&self) -> &E {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut E {
        &mut self.engine
    }

    /// The pool the output frames' pixels come from.
    pub fn buffers(&self) -> &BufferPool {
        &self.buffers
    }

    /// Takes the output frames' pixels from `buffers`, a pool shared with other upscalers.
    pub fn share_buffers(&mut self, buffers: BufferPool) {
        self.buffers = buffers;
    }

    /// The whole picture made on the CPU: the network's luma, chroma bilinear, into RGBA (what
    /// the window's shader does on the GPU; `dysr bench rungs` times it).
    pub fn upscale(&mut self, frame: &ffmpeg::frame::Video) -> Result<RgbaImage, EngineError> {
        let (source, layout) = self.to_planar.convert(frame, false)?;
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let (out_w, out_h) = (w * SCALE as usize, h * SCALE as usize);
        let spec = ColourSpec::of_frame(source, layout.bits);
        run_network(&mut self.engine, source, layout, spec, &mut self.luma_out);
        let mut pixels = self.buffers.take(out_w * out_h * 4);
        compose_rgba(&self.pool, &mut self.colour, &self.luma_out, (source, layout), &mut pixels);
        Ok(RgbaImage { width: out_w as u32, height: out_h as u32, pixels })
    }
}

impl<E: LumaEngine> Upscaler for NeuralUpscaler<E> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn upscale_luma(&mut self, frame: &ffmpeg::frame::Video) -> Result<Option<LumaImage>, EngineError> {
        let (source, layout) = self.to_planar.convert(frame, false)?;
        let spec = ColourSpec::of_frame(source, layout.bits);
        if let Some(luma) = self.engine.upscale_on_device(source, layout, spec.network_luma()) {
            return Ok(Some(luma));
        }
        run_network(&mut self.engine, source, layout, spec, &mut self.luma_out);
        let (out_w, out_h) = (frame.width() as usize * SCALE as usize, frame.height() as usize * SCALE as usize);
        Ok(Some(LumaImage::quantise(&self.luma_out, out_w, out_h, &self.buffers)))
    }
}

/// RGBA at twice `source`'s size from `luma` (the network's, 2W x 2H, in [0, 1] of the code range)
/// and the chroma of `source` (a frame in a planar layout), in its matrix, range and siting.
fn compose_rgba(
    pool: &rayon::ThreadPool,
    colour: &mut YuvToRgba,
    luma: &[f32],
    (source, layout): (&ffmpeg::frame::Video, PlaneLayout),
    pixels: &mut [u8],
) {
    let (w, h) = (source.width(), source.height());
    let (chroma_w, chroma_h) = layout.chroma_size(w, h);
    let chroma = [1, 2].map(|index| {
        SamplePlane::of_frame(source, index, chroma_w as usize, chroma_h as usize, layout.bytes_per_sample())
    });
    let (shift_x, shift_y) = layout.chroma_shift;
    let out = ((w * SCALE) as usize, (h * SCALE) as usize);
    let spec = ColourSpec::of_frame(source, layout.bits);
    colour.convert(
        pool,
        luma,
        out,
        chroma,
        (1 << shift_x, 1 << shift_y),
        SCALE,
        Siting::of(source.chroma_location()),
        spec,
        pixels,
    );
}

/// The picture as the screen shows it, made on the CPU (`s` saves it): the network's luma with
/// the frame's chroma, or, where no network ran, bicubic x2 (what the screen's scaler draws).
pub fn presented_rgba(picture: &Picture) -> Result<RgbaImage, EngineError> {
    match &picture.upscaled {
        Upscaled::None => SwsUpscaler::new().upscale(&picture.frame),
        Upscaled::Luma(luma) => {
            let mut to_planar = ToPlanar::default();
            let source = to_planar.convert(&picture.frame, false)?;
            let values: Vec<f32> = luma
                .host_codes()
                .chunks_exact(2)
                .map(|s| f32::from(u16::from_le_bytes([s[0], s[1]])) / 65535.0)
                .collect();
            let pool =
                rayon::ThreadPoolBuilder::new().num_threads(crate::host::cores()).build().expect("colour threads");
            let mut pixels = vec![0; 4 * luma.width as usize * luma.height as usize];
            compose_rgba(&pool, &mut YuvToRgba::default(), &values, source, &mut pixels);
            Ok(RgbaImage { width: luma.width, height: luma.height, pixels: pixels.into() })
        }
    }
}

/// Runs `engine` on the luma plane of `source` into `luma_out` (2W x 2H, values in [0, 1] of the
/// code range).
fn run_network(
    engine: &mut impl LumaEngine,
    source: &ffmpeg::frame::Video,
    layout: PlaneLayout,
    spec: ColourSpec,
    luma_out: &mut Vec<f32>,
) {
    let (w, h) = (source.width() as usize, source.height() as usize);
    engine.prepare(w, h);
    let luma = SamplePlane::of_frame(source, 0, w, h, layout.bytes_per_sample());
    let network = spec.network_luma();
    for y in 0..h {
        luma.read_row(y, engine.input_row(y), |code| network.input(code));
    }
    luma_out.resize(w * h * (SCALE * SCALE) as usize, 0.0);
    engine.run(luma_out);
    network.to_code_range(luma_out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::gradient_frame;
    use crate::model::manifest::default_manifest_path;
    use ffmpeg::format::Pixel;
    use ffmpeg::software::scaling::{Context as SwsContext, Flags};

    fn rung_zero() -> NeuralUpscaler {
        let model = Manifest::load_with_weights(&default_manifest_path(), &burn::prelude::Device::flex())
            .expect("shipped model");
        let network = PackedNetwork::from_supernet(&model.supernet, model.manifest.ladder[0].spec, Isa::detect());
        NeuralUpscaler::new(Box::new(NetworkRunner::new(Arc::new(network), 2)), "r0")
    }

    /// The same picture as 8-bit 4:2:0, 10-bit 4:2:0, 10-bit 4:4:4 and semi-planar NV12 (converted
    /// first) comes out the same: within rounding where the chroma samples are the same, within
    /// half a chroma step of the gradient for 4:4:4 (whose chroma was replicated, not interpolated).
    #[test]
    fn ten_bit_and_packed_inputs_match_eight_bit() {
        let eight_bit = gradient_frame(66, 38);
        let mut upscaler = rung_zero();
        let expected = upscaler.upscale(&eight_bit).unwrap();
        assert_eq!((expected.width, expected.height), (132, 76));
        for (format, tolerance) in [(Pixel::YUV420P10LE, 1), (Pixel::NV12, 1), (Pixel::YUV444P10LE, 6)] {
            let mut converted = ffmpeg::frame::Video::empty();
            let mut context =
                SwsContext::get(Pixel::YUV420P, 66, 38, format, 66, 38, Flags::POINT | Flags::ACCURATE_RND).unwrap();
            context.run(&eight_bit, &mut converted).unwrap();
            let got = upscaler.upscale(&converted).unwrap();
            let worst = got.pixels.iter().zip(expected.pixels.iter()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            assert!(worst <= tolerance, "{format:?}: off by {worst}");
        }
    }

    /// What `s` saves from the window's picture (the network's luma, the frame's chroma) is what
    /// the upscaler makes of the same frame on the CPU, up to the luma's 16-bit rounding.
    #[test]
    fn the_presented_picture_is_the_cpu_paths_picture() {
        let frame = gradient_frame(66, 38);
        let mut upscaler = rung_zero();
        let expected = upscaler.upscale(&frame).unwrap();
        let luma = upscaler.upscale_luma(&frame).unwrap().unwrap();
        let picture =
            Picture { pts_secs: 0.0, duration_secs: 0.04, frame: frame.clone(), upscaled: Upscaled::Luma(luma) };
        let presented = presented_rgba(&picture).unwrap();
        assert_eq!((presented.width, presented.height), (132, 76));
        let worst = presented.pixels.iter().zip(expected.pixels.iter()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(worst <= 1, "off by {worst}");
        let plain = presented_rgba(&Picture { upscaled: Upscaled::None, ..picture }).unwrap();
        assert_eq!((plain.width, plain.height), (132, 76), "no network: bicubic x2");
    }

    /// Flat bands of luma `levels` in a `format` frame tagged `range`.
    fn bands(format: Pixel, range: ffmpeg::util::color::Range, levels: &[u8], band: u32) -> ffmpeg::frame::Video {
        let mut frame = ffmpeg::frame::Video::new(format, band * levels.len() as u32, band);
        frame.set_color_range(range);
        let stride = frame.stride(0);
        for samples in frame.data_mut(0).chunks_mut(stride).take(band as usize) {
            for (x, sample) in samples.iter_mut().enumerate().take((band as usize) * levels.len()) {
                *sample = levels[x / band as usize];
            }
        }
        for plane in [1, 2] {
            frame.data_mut(plane).fill(128);
        }
        frame
    }

    /// Luma reaches every rung in the range it was trained on: a full-range frame's flat black,
    /// dark grey, mid grey and white come out as they went in, and a limited-range frame's codes
    /// below black come out black (the top rung had lifted a code of 0 to 33, a grey on screen).
    #[test]
    fn luma_keeps_its_levels_at_every_rung() {
        use ffmpeg::util::color::Range;
        let model = Manifest::load_with_weights(&default_manifest_path(), &burn::prelude::Device::flex())
            .expect("shipped model");
        let band = 12;
        let full = bands(Pixel::YUVJ420P, Range::JPEG, &[0, 8, 128, 255], band);
        let limited = bands(Pixel::YUV420P, Range::MPEG, &[0, 8, 16, 128], band);
        for rung in &model.manifest.ladder {
            let network = PackedNetwork::from_supernet(&model.supernet, rung.spec, Isa::detect());
            let mut upscaler = NeuralUpscaler::new(NetworkRunner::new(Arc::new(network), 1), "rung");
            for (frame, expected) in [(&full, [0.0, 8.0, 128.0, 255.0]), (&limited, [16.0, 16.0, 16.0, 128.0])] {
                let luma = upscaler.upscale_luma(frame).unwrap().expect("the network ran");
                for (index, expected) in expected.into_iter().enumerate() {
                    let code = 255.0 * luma.get(2 * band as usize * index + band as usize, band as usize);
                    let range = frame.color_range();
                    assert!((code - expected).abs() <= 1.0, "{} {range:?}: {code:.1} for {expected}", rung.spec);
                }
            }
        }
    }

    /// Frames of one size reuse the pooled RGBA buffers: a steady stream allocates none.
    #[test]
    fn output_buffers_come_back_to_the_pool() {
        let frame = gradient_frame(32, 18);
        let mut upscaler = rung_zero();
        let first = upscaler.upscale(&frame).unwrap();
        let address = first.pixels.as_ptr();
        drop(first);
        assert_eq!(upscaler.buffers().idle(), 1);
        for _ in 0..3 {
            let again = upscaler.upscale(&frame).unwrap();
            assert_eq!(again.pixels.as_ptr(), address, "the same buffer is lent again");
        }
    }
}
