//! One-shot, adaptation-aware training of the supernet (the sandwich rule): every step trains the
//! largest subgraph, the smallest, and a few sampled ones on the same batch, the smaller ones also
//! pulled towards the largest one's output (in-place distillation). Adam with a cosine learning
//! rate, checkpoints every N steps, `--resume`, deterministic with `--seed`. `--fixed SPEC` trains
//! one subgraph alone: the standalone baseline the weight-sharing penalty is measured against.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::cpu_train::{Adam, CpuTrainer, FlatSupernet, Learn, WeightAverage};
use super::data::{Batch, TrainingSet};
use super::error::TrainError;
use super::reparam::Branches;
use crate::model::device::{DeviceChoice, select};
use crate::model::evaluate::{
    Method, ValidationImage, default_validation_dir, evaluate, load_validation, with_compressed_lr,
};
use crate::model::supernet::{BodyKind, SubgraphSpec, Supernet, SupernetConfig};

/// Where the photos prepared by `scripts/fetch-training-photos.sh` are.
pub fn default_photos_dir() -> PathBuf {
    std::env::var_os("DYSR_PHOTOS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/dysr-media/photos/prepared")
    })
}

#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Folder with the training photos in `train/` (default: $DYSR_PHOTOS or ~/.cache/dysr-media/photos/prepared).
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// Folder for checkpoints, the training log and the final weights.
    #[arg(long, default_value = "models/train")]
    pub out: PathBuf,
    /// Optimisation steps.
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// Patches per batch.
    #[arg(long, default_value_t = 16, value_parser = crate::cli::at_least_one)]
    pub batch: usize,
    /// Side of a low-resolution patch, in pixels.
    #[arg(long, default_value_t = 32, value_parser = crate::cli::at_least_one)]
    pub patch: usize,
    /// Peak learning rate (Adam), decayed along a cosine to `--min-learning-rate`.
    #[arg(long, default_value_t = 2e-3, value_parser = crate::cli::positive::<f64>)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 2e-5, value_parser = crate::cli::non_negative::<f64>)]
    pub min_learning_rate: f64,
    /// Start the cosine again at this step (a warm restart of a resumed run): the learning rate
    /// is back at its peak there and at its floor at `--steps`.
    #[arg(long)]
    #[serde(default)]
    pub restart_at: Option<usize>,
    /// Subgraphs sampled per step besides the largest and the smallest.
    #[arg(long, default_value_t = 2)]
    pub sampled: usize,
    /// Share of the sampled subgraphs drawn from the rungs of `--ladder` rather than from all.
    #[arg(long, default_value_t = 0.0, conflicts_with = "fixed", value_parser = crate::cli::share::<f64>)]
    #[serde(default)]
    pub favour_ladder: f64,
    /// The manifest whose rungs `--favour-ladder` favours (default: the shipped one).
    #[arg(long)]
    #[serde(default)]
    pub ladder: Option<PathBuf>,
    /// Make the ladder's smallest rung the bottom of every step's sandwich, in place of the
    /// supernet's smallest subgraph (depth 0, which no ladder runs).
    #[arg(long, conflicts_with = "fixed")]
    #[serde(default)]
    pub ladder_bottom: bool,
    /// Train every rung of `--ladder` in every step (its smallest as the bottom), in place of the
    /// `--sampled` draws.
    #[arg(long, conflicts_with = "fixed")]
    #[serde(default)]
    pub every_rung: bool,
    /// With --every-rung: each rung's weight in the loss, one per rung of the ladder in its order
    /// (e.g. 1,1,1,3,1,1 for the six rungs shipped; default: all 1; dysr's CPU trainer only).
    #[arg(long, value_delimiter = ',', requires = "every_rung", value_parser = crate::cli::positive::<f32>)]
    #[serde(default)]
    pub rung_weights: Vec<f32>,
    /// What the network's output is trained to minimise (dysr's CPU trainer or burn's).
    #[arg(long, value_enum, default_value_t = Loss::L1)]
    #[serde(default)]
    pub loss: Loss,
    /// Train the last this many steps with L2 instead of --loss (a short fine-tune toward PSNR).
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub l2_steps: usize,
    /// Weight of in-place distillation (pull towards the largest subgraph's output) for the others.
    #[arg(long, default_value_t = 0.3, value_parser = crate::cli::share::<f32>)]
    pub distill: f32,
    /// Train with re-parameterised blocks (a 3x3, a 1x1 and a 1x1-expand-3x3 branch per
    /// convolution, folded into one 3x3: the shipped network does not change; dysr's CPU trainer only).
    #[arg(long)]
    #[serde(default)]
    pub reparam: bool,
    /// Share of batches whose LR is H.264-degraded.
    #[arg(long, default_value_t = 0.5, value_parser = crate::cli::share::<f64>)]
    pub degraded_share: f64,
    /// Degraded LR versions prepared per photo (and scale): random downscaling filter, a pan
    /// through H.264 at a random CRF.
    #[arg(long, default_value_t = 3)]
    pub degraded_variants: usize,
    /// Also keep an exponential moving average of the weights with this decay (e.g. 0.999),
    /// saved as `weights-ema.bpk` and scored beside the weights (dysr's CPU trainer only).
    #[arg(long, value_parser = crate::cli::decay)]
    #[serde(default)]
    pub ema: Option<f32>,
    /// Draw patches only from the places with the most to restore: the given share of them, by
    /// how far the ground truth is from the bilinear x2 of the clean LR (1: every place alike).
    #[arg(long, default_value_t = 1.0, value_parser = crate::cli::some_share)]
    #[serde(default = "every_place")]
    pub informative_patches: f64,
    /// Sizes each photo is used at, as fractions of its own (scale augmentation).
    #[arg(long, value_delimiter = ',', default_value = "1,0.75,0.5", value_parser = crate::cli::some_share)]
    #[serde(default = "unscaled")]
    pub scales: Vec<f64>,
    /// Save a checkpoint every this many steps.
    #[arg(long, default_value_t = 100, value_parser = crate::cli::at_least_one)]
    pub checkpoint_every: usize,
    /// Continue from the checkpoint in `--out`.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Train this one subgraph alone (e.g. d2w16) instead of the supernet.
    #[arg(long)]
    pub fixed: Option<SubgraphSpec>,
    /// With --fixed: start from that subgraph cut out of another run's supernet (the moving
    /// average of its weights, `weights-ema.bpk`) instead of from random weights. A --fixed deeper
    /// or wider than that supernet grows out of its largest subgraph, starting where that one is
    /// (the added layers pass their input through, the added channels start with no effect on the
    /// output).
    #[arg(long, requires = "fixed", conflicts_with = "resume")]
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// With --fixed: how its body's layers are joined. The kinds other than `plain` (`pairs` of
    /// layers, an even depth; `preact` layers; a `half-resolution` body, even patches; layers
    /// with `attention`) are
    /// networks `dysr eval --trained` scores and the player does not run.
    #[arg(long, value_enum, default_value_t, requires = "fixed", conflicts_with = "init_from")]
    #[serde(default)]
    pub body: BodyKind,
    /// Which parameters learn; the others keep their starting values (dysr's CPU trainer only,
    /// without --reparam, for any but `all`).
    #[arg(long, value_enum, default_value_t)]
    #[serde(default)]
    pub learn: Learn,
    /// Score the largest and the smallest subgraph (the ladder's smallest rung with
    /// --ladder-bottom; or the --fixed one) on the validation photos every this many steps, into
    /// `val-log.csv` (0: never).
    #[arg(long, default_value_t = 1000)]
    #[serde(default)]
    pub eval_every: usize,
    /// With --eval-every: also score the validation photos with their LR through H.264 at this
    /// CRF (as `dysr eval --lr-crf`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=crate::cli::X264_MAX_CRF))]
    #[serde(default)]
    pub eval_crf: Option<u32>,
    /// Validation photos for --eval-every (default: assets/validation).
    #[arg(long)]
    #[serde(default)]
    pub validation: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    #[serde(skip)]
    pub device: DeviceChoice,
    /// What computes the gradients: dysr's own kernels on the CPU, or burn's autodiff (the
    /// reference) on `--device`.
    #[arg(long, value_enum, default_value_t)]
    #[serde(default)]
    pub trainer: TrainerChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainerChoice {
    /// dysr's kernels, also where there is a GPU: beside an H200, burn's autodiff on it made 3-7x
    /// fewer steps per second than dysr's kernels on the same machine's CPU (`dysr train --bench
    /// --device gpu`).
    #[default]
    Auto,
    /// dysr's kernels.
    Cpu,
    /// burn's autodiff on the selected device.
    Burn,
}

impl TrainerChoice {
    /// The trainer in words.
    pub fn description(self) -> &'static str {
        match self {
            TrainerChoice::Auto => "the default trainer",
            TrainerChoice::Cpu => "dysr's CPU trainer",
            TrainerChoice::Burn => "burn's trainer",
        }
    }
}

/// What runs the steps of a training run (one per run: the size of its variants does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Trainer {
    /// burn's autodiff on any device: the reference.
    Burn { model: Supernet, optimizer: burn::optim::ModuleOptimizer, device: Device },
    /// dysr's own forward and backward kernels on this CPU's cores.
    Cpu(CpuTrainer),
}

impl Trainer {
    /// A fresh network (seeded) trained by `choice` on `device`, through re-parameterised
    /// blocks when `reparam`.
    pub fn new(
        choice: TrainerChoice,
        supernet: &SupernetConfig,
        device: &Device,
        seed: u64,
        reparam: bool,
    ) -> Result<Trainer, TrainError> {
        let device = device.clone().autodiff();
        device.seed(seed);
        let model = supernet.init(&device);
        Self::starting_from(choice, supernet, model, device, seed, reparam)
    }

    /// The `--fixed` subgraph `spec` cut out of the supernet run in `source` (the average of its
    /// weights), or grown out of its largest subgraph where `spec` is deeper or wider, trained by
    /// `choice` on `device`.
    pub fn cut_from(
        choice: TrainerChoice,
        source: &Path,
        spec: SubgraphSpec,
        device: &Device,
        seed: u64,
        reparam: bool,
    ) -> Result<Trainer, TrainError> {
        // Refused before the weights are read: a run without an average is not the first thing to say.
        let trained = read_progress(source)?.supernet;
        // A width between the run's own is not a cut of it; past its largest, the network grows.
        if spec.width <= trained.max_width && !trained.widths.contains(&spec.width) {
            return Err(TrainError::NotASubgraph { path: source.to_owned(), spec });
        }
        // Cut and grown where nothing is tracked, then loaded into the trained network's own
        // parameters.
        let supernet = trained_weights(source, &trained, TrainedWeights::Averaged, device)?;
        let cut = supernet.extract(SubgraphSpec {
            depth: spec.depth.min(trained.max_depth),
            width: spec.width.min(trained.max_width),
        });
        let shape = fixed_shape(spec);
        device.seed(seed);
        let grown = cut.grown_into(shape.init(device));
        let device = device.clone().autodiff();
        device.seed(seed);
        let model = shape.init(&device).load_record(grown.into_record());
        Self::starting_from(choice, &shape, model, device, seed, reparam)
    }

    fn starting_from(
        choice: TrainerChoice,
        supernet: &SupernetConfig,
        model: Supernet,
        device: Device,
        seed: u64,
        reparam: bool,
    ) -> Result<Trainer, TrainError> {
        match uses_cpu_kernels(choice) {
            true => {
                let network = FlatSupernet::from_supernet(supernet, &model);
                let branches = reparam.then(|| Branches::new(&network, seed));
                let optimizer =
                    Adam::new(branches.as_ref().map_or(network.values.len(), |branches| branches.values.len()));
                let mut trainer = CpuTrainer::new(network, optimizer, crate::host::cores());
                trainer.branches = branches;
                Ok(Trainer::Cpu(trainer))
            }
            false if reparam => Err(TrainError::ReparamNeedsCpuTrainer),
            false => Ok(Trainer::Burn { model, optimizer: AdamConfig::new().init(), device }),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Trainer::Burn { .. } => "burn autodiff".to_owned(),
            Trainer::Cpu(trainer) => format!("dysr kernels ({})", trainer.isa().name()),
        }
    }

    /// One optimiser step on the sandwich loss of `batch`; returns the loss.
    pub fn step(&mut self, batch: &Batch, specs: &[SubgraphSpec], distill: f32, loss: Loss, learning_rate: f64) -> f32 {
        match self {
            Trainer::Burn { model, optimizer, device } => {
                let (lr, hr) = to_tensors(batch, device);
                let loss = sandwich_loss(model, lr, hr, specs, distill, loss);
                let loss_value: f32 = loss.clone().into_scalar();
                let grads = GradientsParams::from_grads(loss.backward(), &*model);
                *model = optimizer.step(learning_rate, model.clone(), grads);
                loss_value
            }
            Trainer::Cpu(trainer) => trainer.step(batch, specs, distill, loss, learning_rate),
        }
    }

    /// The network as it stands, for inference.
    pub fn inference_model(&self) -> Supernet {
        match self {
            Trainer::Burn { model, .. } => model.valid(),
            Trainer::Cpu(trainer) => trainer.network.to_supernet(&Device::flex()),
        }
    }

    /// The moving average of the weights, when one is kept.
    pub fn averaged_model(&self) -> Option<Supernet> {
        match self {
            Trainer::Cpu(CpuTrainer { network, average: Some(average), .. }) => {
                Some(network.with_values(average.values.clone()).to_supernet(&Device::flex()))
            }
            _ => None,
        }
    }

    /// Keeps a moving average of the weights with `decay`, from the state in `out` when there is
    /// one, else from the weights as they are.
    fn keep_average(&mut self, decay: f32, out: &Path) -> Result<(), TrainError> {
        let Trainer::Cpu(trainer) = self else {
            return Err(TrainError::AverageNeedsCpuTrainer);
        };
        let path = out.join(AVERAGE_STATE_FILE);
        trainer.average = Some(match path.exists() {
            true => WeightAverage::load(&path, decay, trainer.network.values.len())?,
            false => WeightAverage { decay, values: trainer.network.values.clone() },
        });
        Ok(())
    }

    /// Writes the weights and the optimiser state into `out`, each beside and then renamed.
    fn save(&self, out: &Path) -> Result<(), TrainError> {
        let weights = self.inference_model();
        write_replacing(out, WEIGHTS_FILE, &|path| {
            weights.clone().into_record().save(path).map_err(|e| record_error(path, e))
        })?;
        if let (Some(averaged), Trainer::Cpu(CpuTrainer { average: Some(average), .. })) = (self.averaged_model(), self)
        {
            write_replacing(out, AVERAGE_WEIGHTS_FILE, &|path| {
                averaged.clone().into_record().save(path).map_err(|e| record_error(path, e))
            })?;
            write_replacing(out, AVERAGE_STATE_FILE, &|path| average.save(path))?;
        }
        match self {
            Trainer::Burn { optimizer, .. } => write_replacing(out, OPTIMIZER_FILE, &|path| {
                optimizer.to_record().save(path).map_err(|e| record_error(path, e))
            }),
            Trainer::Cpu(trainer) => {
                if let Some(branches) = &trainer.branches {
                    write_replacing(out, REPARAM_FILE, &|path| branches.save(path))?;
                }
                write_replacing(out, CPU_OPTIMIZER_FILE, &|path| trainer.optimizer.save(path))
            }
        }
    }

    /// The trainer `choice` with the checkpoint in `out` of a `supernet`-shaped network.
    fn resume(
        choice: TrainerChoice,
        out: &Path,
        supernet: &SupernetConfig,
        device: &Device,
        reparam: bool,
    ) -> Result<Trainer, TrainError> {
        let device = device.clone().autodiff();
        let model = supernet.load(&out.join(WEIGHTS_FILE), &device)?;
        if uses_cpu_kernels(choice) {
            let network = FlatSupernet::from_supernet(supernet, &model);
            let path = out.join(CPU_OPTIMIZER_FILE);
            if !path.exists() {
                return Err(TrainError::OtherTrainer { path, trainer: TrainerChoice::Burn });
            }
            let branches = reparam.then(|| Branches::load(&out.join(REPARAM_FILE), &network)).transpose()?;
            let optimizer =
                Adam::load(&path, branches.as_ref().map_or(network.values.len(), |branches| branches.values.len()))?;
            let mut trainer = CpuTrainer::new(network, optimizer, crate::host::cores());
            trainer.branches = branches;
            return Ok(Trainer::Cpu(trainer));
        }
        if reparam {
            return Err(TrainError::ReparamNeedsCpuTrainer);
        }
        let path = out.join(OPTIMIZER_FILE);
        if !path.exists() {
            return Err(TrainError::OtherTrainer { path, trainer: TrainerChoice::Cpu });
        }
        let record = burn::optim::OptimizerRecord::load(&path).map_err(|e| record_error(&path, e))?;
        Ok(Trainer::Burn { model, optimizer: AdamConfig::new().init().load_record(record), device })
    }
}

/// Whether `choice` trains with dysr's kernels.
fn uses_cpu_kernels(choice: TrainerChoice) -> bool {
    matches!(choice, TrainerChoice::Auto | TrainerChoice::Cpu)
}

/// Writes `name` in `out` through `save` beside it, then renames it: a crash mid-save never
/// leaves a torn file.
fn write_replacing(out: &Path, name: &str, save: &dyn Fn(&Path) -> Result<(), TrainError>) -> Result<(), TrainError> {
    let partial = out.join(format!("{name}.partial"));
    save(&partial)?;
    let path = out.join(name);
    std::fs::rename(&partial, &path).map_err(TrainError::io(&path))
}

/// A burn recorder's error on `path`.
fn record_error(path: &Path, error: impl std::fmt::Debug) -> TrainError {
    TrainError::Record { path: path.to_owned(), cause: format!("{error:?}") }
}

/// Runs saved before scale augmentation used each photo as it is.
fn unscaled() -> Vec<f64> {
    vec![1.0]
}

fn every_place() -> f64 {
    1.0
}

/// What a checkpoint remembers besides the weights and the optimizer state.
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    step: usize,
    supernet: SupernetConfig,
    config: TrainConfig,
}

/// File names inside `--out`.
const WEIGHTS_FILE: &str = "weights.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const CPU_OPTIMIZER_FILE: &str = "adam-state.bin";
const AVERAGE_WEIGHTS_FILE: &str = "weights-ema.bpk";
const AVERAGE_STATE_FILE: &str = "ema.bin";
/// The re-parameterised branches (`--reparam`); `weights.bpk` holds their fold.
const REPARAM_FILE: &str = "reparam.bin";
const PROGRESS_FILE: &str = "progress.json";
const LOG_FILE: &str = "train-log.csv";
const VALIDATION_LOG_FILE: &str = "val-log.csv";

/// The result of a training run.
pub struct Trained {
    pub weights: PathBuf,
    pub steps: usize,
    pub seconds: f64,
}

/// The supernet a run trains: the full one, or one shaped exactly like the `--fixed` subgraph;
/// refused where that subgraph or the patch size does not fit its kind of body.
fn supernet_for(config: &TrainConfig) -> Result<SupernetConfig, TrainError> {
    let supernet = match config.fixed {
        // Plain is written as none, as by runs made before there was a choice (which resume).
        Some(spec) => fixed_shape(spec).with_body((config.body != BodyKind::Plain).then_some(config.body)),
        None => SupernetConfig::new(),
    };
    if let Some(spec) = config.fixed.filter(|spec| !supernet.contains(spec)) {
        return Err(TrainError::SplitPair { spec });
    }
    if !config.patch.is_multiple_of(supernet.body_kind().fold()) {
        return Err(TrainError::OddPatch { patch: config.patch });
    }
    Ok(supernet)
}

/// A supernet shaped exactly like subgraph `spec`.
fn fixed_shape(spec: SubgraphSpec) -> SupernetConfig {
    SupernetConfig::new().with_max_depth(spec.depth).with_max_width(spec.width).with_widths(vec![spec.width])
}

/// Cosine decay from `peak` at `start` to `floor` at `steps`.
pub fn cosine_learning_rate(step: usize, start: usize, steps: usize, peak: f64, floor: f64) -> f64 {
    let progress = step.saturating_sub(start) as f64 / steps.saturating_sub(start).max(1) as f64;
    floor + 0.5 * (peak - floor) * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// The subgraphs one step trains: largest, `bottom` (the smallest, or a ladder's smallest rung),
/// then `sampled` random others, each drawn with probability `favoured_share` from the `favoured`
/// ones (the rungs of a ladder) and otherwise from all candidates; or, with `every_favoured`, all
/// the favoured ones.
struct Sandwich {
    supernet: SupernetConfig,
    bottom: SubgraphSpec,
    sampled: usize,
    favoured: Vec<SubgraphSpec>,
    favoured_share: f64,
    every_favoured: bool,
}

impl Sandwich {
    fn draw(&self, rng: &mut StdRng) -> Vec<SubgraphSpec> {
        let largest = self.supernet.largest();
        let mut specs = vec![largest];
        if self.bottom != largest {
            specs.push(self.bottom);
        }
        if self.every_favoured {
            specs.extend(&self.favoured);
            return specs;
        }
        let candidates = self.supernet.candidates();
        for _ in 0..self.sampled {
            // No draw for the share when nothing is favoured: the batches of a run stay as they were.
            if !self.favoured.is_empty() && rng.random_bool(self.favoured_share) {
                specs.push(self.favoured[rng.random_range(0..self.favoured.len())]);
            } else if candidates.len() > 2 {
                specs.push(candidates[rng.random_range(1..candidates.len() - 1)]);
            }
        }
        specs
    }
}

/// The ladder manifest `--ladder` names (default: the shipped one): its path and its rungs'
/// subgraphs, in order.
struct Ladder {
    path: PathBuf,
    rungs: Vec<SubgraphSpec>,
}

/// The ladder, read once, where an option of `config` asks for it (`--favour-ladder`,
/// `--ladder-bottom`, `--every-rung`, `--rung-weights`, which needs `--every-rung`): what decides
/// whether the sandwich and the loss use one.
fn ladder_of(config: &TrainConfig) -> Result<Option<Ladder>, TrainError> {
    let needed =
        config.favour_ladder > 0.0 || config.ladder_bottom || config.every_rung || !config.rung_weights.is_empty();
    if !needed {
        return Ok(None);
    }
    let path = config.ladder.clone().unwrap_or_else(crate::model::manifest::default_manifest_path);
    let manifest = crate::model::manifest::Manifest::load(&path)?;
    let rungs = manifest.ladder.iter().map(|rung| rung.spec).collect();
    Ok(Some(Ladder { path, rungs }))
}

/// The sandwich `config` asks for: favoured rungs from `ladder` (there when `config` asks for
/// it) when it favours any, and the ladder's smallest rung as the bottom with `--ladder-bottom`
/// (or `--every-rung`).
fn sandwich_for(
    config: &TrainConfig,
    supernet: &SupernetConfig,
    ladder: Option<&Ladder>,
) -> Result<Sandwich, TrainError> {
    let ladder_bottom = config.ladder_bottom || config.every_rung;
    let mut rungs = Vec::new();
    if let Some(ladder) = ladder {
        rungs = ladder.rungs.iter().copied().filter(|spec| supernet.contains(spec)).collect();
        if ladder_bottom && rungs.is_empty() {
            return Err(TrainError::NoRungs { path: ladder.path.clone() });
        }
    }
    let bottom = match rungs.iter().min_by_key(|spec| (spec.macs_per_lr_pixel(), **spec)) {
        Some(&smallest_rung) if ladder_bottom => smallest_rung,
        _ => supernet.smallest(),
    };
    let favoured = if config.favour_ladder > 0.0 || config.every_rung {
        rungs.into_iter().filter(|spec| *spec != supernet.largest() && *spec != bottom).collect()
    } else {
        Vec::new()
    };
    Ok(Sandwich {
        supernet: supernet.clone(),
        bottom,
        sampled: config.sampled,
        favoured,
        favoured_share: config.favour_ladder,
        every_favoured: config.every_rung,
    })
}

/// `--rung-weights` paired with `ladder`'s rungs (none when not given).
fn rung_weights_of(config: &TrainConfig, ladder: Option<&Ladder>) -> Result<Vec<(SubgraphSpec, f32)>, TrainError> {
    let Some(ladder) = ladder.filter(|_| !config.rung_weights.is_empty()) else { return Ok(Vec::new()) };
    if ladder.rungs.len() != config.rung_weights.len() {
        return Err(TrainError::RungWeights {
            path: ladder.path.clone(),
            rungs: ladder.rungs.len(),
            weights: config.rung_weights.len(),
        });
    }
    Ok(ladder.rungs.iter().copied().zip(config.rung_weights.iter().copied()).collect())
}

fn to_tensors(batch: &Batch, device: &Device) -> (Tensor<4>, Tensor<4>) {
    let (n, p) = (batch.size, batch.lr_patch);
    let lr = Tensor::from_data(TensorData::new(batch.lr.clone(), [n, 1, p, p]), device);
    let hr = Tensor::from_data(TensorData::new(batch.hr.clone(), [n, 1, 2 * p, 2 * p]), device);
    (lr, hr)
}

/// How an output's distance to its target is measured (`dysr train --loss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Mean absolute error: what efficient SR trains with.
    #[default]
    L1,
    /// Mean squared error: the PSNR's own measure, for a short fine-tune at the end (`--l2-steps`).
    L2,
    /// The mean over patches of the log of each one's mean squared error (plus [`LOG_MSE_FLOOR`]):
    /// the patches' mean PSNR times -ln(10) / 10. The validation averages PSNRs, so a smooth
    /// picture's small errors count as much as a detailed one's large ones; L1 and L2 weigh them
    /// by their size.
    LogMse,
}

/// What [`Loss::LogMse`] adds to each patch's mean squared error (luma in [0, 1]): 50 dB, about
/// the smoothest validation pictures' error, so that a flat patch's weight stays bounded.
pub const LOG_MSE_FLOOR: f64 = 1e-5;

impl Loss {
    /// The loss of `difference` (`[patches, 1, height, width]`).
    fn of(self, difference: Tensor<4>) -> Tensor<1> {
        match self {
            Loss::L1 => difference.abs().mean(),
            Loss::L2 => difference.powi_scalar(2).mean(),
            Loss::LogMse => {
                let per_patch: Tensor<2> = difference.powi_scalar(2).flatten(1, 3).mean_dim(1); // [patches, 1]
                per_patch.add_scalar(LOG_MSE_FLOOR).log().mean()
            }
        }
    }
}

/// The sandwich loss of one batch (`loss` to the ground truth; the smaller subgraphs also to the
/// largest one's output, weighted by `distill`).
pub fn sandwich_loss(
    model: &Supernet,
    lr: Tensor<4>,
    hr: Tensor<4>,
    specs: &[SubgraphSpec],
    distill: f32,
    loss: Loss,
) -> Tensor<1> {
    let teacher = model.forward(lr.clone(), specs[0]);
    let mut total = loss.of(teacher.clone() - hr.clone());
    let teacher = teacher.detach();
    for &spec in &specs[1..] {
        let out = model.forward(lr.clone(), spec);
        let truth = loss.of(out.clone() - hr.clone()).mul_scalar(1.0 - distill);
        total = total + truth + loss.of(out - teacher.clone()).mul_scalar(distill);
    }
    total
}

/// Removes the rows of steps after `step` from the log: a run stopped after its last checkpoint
/// logged steps that the resumed run does again.
fn drop_log_rows_after(path: &Path, step: usize) -> Result<(), TrainError> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: String = text
        .lines()
        .filter(|line| {
            line.split(',').next().and_then(|first| first.parse::<usize>().ok()).is_none_or(|row_step| row_step <= step)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(path, kept).map_err(TrainError::io(path))
}

/// Runs (or resumes) a training run as `config` says.
pub fn train(config: &TrainConfig) -> Result<Trained, TrainError> {
    if let Some(restart_at) = config.restart_at.filter(|&step| step >= config.steps) {
        return Err(TrainError::RestartAfterEnd { restart_at, steps: config.steps });
    }
    // burn's device matters only to burn's trainer; dysr's holds its network on the CPU.
    let (device, device_name) =
        select(if uses_cpu_kernels(config.trainer) { DeviceChoice::Cpu } else { config.device })?;
    let photos = config.photos.clone().unwrap_or_else(default_photos_dir);
    let plain_cpu_trainer = uses_cpu_kernels(config.trainer) && !config.reparam;
    if config.learn != Learn::All && !plain_cpu_trainer {
        return Err(TrainError::LearnNeedsPlainCpuTrainer);
    }
    let ladder = ladder_of(config)?;
    let rung_weights = rung_weights_of(config, ladder.as_ref())?;
    if !rung_weights.is_empty() && !uses_cpu_kernels(config.trainer) {
        return Err(TrainError::RungWeightsNeedCpuTrainer);
    }
    let supernet = supernet_for(config)?;
    let sandwich = sandwich_for(config, &supernet, ladder.as_ref())?;

    let (mut trainer, first_step) = if config.resume {
        let step = read_progress(&config.out).and_then(|progress| match progress.supernet == supernet {
            true => Ok(progress.step),
            false => Err(TrainError::OtherShape { path: config.out.clone() }),
        })?;
        tracing::info!("resuming at step {step}");
        (Trainer::resume(config.trainer, &config.out, &supernet, &device, config.reparam)?, step)
    } else if let (Some(source), Some(spec)) = (&config.init_from, config.fixed) {
        (Trainer::cut_from(config.trainer, source, spec, &device, config.seed, config.reparam)?, 0)
    } else {
        (Trainer::new(config.trainer, &supernet, &device, config.seed, config.reparam)?, 0)
    };
    // The validation, then the photos, before anything is written: a wrong validation path fails
    // before the photos are prepared, and a run that cannot start leaves no folder behind.
    let validation_images = match config.eval_every {
        0 => None,
        _ => {
            let dir = config.validation.clone().unwrap_or_else(default_validation_dir);
            let clean = load_validation(&dir)?;
            // The same photos again with their LR through H.264, when asked for.
            let compressed = match config.eval_crf {
                Some(crf) => Some((with_compressed_lr(&clean, crf)?, format!("@crf{crf}"))),
                None => None,
            };
            Some((clean, compressed))
        }
    };
    let mut data_rng = StdRng::seed_from_u64(config.seed);
    let train_dir = photos.join("train");
    let set = TrainingSet::load(&train_dir, &config.scales, config.degraded_variants, &mut data_rng)?;
    if !set.has_room_for(config.patch) {
        return Err(TrainError::NoRoomForPatch { path: train_dir, patch: config.patch });
    }
    // Written into only now that everything it was asked for has been checked and loaded.
    std::fs::create_dir_all(&config.out).map_err(TrainError::io(&config.out))?;
    if let Trainer::Cpu(cpu) = &mut trainer {
        cpu.learn = config.learn;
        cpu.loss_weights = rung_weights;
    }
    if let Some(decay) = config.ema {
        trainer.keep_average(decay, &config.out)?;
    }
    let (log_path, val_log_path) = (config.out.join(LOG_FILE), config.out.join(VALIDATION_LOG_FILE));
    let mut log = open_log(&log_path, first_step, "step,loss,learning_rate,elapsed_secs")?;
    let mut validation = match validation_images {
        Some((clean, compressed)) => {
            Some((clean, compressed, open_log(&val_log_path, first_step, "step,subgraph,psnr_y,ssim_y")?))
        }
        None => None,
    };
    // Placed from the run's seed, so a resumed run places it where the run did.
    let min_detail = (config.informative_patches < 1.0).then(|| {
        set.detail_threshold(&mut StdRng::seed_from_u64(config.seed), config.patch, config.informative_patches)
    });
    if let Some(threshold) = min_detail {
        tracing::info!("patches only where the ground truth is {threshold:.5} or more from the bilinear x2 on average");
    }
    // Each step draws from its own stream, so a resumed run sees the batches it would have seen.
    let step_rng = |step: usize| StdRng::seed_from_u64(config.seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let scored_specs = match config.fixed {
        Some(spec) => vec![spec],
        None => vec![supernet.largest(), sandwich.bottom],
    };
    tracing::info!(
        "training {} on {device_name} with {}: {} photos, steps {first_step}..{}",
        describe(config),
        trainer.name(),
        set.pairs.len(),
        config.steps
    );

    let progress = indicatif::ProgressBar::new(config.steps as u64).with_position(first_step as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut smoothed_loss = None;
    for step in first_step..config.steps {
        let mut rng = step_rng(step);
        let degraded = rng.random_bool(config.degraded_share);
        let batch = set.batch(&mut rng, config.batch, config.patch, degraded, min_detail);
        let specs = match config.fixed {
            Some(spec) => vec![spec],
            None => sandwich.draw(&mut rng),
        };
        let learning_rate = cosine_learning_rate(
            step,
            config.restart_at.unwrap_or(0),
            config.steps,
            config.learning_rate,
            config.min_learning_rate,
        );
        // The last --l2-steps steps fine-tune with L2.
        let loss = if step + config.l2_steps >= config.steps { Loss::L2 } else { config.loss };
        let loss_value = trainer.step(&batch, &specs, config.distill, loss, learning_rate);

        let smoothed = smoothed_loss.map_or(loss_value, |s: f32| 0.95 * s + 0.05 * loss_value);
        smoothed_loss = Some(smoothed);
        let elapsed = started.elapsed().as_secs_f64();
        writeln!(log, "{},{loss_value},{learning_rate},{elapsed:.2}", step + 1).map_err(TrainError::io(&log_path))?;
        let steps_per_sec = (step + 1 - first_step) as f64 / elapsed.max(1e-9);
        progress.set_message(format!("loss {smoothed:.5}  {steps_per_sec:.2} steps/s"));
        progress.inc(1);
        if (step + 1) % config.checkpoint_every == 0 || step + 1 == config.steps {
            save_checkpoint(&config.out, &trainer, step + 1, &supernet, config)?;
        }
        if let Some((images, compressed, log)) = validation.as_mut()
            && ((step + 1) % config.eval_every == 0 || step + 1 == config.steps)
        {
            let models = std::iter::once((trainer.inference_model(), ""))
                .chain(trainer.averaged_model().map(|model| (model, "-ema")));
            let mut scores = Vec::new();
            for (model, suffix) in models {
                scores.extend(validate(&model, &scored_specs, images, suffix));
                if let Some((compressed, name)) = compressed {
                    scores.extend(validate(&model, &scored_specs, compressed, &format!("{suffix}{name}")));
                }
            }
            for (spec, psnr_y, ssim_y) in &scores {
                writeln!(log, "{},{spec},{psnr_y:.4},{ssim_y:.5}", step + 1).map_err(TrainError::io(&val_log_path))?;
            }
            let summary: Vec<String> =
                scores.iter().map(|(spec, psnr_y, _)| format!("{spec} {psnr_y:.3} dB")).collect();
            let line = format!("step {}: validation PSNR-Y {}", step + 1, summary.join(", "));
            // Above the bar on a terminal; plain on stderr when the bar is hidden (output redirected).
            if progress.is_hidden() {
                eprintln!("{line}");
            } else {
                progress.println(line);
            }
        }
    }
    progress.finish();
    plot_loss_curve(&config.out, config.loss)?;
    Ok(Trained {
        weights: config.out.join(WEIGHTS_FILE),
        steps: config.steps,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One trainer's measured speed.
pub struct TrainerSpeed {
    pub trainer: String,
    pub steps_per_sec: f64,
    /// Useful work: the multiply-adds of the forward and backward passes, two FLOP each.
    pub gflops: f64,
}

/// Times `steps` training steps of each trainer (after one untimed step) on the same batches and
/// sandwiches, burn's on `config.device` and dysr's kernels on the CPU: `config`'s batch, patch size and sampled subgraphs, the full supernet. The patches
/// are random values: a step's cost does not depend on them.
pub fn bench_trainers(config: &TrainConfig, steps: usize) -> Result<Vec<TrainerSpeed>, TrainError> {
    let supernet = supernet_for(config)?;
    let sandwich = sandwich_for(config, &supernet, ladder_of(config)?.as_ref())?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let batches: Vec<(Batch, Vec<SubgraphSpec>)> = (0..=steps)
        .map(|_| {
            let (n, p) = (config.batch, config.patch);
            let lr = (0..n * p * p).map(|_| rng.random_range(0.0..1.0)).collect();
            let hr = (0..4 * n * p * p).map(|_| rng.random_range(0.0..1.0)).collect();
            let specs = match config.fixed {
                Some(spec) => vec![spec],
                None => sandwich.draw(&mut rng),
            };
            (Batch { size: n, lr_patch: p, lr, hr }, specs)
        })
        .collect();
    let flop: f64 = batches[1..]
        .iter()
        .map(|(batch, specs)| {
            2.0 * (super::cpu_train::step_macs_per_lr_pixel(specs) * batch.size * batch.lr_patch * batch.lr_patch)
                as f64
        })
        .sum();
    // burn on the selected device (burn-wgpu on a GPU), dysr's kernels on the CPU.
    let (burn_device, burn_device_name) = select(config.device)?;
    [(TrainerChoice::Burn, burn_device), (TrainerChoice::Cpu, Device::flex())]
        .into_iter()
        .map(|(choice, device)| {
            let mut trainer =
                Trainer::new(choice, &supernet, &device, config.seed, false).expect("no branches: either trainer");
            let (warm_up, timed) = batches.split_first().expect("one batch at least");
            trainer.step(&warm_up.0, &warm_up.1, config.distill, config.loss, config.learning_rate);
            let started = Instant::now();
            for (batch, specs) in timed {
                trainer.step(batch, specs, config.distill, config.loss, config.learning_rate);
            }
            let seconds = started.elapsed().as_secs_f64();
            let name = match choice {
                TrainerChoice::Burn => format!("{} on {burn_device_name}", trainer.name()),
                _ => trainer.name(),
            };
            Ok(TrainerSpeed { trainer: name, steps_per_sec: steps as f64 / seconds, gflops: flop / seconds / 1e9 })
        })
        .collect()
}

/// Opens a CSV log: a run from step 0 starts it afresh; a resumed run appends, after dropping the
/// rows past `first_step`. A new file starts with `header`.
fn open_log(path: &Path, first_step: usize, header: &str) -> Result<std::fs::File, TrainError> {
    let fail = |source| TrainError::Io { path: path.to_owned(), source };
    let fresh = first_step == 0 || !path.exists();
    if !fresh {
        drop_log_rows_after(path, first_step)?;
    }
    let mut log =
        std::fs::OpenOptions::new().create(true).append(!fresh).write(true).truncate(fresh).open(path).map_err(fail)?;
    if fresh {
        writeln!(log, "{header}").map_err(fail)?;
    }
    Ok(log)
}

/// PSNR-Y and SSIM-Y of each of `specs` on the validation photos, named by the spec and `suffix`.
fn validate(
    model: &Supernet,
    specs: &[SubgraphSpec],
    images: &[ValidationImage],
    suffix: &str,
) -> Vec<(String, f64, f64)> {
    specs
        .iter()
        .map(|&spec| {
            let row = evaluate(&Method::Subgraph { name: spec.to_string(), model, spec }, images);
            (format!("{spec}{suffix}"), row.psnr_y, row.ssim_y)
        })
        .collect()
}

/// Draws the training log of `out` as `loss-curve.png` beside it: each step's `loss` and a moving
/// average over `LOSS_AVERAGE_STEPS`, on a log axis (a linear one for the log of the error, which
/// is negative).
fn plot_loss_curve(out: &Path, loss: Loss) -> Result<(), TrainError> {
    const LOSS_AVERAGE_STEPS: usize = 100;
    let log_path = out.join(LOG_FILE);
    let text = std::fs::read_to_string(&log_path).map_err(TrainError::io(&log_path))?;
    let losses: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .collect();
    let averaged: Vec<(f64, f64)> = losses
        .windows(LOSS_AVERAGE_STEPS.min(losses.len()).max(1))
        .map(|window| {
            (window[window.len() - 1].0, window.iter().map(|(_, loss)| loss).sum::<f64>() / window.len() as f64)
        })
        .collect();
    let series = [
        crate::plot::Series { name: "loss (sum over the sandwich)".to_owned(), points: losses },
        crate::plot::Series { name: format!("mean of {LOSS_AVERAGE_STEPS} steps"), points: averaged },
    ];
    let (path, title) = (out.join("loss-curve.png"), "dysr supernet training");
    Ok(match loss {
        Loss::L1 => crate::plot::log_line_chart(&path, title, "step", "L1 loss", &series),
        Loss::L2 => crate::plot::log_line_chart(&path, title, "step", "L2 loss", &series),
        Loss::LogMse => crate::plot::stacked_line_charts(
            &path,
            title,
            "step",
            &[crate::plot::Panel { y_label: "log-MSE loss".to_owned(), series: Vec::from(series) }],
        ),
    }?)
}

fn describe(config: &TrainConfig) -> String {
    match config.fixed {
        Some(spec) => format!("the standalone {spec}"),
        None => "the supernet".to_owned(),
    }
}

fn save_checkpoint(
    out: &Path,
    trainer: &Trainer,
    step: usize,
    supernet: &SupernetConfig,
    config: &TrainConfig,
) -> Result<(), TrainError> {
    trainer.save(out)?;
    let progress = Progress { step, supernet: supernet.clone(), config: config.clone() };
    let text = serde_json::to_string_pretty(&progress).expect("the progress serialises");
    write_replacing(out, PROGRESS_FILE, &|path| std::fs::write(path, &text).map_err(TrainError::io(path)))
}

/// Which weights of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TrainedWeights {
    /// The last checkpoint's weights.
    #[default]
    Last,
    /// Their moving average (`dysr train --ema`).
    Averaged,
}

/// That `spec` is a subgraph of `supernet`, the shape of the training run in `out`.
pub fn check_subgraph(out: &Path, supernet: &SupernetConfig, spec: SubgraphSpec) -> Result<(), TrainError> {
    match supernet.contains(&spec) {
        true => Ok(()),
        false => Err(TrainError::NotASubgraph { path: out.to_owned(), spec }),
    }
}

/// The network a training run in `out` produced (its last checkpoint, or the average kept beside
/// it), on `device`.
pub fn load_trained(
    out: &Path,
    which: TrainedWeights,
    device: &Device,
) -> Result<(Supernet, SupernetConfig), TrainError> {
    let supernet = read_progress(out)?.supernet;
    Ok((trained_weights(out, &supernet, which, device)?, supernet))
}

/// The weights of the run in `out`, whose shape is `supernet`.
fn trained_weights(
    out: &Path,
    supernet: &SupernetConfig,
    which: TrainedWeights,
    device: &Device,
) -> Result<Supernet, TrainError> {
    let weights = out.join(match which {
        TrainedWeights::Last => WEIGHTS_FILE,
        TrainedWeights::Averaged => AVERAGE_WEIGHTS_FILE,
    });
    Ok(supernet.load(&weights, device)?)
}

fn read_progress(out: &Path) -> Result<Progress, TrainError> {
    let path = out.join(PROGRESS_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| TrainError::NotTrainingOutput { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|source| TrainError::Progress { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_learning_rate_falls_along_a_cosine() {
        assert_eq!(cosine_learning_rate(0, 0, 100, 1.0, 0.0), 1.0);
        assert!((cosine_learning_rate(50, 0, 100, 1.0, 0.0) - 0.5).abs() < 1e-12);
        assert!(cosine_learning_rate(100, 0, 100, 1.0, 0.1) - 0.1 < 1e-12);
    }

    /// A warm restart puts the peak at its step and the floor still at the last.
    #[test]
    fn a_warm_restart_starts_the_cosine_again() {
        assert_eq!(cosine_learning_rate(80, 80, 100, 1.0, 0.0), 1.0);
        assert!((cosine_learning_rate(90, 80, 100, 1.0, 0.0) - 0.5).abs() < 1e-12);
        assert!(cosine_learning_rate(100, 80, 100, 1.0, 0.1) - 0.1 < 1e-12);
    }

    /// A few Adam steps on one small batch lower the sandwich loss.
    #[test]
    fn a_few_steps_lower_the_loss_on_a_tiny_set() {
        use crate::model::photo::Luma;
        use crate::model::resize::downscale_x2;
        let device = Device::flex().autodiff();
        device.seed(7);
        let supernet = SupernetConfig::new().with_max_depth(2).with_max_width(16).with_widths(vec![8, 16]);
        let mut model = supernet.init(&device);
        let hr = Luma::new(
            64,
            64,
            (0..64 * 64).map(|i| if (i % 64 / 3 + i / 64 / 5) % 2 == 0 { 0.8 } else { 0.2 }).collect(),
        );
        let set = TrainingSet {
            pairs: vec![crate::training::data::TrainingPair {
                name: "stripes".into(),
                lr_clean: downscale_x2(&hr),
                hr,
                lr_degraded: vec![],
            }],
        };
        let batch = set.batch(&mut StdRng::seed_from_u64(1), 4, 16, false, None);
        let sandwich = Sandwich {
            supernet: supernet.clone(),
            bottom: supernet.smallest(),
            sampled: 1,
            favoured: vec![],
            favoured_share: 0.0,
            every_favoured: false,
        };
        let specs = sandwich.draw(&mut StdRng::seed_from_u64(2));
        let mut optimizer = AdamConfig::new().init();
        let loss_now = |model: &Supernet| -> f32 {
            let (lr, hr) = to_tensors(&batch, &device);
            sandwich_loss(model, lr, hr, &specs, 0.3, Loss::L1).into_scalar()
        };
        let before = loss_now(&model);
        for _ in 0..60 {
            let (lr, hr) = to_tensors(&batch, &device);
            let loss = sandwich_loss(&model, lr, hr, &specs, 0.3, Loss::L1);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(1e-3, model, grads);
        }
        let after = loss_now(&model);
        assert!(after < 0.8 * before, "loss {before} -> {after}");
    }

    /// Favouring the ladder wholly samples only its rungs; not at all, any candidate.
    #[test]
    fn a_favoured_ladder_is_what_a_sandwich_samples() {
        let supernet = SupernetConfig::new();
        let favoured = vec![SubgraphSpec { depth: 1, width: 8 }, SubgraphSpec { depth: 4, width: 16 }];
        let sandwich = |share| Sandwich {
            supernet: supernet.clone(),
            bottom: supernet.smallest(),
            sampled: 2,
            favoured: favoured.clone(),
            favoured_share: share,
            every_favoured: false,
        };
        let mut rng = StdRng::seed_from_u64(4);
        let sampled: Vec<SubgraphSpec> = (0..50).flat_map(|_| sandwich(1.0).draw(&mut rng).split_off(2)).collect();
        assert!(sampled.iter().all(|spec| favoured.contains(spec)));
        let sampled: std::collections::HashSet<SubgraphSpec> =
            (0..50).flat_map(|_| sandwich(0.0).draw(&mut rng).split_off(2)).collect();
        assert!(sampled.len() > favoured.len());
    }

    #[test]
    fn a_sandwich_has_the_largest_first_then_the_smallest() {
        let supernet = SupernetConfig::new();
        let sandwich = Sandwich {
            supernet: supernet.clone(),
            bottom: supernet.smallest(),
            sampled: 2,
            favoured: vec![],
            favoured_share: 0.0,
            every_favoured: false,
        };
        let specs = sandwich.draw(&mut StdRng::seed_from_u64(3));
        assert_eq!(specs.len(), 4);
        assert_eq!((specs[0], specs[1]), (supernet.largest(), supernet.smallest()));
        assert!(specs[2..].iter().all(|s| supernet.contains(s)));
    }

    /// With `--ladder-bottom` the shipped ladder's smallest rung takes the smallest subgraph's
    /// place in every step, and is not also among the favoured ones.
    #[test]
    fn the_ladder_bottom_replaces_the_smallest_subgraph() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            config: TrainConfig,
        }
        let config = <Command as clap::Parser>::try_parse_from(["train", "--ladder-bottom", "--favour-ladder", "1"])
            .unwrap()
            .config;
        let supernet = SupernetConfig::new();
        let sandwich = sandwich_for(&config, &supernet, ladder_of(&config).unwrap().as_ref()).unwrap();
        let manifest =
            crate::model::manifest::Manifest::load(&crate::model::manifest::default_manifest_path()).unwrap();
        assert_eq!(sandwich.bottom, manifest.ladder[0].spec);
        assert_ne!(sandwich.bottom, supernet.smallest());
        assert!(!sandwich.favoured.contains(&sandwich.bottom));
        let specs = sandwich.draw(&mut StdRng::seed_from_u64(3));
        assert_eq!((specs[0], specs[1]), (supernet.largest(), manifest.ladder[0].spec));
    }

    /// A warm restart at or after the last step is refused before anything is read or written.
    #[test]
    fn a_restart_after_the_end_is_refused() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            config: TrainConfig,
        }
        let out = tempfile::tempdir().unwrap();
        let args = ["train", "--steps", "100", "--restart-at", "100", "--out", out.path().to_str().unwrap()];
        let config = <Command as clap::Parser>::try_parse_from(args).unwrap().config;
        let error = train(&config).err().expect("refused").to_string();
        assert_eq!(error, "--restart-at 100 is not before --steps 100");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn a_pair_of_layers_is_not_split_nor_a_block_of_pixels() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            config: TrainConfig,
        }
        let out = tempfile::tempdir().unwrap();
        let path = out.path().to_str().unwrap();
        let args = ["train", "--fixed", "d3w8", "--body", "pairs", "--out", path];
        let config = <Command as clap::Parser>::try_parse_from(args).unwrap().config;
        let error = train(&config).err().expect("refused").to_string();
        assert_eq!(error, "--fixed d3w8 with --body pairs: a depth of pairs of layers is even");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing written");
        let args = ["train", "--fixed", "d2w8", "--body", "half-resolution", "--patch", "33", "--out", path];
        let config = <Command as clap::Parser>::try_parse_from(args).unwrap().config;
        let error = train(&config).err().expect("refused").to_string();
        assert_eq!(error, "--patch 33 with --body half-resolution: a patch of 2x2 blocks is even");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing written");
        // The kind of body shapes a subgraph trained alone.
        let args = ["train", "--body", "pairs", "--out", path];
        assert!(<Command as clap::Parser>::try_parse_from(args).is_err());
    }

    /// A subgraph trained alone has no sandwich: the options that shape one are refused with it.
    #[test]
    fn sandwich_options_are_refused_with_a_fixed_subgraph() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            config: TrainConfig,
        }
        for option in [&["--every-rung"][..], &["--ladder-bottom"], &["--favour-ladder", "1"]] {
            let args = [&["train", "--fixed", "d1w8"][..], option].concat();
            let error = <Command as clap::Parser>::try_parse_from(args).err().expect("refused");
            assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict, "{option:?}");
        }
    }

    /// `--rung-weights` pairs one weight with each rung of the ladder, in order, and is refused
    /// with any other count, a weight not above 0, or without `--every-rung`.
    #[test]
    fn rung_weights_pair_with_the_ladders_rungs() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            config: TrainConfig,
        }
        let parse = |args: &[&str]| {
            <Command as clap::Parser>::try_parse_from([&["train"][..], args].concat()).map(|command| command.config)
        };
        assert!(parse(&["--rung-weights", "1,2"]).is_err(), "needs --every-rung");
        let manifest =
            crate::model::manifest::Manifest::load(&crate::model::manifest::default_manifest_path()).unwrap();
        let weights: Vec<String> = (0..manifest.ladder.len()).map(|index| (index + 1).to_string()).collect();
        let config = parse(&["--every-rung", "--rung-weights", &weights.join(",")]).unwrap();
        let paired = rung_weights_of(&config, ladder_of(&config).unwrap().as_ref()).unwrap();
        assert_eq!(
            paired,
            manifest.ladder.iter().enumerate().map(|(index, rung)| (rung.spec, (index + 1) as f32)).collect::<Vec<_>>()
        );
        let config = parse(&["--every-rung", "--rung-weights", "1,2"]).unwrap();
        assert!(
            rung_weights_of(&config, ladder_of(&config).unwrap().as_ref())
                .unwrap_err()
                .to_string()
                .ends_with(&format!("{} rungs, 2 --rung-weights", manifest.ladder.len()))
        );
        let mut negative = weights.clone();
        negative[1] = "-1".to_owned();
        let Err(refused) = parse(&["--every-rung", "--rung-weights", &negative.join(",")]) else {
            panic!("a negative weight taken")
        };
        assert!(refused.to_string().contains("it must be a finite number above 0"), "{refused}");
    }

    /// With `--every-rung` each step trains the largest subgraph and every rung of the ladder once.
    #[test]
    fn every_rung_trains_the_whole_ladder_each_step() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            config: TrainConfig,
        }
        let config = <Command as clap::Parser>::try_parse_from(["train", "--every-rung"]).unwrap().config;
        let supernet = SupernetConfig::new();
        let sandwich = sandwich_for(&config, &supernet, ladder_of(&config).unwrap().as_ref()).unwrap();
        let manifest =
            crate::model::manifest::Manifest::load(&crate::model::manifest::default_manifest_path()).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..3 {
            let specs = sandwich.draw(&mut rng);
            assert_eq!(specs[0], supernet.largest());
            let mut trained: Vec<SubgraphSpec> = specs[1..].to_vec();
            let mut rungs: Vec<SubgraphSpec> =
                manifest.ladder.iter().map(|rung| rung.spec).filter(|spec| *spec != supernet.largest()).collect();
            trained.sort();
            rungs.sort();
            assert_eq!(trained, rungs);
        }
    }
}
