//! A ladder rung packed for the CPU kernels, and a runner that owns the frame buffers for one frame
//! size so a frame allocates nothing.

use std::sync::Arc;

use super::kernels::{Isa, PackedConv, Planes, conv3x3, tail_bilinear_shuffle};
use crate::engine::LumaEngine;
use crate::engine::tiles::{Tile, TileEngine, plan, run_tiled, tile_size};
use crate::model::supernet::{ElasticConv, PHASES, SubgraphSpec, Supernet};

/// The convolutions of one subgraph, packed for one instruction set.
#[derive(Debug, Clone)]
pub struct PackedNetwork {
    pub spec: SubgraphSpec,
    pub isa: Isa,
    pub head: PackedConv,
    pub body: Vec<PackedConv>,
    pub tail: PackedConv,
}

fn pack(
    isa: Isa,
    conv: &ElasticConv,
    in_channels: usize,
    out_channels: usize,
    relu: bool,
    residual: bool,
) -> PackedConv {
    let (weight, bias) = conv.slice(in_channels, out_channels);
    let weight: Vec<f32> = weight.into_data().try_to_vec().expect("f32 weights");
    let bias: Vec<f32> = bias.into_data().try_to_vec().expect("f32 bias");
    PackedConv::pack(isa, &weight, &bias, in_channels, out_channels, relu, residual)
}

impl PackedNetwork {
    /// Packs subgraph `spec` of `supernet` for `isa` (its weights are slices of the supernet's).
    pub fn from_supernet(supernet: &Supernet, spec: SubgraphSpec, isa: Isa) -> Self {
        let width = spec.width;
        Self {
            spec,
            isa,
            head: pack(isa, &supernet.head, 1, width, true, false),
            body: supernet.body[..spec.depth].iter().map(|layer| pack(isa, layer, width, width, true, true)).collect(),
            tail: pack(isa, &supernet.tail, width, PHASES, false, false),
        }
    }

    /// Bytes of packed weights and biases.
    pub fn weight_bytes(&self) -> usize {
        4 * self.layers().map(|layer| layer.weights.len() + layer.bias.len()).sum::<usize>()
    }

    /// Multiply-adds per low-resolution pixel.
    pub fn macs_per_pixel(&self) -> usize {
        self.layers().map(PackedConv::macs_per_pixel).sum()
    }

    fn layers(&self) -> impl Iterator<Item = &PackedConv> {
        std::iter::once(&self.head).chain(&self.body).chain(std::iter::once(&self.tail))
    }
}

/// Runs a packed network on frames of one size, reusing its buffers and its threads. Large frames
/// (or any, with a set tile limit) run in overlapping tiles.
/// Bytes of the two feature maps a runner of `spec` needs for `width` x `height` frames (or for
/// the tiles it would run them in): what decides whether a rung fits in memory.
pub fn feature_map_bytes(spec: SubgraphSpec, (width, height): (usize, usize)) -> u64 {
    let (tile_width, tile_height) = tile_size((width, height), spec.width, spec.depth + 2, None);
    2 * Planes::bytes_for(spec.width, tile_width, tile_height) as u64
}

pub struct NetworkRunner {
    network: Arc<PackedNetwork>,
    /// The deepest and widest network the buffers are sized for.
    capacity: SubgraphSpec,
    pool: rayon::ThreadPool,
    frame: (usize, usize),
    /// The frame's luma, `width` x `height`.
    frame_luma: Vec<f32>,
    tile_limit: Option<(usize, usize)>,
    tiles: Vec<Tile>,
    /// One tile's buffers (the whole frame when it is one tile).
    luma: Planes,
    features: [Planes; 2],
    phases: Planes,
    tile_output: Vec<f32>,
}

impl NetworkRunner {
    pub fn new(network: Arc<PackedNetwork>, threads: usize) -> Self {
        let capacity = network.spec;
        Self::with_capacity(network, threads, capacity)
    }

    /// Buffers sized for networks up to `capacity`, so [`NetworkRunner::set_network`] can switch
    /// between them without allocating.
    pub fn with_capacity(network: Arc<PackedNetwork>, threads: usize, capacity: SubgraphSpec) -> Self {
        assert!(network.spec.depth <= capacity.depth && network.spec.width <= capacity.width);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|index| format!("sr-kernel-{index}"))
            .build()
            .expect("kernel threads");
        let empty = || Planes::new(0, 0, 0);
        Self {
            network,
            capacity,
            pool,
            frame: (0, 0),
            frame_luma: Vec::new(),
            tile_limit: None,
            tiles: Vec::new(),
            luma: empty(),
            features: [empty(), empty()],
            phases: empty(),
            tile_output: Vec::new(),
        }
    }

    /// One thread per core.
    pub fn with_all_cores(network: Arc<PackedNetwork>) -> Self {
        Self::new(network, crate::host::cores())
    }

    /// Runs `network` from the next frame on: its weights are already packed and the buffers sized,
    /// so this is a swap between two frames.
    pub fn set_network(&mut self, network: Arc<PackedNetwork>) {
        assert!(
            network.spec.depth <= self.capacity.depth && network.spec.width <= self.capacity.width,
            "{} is larger than the buffers",
            network.spec
        );
        for features in &mut self.features {
            if !features.data.is_empty() {
                features.set_channels(network.spec.width);
            }
        }
        self.network = network;
    }

    /// Sizes the buffers for networks up to `capacity` from the next frame on (the current network
    /// must fit).
    pub fn set_capacity(&mut self, capacity: SubgraphSpec) {
        assert!(self.network.spec.depth <= capacity.depth && self.network.spec.width <= capacity.width);
        if self.capacity != capacity {
            self.capacity = capacity;
            self.frame = (0, 0);
        }
    }

    /// Runs frames in tiles of at most `width` x `height` (instead of the memory limit's).
    pub fn set_tile_limit(&mut self, limit: Option<(usize, usize)>) {
        self.tile_limit = limit;
        self.frame = (0, 0);
    }

    pub fn spec(&self) -> SubgraphSpec {
        self.network.spec
    }

    pub fn isa(&self) -> Isa {
        self.network.isa
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// How far a pixel's output depends on its neighbours: one pixel per 3x3 convolution.
    fn halo(&self) -> usize {
        self.capacity.depth + 2
    }

    /// Sizes the buffers for `width` x `height` frames (a no-op when they already are).
    pub fn prepare(&mut self, width: usize, height: usize) {
        if self.frame == (width, height) {
            return;
        }
        let (tile_width, tile_height) =
            tile_size((width, height), self.capacity.width.max(PHASES), self.halo(), self.tile_limit);
        self.tiles = plan((width, height), (tile_width, tile_height), self.halo());
        self.frame_luma = vec![0.0; width * height];
        self.luma = Planes::new(1, tile_width, tile_height);
        self.features = [0, 1].map(|_| {
            let mut planes = Planes::new(self.capacity.width, tile_width, tile_height);
            planes.set_channels(self.network.spec.width);
            planes
        });
        self.phases = Planes::new(PHASES, tile_width, tile_height);
        self.tile_output = if self.tiles.len() > 1 { vec![0.0; 4 * tile_width * tile_height] } else { Vec::new() };
        self.frame = (width, height);
    }

    /// Bytes of the frame buffers allocated now.
    pub fn buffer_bytes(&self) -> usize {
        let planes = [&self.luma, &self.features[0], &self.features[1], &self.phases];
        4 * (planes.iter().map(|p| p.data.len()).sum::<usize>() + self.frame_luma.len() + self.tile_output.len())
    }

    /// The tiles the prepared frame size runs in.
    pub fn tiles(&self) -> usize {
        self.tiles.len()
    }

    /// Row `y` of the input luma of a frame of the prepared size, to be filled with values in [0, 1].
    pub fn input_row(&mut self, y: usize) -> &mut [f32] {
        let width = self.frame.0;
        &mut self.frame_luma[y * width..(y + 1) * width]
    }

    /// Upscales the luma written with [`NetworkRunner::input_row`] into `output` (2W x 2H).
    pub fn run(&mut self, output: &mut [f32]) {
        let (width, height) = self.frame;
        let (frame_luma, tiles, mut scratch) = (
            std::mem::take(&mut self.frame_luma),
            std::mem::take(&mut self.tiles),
            std::mem::take(&mut self.tile_output),
        );
        let tile = (self.luma.width, self.luma.height);
        run_tiled(self, &tiles, tile, &frame_luma, width, &mut scratch, &mut output[..4 * width * height]);
        (self.frame_luma, self.tiles, self.tile_output) = (frame_luma, tiles, scratch);
    }

    /// Upscales `luma` (`width` x `height`, values in [0, 1]) into `output` (2W x 2H).
    pub fn upscale(&mut self, luma: &[f32], width: usize, height: usize, output: &mut [f32]) {
        self.prepare(width, height);
        self.frame_luma.copy_from_slice(&luma[..width * height]);
        self.run(output);
    }
}

impl LumaEngine for NetworkRunner {
    fn describe(&self) -> String {
        format!("cpu {}, {} threads", self.isa().name(), self.threads())
    }

    fn spec(&self) -> SubgraphSpec {
        self.network.spec
    }

    fn prepare(&mut self, width: usize, height: usize) {
        NetworkRunner::prepare(self, width, height);
    }

    fn input_row(&mut self, y: usize) -> &mut [f32] {
        NetworkRunner::input_row(self, y)
    }

    fn run(&mut self, output: &mut [f32]) {
        NetworkRunner::run(self, output);
    }
}

impl TileEngine for NetworkRunner {
    fn tile_row(&mut self, y: usize) -> &mut [f32] {
        self.luma.row_mut(0, y)
    }

    /// The network on the tile in `self.luma`, into `output` (twice the tile's size).
    fn run_tile(&mut self, output: &mut [f32]) {
        let network = &self.network;
        let [current, next] = &mut self.features;
        conv3x3(network.isa, &self.pool, &network.head, &self.luma, current);
        for layer in &network.body {
            conv3x3(network.isa, &self.pool, layer, current, next);
            std::mem::swap(current, next);
        }
        tail_bilinear_shuffle(network.isa, &self.pool, &network.tail, current, &self.luma, &mut self.phases, output);
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::Device;

    use super::*;
    use crate::model::manifest::{Manifest, default_manifest_path};
    use crate::model::photo::Luma;

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    fn random_luma(width: usize, height: usize, seed: u32) -> Luma {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        let data = (0..width * height)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 1000) as f32 / 1000.0
            })
            .collect();
        Luma::new(width, height, data)
    }

    /// Every rung of the shipped model, on both instruction-set paths, single- and multi-threaded,
    /// at odd sizes: the kernels match burn's output within 1e-4.
    #[test]
    fn kernels_match_the_burn_reference_on_every_rung() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        for (index, rung) in loaded.manifest.ladder.iter().enumerate() {
            let luma = random_luma(37, 23, index as u32 + 1);
            let reference = loaded.supernet.upscale_luma(&luma, rung.spec);
            let runs = Isa::supported().into_iter().flat_map(|isa| [(isa, 1), (isa, 2), (isa, 5)]);
            for (isa, threads) in runs {
                let network = Arc::new(PackedNetwork::from_supernet(&loaded.supernet, rung.spec, isa));
                let mut runner = NetworkRunner::new(network, threads);
                let mut output = vec![0.0; 4 * luma.data.len()];
                runner.upscale(&luma.data, luma.width, luma.height, &mut output);
                let diff = max_abs_diff(&output, &reference.data);
                assert!(diff <= 1e-4, "{} ({}) on {isa:?} x{threads}: {diff}", rung.name, rung.spec);
            }
        }
    }

    /// Tiled runs (small tiles, odd sizes, every rung) give the untiled output.
    #[test]
    fn tiles_give_the_untiled_output() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        for (index, rung) in loaded.manifest.ladder.iter().enumerate() {
            let network = Arc::new(PackedNetwork::from_supernet(&loaded.supernet, rung.spec, Isa::detect()));
            let (width, height) = (61, 43);
            let luma = random_luma(width, height, index as u32 + 11);
            let mut whole = vec![0.0; 4 * width * height];
            NetworkRunner::new(Arc::clone(&network), 2).upscale(&luma.data, width, height, &mut whole);
            let mut runner = NetworkRunner::new(network, 2);
            runner.set_tile_limit(Some((23, 19)));
            let mut tiled = vec![0.0; 4 * width * height];
            runner.upscale(&luma.data, width, height, &mut tiled);
            assert!(runner.tiles() >= 6, "{}: {} tiles", rung.name, runner.tiles());
            assert!(max_abs_diff(&whole, &tiled) <= 1e-4, "{}: {}", rung.name, max_abs_diff(&whole, &tiled));
        }
    }

    /// A real photo through the widest rung matches burn too.
    #[test]
    fn kernels_match_the_burn_reference_on_a_real_photo() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        let photo = crate::model::photo::load_rgb(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/validation/chelsea.png"
        )))
        .unwrap();
        let luma = crate::model::photo::luma_of(&photo);
        let luma = luma.crop(0, 0, luma.width.min(99), luma.height.min(61));
        let spec = loaded.manifest.ladder.last().unwrap().spec;
        let reference = loaded.supernet.upscale_luma(&luma, spec);
        let mut runner = NetworkRunner::with_all_cores(Arc::new(PackedNetwork::from_supernet(
            &loaded.supernet,
            spec,
            Isa::detect(),
        )));
        let mut output = vec![0.0; 4 * luma.data.len()];
        runner.upscale(&luma.data, luma.width, luma.height, &mut output);
        assert!(max_abs_diff(&output, &reference.data) <= 1e-4);
    }

    #[test]
    fn buffers_are_reused_for_frames_of_the_same_size() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        let network =
            Arc::new(PackedNetwork::from_supernet(&loaded.supernet, loaded.manifest.ladder[1].spec, Isa::detect()));
        let mut runner = NetworkRunner::with_all_cores(network);
        let luma = random_luma(16, 9, 3);
        let mut output = vec![0.0; 4 * 16 * 9];
        runner.upscale(&luma.data, 16, 9, &mut output);
        let addresses = runner.features.each_ref().map(|planes| planes.data.as_ptr());
        runner.upscale(&luma.data, 16, 9, &mut output);
        let mut again = runner.features.each_ref().map(|planes| planes.data.as_ptr());
        again.sort();
        let mut before = addresses;
        before.sort();
        assert_eq!(before, again, "no new buffers for a second frame of the same size");
    }
}
