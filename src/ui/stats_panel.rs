//! The stats panel (key `i`): decode and display rates, drops, A/V offset, what decodes and what
//! plays. It reads the telemetry snapshot only (mpv's stats.lua reads only properties).

use std::time::Instant;

use egui::Ui;

use crate::player::Player;
use crate::player::presenter::StreamState;
use crate::telemetry::Telemetry;

/// Rates are recomputed over windows at least this long, so they read steadily.
const RATE_WINDOW_SECS: f64 = 0.5;

/// Turns counter snapshots into per-second rates.
#[derive(Default)]
pub struct RateMeter {
    last: Option<(Instant, Telemetry)>,
    pub decode_fps: f64,
    pub display_fps: f64,
}

impl RateMeter {
    pub fn sample(&mut self, now: Instant, telemetry: Telemetry) {
        let Some((then, before)) = self.last else {
            self.last = Some((now, telemetry));
            return;
        };
        let elapsed = now.duration_since(then).as_secs_f64();
        if elapsed < RATE_WINDOW_SECS {
            return;
        }
        let rate = |after: u64, before: u64| after.saturating_sub(before) as f64 / elapsed;
        self.decode_fps = rate(telemetry.frames_decoded, before.frames_decoded);
        self.display_fps = rate(telemetry.frames_presented, before.frames_presented);
        self.last = Some((now, telemetry));
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
