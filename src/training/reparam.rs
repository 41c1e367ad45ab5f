//! Re-parameterised training blocks (RepVGG, ECBSR): while training, every 3x3 convolution of the
//! supernet is the sum of three linear branches, and what the network runs is their fold into one
//! 3x3, so inference, the manifest and the engine do not change:
//! - a 3x3 convolution;
//! - a 1x1 convolution (added to the centre tap);
//! - a 1x1 expansion to `EXPANSION` x the layer's widest input, then a 3x3 from it (folded as the
//!   product of the two), without biases so that the fold is exact at the borders too.
//!
//! The fold commutes with width slicing: a subgraph's first `w` input and output channels of the
//! folded kernel are the fold of the branches' first `w` input and output channels, the expansion's
//! hidden channels all kept. So a subgraph trains on the very kernel it is cut from.
//!
//! The branches change how gradient descent moves the folded kernel (each tap gets a different
//! effective step), which is the point; their gradients follow from the folded kernel's by the
//! chain rule ([`Branches::gradients`]).

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::cpu_train::{FlatSupernet, Slot};
use super::error::TrainError;

/// Hidden channels of the expansion branch per input channel of the widest subgraph.
pub const EXPANSION: usize = 2;
const TAPS: usize = 9;
const CENTRE: usize = 4;

/// Where one convolution's branches sit in [`Branches::values`].
#[derive(Debug, Clone, Copy)]
struct BranchSlot {
    /// The folded convolution in the network.
    folded: Slot,
    hidden: usize,
    /// `[out]`.
    bias: usize,
    /// `[out][in][3][3]`.
    full: usize,
    /// `[out][in]`.
    pointwise: usize,
    /// `[hidden][in]`.
    expand: usize,
    /// `[out][hidden][3][3]`.
    project: usize,
}

/// Every convolution's branches, in one vector that the optimiser updates.
#[derive(Debug, Clone)]
pub struct Branches {
    pub values: Vec<f32>,
    slots: Vec<BranchSlot>,
}

impl Branches {
    /// Branches that fold to `network` as it is: the 3x3 branch its kernel, the 1x1 branch and the
    /// projection zero, the expansion random (seeded), so training starts from the same network.
    pub fn new(network: &FlatSupernet, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut values = Vec::new();
        let mut slots = Vec::new();
        for &folded in network.slots() {
            let (o, i) = (folded.out_channels, folded.in_channels);
            let hidden = EXPANSION * i;
            let bias = values.len();
            values.extend_from_slice(&network.values[folded.bias..folded.bias + o]);
            let full = values.len();
            values.extend_from_slice(&network.values[folded.weight..folded.weight + o * i * TAPS]);
            let pointwise = values.len();
            values.resize(pointwise + o * i, 0.0);
            let expand = values.len();
            let bound = (1.0 / i as f32).sqrt();
            values.extend((0..hidden * i).map(|_| rng.random_range(-bound..bound)));
            let project = values.len();
            values.resize(project + o * hidden * TAPS, 0.0);
            slots.push(BranchSlot { folded, hidden, bias, full, pointwise, expand, project });
        }
        Self { values, slots }
    }

    /// Writes the fold of the branches into `network`'s kernels and biases.
    pub fn fold_into(&self, network: &mut FlatSupernet) {
        for slot in &self.slots {
            let (o, i, h) = (slot.folded.out_channels, slot.folded.in_channels, slot.hidden);
            network.values[slot.folded.bias..slot.folded.bias + o]
                .copy_from_slice(&self.values[slot.bias..slot.bias + o]);
            let kernel = &mut network.values[slot.folded.weight..slot.folded.weight + o * i * TAPS];
            kernel.copy_from_slice(&self.values[slot.full..slot.full + o * i * TAPS]);
            for out in 0..o {
                for input in 0..i {
                    let taps = &mut kernel[(out * i + input) * TAPS..][..TAPS];
                    taps[CENTRE] += self.values[slot.pointwise + out * i + input];
                    for hidden in 0..h {
                        let expand = self.values[slot.expand + hidden * i + input];
                        let project = &self.values[slot.project + (out * h + hidden) * TAPS..][..TAPS];
                        for (tap, weight) in taps.iter_mut().zip(project) {
                            *tap += weight * expand;
                        }
                    }
                }
            }
        }
    }

    /// The gradient by the branches from `folded`, the gradient by `network`'s flat parameters.
    pub fn gradients(&self, folded: &[f32]) -> Vec<f32> {
        let mut gradients = vec![0.0; self.values.len()];
        for slot in &self.slots {
            let (o, i, h) = (slot.folded.out_channels, slot.folded.in_channels, slot.hidden);
            gradients[slot.bias..slot.bias + o].copy_from_slice(&folded[slot.folded.bias..slot.folded.bias + o]);
            let kernel = &folded[slot.folded.weight..slot.folded.weight + o * i * TAPS];
            gradients[slot.full..slot.full + o * i * TAPS].copy_from_slice(kernel);
            for out in 0..o {
                for input in 0..i {
                    let taps = &kernel[(out * i + input) * TAPS..][..TAPS];
                    gradients[slot.pointwise + out * i + input] = taps[CENTRE];
                    for hidden in 0..h {
                        let expand = self.values[slot.expand + hidden * i + input];
                        let project = slot.project + (out * h + hidden) * TAPS;
                        let mut expand_gradient = 0.0;
                        for (tap, gradient) in taps.iter().enumerate() {
                            gradients[project + tap] += gradient * expand;
                            expand_gradient += gradient * self.values[project + tap];
                        }
                        gradients[slot.expand + hidden * i + input] += expand_gradient;
                    }
                }
            }
        }
        gradients
    }

    /// Writes the branches, little-endian f32.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let bytes: Vec<u8> = self.values.iter().flat_map(|value| value.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(TrainError::io(path))
    }

    /// Reads the branches of `network`'s shape written by [`Branches::save`].
    pub fn load(path: &Path, network: &FlatSupernet) -> Result<Self, TrainError> {
        let mut branches = Self::new(network, 0);
        let bytes = std::fs::read(path).map_err(TrainError::io(path))?;
        if bytes.len() != 4 * branches.values.len() {
            return Err(TrainError::StateSize {
                path: path.to_owned(),
                what: "re-parameterised branches",
                bytes: bytes.len(),
            });
        }
        branches.values =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("four bytes"))).collect();
        Ok(branches)
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use super::*;
    use crate::model::supernet::SupernetConfig;

    fn network() -> FlatSupernet {
        let device = Device::flex();
        device.seed(3);
        let config = SupernetConfig::new().with_max_depth(2).with_max_width(8).with_widths(vec![4, 8]);
        FlatSupernet::from_supernet(&config, &config.init(&device))
    }

    fn random_branches(network: &FlatSupernet, seed: u64) -> Branches {
        let mut branches = Branches::new(network, seed);
        let mut rng = StdRng::seed_from_u64(seed + 1);
        branches.values.iter_mut().for_each(|value| *value = rng.random_range(-1.0..1.0));
        branches
    }

    #[test]
    fn new_branches_fold_to_the_network_they_start_from() {
        let network = network();
        let mut folded = network.clone();
        Branches::new(&network, 5).fold_into(&mut folded);
        assert_eq!(folded.values, network.values);
    }

    /// The gradient map is the adjoint of the fold's derivative: for any change of the branches
    /// and any gradient at the folded kernel, <gradient, d fold> = <gradients(gradient), change>,
    /// checked against a finite difference of the fold.
    #[test]
    fn branch_gradients_follow_the_fold() {
        let network = network();
        let branches = random_branches(&network, 7);
        let mut rng = StdRng::seed_from_u64(9);
        let upstream: Vec<f32> = (0..network.values.len()).map(|_| rng.random_range(-1.0..1.0)).collect();
        let change: Vec<f32> = (0..branches.values.len()).map(|_| rng.random_range(-1.0..1.0)).collect();
        let fold = |values: &[f32]| {
            let mut folded = network.clone();
            Branches { values: values.to_vec(), ..branches.clone() }.fold_into(&mut folded);
            folded.values
        };
        let step = 1e-3f32;
        let plus: Vec<f32> = branches.values.iter().zip(&change).map(|(v, c)| v + step * c).collect();
        let minus: Vec<f32> = branches.values.iter().zip(&change).map(|(v, c)| v - step * c).collect();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>();
        let numeric = (dot(&upstream, &fold(&plus)) - dot(&upstream, &fold(&minus))) / (2.0 * f64::from(step));
        let analytic = dot(&branches.gradients(&upstream), &change);
        assert!((numeric - analytic).abs() < 1e-3 * analytic.abs().max(1.0), "{numeric} vs {analytic}");
    }

    /// Folding commutes with cutting a subgraph: the first `w` input and output channels of the
    /// folded kernels depend on the branches' first `w` input and output channels alone (every
    /// hidden channel of the expansion kept), so changing all the others leaves them as they are.
    #[test]
    fn folding_commutes_with_width_slicing() {
        let network = network();
        let branches = random_branches(&network, 11);
        let width = 4;
        let mut others = branches.clone();
        let mut rng = StdRng::seed_from_u64(13);
        for slot in &branches.slots {
            let (o, i, h) = (slot.folded.out_channels, slot.folded.in_channels, slot.hidden);
            let (kept_out, kept_in) = (o.min(width), i.min(width));
            let mut change = |index: usize| others.values[index] = rng.random_range(-1.0..1.0);
            for out in 0..o {
                for input in 0..i {
                    if out >= kept_out || input >= kept_in {
                        (0..TAPS).for_each(|tap| change(slot.full + (out * i + input) * TAPS + tap));
                        change(slot.pointwise + out * i + input);
                    }
                }
                if out >= kept_out {
                    change(slot.bias + out);
                    (0..h * TAPS).for_each(|tap| change(slot.project + out * h * TAPS + tap));
                }
            }
            (0..h)
                .flat_map(|hidden| (kept_in..i).map(move |input| hidden * i + input))
                .for_each(|index| change(slot.expand + index));
        }
        let fold = |branches: &Branches| {
            let mut folded = network.clone();
            branches.fold_into(&mut folded);
            folded
        };
        let (a, b) = (fold(&branches), fold(&others));
        assert_ne!(a.values, b.values, "the other channels did change");
        for slot in &branches.slots {
            let (o, i) = (slot.folded.out_channels, slot.folded.in_channels);
            let (kept_out, kept_in) = (o.min(width), i.min(width));
            for out in 0..kept_out {
                assert_eq!(a.values[slot.folded.bias + out], b.values[slot.folded.bias + out]);
                for input in 0..kept_in {
                    let taps = slot.folded.weight + (out * i + input) * TAPS;
                    assert_eq!(a.values[taps..taps + TAPS], b.values[taps..taps + TAPS]);
                }
            }
        }
    }
}
