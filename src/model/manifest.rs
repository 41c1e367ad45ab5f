//! The shipped model: `models/dysr-x2.bpk` (the supernet's weights, burnpack) and
//! `models/dysr-x2.json`, the manifest that says how to rebuild the supernet and which of its
//! subgraphs form the ladder, with each rung's convolutions, cost, quality and measured latency.
//! A manifest that does not match its weights is refused with a clear error.

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::supernet::{KERNEL, LayerSpec, SubgraphSpec, Supernet, SupernetConfig};

pub const FORMAT: &str = "dysr-manifest";
pub const VERSION: u32 = 1;
/// How each rung's output is formed from its last convolution.
pub const UPSAMPLE: &str = "pixel_shuffle+bilinear_residual";

/// The shipped manifest's name inside a models folder.
const MANIFEST_NAME: &str = "dysr-x2.json";

/// The default manifest: `$DYSR_MODELS/dysr-x2.json` when that variable is set; else the first of
/// `models/` beside the executable, `../share/dysr/models/` from it (an installed binary) and the
/// source tree it was built from that has one (the last when none has, so the error names it).
pub fn default_manifest_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("DYSR_MODELS") {
        return PathBuf::from(dir).join(MANIFEST_NAME);
    }
    let built_from = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"));
    let beside_executable = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    beside_executable
        .iter()
        .flat_map(|dir| [dir.join("models"), dir.join("../share/dysr/models")])
        .chain(std::iter::once(built_from.clone()))
        .map(|dir| dir.join(MANIFEST_NAME))
        .find(|path| path.is_file())
        .unwrap_or_else(|| built_from.join(MANIFEST_NAME))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub scale: u32,
    /// The weights file, relative to the manifest.
    pub weights: String,
    pub supernet: SupernetShape,
    /// Cheapest first; each rung's weights contain the previous rung's.
    pub ladder: Vec<Rung>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SupernetShape {
    pub max_depth: usize,
    pub max_width: usize,
    pub widths: Vec<usize>,
    pub kernel: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rung {
    pub name: String,
    pub spec: SubgraphSpec,
    pub layers: Vec<LayerSpec>,
    pub upsample: String,
    pub params: usize,
    pub macs_per_lr_pixel: usize,
    pub val_psnr_y: f64,
    pub val_ssim_y: f64,
    pub latency: Vec<Latency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    pub device: String,
    pub size: String,
    pub ms: f64,
}

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("{}: cannot read the manifest: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a dysr manifest: {source}", path.display())]
    Parse { path: PathBuf, source: serde_json::Error },
    /// A manifest that reads but describes something this version cannot run.
    #[error("{}: {cause}", path.display())]
    Invalid { path: PathBuf, cause: String },
    #[error("{}: the weights file is missing", path.display())]
    WeightsMissing { path: PathBuf },
    #[error("the weights do not match the manifest: {source}")]
    WeightsMismatch { source: super::error::ModelError },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl SupernetShape {
    pub fn of(config: &SupernetConfig) -> Self {
        Self { max_depth: config.max_depth, max_width: config.max_width, widths: config.widths.clone(), kernel: KERNEL }
    }

    pub fn config(&self) -> SupernetConfig {
        SupernetConfig::new()
            .with_max_depth(self.max_depth)
            .with_max_width(self.max_width)
            .with_widths(self.widths.clone())
    }
}

impl Rung {
    /// A rung for `spec` with its derived fields (layers, params, MACs) filled in.
    pub fn new(name: String, spec: SubgraphSpec, val_psnr_y: f64, val_ssim_y: f64, latency: Vec<Latency>) -> Self {
        Self {
            name,
            spec,
            layers: spec.layers(),
            upsample: UPSAMPLE.to_owned(),
            params: spec.params(),
            macs_per_lr_pixel: spec.macs_per_lr_pixel(),
            val_psnr_y,
            val_ssim_y,
            latency,
        }
    }
}

/// A manifest with its weights loaded.
pub struct LoadedModel {
    pub manifest: Manifest,
    pub supernet: Supernet,
}

impl Manifest {
    /// Checks everything that can be checked without the weights.
    fn validate(&self, path: &Path) -> Result<(), ManifestError> {
        let invalid = |cause: String| Err(ManifestError::Invalid { path: path.to_owned(), cause });
        if self.format != FORMAT {
            return invalid(format!("format is '{}', expected '{FORMAT}'", self.format));
        }
        if self.version != VERSION {
            return invalid(format!("version {} is not supported (expected {VERSION})", self.version));
        }
        if self.scale != 2 {
            return invalid(format!("scale {} is not supported (x2 only)", self.scale));
        }
        if self.supernet.kernel != KERNEL {
            return invalid(format!("kernel size {} is not supported ({KERNEL} only)", self.supernet.kernel));
        }
        let config = self.supernet.config();
        if config.widths.last() != Some(&config.max_width) || config.widths.windows(2).any(|w| w[0] >= w[1]) {
            return invalid("supernet widths must increase up to max_width".to_owned());
        }
        if self.ladder.is_empty() {
            return invalid("the ladder is empty".to_owned());
        }
        for (index, rung) in self.ladder.iter().enumerate() {
            let spec = rung.spec;
            if !config.contains(&spec) {
                return invalid(format!("rung {} ({spec}) is not a subgraph of the supernet", rung.name));
            }
            if rung.layers != spec.layers()
                || rung.params != spec.params()
                || rung.macs_per_lr_pixel != spec.macs_per_lr_pixel()
            {
                return invalid(format!("rung {} lists layers or costs that are not those of {spec}", rung.name));
            }
            if rung.upsample != UPSAMPLE {
                return invalid(format!("rung {}: upsample '{}' is not supported", rung.name, rung.upsample));
            }
            if let Some(previous) = index.checked_sub(1).map(|i| &self.ladder[i])
                && (!previous.spec.is_nested_in(&spec) || previous.macs_per_lr_pixel >= rung.macs_per_lr_pixel)
            {
                return invalid(format!(
                    "rung {} does not contain rung {} (the ladder must be nested, cheapest first)",
                    rung.name, previous.name
                ));
            }
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.to_owned(), source })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse { path: path.to_owned(), source })?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// Loads the manifest at `path` and the weights it names onto `device`.
    pub fn load_with_weights(path: &Path, device: &Device) -> Result<LoadedModel, ManifestError> {
        let manifest = Self::load(path)?;
        let weights = manifest.weights_path(path);
        if !weights.is_file() {
            return Err(ManifestError::WeightsMissing { path: weights });
        }
        let supernet = manifest
            .supernet
            .config()
            .load(&weights, device)
            .map_err(|source| ManifestError::WeightsMismatch { source })?;
        Ok(LoadedModel { manifest, supernet })
    }

    /// The weights file, which the manifest names relative to itself.
    pub fn weights_path(&self, manifest_path: &Path) -> PathBuf {
        manifest_path.parent().unwrap_or(Path::new(".")).join(&self.weights)
    }

    /// Writes the manifest (and nothing half-written: a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), ManifestError> {
        let write_error = |source: std::io::Error| ManifestError::Write { path: path.to_owned(), source };
        self.validate(path)?;
        let text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text + "\n").map_err(write_error)?;
        std::fs::rename(&partial, path).map_err(write_error)
    }

    pub fn rung(&self, index: usize) -> Option<&Rung> {
        self.ladder.get(index)
    }
}
