//! `dysr bench soak`: the demo in a loop through the real pipeline with the adaptive ladder, for
//! minutes or hours, while the injected load changes every few seconds, a seek lands every ten
//! and the mode turns (adaptive, a locked rung, bicubic) every half minute. Every second it samples
//! resident memory, the model's memory, threads and open files; a watchdog fails the run when no
//! frame is presented for five seconds. The warm-up tours every path once (the top rung, bicubic,
//! the smallest rung, adaptive). The verdict compares the end with the state after the warm-up:
//! memory may not grow by 5% or more, threads and open files may not grow at all.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::BenchError;
use crate::adaptation::adaptive::adaptive_factory;
use crate::adaptation::{Adaptation, Mode};
use crate::media::PipelineEvent;
use crate::player::{AudioMode, Player, PlayerOptions};
use crate::plot::{Panel, Series, stacked_line_charts};

/// No frame presented for this long while playing fails the run.
pub const WATCHDOG: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
const LOAD_EVERY: Duration = Duration::from_secs(3);
const SEEK_EVERY: Duration = Duration::from_secs(10);
const MODE_EVERY: Duration = Duration::from_secs(30);
/// The largest growth of resident memory after the warm-up that passes.
const MAX_GROWTH_PERCENT: f64 = 5.0;

#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub input: String,
    pub manifest: PathBuf,
    pub duration: Duration,
    /// Growth is measured from the end of this.
    pub warm_up: Duration,
    pub load_threads: usize,
    /// Where `soak.csv` and `soak.png` go.
    pub out: PathBuf,
    pub seed: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SoakSample {
    pub at_secs: f64,
    pub rss_mib: f64,
    pub model_mib: f64,
    pub threads: u64,
    pub open_files: u64,
    pub frames_presented: u64,
    pub load_percent: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub secs: f64,
    pub frames_presented: u64,
    pub frames_dropped: u64,
    pub switches: usize,
    pub seeks: usize,
    pub mode_changes: usize,
    /// Resident memory at the end against the end of the warm-up, in %.
    pub rss_growth_percent: f64,
    /// Threads and open files at the end of the warm-up and at the end.
    pub threads: (u64, u64),
    pub open_files: (u64, u64),
    /// The longest time no frame was presented while playing.
    pub longest_stall_secs: f64,
    pub passed: bool,
    #[serde(skip)]
    pub samples: Vec<SoakSample>,
}

/// Runs the soak as `config` says; an error when the pipeline fails or stalls past the watchdog.
pub fn run(config: &SoakConfig) -> Result<SoakReport, BenchError> {
    std::fs::create_dir_all(&config.out).map_err(BenchError::io(&config.out))?;
    let (factory, adaptation) = adaptive_factory(&config.manifest, Mode::Adaptive, None, config.load_threads)?;
    let rungs = adaptation.levels.len() - 1;
    let options =
        PlayerOptions { audio: AudioMode::Silent, looping: true, upscaler: Some(factory), ..Default::default() };
    let mut player = Player::open(&config.input, options)?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let started = Instant::now();
    // The warm-up tours every path once (the top rung, bicubic, the smallest rung, adaptive), so
    // what grows after it is growth, not the first use of a path's buffers and queues.
    let tour = [Mode::Locked(rungs - 1), Mode::Bicubic, Mode::Locked(0), Mode::Adaptive];
    let tour_step = config.warm_up / (tour.len() as u32 + 1);
    let mut tour_left = tour.iter();
    let (mut next_sample, mut next_load, mut next_seek) = (started, started + LOAD_EVERY, started + SEEK_EVERY);
    let mut next_mode = if tour_step.is_zero() { started + MODE_EVERY } else { started + tour_step };
    let (mut seeks, mut mode_changes) = (0, 0);
    let mut samples = Vec::new();
    let (mut presented, mut last_progress, mut longest_stall) = (0, started, Duration::ZERO);
    while started.elapsed() < config.duration {
        let now = Instant::now();
        let wait = player.update(now);
        for event in player.take_events() {
            if let PipelineEvent::Fatal(cause) = event {
                return Err(BenchError::Soak { cause });
            }
        }
        let telemetry = player.telemetry();
        if telemetry.frames_presented > presented {
            presented = telemetry.frames_presented;
            last_progress = now;
        }
        longest_stall = longest_stall.max(now.duration_since(last_progress));
        if longest_stall > WATCHDOG {
            return Err(BenchError::Soak {
                cause: format!(
                    "no frame presented for {:.1} s at {:.0} s",
                    longest_stall.as_secs_f64(),
                    started.elapsed().as_secs_f64()
                ),
            });
        }
        if now >= next_load {
            adaptation.controls.load.set_level(rng.random_range(0..=9u8) * 10);
            next_load += LOAD_EVERY;
        }
        if now >= next_seek {
            let duration = player.duration_secs().unwrap_or(0.0);
            player.seek(rng.random_range(0.0..duration.max(1.0)));
            seeks += 1;
            // A seek restarts the picture: the watchdog counts from it.
            last_progress = now;
            next_seek += SEEK_EVERY;
        }
        if now >= next_mode {
            mode_changes += 1;
            let touring = !tour_step.is_zero() && now < started + config.warm_up;
            adaptation.controls.set_mode(match (touring.then(|| tour_left.next()).flatten(), mode_changes % 3) {
                (Some(&mode), _) => mode,
                (None, 1) => Mode::Locked(rng.random_range(0..rungs)),
                (None, 2) => Mode::Bicubic,
                (None, _) => Mode::Adaptive,
            });
            next_mode += if touring { tour_step } else { MODE_EVERY };
        }
        if now >= next_sample {
            samples.push(sample(&adaptation, started, presented));
            next_sample += SAMPLE_EVERY;
        }
        match wait {
            Some(wait) if wait.is_zero() => {}
            Some(wait) => std::thread::sleep(wait.min(Duration::from_millis(10))),
            None => player.wait(Duration::from_millis(10)),
        }
    }
    adaptation.controls.load.set_level(0);
    let telemetry = player.telemetry();
    samples.push(sample(&adaptation, started, telemetry.frames_presented));
    let report = verdict(
        config,
        samples,
        telemetry.frames_presented,
        telemetry.frames_dropped_early + telemetry.frames_dropped_late,
        &adaptation,
        (seeks, mode_changes),
        longest_stall,
    );
    write_outputs(config, &report)?;
    Ok(report)
}

fn sample(adaptation: &Adaptation, started: Instant, frames_presented: u64) -> SoakSample {
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    SoakSample {
        at_secs: started.elapsed().as_secs_f64(),
        rss_mib: mib(crate::host::rss_bytes().unwrap_or(0)),
        model_mib: mib(adaptation.statistics.model_bytes() as u64),
        threads: crate::host::thread_count().unwrap_or(0),
        open_files: crate::host::open_file_count().unwrap_or(0),
        frames_presented,
        load_percent: adaptation.controls.load.level(),
    }
}

/// The report of a run whose per-second `samples` these are.
fn verdict(
    config: &SoakConfig,
    samples: Vec<SoakSample>,
    frames_presented: u64,
    frames_dropped: u64,
    adaptation: &Adaptation,
    (seeks, mode_changes): (usize, usize),
    longest_stall: Duration,
) -> SoakReport {
    let warm =
        samples.iter().find(|sample| sample.at_secs >= config.warm_up.as_secs_f64()).or(samples.first()).copied();
    let last = samples.last().copied();
    let (rss_growth_percent, threads, open_files) = match (warm, last) {
        (Some(warm), Some(last)) => (
            100.0 * (last.rss_mib - warm.rss_mib) / warm.rss_mib.max(1.0),
            (warm.threads, last.threads),
            (warm.open_files, last.open_files),
        ),
        _ => (0.0, (0, 0), (0, 0)),
    };
    let passed = rss_growth_percent < MAX_GROWTH_PERCENT
        && threads.1 <= threads.0
        && open_files.1 <= open_files.0
        && longest_stall <= WATCHDOG;
    SoakReport {
        secs: samples.last().map_or(0.0, |sample| sample.at_secs),
        frames_presented,
        frames_dropped,
        switches: adaptation.statistics.switches().len(),
        seeks,
        mode_changes,
        rss_growth_percent,
        threads,
        open_files,
        longest_stall_secs: longest_stall.as_secs_f64(),
        passed,
        samples,
    }
}

/// `soak.csv` (a row a second) and `soak.png` (memory, threads and files over time).
fn write_outputs(config: &SoakConfig, report: &SoakReport) -> Result<(), BenchError> {
    let mut csv = String::from("secs,rss_mib,model_mib,threads,open_files,frames_presented,load_percent\n");
    for s in &report.samples {
        csv += &format!(
            "{:.1},{:.1},{:.2},{},{},{},{}\n",
            s.at_secs, s.rss_mib, s.model_mib, s.threads, s.open_files, s.frames_presented, s.load_percent
        );
    }
    let path = config.out.join("soak.csv");
    std::fs::write(&path, csv).map_err(BenchError::io(&path))?;
    let series = |name: &str, value: fn(&SoakSample) -> f64| Series {
        name: name.to_owned(),
        points: report.samples.iter().map(|s| (s.at_secs, value(s))).collect(),
    };
    let panels = [
        Panel {
            y_label: "MiB".to_owned(),
            series: vec![series("resident", |s| s.rss_mib), series("model state", |s| s.model_mib)],
        },
        Panel {
            y_label: "count".to_owned(),
            series: vec![series("threads", |s| s.threads as f64), series("open files", |s| s.open_files as f64)],
        },
        Panel { y_label: "load %".to_owned(), series: vec![series("injected load", |s| f64::from(s.load_percent))] },
    ];
    stacked_line_charts(
        &config.out.join("soak.png"),
        "dysr bench soak: memory, threads and files over time",
        "seconds",
        &panels,
    )?;
    Ok(())
}
