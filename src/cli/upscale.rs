//! `dysr upscale IN -o OUT`: an image x2 through one rung of the shipped ladder (luma through the
//! inference engine, chroma bilinear). The output appears only when complete.

use std::path::PathBuf;

use clap::Args;

use crate::engine::neural::engine_factory;
use crate::model::colour::upscale_rgb;
use crate::model::device::DeviceChoice;
use crate::model::manifest::{Manifest, default_manifest_path};
use crate::model::photo::{Luma, load_rgb};

#[derive(Debug, Clone, Args)]
pub struct UpscaleArgs {
    /// Image to upscale (PNG or JPEG).
    pub input: PathBuf,
    /// Where to write the x2 image (PNG).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Ladder rung (0 = cheapest; default: the best).
    #[arg(long)]
    pub rung: Option<usize>,
    /// Model manifest.
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
}

pub fn run(args: UpscaleArgs) -> anyhow::Result<()> {
    let rgb = load_rgb(&args.input).map_err(anyhow::Error::msg)?;
    let model = Manifest::load_with_weights(&args.manifest, &burn::prelude::Device::flex())?;
    let ladder = &model.manifest.ladder;
    let index = args.rung.unwrap_or(ladder.len() - 1);
    let rung = model.manifest.rung(index).ok_or_else(|| {
        anyhow::anyhow!("--rung {index}: the ladder has rungs 0 to {}", ladder.len() - 1)
    })?;
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
        ".{}.partial.png",
        args.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    upscaled
        .save_with_format(&partial, image::ImageFormat::Png)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", args.output.display()))?;
    std::fs::rename(&partial, &args.output).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", args.output.display()))?;
    println!("{} ({}x{}) -> {} ({}x{}) with rung {} ({})", args.input.display(), rgb.width(), rgb.height(),
        args.output.display(), upscaled.width(), upscaled.height(), rung.name, rung.spec);
    Ok(())
}
