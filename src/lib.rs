//! dysr: a video player that upscales in real time with a weight-sharing super-resolution supernet
//! (DySR, ICLR 2023). See `ARCHITECTURE.md` for the threads and what crosses them.
//!
//! - [`media`]: demux, decode, audio output and the playback clock (FFmpeg, cpal).
//! - [`model`]: the supernet, its training data, training and quality metrics (burn).
//! - [`engine`]: the SR worker stage between decode and display, and its upscalers.
//! - [`runtime`]: adaptation: the QoS controller moving along the ladder, the load injector.
//! - [`player`]: starts and joins the pipeline threads, presents frames against the clock.
//! - [`ui`]: the egui window.
//! - [`cli`]: the `dysr` subcommands.
//! - [`telemetry`]: the counters every stage publishes and the panel/summary read.

pub mod bench;
pub mod cli;
pub mod engine;
pub mod host;
pub mod media;
pub mod model;
pub mod player;
pub mod plot;
pub mod runtime;
pub mod telemetry;
pub mod threads;
pub mod ui;
