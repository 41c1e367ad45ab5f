//! `dysr bench`: measured speed. `rungs` times every rung of the ladder on the inference engine
//! against the machine's FMA peak and ONNX Runtime running the same architectures.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::engine::bench::{gflops, gradient_frame, median_ms, ort_medians};
use crate::engine::cpu::PackedNetwork;
use crate::engine::cpu::kernels::{Isa, fma_peak_gflops};
use crate::engine::cpu::network::NetworkRunner;
use crate::engine::neural::{EngineFactory, NeuralUpscaler, engine_factory};
use crate::model::device::{DeviceChoice, select};
use crate::engine::{SCALE, Upscaler};
use crate::model::evaluate::{Method, default_validation_dir, evaluate, load_validation};
use crate::model::manifest::{Manifest, default_manifest_path};
use crate::runtime::bench::{BenchConfig, Strategy, StrategySummary, default_profile};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Every rung of the ladder: ms per frame, frames/s, GFLOP/s and share of the FMA peak, the
    /// whole frame (with YUV to RGBA), and ONNX Runtime on the same architectures.
    Rungs(RungsArgs),
    /// The demo played at real time under a load profile, once per strategy: a CSV trace per
    /// strategy, a summary table and a PNG plot.
    Adapt(AdaptArgs),
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
    #[arg(long, default_value_t = 5.0)]
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
}

#[derive(Debug, Clone, Args)]
pub struct RungsArgs {
    /// Low-resolution frame size, WxH.
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    pub size: (usize, usize),
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    /// Timed runs per rung (the median is reported), after a few untimed ones.
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    /// Kernel threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Kernel instruction set (default: the best this CPU has).
    #[arg(long, value_enum)]
    pub isa: Option<IsaArg>,
    /// Where the rungs run: the CPU kernels, a hardware GPU (burn wgpu), or auto.
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

pub fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (width, height) = text.split_once(['x', 'X']).ok_or_else(|| format!("{text}: expected WxH, e.g. 640x360"))?;
    let parse = |v: &str| v.trim().parse::<usize>().ok().filter(|&n| n > 0 && n <= 16384);
    match (parse(width), parse(height)) {
        (Some(width), Some(height)) => Ok((width, height)),
        _ => Err(format!("{text}: width and height must be whole numbers from 1 to 16384")),
    }
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Rungs(args) => rungs(args),
        BenchCommand::Adapt(args) => adapt(args),
    }
}

struct Row {
    name: String,
    spec: String,
    macs: usize,
    network_ms: f64,
    frame_ms: f64,
    ort_ms: Option<f64>,
}

fn rungs(args: RungsArgs) -> anyhow::Result<()> {
    let isa = args.isa.map_or_else(Isa::detect, Isa::from);
    if !isa.is_supported() {
        anyhow::bail!("--isa {}: this CPU does not support it", isa.name());
    }
    if args.device == DeviceChoice::Gpu {
        select(DeviceChoice::Gpu).map_err(anyhow::Error::msg)?;
    }
    let threads = args.threads.unwrap_or_else(|| crate::host::cores()).max(1);
    let model = Manifest::load_with_weights(&args.manifest, &burn::prelude::Device::flex())?;
    let (width, height) = args.size;
    let pixels = width * height;
    let peak_of = |isa: Isa| fma_peak_gflops(isa, threads, 200_000_000 / threads);
    let peak = peak_of(Isa::detect());
    println!(
        "{width}x{height} -> {}x{}, {threads} threads, {} kernels; FMA peak {peak:.1} GFLOP/s ({} on {threads} threads)",
        width * SCALE as usize,
        height * SCALE as usize,
        isa.name(),
        Isa::detect().name()
    );
    if isa != Isa::detect() {
        println!("FMA peak of the {} path: {:.1} GFLOP/s (the 'peak' column stays the machine's)", isa.name(), peak_of(isa));
    }
    let ort = if args.no_ort {
        Err("skipped (--no-ort)".to_owned())
    } else {
        ort_medians(&args.manifest, args.size, threads, args.runs)
    };
    if let Err(why) = &ort {
        println!("ONNX Runtime: none ({why}; `make bench-deps` installs it)");
    }
    let frame = gradient_frame(width as u32, height as u32);
    let mut rows = Vec::new();
    for rung in &model.manifest.ladder {
        let network = Arc::new(PackedNetwork::from_supernet(&model.supernet, rung.spec, isa));
        let macs = network.macs_per_pixel();
        let engines: EngineFactory = match args.device {
            DeviceChoice::Cpu => Arc::new(move || Box::new(NetworkRunner::new(Arc::clone(&network), threads))),
            device => engine_factory(&model.supernet, rung.spec, device).map_err(anyhow::Error::msg)?,
        };
        let mut engine = engines();
        if rows.is_empty() {
            println!("engine: {}", engine.describe());
        }
        engine.prepare(width, height);
        let mut output = vec![0.0; pixels * 4];
        let network_ms = median_ms(5, args.runs, || engine.run(&mut output));
        let mut upscaler = NeuralUpscaler::new(engines(), &rung.name);
        let frame_ms = median_ms(5, args.runs, || {
            upscaler.upscale(&frame).expect("a YUV 4:2:0 frame converts");
        });
        let ort_ms = ort.as_ref().ok().and_then(|medians| medians.iter().find(|(name, _)| *name == rung.name).map(|(_, ms)| *ms));
        rows.push(Row { name: rung.name.clone(), spec: rung.spec.to_string(), macs, network_ms, frame_ms, ort_ms });
    }
    println!(
        "{:<4} {:<6} {:>7} {:>9} {:>8} {:>9} {:>6} {:>10} {:>9} {:>8} {:>8}",
        "rung", "spec", "MACs/px", "SR ms", "SR fps", "GFLOP/s", "peak", "+colour ms", "frame fps", "ORT ms", "ours/ORT"
    );
    let mut csv = String::from("rung,spec,macs_per_pixel,sr_ms,sr_fps,gflops,peak_share,frame_ms,frame_fps,ort_ms,ratio_to_ort\n");
    for row in &rows {
        let rate = gflops(row.macs, pixels, row.network_ms);
        let ratio = row.ort_ms.map(|ort| row.network_ms / ort);
        let optional = |value: Option<f64>, digits: usize| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"));
        println!(
            "{:<4} {:<6} {:>7} {:>9.2} {:>8.1} {:>9.1} {:>5.0}% {:>10.2} {:>9.1} {:>8} {:>8}",
            row.name,
            row.spec,
            row.macs,
            row.network_ms,
            1e3 / row.network_ms,
            rate,
            100.0 * rate / peak,
            row.frame_ms,
            1e3 / row.frame_ms,
            optional(row.ort_ms, 2),
            optional(ratio, 2)
        );
        csv.push_str(&format!(
            "{},{},{},{:.3},{:.2},{:.2},{:.4},{:.3},{:.2},{},{}\n",
            row.name,
            row.spec,
            row.macs,
            row.network_ms,
            1e3 / row.network_ms,
            rate,
            rate / peak,
            row.frame_ms,
            1e3 / row.frame_ms,
            optional(row.ort_ms, 3),
            optional(ratio, 3)
        ));
    }
    if let Some(path) = args.csv {
        std::fs::write(&path, csv).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn adapt(args: AdaptArgs) -> anyhow::Result<()> {
    let strategies = args.strategies.iter().map(|text| Strategy::parse(text)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
    let images = load_validation(&default_validation_dir()).map_err(anyhow::Error::msg)?;
    let reference = args.reference.or_else(|| {
        args.input.is_none().then(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bbb-meadow-720p.mp4"))).filter(|path| path.is_file())
    });
    let config = BenchConfig {
        reference,
        psnr_every: args.psnr_every.max(1),
        input: args.input.unwrap_or_else(super::demo_clip_path),
        manifest: args.manifest,
        strategies,
        profile: default_profile(f64::from(args.peak_load), args.phase_secs),
        load_threads: args.load_threads.unwrap_or_else(|| crate::host::cores()),
        out: args.out,
        floor_psnr_y: evaluate(&Method::Bilinear, &images).psnr_y,
    };
    let summaries = crate::runtime::bench::run(&config).map_err(anyhow::Error::msg)?;
    println!(
        "{:<12} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>11} {:>11} {:>11} {:>10} {:>10} {:>9} {:>10}",
        "strategy", "frames", "dropped", "fps", "1% low", "on time", "switches", "switch ms", "late@switch", "worst frame", "val PSNR", "ref PSNR", "peak RSS", "model state"
    );
    for s in &summaries {
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
    for s in &summaries {
        let phases: Vec<String> = s.phases.iter().map(|(on_time, psnr)| format!("{on_time:5.1}% {psnr:.3}")).collect();
        println!("{:<16} {}", s.strategy, phases.join("  |  "));
    }
    // The quality claim: adaptive against the best static rung that held the deadline in each phase
    // (99% of its frames on time; failing that, the static rung most often on time).
    if let Some(adaptive) = summaries.iter().find(|s| s.strategy == "adaptive") {
        let statics: Vec<&StrategySummary> = summaries.iter().filter(|s| s.strategy.starts_with("static:")).collect();
        for (phase, (_, adaptive_psnr)) in adaptive.phases.iter().enumerate() {
            let held = statics.iter().filter(|s| s.phases[phase].0 >= 99.0).max_by(|a, b| a.phases[phase].1.total_cmp(&b.phases[phase].1));
            let best = held.or_else(|| statics.iter().max_by(|a, b| a.phases[phase].0.total_cmp(&b.phases[phase].0)));
            if let Some(best) = best {
                let (on_time, psnr) = best.phases[phase];
                println!("phase {phase}: adaptive {adaptive_psnr:.3} dB vs {} {psnr:.3} dB ({on_time:.1}% on time): {:+.3} dB", best.strategy, adaptive_psnr - psnr);
            }
        }
    }
    println!("traces, summary.csv and adaptation.png in {}", config.out.display());
    Ok(())
}
