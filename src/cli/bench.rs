//! `dysr bench`: measured speed. `rungs` times every rung of the ladder on the inference engine
//! against the machine's FMA peak and ONNX Runtime running the same architectures.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::adaptation::load::default_profile;
use crate::bench::adapt::{BenchConfig, Strategy, StrategySummary, repeated};
use crate::bench::rungs::RungsConfig;
use crate::bench::soak::SoakConfig;
use crate::engine::cpu::kernels::Isa;
use crate::model::device::DeviceChoice;
use crate::model::evaluate::{Method, default_validation_dir, evaluate, load_validation};
use crate::model::manifest::default_manifest_path;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Every rung of the ladder: ms per frame, frames/s, GFLOP/s and share of the FMA peak, the
    /// whole frame (with YUV to RGBA), and ONNX Runtime on the same architectures.
    Rungs(RungsArgs),
    /// The demo played at real time under a load profile, once per strategy: a CSV trace per
    /// strategy, a summary table and a PNG plot.
    Adapt(AdaptArgs),
    /// The demo in a loop for minutes under changing load, seeks and mode changes: memory,
    /// threads and open files every second, a watchdog on stalls, and a verdict.
    Soak(SoakArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Video to loop (default: the bundled demo clip).
    pub input: Option<String>,
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    /// How long to run, in minutes (fractions allowed).
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Memory growth is measured from the end of this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub warm_up_secs: f64,
    /// Load-injector threads (default: one per core).
    #[arg(long)]
    pub load_threads: Option<usize>,
    /// Folder for soak.csv and soak.png.
    #[arg(long, default_value = "soak-out")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct AdaptArgs {
    /// Video to play (default: the bundled demo clip).
    pub input: Option<String>,
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    /// Strategies, comma-separated: adaptive, reload, assemble, static:K, static:top, static:smallest.
    #[arg(long, value_delimiter = ',', default_value = "adaptive,reload,assemble,static:smallest,static:3,static:top")]
    pub strategies: Vec<String>,
    /// Peak of the load profile (idle 5 s, a step to the peak 5 s, idle 5 s, a ramp to the peak 5 s), in %.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub peak_load: u8,
    /// Seconds of each of the profile's four phases.
    #[arg(long, default_value_t = 5.0, value_parser = super::positive::<f64>)]
    pub phase_secs: f64,
    /// Load-injector threads (default: one per core).
    #[arg(long)]
    pub load_threads: Option<usize>,
    /// Folder for the traces, the summary and the plot.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// The same clip at twice the size, for PSNR of the output (default for the demo: its 720p
    /// version in assets/).
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Measure PSNR against the reference on every Nth frame.
    #[arg(long, default_value_t = 12)]
    pub psnr_every: usize,
    /// Run the whole bench this many times (each into `OUT/run-K`) and summarise each strategy's
    /// figures over the runs: median, worst and spread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Where the ladder runs (and the load with it): the CPU kernels, or a hardware GPU (dysr's
    /// kernels, loaded by a compute kernel on the same device).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
}

#[derive(Debug, Clone, Args)]
pub struct RungsArgs {
    /// Low-resolution frame size, WxH.
    #[arg(long, default_value = "640x360", value_parser = super::parse_size::<usize>)]
    pub size: (usize, usize),
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    /// Timed runs per rung (the median is reported), after a few untimed ones.
    #[arg(long, default_value_t = 50, value_parser = super::at_least_one)]
    pub runs: usize,
    /// Kernel threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Kernel instruction set (default: the best this CPU has).
    #[arg(long, value_enum)]
    pub isa: Option<IsaArg>,
    /// Where the rungs run: the CPU kernels, a hardware GPU (dysr's kernels beside burn's conv2d),
    /// or auto.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Skip the ONNX Runtime comparison.
    #[arg(long)]
    pub no_ort: bool,
    /// Also write the table as CSV to this file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum IsaArg {
    Avx512,
    Avx2,
    Portable,
}

impl From<IsaArg> for Isa {
    fn from(arg: IsaArg) -> Isa {
        match arg {
            IsaArg::Avx512 => Isa::Avx512,
            IsaArg::Avx2 => Isa::Avx2Fma,
            IsaArg::Portable => Isa::Portable,
        }
    }
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Rungs(args) => rungs(args),
        BenchCommand::Adapt(args) => adapt(args),
        BenchCommand::Soak(args) => soak(args),
    }
}

fn rungs(args: RungsArgs) -> anyhow::Result<()> {
    if args.device == DeviceChoice::Gpu {
        crate::adaptation::sr_gpu(args.device).map_err(super::engine_error)?;
    }
    let config = RungsConfig {
        size: args.size,
        manifest: args.manifest,
        runs: args.runs,
        threads: args.threads.unwrap_or_else(crate::host::cores),
        isa: args.isa.map_or_else(Isa::detect, Isa::from),
        device: args.device,
        ort: !args.no_ort,
        csv: args.csv,
    };
    crate::bench::rungs::run(&config).map_err(anyhow::Error::msg)
}

fn soak(args: SoakArgs) -> anyhow::Result<()> {
    if !(args.minutes > 0.0 && args.warm_up_secs >= 0.0) {
        anyhow::bail!("--minutes must be positive and --warm-up-secs not negative");
    }
    let config = SoakConfig {
        input: args.input.unwrap_or_else(super::demo_clip_path),
        manifest: args.manifest,
        duration: std::time::Duration::from_secs_f64(args.minutes * 60.0),
        warm_up: std::time::Duration::from_secs_f64(args.warm_up_secs),
        load_threads: args.load_threads.unwrap_or_else(crate::host::cores),
        out: args.out,
        seed: 1,
    };
    let report = crate::bench::soak::run(&config).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&report)?);
    println!(
        "{:.0} s: {} frames presented, {} dropped, {} switches, {} seeks, {} mode changes; resident memory {:+.1}% after the warm-up, threads {} -> {}, open files {} -> {}, longest stall {:.2} s: {}",
        report.secs,
        report.frames_presented,
        report.frames_dropped,
        report.switches,
        report.seeks,
        report.mode_changes,
        report.rss_growth_percent,
        report.threads.0,
        report.threads.1,
        report.open_files.0,
        report.open_files.1,
        report.longest_stall_secs,
        if report.passed { "passed" } else { "FAILED" }
    );
    println!("soak.csv and soak.png in {}", config.out.display());
    if !report.passed {
        anyhow::bail!("soak failed: memory grew by 5% or more, or threads or open files grew");
    }
    Ok(())
}

fn adapt(args: AdaptArgs) -> anyhow::Result<()> {
    let strategies = args
        .strategies
        .iter()
        .map(|text| Strategy::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let images = load_validation(&default_validation_dir()).map_err(anyhow::Error::msg)?;
    let reference = args.reference.or_else(|| {
        args.input
            .is_none()
            .then(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bbb-meadow-720p.mp4")))
            .filter(|path| path.is_file())
    });
    let config = BenchConfig {
        reference,
        psnr_every: args.psnr_every.max(1),
        input: args.input.unwrap_or_else(super::demo_clip_path),
        manifest: args.manifest,
        strategies,
        profile: default_profile(f64::from(args.peak_load), args.phase_secs),
        load_threads: args.load_threads.unwrap_or_else(crate::host::cores),
        out: args.out,
        floor_psnr_y: evaluate(&Method::Bicubic, &images).psnr_y,
        gpu: crate::adaptation::sr_gpu(args.device).map_err(super::engine_error)?,
    };
    let mut runs = Vec::new();
    for run in 1..=args.repeat {
        let config = BenchConfig {
            out: if args.repeat > 1 { config.out.join(format!("run-{run}")) } else { config.out.clone() },
            ..config.clone()
        };
        if args.repeat > 1 {
            println!("run {run} of {}", args.repeat);
        }
        let summaries = crate::bench::adapt::run(&config).map_err(anyhow::Error::msg)?;
        print_summaries(&summaries, &config);
        runs.push(summaries);
    }
    if args.repeat > 1 {
        print_repeated(&runs, &config.out)?;
    }
    Ok(())
}

/// Each strategy's figures over repeated runs, printed and written to `OUT/repeat.csv`.
fn print_repeated(runs: &[Vec<StrategySummary>], out: &std::path::Path) -> anyhow::Result<()> {
    println!("over {} runs (median / worst, spread):", runs.len());
    let mut csv = String::from("strategy,figure,median,worst,spread\n");
    for (strategy, figures) in repeated(runs) {
        let cells: Vec<String> = figures
            .iter()
            .map(|f| format!("{} {:.2} / {:.2} ({:.2})", f.figure, f.median, f.worst, f.spread))
            .collect();
        println!("{strategy:<16} {}", cells.join("  |  "));
        for f in figures {
            csv += &format!("{strategy},{},{:.4},{:.4},{:.4}\n", f.figure, f.median, f.worst, f.spread);
        }
    }
    let path = out.join("repeat.csv");
    std::fs::write(&path, csv).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// One run's table, its per-phase rows and the quality claim.
fn print_summaries(summaries: &[StrategySummary], config: &BenchConfig) {
    println!(
        "{:<12} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>11} {:>11} {:>11} {:>10} {:>10} {:>9} {:>10}",
        "strategy",
        "frames",
        "dropped",
        "fps",
        "1% low",
        "on time",
        "switches",
        "switch ms",
        "late@switch",
        "worst frame",
        "val PSNR",
        "ref PSNR",
        "peak RSS",
        "model state"
    );
    for s in summaries {
        println!(
            "{:<12} {:>6} {:>7} {:>6.2} {:>7.2} {:>7.1}% {:>8} {:>11.3} {:>11} {:>8.1} ms {:>7.3} dB {:>10} {:>5.0} MiB {:>6.1} MiB",
            s.strategy,
            s.frames,
            s.frames_dropped,
            s.fps_mean,
            s.fps_1_percent_low,
            s.on_time_percent,
            s.switches,
            s.worst_switch_ready_ms,
            s.frames_late_after_switches,
            s.worst_frame_ms,
            s.mean_psnr_y,
            s.mean_psnr_reference.map_or_else(|| "-".to_owned(), |p| format!("{p:.3} dB")),
            s.peak_rss_mib,
            s.peak_model_mib
        );
    }
    let basis = if config.reference.is_some() { "against the reference" } else { "the levels' validation PSNR" };
    println!("per load phase (% on time / mean PSNR-Y, {basis}):");
    for s in summaries {
        let phases: Vec<String> = s
            .phases
            .iter()
            .map(|(on_time, psnr)| {
                format!("{on_time:5.1}% {}", psnr.map_or_else(|| "  -   ".to_owned(), |p| format!("{p:.3}")))
            })
            .collect();
        println!("{:<16} {}", s.strategy, phases.join("  |  "));
    }
    // The quality claim: adaptive against the best static rung that held the deadline in each phase
    // (99% of its frames on time; failing that, the static rung most often on time), among those
    // that upscaled a frame in it.
    if let Some(adaptive) = summaries.iter().find(|s| s.strategy == "adaptive") {
        let statics: Vec<&StrategySummary> = summaries.iter().filter(|s| s.strategy.starts_with("static:")).collect();
        for (phase, (_, adaptive_psnr)) in adaptive.phases.iter().enumerate() {
            let Some(adaptive_psnr) = adaptive_psnr else { continue };
            let scored = || statics.iter().filter_map(|s| s.phases[phase].1.map(|psnr| (s, s.phases[phase].0, psnr)));
            let held = scored().filter(|(_, on_time, _)| *on_time >= 99.0).max_by(|a, b| a.2.total_cmp(&b.2));
            match held.or_else(|| scored().max_by(|a, b| a.1.total_cmp(&b.1))) {
                Some((best, on_time, psnr)) => println!(
                    "phase {phase}: adaptive {adaptive_psnr:.3} dB vs {} {psnr:.3} dB ({on_time:.1}% on time): {:+.3} dB",
                    best.strategy,
                    adaptive_psnr - psnr
                ),
                None => println!("phase {phase}: adaptive {adaptive_psnr:.3} dB; no static rung upscaled a frame"),
            }
        }
    }
    println!("traces, summary.csv and adaptation.png in {}", config.out.display());
}
