//! The upscaling stage between decode and display. The SR worker thread
//! ([`crate::player::sr_worker`]): decoded frames in, [`picture::Picture`]s out: the decoded
//! planes, plus the network's x2 luma when [`view`]'s rule says the screen shows the picture
//! enlarged (the window converts and scales on the GPU; headless runs and the benchmark stop
//! there too). What does the upscaling is an [`Upscaler`]; the plain one here runs no network
//! ([`swscale::SwsUpscaler`]: the screen's bicubic, which FFmpeg's makes on the CPU for a
//! snapshot), the "bicubic only" mode the neural upscalers are compared against.
//! [`neural::NeuralUpscaler`] runs a ladder rung on our own kernels, on the CPU ([`cpu`]) or a GPU
//! ([`gpu`]).

pub mod colour;
pub mod cpu;
pub mod gpu;
pub mod neural;
pub mod picture;
pub mod swscale;
pub mod tiles;
pub mod view;

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use thiserror::Error;

/// The upscale factor of every engine.
pub const SCALE: u32 = 2;

/// A picture ready for display: tightly packed RGBA, 8 bits per channel.
#[derive(Clone, PartialEq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub pixels: PooledBytes,
}

/// Byte buffers lent to frames and taken back when a frame is dropped, so a steady stream of
/// frames of one size allocates nothing.
#[derive(Clone, Default)]
pub struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

/// Buffers kept for reuse: the frames in flight between the SR worker and the screen.
const POOLED_BUFFERS: usize = 8;

impl BufferPool {
    /// A buffer of `len` bytes (contents unspecified), reused when one is free.
    pub fn take(&self, len: usize) -> PooledBytes {
        let mut bytes = self.0.lock().pop().unwrap_or_default();
        bytes.resize(len, 0);
        PooledBytes { bytes, pool: Arc::downgrade(&self.0) }
    }

    /// Buffers waiting to be reused.
    pub fn idle(&self) -> usize {
        self.0.lock().len()
    }
}

/// A buffer from a [`BufferPool`] (or a plain one), returned to its pool on drop.
pub struct PooledBytes {
    bytes: Vec<u8>,
    pool: Weak<Mutex<Vec<Vec<u8>>>>,
}

impl From<Vec<u8>> for PooledBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self { bytes, pool: Weak::new() }
    }
}

impl Drop for PooledBytes {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut idle = pool.lock();
            if idle.len() < POOLED_BUFFERS {
                idle.push(std::mem::take(&mut self.bytes));
            }
        }
    }
}

impl Clone for PooledBytes {
    /// A copy of its own, outside any pool.
    fn clone(&self) -> Self {
        self.bytes.clone().into()
    }
}

impl PartialEq for PooledBytes {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl std::ops::Deref for PooledBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::ops::DerefMut for PooledBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl std::fmt::Debug for RgbaImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbaImage {{ {}x{} }}", self.width, self.height)
    }
}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("cannot convert a {width}x{height} {format} frame: {cause}")]
    Convert { width: u32, height: u32, format: String, cause: String },
    #[error("cannot load a rung: {0}")]
    Weights(#[source] crate::model::error::ModelError),
    #[error(transparent)]
    Manifest(#[from] crate::model::manifest::ManifestError),
    #[error(transparent)]
    Device(#[from] crate::model::error::ModelError),
    /// A rung the ladder does not have.
    #[error("rung {rung}: the ladder has rungs 0 to {last}")]
    NoSuchRung { rung: usize, last: usize },
}

/// What turns a frame's luma into luma at twice the size: a ladder rung on the CPU kernels
/// ([`cpu::network::NetworkRunner`]) or on a GPU ([`gpu::GpuRunner`]).
pub trait LumaEngine: Send {
    /// The device and how it runs, for the stats panel.
    fn describe(&self) -> String;
    fn spec(&self) -> crate::model::supernet::SubgraphSpec;
    /// Sizes the buffers for `width` x `height` frames (a no-op when they already are).
    fn prepare(&mut self, width: usize, height: usize);
    /// Row `y` of the next frame's luma, to be filled with values in [0, 1].
    fn input_row(&mut self, y: usize) -> &mut [f32];
    /// Upscales the frame's luma into `output` (2W x 2H).
    fn run(&mut self, output: &mut [f32]);
    /// The x2 luma of planar `frame` (`layout`, its codes mapped to the network by `network`) left
    /// on the GPU the window draws with, where this engine runs there and was asked to; None
    /// otherwise (the caller runs the rows through [`LumaEngine::run`]).
    fn upscale_on_device(
        &mut self,
        _frame: &ffmpeg_next::frame::Video,
        _layout: picture::PlaneLayout,
        _network: colour::NetworkLuma,
    ) -> Option<picture::LumaImage> {
        None
    }
}

impl LumaEngine for Box<dyn LumaEngine> {
    fn describe(&self) -> String {
        self.as_ref().describe()
    }
    fn spec(&self) -> crate::model::supernet::SubgraphSpec {
        self.as_ref().spec()
    }
    fn prepare(&mut self, width: usize, height: usize) {
        self.as_mut().prepare(width, height);
    }
    fn input_row(&mut self, y: usize) -> &mut [f32] {
        self.as_mut().input_row(y)
    }
    fn run(&mut self, output: &mut [f32]) {
        self.as_mut().run(output);
    }
    fn upscale_on_device(
        &mut self,
        frame: &ffmpeg_next::frame::Video,
        layout: picture::PlaneLayout,
        network: colour::NetworkLuma,
    ) -> Option<picture::LumaImage> {
        self.as_mut().upscale_on_device(frame, layout, network)
    }
}

/// Builds an upscaler; called once per opened input.
pub type UpscalerFactory = Arc<dyn Fn() -> Box<dyn Upscaler> + Send + Sync>;

/// Upscales one decoded frame to the network's x2 luma alone: the screen converts and scales the
/// rest (in the window, on the GPU; headless runs and the benchmark make what the window would).
pub trait Upscaler: Send {
    /// A short name for the stats panel: what runs now.
    fn name(&self) -> String;
    /// The network's x2 luma of `frame`, or None where no network runs (the screen's scaler
    /// shows the decoded planes).
    fn upscale_luma(&mut self, frame: &ffmpeg_next::frame::Video) -> Result<Option<picture::LumaImage>, EngineError>;
    /// When the next frame is shown, for how long in the stream (the stream's rate) and at which
    /// playback speed (it is on screen for duration / speed), for upscalers that budget their time
    /// or sample their output.
    fn set_frame_timing(&mut self, _pts_secs: f64, _duration_secs: f64, _speed: f64) {}
    /// Called once before playback with the stream's frame size and interval, for upscalers that
    /// measure themselves first.
    fn prepare(&mut self, _width: u32, _height: u32, _frame_interval_secs: f64) {}
}
