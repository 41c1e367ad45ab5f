//! What this machine has: its cores, its processor's name, a GPU wgpu can use, and the process's
//! memory, threads and open files. Read here only, so every part of the program asks the same way.

/// Threads to use for work that can take every core (1 when the system does not say).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The processor's model name, for latency records.
pub fn cpu_name() -> String {
    let refresh = sysinfo::RefreshKind::nothing().with_cpu(sysinfo::CpuRefreshKind::nothing());
    let Ok(system) = sysinfo::System::new_with_specifics(refresh) else { return "cpu".to_owned() };
    let brand = system.cpus().first().map(|cpu| cpu.brand().trim().to_owned()).unwrap_or_default();
    let cores = system.cpus().len();
    if brand.is_empty() { format!("cpu: {cores} cores") } else { format!("cpu: {cores}-core {brand}") }
}

/// The process's peak resident set (Linux `VmHWM`); None elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    process_status("VmHWM:").map(|kib| kib * 1024)
}

/// The process's resident set now (Linux `VmRSS`); None elsewhere.
pub fn rss_bytes() -> Option<u64> {
    process_status("VmRSS:").map(|kib| kib * 1024)
}

/// The process's threads now (Linux); None elsewhere.
pub fn thread_count() -> Option<u64> {
    process_status("Threads:")
}

/// The process's open file descriptors now (Linux); None elsewhere.
pub fn open_file_count() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

/// The number after `field` in `/proc/self/status`.
fn process_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The name of the first hardware (non-CPU) adapter wgpu finds, if any. A CPU-type adapter (Mesa
/// lavapipe) is a software rasterizer: fine for drawing a UI, about 30x slower than burn's `flex`
/// CPU backend for convolutions.
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

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_is_read() {
        let bytes = super::peak_rss_bytes().expect("Linux");
        assert!(bytes > 1 << 20, "{bytes}");
    }
}
