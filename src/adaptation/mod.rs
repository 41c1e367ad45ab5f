//! Adaptation: the ladder in the player. [`adaptive::AdaptiveUpscaler`] runs every frame at the level
//! the [`controller::Controller`] picks (or a locked rung, or bicubic only), and publishes what it does
//! in an [`Adaptation`] that the panel and the bench read; [`load::LoadInjector`] competes for the
//! CPU on demand.

pub mod adaptive;
pub mod controller;
pub mod load;

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

use crate::engine::UpscalerFactory;
use crate::engine::colour::SamplePlane;
use crate::engine::picture::{LumaImage, PlaneLayout};
use crate::host::hardware_adapter_name;
use crate::model::device::{DeviceChoice, GpuContext};
use crate::model::photo::Luma;
use crate::model::supernet::SubgraphSpec;
use load::LoadInjector;

/// How the player upscales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Mode {
    /// The controller moves along the ladder.
    Adaptive,
    /// Always this rung.
    Locked(usize),
    /// Plain bicubic (the screen's scaler), no network.
    Bicubic,
}

/// The GPU the ladder runs on for `device`: a hardware one (`gpu`: an error without one; `auto`:
/// one when there is one), never a software rasterizer; None: the CPU kernels.
pub fn sr_gpu(device: DeviceChoice) -> Result<Option<&'static GpuContext>, crate::engine::EngineError> {
    Ok(match device {
        DeviceChoice::Cpu => None,
        DeviceChoice::Gpu => Some(GpuContext::hardware()?),
        DeviceChoice::Auto => hardware_adapter_name().and_then(|_| GpuContext::hardware().ok()),
    })
}

/// The upscaler for `mode`, the ladder on `gpu` (see [`sr_gpu`]) or on the CPU kernels, and the
/// ladder's state the panel drives. With `window`, the GPU's output stays on the device for the
/// window, which must draw with `gpu`'s device.
pub fn upscaler_for(
    manifest: &std::path::Path,
    mode: Mode,
    gpu: Option<&'static GpuContext>,
    window: bool,
    target_fps: Option<f64>,
    load_threads: usize,
) -> Result<(UpscalerFactory, std::sync::Arc<Adaptation>), crate::engine::EngineError> {
    // The load slider loads whatever SR runs on.
    let (stores, load) = match gpu {
        Some(gpu) => (adaptive::gpu_rungs(gpu, window), LoadInjector::on_gpu(gpu)),
        None => (adaptive::shared_rungs(), LoadInjector::new(load_threads)),
    };
    adaptive::ladder_factory(manifest, mode, target_fps, load, stores)
}

/// A level of the ladder: the floor (no network) or rung k of the model. Wherever levels index a
/// table (the controller's times, [`Adaptation::levels`], traces), the floor is 0 and rung k is
/// k + 1; this type is the one place that numbering lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LadderLevel {
    Floor,
    Rung(usize),
}

impl LadderLevel {
    pub fn from_index(index: usize) -> Self {
        index.checked_sub(1).map_or(LadderLevel::Floor, LadderLevel::Rung)
    }

    pub fn index(self) -> usize {
        match self {
            LadderLevel::Floor => 0,
            LadderLevel::Rung(rung) => rung + 1,
        }
    }
}

/// One level of the ladder as the panel shows it; level 0 is the floor, no network (the screen's
/// GPU scaler in the window, swscale bilinear where pictures are made on the CPU).
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    pub name: String,
    pub spec: Option<SubgraphSpec>,
    pub params: usize,
    pub val_psnr_y: Option<f64>,
}

/// A change of level, as logged.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchRecord {
    /// Seconds since the state was made ([`Statistics::elapsed_secs`]).
    pub at_secs: f64,
    pub from: String,
    pub to: String,
    pub reason: &'static str,
    /// Time to make the new level ready (its weights are packed at start: a swap).
    pub prepare_ms: f64,
    /// Frames past their deadline (one frame interval) among the few right after the switch.
    pub frames_late: usize,
}

/// One upscaled frame, as the plot shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FrameSample {
    pub at_secs: f64,
    /// The frame's presentation time in the stream.
    pub pts_secs: f64,
    pub sr_ms: f64,
    /// A switch made just before this frame, which delayed it.
    pub stall_ms: f64,
    pub level: usize,
}

/// An output picture's luma kept for measuring against a reference.
#[derive(Debug, Clone)]
pub struct CapturedFrame {
    /// The frame's number in the stream (presentation time over frame interval).
    pub number: usize,
    pub luma: CapturedLuma,
}

/// Luma in [0, 1] of the stream's code range.
#[derive(Debug, Clone)]
pub enum CapturedLuma {
    /// The network's, at twice the frame's size.
    Network(Luma),
    /// No network ran: the decoded frame's, which the screen's scaler enlarges.
    Decoded(Luma),
}

/// The lowest power cap, in percent of a frame interval.
pub const MIN_POWER_CAP: u8 = 10;

/// Frames kept for the plot.
const RECENT_FRAMES: usize = 240;

/// What the adaptive upscaler shares with the panel and the bench, in three parts by who writes
/// them: [`Controls`] (the user, through the panel's commands and the command line), [`Statistics`]
/// (the SR worker, for the panel and the summaries) and [`Recorder`] (what the bench asks to keep).
pub struct Adaptation {
    pub levels: Vec<Level>,
    pub controls: Controls,
    pub statistics: Statistics,
    pub recorder: Recorder,
}

impl Adaptation {
    /// The state of a ladder of `levels` starting in `mode`, its load slider driving `load`.
    pub fn new(levels: Vec<Level>, mode: Mode, load: LoadInjector) -> Self {
        Self {
            levels,
            controls: Controls { mode: Mutex::new(mode), split: Mutex::new(None), power_cap: AtomicU8::new(100), load },
            statistics: Statistics::default(),
            recorder: Recorder::default(),
        }
    }

    /// Publishes an upscaled frame (and keeps it, when the bench records; writes it, when a trace
    /// file is open).
    fn record_frame(&self, sample: FrameSample) {
        self.statistics.record_frame(sample);
        self.recorder.record_frame(sample);
        let mut trace_file = self.recorder.trace_file.lock();
        if let Some(file) = trace_file.as_mut() {
            let level = &self.levels[sample.level];
            let row = format!(
                "{:.4},{:.4},{},{:.3},{:.3},{:.3},{},{}\n",
                sample.at_secs,
                sample.pts_secs,
                level.name,
                sample.sr_ms,
                sample.stall_ms,
                self.statistics.budget_ms(),
                self.controls.load.level(),
                level.val_psnr_y.map_or_else(String::new, |psnr| format!("{psnr:.3}")),
            );
            if let Err(error) = file.write_all(row.as_bytes()) {
                tracing::warn!("the trace file: {error}; no more rows are written");
                *trace_file = None;
            }
        }
    }

    /// The record of the frame shown at `pts_secs` and the level that made it, while it is among
    /// the recent frames.
    pub fn frame_at(&self, pts_secs: f64) -> Option<(FrameSample, &Level)> {
        self.statistics.frame_at(pts_secs).map(|sample| (sample, &self.levels[sample.level]))
    }

    /// Writes every upscaled frame from now on as a CSV row into `path` (`--record-trace`).
    pub fn write_trace_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        file.write_all(TRACE_HEADER.as_bytes())?;
        *self.recorder.trace_file.lock() = Some(file);
        Ok(())
    }
}

/// The columns of `--record-trace`: when the frame was upscaled (s since start), its time in the
/// stream, the level that made it, SR and switch time, the budget, the injected load and the
/// level's validation PSNR-Y.
pub const TRACE_HEADER: &str = "at_secs,pts_secs,level,sr_ms,stall_ms,budget_ms,load_percent,level_val_psnr_y\n";

/// What the user sets; the SR worker reads it every frame.
pub struct Controls {
    mode: Mutex<Mode>,
    /// The split view's divider, as a share of the width from the left (bicubic left, DySR right).
    split: Mutex<Option<f32>>,
    /// The share of each frame interval SR may use, in percent (100: no cap, the controller's own
    /// margin holds): for laptops on battery.
    power_cap: AtomicU8,
    pub load: LoadInjector,
}

impl Controls {
    pub fn mode(&self) -> Mode {
        *self.mode.lock()
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock() = mode;
    }

    pub fn power_cap(&self) -> u8 {
        self.power_cap.load(Ordering::Relaxed)
    }

    /// Limits SR to `percent` (10 to 100) of each frame interval.
    pub fn set_power_cap(&self, percent: u8) {
        self.power_cap.store(percent.clamp(MIN_POWER_CAP, 100), Ordering::Relaxed);
    }

    pub fn split(&self) -> Option<f32> {
        *self.split.lock()
    }

    /// Shows bicubic left of `divider` (a share of the width) and DySR right of it; None: off.
    pub fn set_split(&self, divider: Option<f32>) {
        *self.split.lock() = divider.map(|share| share.clamp(0.0, 1.0));
    }
}

/// What the SR worker publishes: the active level, the budget, model memory, recent frames and
/// the switches.
pub struct Statistics {
    /// Where the rungs run, as the engine describes itself, and whether that is a GPU.
    engine: Mutex<(String, bool)>,
    active: AtomicUsize,
    /// Model state (packed weights, frame buffers): now and the most so far.
    model_bytes: AtomicUsize,
    peak_model_bytes: AtomicUsize,
    budget_ms: Mutex<f64>,
    switches: Mutex<Vec<SwitchRecord>>,
    recent: Mutex<VecDeque<FrameSample>>,
    epoch: std::time::Instant,
}

impl Default for Statistics {
    fn default() -> Self {
        Self {
            engine: Mutex::new((String::new(), false)),
            active: AtomicUsize::new(0),
            model_bytes: AtomicUsize::new(0),
            peak_model_bytes: AtomicUsize::new(0),
            budget_ms: Mutex::new(0.0),
            switches: Mutex::default(),
            recent: Mutex::default(),
            epoch: std::time::Instant::now(),
        }
    }
}

impl Statistics {
    /// Where the rungs run (the engine's own description), and whether on a GPU.
    pub fn engine(&self) -> (String, bool) {
        self.engine.lock().clone()
    }

    fn set_engine(&self, description: String, on_gpu: bool) {
        *self.engine.lock() = (description, on_gpu);
    }

    /// Bytes of model state resident now (packed weights and frame buffers).
    pub fn model_bytes(&self) -> usize {
        self.model_bytes.load(Ordering::Relaxed)
    }

    pub fn peak_model_bytes(&self) -> usize {
        self.peak_model_bytes.load(Ordering::Relaxed)
    }

    fn note_model_bytes(&self, bytes: usize) {
        self.model_bytes.store(bytes, Ordering::Relaxed);
        self.peak_model_bytes.fetch_max(bytes, Ordering::Relaxed);
    }

    /// The level the last frame used.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    pub fn budget_ms(&self) -> f64 {
        *self.budget_ms.lock()
    }

    fn set_budget_ms(&self, budget_ms: f64) {
        *self.budget_ms.lock() = budget_ms;
    }

    pub fn switches(&self) -> Vec<SwitchRecord> {
        self.switches.lock().clone()
    }

    fn note_switch(&self, record: SwitchRecord) {
        self.switches.lock().push(record);
    }

    /// Counts a late frame against the last switch.
    fn note_late_after_switch(&self) {
        if let Some(last) = self.switches.lock().last_mut() {
            last.frames_late += 1;
        }
    }

    pub fn recent(&self) -> Vec<FrameSample> {
        self.recent.lock().iter().copied().collect()
    }

    /// The record of the frame shown at `pts_secs`, while it is among the recent ones.
    pub fn frame_at(&self, pts_secs: f64) -> Option<FrameSample> {
        self.recent.lock().iter().rev().find(|sample| (sample.pts_secs - pts_secs).abs() < 1e-6).copied()
    }

    /// Seconds since this state was made: the time base of frames and switches.
    pub fn elapsed_secs(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn record_frame(&self, sample: FrameSample) {
        self.active.store(sample.level, Ordering::Relaxed);
        let mut recent = self.recent.lock();
        if recent.len() == RECENT_FRAMES {
            recent.pop_front();
        }
        recent.push_back(sample);
    }
}

/// What the bench asks the SR worker to keep: every frame's sample, every Nth output picture.
#[derive(Default)]
pub struct Recorder {
    /// Every frame, when recording.
    trace: Mutex<Option<Vec<FrameSample>>>,
    /// Every Nth frame's picture (by frame number in the stream), when capturing.
    captures: Mutex<Option<(usize, Vec<CapturedFrame>)>>,
    /// Every frame as a CSV row, when playing with `--record-trace` (buffered; flushed on drop).
    trace_file: Mutex<Option<std::io::BufWriter<std::fs::File>>>,
}

impl Recorder {
    /// Keeps every frame from now on, for [`Recorder::take_trace`].
    pub fn record_trace(&self) {
        *self.trace.lock() = Some(Vec::new());
    }

    pub fn take_trace(&self) -> Vec<FrameSample> {
        self.trace.lock().take().unwrap_or_default()
    }

    /// Keeps a copy of the output of every `every`th frame of the stream from now on.
    pub fn capture_every(&self, every: usize) {
        *self.captures.lock() = Some((every.max(1), Vec::new()));
    }

    pub fn take_captures(&self) -> Vec<CapturedFrame> {
        self.captures.lock().take().map(|(_, frames)| frames).unwrap_or_default()
    }

    /// Keeps `network`'s luma (or, where no network ran, `frame`'s) when the frame at `pts_secs`
    /// is one of those asked for.
    fn capture(
        &self,
        pts_secs: f64,
        interval_secs: f64,
        network: Option<&LumaImage>,
        frame: &ffmpeg_next::frame::Video,
    ) {
        let mut captures = self.captures.lock();
        let Some((every, frames)) = captures.as_mut() else { return };
        let number = (pts_secs / interval_secs).round() as usize;
        if !number.is_multiple_of(*every) {
            return;
        }
        let luma = match network {
            Some(image) => {
                let codes = image.host_codes();
                let values = codes.chunks_exact(2).map(|s| f32::from(u16::from_le_bytes([s[0], s[1]])) / 65535.0);
                CapturedLuma::Network(Luma::new(image.width as usize, image.height as usize, values.collect()))
            }
            None => {
                let Some(layout) = PlaneLayout::of(frame.format()) else { return };
                let (width, height) = (frame.width() as usize, frame.height() as usize);
                let plane = SamplePlane::of_frame(frame, 0, width, height, layout.bytes_per_sample());
                let max_code = ((1u32 << layout.bits) - 1) as f32;
                let mut values = vec![0.0; width * height];
                for (y, row) in values.chunks_exact_mut(width).enumerate() {
                    plane.read_row(y, row, |code| code / max_code);
                }
                CapturedLuma::Decoded(Luma::new(width, height, values))
            }
        };
        frames.push(CapturedFrame { number, luma });
    }

    fn record_frame(&self, sample: FrameSample) {
        if let Some(trace) = self.trace.lock().as_mut() {
            trace.push(sample);
        }
    }
}
