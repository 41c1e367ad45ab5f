//! `dysr play`: the player window, or a headless run that prints a one-line JSON summary.

use std::path::PathBuf;

use clap::Args;

use crate::adaptation::{Adaptation, Mode, upscaler_for};
use crate::engine::view::{DEFAULT_SR_THRESHOLD, ViewTarget};
use crate::engine::{EngineError, UpscalerFactory};
use crate::model::device::{DeviceChoice, GpuContext};
use crate::model::manifest::default_manifest_path;
use crate::player::{AudioMode, PlayerOptions, headless};
use crate::ui::{TimedRun, WindowOptions};

#[derive(Debug, Clone, Args)]
pub struct PlayArgs {
    /// Video files, folders (their videos in name order), M3U playlists or URLs, played one after
    /// another (default: the bundled demo clip)
    pub inputs: Vec<String>,
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
    /// Playback speed from 0.25 to 4, the sound's pitch kept (keys [ ] { } and Backspace change it).
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Play the sound this many seconds later than the picture (negative: earlier), for inputs
    /// muxed out of step (Ctrl + and Ctrl - change it by 0.1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = parse_audio_delay)]
    pub audio_delay: f64,
    /// Start each input here: seconds, MM:SS or HH:MM:SS (fractions allowed; negative: before
    /// the end, as -30 or -1:00).
    #[arg(long, value_name = "TIME", allow_negative_numbers = true, value_parser = super::parse_time)]
    pub start: Option<f64>,
    /// The on-screen size a headless run plans for, WxH (default: twice the displayed size).
    #[arg(long, value_parser = super::parse_size::<u32>, requires = "headless")]
    pub view: Option<(u32, u32)>,
    /// The network runs only when the picture is shown at least this many times its size.
    #[arg(long, default_value_t = DEFAULT_SR_THRESHOLD, value_parser = super::positive::<f64>)]
    pub sr_threshold: f64,
    /// The audio track to play, from 1 in file order (default: the best; key # cycles them).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub aid: Option<u16>,
    /// Seconds a network connect or read may wait before the input counts as failed.
    #[arg(long, default_value_t = 10.0, value_parser = parse_timeout)]
    pub network_timeout: f64,
    /// Play in the window for this many seconds (or to the end), then close it and print a JSON
    /// summary (a windowed QA run).
    #[arg(long, conflicts_with = "headless")]
    pub exit_after: Option<f64>,
    /// With --exit-after: save a PNG screenshot of the window here just before it closes.
    #[arg(long, requires = "exit_after")]
    pub screenshot: Option<PathBuf>,
    /// Open the window fullscreen (key f toggles it).
    #[arg(long)]
    pub fullscreen: bool,
    /// Open the window with the stats panel shown (key i toggles it).
    #[arg(long)]
    pub stats: bool,
    /// Lock the upscaling to this rung of the model's ladder (0 = cheapest) instead of adapting.
    #[arg(long, conflicts_with = "bicubic")]
    pub rung: Option<usize>,
    /// Plain bicubic upscaling, no network.
    #[arg(long)]
    pub bicubic: bool,
    /// Where the ladder runs: a hardware GPU (dysr's kernels through wgpu, on the device the window
    /// draws with), the CPU kernels, or auto (a hardware GPU when there is one; never a software
    /// rasterizer).
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
    /// The framerate to hold (default: the stream's).
    #[arg(long, value_parser = parse_fps)]
    pub target_fps: Option<f64>,
    /// Artificial load from the start, 0 to 100, on the device SR runs on (the panel's slider
    /// changes it).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub load: u8,
    /// Let SR use at most this share of each frame interval, in percent (for laptops on battery;
    /// the panel's slider changes it).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(10..=100))]
    pub power_cap: u8,
    /// Threads the CPU load injector runs (default: one per core).
    #[arg(long)]
    pub load_threads: Option<usize>,
    /// Start with the split view: bicubic left of a draggable divider, DySR right of it.
    #[arg(long)]
    pub split: bool,
    /// Write every upscaled frame's telemetry (time, level, SR ms, budget, load) to this CSV file
    /// while playing.
    #[arg(long)]
    pub record_trace: Option<PathBuf>,
    /// Where key s saves the presented frame (PNG) and its JSON sidecar.
    #[arg(long, default_value = ".")]
    pub snapshot_dir: PathBuf,
    /// The model manifest (with --rung).
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
}

fn parse_fps(text: &str) -> Result<f64, String> {
    super::number_that(text, |fps| *fps > 0.0 && *fps <= 1000.0, "a framerate above 0, at most 1000")
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    super::number_that(text, |secs| *secs > 0.0 && *secs <= 3600.0, "a number of seconds above 0, at most 3600")
}

fn parse_speed(text: &str) -> Result<f64, String> {
    use crate::media::clock::{MAX_SPEED, MIN_SPEED};
    super::number_that(
        text,
        |speed| (MIN_SPEED..=MAX_SPEED).contains(speed),
        &format!("from {MIN_SPEED} to {MAX_SPEED}"),
    )
}

fn parse_audio_delay(text: &str) -> Result<f64, String> {
    use crate::media::audio_out::MAX_AUDIO_DELAY_SECS;
    let range = format!("a number of seconds from -{MAX_AUDIO_DELAY_SECS} to {MAX_AUDIO_DELAY_SECS}");
    super::number_that(text, |secs: &f64| secs.abs() <= MAX_AUDIO_DELAY_SECS, &range)
}

fn parse_volume(text: &str) -> Result<f32, String> {
    super::number_that(text, |volume| (0.0..=100.0).contains(volume), "from 0 to 100")
}

pub fn run(args: PlayArgs) -> anyhow::Result<()> {
    let inputs = if args.inputs.is_empty() {
        vec![super::demo_clip_path()]
    } else {
        crate::media::inputs::expand(&args.inputs, std::time::Duration::from_secs_f64(args.network_timeout))?
    };
    if !args.headless && !has_display() {
        anyhow::bail!(
            "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset): play with --headless, or under a virtual display (xvfb-run)"
        );
    }
    let gpu = crate::adaptation::sr_gpu(args.device).map_err(super::engine_error)?;
    let Upscaling { factory: upscaler, adaptation, notice } = upscaler(&args, gpu)?;
    if let Some(notice) = &notice {
        eprintln!("dysr: warning: {notice}");
    }
    if let Some(path) = &args.record_trace {
        let adaptation = adaptation
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--record-trace: there is no ladder to trace (no model)"))?;
        adaptation.write_trace_to(path).map_err(|e| anyhow::anyhow!("--record-trace {}: {e}", path.display()))?;
    }
    let options = PlayerOptions {
        audio: args.audio,
        no_sync: args.no_sync,
        looping: args.looping,
        volume_level: args.volume / 100.0,
        wake: None,
        upscaler,
        view: std::sync::Arc::new(ViewTarget::new(args.view, args.sr_threshold)),
        network_timeout: std::time::Duration::from_secs_f64(args.network_timeout),
        audio_track: args.aid.map(|track| usize::from(track) - 1),
        subtitles: false,
        speed: args.speed,
        audio_delay_secs: args.audio_delay,
        start_secs: args.start,
    };
    let print_summary = |summary: &crate::player::summary::PlaybackSummary| -> anyhow::Result<()> {
        let mut json = serde_json::to_value(summary)?;
        if let Some(adaptation) = &adaptation {
            json["switches"] = serde_json::to_value(adaptation.statistics.switches())?;
        }
        println!("{json}");
        Ok(())
    };
    if args.headless {
        // A summary line per input; one that cannot be played is named on stderr, the rest play.
        let mut failed = Vec::new();
        for input in &inputs {
            match headless::run(input, options.clone()) {
                Ok(summary) => print_summary(&summary)?,
                Err(error) if inputs.len() > 1 => {
                    eprintln!("dysr: {error}");
                    failed.push(input.as_str());
                }
                Err(error) => return Err(error.into()),
            }
        }
        if !failed.is_empty() {
            anyhow::bail!("{} of {} inputs could not be played: {}", failed.len(), inputs.len(), failed.join(", "));
        }
        return Ok(());
    }
    let outcome = std::sync::Arc::default();
    let timed_run = args.exit_after.map(|secs| TimedRun {
        after: std::time::Duration::from_secs_f64(secs.max(0.0)),
        screenshot: args.screenshot.clone(),
        outcome: std::sync::Arc::clone(&outcome),
    });
    let window = WindowOptions {
        fullscreen: args.fullscreen,
        timed_run,
        show_stats: args.stats,
        adaptation: adaptation.clone(),
        notice,
        snapshot_dir: Some(args.snapshot_dir.clone()),
        restore: Some(restore(&args)),
        gpu,
    };
    crate::ui::run_window(inputs, options, window).map_err(anyhow::Error::msg)?;
    if args.exit_after.is_some() {
        let summary = outcome.lock().take().ok_or_else(|| anyhow::anyhow!("the window closed before the run ended"))?;
        print_summary(&summary.map_err(anyhow::Error::msg)?)?;
        if let Some(path) = &args.screenshot {
            eprintln!("screenshot: {}", path.display());
        }
    }
    Ok(())
}

/// The remembered settings this session takes: those its command line does not set itself.
fn restore(args: &PlayArgs) -> crate::ui::settings::Restore {
    crate::ui::settings::Restore {
        volume: args.volume == 100.0,
        upscaling: args.rung.is_none() && !args.bicubic && !args.split && args.power_cap == 100,
        stats: !args.stats,
    }
}

/// Whether a window can open: on Linux, an X11 or Wayland display to open it on.
fn has_display() -> bool {
    !cfg!(target_os = "linux")
        || ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// How the picture is upscaled, as the arguments ask.
struct Upscaling {
    /// None: the plain scaler.
    factory: Option<UpscalerFactory>,
    /// The ladder's state, when there is one.
    adaptation: Option<std::sync::Arc<Adaptation>>,
    /// Why the network is off when its model cannot be loaded (playback goes on without it).
    notice: Option<String>,
}

/// The upscaler the arguments ask for, the ladder on `gpu` when there is one (its output left on
/// the device for the window, which then draws with that device).
fn upscaler(args: &PlayArgs, gpu: Option<&'static GpuContext>) -> anyhow::Result<Upscaling> {
    let mode = match (args.rung, args.bicubic) {
        (Some(rung), _) => Mode::Locked(rung),
        (None, true) => Mode::Bicubic,
        (None, false) => Mode::Adaptive,
    };
    let load_threads = args.load_threads.unwrap_or_else(crate::host::cores);
    let (factory, adaptation) =
        match upscaler_for(&args.manifest, mode, gpu, !args.headless, args.target_fps, load_threads) {
            Ok(ladder) => ladder,
            Err(EngineError::Manifest(error)) => {
                let notice = Some(format!("SR off: {error}; playing with the bicubic scaler"));
                return Ok(Upscaling { factory: None, adaptation: None, notice });
            }
            Err(error) => return Err(super::engine_error(error)),
        };
    adaptation.controls.load.set_level(args.load);
    adaptation.controls.set_power_cap(args.power_cap);
    if args.split {
        adaptation.controls.set_split(Some(0.5));
    }
    Ok(Upscaling { factory: Some(factory), adaptation: Some(adaptation), notice: None })
}
