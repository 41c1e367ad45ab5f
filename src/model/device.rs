//! Which burn device runs the model: `flex` on the CPU, `wgpu` on a real GPU. A CPU-type wgpu
//! adapter (Mesa lavapipe) is never chosen by default: burn's convolutions run about 30x slower
//! there than on `flex`.

use burn::prelude::Device;

use crate::engine::adapter::hardware_adapter_name;

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
pub fn select(choice: DeviceChoice) -> Result<(Device, String), String> {
    let gpu = || hardware_adapter_name().map(|name| (Device::wgpu(burn::tensor::DeviceKind::DefaultDevice), format!("gpu: {name} (burn wgpu)")));
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => gpu().ok_or_else(|| "--device gpu: wgpu finds no GPU adapter (only software rasterizers or none)".to_owned()),
        DeviceChoice::Auto => Ok(gpu().unwrap_or_else(cpu)),
    }
}

fn cpu() -> (Device, String) {
    (Device::flex(), format!("{} (burn flex)", cpu_name()))
}

/// The processor's model name, for latency records.
pub fn cpu_name() -> String {
    let refresh = sysinfo::RefreshKind::nothing().with_cpu(sysinfo::CpuRefreshKind::nothing());
    let Ok(system) = sysinfo::System::new_with_specifics(refresh) else { return "cpu".to_owned() };
    let brand = system.cpus().first().map(|cpu| cpu.brand().trim().to_owned()).unwrap_or_default();
    let cores = system.cpus().len();
    if brand.is_empty() { format!("cpu: {cores} cores") } else { format!("cpu: {cores}-core {brand}") }
}
