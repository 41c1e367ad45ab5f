//! What the window remembers between sessions, in eframe's storage (`~/.local/share/dysr/`, or
//! under `$XDG_DATA_HOME`): volume, the last folder, the panels shown, the upscaling mode, the
//! split position, the power cap, the recent inputs and where each was left. eframe keeps the
//! window's size itself.
//! What the command line asks for wins over what is remembered.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::adaptation::Mode;

/// Inputs kept in the "Recent" menu.
pub const MAX_RECENT: usize = 10;

/// A position is remembered only this far past an input's start and before its end: what was
/// watched to the end starts again from the beginning.
pub const RESUME_MARGIN_SECS: f64 = 10.0;

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
    /// Where inputs of the recent list were left, (input, seconds): they start there again, as
    /// in VLC or mpv's watch-later.
    pub positions: Vec<(String, f64)>,
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
            positions: Vec::new(),
        }
    }
}

impl Settings {
    /// Puts `input` first in the recent list (once), keeping at most [`MAX_RECENT`]; a local
    /// file's folder becomes the last folder.
    pub fn remember(&mut self, input: &str) {
        // Standard input cannot be opened again.
        if input == crate::media::source::STDIN {
            return;
        }
        self.recent.retain(|known| known != input);
        self.recent.insert(0, input.to_owned());
        self.recent.truncate(MAX_RECENT);
        if !crate::media::source::is_url(input) {
            self.last_folder =
                std::path::Path::new(input).parent().filter(|dir| dir.is_dir()).map(std::path::Path::to_path_buf);
        }
    }

    /// Remembers that `input` (of the recent list) was left at `secs`; forgets it when that is
    /// near its start or its end, or when its duration is unknown (a live stream). Positions of
    /// inputs no longer in the recent list are dropped.
    pub fn remember_position(&mut self, input: &str, secs: f64, duration_secs: Option<f64>) {
        let recent = &self.recent;
        self.positions.retain(|(known, _)| known != input && recent.contains(known));
        let inside =
            duration_secs.is_some_and(|duration| secs >= RESUME_MARGIN_SECS && secs <= duration - RESUME_MARGIN_SECS);
        if inside && recent.iter().any(|known| known == input) {
            self.positions.push((input.to_owned(), secs));
        }
    }

    /// Where `input` was left, if that is remembered.
    pub fn resume_position(&self, input: &str) -> Option<f64> {
        self.positions.iter().find(|(known, _)| known == input).map(|&(_, secs)| secs)
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
        settings.remember("-");
        assert_eq!(settings.recent[0], "https://example.com/live.m3u8", "standard input cannot be opened again");
    }

    /// A position inside an input is kept, one near either end or of a live stream forgotten, and
    /// only inputs of the recent list keep theirs.
    #[test]
    fn positions_are_kept_inside_recent_inputs() {
        let mut settings = Settings::default();
        settings.remember("/videos/film.mkv");
        settings.remember("/videos/short.mp4");
        settings.remember_position("/videos/film.mkv", 754.5, Some(5400.0));
        assert_eq!(settings.resume_position("/videos/film.mkv"), Some(754.5));
        settings.remember_position("/videos/film.mkv", 900.0, Some(5400.0));
        assert_eq!(settings.positions, vec![("/videos/film.mkv".to_owned(), 900.0)], "one position an input");
        settings.remember_position("/videos/short.mp4", 4.0, Some(20.0));
        settings.remember_position("/videos/never-opened.mp4", 100.0, Some(5400.0));
        assert_eq!(
            (settings.resume_position("/videos/short.mp4"), settings.resume_position("/videos/never-opened.mp4")),
            (None, None)
        );
        settings.remember_position("/videos/film.mkv", 5395.0, Some(5400.0));
        assert_eq!(settings.resume_position("/videos/film.mkv"), None, "watched to the end");
        settings.remember_position("/videos/film.mkv", 600.0, None);
        assert_eq!(settings.resume_position("/videos/film.mkv"), None, "a live stream");
        settings.remember_position("/videos/film.mkv", 600.0, Some(5400.0));
        for n in 0..MAX_RECENT {
            settings.remember(&format!("/videos/{n}.mkv"));
        }
        settings.remember_position("/videos/3.mkv", 60.0, Some(120.0));
        assert_eq!(settings.positions, vec![("/videos/3.mkv".to_owned(), 60.0)], "the film left the recent list");
    }

    /// An older file with fields missing, or unknown ones, still loads: what it lacks is default.
    #[test]
    fn settings_survive_a_round_trip_and_missing_fields() {
        let settings =
            Settings { volume: 0.4, mode: Mode::Locked(3), split: Some(0.3), power_cap: 60, ..Settings::default() };
        let text = serde_json::to_string(&settings).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&text).unwrap(), settings);
        let partial: Settings = serde_json::from_str(r#"{"volume": 0.5, "future_field": 1}"#).unwrap();
        assert_eq!(partial, Settings { volume: 0.5, ..Settings::default() });
    }
}
