//! Which burn device runs the model: `flex` on the CPU, `wgpu` on a real GPU. A CPU-type wgpu
//! adapter (Mesa lavapipe) is never chosen by default: burn's convolutions run about 30x slower
//! there than on `flex`. [`GpuContext`] is the one wgpu device of the process: burn brings it up,
//! dysr's own kernels and the window use the same device and queue.

use std::sync::OnceLock;

use burn::prelude::Device;
use eframe::wgpu;

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
    /// A hardware GPU through wgpu: dysr's kernels for playback and upscaling, burn-wgpu for
    /// search, evaluation and burn's trainer (`--trainer burn`), on one device.
    Gpu,
}

/// The device to use, and a name for it in logs and manifests.
pub fn select(choice: DeviceChoice) -> Result<(Device, String), ModelError> {
    let gpu = || {
        hardware_adapter_name()
            .and_then(|_| GpuContext::shared().ok())
            .map(|gpu| (gpu.burn.clone(), format!("gpu: {} (burn wgpu)", gpu.name)))
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => gpu().ok_or(ModelError::NoGpu),
        DeviceChoice::Auto => Ok(gpu().unwrap_or_else(cpu)),
    }
}

fn cpu() -> (Device, String) {
    (Device::flex(), format!("{} (burn flex)", cpu_name()))
}

/// The process's wgpu device, queue and adapter, and burn's handle on the same device: tensors
/// burn makes and buffers dysr makes live on one device, and the window draws with it.
#[derive(Debug)]
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// burn's device, registered on `device`.
    pub burn: Device,
    /// The adapter's name.
    pub name: String,
    /// A CPU-type adapter (Mesa lavapipe): right for tests and drawing, never for SR.
    pub software: bool,
}

impl GpuContext {
    /// The context, brought up on first use by burn on its default (high-performance) adapter,
    /// whatever kind it is. burn registers a device once per process, hence one shared context.
    pub fn shared() -> Result<&'static GpuContext, ModelError> {
        static CONTEXT: OnceLock<Result<GpuContext, String>> = OnceLock::new();
        let context = CONTEXT.get_or_init(|| {
            let (burn, setup) = Device::wgpu_options().init_with_setup().map_err(|error| error.to_string())?;
            let info = setup.adapter.get_info();
            Ok(GpuContext {
                instance: setup.instance,
                adapter: setup.adapter,
                device: setup.device,
                queue: setup.queue,
                burn,
                name: info.name,
                software: info.device_type == wgpu::DeviceType::Cpu,
            })
        });
        context.as_ref().map_err(|cause| ModelError::GpuInit(cause.clone()))
    }

    /// A context of its own on the default adapter, not registered with burn (its `burn` is the
    /// CPU's): for tests whose timings must not wait behind other tests' work on the shared queue.
    #[cfg(test)]
    pub fn private_for_tests() -> &'static GpuContext {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .expect("a wgpu adapter");
        let (device, queue) =
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).expect("a wgpu device");
        let info = adapter.get_info();
        let context = GpuContext {
            instance,
            adapter,
            device,
            queue,
            burn: Device::flex(),
            name: info.name,
            software: info.device_type == wgpu::DeviceType::Cpu,
        };
        Box::leak(Box::new(context))
    }

    /// The shared context when it is on a hardware GPU.
    pub fn hardware() -> Result<&'static GpuContext, ModelError> {
        let context = Self::shared()?;
        if context.software { Err(ModelError::NoGpu) } else { Ok(context) }
    }
}
