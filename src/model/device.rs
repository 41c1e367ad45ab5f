//! Which burn device runs the model: `flex` on the CPU, `wgpu` on a real GPU. A CPU-type wgpu
//! adapter (Mesa lavapipe) is never chosen by default: burn's convolutions run about 30x slower
//! there than on `flex`.

use burn::prelude::Device;

use super::error::ModelError;
use crate::host::{cpu_name, hardware_adapter_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceChoice {
    /// A real GPU through wgpu when there is one, else the CPU.
    #[default]
    Auto,
    /// The CPU: dysr's own kernels for playback and upscaling, burn's `flex` backend for training,
    /// search and evaluation.
    Cpu,
    /// burn-wgpu on the first GPU adapter.
    Gpu,
}

/// The device to use, and a name for it in logs and manifests.
pub fn select(choice: DeviceChoice) -> Result<(Device, String), ModelError> {
    let gpu = || hardware_adapter_name().map(|name| (Device::wgpu(burn::tensor::DeviceKind::DefaultDevice), format!("gpu: {name} (burn wgpu)")));
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => gpu().ok_or(ModelError::NoGpu),
        DeviceChoice::Auto => Ok(gpu().unwrap_or_else(cpu)),
    }
}

fn cpu() -> (Device, String) {
    (Device::flex(), format!("{} (burn flex)", cpu_name()))
}
