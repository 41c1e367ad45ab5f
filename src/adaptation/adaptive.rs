//! The adaptive upscaler: every rung of the ladder packed once at start and one set of frame
//! buffers sized for the largest, so moving to another rung is a swap between two frames, never
//! work on the critical path. Each new frame size is calibrated (every level timed on a real frame)
//! before the controller uses it.

use std::sync::Arc;
use std::time::Instant;

use ffmpeg_next as ffmpeg;

use super::controller::Controller;
use super::load::LoadInjector;
use super::{Adaptation, FrameSample, LadderLevel, Level, Mode, SwitchRecord};
use crate::engine::cpu::PackedNetwork;
use crate::engine::cpu::kernels::Isa;
use crate::engine::cpu::network::{NetworkRunner, feature_map_bytes};
use crate::engine::gpu::{GpuRunner, TexturePool};
use crate::engine::neural::NeuralUpscaler;
use crate::engine::picture::LumaImage;
use crate::engine::{BufferPool, EngineError, LumaEngine, Upscaler, UpscalerFactory};
use crate::model::device::GpuContext;
use crate::model::supernet::{SubgraphSpec, Supernet};

/// Share of the frame interval the SR stage may use: decoding, drawing and the rest of the
/// machine need the remainder.
const BUDGET_SHARE: f64 = 0.75;
/// Frames after a switch in which a late frame is blamed on the switch.
const SWITCH_WATCH_FRAMES: usize = 5;
/// Timed runs of each level in calibration, of which the fastest counts: one the player's other
/// threads interrupted says nothing of the level's own work (the controller measures their share
/// in the stream).
const CALIBRATION_RUNS: usize = 2;

/// The highest rung (index into `specs`, cheapest first) whose two feature maps at `width` x
/// `height` (or the tiles it would run in) fit in half of `available` bytes; 0 when none does.
pub fn memory_cap(specs: &[SubgraphSpec], (width, height): (usize, usize), available: u64) -> usize {
    (0..specs.len()).rev().find(|&index| feature_map_bytes(specs[index], (width, height)) <= available / 2).unwrap_or(0)
}

/// How an adaptive upscaler holds its rungs. The player's way is [`SharedRungs`]; the baselines
/// DySR is measured against (`bench::baselines`) are other stores behind the same upscaler.
pub trait RungStore: Send {
    /// Makes rung `index` the one that runs, whatever that costs here, and returns its upscaler.
    fn upscaler(&mut self, index: usize) -> Result<&mut dyn Upscaler, EngineError>;
    /// Bytes of model state resident now: packed weights and frame buffers.
    fn model_bytes(&self) -> usize;
    /// Rungs `cap..` may not run (memory): buffers need fit only the ones below.
    fn limit_to(&mut self, _cap: usize) -> Result<(), EngineError> {
        Ok(())
    }
    /// What the rungs run on (for the upscaler's name).
    fn engine_description(&self) -> String;
    /// How the rungs are held (for the upscaler's name): the ladder's own way unless a baseline
    /// says otherwise.
    fn strategy(&self) -> &'static str {
        "adaptive ladder"
    }
    /// Takes the output frames' pixels from `buffers` (the player's way; the baselines keep a
    /// pool per rung, part of what holding separate networks costs).
    fn share_buffers(&mut self, _buffers: BufferPool) {}
    /// GPU time of the last frame (submission to completion), where the rungs run on a GPU.
    fn gpu_ms(&self) -> Option<f64> {
        None
    }
}

/// The DySR way: every rung packed at start and one runner whose buffers fit the largest, so a
/// switch is a pointer swap between two frames.
pub struct SharedRungs {
    rungs: Vec<Arc<PackedNetwork>>,
    runner: NeuralUpscaler<NetworkRunner>,
    /// The rung the runner holds.
    loaded: usize,
}

impl SharedRungs {
    pub fn new(rungs: Vec<Arc<PackedNetwork>>) -> Self {
        let runner = NetworkRunner::with_capacity(Arc::clone(&rungs[0]), crate::host::cores(), capacity_for(&rungs));
        Self { runner: NeuralUpscaler::new(runner, "adaptive"), rungs, loaded: 0 }
    }
}

/// The depth and width that fit every one of `rungs`.
fn capacity_for(rungs: &[Arc<PackedNetwork>]) -> SubgraphSpec {
    SubgraphSpec {
        depth: rungs.iter().map(|rung| rung.spec.depth).max().unwrap_or(0),
        width: rungs.iter().map(|rung| rung.spec.width).max().unwrap_or(1),
    }
}

impl RungStore for SharedRungs {
    fn upscaler(&mut self, index: usize) -> Result<&mut dyn Upscaler, EngineError> {
        if self.loaded != index {
            self.runner.engine_mut().set_network(Arc::clone(&self.rungs[index]));
            self.loaded = index;
        }
        Ok(&mut self.runner)
    }

    fn model_bytes(&self) -> usize {
        self.runner.engine().buffer_bytes() + self.rungs.iter().map(|rung| rung.weight_bytes()).sum::<usize>()
    }

    fn limit_to(&mut self, cap: usize) -> Result<(), EngineError> {
        self.upscaler(0)?;
        let capacity = capacity_for(&self.rungs[..cap]);
        self.runner.engine_mut().set_capacity(capacity);
        Ok(())
    }

    fn engine_description(&self) -> String {
        self.runner.engine().describe()
    }

    fn share_buffers(&mut self, buffers: BufferPool) {
        self.runner.share_buffers(buffers);
    }
}

/// The ladder a store is made from: the rungs packed for the CPU kernels, their names, and the
/// supernet they are cut from.
pub struct Ladder {
    pub rungs: Vec<Arc<PackedNetwork>>,
    pub names: Vec<String>,
    pub supernet: Supernet,
}

/// Makes the store of an adaptive upscaler from the ladder.
pub type StoreFactory = Arc<dyn Fn(&Ladder) -> Box<dyn RungStore> + Send + Sync>;

/// Stores the player's way on the CPU kernels ([`SharedRungs`]).
pub fn shared_rungs() -> StoreFactory {
    Arc::new(|ladder| Box::new(SharedRungs::new(ladder.rungs.clone())))
}

/// The DySR way on a GPU: the whole ladder on the device, weights once ([`GpuRunner`]); a switch
/// changes which layer records the next frame's dispatches read.
pub struct GpuRungs {
    runner: NeuralUpscaler<GpuRunner>,
}

impl RungStore for GpuRungs {
    fn upscaler(&mut self, index: usize) -> Result<&mut dyn Upscaler, EngineError> {
        self.runner.engine_mut().set_rung(index);
        Ok(&mut self.runner)
    }

    fn model_bytes(&self) -> usize {
        self.runner.engine().device_bytes() as usize
    }

    fn engine_description(&self) -> String {
        self.runner.engine().describe()
    }

    fn share_buffers(&mut self, buffers: BufferPool) {
        self.runner.share_buffers(buffers);
    }

    fn gpu_ms(&self) -> Option<f64> {
        Some(self.runner.engine().last_gpu_ms())
    }
}

/// Stores of the whole ladder on `gpu`; with `window`, each frame's x2 luma stays on the device
/// for the window, which draws with the same device.
pub fn gpu_rungs(gpu: &'static GpuContext, window: bool) -> StoreFactory {
    Arc::new(move |ladder| {
        let specs: Vec<SubgraphSpec> = ladder.rungs.iter().map(|rung| rung.spec).collect();
        let mut runner = GpuRunner::new(&gpu.device, &gpu.queue, &ladder.supernet, &specs, 0, gpu.name.clone());
        if window {
            runner.keep_on_device(TexturePool::default());
        }
        Box::new(GpuRungs { runner: NeuralUpscaler::new(runner, "adaptive") })
    })
}

/// The ladder of the model at `manifest`, ready to play: a factory of adaptive upscalers and the
/// state they share with the panel. `target_fps` overrides the stream's rate as the goal;
/// `load_threads` is the number of load-injector threads.
pub fn adaptive_factory(
    manifest: &std::path::Path,
    mode: Mode,
    target_fps: Option<f64>,
    load_threads: usize,
) -> Result<(UpscalerFactory, Arc<Adaptation>), EngineError> {
    ladder_factory(manifest, mode, target_fps, LoadInjector::new(load_threads), shared_rungs())
}

/// [`adaptive_factory`] with the rungs held by the stores `stores` makes.
pub fn ladder_factory(
    manifest: &std::path::Path,
    mode: Mode,
    target_fps: Option<f64>,
    load: LoadInjector,
    stores: StoreFactory,
) -> Result<(UpscalerFactory, Arc<Adaptation>), EngineError> {
    let locked = match mode {
        Mode::Locked(rung) => Some(rung),
        _ => None,
    };
    let model = crate::engine::neural::load_ladder(manifest, locked)?;
    let isa = Isa::detect();
    let rungs: Vec<Arc<PackedNetwork>> = model
        .manifest
        .ladder
        .iter()
        .map(|rung| Arc::new(PackedNetwork::from_supernet(&model.supernet, rung.spec, isa)))
        .collect();
    // The floor: no network, the screen's scaler.
    let mut levels = vec![Level { name: "floor".to_owned(), spec: None, params: 0, val_psnr_y: None }];
    levels.extend(model.manifest.ladder.iter().map(|rung| Level {
        name: rung.name.clone(),
        spec: Some(rung.spec),
        params: rung.params,
        val_psnr_y: Some(rung.val_psnr_y),
    }));
    let state = Arc::new(Adaptation::new(levels, mode, load));
    let shared = Arc::clone(&state);
    let names: Vec<String> = model.manifest.ladder.iter().map(|rung| rung.name.clone()).collect();
    let ladder = Ladder { rungs, names, supernet: model.supernet };
    let factory: UpscalerFactory = Arc::new(move || {
        Box::new(AdaptiveUpscaler::new(ladder.rungs.clone(), stores(&ladder), Arc::clone(&shared), target_fps))
    });
    Ok((factory, state))
}

pub struct AdaptiveUpscaler {
    state: Arc<Adaptation>,
    /// The rungs, cheapest first (their specs and costs; `store` holds what runs them).
    rungs: Vec<Arc<PackedNetwork>>,
    store: Box<dyn RungStore>,
    controller: Option<Controller>,
    /// The frame size the controller's times were measured for.
    calibrated_for: Option<(u32, u32)>,
    target_fps: Option<f64>,
    /// The stream's time between frames, and the playback speed that shortens it on screen.
    frame_interval_secs: f64,
    speed: f64,
    /// The presentation time of the frame being upscaled.
    pts_secs: f64,
    /// Frames left to watch after the last switch.
    watching: usize,
    /// Time the last switch took, charged to the next frame.
    stall_ms: f64,
}

impl AdaptiveUpscaler {
    pub fn new(
        rungs: Vec<Arc<PackedNetwork>>,
        mut store: Box<dyn RungStore>,
        state: Arc<Adaptation>,
        target_fps: Option<f64>,
    ) -> Self {
        // One pool of picture buffers for every rung: the frames in flight are the same size
        // whichever made them, so memory does not grow with each rung a session has used.
        store.share_buffers(BufferPool::default());
        state.statistics.set_engine(store.engine_description(), store.gpu_ms().is_some());
        Self {
            state,
            rungs,
            store,
            controller: None,
            calibrated_for: None,
            target_fps,
            frame_interval_secs: 1.0 / 24.0,
            speed: 1.0,
            pts_secs: 0.0,
            watching: 0,
            stall_ms: 0.0,
        }
    }

    /// The time between frames on screen: at the target rate, or the stream's at the playback speed.
    fn frame_interval_ms(&self) -> f64 {
        self.target_fps.map_or(self.frame_interval_secs / self.speed, |fps| 1.0 / fps) * 1e3
    }

    /// What SR may spend on a frame: a share of the frame interval, less under a power cap.
    fn budget_ms(&self) -> f64 {
        self.frame_interval_ms() * BUDGET_SHARE.min(f64::from(self.state.controls.power_cap()) / 100.0)
    }

    /// The network's luma of `frame` at `level` (0: the floor, no network: the GPU scales the
    /// planes; k + 1: rung k).
    fn run_level_luma(&mut self, level: usize, frame: &ffmpeg::frame::Video) -> Result<Option<LumaImage>, EngineError> {
        match LadderLevel::from_index(level) {
            LadderLevel::Floor => Ok(None),
            LadderLevel::Rung(rung) => self.on_rung(rung, |neural| neural.upscale_luma(frame)),
        }
    }

    /// Runs `run` on the upscaler of rung `rung` (made the active one first), and notes the model
    /// state it leaves resident.
    fn on_rung<T>(
        &mut self,
        rung: usize,
        run: impl FnOnce(&mut dyn Upscaler) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let result = run(self.store.upscaler(rung)?);
        self.state.statistics.note_model_bytes(self.store.model_bytes());
        result
    }

    /// Times every level on `frame`, cheapest first (after a first run, the fastest of
    /// `CALIBRATION_RUNS`); a rung out of reach ([`out_of_reach`]) is estimated from its cost
    /// relative to the one below instead of run. Levels above `cap` (memory) are estimated the
    /// same way, never run.
    fn calibrate(&mut self, frame: &ffmpeg::frame::Video, cap: usize) -> Result<Vec<f64>, EngineError> {
        let budget = self.budget_ms();
        let mut levels_ms: Vec<f64> = Vec::with_capacity(self.rungs.len() + 1);
        for level in 0..=self.rungs.len() {
            if let Some(&last) = levels_ms.last()
                && level >= 2
            {
                // Both this level and the one before are rungs here (level >= 2).
                let cost = |level: usize| match LadderLevel::from_index(level) {
                    LadderLevel::Rung(rung) => self.rungs[rung].macs_per_pixel() as f64,
                    LadderLevel::Floor => unreachable!("estimates start at the second rung"),
                };
                let estimate = last * cost(level) / cost(level - 1);
                if level > cap || out_of_reach(last, estimate, budget) {
                    levels_ms.push(estimate);
                    continue;
                }
            }
            self.run_level_luma(level, frame)?;
            let mut fastest_ms = f64::INFINITY;
            for _ in 0..CALIBRATION_RUNS {
                let started = Instant::now();
                self.run_level_luma(level, frame)?;
                fastest_ms = fastest_ms.min(self.level_ms(level, started));
            }
            levels_ms.push(fastest_ms);
        }
        rise_along_the_rungs(&mut levels_ms);
        Ok(levels_ms)
    }

    /// Calibrates on `frame`, and hands the times to the controller.
    fn recalibrate(&mut self, frame: &ffmpeg::frame::Video) -> Result<(), EngineError> {
        let available = sysinfo::System::new().ok().map_or(u64::MAX, |mut system| {
            system.refresh_memory();
            system.available_memory()
        });
        let specs: Vec<SubgraphSpec> = self.rungs.iter().map(|rung| rung.spec).collect();
        let cap = memory_cap(&specs, (frame.width() as usize, frame.height() as usize), available) + 1;
        if cap < self.rungs.len() {
            tracing::warn!(
                "{} MiB of memory available: rungs above {} left out",
                available >> 20,
                self.state.levels[cap].name
            );
        }
        self.store.limit_to(cap)?;
        let levels_ms = self.calibrate(frame, cap)?;
        let budget = self.budget_ms();
        let times: Vec<String> =
            levels_ms.iter().enumerate().map(|(level, ms)| format!("{} {ms:.2}", self.level_name(level))).collect();
        tracing::info!(
            "calibrated at {}x{} (ms per frame, budget {budget:.1}): {}",
            frame.width(),
            frame.height(),
            times.join(", ")
        );
        match &mut self.controller {
            Some(controller) => controller.recalibrate(levels_ms, cap),
            None => self.controller = Some(Controller::new(levels_ms, budget, cap)),
        }
        self.calibrated_for = Some((frame.width(), frame.height()));
        Ok(())
    }

    /// The level the next frame runs at, calibrating first for a new size.
    fn level_for(&mut self, frame: &ffmpeg::frame::Video) -> Result<(Mode, usize), EngineError> {
        if self.calibrated_for != Some((frame.width(), frame.height())) {
            self.recalibrate(frame)?;
        }
        let budget_ms = self.budget_ms();
        self.state.statistics.set_budget_ms(budget_ms);
        let mode = self.state.controls.mode();
        let controller = self.controller.as_mut().expect("calibrated");
        controller.set_budget_ms(budget_ms);
        let level = match mode {
            Mode::Adaptive => controller.active(),
            Mode::Locked(rung) => LadderLevel::Rung(rung.min(self.rungs.len() - 1)).index(),
            Mode::Bicubic => 0,
        };
        Ok((mode, level))
    }

    /// Records a frame that took `sr_ms` at `level`, and lets the controller move (between two
    /// frames: whatever the switch takes delays the next one).
    fn finish_frame(&mut self, mode: Mode, level: usize, sr_ms: f64) -> Result<(), EngineError> {
        let at_secs = self.state.statistics.elapsed_secs();
        let stall_ms = std::mem::take(&mut self.stall_ms);
        self.state.record_frame(FrameSample { at_secs, pts_secs: self.pts_secs, sr_ms, stall_ms, level });
        if self.watching > 0 {
            self.watching -= 1;
            // Late: past the frame's deadline, one frame interval.
            if sr_ms + stall_ms > self.frame_interval_ms() {
                self.state.statistics.note_late_after_switch();
            }
        }
        if mode != Mode::Adaptive {
            return Ok(());
        }
        let controller = self.controller.as_mut().expect("calibrated");
        if let Some(switch) = controller.observe(sr_ms) {
            let preparing = Instant::now();
            if let LadderLevel::Rung(rung) = LadderLevel::from_index(switch.to) {
                self.store.upscaler(rung)?;
            }
            let prepare_ms = preparing.elapsed().as_secs_f64() * 1e3;
            self.stall_ms = prepare_ms;
            let record = SwitchRecord {
                at_secs,
                from: self.level_name(switch.from),
                to: self.level_name(switch.to),
                reason: switch.reason,
                prepare_ms,
                frames_late: 0,
            };
            tracing::info!(
                "switch at {at_secs:.2} s: {} -> {} ({}), ready in {prepare_ms:.3} ms",
                record.from,
                record.to,
                record.reason
            );
            self.state.statistics.note_switch(record);
            self.watching = SWITCH_WATCH_FRAMES;
        }
        Ok(())
    }

    /// The time a frame at `level` took, started at `started`: the GPU's time (submission to
    /// completion) where a rung ran on a GPU, else the time on this thread.
    fn level_ms(&self, level: usize, started: Instant) -> f64 {
        let wall_ms = started.elapsed().as_secs_f64() * 1e3;
        match LadderLevel::from_index(level) {
            LadderLevel::Rung(_) => self.store.gpu_ms().unwrap_or(wall_ms),
            LadderLevel::Floor => wall_ms,
        }
    }

    fn level_name(&self, level: usize) -> String {
        self.state.levels[level].name.clone()
    }
}

/// Whether a rung is estimated in calibration rather than run, from the rung below's time and its
/// own time estimated from that by their costs: once the rung below took more than twice the
/// budget, or this one would take more than four times it (the estimate can be up to twice too
/// high: small rungs are bound by memory rather than arithmetic, and GPU times grow more slowly
/// than the work). Calibration runs before playback, three times per level: a 720p frame on a
/// 2-core machine spent 0.44 s of it on r3, 4.7 times the budget.
fn out_of_reach(below_ms: f64, estimate_ms: f64, budget_ms: f64) -> bool {
    below_ms > 2.0 * budget_ms || estimate_ms > 4.0 * budget_ms
}

/// Costs rise along the rungs, so do their calibrated times (measurement noise aside). Not from the
/// floor to the rungs: the floor is other work (the screen's scaler; when whole pictures were made
/// on the CPU, a 16-core machine's floor took longer at 720p than the lower rungs on an H200, and
/// lifting the rungs to it made every rung look too slow to climb to).
fn rise_along_the_rungs(levels_ms: &mut [f64]) {
    for index in 2..levels_ms.len() {
        levels_ms[index] = levels_ms[index].max(levels_ms[index - 1]);
    }
}

impl Upscaler for AdaptiveUpscaler {
    fn name(&self) -> String {
        let engine = self.store.engine_description();
        match self.state.controls.mode() {
            Mode::Bicubic => return "bicubic, no network".to_owned(),
            Mode::Locked(rung) => {
                let level = &self.state.levels[LadderLevel::Rung(rung.min(self.rungs.len() - 1)).index()];
                return format!(
                    "rung {} {} ({engine})",
                    level.name,
                    level.spec.map(|spec| spec.to_string()).unwrap_or_default()
                );
            }
            Mode::Adaptive => {}
        }
        let last = &self.state.levels[self.state.levels.len() - 1].name;
        format!("{} floor..{last} ({engine})", self.store.strategy())
    }

    fn set_frame_timing(&mut self, pts_secs: f64, duration_secs: f64, speed: f64) {
        self.pts_secs = pts_secs;
        self.speed = speed;
        if duration_secs > 0.0 && duration_secs.is_finite() {
            self.frame_interval_secs = duration_secs;
        }
    }

    fn prepare(&mut self, width: u32, height: u32, frame_interval_secs: f64) {
        self.set_frame_timing(0.0, frame_interval_secs, self.speed);
        if width > 0 && height > 0 {
            // Timing does not depend on content: a synthetic frame of the stream's size will do.
            let frame = crate::media::gradient_frame(width, height);
            if let Err(error) = self.recalibrate(&frame) {
                tracing::warn!("calibration: {error}");
            }
        }
    }

    /// The split view is drawn by the screen's shader; bicubic is the screen's scaler.
    fn upscale_luma(&mut self, frame: &ffmpeg::frame::Video) -> Result<Option<LumaImage>, EngineError> {
        let (mode, level) = self.level_for(frame)?;
        let started = Instant::now();
        let luma = self.run_level_luma(level, frame)?;
        let sr_ms = self.level_ms(level, started);
        self.state.recorder.capture(self.pts_secs, self.frame_interval_secs, luma.as_ref(), frame);
        self.finish_frame(mode, level, sr_ms)?;
        Ok(luma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adaptation::CapturedLuma;
    use crate::media::gradient_frame;
    use crate::model::manifest::{Manifest, default_manifest_path};

    /// Noisy rung times are made to rise; the floor is left where it was measured, above them.
    #[test]
    fn calibrated_times_rise_along_the_rungs_but_not_from_the_floor() {
        let mut levels_ms = vec![28.0, 3.0, 2.9, 6.0, 30.0];
        rise_along_the_rungs(&mut levels_ms);
        assert_eq!(levels_ms, vec![28.0, 3.0, 3.0, 6.0, 30.0]);
    }

    /// A rung is run in calibration unless it is clearly out of reach: the one below already
    /// took twice the budget, or its estimate is four times the budget.
    #[test]
    fn calibration_runs_only_rungs_within_reach() {
        let budget = 31.2;
        assert!(!out_of_reach(37.0, 120.0, budget), "within twice of an estimate up to twice too high");
        assert!(out_of_reach(37.0, 138.0, budget), "r3 after r2 at 720p on two cores");
        assert!(out_of_reach(70.0, 90.0, budget), "the rung below is already twice over");
    }

    #[test]
    fn memory_caps_the_ladder() {
        let specs = [
            SubgraphSpec { depth: 0, width: 8 },
            SubgraphSpec { depth: 4, width: 16 },
            SubgraphSpec { depth: 6, width: 40 },
        ];
        let widest = 2 * crate::engine::cpu::kernels::Planes::bytes_for(40, 640, 360) as u64;
        assert_eq!(memory_cap(&specs, (640, 360), u64::MAX), 2);
        assert_eq!(memory_cap(&specs, (640, 360), 2 * widest), 2, "exactly fits in half");
        assert_eq!(memory_cap(&specs, (640, 360), 2 * widest - 1), 1);
        assert_eq!(memory_cap(&specs, (640, 360), 0), 0, "the smallest rung at least");
    }

    /// The shipped ladder locked on r0, prepared for the 48x30 frame it returns.
    fn ladder_on_a_small_frame() -> (Box<dyn Upscaler>, Arc<Adaptation>, ffmpeg::frame::Video) {
        let (factory, state) =
            adaptive_factory(&default_manifest_path(), Mode::Locked(0), None, 1).expect("shipped model");
        let mut adaptive = factory();
        adaptive.prepare(48, 30, 1.0 / 24.0);
        (adaptive, state, gradient_frame(48, 30))
    }

    /// Switching between rungs (and to bicubic and back) frame by frame: each frame is exactly what
    /// a fresh upscaler of the level active for it gives, and bicubic leaves the frame to the screen.
    #[test]
    fn each_frame_comes_from_the_level_active_for_it() {
        let (mut adaptive, state, frame) = ladder_on_a_small_frame();
        let model = Manifest::load_with_weights(&default_manifest_path(), &burn::prelude::Device::flex()).unwrap();
        let top = model.manifest.ladder.len() - 1;
        for mode in
            [Mode::Locked(3), Mode::Locked(0), Mode::Bicubic, Mode::Locked(top), Mode::Locked(3), Mode::Locked(1)]
        {
            state.controls.set_mode(mode);
            let got = adaptive.upscale_luma(&frame).unwrap();
            match mode {
                Mode::Locked(rung) => {
                    let network =
                        PackedNetwork::from_supernet(&model.supernet, model.manifest.ladder[rung].spec, Isa::detect());
                    assert_eq!(state.statistics.active(), LadderLevel::Rung(rung).index());
                    let expected = NeuralUpscaler::new(NetworkRunner::new(Arc::new(network), 2), "reference")
                        .upscale_luma(&frame)
                        .unwrap()
                        .expect("a rung runs its network");
                    let got = got.expect("a rung runs its network");
                    assert!(got.host_codes() == expected.host_codes(), "{mode:?}: the frame differs from its rung's");
                }
                _ => assert!(got.is_none(), "{mode:?}: the screen scales the frame"),
            }
        }
    }

    /// What the bench measures is what the screen is given: the network's luma where a rung ran,
    /// the decoded luma (which the screen's scaler enlarges) where none did; every 2nd frame.
    #[test]
    fn captures_hold_what_the_screen_is_given() {
        let (mut adaptive, state, frame) = ladder_on_a_small_frame();
        state.recorder.capture_every(2);
        let mut network = None;
        for (number, mode) in [(0, Mode::Locked(0)), (1, Mode::Locked(0)), (2, Mode::Bicubic)] {
            state.controls.set_mode(mode);
            adaptive.set_frame_timing(f64::from(number) / 24.0, 1.0 / 24.0, 1.0);
            let luma = adaptive.upscale_luma(&frame).unwrap();
            if number == 0 {
                network = luma;
            }
        }
        let network = network.expect("r0 ran its network");
        let captures = state.recorder.take_captures();
        assert_eq!(captures.iter().map(|captured| captured.number).collect::<Vec<_>>(), [0, 2]);
        let CapturedLuma::Network(captured) = &captures[0].luma else { panic!("frame 0 ran r0") };
        assert_eq!((captured.width, captured.height), (96, 60));
        assert!((0..60).all(|y| (0..96).all(|x| captured.at(x, y) == network.get(x, y))), "the network's luma");
        let CapturedLuma::Decoded(captured) = &captures[1].luma else { panic!("frame 2 ran no network") };
        assert_eq!((captured.width, captured.height), (48, 30));
        let stride = frame.stride(0);
        let decoded = |x: usize, y: usize| f32::from(frame.data(0)[y * stride + x]) / 255.0;
        assert!((0..30).all(|y| (0..48).all(|x| captured.at(x, y) == decoded(x, y))), "the decoded luma");
    }
}
