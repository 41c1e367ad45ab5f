//! `dysr upscale IN -o OUT`: a video ([`crate::transcode`]) or an image x2 through one rung of the
//! shipped ladder (luma through the inference engine, chroma interpolated). The output appears
//! only when complete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::engine::neural::engine_factory;
use crate::model::colour::upscale_rgb;
use crate::model::device::DeviceChoice;
use crate::model::manifest::{Manifest, default_manifest_path};
use crate::model::photo::{Luma, load_rgb};
use crate::transcode::{
    Progress, RungChoice, TranscodeOptions, TranscodeReport, VideoCodec, stop_on_interrupt, upscale_video,
};

#[derive(Debug, Clone, Args)]
pub struct UpscaleArgs {
    /// Video (any file or URL the player opens) or image (PNG or JPEG) to upscale.
    pub input: String,
    /// Where to write the x2 result: a video container (.mkv, .mp4, ...) or, for an image, a PNG
    /// or JPEG (.png, .jpg, .jpeg).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace OUTPUT if it exists (as ffmpeg's -y); without it an existing file is left alone.
    #[arg(short = 'y', long)]
    pub overwrite: bool,
    /// Ladder rung (0 = cheapest; default: the best, or with --min-fps the best that keeps it).
    #[arg(long, conflicts_with = "min_fps")]
    pub rung: Option<usize>,
    /// Videos: the best rung whose upscaling alone keeps this many frames per second.
    #[arg(long, value_parser = super::positive::<f64>)]
    pub min_fps: Option<f64>,
    /// Videos: the encoder.
    #[arg(long, value_enum, default_value_t = VideoCodec::X264)]
    pub codec: VideoCodec,
    /// Videos: the encoder's constant rate factor (lower is better and bigger).
    #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u8).range(0..=super::X264_MAX_CRF))]
    pub crf: u8,
    /// Videos: the encoder's speed preset (ultrafast ... veryslow).
    #[arg(long, default_value = "medium", value_parser = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"])]
    pub preset: String,
    /// Videos: upscale from here (seconds, MM:SS or HH:MM:SS; negative: before the end), the output
    /// starting at 0.
    #[arg(long, value_name = "TIME", allow_negative_numbers = true, value_parser = super::parse_time)]
    pub start: Option<f64>,
    /// Videos: upscale up to here (as --start).
    #[arg(long, value_name = "TIME", allow_negative_numbers = true, value_parser = super::parse_time)]
    pub end: Option<f64>,
    /// Videos: afterwards, the same run with bicubic instead of the network (decoding, scaling and
    /// encoding alone, into a file that is then removed), and both throughputs.
    #[arg(long)]
    pub bench: bool,
    /// Model manifest.
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
}

/// The image format (PNG or JPEG) `path`'s extension names, if it names one.
fn image_format(path: &Path) -> Option<image::ImageFormat> {
    match path.extension().and_then(|ext| ext.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => Some(image::ImageFormat::Png),
        Some("jpg" | "jpeg") => Some(image::ImageFormat::Jpeg),
        _ => None,
    }
}

pub fn run(args: UpscaleArgs) -> anyhow::Result<()> {
    let input = Path::new(&args.input).canonicalize().ok();
    if input.is_some() && input == args.output.canonicalize().ok() {
        anyhow::bail!("{}: is the input; write the result to another file", args.output.display());
    }
    if !args.overwrite && args.output.symlink_metadata().is_ok() {
        anyhow::bail!("{}: exists; --overwrite (-y) replaces it", args.output.display());
    }
    if image_format(Path::new(&args.input)).is_none() {
        return upscale_video_file(args);
    }
    if args.start.is_some() || args.end.is_some() {
        anyhow::bail!("--start, --end: {} is a still picture", args.input);
    }
    upscale_image(args)
}

/// indicatif's bar: frames, frames/s and ETA (hidden when stderr is not a terminal).
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, expected_frames: Option<u64>, rung: Option<&str>) {
        if let Some(frames) = expected_frames {
            self.0.set_length(frames);
        }
        self.0.set_message(rung.map_or_else(|| "bicubic".to_owned(), str::to_owned));
        self.0.enable_steady_tick(Duration::from_millis(200));
    }
    fn frame_done(&self) {
        self.0.inc(1);
    }
}

fn bar() -> Bar {
    let style = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} frames  {per_sec}  ETA {eta}")
        .expect("a valid template");
    Bar(ProgressBar::new(0).with_style(style))
}

fn summary(report: &TranscodeReport) -> String {
    let (w, h) = report.input_size;
    let (out_w, out_h) = report.output_size;
    format!(
        "{} frames {w}x{h} -> {out_w}x{out_h} with {} in {:.1} s: {:.2} frames/s (per frame: decode {:.1} ms, SR {:.1} ms, encode {:.1} ms)",
        report.frames,
        report.rung.as_deref().unwrap_or("bicubic"),
        report.wall_secs,
        report.frames_per_sec(),
        report.decode_ms,
        report.sr_ms,
        report.encode_ms
    )
}

fn upscale_video_file(args: UpscaleArgs) -> anyhow::Result<()> {
    stop_on_interrupt();
    let rung = match (args.rung, args.min_fps) {
        (Some(index), _) => RungChoice::Index(index),
        (None, Some(fps)) => RungChoice::MinFps(fps),
        (None, None) => RungChoice::Index(Manifest::load(&args.manifest)?.ladder.len() - 1),
    };
    let options = TranscodeOptions {
        input: args.input.clone(),
        output: args.output.clone(),
        rung,
        manifest: args.manifest.clone(),
        device: args.device,
        codec: args.codec,
        crf: args.crf,
        preset: args.preset.clone(),
        start_secs: args.start,
        end_secs: args.end,
    };
    let progress = bar();
    let report = upscale_video(&options, &progress).map_err(|error| match error {
        crate::transcode::TranscodeError::Engine(engine) => super::engine_error(engine),
        other => anyhow::Error::new(other),
    })?;
    progress.0.finish_and_clear();
    println!("{}: {}", args.output.display(), summary(&report));
    if !report.copied.is_empty() {
        println!("copied: {}", report.copied.join(", "));
    }
    for stream in &report.left_out {
        println!("left out: {stream}");
    }
    if args.bench {
        // The same pipeline with bicubic in place of the network, into a scratch file.
        let scratch = args.output.with_file_name(format!(
            ".{}.bench-baseline.mkv",
            args.output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        let baseline =
            upscale_video(&TranscodeOptions { output: scratch.clone(), rung: RungChoice::Bicubic, ..options }, &bar());
        let _ = std::fs::remove_file(&scratch);
        let baseline = baseline?;
        println!("decode + bicubic + encode alone: {}", summary(&baseline));
        println!(
            "throughput with the network: {:.2} frames/s, {:.0}% of decoding + encoding alone ({:.2} frames/s)",
            report.frames_per_sec(),
            100.0 * report.frames_per_sec() / baseline.frames_per_sec(),
            baseline.frames_per_sec()
        );
    }
    Ok(())
}

/// `image` written to `path` as `format` (JPEG at quality 95: the default 75 would blur what the
/// network sharpened).
fn write_image(image: &image::RgbImage, path: &Path, format: image::ImageFormat) -> image::ImageResult<()> {
    if format == image::ImageFormat::Jpeg {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        image::codecs::jpeg::JpegEncoder::new_with_quality(file, 95).encode_image(image)
    } else {
        image.save_with_format(path, format)
    }
}

fn upscale_image(args: UpscaleArgs) -> anyhow::Result<()> {
    let input = Path::new(&args.input);
    let format = image_format(&args.output).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: an image is upscaled into a PNG or JPEG file: name the output .png, .jpg or .jpeg",
            args.output.display()
        )
    })?;
    let rgb = load_rgb(input).map_err(anyhow::Error::msg)?;
    let model = Manifest::load_with_weights(&args.manifest, &burn::prelude::Device::flex())?;
    let ladder = &model.manifest.ladder;
    let index = args.rung.unwrap_or(ladder.len() - 1);
    let rung = model
        .manifest
        .rung(index)
        .ok_or_else(|| anyhow::anyhow!("--rung {index}: the ladder has rungs 0 to {}", ladder.len() - 1))?;
    let mut engine = engine_factory(&model.supernet, rung.spec, args.device).map_err(super::engine_error)?();
    let upscaled = upscale_rgb(&rgb, |y| {
        engine.prepare(y.width, y.height);
        for (row, values) in y.data.chunks_exact(y.width).enumerate() {
            engine.input_row(row).copy_from_slice(values);
        }
        let mut output = vec![0.0; 4 * y.data.len()];
        engine.run(&mut output);
        Luma::new(2 * y.width, 2 * y.height, output)
    });
    // Write beside the target, then rename: a failure never leaves a half-written output.
    let partial = args.output.with_file_name(format!(
        ".{}.partial",
        args.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let written = write_image(&upscaled, &partial, format)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&partial, &args.output).map_err(|e| e.to_string()));
    if let Err(cause) = written {
        let _ = std::fs::remove_file(&partial);
        anyhow::bail!("{}: cannot write: {cause}", args.output.display());
    }
    println!(
        "{} ({}x{}) -> {} ({}x{}) with rung {} ({})",
        input.display(),
        rgb.width(),
        rgb.height(),
        args.output.display(),
        upscaled.width(),
        upscaled.height(),
        rung.name,
        rung.spec
    );
    Ok(())
}
