//! The SR worker thread: decoded frames in, [`Picture`]s out, in order, one at a time. For each
//! frame it asks the [`ViewTarget`] whether the screen shows it enlarged; if so its [`Upscaler`]
//! makes the network's luma (the screen converts and scales the rest), if not the decoded planes
//! go on alone. It wakes the UI when a picture is ready and never touches UI state.
//! A frame whose display time has already passed at the master clock is not upscaled at all
//! (ffplay's early frame drop): when upscaling is slower than real time, the picture stays in sync
//! with the sound and loses frames instead of falling further and further behind.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::engine::picture::{Picture, PlaneLayout, ToPlanar, Upscaled};
use crate::engine::view::ViewTarget;
use crate::engine::{EngineError, Upscaler};
use crate::media::clock::{Clock, Speed};
use crate::media::geometry::DisplayGeometry;
use crate::media::{Generation, Item, PipelineEvent, Tagged, VideoFrame};
use crate::telemetry::Counters;

/// Called after each item is handed on (a repaint request in the GUI).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

pub struct SrWorker {
    pub upscaler: Box<dyn Upscaler>,
    /// Where the worker publishes what upscales now (for the panel and summaries).
    pub upscaler_name: Arc<parking_lot::Mutex<String>>,
    /// Where the picture is shown, and so whether the network runs.
    pub view: Arc<ViewTarget>,
    /// How the stream says its frames are displayed (for the displayed size).
    pub geometry: DisplayGeometry,
    /// Frames the screen cannot read as they are (packed RGB, YUYV...) are brought to 4:2:0.
    pub to_planar: ToPlanar,
    pub generation: Generation,
    pub frames_in: Receiver<Tagged<VideoFrame>>,
    pub frames_out: Sender<Tagged<Picture>>,
    pub events: Sender<PipelineEvent>,
    pub counters: Arc<Counters>,
    pub wake: Option<Wake>,
    /// The master clock, to skip frames that are already too late.
    pub clock: Arc<Clock>,
    /// The playback speed, which shortens the time the upscaler has for a frame.
    pub speed: Arc<Speed>,
}

impl SrWorker {
    pub fn run(mut self) {
        while let Ok(message) = self.frames_in.recv() {
            if self.generation.is_stale(message.generation) {
                continue;
            }
            let output = match message.item {
                Item::Data(frame) if self.is_too_late(&frame, message.generation) => {
                    tracing::debug!(pts_secs = frame.pts_secs, "frame dropped before upscaling: already late");
                    Counters::bump(&self.counters.frames_dropped_early);
                    continue;
                }
                Item::Data(frame) => match self.picture(frame) {
                    Ok(picture) => Tagged::data(message.generation, picture),
                    Err(error) => {
                        tracing::warn!("{error}");
                        self.events.try_send(PipelineEvent::Warning(error.to_string())).ok();
                        continue;
                    }
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

    /// The picture of `frame`: upscaled when the view enlarges it, the planes alone otherwise.
    fn picture(&mut self, decoded: VideoFrame) -> Result<Picture, EngineError> {
        let VideoFrame { pts_secs, duration_secs, frame } = decoded;
        let frame = match PlaneLayout::of(frame.format()) {
            Some(_) => frame,
            None => self.to_planar.converted_copy(&frame)?,
        };
        if !self.view.decide(frame.width(), frame.height(), self.geometry) {
            self.counters.last_upscale_micros.store(0, Ordering::Relaxed);
            return Ok(Picture { pts_secs, duration_secs, frame, upscaled: Upscaled::None });
        }
        self.upscaler.set_frame_timing(pts_secs, duration_secs, self.speed.get());
        let started = Instant::now();
        let upscaled = self.upscaler.upscale_luma(&frame)?.map_or(Upscaled::None, Upscaled::Luma);
        self.counters.last_upscale_micros.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        *self.upscaler_name.lock() = self.upscaler.name();
        let picture = Picture { pts_secs, duration_secs, frame, upscaled };
        if picture.is_upscaled() {
            Counters::bump(&self.counters.frames_upscaled);
        }
        Ok(picture)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::swscale::SwsUpscaler;

    fn rung_zero() -> Box<dyn Upscaler> {
        let manifest = crate::model::manifest::default_manifest_path();
        crate::engine::neural::rung_factory(&manifest, 0, crate::model::device::DeviceChoice::Cpu)
            .expect("shipped model")()
    }

    fn frame_at(pts_secs: f64) -> VideoFrame {
        crate::media::init_ffmpeg();
        let frame = ffmpeg_next::frame::Video::new(ffmpeg_next::format::Pixel::YUV420P, 16, 16);
        VideoFrame { pts_secs, duration_secs: 0.04, frame }
    }

    /// Runs a worker over `items` with `upscaler`, the clock at `clock_secs` (None: not started).
    fn run_worker(
        upscaler: Box<dyn Upscaler>,
        clock_secs: Option<f64>,
        items: Vec<Tagged<VideoFrame>>,
    ) -> (Vec<String>, Arc<Counters>) {
        run_worker_on(upscaler, ViewTarget::default(), clock_secs, items)
    }

    /// [`run_worker`] with the picture shown as `view` says.
    fn run_worker_on(
        upscaler: Box<dyn Upscaler>,
        view: ViewTarget,
        clock_secs: Option<f64>,
        items: Vec<Tagged<VideoFrame>>,
    ) -> (Vec<String>, Arc<Counters>) {
        let (frames_tx, frames_in) = crossbeam_channel::bounded(items.len());
        let (frames_out, upscaled) = crossbeam_channel::bounded(items.len());
        let (events, _events_rx) = crossbeam_channel::bounded(8);
        let clock = Arc::new(Clock::default());
        if let Some(secs) = clock_secs {
            clock.set(0, secs, Instant::now());
        }
        let worker = SrWorker {
            upscaler,
            upscaler_name: Arc::default(),
            view: Arc::new(view),
            geometry: DisplayGeometry::default(),
            to_planar: ToPlanar::default(),
            generation: Generation::default(),
            frames_in,
            frames_out,
            events,
            counters: Arc::default(),
            wake: None,
            clock,
            speed: Arc::default(),
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
                Item::Data(picture) => {
                    let (width, height) = picture.size();
                    let kind = match picture.upscaled {
                        Upscaled::None => "planes",
                        Upscaled::Luma(_) => "luma",
                    };
                    format!("{}@{width}x{height} {kind}", picture.pts_secs)
                }
                Item::End => "end".to_owned(),
            })
            .collect();
        (out, counters)
    }

    #[test]
    fn frames_already_past_at_the_clock_are_skipped_in_order_and_counted() {
        let items = vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, frame_at(1.0)),
            Tagged::data(0, frame_at(20.0)),
            Tagged::end(0),
        ];
        let (out, counters) = run_worker(rung_zero(), Some(10.0), items);
        assert_eq!(out, ["start", "20@32x32 luma", "end"]);
        assert_eq!(counters.frames_dropped_early.load(Ordering::Relaxed), 1);
        assert_eq!(counters.frames_upscaled.load(Ordering::Relaxed), 1);
    }

    /// Through a neural rung, with the clock not yet running: every frame comes out, in order.
    #[test]
    fn the_neural_worker_keeps_every_frame_in_order() {
        let times: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.04).collect();
        let mut items = vec![Tagged::start(0, 0.0)];
        items.extend(times.iter().map(|&t| Tagged::data(0, frame_at(t))));
        items.push(Tagged::end(0));
        let (out, counters) = run_worker(rung_zero(), None, items);
        let mut expected = vec!["start".to_owned()];
        expected.extend(times.iter().map(|t| format!("{t}@32x32 luma")));
        expected.push("end".to_owned());
        assert_eq!(out, expected);
        assert_eq!(counters.frames_upscaled.load(Ordering::Relaxed), 12);
    }

    /// For the screen: the network's luma when the view enlarges the picture, the planes alone
    /// when it does not; a packed-RGB frame reaches the screen as planar YUV.
    #[test]
    fn the_screen_gets_luma_only_when_the_view_enlarges_the_picture() {
        let items = || vec![Tagged::data(0, frame_at(0.0)), Tagged::data(0, frame_at(0.04))];
        let (out, counters) = run_worker_on(rung_zero(), ViewTarget::new(Some((40, 40)), 1.2), None, items());
        assert_eq!(out, ["0@32x32 luma", "0.04@32x32 luma"]);
        assert_eq!(counters.frames_upscaled.load(Ordering::Relaxed), 2);
        let (out, counters) = run_worker_on(rung_zero(), ViewTarget::new(Some((16, 16)), 1.2), None, items());
        assert_eq!(out, ["0@16x16 planes", "0.04@16x16 planes"]);
        assert_eq!(counters.frames_upscaled.load(Ordering::Relaxed), 0);

        let rgb = VideoFrame {
            pts_secs: 0.0,
            duration_secs: 0.04,
            frame: ffmpeg_next::frame::Video::new(ffmpeg_next::format::Pixel::RGB24, 16, 16),
        };
        let (out, _) =
            run_worker_on(Box::new(SwsUpscaler::new()), ViewTarget::default(), None, vec![Tagged::data(0, rgb)]);
        assert_eq!(out, ["0@16x16 planes"], "the GPU's bicubic scales it; no network");
    }
}
