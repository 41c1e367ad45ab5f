//! The egui window. [`app::PlayerApp`] owns the player and applies [`UiCommand`]s after drawing;
//! each panel is its own file with `*_ui` functions that only read state and return commands.

pub mod adaptation_panel;
pub mod app;
pub mod seek_bar;
pub mod stats_panel;
pub mod transport;
pub mod video_view;

pub use app::PlayerApp;

/// What the user asked for during one frame of the UI; applied after drawing.
#[derive(Debug, Clone, PartialEq)]
pub enum UiCommand {
    TogglePause,
    Seek { target_secs: f64 },
    SeekBy { delta_secs: f64 },
    SetVolume { level: f32 },
    /// Change the volume by this much (keys 9 and 0).
    NudgeVolume { delta: f32 },
    ToggleMute,
    ToggleFullscreen,
    ToggleStats,
    ToggleLoop,
    Open { input: String },
    PickFile,
    ShowAbout,
    DismissError,
    Quit,
}

/// The renderer eframe draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RendererChoice {
    /// wgpu when there is a GPU, glow on a software rasterizer.
    #[default]
    Auto,
    /// wgpu (Vulkan, Metal, DX12 or GL underneath).
    Wgpu,
    /// OpenGL through glow.
    Glow,
}

impl RendererChoice {
    fn renderer(self) -> eframe::Renderer {
        match self {
            RendererChoice::Wgpu => eframe::Renderer::Wgpu,
            RendererChoice::Glow => eframe::Renderer::Glow,
            RendererChoice::Auto if crate::engine::adapter::hardware_adapter_name().is_some() => eframe::Renderer::Wgpu,
            // Measured under Xvfb on Mesa's software rasterizers: the 720p demo is shown at 11 fps
            // through wgpu on lavapipe and at the stream's 24 fps through glow on llvmpipe.
            RendererChoice::Auto => eframe::Renderer::Glow,
        }
    }
}


/// How the window starts.
#[derive(Clone, Default)]
pub struct WindowOptions {
    pub renderer: RendererChoice,
    /// Open with the stats panel shown.
    pub show_stats: bool,
    /// The ladder's state, when the player adapts (the panel shows it and drives it).
    pub adaptation: Option<std::sync::Arc<crate::runtime::Adaptation>>,
}

/// Opens the player window and runs it until closed.
pub fn run_window(input: Option<String>, options: crate::player::PlayerOptions, window: WindowOptions) -> Result<(), String> {
    let native_options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("dysr")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([480.0, 320.0])
            .with_drag_and_drop(true),
        renderer: window.renderer.renderer(),
        ..Default::default()
    };
    eframe::run_native(
        "dysr",
        native_options,
        Box::new(move |cc| {
            let mut app = PlayerApp::new(&cc.egui_ctx, input, options);
            app.set_stats_visible(window.show_stats);
            app.set_adaptation(window.adaptation);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}

/// `mm:ss`, or `h:mm:ss` past an hour.
pub fn format_time(secs: f64) -> String {
    let total = secs.max(0.0).floor() as u64;
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 { format!("{hours}:{minutes:02}:{seconds:02}") } else { format!("{minutes:02}:{seconds:02}") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_like_a_player_shows_them() {
        assert_eq!(super::format_time(0.0), "00:00");
        assert_eq!(super::format_time(65.9), "01:05");
        assert_eq!(super::format_time(3725.0), "1:02:05");
    }
}
