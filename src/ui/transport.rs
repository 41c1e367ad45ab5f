//! The transport bar: play/pause, seek bar with time and duration, speed (when not normal),
//! volume, mute, loop, fullscreen, stats. Reads the player's state and returns commands; never changes the player itself.

use egui::Ui;

use super::seek_bar::SeekBar;
use super::{UiCommand, format_time};
use crate::player::Player;

/// State of the bar that outlives a frame.
#[derive(Default)]
pub struct TransportState {
    pub seek_dragging_to: Option<f64>,
}

pub fn transport_ui(ui: &mut Ui, player: &Player, state: &mut TransportState) -> Vec<UiCommand> {
    let mut commands = Vec::new();
    let position = player.position_secs();
    let duration = player.duration_secs().unwrap_or(position).max(position);
    ui.horizontal(|ui| {
        let play_label = if player.is_paused() { "Play" } else { "Pause" };
        if ui.button(play_label).on_hover_text("Play or pause (Space; . and , step a frame)").clicked() {
            commands.push(UiCommand::TogglePause);
        }
        ui.label(format!("{} / {}", format_time(state.seek_dragging_to.unwrap_or(position)), format_time(duration)));
        let speed = player.speed();
        if speed != 1.0
            && ui
                .button(format!("{speed:.2}x"))
                .on_hover_text("Playback speed ([ ] and { }); click or Backspace: normal")
                .clicked()
        {
            commands.push(UiCommand::SetSpeed { speed: 1.0 });
        }

        // Right-hand controls first (right to left), the seek bar takes what is left.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Stats").on_hover_text("The stats and adaptation panel (i)").clicked() {
                commands.push(UiCommand::ToggleStats);
            }
            if ui.button("Fullscreen").on_hover_text("Fullscreen on or off (f)").clicked() {
                commands.push(UiCommand::ToggleFullscreen);
            }
            if ui.selectable_label(player.is_looping(), "Loop").on_hover_text("Start again at the end (l)").clicked() {
                commands.push(UiCommand::ToggleLoop);
            }
            let mut level = player.volume().level();
            let volume = ui
                .add(egui::Slider::new(&mut level, 0.0..=1.0).show_value(false).text("Volume"))
                .on_hover_text("Volume (9 and 0)");
            if volume.changed() {
                commands.push(UiCommand::SetVolume { level });
            }
            let mute_label = if player.volume().is_muted() { "Unmute" } else { "Mute" };
            if ui.button(mute_label).on_hover_text("Sound off or on (m)").clicked() {
                commands.push(UiCommand::ToggleMute);
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                let seek =
                    SeekBar::new(position, duration, &player.info().chapters, &mut state.seek_dragging_to).show(ui);
                if let Some(target_secs) = seek.seek_to_secs {
                    commands.push(UiCommand::Seek { target_secs });
                }
            });
        });
    });
    commands
}
