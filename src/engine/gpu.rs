//! A ladder rung on a GPU: the rung's own network (cut from the supernet) in burn on a wgpu device,
//! fed tile by tile, the upscaled luma read back for the CPU's colour conversion.

use burn::module::Module;
use burn::prelude::Device;
use burn::tensor::{Tensor, TensorData};

use super::LumaEngine;
use super::tiles::{Tile, TileEngine, plan, run_tiled, tile_size};
use crate::model::supernet::{PHASES, SubgraphSpec, Supernet};

pub struct GpuRunner {
    /// The rung alone: its weights sliced once, not on every frame.
    network: Supernet,
    spec: SubgraphSpec,
    device: Device,
    adapter: String,
    frame: (usize, usize),
    frame_luma: Vec<f32>,
    tile_limit: Option<(usize, usize)>,
    tiles: Vec<Tile>,
    tile: (usize, usize),
    tile_luma: Vec<f32>,
    scratch: Vec<f32>,
}

impl GpuRunner {
    /// Rung `spec` of `supernet` (on any device) on `device`, named `adapter` in the stats.
    pub fn new(supernet: &Supernet, spec: SubgraphSpec, device: Device, adapter: String) -> Self {
        let network = supernet.extract(spec).to_device(&device);
        Self {
            network,
            spec,
            device,
            adapter,
            frame: (0, 0),
            frame_luma: Vec::new(),
            tile_limit: None,
            tiles: Vec::new(),
            tile: (0, 0),
            tile_luma: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Runs frames in tiles of at most `width` x `height` (instead of the buffer limit's).
    pub fn set_tile_limit(&mut self, limit: Option<(usize, usize)>) {
        self.tile_limit = limit;
        self.frame = (0, 0);
    }
}

impl LumaEngine for GpuRunner {
    fn describe(&self) -> String {
        self.adapter.clone()
    }

    fn spec(&self) -> SubgraphSpec {
        self.spec
    }

    fn prepare(&mut self, width: usize, height: usize) {
        if self.frame == (width, height) {
            return;
        }
        let halo = self.spec.depth + 2;
        self.tile = tile_size((width, height), self.spec.width.max(PHASES), halo, self.tile_limit);
        self.tiles = plan((width, height), self.tile, halo);
        self.frame_luma = vec![0.0; width * height];
        self.tile_luma = vec![0.0; self.tile.0 * self.tile.1];
        self.scratch = if self.tiles.len() > 1 { vec![0.0; 4 * self.tile.0 * self.tile.1] } else { Vec::new() };
        self.frame = (width, height);
    }

    fn input_row(&mut self, y: usize) -> &mut [f32] {
        let width = self.frame.0;
        &mut self.frame_luma[y * width..(y + 1) * width]
    }

    fn run(&mut self, output: &mut [f32]) {
        let (width, height) = self.frame;
        let (frame_luma, tiles, mut scratch) = (std::mem::take(&mut self.frame_luma), std::mem::take(&mut self.tiles), std::mem::take(&mut self.scratch));
        run_tiled(self, &tiles, self.tile, &frame_luma, width, &mut scratch, &mut output[..4 * width * height]);
        (self.frame_luma, self.tiles, self.scratch) = (frame_luma, tiles, scratch);
    }
}

impl TileEngine for GpuRunner {
    fn tile_row(&mut self, y: usize) -> &mut [f32] {
        let width = self.tile.0;
        &mut self.tile_luma[y * width..(y + 1) * width]
    }

    fn run_tile(&mut self, output: &mut [f32]) {
        let (width, height) = self.tile;
        let input = Tensor::<4>::from_data(TensorData::new(self.tile_luma.clone(), [1, 1, height, width]), &self.device);
        let upscaled = self.network.forward(input, self.spec).into_data();
        output[..4 * width * height].copy_from_slice(upscaled.as_slice::<f32>().expect("f32 output"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::manifest::{Manifest, default_manifest_path};
    use crate::model::photo::Luma;

    /// On whatever wgpu adapter this machine has (a software one in CI, so small sizes), the GPU
    /// path matches the CPU reference, whole and tiled.
    #[test]
    fn the_gpu_path_matches_the_reference() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        let spec = loaded.manifest.ladder[1].spec;
        let (width, height) = (29, 17);
        let data: Vec<f32> = (0..width * height).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let reference = loaded.supernet.upscale_luma(&Luma::new(width, height, data.clone()), spec);
        let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
        let mut runner = GpuRunner::new(&loaded.supernet, spec, device, "wgpu".to_owned());
        for limit in [None, Some((13, 11))] {
            runner.set_tile_limit(limit);
            runner.prepare(width, height);
            for (y, row) in data.chunks_exact(width).enumerate() {
                runner.input_row(y).copy_from_slice(row);
            }
            let mut output = vec![0.0; 4 * width * height];
            runner.run(&mut output);
            let diff = output.iter().zip(&reference.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(diff <= 1e-4, "tiles {limit:?}: {diff}");
        }
    }
}
