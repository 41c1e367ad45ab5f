//! `dysr eval`: PSNR-Y and SSIM-Y of subgraphs, bicubic and Lanczos on a folder of photos.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::model::anime4k::Anime4k;
use crate::model::device::{DeviceChoice, select};
use crate::model::evaluate::{
    Method, QualityRow, default_validation_dir, evaluate, load_validation, with_compressed_lr,
};
use crate::model::manifest::{Manifest, default_manifest_path};
use crate::model::supernet::SubgraphSpec;
use crate::training::train::{TrainedWeights, check_subgraph, load_trained};

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Folder of ground-truth photos (default: the validation photos in assets/validation).
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// The model whose ladder is evaluated.
    #[arg(long, default_value_os_t = default_manifest_path())]
    pub manifest: PathBuf,
    /// Evaluate subgraphs of a training output folder (`dysr train --out`) instead of the ladder.
    #[arg(long, requires = "spec")]
    pub trained: Option<PathBuf>,
    /// With --trained: its last checkpoint's weights, or their moving average.
    #[arg(long, value_enum, default_value_t)]
    pub weights: TrainedWeights,
    /// With --trained: the subgraphs to evaluate, e.g. d0w8,d6w40.
    #[arg(long, value_delimiter = ',', requires = "trained")]
    pub spec: Vec<SubgraphSpec>,
    /// Print the table as JSON, one object per row (with each photo's scores).
    #[arg(long)]
    pub json: bool,
    /// Also print each photo's PSNR-Y per method, and its gain over bicubic.
    #[arg(long)]
    pub per_photo: bool,
    /// Also write the table as CSV to this file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
    /// Score on LR that went through H.264 at this CRF (a P picture of a panning shot, as the
    /// player gets it) instead of the clean LR.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=super::X264_MAX_CRF))]
    pub lr_crf: Option<u32>,
    /// Folder of Anime4K weight files (`cnn-2x-{s,m,l}-{an,rl}.json`, from `scripts/fetch-peers.sh`)
    /// scored as peers [default: $DYSR_PEERS or ~/.cache/dysr-media/peers/anime4k, when it exists].
    #[arg(long)]
    pub peers: Option<PathBuf>,
}

/// Where `scripts/fetch-peers.sh` puts the peers' weights.
fn default_peers_dir() -> PathBuf {
    std::env::var_os("DYSR_PEERS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/dysr-media/peers/anime4k")
    })
}

/// Anime4K's S, M and L networks with both weight sets, those of them `dir` has. A folder given
/// with --peers must have at least one.
fn load_peers(dir: Option<&Path>) -> anyhow::Result<Vec<Anime4k>> {
    let (dir, asked) = match dir {
        Some(dir) => (dir.to_path_buf(), true),
        None => (default_peers_dir(), false),
    };
    let mut peers = Vec::new();
    for size in ["s", "m", "l"] {
        for weights in ["an", "rl"] {
            let path = dir.join(format!("cnn-2x-{size}-{weights}.json"));
            if path.is_file() {
                peers.push(Anime4k::load(&path, &format!("anime4k-{size}-{weights}")).map_err(anyhow::Error::msg)?);
            }
        }
    }
    if asked && peers.is_empty() {
        anyhow::bail!("{}: no Anime4K weight files (cnn-2x-s-an.json ...)", dir.display());
    }
    Ok(peers)
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let photos = args.photos.unwrap_or_else(default_validation_dir);
    let mut images = load_validation(&photos).map_err(anyhow::Error::msg)?;
    if let Some(crf) = args.lr_crf {
        images = with_compressed_lr(&images, crf).map_err(anyhow::Error::msg)?;
    }
    let (device, _) = select(args.device).map_err(|error| super::engine_error(error.into()))?;
    let (model, subgraphs): (_, Vec<(String, SubgraphSpec)>) = match &args.trained {
        Some(trained) => {
            let (model, supernet) = load_trained(trained, args.weights, &device).map_err(anyhow::Error::msg)?;
            for &spec in &args.spec {
                check_subgraph(trained, &supernet, spec).map_err(anyhow::Error::msg)?;
            }
            (model, args.spec.iter().map(|spec| (spec.to_string(), *spec)).collect())
        }
        None => {
            let loaded = Manifest::load_with_weights(&args.manifest, &device)?;
            let rungs =
                loaded.manifest.ladder.iter().map(|rung| (format!("{} {}", rung.name, rung.spec), rung.spec)).collect();
            (loaded.supernet, rungs)
        }
    };
    let peers = load_peers(args.peers.as_deref())?;
    let mut methods = vec![Method::Bicubic, Method::Lanczos];
    methods.extend(subgraphs.into_iter().map(|(name, spec)| Method::Subgraph { name, model: &model, spec }));
    methods.extend(peers.iter().map(Method::Anime4k));
    let rows: Vec<QualityRow> = methods.iter().map(|method| evaluate(method, &images)).collect();
    print_rows(&rows, args.json)?;
    if args.per_photo && !args.json {
        print_per_photo(&rows);
    }
    if let Some(path) = args.csv {
        let mut text = String::from("method,macs_per_lr_pixel,psnr_y,ssim_y,images\n");
        for row in &rows {
            let macs = row.macs_per_lr_pixel.map(|macs| macs.to_string()).unwrap_or_default();
            text.push_str(&format!("{},{macs},{:.4},{:.5},{}\n", row.method, row.psnr_y, row.ssim_y, row.images));
        }
        std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn print_rows(rows: &[QualityRow], json: bool) -> anyhow::Result<()> {
    if json {
        for row in rows {
            println!("{}", serde_json::to_string(row)?);
        }
        return Ok(());
    }
    println!("{:<16} {:>9} {:>9} {:>8}", "method", "MACs/px", "PSNR-Y", "SSIM-Y");
    for row in rows {
        let macs = row.macs_per_lr_pixel.map(|macs| macs.to_string()).unwrap_or_default();
        println!("{:<16} {macs:>9} {:>9.3} {:>8.4}", row.method, row.psnr_y, row.ssim_y);
    }
    Ok(())
}

/// Photos down, methods across: PSNR-Y, and for the methods after bicubic (the first row) the gain
/// over it. Shows which photos a mean is made of.
fn print_per_photo(rows: &[QualityRow]) {
    let Some(bicubic) = rows.first() else { return };
    println!();
    print!("{:<20}", "photo");
    for row in rows {
        print!(" {:>16}", row.method);
    }
    println!();
    for (index, photo) in bicubic.per_image.iter().enumerate() {
        print!("{:<20}", photo.image);
        for row in rows {
            let psnr = row.per_image[index].psnr_y;
            if row.method == bicubic.method {
                print!(" {psnr:>16.3}");
            } else {
                print!(" {:>16}", format!("{psnr:.3} {:+.2}", psnr - photo.psnr_y));
            }
        }
        println!();
    }
}
