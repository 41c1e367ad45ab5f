//! The algorithm half of DySR: the weight-sharing supernet ([`supernet`]), the images it learns from
//! ([`photo`], [`resize`], [`degrade`], [`data`]), its one-shot training ([`train`]) and the quality
//! metrics it is judged by ([`metrics`]). Runs on burn: `flex` on a CPU, `wgpu` on a real GPU.

pub mod anime4k;
pub mod colour;
pub mod cpu_train;
pub mod data;
pub mod degrade;
pub mod device;
pub mod evaluate;
pub mod manifest;
pub mod metrics;
pub mod photo;
pub mod resize;
pub mod search;
pub mod supernet;
pub mod train;
