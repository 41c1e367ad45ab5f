//! `dysr play`: the player window, or a headless run that prints a one-line JSON summary.

use std::path::PathBuf;

use clap::Args;

use crate::engine::neural::rung_factory;
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
    /// Upscale with this rung of the model's ladder (0 = cheapest), instead of plain bicubic.
    #[arg(long)]
    pub rung: Option<usize>,
    /// Where the rung runs: a hardware GPU (burn wgpu), the CPU kernels, or auto (a hardware GPU
    /// when there is one).
    #[arg(long, value_enum, default_value_t, requires = "rung")]
    pub device: DeviceChoice,
    /// The model manifest (with --rung).
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
}

fn parse_volume(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(volume) if (0.0..=100.0).contains(&volume) => Ok(volume),
        _ => Err(format!("'{text}' is not a volume from 0 to 100")),
    }
}

pub fn run(args: PlayArgs) -> anyhow::Result<()> {
    let input = args.input.unwrap_or_else(super::demo_clip_path);
    let options = PlayerOptions {
        audio: args.audio,
        no_sync: args.no_sync,
        looping: args.looping,
        volume_level: args.volume / 100.0,
        wake: None,
        upscaler: args.rung.map(|rung| rung_factory(&args.manifest, rung, args.device)).transpose().map_err(anyhow::Error::msg)?,
    };
    if args.headless {
        let summary = headless::run(&input, options)?;
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    let window = WindowOptions { renderer: args.renderer, show_stats: args.stats };
    crate::ui::run_window(Some(input), options, window).map_err(anyhow::Error::msg)
}
