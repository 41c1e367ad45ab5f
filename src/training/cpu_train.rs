//! The supernet trained on dysr's own CPU kernels instead of burn's: the same network, loss and
//! optimiser as [`super::train`] with burn (which stays the reference its gradients are tested
//! against), at the speed of the inference kernels.
//!
//! Each thread takes a strip of the batch: its patches side by side, one zero column between two
//! (the zero padding of both), so one kernel call runs a layer on all of them. Forward keeps every
//! layer's output; backward runs the layers in reverse: ReLU masks from the stored outputs, the
//! input gradient as a forward convolution with flipped and transposed weights (the skip
//! connection fused in as its residual), the weight gradient by the reduction kernel. The
//! threads' gradients are summed and Adam updates one flat parameter vector.

use std::ops::Range;
use std::path::Path;

use burn::module::Param;
use burn::prelude::*;
use rayon::prelude::*;

use super::data::Batch;
use super::error::TrainError;
use super::reparam::Branches;
use super::train::Loss;
use crate::engine::cpu::gradients::accumulate_conv_gradients;
use crate::engine::cpu::kernels::{Isa, PackedConv, Planes, conv3x3_serial};
use crate::model::supernet::{BILINEAR_TAPS, BodyKind, ElasticConv, SubgraphSpec, Supernet, SupernetConfig};

/// Where one convolution's weights (`[out][in][3][3]`) and bias sit in the flat vector.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub in_channels: usize,
    pub out_channels: usize,
    pub weight: usize,
    pub bias: usize,
}

/// The supernet's parameters in one vector: head, body layers, tail.
#[derive(Debug, Clone)]
pub struct FlatSupernet {
    pub config: SupernetConfig,
    pub values: Vec<f32>,
    slots: Vec<Slot>,
}

impl FlatSupernet {
    pub fn from_supernet(config: &SupernetConfig, supernet: &Supernet) -> Self {
        let convs = std::iter::once(&supernet.head).chain(&supernet.body).chain(std::iter::once(&supernet.tail));
        let mut values = Vec::new();
        let mut slots = Vec::new();
        for conv in convs {
            let [out_channels, in_channels, ..] = conv.weight.val().dims();
            let weight = values.len();
            values.extend(conv.weight.val().into_data().try_to_vec::<f32>().expect("f32 weights"));
            let bias = values.len();
            values.extend(conv.bias.val().into_data().try_to_vec::<f32>().expect("f32 bias"));
            slots.push(Slot { in_channels, out_channels, weight, bias });
        }
        Self { config: config.clone(), values, slots }
    }

    /// Where each convolution sits in [`Self::values`]: head, body layers, tail.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The ranges of [`Self::values`] that `learn` lets change, in order.
    pub fn learned_ranges(&self, learn: Learn) -> Vec<Range<usize>> {
        let last = self.slots.len() - 1;
        let whole = |slot: &Slot| slot.weight..slot.bias + slot.out_channels;
        let bias = |slot: &Slot| slot.bias..slot.bias + slot.out_channels;
        match learn {
            Learn::All => std::iter::once(0..self.values.len()).collect(),
            Learn::Tail => vec![whole(&self.slots[last])],
            Learn::Biases => self.slots[..last].iter().map(bias).chain([whole(&self.slots[last])]).collect(),
            Learn::Ends => [whole(&self.slots[0])]
                .into_iter()
                .chain(self.slots[1..last].iter().map(bias))
                .chain([whole(&self.slots[last])])
                .collect(),
        }
    }

    /// The same network with other values (an average of these, say).
    pub fn with_values(&self, values: Vec<f32>) -> Self {
        assert_eq!(values.len(), self.values.len());
        Self { values, ..self.clone() }
    }

    /// The burn network with these weights, on `device`.
    pub fn to_supernet(&self, device: &Device) -> Supernet {
        let conv = |slot: &Slot| {
            let (o, i) = (slot.out_channels, slot.in_channels);
            let weight = self.values[slot.weight..slot.weight + o * i * 9].to_vec();
            let bias = self.values[slot.bias..slot.bias + o].to_vec();
            ElasticConv {
                weight: Param::from_tensor(Tensor::from_data(TensorData::new(weight, [o, i, 3, 3]), device)),
                bias: Param::from_tensor(Tensor::from_data(TensorData::new(bias, [o]), device)),
            }
        };
        let last = self.slots.len() - 1;
        Supernet {
            head: conv(&self.slots[0]),
            body: self.slots[1..last].iter().map(conv).collect(),
            tail: conv(&self.slots[last]),
            kind: self.config.body_kind(),
        }
    }

    /// The first `in_channels` x `out_channels` of a slot: `[out][in][3][3]` weights and the bias.
    fn slice(&self, slot: Slot, in_channels: usize, out_channels: usize) -> (Vec<f32>, Vec<f32>) {
        let mut weight = Vec::with_capacity(out_channels * in_channels * 9);
        for o in 0..out_channels {
            let row = slot.weight + o * slot.in_channels * 9;
            weight.extend_from_slice(&self.values[row..row + in_channels * 9]);
        }
        (weight, self.values[slot.bias..slot.bias + out_channels].to_vec())
    }

    /// The packed convolutions of subgraph `spec`, forward and transposed.
    fn pack(&self, isa: Isa, spec: SubgraphSpec) -> PackedSubgraph {
        let width = spec.width;
        let (head, tail) = (self.slots[0], self.slots[self.slots.len() - 1]);
        let kind = self.config.body_kind();
        let (inputs, phases) = (kind.input_channels(), kind.output_phases());
        let (head_weight, head_bias) = self.slice(head, inputs, width);
        let (tail_weight, tail_bias) = self.slice(tail, width, phases);
        let plain = kind.is_plain();
        let mut body = Vec::new();
        let mut body_transposed = Vec::new();
        for (layer, &slot) in self.slots[1..=spec.depth].iter().enumerate() {
            let (weight, bias) = self.slice(slot, width, width);
            // A pair's first layer ends in a ReLU; the skip connections of pairs and of
            // pre-activation layers are added by the forward pass's row hook (the kernel's
            // residual is its own input).
            let relu = plain || (kind == BodyKind::Pairs && layer % 2 == 0);
            body.push(PackedConv::pack(isa, &weight, &bias, width, width, relu, plain));
            body_transposed.push(PackedConv::transposed(isa, &weight, width, width, plain));
        }
        PackedSubgraph {
            spec,
            kind,
            head: PackedConv::pack(isa, &head_weight, &head_bias, inputs, width, kind.head_has_relu(), false),
            body,
            tail: PackedConv::pack(isa, &tail_weight, &tail_bias, width, phases, false, false),
            body_transposed,
            tail_transposed: PackedConv::transposed(isa, &tail_weight, width, phases, false),
        }
    }
}

/// One subgraph's convolutions for one step.
struct PackedSubgraph {
    spec: SubgraphSpec,
    kind: BodyKind,
    head: PackedConv,
    body: Vec<PackedConv>,
    tail: PackedConv,
    body_transposed: Vec<PackedConv>,
    tail_transposed: PackedConv,
}

/// Multiply-adds of one training step per low-resolution pixel: each subgraph's forward, its
/// input gradients (all layers but the head) and its weight gradients.
pub fn step_macs_per_lr_pixel(specs: &[SubgraphSpec]) -> usize {
    specs.iter().map(|spec| 3 * spec.macs_per_lr_pixel() - spec.width * 9).sum()
}

/// Which parameters a run trains (`dysr train --learn`); the others keep their starting values.
/// The narrower sets measure what a rung would gain from parameters of its own beside the ones it
/// shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Learn {
    /// Every weight and bias.
    #[default]
    All,
    /// The tail (the last convolution) only.
    Tail,
    /// Every layer's bias and the tail.
    Biases,
    /// The head, every bias and the tail: everything but the body's 3x3 weights.
    Ends,
}

/// Adam as burn implements it (same defaults), on a flat vector.
#[derive(Debug, Clone)]
pub struct Adam {
    pub steps: u64,
    first_moment: Vec<f32>,
    second_moment: Vec<f32>,
}

impl Adam {
    const BETA_1: f32 = 0.9;
    const BETA_2: f32 = 0.999;
    const EPSILON: f32 = 1e-5;

    pub fn new(parameters: usize) -> Self {
        Self { steps: 0, first_moment: vec![0.0; parameters], second_moment: vec![0.0; parameters] }
    }

    pub fn update(&mut self, values: &mut [f32], gradients: &[f32], learning_rate: f32) {
        self.update_ranges(std::slice::from_ref(&(0..values.len())), values, gradients, learning_rate);
    }

    /// A step on the parameters in `ranges` only; the others and their moments stay as they are.
    pub fn update_ranges(
        &mut self,
        ranges: &[Range<usize>],
        values: &mut [f32],
        gradients: &[f32],
        learning_rate: f32,
    ) {
        self.steps += 1;
        let time = self.steps as i32;
        let correction_2 = (1.0 - Self::BETA_2.powi(time)).sqrt();
        let step_size = learning_rate * correction_2 / (1.0 - Self::BETA_1.powi(time));
        for range in ranges {
            let moments = self.first_moment[range.clone()].iter_mut().zip(&mut self.second_moment[range.clone()]);
            for ((value, gradient), (m, v)) in
                values[range.clone()].iter_mut().zip(&gradients[range.clone()]).zip(moments)
            {
                *m = Self::BETA_1 * *m + (1.0 - Self::BETA_1) * gradient;
                *v = Self::BETA_2 * *v + (1.0 - Self::BETA_2) * gradient * gradient;
                *value -= step_size * *m / (v.sqrt() + Self::EPSILON * correction_2);
            }
        }
    }

    /// Writes the state: steps (u64), then both moments, little-endian.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let mut bytes = self.steps.to_le_bytes().to_vec();
        for value in self.first_moment.iter().chain(&self.second_moment) {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        std::fs::write(path, bytes).map_err(TrainError::io(path))
    }

    pub fn load(path: &Path, parameters: usize) -> Result<Self, TrainError> {
        let bytes = std::fs::read(path).map_err(TrainError::io(path))?;
        if bytes.len() != 8 + 8 * parameters {
            return Err(TrainError::StateSize { path: path.to_owned(), what: "optimiser state", bytes: bytes.len() });
        }
        let steps = u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes"));
        let values: Vec<f32> =
            bytes[8..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("four bytes"))).collect();
        let (first, second) = values.split_at(parameters);
        Ok(Self { steps, first_moment: first.to_vec(), second_moment: second.to_vec() })
    }
}

/// An exponential moving average of the weights (`average = decay * average + (1 - decay) *
/// weights` after every step): a smoother network than the last step's.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    pub decay: f32,
    pub values: Vec<f32>,
}

impl WeightAverage {
    pub fn update(&mut self, weights: &[f32]) {
        for (average, weight) in self.values.iter_mut().zip(weights) {
            *average = self.decay * *average + (1.0 - self.decay) * weight;
        }
    }

    /// Writes the values, little-endian f32.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let bytes: Vec<u8> = self.values.iter().flat_map(|value| value.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(TrainError::io(path))
    }

    pub fn load(path: &Path, decay: f32, parameters: usize) -> Result<Self, TrainError> {
        let bytes = std::fs::read(path).map_err(TrainError::io(path))?;
        if bytes.len() != 4 * parameters {
            return Err(TrainError::StateSize {
                path: path.to_owned(),
                what: "average of the weights",
                bytes: bytes.len(),
            });
        }
        Ok(Self {
            decay,
            values: bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("four bytes"))).collect(),
        })
    }
}

/// A thread's buffers: its strip of patches through every layer, and its share of the gradients.
struct Workspace {
    patches: usize,
    patch: usize,
    /// LR pixels across and down of one position of the body (`BodyKind::fold`).
    fold: usize,
    luma: Planes,
    /// The head's input when `fold` > 1: the LR patches' pixel-unshuffled blocks.
    unshuffled: Planes,
    /// The head's output, then each body layer's.
    features: Vec<Planes>,
    /// `relu(features)`, the layers' inputs (`BodyKind::Preact`).
    activated: Vec<Planes>,
    /// Each body layer's attention, the sigmoid of its convolution (`BodyKind::Attention`).
    attention: Vec<Planes>,
    phases: Planes,
    /// Gradients at layer outputs, two in turn.
    gradient: [Planes; 2],
    /// The gradient inside a pair of layers (`BodyKind::Pairs`): at the first one's output; or
    /// at a layer's convolution (`BodyKind::Attention`).
    inner_gradient: Planes,
    phase_gradient: Planes,
    /// The strip's x2 outputs, patch after patch, and the largest subgraph's.
    output: Vec<f32>,
    teacher: Vec<f32>,
    gradients: Vec<f32>,
    loss: f64,
}

impl Workspace {
    fn new(config: &SupernetConfig, parameters: usize, patches: usize, patch: usize) -> Self {
        let kind = config.body_kind();
        let fold = kind.fold();
        assert_eq!(patch % fold, 0, "patches of {patch} LR pixels in blocks of {fold}");
        // The body's planes: `patches` of `patch / fold` positions, one zero column between two.
        let positions = patch / fold;
        let planes = |channels| Planes::new(channels, patches * (positions + 1) - 1, positions);
        Self {
            patches,
            patch,
            fold,
            luma: Planes::new(1, patches * (patch + 1) - 1, patch),
            unshuffled: match fold {
                1 => Planes::new(0, 0, 0),
                _ => planes(kind.input_channels()),
            },
            features: (0..=config.max_depth).map(|_| planes(config.max_width)).collect(),
            activated: match kind {
                BodyKind::Preact => (0..=config.max_depth).map(|_| planes(config.max_width)).collect(),
                BodyKind::Plain | BodyKind::Pairs | BodyKind::HalfResolution | BodyKind::Attention => Vec::new(),
            },
            attention: match kind {
                BodyKind::Attention => (0..config.max_depth).map(|_| planes(config.max_width)).collect(),
                BodyKind::Plain | BodyKind::Pairs | BodyKind::Preact | BodyKind::HalfResolution => Vec::new(),
            },
            phases: planes(kind.output_phases()),
            gradient: [planes(config.max_width), planes(config.max_width)],
            inner_gradient: match kind {
                BodyKind::Pairs | BodyKind::Attention => planes(config.max_width),
                BodyKind::Plain | BodyKind::Preact | BodyKind::HalfResolution => Planes::new(0, 0, 0),
            },
            phase_gradient: planes(kind.output_phases()),
            output: vec![0.0; patches * 4 * patch * patch],
            teacher: vec![0.0; patches * 4 * patch * patch],
            gradients: vec![0.0; parameters],
            loss: 0.0,
        }
    }

    /// Lays out the LR patches `range` of `batch` side by side.
    fn load(&mut self, batch: &Batch, range: Range<usize>) {
        let p = self.patch;
        for (slot, patch) in range.clone().enumerate() {
            for y in 0..p {
                let source = &batch.lr[(patch * p + y) * p..(patch * p + y + 1) * p];
                self.luma.row_mut(0, y)[slot * (p + 1)..slot * (p + 1) + p].copy_from_slice(source);
            }
        }
        let (fold, positions) = (self.fold, p / self.fold);
        if fold > 1 {
            for (slot, patch) in range.enumerate() {
                for (channel, (dy, dx)) in (0..fold).flat_map(|dy| (0..fold).map(move |dx| (dy, dx))).enumerate() {
                    for y in 0..positions {
                        let source = &batch.lr[(patch * p + fold * y + dy) * p..][..p];
                        let row = &mut self.unshuffled.row_mut(channel, y)[slot * (positions + 1)..][..positions];
                        for (x, value) in row.iter_mut().enumerate() {
                            *value = source[fold * x + dx];
                        }
                    }
                }
            }
        }
        self.gradients.fill(0.0);
        self.loss = 0.0;
    }

    /// Runs `net` forward; its x2 output goes to `self.output`.
    fn forward(&mut self, isa: Isa, net: &PackedSubgraph) {
        let (depth, width) = (net.spec.depth, net.spec.width);
        let (patches, positions) = (self.patches, self.patch / self.fold);
        self.features[0].set_channels(width);
        let separators = |planes: &mut Planes, y: usize| zero_separators(planes, y, patches, positions);
        let head_input = if self.fold > 1 { &self.unshuffled } else { &self.luma };
        conv3x3_serial(isa, &net.head, head_input, &mut self.features[0], separators);
        for layer in 0..depth {
            let (done, rest) = self.features.split_at_mut(layer + 1);
            rest[0].set_channels(width);
            match net.kind {
                BodyKind::Pairs if layer % 2 == 1 => {
                    // The block's skip connection: its input, the output of the layer before last.
                    let skip = &done[layer - 1];
                    conv3x3_serial(isa, &net.body[layer], &done[layer], &mut rest[0], |planes, y| {
                        add_row(planes, skip, y);
                        separators(planes, y);
                    });
                }
                BodyKind::Preact => {
                    let activated = &mut self.activated[layer];
                    relu_into(&done[layer], activated, width);
                    let skip = &done[layer];
                    conv3x3_serial(isa, &net.body[layer], activated, &mut rest[0], |planes, y| {
                        add_row(planes, skip, y);
                        separators(planes, y);
                    });
                }
                BodyKind::Attention => {
                    // The convolution goes where its sigmoid is kept, row by row as it is made.
                    let (input, output, attention) = (&done[layer], &mut rest[0], &mut self.attention[layer]);
                    attention.set_channels(width);
                    conv3x3_serial(isa, &net.body[layer], input, attention, |convolved, y| {
                        separators(convolved, y);
                        attend_row(input, convolved, output, y);
                    });
                }
                BodyKind::Plain | BodyKind::Pairs | BodyKind::HalfResolution => {
                    conv3x3_serial(isa, &net.body[layer], &done[layer], &mut rest[0], separators)
                }
            }
        }
        if net.kind == BodyKind::Preact {
            relu_into(&self.features[depth], &mut self.activated[depth], width);
        }
        let tail_input = tail_input(net, &self.features, &self.activated);
        conv3x3_serial(isa, &net.tail, tail_input, &mut self.phases, |_, _| {});
        let p = self.patch;
        for patch in 0..patches {
            let out = &mut self.output[patch * 4 * p * p..(patch + 1) * 4 * p * p];
            shuffle_patch(&self.luma, &self.phases, patch, p, self.fold, out);
        }
    }

    /// The loss terms of the last forward against the HR patches `range` of `batch` (and the
    /// teacher's output, weighted by `distill`), and their gradient at the output, into
    /// `self.output`. `scale` is one over the batch's output values (the loss is a mean), times
    /// the subgraph's weight in the loss.
    fn loss_gradient(&mut self, batch: &Batch, range: Range<usize>, distill: Option<f32>, loss_kind: Loss, scale: f32) {
        let per_patch = 4 * self.patch * self.patch;
        let truth = &batch.hr[range.start * per_patch..][..range.len() * per_patch];
        let truth_weight = 1.0 - distill.unwrap_or(0.0);
        let mut loss = 0.0f64;
        let mut gradient = vec![0.0f32; per_patch];
        for (patch, out) in self.output[..truth.len()].chunks_exact_mut(per_patch).enumerate() {
            let values = patch * per_patch..(patch + 1) * per_patch;
            gradient.fill(0.0);
            loss += patch_loss(loss_kind, out, &truth[values.clone()], truth_weight, &mut gradient);
            if let Some(weight) = distill {
                loss += patch_loss(loss_kind, out, &self.teacher[values], weight, &mut gradient);
            }
            for (out, gradient) in out.iter_mut().zip(&gradient) {
                *out = gradient * scale;
            }
        }
        self.loss += loss * scale as f64;
    }

    /// Backpropagates the output gradient in `self.output` through `net` (whose forward ran last),
    /// adding the weight gradients into `self.gradients`.
    fn backward(&mut self, isa: Isa, net: &PackedSubgraph, slots: &[Slot]) {
        let (depth, width) = (net.spec.depth, net.spec.width);
        let (patches, p, fold) = (self.patches, self.patch, self.fold);
        for patch in 0..patches {
            let out = &self.output[patch * 4 * p * p..(patch + 1) * 4 * p * p];
            unshuffle_patch(out, patch, p, fold, &mut self.phase_gradient);
        }
        let positions = p / fold;
        let tail = slots[slots.len() - 1];
        let tail_input = tail_input(net, &self.features, &self.activated);
        accumulate(isa, tail_input, &self.phase_gradient, tail, &mut self.gradients);
        let [mut current, mut next] =
            std::mem::replace(&mut self.gradient, [Planes::new(0, 0, 0), Planes::new(0, 0, 0)]);
        // Each input gradient, row by row as it is made: the separators cleared, then the ReLU's
        // derivative from the output of the layer before (the input of the one it went through).
        let features = &self.features;
        let finish = |relu_output: usize| {
            move |gradient: &mut Planes, y: usize| {
                zero_separators(gradient, y, patches, positions);
                mask_relu(gradient, &features[relu_output], y);
            }
        };
        current.set_channels(width);
        match net.kind {
            BodyKind::Plain | BodyKind::HalfResolution => {
                conv3x3_serial(isa, &net.tail_transposed, &self.phase_gradient, &mut current, finish(depth));
                for layer in (0..depth).rev() {
                    accumulate(isa, &features[layer], &current, slots[1 + layer], &mut self.gradients);
                    next.set_channels(width);
                    conv3x3_serial(isa, &net.body_transposed[layer], &current, &mut next, finish(layer));
                    std::mem::swap(&mut current, &mut next);
                }
            }
            BodyKind::Pairs => {
                let separators = |gradient: &mut Planes, y: usize| zero_separators(gradient, y, patches, positions);
                conv3x3_serial(isa, &net.tail_transposed, &self.phase_gradient, &mut current, separators);
                let inner = &mut self.inner_gradient;
                inner.set_channels(width);
                // `current`: the gradient at a block's output, then (through both layers and the
                // skip connection) at its input.
                for second in (1..depth).step_by(2).rev() {
                    accumulate(isa, &features[second], &current, slots[1 + second], &mut self.gradients);
                    conv3x3_serial(isa, &net.body_transposed[second], &current, inner, finish(second));
                    accumulate(isa, &features[second - 1], inner, slots[second], &mut self.gradients);
                    next.set_channels(width);
                    conv3x3_serial(isa, &net.body_transposed[second - 1], inner, &mut next, |gradient, y| {
                        add_row(gradient, &current, y);
                        separators(gradient, y);
                    });
                    std::mem::swap(&mut current, &mut next);
                }
            }
            BodyKind::Preact => {
                // `current`: the gradient at a layer's output, then (through its ReLU and its
                // skip connection) at its input.
                conv3x3_serial(isa, &net.tail_transposed, &self.phase_gradient, &mut current, finish(depth));
                for layer in (0..depth).rev() {
                    accumulate(isa, &self.activated[layer], &current, slots[1 + layer], &mut self.gradients);
                    next.set_channels(width);
                    let relu = finish(layer);
                    conv3x3_serial(isa, &net.body_transposed[layer], &current, &mut next, |gradient, y| {
                        relu(gradient, y);
                        add_row(gradient, &current, y);
                    });
                    std::mem::swap(&mut current, &mut next);
                }
            }
            BodyKind::Attention => {
                // `current`: the gradient at a layer's output, then (through its convolution and
                // around it) at its input; the head's ReLU is the only one.
                let separators = |gradient: &mut Planes, y: usize| zero_separators(gradient, y, patches, positions);
                let head_relu = finish(0);
                conv3x3_serial(
                    isa,
                    &net.tail_transposed,
                    &self.phase_gradient,
                    &mut current,
                    |gradient, y| match depth {
                        0 => head_relu(gradient, y),
                        _ => separators(gradient, y),
                    },
                );
                let inner = &mut self.inner_gradient;
                inner.set_channels(width);
                for layer in (0..depth).rev() {
                    let attention = &self.attention[layer];
                    attention_gradient(attention, &features[layer + 1], &current, inner);
                    accumulate(isa, &features[layer], inner, slots[1 + layer], &mut self.gradients);
                    next.set_channels(width);
                    conv3x3_serial(isa, &net.body_transposed[layer], inner, &mut next, |gradient, y| {
                        separators(gradient, y);
                        add_attended_row(gradient, &current, attention, y);
                        if layer == 0 {
                            head_relu(gradient, y);
                        }
                    });
                    std::mem::swap(&mut current, &mut next);
                }
            }
        }
        let head_input = if fold > 1 { &self.unshuffled } else { &self.luma };
        accumulate(isa, head_input, &current, slots[0], &mut self.gradients);
        self.gradient = [current, next];
    }
}

/// The derivative of `abs` as autodiff takes it: 0 at 0.
fn sign(value: f32) -> f32 {
    if value == 0.0 { 0.0 } else { value.signum() }
}

/// One patch's loss against `target`, times `weight`, summed over its values (the caller scales
/// it to a mean); adds its derivative by each output value, likewise, into `gradient`.
fn patch_loss(kind: Loss, output: &[f32], target: &[f32], weight: f32, gradient: &mut [f32]) -> f64 {
    let differences = output.iter().zip(target).map(|(out, truth)| out - truth);
    match kind {
        Loss::L1 => differences
            .zip(gradient)
            .map(|(difference, gradient)| {
                *gradient += weight * sign(difference);
                f64::from(weight * difference.abs())
            })
            .sum(),
        Loss::L2 => differences
            .zip(gradient)
            .map(|(difference, gradient)| {
                *gradient += weight * 2.0 * difference;
                f64::from(weight * difference * difference)
            })
            .sum(),
        Loss::LogMse => {
            let values = output.len() as f64;
            let squared: f64 = differences.clone().map(|difference| f64::from(difference).powi(2)).sum();
            let mse = squared / values + super::train::LOG_MSE_FLOOR;
            // d ln(mse) / d output = 2 difference / (values mse), times the values as for the others.
            let factor = weight * (2.0 / mse) as f32;
            for (difference, gradient) in differences.zip(gradient) {
                *gradient += factor * difference;
            }
            f64::from(weight) * values * mse.ln()
        }
    }
}

fn accumulate(isa: Isa, input: &Planes, output_gradient: &Planes, slot: Slot, gradients: &mut [f32]) {
    let (weights, bias) = gradients.split_at_mut(slot.bias);
    accumulate_conv_gradients(isa, input, output_gradient, slot.in_channels, &mut weights[slot.weight..], bias);
}

/// What the tail of `net` sees: the last body layer's output, or its ReLU (`BodyKind::Preact`).
fn tail_input<'a>(net: &PackedSubgraph, features: &'a [Planes], activated: &'a [Planes]) -> &'a Planes {
    match net.kind {
        BodyKind::Preact => &activated[net.spec.depth],
        BodyKind::Plain | BodyKind::Pairs | BodyKind::HalfResolution | BodyKind::Attention => &features[net.spec.depth],
    }
}

fn sigmoid(value: f32) -> f32 {
    1.0 / (1.0 + (-value).exp())
}

/// Row `y` of a layer with attention (`BodyKind::Attention`): `output = (input + c) * 2 sigmoid(c)`
/// with `c` its convolution, which the row of `convolved` holds and then gives way to `sigmoid(c)`.
fn attend_row(input: &Planes, convolved: &mut Planes, output: &mut Planes, y: usize) {
    for channel in 0..convolved.channels {
        let values = input.row(channel, y).iter().zip(convolved.row_mut(channel, y));
        for (out, (f, c)) in output.row_mut(channel, y).iter_mut().zip(values) {
            let s = sigmoid(*c);
            *out = (f + *c) * 2.0 * s;
            *c = s;
        }
    }
}

/// The gradient at the convolution `c` of a layer with attention from `output_gradient`, the one
/// at its `output`: `output_gradient * (2 s + output (1 - s))` with `s = sigmoid(c)`, the layer's
/// `attention` (since `output = (input + c) * 2 s`).
fn attention_gradient(attention: &Planes, output: &Planes, output_gradient: &Planes, gradient: &mut Planes) {
    for channel in 0..attention.channels {
        for y in 0..attention.height {
            let values =
                attention.row(channel, y).iter().zip(output.row(channel, y)).zip(output_gradient.row(channel, y));
            for (out, ((s, o), g)) in gradient.row_mut(channel, y).iter_mut().zip(values) {
                *out = g * (2.0 * s + o * (1.0 - s));
            }
        }
    }
}

/// Row `y` of `gradient += output_gradient * 2 attention`: what reaches a layer with attention's
/// input around its convolution.
fn add_attended_row(gradient: &mut Planes, output_gradient: &Planes, attention: &Planes, y: usize) {
    for channel in 0..gradient.channels {
        let values = output_gradient.row(channel, y).iter().zip(attention.row(channel, y));
        for (value, (g, s)) in gradient.row_mut(channel, y).iter_mut().zip(values) {
            *value += g * 2.0 * s;
        }
    }
}

/// `output = relu(input)` on the first `channels` planes.
fn relu_into(input: &Planes, output: &mut Planes, channels: usize) {
    output.set_channels(channels);
    for channel in 0..channels {
        for y in 0..input.height {
            for (out, value) in output.row_mut(channel, y).iter_mut().zip(input.row(channel, y)) {
                *out = value.max(0.0);
            }
        }
    }
}

/// Row `y` of `planes += addend`.
fn add_row(planes: &mut Planes, addend: &Planes, y: usize) {
    for channel in 0..planes.channels {
        for (value, add) in planes.row_mut(channel, y).iter_mut().zip(addend.row(channel, y)) {
            *value += add;
        }
    }
}

/// Clears row `y`'s columns between patches: they are every patch's zero padding.
fn zero_separators(planes: &mut Planes, y: usize, patches: usize, patch: usize) {
    for channel in 0..planes.channels {
        let row = planes.row_mut(channel, y);
        for separator in 1..patches {
            row[separator * (patch + 1) - 1] = 0.0;
        }
    }
}

/// Row `y` of `gradient *= (output > 0)`: the ReLU's derivative, from the layer's stored output.
fn mask_relu(gradient: &mut Planes, output: &Planes, y: usize) {
    for channel in 0..gradient.channels {
        // A store on every value, not only the masked ones, so the loop is vectorised.
        for (g, o) in gradient.row_mut(channel, y).iter_mut().zip(output.row(channel, y)) {
            *g = if *o > 0.0 { *g } else { 0.0 };
        }
    }
}

/// The x2 output of patch `patch` of the strip (`p` LR pixels square): its phases (`4 * fold²`
/// channels of `p / fold` positions square) plus the bilinear x2 of its luma (edges replicated
/// within the patch), as the inference kernel computes it.
fn shuffle_patch(luma: &Planes, phases: &Planes, patch: usize, p: usize, fold: usize, out: &mut [f32]) {
    let (x0, positions) = (patch * (p + 1), p / fold);
    let mut vertical = vec![0.0f32; p];
    for y in 0..p {
        let rows = [y.saturating_sub(1), y, (y + 1).min(p - 1)].map(|row| &luma.row(0, row)[x0..x0 + p]);
        for (dy, [above, centre, below]) in BILINEAR_TAPS.into_iter().enumerate() {
            for (x, value) in vertical.iter_mut().enumerate() {
                *value = above * rows[0][x] + centre * rows[1][x] + below * rows[2][x];
            }
            let target = &mut out[(2 * y + dy) * 2 * p..(2 * y + dy + 1) * 2 * p];
            for dx in 0..2 {
                let [left, middle, right] = BILINEAR_TAPS[dx];
                // The output pixels of column `fold * x + column` of each position, one channel.
                for column in 0..fold {
                    let channel = phase_channel(y % fold, column, dy, dx, fold);
                    let phase = &phases.row(channel, y / fold)[patch * (positions + 1)..][..positions];
                    for (position, value) in phase.iter().enumerate() {
                        let x = fold * position + column;
                        let bilinear = left * vertical[x.saturating_sub(1)]
                            + middle * vertical[x]
                            + right * vertical[(x + 1).min(p - 1)];
                        target[2 * x + dx] = value + bilinear;
                    }
                }
            }
        }
    }
}

/// The gradient at the phases of patch `patch` of the strip from the gradient at its x2 output.
fn unshuffle_patch(out: &[f32], patch: usize, p: usize, fold: usize, phases: &mut Planes) {
    let positions = p / fold;
    for y in 0..p {
        for (dy, dx, column) in (0..2).flat_map(|dy| (0..2).flat_map(move |dx| (0..fold).map(move |c| (dy, dx, c)))) {
            let channel = phase_channel(y % fold, column, dy, dx, fold);
            let row = &mut phases.row_mut(channel, y / fold)[patch * (positions + 1)..][..positions];
            for (position, value) in row.iter_mut().enumerate() {
                *value = out[(2 * y + dy) * 2 * p + 2 * (fold * position + column) + dx];
            }
        }
    }
}

/// The tail's channel for output phase (`dy`, `dx`) of the LR pixel at (`row`, `column`) of a
/// position: channels run over the position's `2 fold` output rows, then its `2 fold` columns.
fn phase_channel(row: usize, column: usize, dy: usize, dx: usize, fold: usize) -> usize {
    (2 * row + dy) * 2 * fold + 2 * column + dx
}

/// Trains a [`FlatSupernet`] with the sandwich loss on this CPU's threads.
pub struct CpuTrainer {
    pub network: FlatSupernet,
    /// Re-parameterised training blocks, when used: then they are what `optimizer` updates and
    /// `network` is their fold.
    pub branches: Option<Branches>,
    pub optimizer: Adam,
    /// Updated after every step when set.
    pub average: Option<WeightAverage>,
    /// The parameters each step changes (`--learn`).
    pub learn: Learn,
    /// Weights of subgraphs' terms in the loss (`--rung-weights`); 1 for any not listed.
    pub loss_weights: Vec<(SubgraphSpec, f32)>,
    isa: Isa,
    pool: rayon::ThreadPool,
    workspaces: Vec<Workspace>,
}

impl CpuTrainer {
    pub fn new(network: FlatSupernet, optimizer: Adam, threads: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|index| format!("train-{index}"))
            .build()
            .expect("training threads");
        Self {
            network,
            branches: None,
            optimizer,
            average: None,
            learn: Learn::All,
            loss_weights: Vec::new(),
            isa: Isa::detect(),
            pool,
            workspaces: Vec::new(),
        }
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The sandwich loss of `batch` (the first of `specs` is the teacher; the others also pull
    /// towards its output with weight `distill`) and its gradient by the flat parameters.
    pub fn loss_and_gradients(
        &mut self,
        batch: &Batch,
        specs: &[SubgraphSpec],
        distill: f32,
        loss: Loss,
    ) -> (f32, Vec<f32>) {
        let threads = self.pool.current_num_threads().min(batch.size).max(1);
        let per_strip = batch.size.div_ceil(threads);
        let strips: Vec<Range<usize>> =
            (0..batch.size).step_by(per_strip).map(|start| start..(start + per_strip).min(batch.size)).collect();
        if self.workspaces.len() != strips.len()
            || self.workspaces.iter().any(|w| (w.patches, w.patch) != (per_strip, batch.lr_patch))
        {
            let parameters = self.network.values.len();
            self.workspaces = strips
                .iter()
                .map(|_| Workspace::new(&self.network.config, parameters, per_strip, batch.lr_patch))
                .collect();
        }
        let nets: Vec<PackedSubgraph> = specs.iter().map(|&spec| self.network.pack(self.isa, spec)).collect();
        let weights: Vec<f32> = specs
            .iter()
            .map(|spec| {
                self.loss_weights.iter().find(|(weighted, _)| weighted == spec).map_or(1.0, |&(_, weight)| weight)
            })
            .collect();
        let (isa, slots) = (self.isa, &self.network.slots);
        let scale = 1.0 / (batch.size * 4 * batch.lr_patch * batch.lr_patch) as f32;
        self.pool.install(|| {
            self.workspaces.par_iter_mut().zip(&strips).for_each(|(workspace, range)| {
                // A short last strip leaves its spare patches at zero: they add nothing.
                workspace.load(batch, range.clone());
                let values = range.len() * 4 * batch.lr_patch * batch.lr_patch;
                for (index, net) in nets.iter().enumerate() {
                    workspace.forward(isa, net);
                    if index == 0 {
                        workspace.teacher[..values].copy_from_slice(&workspace.output[..values]);
                    }
                    workspace.loss_gradient(
                        batch,
                        range.clone(),
                        (index > 0).then_some(distill),
                        loss,
                        scale * weights[index],
                    );
                    workspace.output[values..].fill(0.0);
                    workspace.backward(isa, net, slots);
                }
            })
        });
        let mut gradients = vec![0.0; self.network.values.len()];
        let mut loss = 0.0;
        for workspace in &self.workspaces[..strips.len()] {
            for (sum, value) in gradients.iter_mut().zip(&workspace.gradients) {
                *sum += value;
            }
            loss += workspace.loss;
        }
        (loss as f32, gradients)
    }

    /// One Adam step on the sandwich loss of `batch`; returns the loss.
    pub fn step(&mut self, batch: &Batch, specs: &[SubgraphSpec], distill: f32, loss: Loss, learning_rate: f64) -> f32 {
        let (loss, gradients) = self.loss_and_gradients(batch, specs, distill, loss);
        match &mut self.branches {
            None => {
                let ranges = self.network.learned_ranges(self.learn);
                self.optimizer.update_ranges(&ranges, &mut self.network.values, &gradients, learning_rate as f32);
            }
            Some(branches) => {
                let branch_gradients = branches.gradients(&gradients);
                self.optimizer.update(&mut branches.values, &branch_gradients, learning_rate as f32);
                branches.fold_into(&mut self.network);
            }
        }
        if let Some(average) = &mut self.average {
            average.update(&self.network.values);
        }
        loss
    }
}

#[cfg(test)]
mod tests {
    use burn::optim::GradientsParams;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn random_batch(size: usize, patch: usize, seed: u64) -> Batch {
        let mut rng = StdRng::seed_from_u64(seed);
        let lr = (0..size * patch * patch).map(|_| rng.random_range(0.0..1.0)).collect();
        let hr = (0..size * 4 * patch * patch).map(|_| rng.random_range(0.0..1.0)).collect();
        Batch { size, lr_patch: patch, lr, hr }
    }

    /// The largest difference relative to the largest reference value.
    fn relative_error(got: &[f32], expected: &[f32]) -> f32 {
        let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        got.iter().zip(expected).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / scale
    }

    /// Every parameter's gradient of the sandwich loss (head, residual body layers with ReLU,
    /// tail, pixel shuffle and bilinear term, each loss and distillation) matches burn's autodiff, on odd
    /// patch sizes, on one thread and split over three.
    #[test]
    fn gradients_match_burns_autodiff() {
        let config = SupernetConfig::new().with_max_depth(3).with_max_width(16).with_widths(vec![4, 8, 16]);
        let specs = [
            config.largest(),
            config.smallest(),
            SubgraphSpec { depth: 2, width: 8 },
            SubgraphSpec { depth: 1, width: 16 },
        ];
        check_gradients_against_burn(&config, &specs, ODD_PATCHES);
    }

    /// The same for every other kind of body (`--body`), on a supernet small enough for burn:
    /// (kind, depth, widths, a middle subgraph).
    #[test]
    fn gradients_of_every_kind_of_body_match_burns_autodiff() {
        let kinds = [
            (BodyKind::Pairs, 4, vec![4, 8, 16], SubgraphSpec { depth: 2, width: 8 }),
            (BodyKind::Preact, 3, vec![4, 8, 16], SubgraphSpec { depth: 2, width: 8 }),
            (BodyKind::Attention, 3, vec![4, 8, 16], SubgraphSpec { depth: 2, width: 8 }),
            (BodyKind::HalfResolution, 2, vec![8, 16], SubgraphSpec { depth: 1, width: 8 }),
        ];
        for (kind, depth, widths, middle) in kinds {
            let config = SupernetConfig::new()
                .with_max_depth(depth)
                .with_max_width(16)
                .with_widths(widths)
                .with_body(Some(kind));
            let specs = [config.largest(), config.smallest(), middle];
            // A half-resolution body works on 2x2 blocks: even patches only.
            let cases = if kind.fold() == 2 { EVEN_PATCHES } else { ODD_PATCHES };
            check_gradients_against_burn(&config, &specs, cases);
        }
    }

    /// Batches of patches of odd sizes, and the loss: (patches, patch, loss).
    const ODD_PATCHES: &[(usize, usize, Loss)] =
        &[(3, 7, Loss::L1), (5, 12, Loss::L1), (4, 9, Loss::L2), (4, 5, Loss::LogMse)];
    const EVEN_PATCHES: &[(usize, usize, Loss)] =
        &[(3, 6, Loss::L1), (5, 10, Loss::L1), (4, 8, Loss::L2), (4, 4, Loss::LogMse)];

    /// Every parameter's gradient of the sandwich loss of `specs` on batches `cases`, on one and
    /// three threads, against burn's autodiff.
    fn check_gradients_against_burn(config: &SupernetConfig, specs: &[SubgraphSpec], cases: &[(usize, usize, Loss)]) {
        let device = Device::flex().autodiff();
        device.seed(11);
        let model = config.init(&device);
        for &(size, patch, loss_kind) in cases {
            let batch = random_batch(size, patch, patch as u64);
            let lr = Tensor::from_data(TensorData::new(batch.lr.clone(), [size, 1, patch, patch]), &device);
            let hr = Tensor::from_data(TensorData::new(batch.hr.clone(), [size, 1, 2 * patch, 2 * patch]), &device);
            let loss = crate::training::train::sandwich_loss(&model, lr, hr, specs, 0.3, loss_kind);
            let expected_loss: f32 = loss.clone().into_scalar();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let reference = FlatSupernet::from_supernet(config, &model);
            let convs = std::iter::once(&model.head).chain(&model.body).chain(std::iter::once(&model.tail));
            let mut expected = Vec::new();
            for conv in convs {
                expected.extend(
                    grads.get::<4>(conv.weight.id).expect("weight gradient").into_data().try_to_vec::<f32>().unwrap(),
                );
                expected.extend(
                    grads.get::<1>(conv.bias.id).expect("bias gradient").into_data().try_to_vec::<f32>().unwrap(),
                );
            }
            for threads in [1, 3] {
                let mut trainer = CpuTrainer::new(reference.clone(), Adam::new(reference.values.len()), threads);
                let (loss, gradients) = trainer.loss_and_gradients(&batch, specs, 0.3, loss_kind);
                let kind = config.body_kind();
                assert!(
                    (loss - expected_loss).abs() < 1e-5 * expected_loss.abs(),
                    "{kind:?}: loss {loss} vs {expected_loss}"
                );
                for slot in &reference.slots {
                    let weights = slot.weight..slot.weight + slot.in_channels * slot.out_channels * 9;
                    let bias = slot.bias..slot.bias + slot.out_channels;
                    for range in [weights, bias] {
                        let error = relative_error(&gradients[range.clone()], &expected[range.clone()]);
                        assert!(
                            error < 1e-4,
                            "{kind:?}, {size}x{patch}x{patch} on {threads} threads, {range:?}: relative error {error}"
                        );
                    }
                }
            }
        }
    }

    /// With `--learn` narrower than all, a step moves only what it names, also after steps that
    /// moved everything (the others' moments do not carry them on).
    #[test]
    fn a_step_moves_only_what_it_learns() {
        let config = SupernetConfig::new().with_max_depth(2).with_max_width(8).with_widths(vec![8]);
        let network = FlatSupernet::from_supernet(&config, &config.init(&Device::flex()));
        // Values of its own rather than the device's random ones: tests running beside this one
        // draw from the device too, and a draw with a channel that never fires would not move
        // that channel's bias.
        let mut rng = StdRng::seed_from_u64(9);
        let values = (0..network.values.len()).map(|_| rng.random_range(-0.3..0.3)).collect();
        let network = network.with_values(values);
        let batch = random_batch(2, 6, 4);
        let slots = network.slots().to_vec();
        let (head, body, tail) = (slots[0], &slots[1..3], slots[3]);
        let weights = |slot: Slot| slot.weight..slot.bias;
        let bias = |slot: Slot| slot.bias..slot.bias + slot.out_channels;
        let body_weights: Vec<_> = body.iter().map(|&slot| weights(slot)).collect();
        let body_biases: Vec<_> = body.iter().map(|&slot| bias(slot)).collect();
        let all_of_tail = vec![weights(tail), bias(tail)];
        let cases = [
            (
                Learn::Tail,
                all_of_tail.clone(),
                [vec![weights(head), bias(head)], body_weights.clone(), body_biases.clone()].concat(),
            ),
            (
                Learn::Biases,
                [all_of_tail.clone(), vec![bias(head)], body_biases.clone()].concat(),
                [vec![weights(head)], body_weights.clone()].concat(),
            ),
            (
                Learn::Ends,
                [all_of_tail.clone(), vec![weights(head), bias(head)], body_biases.clone()].concat(),
                body_weights.clone(),
            ),
        ];
        for (learn, moved, kept) in cases {
            let mut trainer = CpuTrainer::new(network.clone(), Adam::new(network.values.len()), 1);
            trainer.step(&batch, &[config.largest()], 0.0, Loss::L1, 1e-2);
            let before = trainer.network.values.clone();
            trainer.learn = learn;
            trainer.step(&batch, &[config.largest()], 0.0, Loss::L1, 1e-2);
            let now = &trainer.network.values;
            for range in kept {
                assert_eq!(now[range.clone()], before[range.clone()], "{learn:?} keeps {range:?}");
            }
            for range in moved {
                assert!(
                    now[range.clone()].iter().zip(&before[range.clone()]).all(|(a, b)| a != b),
                    "{learn:?} moves {range:?}"
                );
            }
        }
    }

    /// A subgraph's weight in the loss scales its share of the loss and of the gradient.
    #[test]
    fn a_loss_weight_scales_its_subgraphs_term() {
        let device = Device::flex();
        device.seed(13);
        let config = SupernetConfig::new().with_max_depth(2).with_max_width(16).with_widths(vec![8, 16]);
        let network = FlatSupernet::from_supernet(&config, &config.init(&device));
        let batch = random_batch(3, 7, 6);
        let (largest, small) = (config.largest(), SubgraphSpec { depth: 1, width: 8 });
        let mut trainer = CpuTrainer::new(network.clone(), Adam::new(network.values.len()), 2);
        let (loss_largest, alone) = trainer.loss_and_gradients(&batch, &[largest], 0.0, Loss::L1);
        let (loss_both, both) = trainer.loss_and_gradients(&batch, &[largest, small], 0.0, Loss::L1);
        trainer.loss_weights = vec![(small, 3.0)];
        let (loss_weighted, weighted) = trainer.loss_and_gradients(&batch, &[largest, small], 0.0, Loss::L1);
        let expected: Vec<f32> = alone.iter().zip(&both).map(|(a, b)| a + 3.0 * (b - a)).collect();
        assert!((loss_weighted - (loss_largest + 3.0 * (loss_both - loss_largest))).abs() < 1e-5 * loss_weighted);
        assert!(relative_error(&weighted, &expected) < 1e-4);
    }

    #[test]
    fn the_average_moves_a_share_of_the_way_each_step() {
        let mut average = WeightAverage { decay: 0.75, values: vec![0.0, 4.0] };
        average.update(&[4.0, 0.0]);
        assert_eq!(average.values, [1.0, 3.0]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ema.bin");
        average.save(&path).unwrap();
        assert_eq!(WeightAverage::load(&path, 0.75, 2).unwrap().values, average.values);
        assert!(WeightAverage::load(&path, 0.75, 3).is_err());
    }

    /// burn's Adam and this one take the same step.
    #[test]
    fn adam_steps_like_burns() {
        use burn::optim::AdamConfig;
        let device = Device::flex().autodiff();
        device.seed(5);
        let config = SupernetConfig::new().with_max_depth(1).with_max_width(8).with_widths(vec![8]);
        let mut model = config.init(&device);
        let mut flat = FlatSupernet::from_supernet(&config, &model);
        let mut adam = Adam::new(flat.values.len());
        let mut optimizer = AdamConfig::new().init();
        let batch = random_batch(2, 6, 3);
        for _ in 0..3 {
            let lr = Tensor::from_data(TensorData::new(batch.lr.clone(), [2, 1, 6, 6]), &device);
            let hr = Tensor::from_data(TensorData::new(batch.hr.clone(), [2, 1, 12, 12]), &device);
            let loss = crate::training::train::sandwich_loss(&model, lr, hr, &[config.largest()], 0.0, Loss::L1);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let mut trainer = CpuTrainer::new(flat.clone(), adam.clone(), 1);
            trainer.step(&batch, &[config.largest()], 0.0, Loss::L1, 1e-2);
            (flat, adam) = (trainer.network, trainer.optimizer);
            model = optimizer.step(1e-2, model, grads);
        }
        let expected = FlatSupernet::from_supernet(&config, &model);
        let error = relative_error(&flat.values, &expected.values);
        assert!(error < 1e-4, "relative error {error}");
    }
}
