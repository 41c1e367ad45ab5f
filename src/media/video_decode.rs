//! The video decode thread: packets in, decoded frames (stream pixel format, pts in seconds) out,
//! interlaced ones deinterlaced ([`super::deinterlace`]). After a seek it decodes forward from the
//! keyframe and drops frames before the target, so the first frame shown is the one at the
//! target (or, when the picture ends before the target, its last frame); a cover picture is
//! kept and lasts to the end. Runs in [`super::decode_loop`].

use ffmpeg_next as ffmpeg;

use super::decode_loop::{DecodeStage, StageOutput};
use super::deinterlace::Deinterlacer;
use super::{PipelineEvent, Tagged, VideoFrame};
use crate::telemetry::Counters;

/// Frames whose pts is this close before the seek target count as the target frame (timestamp
/// rounding in the container).
const SEEK_TOLERANCE_SECS: f64 = 0.001;

pub struct VideoDecoder {
    pub decoder: ffmpeg::decoder::Video,
    pub time_base: ffmpeg::Rational,
    /// The input's start time, taken off every pts ([`super::StreamInfo::start_secs`]).
    pub start_secs: f64,
    pub nominal_frame_secs: f64,
    /// For a cover picture: the end of the input, which the picture lasts until.
    pub still_until_secs: Option<f64>,
    pub frames: StageOutput<VideoFrame>,
    pub position: Position,
    pub deinterlacer: Deinterlacer,
    /// Frames out of the deinterlacer, waiting to be sent (kept to reuse its allocation).
    pub ready: Vec<ffmpeg::frame::Video>,
}

/// Per-generation decode state.
#[derive(Default)]
pub struct Position {
    generation: u64,
    /// Frames before this time are decoded but not sent (seek preroll).
    drop_before_secs: f64,
    /// pts of the last frame sent, to give timestamp-less frames a plausible one.
    last_pts_secs: Option<f64>,
    /// Whether a frame of this generation has been sent.
    sent_any: bool,
    /// The last frame dropped before the target while none has been sent: shown at the target
    /// when the picture ends before it (a seek into sound that runs on past the last frame).
    last_dropped: Option<VideoFrame>,
}

impl DecodeStage for VideoDecoder {
    type Output = VideoFrame;
    const KIND: &'static str = "video";

    fn decoder(&mut self) -> &mut ffmpeg::decoder::Opened {
        &mut self.decoder
    }

    fn start(&mut self, generation: u64, from_secs: f64) {
        self.position =
            Position { generation, drop_before_secs: from_secs - SEEK_TOLERANCE_SECS, ..Position::default() };
        self.deinterlacer.reset();
    }

    fn drain(&mut self) -> bool {
        self.drain_frames()
    }

    fn finish(&mut self) -> bool {
        if let Err(error) = self.deinterlacer.finish(&mut self.ready) {
            tracing::warn!("deinterlacing the last frame: {error}");
        }
        if !self.send_ready() {
            return false;
        }
        match self.position.last_dropped.take() {
            Some(mut last) => {
                last.pts_secs = (self.position.drop_before_secs + SEEK_TOLERANCE_SECS).max(0.0);
                self.frames.items.send(Tagged::data(self.position.generation, last)).is_ok()
            }
            None => true,
        }
    }

    fn output(&self) -> &StageOutput<VideoFrame> {
        &self.frames
    }
}

impl VideoDecoder {
    /// Sends every frame the decoder has ready. False when the next stage is gone.
    fn drain_frames(&mut self) -> bool {
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            if self.decoder.receive_frame(&mut frame).is_err() {
                return true;
            }
            Counters::bump(&self.frames.counters.frames_decoded);
            // The best-effort timestamp is the one to trust; it travels through the deinterlacer as the pts.
            let best_effort = frame.timestamp();
            frame.set_pts(best_effort);
            if let Err(error) = self.deinterlacer.push(frame, &mut self.ready) {
                let warning = format!("a frame could not be deinterlaced: {}", super::error::ffmpeg_cause(&error));
                tracing::warn!("{warning}");
                self.frames.events.try_send(PipelineEvent::Warning(warning)).ok();
            }
            if !self.send_ready() {
                return false;
            }
        }
    }

    /// Sends the frames the deinterlacer has handed on, with their times in seconds; frames before
    /// a seek target are dropped. False when the next stage is gone.
    fn send_ready(&mut self) -> bool {
        let position = &mut self.position;
        for frame in self.ready.drain(..) {
            let mut duration_secs = frame_duration_secs(&frame, self.time_base).unwrap_or(self.nominal_frame_secs);
            let mut pts_secs = match frame.pts() {
                Some(ts) => ts as f64 * f64::from(self.time_base) - self.start_secs,
                None => position.last_pts_secs.map_or(position.drop_before_secs.max(0.0), |last| last + duration_secs),
            };
            position.last_pts_secs = Some(pts_secs);
            if let Some(end_secs) = self.still_until_secs {
                // The cover picture (FFmpeg hands it on again after each seek) is shown from where
                // playback starts to the end of the input.
                pts_secs = pts_secs.max(position.drop_before_secs.max(0.0));
                duration_secs = (end_secs - pts_secs).max(self.nominal_frame_secs);
            } else if pts_secs < position.drop_before_secs {
                if !position.sent_any {
                    position.last_dropped = Some(VideoFrame { pts_secs, duration_secs, frame });
                }
                continue;
            }
            position.sent_any = true;
            position.last_dropped = None;
            if self
                .frames
                .items
                .send(Tagged::data(position.generation, VideoFrame { pts_secs, duration_secs, frame }))
                .is_err()
            {
                return false;
            }
        }
        true
    }
}

fn frame_duration_secs(frame: &ffmpeg::frame::Video, time_base: ffmpeg::Rational) -> Option<f64> {
    // SAFETY: reading a plain integer field of a valid, owned AVFrame.
    let duration = unsafe { (*frame.as_ptr()).pkt_duration };
    (duration > 0).then(|| duration as f64 * f64::from(time_base))
}
