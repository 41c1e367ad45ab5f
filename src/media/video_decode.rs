//! The video decode thread: packets in, decoded frames (stream pixel format, pts in seconds) out.
//! After a seek it decodes forward from the keyframe and drops frames before the target, so the
//! first frame shown is the one at the target. Stale generations are dropped without decoding.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use ffmpeg_next as ffmpeg;

use super::{Generation, Item, PipelineEvent, Tagged, VideoFrame};
use crate::telemetry::Counters;

/// Frames whose pts is this close before the seek target count as the target frame (timestamp
/// rounding in the container).
const SEEK_TOLERANCE_SECS: f64 = 0.001;

pub struct VideoDecodeThread {
    pub decoder: ffmpeg::decoder::Video,
    pub time_base: ffmpeg::Rational,
    pub nominal_frame_secs: f64,
    pub generation: Generation,
    pub packets: Receiver<Tagged<ffmpeg::Packet>>,
    pub frames: Sender<Tagged<VideoFrame>>,
    pub events: Sender<PipelineEvent>,
    pub counters: Arc<Counters>,
}

/// Per-generation decode state.
struct Position {
    generation: u64,
    /// Frames before this time are decoded but not sent (seek preroll).
    drop_before_secs: f64,
    /// pts of the last frame sent, to give timestamp-less frames a plausible one.
    last_pts_secs: Option<f64>,
}

impl VideoDecodeThread {
    pub fn run(mut self) {
        let mut position = Position { generation: 0, drop_before_secs: 0.0, last_pts_secs: None };
        while let Ok(message) = self.packets.recv() {
            if self.generation.is_stale(message.generation) {
                continue;
            }
            let keep_going = match &message.item {
                Item::Start { from_secs } => {
                    self.decoder.flush();
                    position = Position {
                        generation: message.generation,
                        drop_before_secs: from_secs - SEEK_TOLERANCE_SECS,
                        last_pts_secs: None,
                    };
                    self.forward(&message)
                }
                Item::Data(packet) => {
                    if let Err(error) = self.decoder.send_packet(packet) {
                        self.skip_corrupt(&error);
                    }
                    self.drain(&mut position)
                }
                Item::End => {
                    self.decoder.send_eof().ok();
                    self.drain(&mut position) && self.forward(&message)
                }
            };
            if !keep_going {
                return;
            }
        }
    }

    fn forward(&self, message: &Tagged<ffmpeg::Packet>) -> bool {
        message.forward_control().is_none_or(|control| self.frames.send(control).is_ok())
    }

    fn skip_corrupt(&self, error: &ffmpeg::Error) {
        Counters::bump(&self.counters.corrupt_packets);
        let cause = super::error::ffmpeg_cause(error);
        tracing::warn!("skipping a video packet that does not decode: {cause}");
        self.events.try_send(PipelineEvent::Warning(format!("skipped a damaged video packet: {cause}"))).ok();
    }

    /// Sends every frame the decoder has ready. False when the next stage is gone.
    fn drain(&mut self, position: &mut Position) -> bool {
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            if self.decoder.receive_frame(&mut frame).is_err() {
                return true;
            }
            Counters::bump(&self.counters.frames_decoded);
            let duration_secs = frame_duration_secs(&frame, self.time_base).unwrap_or(self.nominal_frame_secs);
            let pts_secs = match frame.timestamp() {
                Some(ts) => ts as f64 * f64::from(self.time_base),
                None => position.last_pts_secs.map_or(position.drop_before_secs.max(0.0), |last| last + duration_secs),
            };
            position.last_pts_secs = Some(pts_secs);
            if pts_secs < position.drop_before_secs {
                continue;
            }
            let sent = self.frames.send(Tagged::data(position.generation, VideoFrame { pts_secs, duration_secs, frame }));
            if sent.is_err() {
                return false;
            }
        }
    }
}

fn frame_duration_secs(frame: &ffmpeg::frame::Video, time_base: ffmpeg::Rational) -> Option<f64> {
    // SAFETY: reading a plain integer field of a valid, owned AVFrame.
    let duration = unsafe { (*frame.as_ptr()).pkt_duration };
    (duration > 0).then(|| duration as f64 * f64::from(time_base))
}
