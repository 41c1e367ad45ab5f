//! `dysr play`: the player window, or a headless run that prints a one-line JSON summary.

use std::path::PathBuf;

use clap::Args;

use crate::engine::adapter::hardware_adapter_name;
use crate::engine::neural::rung_factory;
use crate::runtime::Mode;
use crate::runtime::adaptive::adaptive_factory;
use crate::model::device::DeviceChoice;
use crate::model::manifest::default_manifest_path;

use crate::player::{AudioMode, PlayerOptions, headless};
use crate::ui::{RendererChoice, WindowOptions};

#[derive(Debug, Clone, Args)]
pub struct PlayArgs {
    /// Video file or URL (default: the bundled demo clip).
    pub input: Option<String>,
    /// No window: play to the end and print a JSON summary on stdout.
    #[arg(long)]
    pub headless: bool,
    /// Ignore the clock and show every frame as soon as it is ready (a throughput benchmark).
    #[arg(long)]
    pub no_sync: bool,
    /// Start again from the beginning at the end of the stream (window only).
    #[arg(long = "loop")]
    pub looping: bool,
    /// Sound output: the default sound card, or the silent real-time clock.
    #[arg(long, value_enum, default_value_t)]
    pub audio: AudioMode,
    /// Volume from 0 to 100.
    #[arg(long, default_value_t = 100.0, value_parser = parse_volume)]
    pub volume: f32,
    /// What the window draws with.
    #[arg(long, value_enum, default_value_t)]
    pub renderer: RendererChoice,
    /// Open the window with the stats panel shown (key i toggles it).
    #[arg(long)]
    pub stats: bool,
    /// Lock the upscaling to this rung of the model's ladder (0 = cheapest) instead of adapting.
    #[arg(long, conflicts_with = "bicubic")]
    pub rung: Option<usize>,
    /// Plain bicubic upscaling, no network.
    #[arg(long)]
    pub bicubic: bool,
    /// Where the network runs: a hardware GPU (burn wgpu; with --rung), the CPU kernels, or auto
    /// (a hardware GPU when there is one).
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
    /// The framerate to hold (default: the stream's).
    #[arg(long, value_parser = parse_fps)]
    pub target_fps: Option<f64>,
    /// Artificial CPU load from the start, 0 to 100 (the panel's slider changes it).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub load: u8,
    /// Threads the load injector runs (default: one per core).
    #[arg(long)]
    pub load_threads: Option<usize>,
    /// Start with the split view: bicubic left of a draggable divider, DySR right of it.
    #[arg(long)]
    pub split: bool,
    /// The model manifest (with --rung).
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
}

fn parse_fps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(fps) if fps > 0.0 && fps <= 1000.0 => Ok(fps),
        _ => Err(format!("'{text}' is not a framerate from 0 to 1000")),
    }
}

fn parse_volume(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(volume) if (0.0..=100.0).contains(&volume) => Ok(volume),
        _ => Err(format!("'{text}' is not a volume from 0 to 100")),
    }
}

pub fn run(args: PlayArgs) -> anyhow::Result<()> {
    let input = args.input.unwrap_or_else(super::demo_clip_path);
    // Only a locked rung can run on the GPU, so only then is there a GPU to look for.
    let on_gpu = args.rung.is_some() && (args.device == DeviceChoice::Gpu || (args.device == DeviceChoice::Auto && hardware_adapter_name().is_some()));
    let (upscaler, adaptation) = match (args.rung, on_gpu) {
        // A locked rung on the GPU; the ladder adapts on the CPU kernels.
        (Some(rung), true) => (Some(rung_factory(&args.manifest, rung, args.device).map_err(anyhow::Error::msg)?), None),
        _ => {
            let mode = match (args.rung, args.bicubic) {
                (Some(rung), _) => Mode::Locked(rung),
                (None, true) => Mode::Bicubic,
                (None, false) => Mode::Adaptive,
            };
            let load_threads = args.load_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let (factory, adaptation) = adaptive_factory(&args.manifest, mode, args.target_fps, load_threads).map_err(anyhow::Error::msg)?;
            adaptation.load.set_level(args.load);
            if args.split {
                adaptation.set_split(Some(0.5));
            }
            (Some(factory), Some(adaptation))
        }
    };
    let options = PlayerOptions {
        audio: args.audio,
        no_sync: args.no_sync,
        looping: args.looping,
        volume_level: args.volume / 100.0,
        wake: None,
        upscaler,
    };
    if args.headless {
        let summary = headless::run(&input, options)?;
        let mut json = serde_json::to_value(&summary)?;
        if let Some(adaptation) = &adaptation {
            json["switches"] = serde_json::to_value(adaptation.switches())?;
        }
        println!("{json}");
        return Ok(());
    }
    let window = WindowOptions { renderer: args.renderer, show_stats: args.stats, adaptation };
    crate::ui::run_window(Some(input), options, window).map_err(anyhow::Error::msg)
}
