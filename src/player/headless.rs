//! Headless playback: the whole pipeline and the clock, no window. Runs to the end of the stream and
//! summarises what happened (`dysr play --headless`, tests, benchmarks).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::presenter::StreamState;
use super::{Player, PlayerOptions};
use crate::media::{MediaError, PipelineEvent};

/// The longest one pass of the headless loop sleeps, so events are noticed promptly.
const MAX_PASS_SLEEP: Duration = Duration::from_millis(10);

/// The one-line JSON summary of a headless run.
#[derive(Debug, Clone, Serialize)]
pub struct HeadlessSummary {
    pub input: String,
    pub width: u32,
    pub height: u32,
    pub output_width: u32,
    pub output_height: u32,
    pub upscaler: String,
    pub audio_output: String,
    /// The stream's frame rate.
    pub stream_fps: f64,
    pub frames_decoded: u64,
    pub frames_presented: u64,
    /// Frames not shown: skipped before upscaling (too late already) or overtaken at display.
    pub frames_dropped: u64,
    pub corrupt_packets: u64,
    pub max_av_offset_ms: f64,
    pub duration_s: f64,
    pub decode_fps: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error(transparent)]
    Open(#[from] MediaError),
    #[error("{input}: {cause}")]
    Playback { input: String, cause: String },
}

/// Plays `input` to its end without a window.
pub fn run(input: &str, options: PlayerOptions) -> Result<HeadlessSummary, HeadlessError> {
    let mut player = Player::open(input, PlayerOptions { looping: false, ..options })?;
    let started = Instant::now();
    let mut output_size = (0, 0);
    while player.state() != StreamState::Eof {
        let wait = player.update(Instant::now());
        if let Some(frame) = player.presenter().current() {
            output_size = (frame.image.width, frame.image.height);
        }
        for event in player.take_events() {
            match event {
                PipelineEvent::Warning(warning) => tracing::warn!("{warning}"),
                PipelineEvent::Fatal(cause) => {
                    return Err(HeadlessError::Playback { input: input.to_owned(), cause });
                }
            }
        }
        match wait {
            Some(wait) if wait.is_zero() => {}
            Some(wait) => std::thread::sleep(wait.min(MAX_PASS_SLEEP)),
            None => player.wait(MAX_PASS_SLEEP),
        }
    }
    let duration_s = started.elapsed().as_secs_f64();
    let telemetry = player.telemetry();
    let info = player.info();
    Ok(HeadlessSummary {
        input: input.to_owned(),
        width: info.video.width,
        height: info.video.height,
        output_width: output_size.0,
        output_height: output_size.1,
        upscaler: player.upscaler_name().to_owned(),
        audio_output: player.audio_output_description(),
        stream_fps: info.video.frames_per_sec,
        frames_decoded: telemetry.frames_decoded,
        frames_presented: telemetry.frames_presented,
        frames_dropped: telemetry.frames_dropped_late + telemetry.frames_dropped_early,
        corrupt_packets: telemetry.corrupt_packets,
        max_av_offset_ms: telemetry.max_av_offset_secs * 1e3,
        duration_s,
        decode_fps: telemetry.frames_decoded as f64 / duration_s.max(1e-9),
    })
}
