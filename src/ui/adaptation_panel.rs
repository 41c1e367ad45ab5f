//! The adaptation part of the panel (key `i`): the mode (adaptive, locked to a rung, bicubic only),
//! the active rung and the ladder, SR and display rates against the target, the load slider, a
//! frame-time plot with the deadline and the switches, and the process's memory and CPU load.

use std::time::Instant;

use egui::Ui;
use egui_plot::{HLine, Line, Plot, PlotPoints, VLine};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::UiCommand;
use super::stats_panel::value_grid;
use crate::adaptation::{Adaptation, LadderLevel, Mode};

/// The process's memory and the machine's CPU load, refreshed at most twice a second.
pub struct SystemMonitor {
    system: Option<System>,
    pid: Option<Pid>,
    refreshed: Option<Instant>,
    pub rss_bytes: u64,
    pub cpu_percent: f32,
}

impl Default for SystemMonitor {
    fn default() -> Self {
        Self {
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            refreshed: None,
            rss_bytes: 0,
            cpu_percent: 0.0,
        }
    }
}

impl SystemMonitor {
    pub fn sample(&mut self, now: Instant) {
        if self.refreshed.is_some_and(|then| now.duration_since(then).as_secs_f64() < 0.5) {
            return;
        }
        self.refreshed = Some(now);
        let Some(system) = &mut self.system else { return };
        system.refresh_cpu_usage();
        self.cpu_percent = system.global_cpu_usage();
        if let Some(pid) = self.pid {
            system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::nothing().with_memory(),
            );
            self.rss_bytes = system.process(pid).map_or(0, |process| process.memory());
        }
    }
}

/// The load slider's label.
pub const LOAD_SLIDER: &str = "injected load";
/// The power cap slider's label.
pub const POWER_CAP_SLIDER: &str = "power cap";

/// The panel rows and controls for `adaptation`; `display_fps` and `target_fps` (the stream's rate
/// at the playback speed) from the player.
/// What the user changed comes back as commands.
pub fn adaptation_ui(
    ui: &mut Ui,
    adaptation: &Adaptation,
    monitor: &SystemMonitor,
    display_fps: f64,
    target_fps: f64,
) -> Vec<UiCommand> {
    let mut commands = Vec::new();
    let levels = &adaptation.levels;
    let mut mode = adaptation.controls.mode();
    ui.horizontal(|ui| {
        ui.label("mode");
        ui.radio_value(&mut mode, Mode::Adaptive, "adaptive")
            .on_hover_text("The controller picks the level for each frame from the load");
        let locked = match mode {
            Mode::Locked(rung) => rung,
            _ => 0,
        };
        if ui.radio(matches!(mode, Mode::Locked(_)), "locked").on_hover_text("Always the rung chosen beside").clicked()
        {
            mode = Mode::Locked(locked);
        }
        if let Mode::Locked(rung) = &mut mode {
            egui::ComboBox::new("locked_rung", "rung")
                .selected_text(&levels[LadderLevel::Rung(*rung).index()].name)
                .show_ui(ui, |ui| {
                    for (index, level) in levels.iter().enumerate() {
                        if let LadderLevel::Rung(index) = LadderLevel::from_index(index) {
                            ui.selectable_value(rung, index, &level.name);
                        }
                    }
                });
        }
        ui.radio_value(&mut mode, Mode::Bicubic, "bicubic only").on_hover_text("No network: the plain bicubic scaler");
    });
    if mode != adaptation.controls.mode() {
        commands.push(UiCommand::SetMode(mode));
    }

    let active = adaptation.statistics.active();
    let level = &levels[active];
    let description = match (level.spec, level.val_psnr_y) {
        (Some(spec), Some(psnr)) => format!(
            "{} {} ({} x {}), {} params, {:.2} dB",
            level.name, spec, spec.depth, spec.width, level.params, psnr
        ),
        _ => format!("{} (the floor, no network)", level.name),
    };
    let recent = adaptation.statistics.recent();
    let sr_ms = recent.iter().rev().take(24).map(|sample| sample.sr_ms).sum::<f64>() / recent.len().clamp(1, 24) as f64;
    let budget_ms = adaptation.statistics.budget_ms();
    let switches = adaptation.statistics.switches();
    let (engine, on_gpu) = adaptation.statistics.engine();
    // On a GPU the time is the GPU's, from submission to completion.
    let time_kind = if on_gpu { "GPU ms" } else { "ms" };
    value_grid(ui, "adaptation", |row| {
        row("SR runs on", engine);
        row("active rung", if mode == Mode::Bicubic { "bicubic only, no network".to_owned() } else { description });
        let sr_rate = match recent.last() {
            // The floor runs no network: there is no SR time to speak of.
            Some(last) if LadderLevel::from_index(last.level) != LadderLevel::Floor => {
                format!("{:.1} ({sr_ms:.1} {time_kind} a frame, budget {budget_ms:.1} ms)", 1e3 / sr_ms.max(1e-3))
            }
            Some(_) => format!("no network (budget {budget_ms:.1} ms)"),
            None => "no frame through the ladder yet".to_owned(),
        };
        row("SR fps", sr_rate);
        row("display fps", format!("{display_fps:.1} (target {target_fps:.3})"));
        row("switches", switches.len().to_string());
        let mib = |bytes: f64| bytes / f64::from(1 << 20);
        let model_place = if on_gpu { " on the GPU (weights and frame buffers)" } else { "" };
        row(
            "memory",
            format!(
                "{:.0} MiB resident, model state {:.1} MiB{model_place}",
                mib(monitor.rss_bytes as f64),
                mib(adaptation.statistics.model_bytes() as f64)
            ),
        );
        row("CPU load", format!("{:.0}%", monitor.cpu_percent));
    });
    if !switches.is_empty() {
        ui.label("last switches").on_hover_text("When (s since start), from which level to which, and why: over budget = the active level was about to miss the frame time; headroom = the next level fitted for half a second");
        for switch in switches.iter().rev().take(LAST_SWITCHES_SHOWN) {
            ui.monospace(switch_line(switch));
        }
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("ladder");
        for (index, level) in levels.iter().enumerate() {
            let tip = match (level.spec, level.val_psnr_y) {
                (Some(spec), Some(psnr)) => format!(
                    "{} ({} x {}), {} params, {psnr:.2} dB on the validation photos",
                    spec, spec.depth, spec.width, level.params
                ),
                _ => "the floor: no network".to_owned(),
            };
            ui.add_enabled(
                index == active || mode != Mode::Bicubic,
                egui::Button::selectable(index == active, &level.name),
            )
            .on_hover_text(tip);
        }
    });
    let mut split = adaptation.controls.split().is_some();
    if ui
        .checkbox(&mut split, "split view: bicubic | DySR (drag the divider)")
        .on_hover_text("Bicubic left of a divider, the network right of it; z: the zoom lens under the pointer")
        .changed()
    {
        commands.push(UiCommand::SetSplit(split.then_some(0.5)));
    }
    let mut load = adaptation.controls.load.level();
    if ui
        .add(egui::Slider::new(&mut load, 0..=100).suffix("%").text(LOAD_SLIDER))
        .on_hover_text(format!("Load from {}", adaptation.controls.load.describe()))
        .changed()
    {
        commands.push(UiCommand::SetLoad(load));
    }
    let mut cap = adaptation.controls.power_cap();
    let cap_slider = egui::Slider::new(&mut cap, crate::adaptation::MIN_POWER_CAP..=100)
        .suffix("% of a frame")
        .text(POWER_CAP_SLIDER);
    if ui.add(cap_slider).on_hover_text("The share of each frame interval the network may use (for laptops on battery); at 100% only the controller's own 75% margin holds").changed() {
        commands.push(UiCommand::SetPowerCap(cap));
    }
    let points: PlotPoints = recent.iter().map(|sample| [sample.at_secs, sample.sr_ms]).collect();
    let first = recent.first().map_or(0.0, |sample| sample.at_secs);
    let last = recent.last().map_or(0.0, |sample| sample.at_secs);
    // At least the last second, zero and the deadline always in view: the first few samples alone
    // would stretch the axes over a range of their own.
    let plot = Plot::new("frame_times")
        .height(120.0)
        .width(360.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .y_axis_label("SR ms");
    plot.include_x(last - 1.0).include_x(last).include_y(0.0).include_y(budget_ms).show(ui, |plot| {
        plot.line(Line::new("SR ms per frame", points));
        plot.hline(HLine::new("deadline", budget_ms));
        for switch in switches.iter().filter(|switch| switch.at_secs >= first) {
            plot.vline(VLine::new(format!("{} -> {}", switch.from, switch.to), switch.at_secs));
        }
    });
    commands
}

/// Switches listed in the panel, newest first.
const LAST_SWITCHES_SHOWN: usize = 4;

/// One switch as the panel lists it: "12.3 s  r2 -> floor  over budget".
pub fn switch_line(switch: &crate::adaptation::SwitchRecord) -> String {
    format!("{:7.1} s  {} -> {}  {}", switch.at_secs, switch.from, switch.to, switch.reason)
}

/// Over the picture at `rect`: the split view's divider, draggable, with the two sides named; a
/// drag comes back as a command.
pub fn split_divider_ui(ui: &mut Ui, adaptation: &Adaptation, rect: egui::Rect) -> Option<UiCommand> {
    let divider = adaptation.controls.split()?;
    let x = rect.left() + divider * rect.width();
    let handle = egui::Rect::from_min_max(egui::pos2(x - 8.0, rect.top()), egui::pos2(x + 8.0, rect.bottom()));
    let response = ui
        .interact(handle, ui.scope_id().with("split_divider"), egui::Sense::drag())
        .on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
    let command = response
        .dragged()
        .then(|| response.interact_pointer_pos())
        .flatten()
        .map(|pointer| UiCommand::SetSplit(Some((pointer.x - rect.left()) / rect.width())));
    let painter = ui.painter();
    painter.line_segment(
        [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
        egui::Stroke::new(2.0, egui::Color32::WHITE),
    );
    let font = egui::FontId::proportional(16.0);
    painter.text(
        egui::pos2(x - 10.0, rect.top() + 10.0),
        egui::Align2::RIGHT_TOP,
        "bicubic",
        font.clone(),
        egui::Color32::WHITE,
    );
    painter.text(egui::pos2(x + 10.0, rect.top() + 10.0), egui::Align2::LEFT_TOP, "DySR", font, egui::Color32::WHITE);
    command
}
