//! A ladder rung packed for the CPU kernels, and a runner that owns the frame buffers for one frame
//! size so a frame allocates nothing.

use std::sync::Arc;

use super::kernels::{Isa, PackedConv, Plane, conv3x3, tail_bilinear_shuffle};
use crate::model::supernet::{ElasticConv, PHASES, SubgraphSpec, Supernet};

/// The convolutions of one subgraph, packed.
#[derive(Debug, Clone)]
pub struct PackedNetwork {
    pub spec: SubgraphSpec,
    pub head: PackedConv,
    pub body: Vec<PackedConv>,
    pub tail: PackedConv,
}

fn pack(conv: &ElasticConv, in_channels: usize, out_channels: usize, relu: bool, residual: bool) -> PackedConv {
    let (weight, bias) = conv.slice(in_channels, out_channels);
    let weight: Vec<f32> = weight.into_data().try_to_vec().expect("f32 weights");
    let bias: Vec<f32> = bias.into_data().try_to_vec().expect("f32 bias");
    PackedConv::pack(&weight, &bias, in_channels, out_channels, relu, residual)
}

impl PackedNetwork {
    /// Packs subgraph `spec` of `supernet` (its weights are slices of the supernet's).
    pub fn from_supernet(supernet: &Supernet, spec: SubgraphSpec) -> Self {
        let width = spec.width;
        Self {
            spec,
            head: pack(&supernet.head, 1, width, true, false),
            body: supernet.body[..spec.depth].iter().map(|layer| pack(layer, width, width, true, true)).collect(),
            tail: pack(&supernet.tail, width, PHASES, false, false),
        }
    }
}

/// Runs a packed network on frames of one size, reusing its buffers.
pub struct NetworkRunner {
    network: Arc<PackedNetwork>,
    isa: Isa,
    threads: usize,
    size: (usize, usize),
    features: [Vec<f32>; 2],
    phases: Vec<f32>,
}

impl NetworkRunner {
    pub fn new(network: Arc<PackedNetwork>, isa: Isa, threads: usize) -> Self {
        Self { network, isa, threads: threads.max(1), size: (0, 0), features: [Vec::new(), Vec::new()], phases: Vec::new() }
    }

    /// All cores, the best instruction set.
    pub fn with_defaults(network: Arc<PackedNetwork>) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(network, Isa::detect(), threads)
    }

    pub fn spec(&self) -> SubgraphSpec {
        self.network.spec
    }

    /// Sizes the buffers for `width` x `height` frames (a no-op when they already are).
    pub fn prepare(&mut self, width: usize, height: usize) {
        if self.size == (width, height) {
            return;
        }
        let values = width * height * self.network.spec.width;
        self.features = [vec![0.0; values], vec![0.0; values]];
        self.phases = vec![0.0; width * height * PHASES];
        self.size = (width, height);
    }

    /// Upscales `luma` (`width` x `height`, values in [0, 1]) into `output` (2W x 2H).
    pub fn upscale(&mut self, luma: &[f32], width: usize, height: usize, output: &mut [f32]) {
        self.prepare(width, height);
        let network = &self.network;
        let channels = network.spec.width;
        let [current, next] = &mut self.features;
        let input = Plane { data: luma, width, height, channels: 1 };
        conv3x3(self.isa, self.threads, &network.head, &input, current);
        for layer in &network.body {
            conv3x3(self.isa, self.threads, layer, &Plane { data: current, width, height, channels }, next);
            std::mem::swap(current, next);
        }
        let features = Plane { data: current, width, height, channels };
        tail_bilinear_shuffle(self.isa, self.threads, &network.tail, &features, luma, &mut self.phases, output);
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
            let network = Arc::new(PackedNetwork::from_supernet(&loaded.supernet, rung.spec));
            let luma = random_luma(37, 23, index as u32 + 1);
            let reference = loaded.supernet.upscale_luma(&luma, rung.spec);
            for (isa, threads) in [(Isa::Portable, 1), (Isa::detect(), 2), (Isa::detect(), 5)] {
                let mut runner = NetworkRunner::new(Arc::clone(&network), isa, threads);
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
        let mut runner = NetworkRunner::with_defaults(Arc::new(PackedNetwork::from_supernet(&loaded.supernet, spec)));
        let mut output = vec![0.0; 4 * luma.data.len()];
        runner.upscale(&luma.data, luma.width, luma.height, &mut output);
        assert!(max_abs_diff(&output, &reference.data) <= 1e-4);
    }

    #[test]
    fn buffers_are_reused_for_frames_of_the_same_size() {
        let loaded = Manifest::load_with_weights(&default_manifest_path(), &Device::flex()).expect("shipped model");
        let network = Arc::new(PackedNetwork::from_supernet(&loaded.supernet, loaded.manifest.ladder[1].spec));
        let mut runner = NetworkRunner::with_defaults(network);
        let luma = random_luma(16, 9, 3);
        let mut output = vec![0.0; 4 * 16 * 9];
        runner.upscale(&luma.data, 16, 9, &mut output);
        let addresses = runner.features.each_ref().map(|buffer| buffer.as_ptr());
        runner.upscale(&luma.data, 16, 9, &mut output);
        let mut again = runner.features.each_ref().map(|buffer| buffer.as_ptr());
        again.sort();
        let mut before = addresses;
        before.sort();
        assert_eq!(before, again, "no new buffers for a second frame of the same size");
    }
}
