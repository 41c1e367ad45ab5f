//! The upscaling stage between decode and display. [`worker`] is the SR worker thread: decoded
//! frames in, RGBA frames at twice the size out. What does the upscaling is an [`Upscaler`]; the
//! plain one here is FFmpeg's bicubic scaler ([`swscale::SwsUpscaler`]), which is also the
//! "bicubic only" mode the neural upscalers are compared against. [`neural::NeuralUpscaler`] runs a
//! ladder rung on the CPU with our own kernels ([`cpu`]).

pub mod adapter;
pub mod cpu;
pub mod neural;
pub mod swscale;
pub mod worker;

use thiserror::Error;

/// The upscale factor of every engine.
pub const SCALE: u32 = 2;

/// A picture ready for display: tightly packed RGBA, 8 bits per channel.
#[derive(Clone, PartialEq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for RgbaImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbaImage {{ {}x{} }}", self.width, self.height)
    }
}

/// An upscaled frame with its presentation time.
#[derive(Debug, Clone)]
pub struct RgbaFrame {
    pub pts_secs: f64,
    pub duration_secs: f64,
    pub image: RgbaImage,
}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("cannot convert a {width}x{height} {format} frame: {cause}")]
    Convert { width: u32, height: u32, format: String, cause: String },
}

/// Builds an upscaler; called once per opened input.
pub type UpscalerFactory = std::sync::Arc<dyn Fn() -> Box<dyn Upscaler> + Send + Sync>;

/// Turns one decoded frame into an upscaled RGBA frame.
pub trait Upscaler: Send {
    /// A short name for the stats panel.
    fn name(&self) -> String;
    fn upscale(&mut self, frame: &ffmpeg_next::frame::Video) -> Result<RgbaImage, EngineError>;
}
