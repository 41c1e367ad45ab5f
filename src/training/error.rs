//! What can stop training: unreadable photos or checkpoints, a checkpoint of another network or
//! made by the other trainer, a failed write. Each names its file and keeps its cause.

use std::path::PathBuf;

use thiserror::Error;

use crate::model::error::ModelError;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Manifest(#[from] crate::model::manifest::ManifestError),
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// burn's recorder errors carry their cause as text only.
    #[error("{}: {cause}", path.display())]
    Record { path: PathBuf, cause: String },
    #[error("{}: not the {what} of this network ({bytes} bytes)", path.display())]
    StateSize { path: PathBuf, what: &'static str, bytes: usize },
    /// The checkpoint's optimiser state is the other trainer's; `trainer` is the one that made it.
    #[error("{}: missing (the checkpoint was made by {})", path.display(), trainer.description())]
    OtherTrainer { path: PathBuf, trainer: super::train::TrainerChoice },
    #[error("{}: no rung of this network's ladder (--ladder-bottom and --every-rung need one)", path.display())]
    NoRungs { path: PathBuf },
    #[error("--restart-at {restart_at} is not before --steps {steps}")]
    RestartAfterEnd { restart_at: usize, steps: usize },
    #[error("{}: the checkpoint is of another network shape", path.display())]
    OtherShape { path: PathBuf },
    #[error("an average of the weights is kept by dysr's CPU trainer only")]
    AverageNeedsCpuTrainer,
    #[error("re-parameterised blocks are trained by dysr's CPU trainer only")]
    ReparamNeedsCpuTrainer,
    #[error("{}: {rungs} rungs, {weights} --rung-weights", path.display())]
    RungWeights { path: PathBuf, rungs: usize, weights: usize },
    #[error("--rung-weights needs dysr's CPU trainer")]
    RungWeightsNeedCpuTrainer,
    #[error("--learn other than all needs dysr's CPU trainer without --reparam")]
    LearnNeedsPlainCpuTrainer,
    #[error("{}: {spec} is not a subgraph of that run's supernet", path.display())]
    NotASubgraph { path: PathBuf, spec: crate::model::supernet::SubgraphSpec },
    #[error("--fixed {spec} with --body pairs: a depth of pairs of layers is even")]
    SplitPair { spec: crate::model::supernet::SubgraphSpec },
    #[error("--patch {patch} with --body half-resolution: a patch of 2x2 blocks is even")]
    OddPatch { patch: usize },
    #[error("{}: no photo has room for a {patch}x{patch} LR patch (--patch, --scales)", path.display())]
    NoRoomForPatch { path: PathBuf, patch: usize },
    #[error("{}: H.264 degradation failed: {source}", path.display())]
    Degrade { path: PathBuf, source: ffmpeg_next::Error },
    #[error("{}: not a training output: {source}", path.display())]
    NotTrainingOutput { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Progress { path: PathBuf, source: serde_json::Error },
}

impl TrainError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.to_owned(), source }
    }
}
