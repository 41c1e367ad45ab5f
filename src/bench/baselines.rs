//! The ways of holding the ladder that DySR's shared rungs are measured against (the paper's
//! baselines), as [`RungStore`]s behind the same adaptive upscaler:
//! - "assemble": every rung a separate network with its own buffers, all resident;
//! - "reload": only the active rung in memory; a switch reads its standalone weights from disk,
//!   packs them and allocates its buffers, on the frame path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::BenchError;
use crate::adaptation::adaptive::{RungStore, StoreFactory};
use crate::engine::cpu::PackedNetwork;
use crate::engine::cpu::kernels::Isa;
use crate::engine::cpu::network::NetworkRunner;
use crate::engine::gpu::GpuRunner;
use crate::engine::neural::NeuralUpscaler;
use crate::engine::{EngineError, LumaEngine, Upscaler};
use crate::model::device::GpuContext;
use crate::model::error::ModelError;
use crate::model::manifest::Manifest;
use crate::model::supernet::{SubgraphSpec, SupernetConfig};

/// Stores of the "assemble" baseline.
pub fn assemble() -> StoreFactory {
    Arc::new(|ladder| {
        let rungs = &ladder.rungs;
        let threads = crate::host::cores();
        let upscalers = rungs
            .iter()
            .map(|rung| NeuralUpscaler::new(NetworkRunner::new(Arc::clone(rung), threads), "assemble"))
            .collect();
        Box::new(AssembledRungs { rungs: rungs.to_vec(), upscalers })
    })
}

/// Stores of the "assemble" baseline on a GPU: every rung its own weights and buffers on the device.
pub fn assemble_on_gpu(gpu: &'static GpuContext) -> StoreFactory {
    Arc::new(move |ladder| {
        let upscalers = ladder
            .rungs
            .iter()
            .map(|rung| {
                NeuralUpscaler::new(
                    GpuRunner::new(&gpu.device, &gpu.queue, &ladder.supernet, &[rung.spec], 0, gpu.name.clone()),
                    "assemble",
                )
            })
            .collect();
        Box::new(AssembledGpuRungs { upscalers, active: 0 })
    })
}

/// Stores of the "reload" baseline, reading `<dir>/<rung name>.bpk` (see [`write_standalone_rungs`]).
pub fn reload(dir: PathBuf) -> StoreFactory {
    Arc::new(move |ladder| {
        let (rungs, names) = (&ladder.rungs, &ladder.names);
        let runner = NetworkRunner::new(Arc::clone(&rungs[0]), crate::host::cores());
        let paths = names.iter().map(|name| dir.join(format!("{name}.bpk"))).collect();
        Box::new(ReloadedRungs {
            specs: rungs.iter().map(|rung| rung.spec).collect(),
            paths,
            loaded: (0, Arc::clone(&rungs[0])),
            upscaler: NeuralUpscaler::new(runner, "reload"),
        })
    })
}

struct AssembledRungs {
    rungs: Vec<Arc<PackedNetwork>>,
    upscalers: Vec<NeuralUpscaler<NetworkRunner>>,
}

impl RungStore for AssembledRungs {
    fn upscaler(&mut self, index: usize) -> Result<&mut dyn Upscaler, EngineError> {
        Ok(&mut self.upscalers[index])
    }

    fn model_bytes(&self) -> usize {
        let buffers: usize = self.upscalers.iter().map(|upscaler| upscaler.engine().buffer_bytes()).sum();
        buffers + self.rungs.iter().map(|rung| rung.weight_bytes()).sum::<usize>()
    }

    fn engine_description(&self) -> String {
        self.upscalers[0].engine().describe()
    }

    fn strategy(&self) -> &'static str {
        "assembled standalone rungs"
    }
}

struct AssembledGpuRungs {
    upscalers: Vec<NeuralUpscaler<GpuRunner>>,
    active: usize,
}

impl RungStore for AssembledGpuRungs {
    fn upscaler(&mut self, index: usize) -> Result<&mut dyn Upscaler, EngineError> {
        self.active = index;
        Ok(&mut self.upscalers[index])
    }

    fn model_bytes(&self) -> usize {
        self.upscalers.iter().map(|upscaler| upscaler.engine().device_bytes() as usize).sum()
    }

    fn engine_description(&self) -> String {
        self.upscalers[0].engine().describe()
    }

    fn strategy(&self) -> &'static str {
        "assembled standalone rungs"
    }

    fn gpu_ms(&self) -> Option<f64> {
        Some(self.upscalers[self.active].engine().last_gpu_ms())
    }
}

struct ReloadedRungs {
    specs: Vec<SubgraphSpec>,
    paths: Vec<PathBuf>,
    /// The rung in memory: its index and weights.
    loaded: (usize, Arc<PackedNetwork>),
    upscaler: NeuralUpscaler<NetworkRunner>,
}

impl RungStore for ReloadedRungs {
    fn upscaler(&mut self, index: usize) -> Result<&mut dyn Upscaler, EngineError> {
        if self.loaded.0 != index {
            let network =
                Arc::new(load_standalone(&self.paths[index], self.specs[index]).map_err(EngineError::Weights)?);
            let threads = self.upscaler.engine().threads();
            self.upscaler = NeuralUpscaler::new(NetworkRunner::new(Arc::clone(&network), threads), "reload");
            self.loaded = (index, network);
        }
        Ok(&mut self.upscaler)
    }

    fn model_bytes(&self) -> usize {
        self.upscaler.engine().buffer_bytes() + self.loaded.1.weight_bytes()
    }

    fn engine_description(&self) -> String {
        self.upscaler.engine().describe()
    }

    fn strategy(&self) -> &'static str {
        "standalone rungs reloaded on switch"
    }
}

/// Writes each rung of the model at `manifest` as a standalone network, `<dir>/<rung name>.bpk`,
/// for [`reload`].
pub fn write_standalone_rungs(manifest: &Path, dir: &Path) -> Result<(), BenchError> {
    use burn::module::Module;
    let model = Manifest::load_with_weights(manifest, &burn::prelude::Device::flex())?;
    std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    for rung in &model.manifest.ladder {
        let path = dir.join(format!("{}.bpk", rung.name));
        model
            .supernet
            .extract(rung.spec)
            .into_record()
            .save(&path)
            .map_err(|e| ModelError::WriteWeights { path: path.clone(), cause: e.to_string() })?;
    }
    Ok(())
}

/// Reads rung `spec`'s standalone network from `path` and packs it.
fn load_standalone(path: &Path, spec: SubgraphSpec) -> Result<PackedNetwork, ModelError> {
    let config =
        SupernetConfig::new().with_max_depth(spec.depth).with_max_width(spec.width).with_widths(vec![spec.width]);
    let network = config.load(path, &burn::prelude::Device::flex())?;
    Ok(PackedNetwork::from_supernet(&network, spec, Isa::detect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adaptation::adaptive::{Ladder, gpu_rungs};

    /// With every rung run once (as calibration does on a hardware GPU), the shared ladder keeps at
    /// least 40% less model state on the device than the rungs held apart: one slice of weights and
    /// one set of frame buffers for the largest, against a set of each per rung.
    #[test]
    fn the_shared_ladder_holds_less_on_the_gpu_than_assembled_rungs() {
        let gpu = GpuContext::shared().expect("a wgpu adapter");
        let model = Manifest::load_with_weights(
            &crate::model::manifest::default_manifest_path(),
            &burn::prelude::Device::flex(),
        )
        .unwrap();
        let rungs = model
            .manifest
            .ladder
            .iter()
            .map(|rung| Arc::new(PackedNetwork::from_supernet(&model.supernet, rung.spec, Isa::detect())))
            .collect();
        let names = model.manifest.ladder.iter().map(|rung| rung.name.clone()).collect();
        let ladder = Ladder { rungs, names, supernet: model.supernet };
        let frame = crate::media::gradient_frame(48, 32);
        let state_after_every_rung = |stores: StoreFactory| {
            let mut store = stores(&ladder);
            for index in 0..ladder.rungs.len() {
                store.upscaler(index).unwrap().upscale_luma(&frame).unwrap();
            }
            store.model_bytes() as f64
        };
        let (shared, assembled) =
            (state_after_every_rung(gpu_rungs(gpu, false)), state_after_every_rung(assemble_on_gpu(gpu)));
        assert!(shared <= 0.6 * assembled, "model state: shared {shared} bytes, assembled {assembled}");
    }
}
