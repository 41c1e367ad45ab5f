//! The ladder on a GPU: dysr's own fused kernels ([`ladder`], WGSL compute) on the process's one
//! wgpu device ([`crate::model::device::GpuContext`], shared with burn and the window). In the
//! window the frame's luma plane goes in and the x2 luma texture the presentation shader samples
//! comes out: nothing is read back. [`GpuRunner`] is the same ladder for callers that hand luma in
//! and take it out on the CPU (headless runs, files, benchmarks, tests): that path reads back. Both
//! count their read-backs, so a test can hold the window's path to none.

pub mod ladder;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use eframe::wgpu;
use ffmpeg_next as ffmpeg;
use parking_lot::Mutex;

use self::ladder::{FrameIo, GpuLadder, LumaTexels};
use super::LumaEngine;
use super::colour::NetworkLuma;
use super::picture::{LumaImage, LumaSamples, PlaneLayout};
use crate::model::supernet::{SubgraphSpec, Supernet};

/// Output textures lent to frames and taken back when the last handle on a frame is dropped, so a
/// steady stream of frames of one size makes no textures. The queue runs in order, so a texture
/// the window drew from is rewritten only by work submitted after that drawing.
#[derive(Clone, Default)]
pub struct TexturePool(Arc<PoolState>);

#[derive(Default)]
struct PoolState {
    idle: Mutex<Vec<wgpu::Texture>>,
    /// Textures of this pool read back to the CPU so far.
    read_backs: AtomicU64,
}

/// Textures kept for reuse: the frames in flight between the SR worker and the screen.
const POOLED_TEXTURES: usize = 8;

impl TexturePool {
    /// An output texture of `size` (contents unspecified), reused when one of that size is free.
    pub fn take(&self, device: &wgpu::Device, queue: &wgpu::Queue, size: (usize, usize)) -> PooledTexture {
        let fits = |texture: &wgpu::Texture| (texture.width() as usize, texture.height() as usize) == size;
        let texture = {
            let mut idle = self.0.idle.lock();
            idle.retain(fits);
            idle.pop()
        };
        let texture = texture.unwrap_or_else(|| upscaled_texture(device, size));
        PooledTexture(Arc::new(TextureSlot {
            texture,
            queue: queue.clone(),
            device: device.clone(),
            pool: Arc::downgrade(&self.0),
        }))
    }

    /// Textures of this pool read back to the CPU so far.
    pub fn read_backs(&self) -> u64 {
        self.0.read_backs.load(Ordering::Relaxed)
    }
}

struct TextureSlot {
    texture: wgpu::Texture,
    device: wgpu::Device,
    queue: wgpu::Queue,
    pool: Weak<PoolState>,
}

impl Drop for TextureSlot {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut idle = pool.idle.lock();
            if idle.len() < POOLED_TEXTURES {
                idle.push(self.texture.clone());
            }
        }
    }
}

/// An output texture from a [`TexturePool`], back in its pool when the last clone is dropped.
#[derive(Clone)]
pub struct PooledTexture(Arc<TextureSlot>);

impl PooledTexture {
    pub fn texture(&self) -> &wgpu::Texture {
        &self.0.texture
    }

    /// The 16-bit codes, little-endian, row by row: a read-back (a snapshot, a test), counted.
    pub fn read_codes(&self) -> Vec<u8> {
        let slot = &self.0;
        let (width, height) = (slot.texture.width() as usize, slot.texture.height() as usize);
        if let Some(pool) = slot.pool.upgrade() {
            pool.read_backs.fetch_add(1, Ordering::Relaxed);
        }
        let mut codes = Vec::with_capacity(2 * width * height);
        let buffer = read_back_buffer(&slot.device, &slot.texture);
        read_texels(&slot.device, &slot.queue, &slot.texture, &buffer, |_, texels| {
            codes.extend(texels.chunks_exact(4).flat_map(|texel| [texel[0], texel[1]]))
        });
        codes
    }
}

/// Bytes per row of a read-back of `texture` (4 bytes a texel, padded to wgpu's copy alignment).
fn padded_row(texture: &wgpu::Texture) -> usize {
    (4 * texture.width() as usize).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize)
}

/// A buffer `texture` can be read back into.
fn read_back_buffer(device: &wgpu::Device, texture: &wgpu::Texture) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("dysr read-back"),
        size: (padded_row(texture) * texture.height() as usize) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Copies `texture` into `buffer` (made by [`read_back_buffer`]), waits, and hands each row of
/// texels (4 bytes each) with its index to `row`.
fn read_texels(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    buffer: &wgpu::Buffer,
    mut row: impl FnMut(usize, &[u8]),
) {
    let (width, height, padded_row) = (texture.width(), texture.height(), padded_row(texture));
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("dysr read-back") });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row as u32),
                rows_per_image: None,
            },
        },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
    queue.submit([encoder.finish()]);
    let slice = buffer.slice(..);
    slice.map_async(wgpu::MapMode::Read, |result| result.expect("the read-back buffer maps"));
    device.poll(wgpu::PollType::wait_indefinitely()).expect("the GPU finishes its work");
    {
        let bytes = slice.get_mapped_range().expect("the read-back buffer is mapped");
        for (index, texels) in bytes.chunks_exact(padded_row).enumerate() {
            row(index, &texels[..4 * width as usize]);
        }
    }
    buffer.unmap();
}

/// A 2D texture of one mip level: what every plane dysr puts on the GPU is.
pub fn plane_texture(
    device: &wgpu::Device,
    label: &str,
    (width, height): (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    })
}

/// A texture of `size` for the ladder's output: written by its kernels, sampled by the window,
/// copied out for a read-back.
pub fn upscaled_texture(device: &wgpu::Device, (width, height): (usize, usize)) -> wgpu::Texture {
    let usage =
        wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_SRC;
    plane_texture(device, "dysr x2 luma", (width as u32, height as u32), wgpu::TextureFormat::Rgba8Unorm, usage)
}

/// A texture of `size` and `format` for a frame's luma, written from the CPU, read by the kernels.
fn luma_texture(device: &wgpu::Device, (width, height): (usize, usize), format: wgpu::TextureFormat) -> wgpu::Texture {
    plane_texture(
        device,
        "dysr luma",
        (width as u32, height as u32),
        format,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    )
}

/// The luma of frames of one size on the device, and where their x2 luma lands.
struct Frame {
    size: (usize, usize),
    luma: wgpu::Texture,
    upscaled: wgpu::Texture,
    io: FrameIo,
    /// Where `upscaled` is read back into, made once per frame size.
    read_back: wgpu::Buffer,
}

/// The frame's luma plane on the device, as the window path uploads it.
struct DevicePlane {
    texture: wgpu::Texture,
    texels: LumaTexels,
    /// The frame's luma plane and each output texture of the pool, bound: (output, binding).
    bindings: Vec<(wgpu::Texture, FrameIo)>,
}

/// The ladder on the GPU behind [`LumaEngine`]: luma rows in, x2 luma out, one rung at a time
/// ([`GpuRunner::set_rung`] is a switch between two frames).
pub struct GpuRunner {
    ladder: GpuLadder,
    rung: usize,
    adapter: String,
    luma: Vec<f32>,
    frame: Option<Frame>,
    /// Output left on the device for the window (which draws with the same device), not read back.
    on_device: Option<TexturePool>,
    plane: Option<DevicePlane>,
    /// GPU time of the last frame, submission to completion.
    last_gpu_ms: f64,
    /// Frames read back to the CPU so far.
    read_backs: u64,
}

impl GpuRunner {
    /// The `rungs` of `supernet` on `device`, running rung `rung`; `adapter` names it in the stats.
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        supernet: &Supernet,
        rungs: &[SubgraphSpec],
        rung: usize,
        adapter: String,
    ) -> Self {
        Self {
            ladder: GpuLadder::new(device, queue, supernet, rungs),
            rung,
            adapter,
            luma: Vec::new(),
            frame: None,
            on_device: None,
            plane: None,
            last_gpu_ms: 0.0,
            read_backs: 0,
        }
    }

    /// Leaves each frame's x2 luma on the device (in textures from `pool`) for a window that
    /// draws with the same device: nothing is read back.
    pub fn keep_on_device(&mut self, pool: TexturePool) {
        self.on_device = Some(pool);
    }

    /// GPU time of the last frame, from submission to completion.
    pub fn last_gpu_ms(&self) -> f64 {
        self.last_gpu_ms
    }

    /// Frames this runner has read back to the CPU (none in the window's device mode).
    pub fn read_backs(&self) -> u64 {
        self.read_backs
    }

    /// Bytes on the device: the ladder's weights and frame buffers, and this runner's textures.
    pub fn device_bytes(&self) -> u64 {
        let texture_bytes = |texture: &wgpu::Texture, bytes_per_texel: u64| {
            u64::from(texture.width()) * u64::from(texture.height()) * bytes_per_texel
        };
        let frame =
            self.frame.as_ref().map_or(0, |frame| texture_bytes(&frame.luma, 4) + texture_bytes(&frame.upscaled, 4));
        let plane = self.plane.as_ref().map_or(0, |plane| {
            texture_bytes(&plane.texture, 2)
                + plane.bindings.iter().map(|(texture, _)| texture_bytes(texture, 4)).sum::<u64>()
        });
        self.ladder.weight_bytes() + self.ladder.frame_bytes() + frame + plane
    }

    pub fn set_rung(&mut self, rung: usize) {
        assert!(rung < self.ladder.rungs().len());
        self.rung = rung;
    }

    /// Runs frames in tiles of at most `width` x `height` (instead of the buffer limit's).
    pub fn set_tile_limit(&mut self, limit: Option<(usize, usize)>) {
        self.ladder.set_tile_limit(limit);
    }

    pub fn ladder(&self) -> &GpuLadder {
        &self.ladder
    }

    /// Submits the frame whose luma was written with [`LumaEngine::input_row`]; the upscaled
    /// luma stays on the device.
    pub fn submit(&mut self) -> wgpu::SubmissionIndex {
        let frame = self.frame.as_ref().expect("prepared before running");
        let (width, height) = frame.size;
        let (device, queue) = (self.ladder.device(), self.ladder.queue());
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &frame.luma,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(&self.luma),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * width as u32),
                rows_per_image: Some(height as u32),
            },
            wgpu::Extent3d { width: width as u32, height: height as u32, depth_or_array_layers: 1 },
        );
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("dysr ladder") });
        self.ladder.encode(&mut encoder, self.rung, &frame.io);
        queue.submit([encoder.finish()])
    }

    /// Waits for `submission` to finish on the device.
    pub fn wait(&self, submission: wgpu::SubmissionIndex) {
        self.ladder
            .device()
            .poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: None })
            .expect("the GPU finishes its work");
    }
}

impl LumaEngine for GpuRunner {
    fn describe(&self) -> String {
        format!("gpu {} (dysr kernels)", self.adapter)
    }

    fn spec(&self) -> SubgraphSpec {
        self.ladder.rungs()[self.rung]
    }

    fn prepare(&mut self, width: usize, height: usize) {
        self.ladder.prepare(width, height);
        if self.frame.as_ref().is_some_and(|frame| frame.size == (width, height)) {
            return;
        }
        let device = self.ladder.device();
        let luma = luma_texture(device, (width, height), wgpu::TextureFormat::R32Float);
        let upscaled = upscaled_texture(device, (2 * width, 2 * height));
        let view = |texture: &wgpu::Texture| texture.create_view(&wgpu::TextureViewDescriptor::default());
        let io = self.ladder.bind_frame(&view(&luma), LumaTexels::Float, &view(&upscaled), (width, height));
        self.luma = vec![0.0; width * height];
        let read_back = read_back_buffer(device, &upscaled);
        self.frame = Some(Frame { size: (width, height), luma, upscaled, io, read_back });
    }

    fn input_row(&mut self, y: usize) -> &mut [f32] {
        let width = self.frame.as_ref().expect("prepared").size.0;
        &mut self.luma[y * width..(y + 1) * width]
    }

    /// Runs the frame and reads its x2 luma back into `output` (values clamped to [0, 1], 16-bit).
    fn run(&mut self, output: &mut [f32]) {
        let started = std::time::Instant::now();
        let submission = self.submit();
        self.wait(submission);
        self.last_gpu_ms = started.elapsed().as_secs_f64() * 1e3;
        let frame = self.frame.as_ref().expect("prepared");
        let width = frame.upscaled.width() as usize;
        read_texels(self.ladder.device(), self.ladder.queue(), &frame.upscaled, &frame.read_back, |y, texels| {
            for (value, texel) in output[y * width..(y + 1) * width].iter_mut().zip(texels.chunks_exact(4)) {
                *value = f32::from(u16::from_le_bytes([texel[0], texel[1]])) / 65535.0;
            }
        });
        self.read_backs += 1;
    }

    /// In the window's device mode: the frame's luma plane uploaded as it is (8- or 16-bit codes),
    /// the rung run on it, the x2 luma left in a pooled texture.
    fn upscale_on_device(
        &mut self,
        frame: &ffmpeg::frame::Video,
        layout: PlaneLayout,
        network: NetworkLuma,
    ) -> Option<LumaImage> {
        let pool = self.on_device.clone()?;
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        self.ladder.prepare(width, height);
        let wide = layout.bytes_per_sample() == 2;
        let texels = if wide { LumaTexels::Code16 { network } } else { LumaTexels::Code8 { network } };
        let (device, queue) = (self.ladder.device().clone(), self.ladder.queue().clone());
        let reusable = self.plane.as_ref().is_some_and(|plane| {
            (plane.texture.width() as usize, plane.texture.height() as usize) == (width, height)
                && plane.texels == texels
        });
        if !reusable {
            let texture = luma_texture(
                &device,
                (width, height),
                if wide { wgpu::TextureFormat::Rg8Unorm } else { wgpu::TextureFormat::R8Unorm },
            );
            self.plane = Some(DevicePlane { texture, texels, bindings: Vec::new() });
        }
        let plane = self.plane.as_mut().expect("made above");
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &plane.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            frame.data(0),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(frame.stride(0) as u32),
                rows_per_image: Some(height as u32),
            },
            wgpu::Extent3d { width: width as u32, height: height as u32, depth_or_array_layers: 1 },
        );
        let output = pool.take(&device, &queue, (2 * width, 2 * height));
        // One binding per pooled texture, made the first time it comes round.
        let index = match plane.bindings.iter().position(|(texture, _)| texture == output.texture()) {
            Some(index) => index,
            None => {
                let view = |texture: &wgpu::Texture| texture.create_view(&wgpu::TextureViewDescriptor::default());
                let io =
                    self.ladder.bind_frame(&view(&plane.texture), texels, &view(output.texture()), (width, height));
                plane.bindings.push((output.texture().clone(), io));
                plane.bindings.len() - 1
            }
        };
        let started = std::time::Instant::now();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("dysr ladder") });
        self.ladder.encode(&mut encoder, self.rung, &plane.bindings[index].1);
        let submission = queue.submit([encoder.finish()]);
        self.wait(submission);
        self.last_gpu_ms = started.elapsed().as_secs_f64() * 1e3;
        Some(LumaImage { width: 2 * width as u32, height: 2 * height as u32, samples: LumaSamples::Device(output) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use burn::prelude::Device;

    use super::*;
    use crate::engine::cpu::PackedNetwork;
    use crate::engine::cpu::kernels::Isa;
    use crate::engine::cpu::network::NetworkRunner;
    use crate::model::device::GpuContext;
    use crate::model::manifest::{LoadedModel, Manifest, default_manifest_path};

    fn model() -> LoadedModel {
        Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model")
    }

    fn luma(width: usize, height: usize, seed: usize) -> Vec<f32> {
        // A smooth ramp with texture: outputs stay inside [0, 1], where the GPU's 16-bit codes are exact.
        (0..width * height)
            .map(|i| {
                0.2 + 0.5 * ((i % width) as f32 / width as f32) + 0.1 * (((i * 37 + seed * 11) % 101) as f32 / 100.0)
            })
            .collect()
    }

    fn on_cpu(model: &LoadedModel, spec: SubgraphSpec, input: &[f32], (width, height): (usize, usize)) -> Vec<f32> {
        let network = Arc::new(PackedNetwork::from_supernet(&model.supernet, spec, Isa::detect()));
        let mut output = vec![0.0; 4 * width * height];
        NetworkRunner::new(network, 2).upscale(input, width, height, &mut output);
        output.iter().map(|value| value.clamp(0.0, 1.0)).collect()
    }

    fn on_gpu(runner: &mut GpuRunner, input: &[f32], (width, height): (usize, usize)) -> Vec<f32> {
        runner.prepare(width, height);
        for (y, row) in input.chunks_exact(width).enumerate() {
            runner.input_row(y).copy_from_slice(row);
        }
        let mut output = vec![0.0; 4 * width * height];
        runner.run(&mut output);
        output
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    fn runner(model: &LoadedModel) -> GpuRunner {
        let gpu = GpuContext::shared().expect("a wgpu adapter (lavapipe in CI)");
        let rungs: Vec<_> = model.manifest.ladder.iter().map(|rung| rung.spec).collect();
        GpuRunner::new(&gpu.device, &gpu.queue, &model.supernet, &rungs, 0, gpu.name.clone())
    }

    /// Every rung on the GPU kernels matches the CPU kernels and burn's reference within 1e-3,
    /// whole and in tiles (on the software adapter in CI, so small frames).
    #[test]
    fn every_rung_on_the_gpu_matches_the_cpu_kernels_and_burn() {
        let model = model();
        let mut runner = runner(&model);
        // Wider than two of the kernels' 32 x 8 patches, and not a multiple of them.
        let size = (71, 21);
        for (index, rung) in model.manifest.ladder.iter().enumerate() {
            let input = luma(size.0, size.1, index);
            let reference = on_cpu(&model, rung.spec, &input, size);
            let burn =
                model.supernet.upscale_luma(&crate::model::photo::Luma::new(size.0, size.1, input.clone()), rung.spec);
            let burn: Vec<f32> = burn.data.iter().map(|value| value.clamp(0.0, 1.0)).collect();
            runner.set_rung(index);
            for limit in [None, Some((40, 19))] {
                runner.set_tile_limit(limit);
                let output = on_gpu(&mut runner, &input, size);
                assert!(
                    limit.is_none() || runner.ladder().tiles() >= 2,
                    "{limit:?}: {} tiles",
                    runner.ladder().tiles()
                );
                let diff = max_abs_diff(&output, &reference);
                assert!(diff <= 1e-3, "{} ({}) tiles {limit:?}: {diff} from the CPU kernels", rung.name, rung.spec);
                let diff = max_abs_diff(&output, &burn);
                assert!(diff <= 1e-3, "{} ({}) tiles {limit:?}: {diff} from burn", rung.name, rung.spec);
            }
        }
    }

    /// A run that switches rungs between frames gives each frame what its rung gives alone.
    #[test]
    fn switching_rungs_between_frames_gives_each_rungs_own_output() {
        let model = model();
        let size = (24, 16);
        let frames: Vec<Vec<f32>> = (0..6).map(|seed| luma(size.0, size.1, seed)).collect();
        let order = [0, 3, 1, model.manifest.ladder.len() - 1, 0, 2];
        let mut switching = runner(&model);
        for (frame, &rung) in frames.iter().zip(&order) {
            switching.set_rung(rung);
            let switched = on_gpu(&mut switching, frame, size);
            let mut alone = runner(&model);
            alone.set_rung(rung);
            assert_eq!(switched, on_gpu(&mut alone, frame, size), "rung {rung}");
        }
    }
}
