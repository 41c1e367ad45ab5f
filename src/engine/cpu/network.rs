//! A ladder rung packed for the CPU kernels, and a runner that owns the frame buffers for one frame
//! size so a frame allocates nothing.

use std::sync::Arc;

use super::kernels::{Isa, PackedConv, Planes, conv3x3, tail_bilinear_shuffle};
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

fn pack(isa: Isa, conv: &ElasticConv, in_channels: usize, out_channels: usize, relu: bool, residual: bool) -> PackedConv {
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

    /// Multiply-adds per low-resolution pixel.
    pub fn macs_per_pixel(&self) -> usize {
        self.layers().map(PackedConv::macs_per_pixel).sum()
    }

    fn layers(&self) -> impl Iterator<Item = &PackedConv> {
        std::iter::once(&self.head).chain(&self.body).chain(std::iter::once(&self.tail))
    }
}

/// Runs a packed network on frames of one size, reusing its buffers and its threads.
pub struct NetworkRunner {
    network: Arc<PackedNetwork>,
    pool: rayon::ThreadPool,
    luma: Planes,
    features: [Planes; 2],
    phases: Planes,
}

impl NetworkRunner {
    pub fn new(network: Arc<PackedNetwork>, threads: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|index| format!("sr-kernel-{index}"))
            .build()
            .expect("kernel threads");
        let empty = || Planes::new(0, 0, 0);
        Self { network, pool, luma: empty(), features: [empty(), empty()], phases: empty() }
    }

    /// One thread per core.
    pub fn with_all_cores(network: Arc<PackedNetwork>) -> Self {
        Self::new(network, std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn spec(&self) -> SubgraphSpec {
        self.network.spec
    }

    pub fn isa(&self) -> Isa {
        self.network.isa
    }

    /// The kernel threads, for other per-frame work of the same upscaler.
    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Sizes the buffers for `width` x `height` frames (a no-op when they already are).
    pub fn prepare(&mut self, width: usize, height: usize) {
        if (self.luma.width, self.luma.height) == (width, height) && self.luma.channels == 1 {
            return;
        }
        let channels = self.network.spec.width;
        self.luma = Planes::new(1, width, height);
        self.features = [Planes::new(channels, width, height), Planes::new(channels, width, height)];
        self.phases = Planes::new(PHASES, width, height);
    }

    /// Row `y` of the input luma of a frame of the prepared size, to be filled with values in [0, 1].
    pub fn input_row(&mut self, y: usize) -> &mut [f32] {
        self.luma.row_mut(0, y)
    }

    /// Upscales the luma written with [`NetworkRunner::input_row`] into `output` (2W x 2H).
    pub fn run(&mut self, output: &mut [f32]) {
        let network = &self.network;
        let [current, next] = &mut self.features;
        conv3x3(network.isa, &self.pool, &network.head, &self.luma, current);
        for layer in &network.body {
            conv3x3(network.isa, &self.pool, layer, current, next);
            std::mem::swap(current, next);
        }
        tail_bilinear_shuffle(network.isa, &self.pool, &network.tail, current, &self.luma, &mut self.phases, output);
    }

    /// Upscales `luma` (`width` x `height`, values in [0, 1]) into `output` (2W x 2H).
    pub fn upscale(&mut self, luma: &[f32], width: usize, height: usize, output: &mut [f32]) {
        self.prepare(width, height);
        for (y, row) in luma.chunks_exact(width).enumerate() {
            self.input_row(y).copy_from_slice(row);
        }
        self.run(output);
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

    /// A real photo through the widest rung matches burn too.
    #[test]
    fn kernels_match_the_burn_reference_on_a_real_photo() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        let photo = crate::model::photo::load_rgb(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/validation/chelsea.png"))).unwrap();
        let luma = crate::model::photo::luma_of(&photo);
        let luma = luma.crop(0, 0, luma.width.min(99), luma.height.min(61));
        let spec = loaded.manifest.ladder.last().unwrap().spec;
        let reference = loaded.supernet.upscale_luma(&luma, spec);
        let mut runner = NetworkRunner::with_all_cores(Arc::new(PackedNetwork::from_supernet(&loaded.supernet, spec, Isa::detect())));
        let mut output = vec![0.0; 4 * luma.data.len()];
        runner.upscale(&luma.data, luma.width, luma.height, &mut output);
        assert!(max_abs_diff(&output, &reference.data) <= 1e-4);
    }

    #[test]
    fn buffers_are_reused_for_frames_of_the_same_size() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        let network = Arc::new(PackedNetwork::from_supernet(&loaded.supernet, loaded.manifest.ladder[1].spec, Isa::detect()));
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
