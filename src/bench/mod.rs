//! The benchmarks and the baselines they measure dysr against: `dysr bench rungs` ([`rungs`]: every
//! rung's speed on the kernels, beside ONNX Runtime), `dysr bench adapt` ([`adapt`]: the demo
//! played under a load profile by each strategy, with [`baselines`]' ways of holding the rungs) and
//! `dysr bench soak` ([`soak`]: the pipeline for minutes or hours, its memory, threads and files).
//! Nothing in the player calls into this module.

pub mod adapt;
pub mod baselines;
pub mod gpu_rungs;
pub mod rungs;
pub mod soak;

use std::path::PathBuf;

use thiserror::Error;

/// What can stop a benchmark, with the cause kept.
#[derive(Debug, Error)]
pub enum BenchError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Manifest(#[from] crate::model::manifest::ManifestError),
    #[error(transparent)]
    Model(#[from] crate::model::error::ModelError),
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    #[error(transparent)]
    Playback(#[from] crate::player::headless::HeadlessError),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    #[error("soak: {cause}")]
    Soak { cause: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Decode { path: PathBuf, source: ffmpeg_next::Error },
    #[error("{}: no video stream", path.display())]
    NoVideo { path: PathBuf },
    #[error("the {0} kernels: this CPU does not support them")]
    UnsupportedIsa(&'static str),
    #[error("'{0}': a strategy is adaptive, reload, assemble, static:K, static:top or static:smallest")]
    UnknownStrategy(String),
    #[error("the {0} strategy runs on the CPU kernels only")]
    CpuOnly(&'static str),
    #[error("the load driver panicked")]
    LoadDriverPanicked,
    /// ONNX Runtime's reference timing could not be had (not installed, or its script failed).
    #[error("{}: {cause}", program.display())]
    Reference { program: PathBuf, cause: String },
}

impl BenchError {
    fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io { path: path.to_owned(), source }
    }
}
