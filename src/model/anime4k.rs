//! Anime4K's real-time x2 CNNs (S, M and L), run from the weights published in npm `@websr/websr`
//! (`weights/anime4k/cnn-2x-{s,m,l}-{an,rl}.json`): the peers `dysr eval` scores the ladder against.
//!
//! The networks work on RGB. Every layer has four output channels. A layer reading the image takes
//! its RGBA texel (alpha 1); a layer reading other layers takes them in groups (one layer each for
//! S and M, the two halves `conv2d_N_tf` and `conv2d_N_tf1` of a level for L), each group
//! concatenated and passed through CReLU (`relu(x)` then `relu(-x)`). Weights are one 4x4 matrix
//! per (input part, tap), column-major, parts outer, taps `(dx, dy)` with dx outer; 3x3 layers
//! clamp at the image's edges as the original shaders' texture reads do. The last layers' four
//! channels are the 2x2 sub-pixels of a residual, one layer for all of R, G and B (S) or one per
//! channel (M, L), added to the bilinear x2 of the input.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::error::ModelError;
use super::photo::{Luma, bt601_luma};
use super::resize::{Kernel, upscale_x2};

/// The name of the network's input in the weight files.
const IMAGE: &str = "input_image";

#[derive(Deserialize)]
struct WeightFile {
    layers: HashMap<String, LayerFile>,
}

#[derive(Deserialize)]
struct LayerFile {
    #[serde(rename = "type")]
    kind: String,
    inputs: Vec<String>,
    #[serde(default)]
    weights: Vec<f32>,
    #[serde(default)]
    bias: Vec<f32>,
}

/// What one 4-channel input part of a layer is.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// The RGBA image.
    Image,
    /// `relu(layer)` or, when `negative`, `relu(-layer)`.
    Layer { name: String, negative: bool },
}

#[derive(Debug)]
struct Conv {
    parts: Vec<Part>,
    /// 1 or 3.
    kernel: usize,
    weights: Vec<f32>,
    bias: [f32; 4],
}

/// One of Anime4K's x2 networks.
#[derive(Debug)]
pub struct Anime4k {
    pub name: String,
    convs: HashMap<String, Conv>,
    /// The layers whose channels are the output's sub-pixels: one for all colours, or R, G, B.
    outputs: Vec<String>,
}

/// Four channels per pixel, row-major.
type Buffer = Vec<[f32; 4]>;

/// What in a layer of the file does not fit the network (named with the file by [`Anime4k::load`]).
struct LayoutError(String);

impl Anime4k {
    /// Loads a weight file; `name` labels the network in tables.
    pub fn load(path: &Path, name: &str) -> Result<Self, ModelError> {
        let fail = |cause: String| ModelError::PeerLayout { path: path.to_owned(), cause };
        let text =
            std::fs::read_to_string(path).map_err(|source| ModelError::PeerFile { path: path.to_owned(), source })?;
        let file: WeightFile =
            serde_json::from_str(&text).map_err(|source| ModelError::PeerFormat { path: path.to_owned(), source })?;
        // L runs every level as two layers, `..._tf` and `..._tf1`, read together.
        let group = if file.layers.contains_key("conv2d_tf1") { 2 } else { 1 };
        let mut convs = HashMap::new();
        let mut outputs = None;
        for (name, layer) in &file.layers {
            match layer.kind.as_str() {
                "conv" => {
                    let conv =
                        Conv::new(layer, group).map_err(|LayoutError(cause)| fail(format!("layer {name}: {cause}")))?;
                    convs.insert(name.clone(), conv);
                }
                "pixel_shuffle" => outputs = Some(layer.inputs.clone()),
                other => return Err(fail(format!("layer {name}: unknown type '{other}'"))),
            }
        }
        let outputs = outputs.ok_or_else(|| fail("no pixel_shuffle layer".to_owned()))?;
        if !matches!(outputs.len(), 1 | 3) || outputs.iter().any(|output| !convs.contains_key(output)) {
            return Err(fail(format!("the output takes {outputs:?}: expected one or three conv layers")));
        }
        let network = Self { name: name.to_owned(), convs, outputs };
        for conv in network.convs.values() {
            for part in &conv.parts {
                if let Part::Layer { name, .. } = part
                    && !network.convs.contains_key(name)
                {
                    return Err(fail(format!("a layer reads '{name}', which the file does not have")));
                }
            }
        }
        Ok(network)
    }

    /// Multiply-adds per LR pixel: one per weight.
    pub fn macs_per_lr_pixel(&self) -> usize {
        self.convs.values().map(|conv| conv.weights.len()).sum()
    }

    /// The x2 of an RGB image given as three planes in [0, 1], as 8-bit RGB (what the shader's
    /// output texture holds), reduced to BT.601 luma like the ground truth.
    pub fn upscale_to_luma(&self, rgb: &[Luma; 3]) -> Luma {
        let (width, height) = (rgb[0].width, rgb[0].height);
        let image: Buffer =
            (0..width * height).map(|i| [rgb[0].data[i], rgb[1].data[i], rgb[2].data[i], 1.0]).collect();
        let mut done: HashMap<String, Buffer> = HashMap::new();
        for output in &self.outputs {
            self.compute(output, &image, width, height, &mut done);
        }
        let base: Vec<Luma> = rgb.iter().map(|plane| upscale_x2(plane, Kernel::Bilinear)).collect();
        let to_byte = |value: f32| (value.clamp(0.0, 1.0) * 255.0).round();
        let data = (0..4 * width * height)
            .map(|i| {
                let (x, y) = (i % (2 * width), i / (2 * width));
                let (source, phase) = ((y / 2) * width + x / 2, (x % 2) + 2 * (y % 2));
                let channel = |c: usize| {
                    let residual = done[&self.outputs[c.min(self.outputs.len() - 1)]][source][phase];
                    to_byte(base[c].data[i] + residual)
                };
                bt601_luma(channel(0), channel(1), channel(2))
            })
            .collect();
        Luma::new(2 * width, 2 * height, data)
    }

    /// Computes layer `name` (and what it reads) into `done`.
    fn compute(&self, name: &str, image: &Buffer, width: usize, height: usize, done: &mut HashMap<String, Buffer>) {
        if done.contains_key(name) {
            return;
        }
        let conv = &self.convs[name];
        for part in &conv.parts {
            if let Part::Layer { name, .. } = part {
                self.compute(name, image, width, height, done);
            }
        }
        let sources: Vec<(&Buffer, Option<bool>)> = conv
            .parts
            .iter()
            .map(|part| match part {
                Part::Image => (image, None),
                Part::Layer { name, negative } => (&done[name], Some(*negative)),
            })
            .collect();
        let taps = conv.kernel * conv.kernel;
        let reach = (conv.kernel / 2) as isize;
        let mut output = vec![[0.0f32; 4]; width * height];
        for y in 0..height {
            for x in 0..width {
                let mut sum = conv.bias;
                for (p, (source, negative)) in sources.iter().enumerate() {
                    for tap in 0..taps {
                        let (dx, dy) = ((tap / conv.kernel) as isize - reach, (tap % conv.kernel) as isize - reach);
                        let sx = (x as isize + dx).clamp(0, width as isize - 1) as usize;
                        let sy = (y as isize + dy).clamp(0, height as isize - 1) as usize;
                        let texel = source[sy * width + sx];
                        let value = match negative {
                            None => texel,
                            Some(false) => texel.map(|v| v.max(0.0)),
                            Some(true) => texel.map(|v| (-v).max(0.0)),
                        };
                        let matrix = &conv.weights[(p * taps + tap) * 16..][..16];
                        for (c, v) in value.iter().enumerate() {
                            for (r, s) in sum.iter_mut().enumerate() {
                                *s += matrix[c * 4 + r] * v;
                            }
                        }
                    }
                }
                output[y * width + x] = sum;
            }
        }
        done.insert(name.to_owned(), output);
    }
}

impl Conv {
    /// The layer's parts, kernel size, weights and bias; or what in the file does not fit.
    fn new(layer: &LayerFile, group: usize) -> Result<Self, LayoutError> {
        let parts: Vec<Part> = if layer.inputs == [IMAGE] {
            vec![Part::Image]
        } else {
            if layer.inputs.iter().any(|input| input == IMAGE) || !layer.inputs.len().is_multiple_of(group) {
                return Err(LayoutError(format!("inputs {:?} do not form groups of {group} layers", layer.inputs)));
            }
            layer
                .inputs
                .chunks(group)
                .flat_map(|members| {
                    [false, true].into_iter().flat_map(move |negative| {
                        members.iter().map(move |name| Part::Layer { name: name.clone(), negative })
                    })
                })
                .collect()
        };
        let per_tap = 16 * parts.len();
        let kernel = match layer.weights.len() / per_tap {
            9 if layer.weights.len() == 9 * per_tap => 3,
            1 if layer.weights.len() == per_tap => 1,
            _ => return Err(LayoutError(format!("{} weights for {} input parts", layer.weights.len(), parts.len()))),
        };
        let bias: [f32; 4] = layer
            .bias
            .as_slice()
            .try_into()
            .map_err(|_| LayoutError(format!("{} biases, expected 4", layer.bias.len())))?;
        Ok(Self { parts, kernel, weights: layer.weights.clone(), bias })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A one-layer network whose 3x3 weights pick the red channel of the left neighbour into
    /// sub-pixel 1 (x odd, y even): the output is the bilinear x2 plus that residual.
    #[test]
    fn a_layer_reads_taps_and_channels_as_the_shaders_do() {
        let mut weights = vec![0.0f32; 144];
        // tap (dx, dy) = (-1, 0) is index 1; column c = 0 (red), row r = 1 (sub-pixel 1).
        weights[16 + 1] = 1.0;
        let text = format!(
            r#"{{"name":"t","layers":{{"conv2d_tf":{{"type":"conv","inputs":["input_image"],"weights":{weights:?},"bias":[0,0,0,0]}},"pixel_shuffle":{{"type":"pixel_shuffle","inputs":["conv2d_tf"]}}}}}}"#
        );
        let dir = tempfile::tempdir().unwrap();
        let network = Anime4k::load(&write(dir.path(), "t.json", &text), "t").unwrap();
        assert_eq!(network.macs_per_lr_pixel(), 144);
        let red = Luma::new(3, 1, vec![0.2, 0.6, 1.0]);
        let dark = Luma::new(3, 1, vec![0.0; 3]);
        let out = network.upscale_to_luma(&[red.clone(), dark.clone(), dark]);
        let base = upscale_x2(&red, Kernel::Bilinear);
        // Output pixel (3, 0) is sub-pixel 1 of LR pixel 1, whose left neighbour's red is 0.2.
        // One residual layer serves R, G and B alike.
        let byte = |value: f32| (value.clamp(0.0, 1.0) * 255.0).round();
        let expected =
            |i: usize, residual: f32| bt601_luma(byte(base.data[i] + residual), byte(residual), byte(residual));
        assert!((out.data[3] - expected(3, 0.2)).abs() < 1e-6);
        assert!((out.data[2] - expected(2, 0.0)).abs() < 1e-6);
        // At the left edge the tap clamps to the pixel itself.
        assert!((out.data[1] - expected(1, 0.2)).abs() < 1e-6);
    }

    #[test]
    fn a_file_that_is_not_a_network_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "bad.json",
            r#"{"layers":{"conv2d_tf":{"type":"conv","inputs":["input_image"],"weights":[1,2],"bias":[0,0,0,0]}}}"#,
        );
        let error = Anime4k::load(&path, "bad").unwrap_err().to_string();
        assert!(error.contains("bad.json") && error.contains("2 weights"), "{error}");
    }
}
