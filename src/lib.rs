//! dysr: a video player that upscales in real time with a weight-sharing super-resolution supernet
//! (DySR, ICLR 2023). See `ARCHITECTURE.md` for the threads and what crosses them.
//!
//! - [`media`]: demux, decode, audio output and the playback clock (FFmpeg, cpal).
//! - [`model`]: the supernet, its shipped ladder, evaluation, quality metrics and search (burn).
//! - [`training`]: the supernet's training (on the engine's CPU kernels, or burn's autodiff).
//! - [`engine`]: the SR worker stage between decode and display, and its upscalers.
//! - [`adaptation`]: the ladder in the player: the QoS controller moving along it, the load injector.
//! - [`bench`]: `dysr bench rungs` and `dysr bench adapt`, and the baselines DySR is measured against.
//! - [`transcode`]: `dysr upscale` for videos: decode, SR and encode threads, a file to a file.
//! - [`player`]: starts and joins the pipeline threads, presents frames against the clock.
//! - [`ui`]: the egui window.
//! - [`cli`]: the `dysr` subcommands.
//! - [`telemetry`]: the counters every stage publishes and the panel/summary read.

pub mod adaptation;
pub mod bench;
pub mod cli;
pub mod engine;
pub mod host;
pub mod media;
pub mod model;
pub mod player;
pub mod plot;
pub mod telemetry;
pub mod threads;
pub mod training;
pub mod transcode;
pub mod ui;
