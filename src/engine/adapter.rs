//! Which graphics adapters wgpu sees. A CPU-type adapter (Mesa lavapipe) is a software rasterizer:
//! fine for drawing a UI, about 30x slower than burn's `flex` CPU backend for convolutions.

/// The name of the first hardware (non-CPU) adapter wgpu finds, if any.
pub fn hardware_adapter_name() -> Option<String> {
    use eframe::wgpu;
    // The primary APIs only (Vulkan, Metal, DX12): every GPU has one, and probing OpenGL through
    // EGL prints errors of its own on machines without a display server.
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = wgpu::Backends::PRIMARY;
    with_stderr_silenced(|| {
        let instance = wgpu::Instance::new(descriptor);
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
            .iter()
            .map(|adapter| adapter.get_info())
            .find(|info| info.device_type != wgpu::DeviceType::Cpu)
            .map(|info| info.name)
    })
}

/// Runs `probe` with the process's stderr pointed at /dev/null: Vulkan drivers print their own
/// complaints there (Mesa: "XDG_RUNTIME_DIR is invalid" without a desktop session), which would
/// break dysr's one-line errors.
#[cfg(unix)]
fn with_stderr_silenced<T>(probe: impl FnOnce() -> T) -> T {
    // SAFETY: plain descriptor calls on the process's own stderr, restored before returning.
    let (saved, null) = unsafe { (libc::dup(2), libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY)) };
    if saved < 0 || null < 0 {
        // SAFETY: closing only what was opened just above.
        unsafe {
            if saved >= 0 {
                libc::close(saved);
            }
            if null >= 0 {
                libc::close(null);
            }
        }
        return probe();
    }
    // SAFETY: as above.
    unsafe {
        libc::dup2(null, 2);
        libc::close(null);
    }
    let result = probe();
    // SAFETY: as above.
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    result
}

#[cfg(not(unix))]
fn with_stderr_silenced<T>(probe: impl FnOnce() -> T) -> T {
    probe()
}
