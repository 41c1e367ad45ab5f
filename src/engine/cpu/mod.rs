//! The CPU inference path: a ladder rung packed for our own kernels ([`network`]), the kernels
//! themselves ([`kernels`]): 3x3 convolutions with bias, residual and ReLU fused, a tail fused with
//! the bilinear residual and the pixel shuffle, and the vector types they are written against
//! ([`lanes`]); and the weight-gradient reduction that, with them, trains the supernet on the CPU
//! ([`gradients`]). The burn model is the reference they are tested against.

pub mod gradients;
pub mod kernels;
pub mod lanes;
pub mod network;

pub use network::PackedNetwork;
