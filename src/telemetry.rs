//! Counters the pipeline stages publish and the stats panel, the headless summary and the benchmarks
//! read. Writers bump atomics; readers take a [`Telemetry`] snapshot and never reach into a stage.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;

/// Live counters shared by the stages of one player (one per `Player`, never global).
#[derive(Debug, Default)]
pub struct Counters {
    pub frames_decoded: AtomicU64,
    pub frames_upscaled: AtomicU64,
    pub frames_presented: AtomicU64,
    /// Frames that were due at the clock but superseded by a later due frame before display.
    pub frames_dropped_late: AtomicU64,
    /// Frames skipped before upscaling because their display time had already passed.
    pub frames_dropped_early: AtomicU64,
    pub corrupt_packets: AtomicU64,
    pub audio_underruns: AtomicU64,
    /// Time spent in the SR worker on the last frame, in microseconds.
    pub last_upscale_micros: AtomicU64,
    /// Largest |clock - frame pts| seen at presentation, in microseconds.
    pub max_av_offset_micros: AtomicU64,
    /// Last |clock - frame pts| at presentation, in microseconds.
    pub last_av_offset_micros: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Telemetry {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Telemetry {
            frames_decoded: read(&self.frames_decoded),
            frames_upscaled: read(&self.frames_upscaled),
            frames_presented: read(&self.frames_presented),
            frames_dropped_late: read(&self.frames_dropped_late),
            frames_dropped_early: read(&self.frames_dropped_early),
            corrupt_packets: read(&self.corrupt_packets),
            audio_underruns: read(&self.audio_underruns),
            last_upscale_secs: read(&self.last_upscale_micros) as f64 * 1e-6,
            max_av_offset_secs: read(&self.max_av_offset_micros) as f64 * 1e-6,
            last_av_offset_secs: read(&self.last_av_offset_micros) as f64 * 1e-6,
        }
    }

    pub fn record_av_offset(&self, offset_secs: f64) {
        let micros = (offset_secs.abs() * 1e6) as u64;
        self.last_av_offset_micros.store(micros, Ordering::Relaxed);
        self.max_av_offset_micros.fetch_max(micros, Ordering::Relaxed);
    }
}

/// A consistent-enough copy of the counters, with units in the names.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Telemetry {
    pub frames_decoded: u64,
    pub frames_upscaled: u64,
    pub frames_presented: u64,
    pub frames_dropped_late: u64,
    pub frames_dropped_early: u64,
    pub corrupt_packets: u64,
    pub audio_underruns: u64,
    pub last_upscale_secs: f64,
    pub max_av_offset_secs: f64,
    pub last_av_offset_secs: f64,
}

/// Median wall-clock milliseconds of `runs` calls of `work` after `warmup` untimed ones.
pub fn median_ms(warmup: usize, runs: usize, mut work: impl FnMut()) -> f64 {
    (0..warmup).for_each(|_| work());
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut times)
}

/// The middle value of `values` (the upper one of an even count), sorting them in place.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
