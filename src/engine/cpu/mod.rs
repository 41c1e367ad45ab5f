//! The CPU inference path: a ladder rung packed for our own kernels ([`network`]), and the kernels
//! themselves ([`kernels`]): 3x3 convolutions with bias, residual and ReLU fused, and a tail fused
//! with the bilinear residual and the pixel shuffle. The burn model is the reference they are
//! tested against.

pub mod kernels;
pub mod network;

pub use network::PackedNetwork;
