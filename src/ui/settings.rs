//! What the window remembers between sessions, in eframe's storage (`~/.local/share/dysr/`, or
//! under `$XDG_DATA_HOME`): volume, the last folder, the panels shown, the upscaling mode, the
//! split position, the power cap and the recent inputs. eframe keeps the window's size itself.
//! What the command line asks for wins over what is remembered.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::adaptation::Mode;

/// Inputs kept in the "Recent" menu.
pub const MAX_RECENT: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// 0 to 1.
    pub volume: f32,
    pub muted: bool,
    /// Where "Open file..." starts.
    pub last_folder: Option<PathBuf>,
    pub stats_visible: bool,
    pub badge_visible: bool,
    pub mode: Mode,
    /// The split view's divider (None: off).
    pub split: Option<f32>,
    /// Percent of a frame interval SR may use.
    pub power_cap: u8,
    /// Inputs played, newest first.
    pub recent: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            volume: 1.0,
            muted: false,
            last_folder: None,
            stats_visible: false,
            badge_visible: true,
            mode: Mode::Adaptive,
            split: None,
            power_cap: 100,
            recent: Vec::new(),
        }
    }
}

impl Settings {
    /// Puts `input` first in the recent list (once), keeping at most [`MAX_RECENT`]; a local
    /// file's folder becomes the last folder.
    pub fn remember(&mut self, input: &str) {
        self.recent.retain(|known| known != input);
        self.recent.insert(0, input.to_owned());
        self.recent.truncate(MAX_RECENT);
        if !crate::media::source::is_url(input) {
            self.last_folder = std::path::Path::new(input).parent().filter(|dir| dir.is_dir()).map(std::path::Path::to_path_buf);
        }
    }
}

/// Which remembered settings a session takes: those its command line left at their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restore {
    pub volume: bool,
    /// Mode, split and power cap.
    pub upscaling: bool,
    pub stats: bool,
}

impl Restore {
    pub const ALL: Restore = Restore { volume: true, upscaling: true, stats: true };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_inputs_are_unique_newest_first_and_bounded() {
        let mut settings = Settings::default();
        for n in 0..12 {
            settings.remember(&format!("/videos/{n}.mkv"));
        }
        settings.remember("/videos/5.mkv");
        assert_eq!(settings.recent.len(), MAX_RECENT);
        assert_eq!(settings.recent[0], "/videos/5.mkv");
        assert_eq!(settings.recent.iter().filter(|input| *input == "/videos/5.mkv").count(), 1);
        assert_eq!(settings.recent[1], "/videos/11.mkv");
        settings.remember("https://example.com/live.m3u8");
        assert_eq!(settings.recent[0], "https://example.com/live.m3u8");
    }

    /// An older file with fields missing, or unknown ones, still loads: what it lacks is default.
    #[test]
    fn settings_survive_a_round_trip_and_missing_fields() {
        let settings = Settings { volume: 0.4, mode: Mode::Locked(3), split: Some(0.3), power_cap: 60, ..Settings::default() };
        let text = serde_json::to_string(&settings).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&text).unwrap(), settings);
        let partial: Settings = serde_json::from_str(r#"{"volume": 0.5, "future_field": 1}"#).unwrap();
        assert_eq!(partial, Settings { volume: 0.5, ..Settings::default() });
    }
}
