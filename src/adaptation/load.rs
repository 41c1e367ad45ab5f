//! The load injector: competing compute on the device SR runs on, to show adaptation on demand.
//! On the CPU each of its threads runs a duty cycle: busy with floating-point work until the kernel
//! has counted `level`% of the period as its CPU time (or the period is over), asleep for the rest.
//! Counting CPU time rather than wall time keeps the load what it says when other work shares the
//! cores, and lets the duty cycle be checked rather than trusted. On a GPU one thread does the same with a
//! compute kernel on SR's device and queue, and counts the GPU time its dispatches take.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eframe::wgpu;

use crate::model::device::GpuContext;

/// One duty cycle.
const PERIOD: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Shared {
    level: AtomicU8,
    stop: AtomicBool,
    /// Time the load has used: CPU time of its threads, or GPU time of its dispatches.
    busy_nanos: AtomicU64,
}

pub struct LoadInjector {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// The GPU it loads, if not the CPU.
    gpu: Option<String>,
}

/// CPU time of the calling thread, from the kernel.
fn thread_cpu_nanos() -> u64 {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `time` is a valid timespec to write into; the clock id is a constant.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64
}

impl LoadInjector {
    /// `threads` load threads at level 0.
    pub fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared::default());
        let threads = (0..threads)
            .map(|index| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("load-{index}"))
                    .spawn(move || duty_cycle(&shared))
                    .expect("load thread")
            })
            .collect();
        Self { shared, threads, gpu: None }
    }

    /// A load kernel on `gpu`'s device and queue, at level 0.
    pub fn on_gpu(gpu: &'static GpuContext) -> Self {
        let shared = Arc::new(Shared::default());
        let load = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("load-gpu".to_owned())
            .spawn(move || GpuLoad::new(gpu).duty_cycle(&load))
            .expect("load thread");
        Self { shared, threads: vec![thread], gpu: Some(gpu.name.clone()) }
    }

    /// What it loads, for the panel.
    pub fn describe(&self) -> String {
        match &self.gpu {
            Some(name) => format!("a compute kernel on {name}"),
            None => format!("{} threads on the CPU", self.threads.len()),
        }
    }

    /// 0 (idle) to 100 (always busy).
    pub fn set_level(&self, percent: u8) {
        self.shared.level.store(percent.min(100), Ordering::Relaxed);
    }

    pub fn level(&self) -> u8 {
        self.shared.level.load(Ordering::Relaxed)
    }

    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Time the load has used so far: CPU time of its threads, or GPU time of its kernels.
    pub fn busy_time(&self) -> Duration {
        Duration::from_nanos(self.shared.busy_nanos.load(Ordering::Relaxed))
    }
}

impl Drop for LoadInjector {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().ok();
        }
    }
}

fn duty_cycle(shared: &Shared) {
    let mut reported = thread_cpu_nanos();
    let mut value = 1.0f64;
    while !shared.stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let busy = PERIOD.mul_f64(f64::from(shared.level.load(Ordering::Relaxed)) / 100.0).as_nanos() as u64;
        while thread_cpu_nanos() - reported < busy && start.elapsed() < PERIOD {
            for _ in 0..1000 {
                value = std::hint::black_box(value * 1.000_000_1 + 1e-9);
            }
        }
        if let Some(rest) = PERIOD.checked_sub(start.elapsed()) {
            std::thread::sleep(rest);
        }
        let now = thread_cpu_nanos();
        shared.busy_nanos.fetch_add(now - reported, Ordering::Relaxed);
        reported = now;
    }
}

/// The GPU's duty cycle: one busy kernel per dispatch, each sized to take about a millisecond (a
/// whole period of the CPU's cycle would hold SR's work behind it for too long), submitted and
/// waited for until the period's busy share is spent. A dispatch has many more workgroups than a
/// large GPU holds at once, each invocation running independent chains of multiply-adds: SR's
/// kernels then find neither free multiprocessors nor idle arithmetic units, as under a game or
/// another program's heavy GPU work (a dispatch that fits on the GPU at once leaves room beside it
/// on a large one, and SR runs on as if idle).
struct GpuLoad {
    gpu: &'static GpuContext,
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    iterations: wgpu::Buffer,
    /// Workgroups of each dispatch and loop iterations of each invocation, adjusted so a dispatch
    /// takes about `DISPATCH`: the workgroups first (to `MAX_LOAD_GROUPS`), then the iterations.
    groups: u32,
    count: u32,
}

/// Target time of one load dispatch.
const DISPATCH: Duration = Duration::from_millis(1);
/// Workgroups (of 256 invocations) of a load dispatch: where they start, and the most, many
/// times what the largest GPUs hold at once (an H200 holds about 1,000).
const FIRST_LOAD_GROUPS: u32 = 1024;
const MAX_LOAD_GROUPS: u32 = 32768;

impl GpuLoad {
    fn new(gpu: &'static GpuContext) -> Self {
        use wgpu::util::DeviceExt;
        let device = &gpu.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("dysr load"),
            source: wgpu::ShaderSource::Wgsl(LOAD_KERNEL.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("dysr load"),
            layout: None,
            module: &module,
            entry_point: Some("busy"),
            compilation_options: Default::default(),
            cache: None,
        });
        let iterations = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dysr load iterations"),
            contents: bytemuck::bytes_of(&16u32),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let sink = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dysr load sink"),
            size: 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("dysr load"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: iterations.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: sink.as_entire_binding() },
            ],
        });
        Self { gpu, pipeline, group, iterations, groups: FIRST_LOAD_GROUPS, count: 16 }
    }

    /// One dispatch, waited for; returns its time from submission to completion.
    fn dispatch(&mut self) -> Duration {
        let (device, queue) = (&self.gpu.device, &self.gpu.queue);
        queue.write_buffer(&self.iterations, 0, bytemuck::bytes_of(&self.count));
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("dysr load") });
        {
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("dysr load"), timestamp_writes: None });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.group, &[]);
            pass.dispatch_workgroups(self.groups, 1, 1);
        }
        let started = Instant::now();
        let submission = queue.submit([encoder.finish()]);
        device.poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: None }).ok();
        let took = started.elapsed();
        // Keep each dispatch near `DISPATCH`: long enough to load the GPU, short enough that SR's
        // work waits at most about that long behind one.
        if took < DISPATCH / 2 {
            if self.groups < MAX_LOAD_GROUPS {
                self.groups *= 2;
            } else {
                self.count = self.count.saturating_mul(2).min(1 << 24);
            }
        } else if took > DISPATCH * 2 {
            if self.count > 1 {
                self.count /= 2;
            } else {
                self.groups = (self.groups / 2).max(1);
            }
        }
        took
    }

    fn duty_cycle(mut self, shared: &Shared) {
        while !shared.stop.load(Ordering::Relaxed) {
            let start = Instant::now();
            let busy = GPU_PERIOD.mul_f64(f64::from(shared.level.load(Ordering::Relaxed)) / 100.0);
            while start.elapsed() < busy {
                let took = self.dispatch();
                shared.busy_nanos.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
            }
            if let Some(rest) = GPU_PERIOD.checked_sub(start.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    }
}

/// One duty cycle on a GPU: longer than the CPU's, as each dispatch has a cost of its own.
const GPU_PERIOD: Duration = Duration::from_millis(20);

/// Each invocation runs four independent chains of `iterations` multiply-adds (one chain would
/// leave the arithmetic units mostly waiting on its latency). The result is stored only when it
/// equals a value it never reaches, which the compiler cannot know, so it keeps the work.
const LOAD_KERNEL: &str = "
@group(0) @binding(0) var<uniform> iterations: u32;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn busy(@builtin(global_invocation_id) id: vec3<u32>) {
    var a = f32(id.x) * 1e-6;
    var b = a + 0.25;
    var c = a + 0.5;
    var d = a + 0.75;
    for (var i = 0u; i < iterations; i++) {
        a = fma(a, 0.999999, 1e-7);
        b = fma(b, 0.999999, 1e-7);
        c = fma(c, 0.999999, 1e-7);
        d = fma(d, 0.999999, 1e-7);
    }
    let value = a + b + c + d;
    if (value == -1.0) {
        sink[0] = value;
    }
}
";

/// The load profile of `dysr bench adapt` and of the window's demo (`D`).
/// One segment of the load profile: from `from`% to `to`% over `secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub from: f64,
    pub to: f64,
    pub secs: f64,
}

/// The default profile: idle, a step to `peak`%, idle again, a ramp to `peak`%; `secs` each.
pub fn default_profile(peak: f64, secs: f64) -> Vec<Segment> {
    vec![
        Segment { from: 0.0, to: 0.0, secs },
        Segment { from: peak, to: peak, secs },
        Segment { from: 0.0, to: 0.0, secs },
        Segment { from: 0.0, to: peak, secs },
    ]
}

/// The segment `secs` falls in and how far into it; past the end, the last segment at its end.
fn locate(profile: &[Segment], secs: f64) -> Option<(usize, f64)> {
    let mut start = 0.0;
    for (index, segment) in profile.iter().enumerate() {
        if secs < start + segment.secs {
            return Some((index, secs - start));
        }
        start += segment.secs;
    }
    profile.last().map(|segment| (profile.len() - 1, segment.secs))
}

/// The load at `secs` into the profile (the last level holds after its end).
pub fn load_at(profile: &[Segment], secs: f64) -> f64 {
    locate(profile, secs).map_or(0.0, |(index, into)| {
        let segment = profile[index];
        segment.from + (segment.to - segment.from) * into / segment.secs
    })
}

/// Which segment `secs` falls in.
pub fn phase_at(profile: &[Segment], secs: f64) -> usize {
    locate(profile, secs).map_or(0, |(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_steps_and_ramps() {
        let profile = default_profile(80.0, 5.0);
        assert_eq!(load_at(&profile, 1.0), 0.0);
        assert_eq!(load_at(&profile, 7.0), 80.0);
        assert_eq!(load_at(&profile, 12.0), 0.0);
        assert!((load_at(&profile, 17.5) - 40.0).abs() < 1e-9);
        assert_eq!(load_at(&profile, 99.0), 80.0);
        assert_eq!(phase_at(&profile, 7.0), 1);
    }

    /// The GPU's load kernel on SR's device and queue (the software adapter in CI, a device of
    /// this test's own so other tests' work does not queue with it): at 90% its dispatches take a
    /// good part of the wall time (the software adapter shares two cores with the other tests),
    /// and the ladder's GPU time per frame (submission to completion, a small frame, so a load
    /// dispatch ahead of it counts) rises above its idle time. Idle and loaded rounds alternate
    /// and are compared in pairs (the median of seven differences), so the other tests' load,
    /// which comes and goes, touches both sides of each difference.
    #[test]
    fn the_gpu_load_raises_the_ladders_gpu_time() {
        use crate::engine::LumaEngine;
        use crate::engine::gpu::GpuRunner;
        use crate::model::manifest::{Manifest, default_manifest_path};

        let gpu = GpuContext::private_for_tests();
        let model = Manifest::load_with_weights(&default_manifest_path(), &burn::prelude::Device::flex()).unwrap();
        let mut runner = GpuRunner::new(
            &gpu.device,
            &gpu.queue,
            &model.supernet,
            &[model.manifest.ladder[0].spec],
            0,
            gpu.name.clone(),
        );
        runner.prepare(24, 16);
        for y in 0..16 {
            runner.input_row(y).iter_mut().enumerate().for_each(|(x, value)| *value = ((x + y) % 8) as f32 / 8.0);
        }
        // The median GPU time of ten frames, in milliseconds.
        let frames_ms = |runner: &mut GpuRunner| {
            let mut times: Vec<f64> = (0..10)
                .map(|_| {
                    let started = Instant::now();
                    let submission = runner.submit();
                    runner.wait(submission);
                    started.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            crate::telemetry::median(&mut times)
        };
        let injector = LoadInjector::on_gpu(gpu);
        let (mut raised_ms, mut share) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            injector.set_level(0);
            std::thread::sleep(Duration::from_millis(100));
            let idle_ms = frames_ms(&mut runner);
            injector.set_level(90);
            std::thread::sleep(Duration::from_millis(100));
            let (start_busy, start) = (injector.busy_time(), Instant::now());
            let loaded_ms = frames_ms(&mut runner);
            std::thread::sleep(Duration::from_millis(200));
            share.push((injector.busy_time() - start_busy).as_secs_f64() / start.elapsed().as_secs_f64());
            raised_ms.push(loaded_ms - idle_ms);
        }
        let share = share.iter().sum::<f64>() / share.len() as f64;
        assert!(share > 0.25, "the load kernel kept the GPU busy {:.0}% of the time at 90%", share * 100.0);
        let raised = crate::telemetry::median(&mut raised_ms.clone());
        assert!(
            raised > 0.0,
            "GPU time per frame under load (busy {:.0}%) minus idle, per round: {raised_ms:.3?} ms",
            share * 100.0
        );
    }
}
