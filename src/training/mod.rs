//! Training the supernet: photos into patches ([`data`]), the one-shot sandwich-rule loop with its
//! checkpoints and validation ([`train`]) and its steps, on dysr's own kernels on the CPU
//! ([`cpu_train`]) or burn's autodiff on any device. Above the engine: the CPU trainer runs on its
//! kernels.

pub mod cpu_train;
pub mod data;
pub mod error;
pub mod reparam;
pub mod train;
