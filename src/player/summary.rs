//! The one-line JSON summary of a playback run, headless (`dysr play --headless`) or in the window
//! (`dysr play --exit-after`): what played, what was shown, what was dropped and where, how much
//! went through the network, and the memory it took.

use serde::Serialize;

use super::Player;

#[derive(Debug, Clone, Serialize)]
pub struct PlaybackSummary {
    pub input: String,
    pub width: u32,
    pub height: u32,
    /// The size of the last picture made: the network's output when SR ran, else the frame's.
    pub output_width: u32,
    pub output_height: u32,
    /// The frame as displayed: sample aspect applied, then rotation.
    pub displayed_width: u32,
    pub displayed_height: u32,
    /// The on-screen size of the picture the run planned for (the window's, or `--view`).
    pub view_width: u32,
    pub view_height: u32,
    /// Why the network ran or not, for the last frame.
    pub sr_decision: String,
    /// What upscaled the frames (none when no frame was shown enlarged).
    pub upscaler: String,
    pub audio_output: String,
    /// The stream's frame rate.
    pub stream_fps: f64,
    /// The playback speed at the end of the run (1: normal).
    pub speed: f64,
    pub frames_decoded: u64,
    pub frames_presented: u64,
    /// Frames not shown: `frames_dropped_early` + `frames_dropped_late`.
    pub frames_dropped: u64,
    /// Skipped before upscaling: already late at the clock.
    pub frames_dropped_early: u64,
    /// Overtaken at display by a later frame that was due too.
    pub frames_dropped_late: u64,
    /// Frames the SR stage ran a network on.
    pub frames_upscaled: u64,
    /// `frames_upscaled` over the frames that reached the SR stage and were not skipped there.
    pub sr_share: f64,
    pub corrupt_packets: u64,
    pub max_av_offset_ms: f64,
    pub duration_s: f64,
    pub decode_fps: f64,
    /// Frames presented per second of the run.
    pub display_fps: f64,
    /// The process's peak resident memory.
    pub peak_rss_mib: f64,
}

impl PlaybackSummary {
    /// The summary of `player` after `duration_s` seconds of playing, its picture planned for a
    /// `view` on screen.
    pub fn of(player: &Player, duration_s: f64, output: Option<(u32, u32)>) -> Self {
        let telemetry = player.telemetry();
        let info = player.info();
        let (displayed_width, displayed_height) =
            info.video.geometry.displayed_pixels(info.video.width, info.video.height);
        let (view_width, view_height) = player.view().size().unwrap_or((2 * displayed_width, 2 * displayed_height));
        let (output_width, output_height) = output.unwrap_or((0, 0));
        let reached_sr = telemetry.frames_decoded.saturating_sub(telemetry.frames_dropped_early);
        Self {
            input: info.input.clone(),
            width: info.video.width,
            height: info.video.height,
            output_width,
            output_height,
            displayed_width,
            displayed_height,
            view_width,
            view_height,
            sr_decision: player.view().last_decision().map(|decision| decision.reason).unwrap_or_default(),
            upscaler: if telemetry.frames_upscaled == 0 {
                "none: no frame was shown enlarged".to_owned()
            } else {
                player.upscaler_name()
            },
            audio_output: player.audio_output_description(),
            stream_fps: info.video.frames_per_sec,
            speed: player.speed(),
            frames_decoded: telemetry.frames_decoded,
            frames_presented: telemetry.frames_presented,
            frames_dropped: telemetry.frames_dropped_late + telemetry.frames_dropped_early,
            frames_dropped_early: telemetry.frames_dropped_early,
            frames_dropped_late: telemetry.frames_dropped_late,
            frames_upscaled: telemetry.frames_upscaled,
            sr_share: telemetry.frames_upscaled as f64 / reached_sr.max(1) as f64,
            corrupt_packets: telemetry.corrupt_packets,
            max_av_offset_ms: telemetry.max_av_offset_secs * 1e3,
            duration_s,
            decode_fps: telemetry.frames_decoded as f64 / duration_s.max(1e-9),
            display_fps: telemetry.frames_presented as f64 / duration_s.max(1e-9),
            peak_rss_mib: crate::host::peak_rss_bytes().map_or(0.0, |bytes| bytes as f64 / f64::from(1 << 20)),
        }
    }
}
