//! Everything FFmpeg and the sound card touch: opening an input ([`source`]), the demux thread
//! ([`demux`]), the video and audio decode threads ([`video_decode`], [`audio_decode`]), the audio
//! output that drives the master clock ([`audio_out`]) and the clock itself ([`clock`]).
//!
//! Every item that crosses a channel is a [`Tagged`] value carrying the generation it belongs to.
//! A seek or a close bumps the shared [`Generation`]; each stage drops items of older generations,
//! so no stage waits for another to confirm a flush (ffplay's packet serials).

pub mod audio_decode;
pub mod audio_out;
pub mod clock;
pub mod decode_loop;
pub mod deinterlace;
pub mod demux;
pub mod error;
pub mod geometry;
pub mod hdr;
pub mod inputs;
pub mod seek;
pub mod source;
pub mod subtitles;
pub mod tempo;
pub mod video_decode;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::MediaError;
pub use source::{MediaSource, StreamInfo};

/// The current playback generation, shared by every stage of one player.
#[derive(Debug, Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Starts a new generation (seek, close) and returns it.
    pub fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// True when an item of generation `generation` is outdated and must be dropped.
    pub fn is_stale(&self, generation: u64) -> bool {
        generation < self.current()
    }
}

/// A number the controls set and a pipeline thread reads on its own schedule (the playback speed,
/// the audio delay): an f64 kept as its bits in an atomic.
#[derive(Debug, Default)]
pub struct SharedF64(AtomicU64);

impl SharedF64 {
    pub fn new(value: f64) -> Self {
        Self(AtomicU64::new(value.to_bits()))
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Stores `value` and returns it.
    pub fn set(&self, value: f64) -> f64 {
        self.0.store(value.to_bits(), Ordering::Relaxed);
        value
    }
}

/// What flows down every pipeline channel.
#[derive(Debug)]
pub struct Tagged<T> {
    pub generation: u64,
    pub item: Item<T>,
}

#[derive(Debug)]
pub enum Item<T> {
    /// First item of a generation: playback (re)starts at `from_secs` (0 when opening, the target
    /// after a seek). Stages reset their state; decoders drop output before `from_secs`.
    Start {
        from_secs: f64,
    },
    Data(T),
    /// The input ended for this generation.
    End,
}

impl<T> Tagged<T> {
    pub fn start(generation: u64, from_secs: f64) -> Self {
        Self { generation, item: Item::Start { from_secs } }
    }
    pub fn data(generation: u64, data: T) -> Self {
        Self { generation, item: Item::Data(data) }
    }
    pub fn end(generation: u64) -> Self {
        Self { generation, item: Item::End }
    }
    /// The same control item for the next stage (data items are converted by the stage itself).
    pub fn forward_control<U>(&self) -> Option<Tagged<U>> {
        match self.item {
            Item::Start { from_secs } => Some(Tagged::start(self.generation, from_secs)),
            Item::End => Some(Tagged::end(self.generation)),
            Item::Data(_) => None,
        }
    }
}

/// A decoded picture, still in the stream's pixel format (usually YUV 4:2:0).
pub struct VideoFrame {
    pub pts_secs: f64,
    pub duration_secs: f64,
    pub frame: ffmpeg_next::frame::Video,
}

/// Decoded, resampled audio in the output's format: interleaved f32 at the output's rate.
#[derive(Debug)]
pub struct AudioChunk {
    /// The stream time of the first sample.
    pub pts_secs: f64,
    pub samples: Vec<f32>,
    /// Stream seconds a second of these samples covers: the playback speed they were stretched to.
    pub rate: f64,
}

/// Events a pipeline thread reports to whoever owns the player (the UI or the headless loop).
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// Something was skipped but playback goes on (a corrupt packet, a failed audio device).
    Warning(String),
    /// The thread stopped for this reason; playback cannot go on.
    Fatal(String),
}

/// Makes the FFmpeg library quiet (its own log lines would break the one-line error contract) and
/// initialises it once. `RUST_LOG=debug` lets FFmpeg's warnings through.
pub fn init_ffmpeg() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        ffmpeg_next::init().ok();
        let verbose = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("debug") || v.contains("trace"));
        ffmpeg_next::log::set_level(if verbose {
            ffmpeg_next::log::Level::Warning
        } else {
            ffmpeg_next::log::Level::Quiet
        });
    });
}

/// A `width` x `height` 8-bit 4:2:0 frame with smooth gradients: what calibration times (timing
/// does not depend on content) and what tests convert.
pub fn gradient_frame(width: u32, height: u32) -> ffmpeg_next::frame::Video {
    init_ffmpeg();
    let mut frame = ffmpeg_next::frame::Video::new(ffmpeg_next::format::Pixel::YUV420P, width, height);
    for plane in 0..3 {
        let (plane_width, plane_height) = (frame.plane_width(plane) as usize, frame.plane_height(plane) as usize);
        let stride = frame.stride(plane);
        let data = frame.data_mut(plane);
        for y in 0..plane_height {
            for x in 0..plane_width {
                data[y * stride + x] = (16 + x * 150 / plane_width + y * 50 / plane_height + plane * 10) as u8;
            }
        }
    }
    frame
}
