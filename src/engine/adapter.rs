//! Which graphics adapters wgpu sees. A CPU-type adapter (Mesa lavapipe) is a software rasterizer:
//! fine for drawing a UI, about 30x slower than burn's `flex` CPU backend for convolutions.

/// The name of the first hardware (non-CPU) adapter wgpu finds, if any.
pub fn hardware_adapter_name() -> Option<String> {
    use eframe::wgpu;
    // The primary APIs only (Vulkan, Metal, DX12): every GPU has one, and probing OpenGL through
    // EGL prints errors of its own on machines without a display server.
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = wgpu::Backends::PRIMARY;
    let instance = wgpu::Instance::new(descriptor);
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .iter()
        .map(|adapter| adapter.get_info())
        .find(|info| info.device_type != wgpu::DeviceType::Cpu)
        .map(|info| info.name)
}
