//! What can go wrong in the model module: images and folders that cannot be read, weight files
//! that are not what they should be, a peer's weights, a compression round trip, a missing GPU.
//! Each names the file or image and keeps its cause.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("{}: cannot read the image: {source}", path.display())]
    Image { path: PathBuf, source: image::ImageError },
    #[error("{}: cannot read the folder: {source}", dir.display())]
    Folder { dir: PathBuf, source: std::io::Error },
    #[error("{}: no PNG or JPEG images", dir.display())]
    NoImages { dir: PathBuf },
    #[error("{}: cannot read the weights: {source}", path.display())]
    ReadWeights { path: PathBuf, source: std::io::Error },
    /// burn's store errors carry their cause as text only.
    #[error("{}: not a burnpack file ({cause})", path.display())]
    NotBurnpack { path: PathBuf, cause: String },
    #[error("{}: the weights do not fit this network ({cause})", path.display())]
    WeightsDoNotFit { path: PathBuf, cause: String },
    #[error("{}: cannot write the weights ({cause})", path.display())]
    WriteWeights { path: PathBuf, cause: String },
    #[error("{}: {source}", path.display())]
    PeerFile { path: PathBuf, source: std::io::Error },
    #[error("{}: not an Anime4K weight file ({source})", path.display())]
    PeerFormat { path: PathBuf, source: serde_json::Error },
    #[error("{}: {cause}", path.display())]
    PeerLayout { path: PathBuf, cause: String },
    #[error("{image}: H.264 at CRF {crf}: {source}")]
    Compression { image: String, crf: u32, source: ffmpeg_next::Error },
    #[error("wgpu finds no GPU adapter (only software rasterizers or none)")]
    NoGpu,
    #[error("cannot bring up the GPU: {0}")]
    GpuInit(String),
    #[error("no candidate subgraphs to choose a ladder from")]
    NoCandidates,
    #[error("no nested chain of {rungs} rungs: the candidates' quality does not rise enough with cost")]
    NoLadder { rungs: usize },
}

/// A subgraph spec that does not parse.
#[derive(Debug, Error)]
#[error("'{0}' is not a subgraph spec (expected e.g. d3w24)")]
pub struct SpecParseError(pub String);
