//! The x2 luma super-resolution supernet: `out = bilinear_up(y) + pixel_shuffle(residual(y))`.
//!
//! The residual is a stack of 3x3 convolutions: a head (1 -> width, ReLU), `depth` body layers
//! (width -> width, each a residual refinement `f = relu(f + conv(f))`) and a tail (width -> 4, no
//! activation) whose four channels are the four sub-pixel phases of the x2 output. Residual body
//! layers are what make depth elastic: a subgraph that stops early hands the tail features of the
//! same kind, only less refined (a plain stack trained this way lets the body collapse). Depth and width are *elastic*: a subgraph
//! ([`SubgraphSpec`]) uses the first `depth` body layers and the first `width` channels of every
//! shared weight tensor, so a smaller subgraph's weights are literally a slice of a larger one's.
//!
//! The bilinear x2 term is computed the way the CPU kernels compute it: four fixed 3x3 stencils on
//! the edge-replicated input (half-pixel centres, as `align_corners = false`), added to the tail's
//! four phases before the pixel shuffle.

use burn::module::{Module, Param};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use serde::{Deserialize, Serialize};

use super::photo::Luma;

/// The supernet's shape: every subgraph fits inside it.
#[derive(Config, Debug, PartialEq, Eq)]
pub struct SupernetConfig {
    /// Body layers of the largest subgraph.
    #[config(default = 6)]
    pub max_depth: usize,
    /// Channels of the largest subgraph.
    #[config(default = 40)]
    pub max_width: usize,
    /// The widths a subgraph may have (each a prefix of the shared channels), smallest first.
    #[config(default = "vec![8, 16, 24, 32, 40]")]
    pub widths: Vec<usize>,
    /// How the body's layers are joined; none is plain (and what runs made before there was a
    /// choice say).
    pub body: Option<BodyKind>,
}

/// How the body's layers are joined, and at what resolution (`dysr train --body`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BodyKind {
    /// Each layer a residual refinement `f = relu(f + conv(f))` after a ReLU head: the kind the
    /// ladder ships, and the only one the player's kernels and the manifest describe.
    #[default]
    Plain,
    /// Residual blocks of two layers, `f = f + conv(relu(conv(f)))`, after a linear head: no
    /// activation on the path from the head to the tail (EDSR's block). Depth counts layers, so
    /// it is even.
    Pairs,
    /// Each layer adds `conv(relu(f))` to its input after a linear head, and the tail sees
    /// `relu(f)`: one activation per layer as in plain, none on the path from the head to the
    /// tail (the pre-activation residual unit).
    Preact,
    /// Plain layers at half the LR resolution: each 2x2 block of LR pixels is one position of
    /// four channels (a pixel unshuffle), and the tail gives each position's 4x4 output pixels.
    /// A layer of twice the width costs what a plain one does, and the view is twice as wide.
    /// Sizes are made even by repeating the last row and column.
    HalfResolution,
    /// Each layer `f = (f + c) * 2 sigmoid(c)` with `c = conv(f)`, after a ReLU head: SPAN's
    /// parameter-free attention (each value weighted by its own convolution's sigmoid) in place of
    /// the ReLU, scaled so that a layer whose convolution gives 0 is the identity, which keeps
    /// depth elastic.
    Attention,
}

impl BodyKind {
    /// How many LR pixels, across and down, one position of the body stands for.
    pub fn fold(self) -> usize {
        match self {
            BodyKind::HalfResolution => 2,
            BodyKind::Plain | BodyKind::Pairs | BodyKind::Preact | BodyKind::Attention => 1,
        }
    }

    /// The head's input channels: the LR pixels of one position.
    pub fn input_channels(self) -> usize {
        self.fold() * self.fold()
    }

    /// The tail's output channels: the x2 output pixels of one position.
    pub fn output_phases(self) -> usize {
        PHASES * self.fold() * self.fold()
    }

    /// Multiply-accumulates per LR pixel of subgraph `spec` with a body of this kind.
    pub fn macs_per_lr_pixel(self, spec: SubgraphSpec) -> usize {
        let per_position =
            KERNEL * KERNEL * spec.width * (self.input_channels() + spec.depth * spec.width + self.output_phases());
        per_position / (self.fold() * self.fold())
    }

    /// Whether each body layer is `f = relu(f + conv(f))` after a ReLU head.
    pub fn is_plain(self) -> bool {
        matches!(self, BodyKind::Plain | BodyKind::HalfResolution)
    }

    /// Whether the head ends in a ReLU.
    pub fn head_has_relu(self) -> bool {
        matches!(self, BodyKind::Plain | BodyKind::HalfResolution | BodyKind::Attention)
    }
}

/// Convolution kernel size of every layer.
pub const KERNEL: usize = 3;
/// Output phases of the tail: 2x2 sub-pixels.
pub const PHASES: usize = 4;
/// Initial scale of the tail's and the body's weights relative to He initialisation.
const TAIL_INIT_GAIN: f64 = 0.1;
const BODY_INIT_GAIN: f64 = 0.2;

/// The first line of a (possibly long, multi-line) library error message.
fn first_line(text: &str) -> &str {
    text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("unreadable")
}

/// One subgraph: the first `depth` body layers at the first `width` channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubgraphSpec {
    pub depth: usize,
    pub width: usize,
}

impl std::fmt::Display for SubgraphSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "d{}w{}", self.depth, self.width)
    }
}

impl std::str::FromStr for SubgraphSpec {
    type Err = super::error::SpecParseError;
    /// Parses `d3w24` (or `3x24`: depth x width).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = match text.strip_prefix('d').and_then(|rest| rest.split_once('w')) {
            Some((depth, width)) => Some((depth, width)),
            None => text.split_once('x'),
        };
        let bad = || super::error::SpecParseError(text.to_owned());
        let (depth, width) = parsed.ok_or_else(bad)?;
        Ok(Self { depth: depth.parse().map_err(|_| bad())?, width: width.parse().map_err(|_| bad())? })
    }
}

/// One convolution of a subgraph, as the manifest lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSpec {
    #[serde(rename = "in")]
    pub in_channels: usize,
    #[serde(rename = "out")]
    pub out_channels: usize,
    pub kernel: usize,
    pub activation: Activation,
    /// The layer's input is added to its convolution before the activation.
    pub residual: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    None,
}

impl SubgraphSpec {
    /// Every convolution of this subgraph, in order.
    pub fn layers(&self) -> Vec<LayerSpec> {
        let conv = |in_channels, out_channels, activation, residual| LayerSpec {
            in_channels,
            out_channels,
            kernel: KERNEL,
            activation,
            residual,
        };
        let mut layers = vec![conv(1, self.width, Activation::Relu, false)];
        layers.extend((0..self.depth).map(|_| conv(self.width, self.width, Activation::Relu, true)));
        layers.push(conv(self.width, PHASES, Activation::None, false));
        layers
    }

    /// Weights and biases of its convolutions.
    pub fn params(&self) -> usize {
        self.layers().iter().map(|l| l.in_channels * l.out_channels * l.kernel * l.kernel + l.out_channels).sum()
    }

    /// Multiply-accumulates per low-resolution pixel (convolutions only).
    pub fn macs_per_lr_pixel(&self) -> usize {
        self.layers().iter().map(|l| l.in_channels * l.out_channels * l.kernel * l.kernel).sum()
    }

    /// True when all of this subgraph's weights are inside `other`'s.
    pub fn is_nested_in(&self, other: &SubgraphSpec) -> bool {
        self.depth <= other.depth && self.width <= other.width
    }
}

impl SupernetConfig {
    /// Every subgraph the supernet can run, cheapest first.
    pub fn candidates(&self) -> Vec<SubgraphSpec> {
        let mut all: Vec<SubgraphSpec> = (0..=self.max_depth)
            .filter(|&depth| self.has_depth(depth))
            .flat_map(|depth| self.widths.iter().map(move |&width| SubgraphSpec { depth, width }))
            .collect();
        all.sort_by_key(|spec| (spec.macs_per_lr_pixel(), *spec));
        all
    }

    pub fn largest(&self) -> SubgraphSpec {
        SubgraphSpec { depth: self.max_depth, width: self.max_width }
    }

    pub fn smallest(&self) -> SubgraphSpec {
        SubgraphSpec { depth: 0, width: self.widths[0] }
    }

    /// Whether `spec` is one of this supernet's subgraphs.
    pub fn contains(&self, spec: &SubgraphSpec) -> bool {
        spec.depth <= self.max_depth && self.has_depth(spec.depth) && self.widths.contains(&spec.width)
    }

    /// Whether a subgraph can stop after `depth` body layers: pairs are not split.
    fn has_depth(&self, depth: usize) -> bool {
        self.body_kind() != BodyKind::Pairs || depth.is_multiple_of(2)
    }

    /// The kind of body: plain where none is named.
    pub fn body_kind(&self) -> BodyKind {
        self.body.unwrap_or_default()
    }

    /// The supernet with the weights of the burnpack file at `path`, read whole into memory (burn
    /// would otherwise read tensors lazily from the file, which may have changed by then).
    pub fn load(&self, path: &std::path::Path, device: &Device) -> Result<Supernet, super::error::ModelError> {
        use super::error::ModelError;
        let bytes = std::fs::read(path).map_err(|source| ModelError::ReadWeights { path: path.to_owned(), source })?;
        let record =
            burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes)).map_err(|e| {
                ModelError::NotBurnpack { path: path.to_owned(), cause: first_line(&e.to_string()).to_owned() }
            })?;
        self.init(device).try_load_record(record).map_err(|e| ModelError::WeightsDoNotFit {
            path: path.to_owned(),
            cause: first_line(&e.to_string()).to_owned(),
        })
    }

    pub fn init(&self, device: &Device) -> Supernet {
        let conv = |in_channels, out_channels, gain| ElasticConv::init(in_channels, out_channels, gain, device);
        let kind = self.body_kind();
        // Body layers start close to the identity: every plain one, and a pair's second (its first
        // feeds a ReLU, at full gain so that the pair starts with gradients).
        let body_gain = |layer: usize| match kind {
            BodyKind::Pairs if layer.is_multiple_of(2) => 1.0,
            _ => BODY_INIT_GAIN,
        };
        Supernet {
            head: conv(kind.input_channels(), self.max_width, 1.0),
            body: (0..self.max_depth).map(|layer| conv(self.max_width, self.max_width, body_gain(layer))).collect(),
            // A small tail starts every subgraph close to plain bilinear upscaling.
            tail: conv(self.max_width, kind.output_phases(), TAIL_INIT_GAIN),
            kind,
        }
    }
}

/// A 3x3 convolution whose input and output channels can be cut to a prefix.
#[derive(Module, Debug)]
pub struct ElasticConv {
    /// `[out, in, 3, 3]`
    pub weight: Param<Tensor<4>>,
    /// `[out]`
    pub bias: Param<Tensor<1>>,
}

impl ElasticConv {
    fn init(in_channels: usize, out_channels: usize, gain: f64, device: &Device) -> Self {
        // He (Kaiming) uniform initialisation for ReLU layers, scaled by `gain`; biases at zero.
        let fan_in = (in_channels * KERNEL * KERNEL) as f64;
        let bound = gain * (6.0 / fan_in).sqrt();
        let weight = Tensor::random(
            [out_channels, in_channels, KERNEL, KERNEL],
            burn::tensor::Distribution::Uniform(-bound, bound),
            device,
        );
        Self { weight: Param::from_tensor(weight), bias: Param::from_tensor(Tensor::zeros([out_channels], device)) }
    }

    /// The weights of the first `in_channels` x `out_channels`: `([out, in, 3, 3], [out])`.
    pub fn slice(&self, in_channels: usize, out_channels: usize) -> (Tensor<4>, Tensor<1>) {
        (self.weight.val().slice([0..out_channels, 0..in_channels]), self.bias.val().narrow(0, 0, out_channels))
    }

    fn forward(&self, x: Tensor<4>, in_channels: usize, out_channels: usize) -> Tensor<4> {
        let (weight, bias) = self.slice(in_channels, out_channels);
        conv2d(x, weight, Some(bias), ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
    }
}

#[derive(Module, Debug)]
pub struct Supernet {
    pub head: ElasticConv,
    pub body: Vec<ElasticConv>,
    pub tail: ElasticConv,
    #[module(skip)]
    pub kind: BodyKind,
}

impl Supernet {
    /// Upscales luma x2 with subgraph `spec`.
    ///
    /// # Shapes
    /// - `y`: `[batch, 1, height, width]`, luma in [0, 1]
    /// - returns `[batch, 1, 2 * height, 2 * width]`
    pub fn forward(&self, y: Tensor<4>, spec: SubgraphSpec) -> Tensor<4> {
        let width = spec.width;
        let [batch, _, height, lr_width] = y.dims();
        let fold = self.kind.fold();
        let head_input = match fold {
            1 => y.clone(),
            _ => pixel_unshuffle(replicate_pad_to_multiple(y.clone(), fold), fold), // [b, fold², h', w']
        };
        let head = self.head.forward(head_input, self.kind.input_channels(), width); // [b, width, h', w']
        let body = &self.body[..spec.depth];
        let features = match self.kind {
            BodyKind::Plain | BodyKind::HalfResolution => body.iter().fold(relu(head), |features, layer| {
                relu(features.clone() + layer.forward(features, width, width)) // [b, width, h, w]
            }),
            BodyKind::Pairs => body.chunks(2).fold(head, |features, pair| {
                let inner = relu(pair[0].forward(features.clone(), width, width));
                features + pair[1].forward(inner, width, width) // [b, width, h, w]
            }),
            BodyKind::Preact => relu(body.iter().fold(head, |features, layer| {
                features.clone() + layer.forward(relu(features), width, width) // [b, width, h, w]
            })),
            BodyKind::Attention => body.iter().fold(relu(head), |features, layer| {
                let convolved = layer.forward(features.clone(), width, width);
                (features + convolved.clone()) * sigmoid(convolved) * 2.0 // [b, width, h, w]
            }),
        };
        let residual = self.tail.forward(features, width, self.kind.output_phases()); // [b, 4 fold², h', w']
        match fold {
            1 => pixel_shuffle_x2(residual + bilinear_phases(y)), // [b, 1, 2h, 2w]
            _ => {
                let residual =
                    pixel_shuffle(residual, 2 * fold).slice([0..batch, 0..1, 0..2 * height, 0..2 * lr_width]);
                residual + pixel_shuffle_x2(bilinear_phases(y)) // [b, 1, 2h, 2w]
            }
        }
    }

    /// The standalone network of subgraph `spec`: its own copy of the sliced weights, with the
    /// same output as `self.forward(_, spec)`.
    pub fn extract(&self, spec: SubgraphSpec) -> Supernet {
        let cut = |conv: &ElasticConv, in_channels, out_channels| {
            let (weight, bias) = conv.slice(in_channels, out_channels);
            ElasticConv { weight: Param::from_tensor(weight), bias: Param::from_tensor(bias) }
        };
        Supernet {
            head: cut(&self.head, self.kind.input_channels(), spec.width),
            body: self.body[..spec.depth].iter().map(|layer| cut(layer, spec.width, spec.width)).collect(),
            tail: cut(&self.tail, spec.width, self.kind.output_phases()),
            kind: self.kind,
        }
    }

    /// This network grown into `larger`'s shape (freshly initialised, at least as deep and as
    /// wide), computing what this one computes: its weights are the leading block of each layer,
    /// the added input channels of its own output channels are zero (the new features do not reach
    /// the old ones or the tail until they learn to), and the added body layers are all zeros, a
    /// residual layer that passes its input through (`relu(f + 0) = f`, as `f >= 0`). The added
    /// channels keep `larger`'s random weights from their inputs, so they have gradients to learn from.
    pub fn grown_into(&self, larger: Supernet) -> Supernet {
        let grow = |small: Option<&ElasticConv>, large: ElasticConv| {
            let [outputs, inputs, ..] = large.weight.val().dims();
            let device = large.weight.val().device();
            let Some(small) = small else {
                return ElasticConv {
                    weight: Param::from_tensor(Tensor::zeros([outputs, inputs, KERNEL, KERNEL], &device)),
                    bias: Param::from_tensor(Tensor::zeros([outputs], &device)),
                };
            };
            let [kept_outputs, kept_inputs, ..] = small.weight.val().dims();
            let weight =
                large.weight.val().slice_assign([0..kept_outputs, 0..kept_inputs], small.weight.val()).slice_assign(
                    [0..kept_outputs, kept_inputs..inputs],
                    Tensor::zeros([kept_outputs, inputs - kept_inputs, KERNEL, KERNEL], &device),
                );
            let bias = large.bias.val().slice_assign(burn::tensor::s![0..kept_outputs], small.bias.val());
            ElasticConv { weight: Param::from_tensor(weight), bias: Param::from_tensor(bias) }
        };
        let Supernet { head, body, tail, kind } = larger;
        Supernet {
            head: grow(Some(&self.head), head),
            body: body.into_iter().enumerate().map(|(i, layer)| grow(self.body.get(i), layer)).collect(),
            tail: grow(Some(&self.tail), tail),
            kind,
        }
    }

    /// The shape this network has (its largest subgraph).
    pub fn spec(&self) -> SubgraphSpec {
        let [width, ..] = self.head.weight.val().dims();
        SubgraphSpec { depth: self.body.len(), width }
    }
}

/// The bilinear x2 stencils of the four output phases (row phase, column phase), as 3x3 taps over
/// rows/columns i-1, i, i+1: phase 0 sits a quarter pixel before the input sample, phase 1 a
/// quarter after.
pub const BILINEAR_TAPS: [[f32; 3]; 2] = [[0.25, 0.75, 0.0], [0.0, 0.75, 0.25]];

/// The four bilinear x2 phases of `y`, with edges replicated.
///
/// # Shapes
/// - `y`: `[batch, 1, h, w]` -> `[batch, 4, h, w]`
pub fn bilinear_phases(y: Tensor<4>) -> Tensor<4> {
    let device = y.device();
    let mut kernel = Vec::with_capacity(PHASES * KERNEL * KERNEL);
    for row_taps in &BILINEAR_TAPS {
        for column_taps in &BILINEAR_TAPS {
            for row_tap in row_taps {
                kernel.extend(column_taps.iter().map(|column_tap| row_tap * column_tap));
            }
        }
    }
    let weight = Tensor::<4>::from_data(TensorData::new(kernel, [PHASES, 1, KERNEL, KERNEL]), &device);
    conv2d(replicate_pad_1(y), weight, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
}

/// Pads one pixel on every side by repeating the edge.
fn replicate_pad_1(x: Tensor<4>) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let x = Tensor::cat(vec![x.clone().narrow(2, 0, 1), x.clone(), x.narrow(2, height - 1, 1)], 2);
    Tensor::cat(vec![x.clone().narrow(3, 0, 1), x.clone(), x.narrow(3, width - 1, 1)], 3)
}

/// Sub-pixel shuffle by `factor`: channel `factor * dy + dx` becomes output pixel
/// `(factor * i + dy, factor * j + dx)`.
///
/// # Shapes
/// - `x`: `[batch, factor², h, w]` -> `[batch, 1, factor * h, factor * w]`
fn pixel_shuffle(x: Tensor<4>, factor: usize) -> Tensor<4> {
    let [batch, _, height, width] = x.dims();
    x.reshape([batch, factor, factor, height, width]) // [b, dy, dx, h, w]
        .permute([0, 3, 1, 4, 2]) // [b, h, dy, w, dx]
        .reshape([batch, 1, factor * height, factor * width])
}

/// The inverse of [`pixel_shuffle`]: pixel `(factor * i + dy, factor * j + dx)` becomes channel
/// `factor * dy + dx` at `(i, j)`.
///
/// # Shapes
/// - `x`: `[batch, 1, factor * h, factor * w]` -> `[batch, factor², h, w]`
fn pixel_unshuffle(x: Tensor<4>, factor: usize) -> Tensor<4> {
    let [batch, _, height, width] = x.dims();
    let (h, w) = (height / factor, width / factor);
    x.reshape([batch, h, factor, w, factor]) // [b, h, dy, w, dx]
        .permute([0, 2, 4, 1, 3]) // [b, dy, dx, h, w]
        .reshape([batch, factor * factor, h, w])
}

/// Repeats the last row and column until both sizes are multiples of `multiple`.
fn replicate_pad_to_multiple(x: Tensor<4>, multiple: usize) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let (rows, columns) = (height.next_multiple_of(multiple) - height, width.next_multiple_of(multiple) - width);
    let x = match rows {
        0 => x,
        _ => Tensor::cat(vec![x.clone(), x.clone().narrow(2, height - 1, 1).repeat_dim(2, rows)], 2),
    };
    match columns {
        0 => x,
        _ => Tensor::cat(vec![x.clone(), x.clone().narrow(3, width - 1, 1).repeat_dim(3, columns)], 3),
    }
}

/// Sub-pixel shuffle: channel `2 * dy + dx` becomes output pixel `(2i + dy, 2j + dx)`.
///
/// # Shapes
/// - `x`: `[batch, 4, h, w]` -> `[batch, 1, 2h, 2w]`
pub fn pixel_shuffle_x2(x: Tensor<4>) -> Tensor<4> {
    pixel_shuffle(x, 2)
}

impl Supernet {
    /// Upscales a whole luma plane x2 with subgraph `spec` (the burn reference path).
    pub fn upscale_luma(&self, lr: &Luma, spec: SubgraphSpec) -> Luma {
        let device = self.head.weight.val().device();
        let input = Tensor::<4>::from_data(TensorData::new(lr.data.clone(), [1, 1, lr.height, lr.width]), &device);
        let output = self.forward(input, spec);
        let data: Vec<f32> = output.into_data().try_to_vec::<f32>().expect("f32 output");
        Luma::new(2 * lr.width, 2 * lr.height, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SupernetConfig {
        SupernetConfig::new().with_max_depth(3).with_max_width(16).with_widths(vec![8, 16])
    }

    fn random_input(width: usize, height: usize, device: &Device) -> Tensor<4> {
        Tensor::random([1, 1, height, width], burn::tensor::Distribution::Uniform(0.0, 1.0), device)
    }

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn every_subgraph_doubles_odd_sizes() {
        let device = Device::flex();
        let config = small();
        let model = config.init(&device);
        for spec in config.candidates() {
            let out = model.forward(random_input(13, 7, &device), spec);
            assert_eq!(out.dims(), [1, 1, 14, 26], "{spec}");
        }
    }

    #[test]
    fn a_half_resolution_body_doubles_odd_sizes_and_unshuffles_what_it_shuffles() {
        let device = Device::flex();
        let config = small().with_body(Some(BodyKind::HalfResolution));
        let model = config.init(&device);
        for spec in config.candidates() {
            let out = model.forward(random_input(13, 7, &device), spec);
            assert_eq!(out.dims(), [1, 1, 14, 26], "{spec}");
        }
        let input = random_input(12, 8, &device);
        let unshuffled = pixel_unshuffle(input.clone(), 2);
        assert_eq!(unshuffled.dims(), [1, 4, 4, 6]);
        // Channel 2 is the second row's first column of each 2x2 block.
        let second_row: Tensor<4> = input.clone().slice([0..1, 0..1, 1..2, 0..1]);
        let channel_2: Tensor<4> = unshuffled.clone().slice([0..1, 2..3, 0..1, 0..1]);
        assert_eq!(second_row.into_data(), channel_2.into_data());
        assert_eq!(max_abs_diff(pixel_shuffle(unshuffled, 2), input), 0.0);
    }

    #[test]
    fn costs_follow_from_the_layers() {
        let spec = SubgraphSpec { depth: 1, width: 8 };
        // head 1->8, body 8->8, tail 8->4, all 3x3.
        assert_eq!(spec.macs_per_lr_pixel(), 9 * (8 + 64 + 32));
        assert_eq!(spec.params(), 9 * (8 + 64 + 32) + 8 + 8 + 4);
        assert_eq!(SupernetConfig::new().largest().macs_per_lr_pixel(), 88_200);
        assert_eq!(BodyKind::Plain.macs_per_lr_pixel(SupernetConfig::new().largest()), 88_200);
        // Twice the width at half the resolution: about the cost.
        let half = BodyKind::HalfResolution.macs_per_lr_pixel(SubgraphSpec { depth: 6, width: 80 });
        assert_eq!(half, 9 * (4 * 80 + 6 * 80 * 80 + 80 * 16) / 4);
        assert!(
            SupernetConfig::new().candidates().windows(2).all(|w| w[0].macs_per_lr_pixel() <= w[1].macs_per_lr_pixel())
        );
    }

    #[test]
    fn an_extracted_subgraph_equals_the_supernet_and_is_a_slice_of_it() {
        let device = Device::flex();
        let config = small();
        let model = config.init(&device);
        let input = random_input(11, 9, &device);
        for spec in config.candidates() {
            let standalone = model.extract(spec);
            assert_eq!(standalone.spec(), spec);
            let diff = max_abs_diff(model.forward(input.clone(), spec), standalone.forward(input.clone(), spec));
            assert!(diff <= 1e-5, "{spec}: {diff}");
        }
        // Nesting: the smaller subgraph's weights are the leading block of the larger one's.
        let (small_spec, large_spec) = (SubgraphSpec { depth: 1, width: 8 }, SubgraphSpec { depth: 3, width: 16 });
        let (small_net, large_net) = (model.extract(small_spec), model.extract(large_spec));
        let leading = large_net.body[0].weight.val().slice([0..8, 0..8]);
        assert_eq!(leading.into_data(), small_net.body[0].weight.val().into_data());
    }

    #[test]
    fn a_network_grown_deeper_and_wider_computes_what_it_did_with_new_channels_fed_at_random() {
        let device = Device::flex();
        let small_net = small().init(&device).extract(SubgraphSpec { depth: 2, width: 8 });
        let larger = SupernetConfig::new().with_max_depth(4).with_max_width(12).with_widths(vec![12]);
        let grown = small_net.grown_into(larger.init(&device));
        assert_eq!(grown.spec(), larger.largest());
        let input = random_input(9, 7, &device);
        let diff =
            max_abs_diff(small_net.forward(input.clone(), small_net.spec()), grown.forward(input, larger.largest()));
        assert!(diff <= 1e-5, "{diff}");
        // The new channels' inputs are random, the new channels into old ones zero.
        let new_rows = grown.body[0].weight.val().slice([8..12, 0..12]);
        assert!(new_rows.abs().sum().into_scalar::<f32>() > 0.0);
        let new_into_old = grown.body[0].weight.val().slice([0..8, 8..12]);
        assert_eq!(new_into_old.abs().sum().into_scalar::<f32>(), 0.0);
        assert_eq!(grown.body[3].weight.val().abs().sum().into_scalar::<f32>(), 0.0);
    }

    #[test]
    fn bilinear_phases_interpolate_at_quarter_pixels() {
        let device = Device::flex();
        // A horizontal ramp 0, 1, 2, 3: output columns sit at -0.25, 0.25, 0.75, ... (edges clamp).
        let ramp = Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 1.0, 2.0, 3.0], [1, 1, 1, 4]), &device);
        let up = pixel_shuffle_x2(bilinear_phases(ramp));
        let row: Vec<f32> = up.slice([0..1, 0..1, 0..1, 0..8]).into_data().try_to_vec().unwrap();
        assert_eq!(row, vec![0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]);
    }

    #[test]
    fn saved_weights_reload_to_bit_equal_outputs() {
        let device = Device::flex();
        let config = small();
        let model = config.init(&device);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roundtrip.bpk");
        model.clone().into_record().save(&path).unwrap();
        let reloaded = config.load(&path, &device).unwrap();
        let input = random_input(10, 6, &device);
        let spec = config.largest();
        assert_eq!(model.forward(input.clone(), spec).into_data(), reloaded.forward(input, spec).into_data());
    }
}
