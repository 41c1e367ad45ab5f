//! `dysr search`: score every subgraph of a trained supernet, keep the Pareto front, choose the
//! nested ladder, and write the shipped model (weights + manifest).

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use clap::{Args, ValueEnum};

use crate::engine::cpu::PackedNetwork;
use crate::engine::cpu::kernels::Isa;
use crate::engine::cpu::network::NetworkRunner;
use crate::host::cpu_name;
use crate::model::device::{DeviceChoice, select};
use crate::model::evaluate::{default_validation_dir, load_validation};
use crate::model::manifest::{FORMAT, Latency, Manifest, Rung, SupernetShape, VERSION};
use crate::model::search::{
    CandidateScore, choose_ladder, pareto_front, round_robin_medians_ms, run_forward, score_candidates,
};
use crate::model::supernet::BodyKind;
use crate::training::train::{TrainedWeights, load_trained};

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// The supernet's training output folder (`dysr train --out`).
    #[arg(long, default_value = "models/train")]
    pub trained: PathBuf,
    /// Which of the run's weights: its last checkpoint's, or their moving average.
    #[arg(long, value_enum, default_value_t)]
    pub weights: TrainedWeights,
    /// Validation photos (default: assets/validation).
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// Frame size latency is measured at (the playing resolution).
    #[arg(long, default_value = "640x360", value_parser = super::parse_size::<usize>)]
    pub size: (usize, usize),
    /// Timed runs per candidate (median taken), after untimed warm-up runs; the candidates take
    /// turns, one run each per round.
    #[arg(long, default_value_t = 3, value_parser = super::at_least_one)]
    pub runs: usize,
    /// Where the model goes: `dysr-x2.bpk`, `dysr-x2.json` and `search-candidates.csv`.
    #[arg(long, default_value = "models")]
    pub out: PathBuf,
    /// Print the candidates as JSON, one object per line.
    #[arg(long)]
    pub json: bool,
    /// Where candidates are timed (and so which device the latencies in the manifest are for).
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
}

pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let (device, device_name) = select(args.device).map_err(|error| super::engine_error(error.into()))?;
    let (model, config) = load_trained(&args.trained, args.weights, &device).map_err(anyhow::Error::msg)?;
    if config.body_kind() != BodyKind::Plain {
        let kind = config.body_kind().to_possible_value().map(|value| value.get_name().to_owned()).unwrap_or_default();
        anyhow::bail!("{}: a network of the {kind} kind, which the player does not run", args.trained.display());
    }
    let photos = args.photos.unwrap_or_else(default_validation_dir);
    let images = load_validation(&photos).map_err(anyhow::Error::msg)?;
    let (width, height) = args.size;

    if !args.json {
        println!(
            "{:<8} {:>9} {:>9} {:>8} {:>11}",
            "spec",
            "MACs/px",
            "PSNR-Y",
            "SSIM-Y",
            format!("ms@{width}x{height}")
        );
    }
    // Latency on what plays the rungs: the CPU kernels on a CPU, burn on a GPU.
    let on_cpu = device == burn::prelude::Device::flex();
    let device_name =
        if on_cpu { format!("{} (dysr kernels, {})", cpu_name(), Isa::detect().name()) } else { device_name };
    let candidates = config.candidates();
    let latencies = if on_cpu {
        // One runner sized for the largest candidate (the last: they are sorted by cost), its
        // network swapped between runs as the player swaps rungs.
        let networks: Vec<Arc<PackedNetwork>> = candidates
            .iter()
            .map(|&spec| Arc::new(PackedNetwork::from_supernet(&model, spec, Isa::detect())))
            .collect();
        let largest = networks.last().expect("a supernet has at least one subgraph");
        let mut runner = NetworkRunner::with_all_cores(Arc::clone(largest));
        runner.prepare(width, height);
        let mut output = vec![0.0; 4 * width * height];
        round_robin_medians_ms(candidates.len(), 2, args.runs, |i| {
            runner.set_network(Arc::clone(&networks[i]));
            runner.run(&mut output);
        })
    } else {
        let frame = burn::tensor::Tensor::<4>::random(
            [1, 1, height, width],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        round_robin_medians_ms(candidates.len(), 1, args.runs, |i| run_forward(&model, candidates[i], &frame))
    };
    let scores = score_candidates(&model, &config, &images, &latencies, |score| {
        if args.json {
            println!("{}", serde_json::to_string(score).unwrap_or_default());
        } else {
            println!(
                "{:<8} {:>9} {:>9.3} {:>8.4} {:>11.2}",
                score.spec.to_string(),
                score.macs_per_lr_pixel,
                score.psnr_y,
                score.ssim_y,
                score.latency_ms
            );
        }
    });
    let front = pareto_front(&scores);
    let ladder = choose_ladder(&scores).map_err(anyhow::Error::msg)?;

    std::fs::create_dir_all(&args.out).map_err(|e| anyhow::anyhow!("{}: {e}", args.out.display()))?;
    write_candidates_csv(&args.out.join("search-candidates.csv"), &scores, &front, &ladder)?;
    let weights_name = "dysr-x2.bpk";
    let weights_path = args.out.join(weights_name);
    let partial = args.out.join(format!("{weights_name}.partial"));
    model.into_record().save(&partial).map_err(|e| anyhow::anyhow!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &weights_path)?;
    let size = format!("{width}x{height}");
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        scale: 2,
        weights: weights_name.to_owned(),
        supernet: SupernetShape::of(&config),
        ladder: ladder
            .iter()
            .enumerate()
            .map(|(index, score)| {
                let latency =
                    vec![Latency { device: device_name.clone(), size: size.clone(), ms: round2(score.latency_ms) }];
                Rung::new(format!("r{index}"), score.spec, round3(score.psnr_y), round4(score.ssim_y), latency)
            })
            .collect(),
    };
    let manifest_path = args.out.join("dysr-x2.json");
    manifest.save(&manifest_path)?;
    if !args.json {
        println!("Pareto front: {}", front.iter().map(|&i| scores[i].spec.to_string()).collect::<Vec<_>>().join(" "));
        println!(
            "ladder: {}",
            manifest.ladder.iter().map(|r| format!("{}={}", r.name, r.spec)).collect::<Vec<_>>().join(" ")
        );
        println!("wrote {} and {}", manifest_path.display(), weights_path.display());
    }
    Ok(())
}

fn write_candidates_csv(
    path: &std::path::Path,
    scores: &[CandidateScore],
    front: &[usize],
    ladder: &[CandidateScore],
) -> anyhow::Result<()> {
    let mut text = String::from("spec,depth,width,macs_per_lr_pixel,psnr_y,ssim_y,latency_ms,on_front,in_ladder\n");
    for (index, score) in scores.iter().enumerate() {
        let in_ladder = ladder.iter().any(|rung| rung.spec == score.spec);
        text.push_str(&format!(
            "{},{},{},{},{:.4},{:.5},{:.3},{},{}\n",
            score.spec,
            score.spec.depth,
            score.spec.width,
            score.macs_per_lr_pixel,
            score.psnr_y,
            score.ssim_y,
            score.latency_ms,
            front.contains(&index),
            in_ladder
        ));
    }
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
fn round4(value: f64) -> f64 {
    (value * 10000.0).round() / 10000.0
}
