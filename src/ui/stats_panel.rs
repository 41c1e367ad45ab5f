//! The stats panel (key `i`): decode and display rates, drops, A/V offset, what decodes and what
//! plays. It reads the telemetry snapshot only (mpv's stats.lua reads only properties).

use std::collections::VecDeque;
use std::time::Instant;

use egui::Ui;

use crate::player::Player;
use crate::player::presenter::StreamState;
use crate::telemetry::Telemetry;

/// Rates count the frames of about the last this many seconds: one frame more or less at the
/// window's ends moves a rate by one over the window (over half a second, a steady 24 fps read
/// anything from 22 to 26)...
const RATE_SPAN_SECS: f64 = 2.0;
/// ...and are recomputed this often, so they read steadily.
const RATE_EVERY_SECS: f64 = 0.5;

/// Turns counter snapshots into per-second rates.
#[derive(Default)]
pub struct RateMeter {
    /// One snapshot of the counters every `RATE_EVERY_SECS`, back to `RATE_SPAN_SECS` ago.
    snapshots: VecDeque<(Instant, Telemetry)>,
    pub decode_fps: f64,
    pub display_fps: f64,
}

impl RateMeter {
    pub fn sample(&mut self, now: Instant, telemetry: Telemetry) {
        if self.snapshots.back().is_some_and(|(last, _)| now.duration_since(*last).as_secs_f64() < RATE_EVERY_SECS) {
            return;
        }
        self.snapshots.push_back((now, telemetry));
        while self.snapshots.len() > 2 && now.duration_since(self.snapshots[1].0).as_secs_f64() >= RATE_SPAN_SECS {
            self.snapshots.pop_front();
        }
        let (then, before) = self.snapshots[0];
        let elapsed = now.duration_since(then).as_secs_f64();
        if elapsed <= 0.0 {
            return;
        }
        let rate = |after: u64, before: u64| after.saturating_sub(before) as f64 / elapsed;
        self.decode_fps = rate(telemetry.frames_decoded, before.frames_decoded);
        self.display_fps = rate(telemetry.frames_presented, before.frames_presented);
    }
}

/// A two-column grid of named values; `fill` adds the rows.
pub fn value_grid(ui: &mut Ui, id: &str, fill: impl FnOnce(&mut dyn FnMut(&str, String))) {
    egui::Grid::new(id).num_columns(2).striped(true).show(ui, |ui| {
        fill(&mut |name: &str, value: String| {
            ui.label(name);
            ui.monospace(value);
            ui.end_row();
        });
    });
}

/// What the player is doing, in a word or two.
fn playback_state(player: &Player) -> &'static str {
    if player.is_buffering(Instant::now()) {
        "buffering"
    } else if player.is_paused() {
        "paused"
    } else {
        match player.state() {
            StreamState::Syncing => "starting",
            StreamState::Playing => "playing",
            StreamState::Eof => "ended",
        }
    }
}

pub fn stats_ui(ui: &mut Ui, player: &Player, rates: &RateMeter) {
    let info = player.info();
    let telemetry = player.telemetry();
    value_grid(ui, "stats", |row| {
        row("input", info.title.clone());
        row("state", playback_state(player).to_owned());
        row(
            "video",
            format!(
                "{} {}x{} @ {:.3} fps",
                info.video.codec, info.video.width, info.video.height, info.video.frames_per_sec
            ),
        );
        let upscaled = player.presenter().current().map(|picture| {
            let (width, height) = picture.size();
            row(
                "output",
                format!("{width}x{height}{}", if picture.is_upscaled() { " (network)" } else { " (decoded planes)" }),
            );
            picture.is_upscaled()
        });
        if let Some(decision) = player.view().last_decision() {
            // The decision says whether the size calls for SR; the ladder may still be on its
            // floor (no network) for this frame, as the badge says.
            let now = if decision.run && upscaled == Some(false) { "; this frame: no network" } else { "" };
            row("SR", format!("{}{now}", decision.reason));
        }
        row("upscaler", player.upscaler_name());
        row("upscale time", format!("{:.2} ms", telemetry.last_upscale_secs * 1e3));
        match &info.audio {
            Some(audio) => row("audio", format!("{} {} Hz, {} ch", audio.codec, audio.sample_rate, audio.channels)),
            None => row("audio", "none".to_owned()),
        }
        row("audio output", player.audio_output_description());
        row("decode fps", format!("{:.1}", rates.decode_fps));
        let speed = if player.speed() == 1.0 { String::new() } else { format!(", played at {:.2}x", player.speed()) };
        row("display fps", format!("{:.1} (stream {:.3}{speed})", rates.display_fps, info.video.frames_per_sec));
        row(
            "dropped frames",
            format!(
                "{} ({} before upscaling, {} at display)",
                telemetry.frames_dropped_late + telemetry.frames_dropped_early,
                telemetry.frames_dropped_early,
                telemetry.frames_dropped_late
            ),
        );
        let delay = match player.audio_delay_secs() {
            0.0 => String::new(),
            secs => format!(", sound delayed {}", super::format_delay(secs)),
        };
        row(
            "A/V offset",
            format!(
                "{:.1} ms (max {:.1} ms{delay})",
                telemetry.last_av_offset_secs * 1e3,
                telemetry.max_av_offset_secs * 1e3
            ),
        );
        row("corrupt packets", telemetry.corrupt_packets.to_string());
        row("audio underruns", telemetry.audio_underruns.to_string());
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A steady 24 fps stream sampled at every repaint (about 60 Hz) reads 24 within half a frame
    /// per second at every repaint once the window is full, and has a first reading after half a
    /// second.
    #[test]
    fn a_steady_rate_reads_steadily() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        let mut readings = Vec::new();
        for repaint in 0..600 {
            // Repaints about 60 times a second, a few milliseconds early or late; frames shown
            // between them, not in step with them (the stream had been playing for a while).
            let secs = repaint as f64 / 60.0 + 0.0015 * ((repaint * 7) % 11) as f64;
            let frames = ((secs + 9.987) * 24.0).floor() as u64;
            let telemetry = Telemetry { frames_decoded: frames + 5, frames_presented: frames, ..Telemetry::default() };
            meter.sample(start + Duration::from_secs_f64(secs), telemetry);
            readings.push((secs, meter.display_fps, meter.decode_fps));
        }
        assert!(readings.iter().any(|&(secs, fps, _)| secs <= 0.55 && fps > 0.0), "a first reading");
        for &(secs, display, decode) in readings.iter().filter(|(secs, ..)| *secs >= RATE_SPAN_SECS + RATE_EVERY_SECS) {
            assert!((display - 24.0).abs() <= 0.5, "display {display:.2} fps at {secs:.2} s");
            assert!((decode - 24.0).abs() <= 0.5, "decode {decode:.2} fps at {secs:.2} s");
        }
    }
}
