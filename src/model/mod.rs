//! The algorithm half of DySR: the weight-sharing supernet ([`supernet`]) and its shipped ladder
//! ([`manifest`]), the images it is judged on ([`photo`], [`resize`], [`degrade`]), the quality
//! metrics and the evaluation ([`metrics`], [`evaluate`]) and the search for the ladder ([`search`]).
//! Its training, which runs on the engine's kernels, is one floor up, in the `training` module. Runs on
//! burn: `flex` on a CPU, `wgpu` on a real GPU.

pub mod anime4k;
pub mod colour;
pub mod degrade;
pub mod device;
pub mod error;
pub mod evaluate;
pub mod manifest;
pub mod metrics;
pub mod photo;
pub mod resize;
pub mod search;
pub mod supernet;
