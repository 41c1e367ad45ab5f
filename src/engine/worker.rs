//! The SR worker thread: decoded frames in, upscaled RGBA frames out, in order, one at a time.
//! It owns its [`Upscaler`]; it wakes the UI when a frame is ready and never touches UI state.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::{RgbaFrame, Upscaler};
use crate::media::{Generation, Item, PipelineEvent, Tagged, VideoFrame};
use crate::telemetry::Counters;

/// Called after each item is handed on (a repaint request in the GUI).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

pub struct SrWorker {
    pub upscaler: Box<dyn Upscaler>,
    pub generation: Generation,
    pub frames_in: Receiver<Tagged<VideoFrame>>,
    pub frames_out: Sender<Tagged<RgbaFrame>>,
    pub events: Sender<PipelineEvent>,
    pub counters: Arc<Counters>,
    pub wake: Option<Wake>,
}

impl SrWorker {
    pub fn run(mut self) {
        while let Ok(message) = self.frames_in.recv() {
            if self.generation.is_stale(message.generation) {
                continue;
            }
            let output = match message.item {
                Item::Data(frame) => match self.upscale(&frame) {
                    Some(rgba) => Tagged::data(message.generation, rgba),
                    None => continue,
                },
                Item::Start { from_secs } => Tagged::start(message.generation, from_secs),
                Item::End => Tagged::end(message.generation),
            };
            if self.frames_out.send(output).is_err() {
                return;
            }
            if let Some(wake) = &self.wake {
                wake();
            }
        }
    }

    fn upscale(&mut self, frame: &VideoFrame) -> Option<RgbaFrame> {
        let started = Instant::now();
        match self.upscaler.upscale(&frame.frame) {
            Ok(image) => {
                let micros = started.elapsed().as_micros() as u64;
                self.counters.last_upscale_micros.store(micros, Ordering::Relaxed);
                Counters::bump(&self.counters.frames_upscaled);
                Some(RgbaFrame { pts_secs: frame.pts_secs, duration_secs: frame.duration_secs, image })
            }
            Err(error) => {
                tracing::warn!("{error}");
                self.events.try_send(PipelineEvent::Warning(error.to_string())).ok();
                None
            }
        }
    }
}
