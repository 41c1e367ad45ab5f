//! The SR worker thread: decoded frames in, upscaled RGBA frames out, in order, one at a time.
//! It owns its [`Upscaler`]; it wakes the UI when a frame is ready and never touches UI state.
//! A frame whose display time has already passed at the master clock is not upscaled at all
//! (ffplay's early frame drop): when upscaling is slower than real time, the picture stays in sync
//! with the sound and loses frames instead of falling further and further behind.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::{RgbaFrame, Upscaler};
use crate::media::clock::Clock;
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
    /// The master clock, to skip frames that are already too late.
    pub clock: Arc<Clock>,
}

impl SrWorker {
    pub fn run(mut self) {
        while let Ok(message) = self.frames_in.recv() {
            if self.generation.is_stale(message.generation) {
                continue;
            }
            let output = match message.item {
                Item::Data(frame) if self.is_too_late(&frame, message.generation) => {
                    Counters::bump(&self.counters.frames_dropped_early);
                    continue;
                }
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

    /// True when the clock is already past the end of `frame`'s display interval.
    fn is_too_late(&self, frame: &VideoFrame, generation: u64) -> bool {
        self.clock
            .now_secs(generation, Instant::now())
            .is_some_and(|clock_secs| clock_secs > frame.pts_secs + frame.duration_secs)
    }

    fn upscale(&mut self, frame: &VideoFrame) -> Option<RgbaFrame> {
        self.upscaler.set_frame_timing(frame.pts_secs, frame.duration_secs);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::swscale::SwsUpscaler;

    fn frame_at(pts_secs: f64) -> VideoFrame {
        crate::media::init_ffmpeg();
        let frame = ffmpeg_next::frame::Video::new(ffmpeg_next::format::Pixel::YUV420P, 16, 16);
        VideoFrame { pts_secs, duration_secs: 0.04, frame }
    }

    /// Runs a worker over `items` with `upscaler`, the clock at `clock_secs` (None: not started).
    fn run_worker(upscaler: Box<dyn Upscaler>, clock_secs: Option<f64>, items: Vec<Tagged<VideoFrame>>) -> (Vec<String>, Arc<Counters>) {
        let (frames_tx, frames_in) = crossbeam_channel::bounded(items.len());
        let (frames_out, upscaled) = crossbeam_channel::bounded(items.len());
        let (events, _events_rx) = crossbeam_channel::bounded(8);
        let clock = Arc::new(Clock::default());
        if let Some(secs) = clock_secs {
            clock.set(0, secs, Instant::now());
        }
        let worker = SrWorker {
            upscaler,
            generation: Generation::default(),
            frames_in,
            frames_out,
            events,
            counters: Arc::default(),
            wake: None,
            clock,
        };
        let counters = Arc::clone(&worker.counters);
        for item in items {
            frames_tx.send(item).unwrap();
        }
        drop(frames_tx);
        worker.run();
        let out: Vec<String> = upscaled
            .try_iter()
            .map(|tagged| match tagged.item {
                Item::Start { .. } => "start".to_owned(),
                Item::Data(frame) => format!("{}@{}x{}", frame.pts_secs, frame.image.width, frame.image.height),
                Item::End => "end".to_owned(),
            })
            .collect();
        (out, counters)
    }

    #[test]
    fn frames_already_past_at_the_clock_are_skipped_in_order_and_counted() {
        let items = vec![Tagged::start(0, 0.0), Tagged::data(0, frame_at(1.0)), Tagged::data(0, frame_at(20.0)), Tagged::end(0)];
        let (out, counters) = run_worker(Box::new(SwsUpscaler::new()), Some(10.0), items);
        assert_eq!(out, ["start", "20@32x32", "end"]);
        assert_eq!(counters.frames_dropped_early.load(Ordering::Relaxed), 1);
        assert_eq!(counters.frames_upscaled.load(Ordering::Relaxed), 1);
    }

    /// Through a neural rung, with the clock not yet running: every frame comes out, in order.
    #[test]
    fn the_neural_worker_keeps_every_frame_in_order() {
        let upscaler = crate::engine::neural::rung_factory(&crate::model::manifest::default_manifest_path(), 0, crate::model::device::DeviceChoice::Cpu).expect("shipped model")();
        let times: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.04).collect();
        let mut items = vec![Tagged::start(0, 0.0)];
        items.extend(times.iter().map(|&t| Tagged::data(0, frame_at(t))));
        items.push(Tagged::end(0));
        let (out, counters) = run_worker(upscaler, None, items);
        let mut expected = vec!["start".to_owned()];
        expected.extend(times.iter().map(|t| format!("{t}@32x32")));
        expected.push("end".to_owned());
        assert_eq!(out, expected);
        assert_eq!(counters.frames_upscaled.load(Ordering::Relaxed), 12);
    }
}
