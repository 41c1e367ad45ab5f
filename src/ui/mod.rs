//! The egui window. [`app::PlayerApp`] owns the player and applies [`UiCommand`]s after drawing;
//! each panel is its own file with `*_ui` functions that only read state and return commands.

pub mod adaptation_panel;
pub mod app;
pub mod demo;
pub mod playlist;
pub mod seek_bar;
pub mod settings;
pub mod snapshot;
pub mod stats_panel;
pub mod transport;
pub mod video_view;

pub use app::{PlayerApp, TimedRun};

/// What the user asked for during one frame of the UI; applied after drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum UiCommand {
    TogglePause,
    Seek {
        target_secs: f64,
    },
    SeekBy {
        delta_secs: f64,
    },
    SetVolume {
        level: f32,
    },
    /// Change the volume by this much (keys 9 and 0).
    NudgeVolume {
        delta: f32,
    },
    ToggleMute,
    ToggleFullscreen,
    ToggleStats,
    ToggleLoop,
    Open {
        input: String,
    },
    PickFile,
    ShowAbout,
    ShowMediaInfo,
    DismissError,
    Quit,
    /// The adaptation panel's controls.
    SetMode(crate::adaptation::Mode),
    SetSplit(Option<f32>),
    SetLoad(u8),
    SetPowerCap(u8),
    /// `s`: save the presented frame and its sidecar.
    SaveSnapshot,
    /// `.` / `,`: pause and show the next / previous frame.
    StepFrame {
        forward: bool,
    },
    /// `b`: the "SR on" badge.
    ToggleBadge,
    /// `D`: the load profile played live, with captions.
    ToggleDemo,
    /// `v`: subtitles shown or hidden.
    ToggleSubtitles,
    /// `j`: the next subtitle track (after the last: none).
    NextSubtitleTrack,
    /// `z`: the split view's zoom lens on or off.
    ToggleLens,
    /// `#`: the next audio track (the input is opened again on it, at the same place).
    NextAudioTrack,
    /// Files dropped together: played one after another.
    OpenAll {
        inputs: Vec<String>,
    },
    /// `>` / `<`: the playlist's next / previous input.
    PlaylistStep {
        forward: bool,
    },
    /// PgDn / PgUp: the next chapter, or back to this one's start (or the one before).
    ChapterStep {
        forward: bool,
    },
    /// Backspace (1) or the speed button: play at this speed.
    SetSpeed {
        speed: f64,
    },
    /// `[` / `]` (by 1.1), `{` / `}` (by 2): play this many times slower or faster.
    ScaleSpeed {
        factor: f64,
    },
    /// Ctrl + / Ctrl -: the sound this much later (earlier when negative) against the picture.
    NudgeAudioDelay {
        delta_secs: f64,
    },
}

/// How the window starts.
#[derive(Default)]
pub struct WindowOptions {
    /// Open fullscreen.
    pub fullscreen: bool,
    /// Close after a while and leave a summary (`--exit-after`).
    pub timed_run: Option<TimedRun>,
    /// Open with the stats panel shown.
    pub show_stats: bool,
    /// The ladder's state, when the player adapts (the panel shows it and drives it).
    pub adaptation: Option<std::sync::Arc<crate::adaptation::Adaptation>>,
    /// Shown under the open bar for the whole session (why the network is off, say).
    pub notice: Option<String>,
    /// Where `s` saves frames (default: the current folder).
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Which remembered settings to take (None: none, and nothing is remembered; a timed QA run
    /// starts from defaults and leaves the user's settings alone).
    pub restore: Option<settings::Restore>,
    /// The GPU the ladder runs on: the window draws with its device, so the network's output is
    /// sampled where it was made (None: eframe picks its own device).
    pub gpu: Option<&'static crate::model::device::GpuContext>,
}

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("cannot open the window: {0}")]
    Window(#[from] eframe::Error),
    #[error("{}: {source}", path.display())]
    Screenshot { path: std::path::PathBuf, source: image::ImageError },
    /// `s`: the presented frame could not be saved.
    #[error("{}: cannot save the frame: {cause}", path.display())]
    Snapshot { path: std::path::PathBuf, cause: String },
    /// A timed run whose input could not be played: the error the window showed.
    #[error("{0}")]
    Playback(String),
}

/// Opens the player window and runs it until closed.
pub fn run_window(
    inputs: Vec<String>,
    options: crate::player::PlayerOptions,
    window: WindowOptions,
) -> Result<(), UiError> {
    let remember = window.restore.is_some() && window.timed_run.is_none();
    let mut native_options = eframe::NativeOptions {
        persist_window: remember,
        viewport: egui::ViewportBuilder::default()
            .with_title("dysr")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([480.0, 320.0])
            .with_drag_and_drop(true),
        // The picture is drawn by our own wgpu shader, on the device the ladder runs on.
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    if let Some(gpu) = window.gpu {
        use eframe::egui_wgpu::{WgpuSetup, WgpuSetupExisting};
        native_options.wgpu_options.wgpu_setup = WgpuSetup::Existing(WgpuSetupExisting {
            instance: gpu.instance.clone(),
            adapter: gpu.adapter.clone(),
            device: gpu.device.clone(),
            queue: gpu.queue.clone(),
        });
    }
    eframe::run_native(
        "dysr",
        native_options,
        Box::new(move |cc| {
            let render_state = cc.wgpu_render_state.as_ref().ok_or("eframe started without wgpu")?;
            let max_texture_side = video_view::install(render_state);
            let mut app = PlayerApp::new(&cc.egui_ctx, inputs, options);
            app.set_max_texture_side(max_texture_side);
            app.set_start_fullscreen(window.fullscreen);
            app.set_stats_visible(window.show_stats);
            app.set_adaptation(window.adaptation);
            app.set_notice(window.notice);
            if let (true, Some(restore)) = (remember, window.restore) {
                let remembered = cc
                    .storage
                    .and_then(|storage| eframe::get_value::<settings::Settings>(storage, eframe::APP_KEY))
                    .unwrap_or_default();
                app.apply_settings(remembered, restore);
                app.set_remembering(true);
            }
            if let Some(dir) = window.snapshot_dir {
                app.set_snapshot_dir(dir);
            }
            if let Some(run) = window.timed_run {
                app.set_timed_run(run);
            }
            Ok(Box::new(app))
        }),
    )?;
    Ok(())
}

/// `mm:ss`, or `h:mm:ss` past an hour.
pub fn format_time(secs: f64) -> String {
    let total = secs.max(0.0).floor() as u64;
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 { format!("{hours}:{minutes:02}:{seconds:02}") } else { format!("{minutes:02}:{seconds:02}") }
}

/// An audio delay as mpv shows it: "+100 ms", "-1250 ms".
pub fn format_delay(secs: f64) -> String {
    format!("{:+.0} ms", secs * 1e3)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_like_a_player_shows_them() {
        assert_eq!(super::format_time(0.0), "00:00");
        assert_eq!(super::format_time(65.9), "01:05");
        assert_eq!(super::format_time(3725.0), "1:02:05");
        assert_eq!(super::format_delay(0.1), "+100 ms");
        assert_eq!(super::format_delay(-1.25), "-1250 ms");
    }
}
