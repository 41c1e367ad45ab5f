//! The adaptation bench: a clip played headless at real time under a scripted load profile, once
//! per strategy, each frame traced; then a summary table per strategy and per load phase, a CSV
//! trace per strategy and a PNG plot.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::BenchError;
use super::baselines::{assemble, assemble_on_gpu, reload, write_standalone_rungs};
use crate::adaptation::adaptive::{gpu_rungs, ladder_factory, shared_rungs};
use crate::adaptation::load::LoadInjector;
use crate::adaptation::load::{Segment, load_at, phase_at};
use crate::adaptation::{Adaptation, CapturedLuma, FrameSample, Mode};
use crate::model::device::GpuContext;
use crate::model::manifest::Manifest;
use crate::model::metrics::psnr_y;
use crate::model::photo::Luma;
use crate::model::resize::{Kernel, upscale_x2};
use crate::player::{AudioMode, PlayerOptions, headless};
use crate::plot::{Panel, Series, stacked_line_charts};

/// How the player picks its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Adaptive,
    /// One rung throughout; `usize::MAX` is the top rung.
    Static(usize),
    /// Adaptive, with each rung a standalone network read from disk when switched to.
    Reload,
    /// Adaptive, with every rung a standalone network resident with its own buffers.
    Assemble,
}

impl Strategy {
    pub fn parse(text: &str) -> Result<Strategy, BenchError> {
        match text {
            "adaptive" => Ok(Strategy::Adaptive),
            "static:top" => Ok(Strategy::Static(usize::MAX)),
            "static:smallest" => Ok(Strategy::Static(0)),
            "reload" => Ok(Strategy::Reload),
            "assemble" => Ok(Strategy::Assemble),
            _ => match text.strip_prefix("static:").and_then(|k| k.parse().ok()) {
                Some(rung) => Ok(Strategy::Static(rung)),
                None => Err(BenchError::UnknownStrategy(text.to_owned())),
            },
        }
    }

    fn name(self, top: usize) -> String {
        match self {
            Strategy::Adaptive => "adaptive".to_owned(),
            Strategy::Reload => "reload".to_owned(),
            Strategy::Assemble => "assemble".to_owned(),
            Strategy::Static(rung) => format!("static:r{}", rung.min(top)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub input: String,
    pub manifest: PathBuf,
    pub strategies: Vec<Strategy>,
    pub profile: Vec<Segment>,
    pub load_threads: usize,
    /// The hardware GPU the ladder (and the load) runs on; None: the CPU kernels.
    pub gpu: Option<&'static GpuContext>,
    pub out: PathBuf,
    /// Validation PSNR of the floor, the screen's bicubic (the rungs' come from the manifest).
    pub floor_psnr_y: f64,
    /// The clip at twice the size, for PSNR against the output of every `psnr_every`th frame.
    pub reference: Option<PathBuf>,
    pub psnr_every: usize,
}

/// Luma of every `every`th frame of the clip at `path` (8-bit Y), by frame number.
pub fn reference_frames(path: &Path, every: usize) -> Result<HashMap<usize, Luma>, BenchError> {
    use ffmpeg_next as ffmpeg;
    crate::media::init_ffmpeg();
    let fail = |source| BenchError::Decode { path: path.to_owned(), source };
    let mut input = ffmpeg::format::input(path).map_err(fail)?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| BenchError::NoVideo { path: path.to_owned() })?;
    let (index, time_base, rate) = (stream.index(), f64::from(stream.time_base()), f64::from(stream.avg_frame_rate()));
    let mut decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(fail)?
        .decoder()
        .video()
        .map_err(fail)?;
    let mut frames = HashMap::new();
    let mut frame = ffmpeg::frame::Video::empty();
    let keep = |frame: &ffmpeg::frame::Video, frames: &mut HashMap<usize, Luma>| {
        let number = (frame.pts().unwrap_or(0) as f64 * time_base * rate).round() as usize;
        if number.is_multiple_of(every) {
            let (width, height, stride) = (frame.width() as usize, frame.height() as usize, frame.stride(0));
            let data = (0..height)
                .flat_map(|y| frame.data(0)[y * stride..y * stride + width].iter().map(|&v| f32::from(v) / 255.0))
                .collect();
            frames.insert(number, Luma::new(width, height, data));
        }
    };
    for (stream, packet) in input.packets() {
        if stream.index() == index {
            decoder.send_packet(&packet).map_err(fail)?;
            while decoder.receive_frame(&mut frame).is_ok() {
                keep(&frame, &mut frames);
            }
        }
    }
    decoder.send_eof().map_err(fail)?;
    while decoder.receive_frame(&mut frame).is_ok() {
        keep(&frame, &mut frames);
    }
    Ok(frames)
}

/// A frame of the trace, as written to CSV.
#[derive(Debug, Clone, Serialize)]
struct TraceRow {
    at_secs: f64,
    level: String,
    sr_ms: f64,
    stall_ms: f64,
    on_time: bool,
    psnr_y: f64,
    /// Against the reference clip, on sampled frames.
    psnr_reference: Option<f64>,
    load_percent: f64,
    rss_mib: f64,
}

/// Per phase of `profile`: the share of its upscaled frames on time (%) and their mean PSNR:
/// against the reference when the run measured any frame against it, else the levels' validation
/// PSNR; None when the phase has no such frame (a rung too slow to upscale a measured frame).
fn phase_scores(rows: &[TraceRow], profile: &[Segment]) -> Vec<(f64, Option<f64>)> {
    let against_reference = rows.iter().any(|row| row.psnr_reference.is_some());
    (0..profile.len())
        .map(|phase| {
            let in_phase: Vec<&TraceRow> = rows.iter().filter(|row| phase_at(profile, row.at_secs) == phase).collect();
            let count = in_phase.len().max(1) as f64;
            let scores: Vec<f64> = in_phase
                .iter()
                .filter_map(|row| if against_reference { row.psnr_reference } else { Some(row.psnr_y) })
                .collect();
            let psnr = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
            (100.0 * in_phase.iter().filter(|row| row.on_time).count() as f64 / count, psnr)
        })
        .collect()
}

/// What one strategy's run gives.
#[derive(Debug, Clone, Serialize)]
pub struct StrategySummary {
    pub strategy: String,
    pub frames: u64,
    pub frames_presented: u64,
    pub frames_dropped: u64,
    pub fps_mean: f64,
    pub fps_1_percent_low: f64,
    pub on_time_percent: f64,
    pub switches: usize,
    pub worst_switch_ready_ms: f64,
    pub frames_late_after_switches: usize,
    /// The slowest frame, with any switch that delayed it.
    pub worst_frame_ms: f64,
    pub mean_psnr_y: f64,
    /// Mean PSNR-Y of the sampled frames against the reference clip.
    pub mean_psnr_reference: Option<f64>,
    pub frames_against_reference: usize,
    pub peak_rss_mib: f64,
    /// Packed weights and frame buffers at their largest.
    pub peak_model_mib: f64,
    /// Per load phase: (% on time, mean PSNR: against the reference where there is one, else the
    /// levels' validation PSNR; None when no frame was upscaled in the phase).
    pub phases: Vec<(f64, Option<f64>)>,
}

/// Samples the process's resident memory.
struct RssSampler {
    system: Option<System>,
    pid: Option<Pid>,
}

impl RssSampler {
    fn new() -> Self {
        Self { system: System::new().ok(), pid: sysinfo::get_current_pid().ok() }
    }

    fn rss_mib(&mut self) -> f64 {
        let (Some(system), Some(pid)) = (&mut self.system, self.pid) else { return 0.0 };
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_memory(),
        );
        system.process(pid).map_or(0.0, |process| process.memory() as f64 / f64::from(1 << 20))
    }
}

/// Runs every strategy; writes `<out>/trace-<strategy>.csv`, `<out>/summary.csv` and
/// `<out>/adaptation.png`; returns the summaries.
pub fn run(config: &BenchConfig) -> Result<Vec<StrategySummary>, BenchError> {
    let top = Manifest::load(&config.manifest)?.ladder.len() - 1;
    // A rung the ladder lacks is refused before the output folder is made.
    for strategy in &config.strategies {
        if let Strategy::Static(rung) = *strategy
            && rung != usize::MAX
            && rung > top
        {
            return Err(crate::engine::EngineError::NoSuchRung { rung, last: top }.into());
        }
    }
    std::fs::create_dir_all(&config.out).map_err(BenchError::io(&config.out))?;
    let mut summaries = Vec::new();
    let mut level_series = Vec::new();
    let mut fps_series = Vec::new();
    let mut load_series = Vec::new();
    let reference = match &config.reference {
        Some(path) => reference_frames(path, config.psnr_every)?,
        None => HashMap::new(),
    };
    for &strategy in &config.strategies {
        let shared = match config.gpu {
            Some(gpu) => gpu_rungs(gpu, false),
            None => shared_rungs(),
        };
        let (mode, stores) = match (strategy, config.gpu) {
            (Strategy::Adaptive, _) => (Mode::Adaptive, shared),
            (Strategy::Assemble, Some(gpu)) => (Mode::Adaptive, assemble_on_gpu(gpu)),
            (Strategy::Assemble, None) => (Mode::Adaptive, assemble()),
            (Strategy::Reload, Some(_)) => return Err(BenchError::CpuOnly("reload")),
            (Strategy::Reload, None) => {
                let dir = config.out.join("standalone");
                write_standalone_rungs(&config.manifest, &dir)?;
                (Mode::Adaptive, reload(dir))
            }
            (Strategy::Static(usize::MAX), _) => (Mode::Locked(top), shared),
            (Strategy::Static(rung), _) => (Mode::Locked(rung), shared),
        };
        let load = match config.gpu {
            Some(gpu) => LoadInjector::on_gpu(gpu),
            None => LoadInjector::new(config.load_threads),
        };
        let (factory, adaptation) = ladder_factory(&config.manifest, mode, None, load, stores)?;
        let name = strategy.name(top);
        eprintln!("bench: {name} ...");
        let (summary, rows, samples) = run_strategy(config, &name, factory, &adaptation, &reference)?;
        write_trace(&config.out.join(format!("trace-{}.csv", name.replace(':', "-"))), &rows)?;
        level_series.push(Series {
            name: name.clone(),
            points: rows.iter().map(|row| (row.at_secs, level_index(&adaptation, &row.level) as f64)).collect(),
        });
        fps_series.push(Series {
            name: name.clone(),
            points: rows.iter().map(|row| (row.at_secs, (1e3 / row.sr_ms.max(1e-3)).min(100.0))).collect(),
        });
        if load_series.is_empty() {
            load_series.push(Series { name: "injected load %".to_owned(), points: samples });
        }
        summaries.push(summary);
    }
    write_summary(&config.out.join("summary.csv"), &summaries)?;
    let panels = [
        Panel { y_label: "level (0 = the floor, k+1 = rung k)".to_owned(), series: level_series },
        Panel { y_label: "SR-limited frames/s (capped at 100)".to_owned(), series: fps_series },
        Panel { y_label: "load %".to_owned(), series: load_series },
    ];
    stacked_line_charts(
        &config.out.join("adaptation.png"),
        "dysr bench: level, SR rate and load over time",
        "seconds",
        &panels,
    )?;
    Ok(summaries)
}

fn level_index(adaptation: &Adaptation, name: &str) -> usize {
    adaptation.levels.iter().position(|level| level.name == name).unwrap_or(0)
}

type StrategyRun = (StrategySummary, Vec<TraceRow>, Vec<(f64, f64)>);

fn run_strategy(
    config: &BenchConfig,
    name: &str,
    factory: crate::engine::UpscalerFactory,
    adaptation: &Arc<Adaptation>,
    reference: &HashMap<usize, Luma>,
) -> Result<StrategyRun, BenchError> {
    adaptation.recorder.record_trace();
    if !reference.is_empty() {
        adaptation.recorder.capture_every(config.psnr_every);
    }
    let options = PlayerOptions { audio: AudioMode::Silent, upscaler: Some(factory), ..Default::default() };
    let done = Arc::new(AtomicBool::new(false));
    // The profile starts with playback: (profile secs, load %, rss MiB) samples in the adaptation's
    // time base.
    let driver = {
        let (done, adaptation, profile) = (Arc::clone(&done), Arc::clone(adaptation), config.profile.clone());
        std::thread::spawn(move || {
            let mut rss = RssSampler::new();
            let started = Instant::now();
            let offset = adaptation.statistics.elapsed_secs();
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let secs = started.elapsed().as_secs_f64();
                let load = load_at(&profile, secs);
                adaptation.controls.load.set_level(load.round() as u8);
                samples.push((offset + secs, load, rss.rss_mib()));
                std::thread::sleep(Duration::from_millis(50));
            }
            adaptation.controls.load.set_level(0);
            (offset, samples)
        })
    };
    let result = headless::run(&config.input, options);
    done.store(true, Ordering::Relaxed);
    let (offset, samples) = driver.join().map_err(|_| BenchError::LoadDriverPanicked)?;
    let summary = result?;
    let trace = adaptation.recorder.take_trace();
    let measured: HashMap<usize, f64> = adaptation
        .recorder
        .take_captures()
        .into_iter()
        .filter_map(|captured| {
            let expected = reference.get(&captured.number)?;
            let shown = match captured.luma {
                CapturedLuma::Network(luma) => luma,
                // What the screen's scaler (Catmull-Rom bicubic on a GPU) makes of the frame.
                CapturedLuma::Decoded(luma) => upscale_x2(&luma, Kernel::Bicubic),
            };
            ((shown.width, shown.height) == (expected.width, expected.height))
                .then(|| (captured.number, psnr_y(expected, &shown)))
        })
        .collect();
    let interval_ms = 1e3 / summary_fps(&summary);
    let psnr_of = |level: usize| adaptation.levels[level].val_psnr_y.unwrap_or(config.floor_psnr_y);
    let sample_at = |secs: f64| {
        samples
            .iter()
            .rev()
            .find(|(at, _, _)| *at <= secs)
            .or(samples.first())
            .map_or((0.0, 0.0), |&(_, load, rss)| (load, rss))
    };
    let rows: Vec<TraceRow> = trace
        .iter()
        .filter(|frame| frame.at_secs >= offset)
        .map(|frame: &FrameSample| {
            let (load, rss) = sample_at(frame.at_secs);
            TraceRow {
                at_secs: frame.at_secs - offset,
                level: adaptation.levels[frame.level].name.clone(),
                sr_ms: frame.sr_ms,
                stall_ms: frame.stall_ms,
                on_time: frame.sr_ms + frame.stall_ms <= interval_ms,
                psnr_y: psnr_of(frame.level),
                psnr_reference: measured.get(&((frame.pts_secs * 1e3 / interval_ms).round() as usize)).copied(),
                load_percent: load,
                rss_mib: rss,
            }
        })
        .collect();
    let frames = summary.frames_decoded;
    let on_time = rows.iter().filter(|row| row.on_time).count();
    let mut rates: Vec<f64> =
        rows.iter().map(|row| (1e3 / (row.sr_ms + row.stall_ms).max(1e-3)).min(1e3 / interval_ms)).collect();
    rates.sort_by(f64::total_cmp);
    let low_count = (rates.len() / 100).max(1);
    let switches = adaptation.statistics.switches();
    let phases = phase_scores(&rows, &config.profile);
    let summary = StrategySummary {
        strategy: name.to_owned(),
        frames,
        frames_presented: summary.frames_presented,
        frames_dropped: summary.frames_dropped,
        fps_mean: summary.frames_presented as f64 / summary.duration_s.max(1e-3),
        fps_1_percent_low: rates.iter().take(low_count).sum::<f64>() / low_count as f64,
        // Frames dropped before upscaling never reach the trace: they count as late.
        on_time_percent: 100.0 * on_time as f64 / frames.max(1) as f64,
        switches: switches.len(),
        worst_switch_ready_ms: switches.iter().map(|s| s.prepare_ms).fold(0.0, f64::max),
        frames_late_after_switches: switches.iter().map(|s| s.frames_late).sum(),
        worst_frame_ms: rows.iter().map(|row| row.sr_ms + row.stall_ms).fold(0.0, f64::max),
        mean_psnr_y: rows.iter().map(|row| row.psnr_y).sum::<f64>() / rows.len().max(1) as f64,
        mean_psnr_reference: (!measured.is_empty()).then(|| {
            rows.iter().filter_map(|row| row.psnr_reference).sum::<f64>()
                / rows.iter().filter(|row| row.psnr_reference.is_some()).count().max(1) as f64
        }),
        frames_against_reference: rows.iter().filter(|row| row.psnr_reference.is_some()).count(),
        peak_rss_mib: samples.iter().map(|&(_, _, rss)| rss).fold(0.0, f64::max),
        peak_model_mib: adaptation.statistics.peak_model_bytes() as f64 / f64::from(1 << 20),
        phases,
    };
    let load_points = samples.iter().map(|&(at, load, _)| (at - offset, load)).collect();
    Ok((summary, rows, load_points))
}

fn summary_fps(summary: &crate::player::summary::PlaybackSummary) -> f64 {
    if summary.stream_fps > 0.0 { summary.stream_fps } else { 24.0 }
}

fn write_trace(path: &Path, rows: &[TraceRow]) -> Result<(), BenchError> {
    let mut text = String::from(
        "at_secs,level,sr_ms,stall_ms,on_time,level_val_psnr_y,psnr_y_vs_reference,load_percent,rss_mib\n",
    );
    for row in rows {
        let reference = row.psnr_reference.map_or_else(String::new, |psnr| format!("{psnr:.3}"));
        let _ = writeln!(
            text,
            "{:.4},{},{:.3},{:.3},{},{:.3},{},{:.1},{:.1}",
            row.at_secs,
            row.level,
            row.sr_ms,
            row.stall_ms,
            row.on_time,
            row.psnr_y,
            reference,
            row.load_percent,
            row.rss_mib
        );
    }
    std::fs::write(path, text).map_err(BenchError::io(path))
}

/// One figure of a strategy over repeated runs: its median, its worst and the spread between its
/// best and worst.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepeatedFigure {
    pub figure: &'static str,
    pub median: f64,
    pub worst: f64,
    pub spread: f64,
}

/// A figure's name, whether higher is worse, and how to read it from a summary.
type FigureReader = (&'static str, bool, fn(&StrategySummary) -> f64);

/// The figures that decide whether a strategy held the deadline, with which way is worse.
const REPEATED_FIGURES: [FigureReader; 5] = [
    ("on time %", false, |s| s.on_time_percent),
    ("late after a switch", true, |s| s.frames_late_after_switches as f64),
    ("dropped", true, |s| s.frames_dropped as f64),
    ("1% low fps", false, |s| s.fps_1_percent_low),
    ("worst frame ms", true, |s| s.worst_frame_ms),
];

/// Each strategy's figures over `runs` (each run's summaries, strategies in the same order).
pub fn repeated(runs: &[Vec<StrategySummary>]) -> Vec<(String, Vec<RepeatedFigure>)> {
    let Some(first) = runs.first() else { return Vec::new() };
    first
        .iter()
        .enumerate()
        .map(|(index, summary)| {
            let figures = REPEATED_FIGURES
                .iter()
                .map(|&(figure, higher_is_worse, value)| {
                    let mut values: Vec<f64> = runs.iter().map(|run| value(&run[index])).collect();
                    values.sort_by(f64::total_cmp);
                    let median = match values.len() % 2 {
                        1 => values[values.len() / 2],
                        _ => (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2.0,
                    };
                    let (lowest, highest) = (values[0], values[values.len() - 1]);
                    RepeatedFigure {
                        figure,
                        median,
                        worst: if higher_is_worse { highest } else { lowest },
                        spread: highest - lowest,
                    }
                })
                .collect();
            (summary.strategy.clone(), figures)
        })
        .collect()
}

fn write_summary(path: &Path, summaries: &[StrategySummary]) -> Result<(), BenchError> {
    let mut text = String::from(
        "strategy,frames,presented,dropped,fps_mean,fps_1pct_low,on_time_percent,switches,worst_switch_ready_ms,frames_late_after_switches,worst_frame_ms,mean_level_val_psnr_y,mean_psnr_y_vs_reference,frames_vs_reference,peak_rss_mib,peak_model_mib\n",
    );
    for s in summaries {
        let _ = writeln!(
            text,
            "{},{},{},{},{:.2},{:.2},{:.2},{},{:.4},{},{:.2},{:.3},{},{},{:.1},{:.1}",
            s.strategy,
            s.frames,
            s.frames_presented,
            s.frames_dropped,
            s.fps_mean,
            s.fps_1_percent_low,
            s.on_time_percent,
            s.switches,
            s.worst_switch_ready_ms,
            s.frames_late_after_switches,
            s.worst_frame_ms,
            s.mean_psnr_y,
            s.mean_psnr_reference.map_or_else(String::new, |p| format!("{p:.3}")),
            s.frames_against_reference,
            s.peak_rss_mib,
            s.peak_model_mib
        );
    }
    std::fs::write(path, text).map_err(BenchError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A phase without an upscaled frame has no PSNR (a rung too slow for the machine), rather
    /// than a mean of nothing; with a reference, neither has a phase without a measured frame
    /// (rather than the levels' validation PSNR in a column of PSNR against the reference).
    #[test]
    fn a_phase_without_frames_has_no_score() {
        let profile = crate::adaptation::load::default_profile(90.0, 2.0);
        let row = |at_secs, on_time, psnr_y, psnr_reference| TraceRow {
            at_secs,
            level: "r0".to_owned(),
            sr_ms: 10.0,
            stall_ms: 0.0,
            on_time,
            psnr_y,
            psnr_reference,
            load_percent: 0.0,
            rss_mib: 0.0,
        };
        let rows = [row(0.5, true, 37.0, None), row(1.5, false, 38.0, None), row(6.5, true, 36.0, None)];
        let scores = phase_scores(&rows, &profile);
        assert_eq!(scores, vec![(50.0, Some(37.5)), (0.0, None), (0.0, None), (100.0, Some(36.0))]);

        let rows = [row(0.5, true, 37.0, Some(40.0)), row(1.5, true, 38.0, Some(42.0)), row(2.5, true, 38.0, None)];
        let scores = phase_scores(&rows, &profile);
        assert_eq!(scores, vec![(100.0, Some(41.0)), (100.0, None), (0.0, None), (0.0, None)]);
    }

    #[test]
    fn strategies_parse() {
        assert_eq!(Strategy::parse("static:3").ok(), Some(Strategy::Static(3)));
        assert_eq!(Strategy::parse("reload").ok(), Some(Strategy::Reload));
        assert!(Strategy::parse("fastest").is_err());
    }

    #[test]
    fn repeated_runs_give_each_figures_median_worst_and_spread() {
        let summary = |on_time: f64, late: usize| StrategySummary {
            strategy: "adaptive".to_owned(),
            frames: 480,
            frames_presented: 480,
            frames_dropped: 0,
            fps_mean: 24.0,
            fps_1_percent_low: 23.0,
            on_time_percent: on_time,
            switches: 9,
            worst_switch_ready_ms: 0.01,
            frames_late_after_switches: late,
            worst_frame_ms: 40.0,
            mean_psnr_y: 37.0,
            mean_psnr_reference: None,
            frames_against_reference: 0,
            peak_rss_mib: 400.0,
            peak_model_mib: 84.0,
            phases: Vec::new(),
        };
        let runs = [vec![summary(99.8, 0)], vec![summary(99.0, 5)], vec![summary(100.0, 1)]];
        let rows = repeated(&runs);
        assert_eq!(rows.len(), 1);
        let figure = |name: &str| rows[0].1.iter().find(|f| f.figure == name).unwrap().clone();
        let on_time = figure("on time %");
        assert_eq!((on_time.median, on_time.worst), (99.8, 99.0));
        assert!((on_time.spread - 1.0).abs() < 1e-9);
        let late = figure("late after a switch");
        assert_eq!((late.median, late.worst, late.spread), (1.0, 5.0, 5.0));
    }
}
