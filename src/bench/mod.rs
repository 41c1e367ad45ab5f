//! The benchmarks and the baselines they measure dysr against: `dysr bench rungs` ([`rungs`]: every
//! rung's speed on the kernels, beside ONNX Runtime) and `dysr bench adapt` ([`adapt`]: the demo
//! played under a load profile by each strategy, with [`baselines`]' ways of holding the rungs).
//! Nothing in the player calls into this module.

pub mod adapt;
pub mod baselines;
pub mod rungs;
