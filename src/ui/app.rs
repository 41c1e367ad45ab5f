//! The player window: owns the [`Player`], turns input (keys, clicks, dropped files) into
//! [`UiCommand`]s and applies them after drawing (egui demo's `run_cmd`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use egui::{Key, Ui, ViewportCommand};
use parking_lot::Mutex;

use super::UiCommand;
use super::adaptation_panel::{SystemMonitor, adaptation_ui, split_divider_ui};
use super::playlist::Playlist;
use super::settings::{Restore, Settings};
use super::stats_panel::{RateMeter, stats_ui};
use super::transport::{TransportState, transport_ui};
use super::video_view::{VideoView, subtitle_canvas};
use crate::adaptation::Adaptation;
use crate::adaptation::Mode;
use crate::engine::view::ViewTarget;
use crate::media::PipelineEvent;
use crate::media::audio_out::playable_audio_delay;
use crate::media::clock::playable_speed;
use crate::media::subtitles::{SubtitleImage, Subtitles};
use crate::player::presenter::StreamState;
use crate::player::summary::PlaybackSummary;
use crate::player::{Player, PlayerOptions};

/// Seek steps of the arrow keys, as in mpv.
const SMALL_SEEK_SECS: f64 = 5.0;
const LARGE_SEEK_SECS: f64 = 60.0;
/// Volume step of keys 9 and 0.
const VOLUME_STEP: f32 = 0.05;
/// `[` and `]` change the playback speed by this factor (mpv's).
const SPEED_STEP: f64 = 1.1;
/// Ctrl + and Ctrl - move the sound against the picture by this much (mpv's).
const AUDIO_DELAY_STEP_SECS: f64 = 0.1;
/// Fullscreen, the open bar and the transport hide this long after the last mouse move or key
/// (mpv's on-screen controller does the same).
const CONTROLS_HIDE_AFTER: Duration = Duration::from_secs(2);
/// The longest `--fullscreen` holds the input back waiting for the window to become fullscreen
/// (a window manager may refuse).
const FULLSCREEN_WAIT: Duration = Duration::from_secs(1);
/// The split view's zoom lens: its side in points and its magnification.
const LENS_SIDE: f32 = 240.0;
const LENS_ZOOM: f32 = 3.0;

const ABOUT_TEXT: &str = "dysr upscales video in real time with a weight-sharing super-resolution \
supernet and adapts it to the machine's load (DySR, ICLR 2023).\n\n\
Demo clip: Big Buck Bunny, (c) copyright 2008 Blender Foundation, www.bigbuckbunny.org, \
licensed under the Creative Commons Attribution 3.0 license.";

/// A windowed QA run (`--exit-after`): play, then close the window and leave a summary, or the
/// error that stopped playback.
#[derive(Clone)]
pub struct TimedRun {
    /// Close this long after the input opened, or at its end when sooner.
    pub after: Duration,
    /// Save a screenshot of the window here just before closing.
    pub screenshot: Option<PathBuf>,
    /// Where the outcome is left for whoever opened the window.
    pub outcome: Arc<Mutex<Option<Result<PlaybackSummary, super::UiError>>>>,
}

pub struct PlayerApp {
    /// Set when the presenter has no frame pending: then a new picture asks for a repaint.
    starving: Arc<AtomicBool>,
    player: Option<Player>,
    /// When the player opened (for the timed run's summary).
    opened_at: Option<Instant>,
    /// When the first input opened: a timed run counts from there, across the playlist.
    first_opened_at: Option<Instant>,
    /// The inputs played in turn.
    playlist: Playlist,
    /// The playlist's first input is opened on the first frame, when the window has its size.
    open_pending: bool,
    options: PlayerOptions,
    /// Where the picture is shown: written here each frame, read by the SR worker.
    view: Arc<ViewTarget>,
    timed_run: Option<TimedRun>,
    closing: bool,
    /// Where the picture was drawn last frame, in points.
    picture_rect: Option<egui::Rect>,
    /// Go fullscreen on the first frame (`--fullscreen`).
    start_fullscreen: bool,
    /// When the first frame asked for fullscreen: the input opens once the window is fullscreen
    /// (or after `FULLSCREEN_WAIT`), so the clock does not start under the resize and the first
    /// fullscreen paints (0.3-0.9 s of late frames on a software rasterizer when it did).
    fullscreen_asked_at: Option<Instant>,
    /// The last mouse move, click or key (fullscreen controls show for a while after it).
    last_activity: Instant,
    video: VideoView,
    transport: TransportState,
    rates: RateMeter,
    stats_visible: bool,
    about_visible: bool,
    media_info_visible: bool,
    /// The ladder's state when the player adapts.
    adaptation: Option<Arc<Adaptation>>,
    monitor: SystemMonitor,
    url_text: String,
    /// The last error, shown in a banner until dismissed; the app stays usable.
    error: Option<String>,
    /// The last warning from the pipeline (a skipped packet, a missing sound card).
    warning: Option<String>,
    /// What holds for the whole session (the network off, and why); kept across inputs.
    notice: Option<String>,
    /// Where `s` saves frames and the outcome of the last save (written by its thread); the open
    /// bar's line about the last action.
    snapshot_dir: PathBuf,
    snapshot_outcome: Arc<Mutex<Option<Result<PathBuf, String>>>>,
    status_line: Option<String>,
    /// The "SR on: r3" badge over the picture (`b`).
    badge_visible: bool,
    /// The split view's zoom lens under the pointer (`z`), and where it was drawn last frame.
    lens_enabled: bool,
    lens_rect: Option<egui::Rect>,
    /// The presenter's demo (`D`), while it runs.
    demo: Option<super::demo::Demo>,
    /// What is remembered between sessions (the recent inputs and last folder live here; the rest
    /// is read from the window's state when saved), and whether to save it.
    settings: Settings,
    remembering: bool,
    /// The input's subtitles (read in the background), the track shown (None: off, or not
    /// chosen yet: the first track is shown once loaded) and whether they are shown at all (`v`).
    subtitles: Option<Arc<Subtitles>>,
    subtitle_track: Option<usize>,
    subtitle_chosen: bool,
    subtitles_visible: bool,
    /// The textures of the bitmap subtitle on screen, and where they were drawn last frame.
    subtitle_pictures: Option<SubtitlePictures>,
    subtitle_picture_rects: Vec<egui::Rect>,
}

/// A bitmap subtitle's pictures as textures, made once for the cue `cue` of track `track`.
struct SubtitlePictures {
    track: usize,
    cue: usize,
    images: Vec<(SubtitleImage, egui::TextureHandle)>,
}

impl PlayerApp {
    /// A window playing `inputs` one after another (or showing why it cannot). The picture is
    /// drawn on the GPU: [`super::video_view::install`] must have set up the renderer on the
    /// window's device.
    pub fn new(ctx: &egui::Context, inputs: impl IntoIterator<Item = String>, options: PlayerOptions) -> Self {
        let repaint_ctx = ctx.clone();
        let view = Arc::clone(&options.view);
        let starving = Arc::new(AtomicBool::new(true));
        let waiting = Arc::clone(&starving);
        // A new picture needs a repaint only when the screen has nothing scheduled: otherwise the
        // repaint at the next frame's due time shows it, and an extra full redraw (costly on a
        // software rasterizer) would only steal time from the next one.
        let wake = Arc::new(move || {
            if waiting.load(Ordering::Relaxed) {
                repaint_ctx.request_repaint();
            }
        });
        // Ctrl + and Ctrl - move the sound (as in mpv), not the size of the UI.
        ctx.options_mut(|options| options.zoom_with_keyboard = false);
        // Panels float over the picture without a shadow: on a software rasterizer the stats
        // panel's soft shadow took a 1080p file in a 720p window from 23.5-23.6 to 20.0-20.6
        // frames/s. Menus and tooltips match them.
        ctx.all_styles_mut(|style| {
            style.visuals.window_shadow = egui::Shadow::NONE;
            style.visuals.popup_shadow = egui::Shadow::NONE;
        });
        let options = PlayerOptions { wake: Some(wake), subtitles: true, ..options };
        Self {
            starving,
            player: None,
            opened_at: None,
            first_opened_at: None,
            playlist: Playlist::new(inputs.into_iter().collect()),
            open_pending: true,
            options,
            view,
            timed_run: None,
            closing: false,
            picture_rect: None,
            start_fullscreen: false,
            fullscreen_asked_at: None,
            last_activity: Instant::now(),
            video: VideoView::default(),
            transport: TransportState::default(),
            rates: RateMeter::default(),
            stats_visible: false,
            adaptation: None,
            monitor: SystemMonitor::default(),
            about_visible: false,
            media_info_visible: false,
            url_text: String::new(),
            error: None,
            warning: None,
            notice: None,
            snapshot_dir: PathBuf::from("."),
            snapshot_outcome: Arc::default(),
            status_line: None,
            badge_visible: true,
            lens_enabled: true,
            lens_rect: None,
            demo: None,
            settings: Settings::default(),
            remembering: false,
            subtitles: None,
            subtitle_track: None,
            subtitle_chosen: false,
            subtitles_visible: true,
            subtitle_pictures: None,
            subtitle_picture_rects: Vec::new(),
        }
    }

    /// The index of the subtitle track shown (None: off, or no choice yet and no track).
    fn shown_subtitle_track(&self) -> Option<usize> {
        if self.subtitle_chosen { self.subtitle_track } else { Some(0) }
    }

    /// The name of the subtitle track shown (None: off, none loaded yet, or none at all).
    pub fn subtitle_track_name(&self) -> Option<String> {
        self.subtitles.as_ref()?.track_name(self.shown_subtitle_track()?)
    }

    /// The subtitle text on screen now.
    pub fn subtitle_text(&self) -> Option<String> {
        if !self.subtitles_visible {
            return None;
        }
        self.subtitles.as_ref()?.text_at(self.shown_subtitle_track()?, self.player.as_ref()?.position_secs())
    }

    /// Where the pictures of the bitmap subtitle on screen were drawn last frame.
    pub fn subtitle_picture_rects(&self) -> &[egui::Rect] {
        &self.subtitle_picture_rects
    }

    /// Draws the pictures of the bitmap subtitle shown now over the picture at `picture`, placed
    /// on [`subtitle_canvas`] as on the stream's canvas (the frame's size unless the stream names another).
    fn subtitle_pictures_ui(&mut self, ui: &egui::Ui, picture: egui::Rect) {
        self.subtitle_picture_rects.clear();
        let (Some(subtitles), Some(player)) = (&self.subtitles, &self.player) else { return };
        let shown = match (self.subtitles_visible, self.shown_subtitle_track()) {
            (true, Some(track)) => subtitles.image_cue_at(track, player.position_secs()).map(|cue| (track, cue)),
            _ => None,
        };
        if shown != self.subtitle_pictures.as_ref().map(|pictures| (pictures.track, pictures.cue)) {
            self.subtitle_pictures = shown.map(|(track, cue)| {
                let images = subtitles.images(track, cue);
                let textures = images.iter().enumerate().map(|(index, image)| {
                    let pixels = egui::ColorImage::from_rgba_unmultiplied([image.width, image.height], &image.rgba());
                    ui.ctx().load_texture(
                        format!("subtitle {track}/{cue}/{index}"),
                        pixels,
                        egui::TextureOptions::LINEAR,
                    )
                });
                SubtitlePictures { track, cue, images: images.iter().cloned().zip(textures).collect() }
            });
        }
        let video = &player.info().video;
        let canvas_rect = subtitle_canvas(picture, video.geometry);
        for (image, texture) in self.subtitle_pictures.iter().flat_map(|pictures| &pictures.images) {
            let (width, height) = image.canvas.unwrap_or((video.width as usize, video.height as usize));
            let scale =
                egui::vec2(canvas_rect.width() / width.max(1) as f32, canvas_rect.height() / height.max(1) as f32);
            let min = canvas_rect.min + egui::vec2(image.x as f32 * scale.x, image.y as f32 * scale.y);
            let rect =
                egui::Rect::from_min_size(min, egui::vec2(image.width as f32 * scale.x, image.height as f32 * scale.y));
            ui.painter().image(
                texture.id(),
                rect,
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                egui::Color32::WHITE,
            );
            self.subtitle_picture_rects.push(rect);
        }
    }

    /// Whether the input's subtitles have been read.
    pub fn subtitles_loaded(&self) -> bool {
        self.subtitles.as_ref().is_some_and(|subtitles| subtitles.is_loaded())
    }

    /// `#`: the next audio track, at the same place, paused or not: switched in place; when the
    /// player cannot (the input opened without sound), by opening the input again on it.
    fn next_audio_track(&mut self, ctx: &egui::Context) {
        let Some(player) = &mut self.player else { return };
        let streams = player.info().audio_streams.clone();
        if streams.len() < 2 {
            self.status_line =
                Some(format!("{} audio track{}", streams.len(), if streams.len() == 1 { "" } else { "s" }));
            return;
        }
        let current = player
            .info()
            .audio
            .as_ref()
            .and_then(|audio| streams.iter().position(|&index| index == audio.index))
            .unwrap_or(0);
        let next = (current + 1) % streams.len();
        self.options.audio_track = Some(next);
        if let Err(error) = player.set_audio_track(next) {
            tracing::info!("{error}: opening it again on audio track {}", next + 1);
            let (at, paused, input) = (player.position_secs(), player.is_paused(), player.info().input.clone());
            self.open(ctx, &input);
            if let Some(player) = &mut self.player {
                player.seek(at);
                player.set_paused(paused);
            }
        }
        if let Some(player) = &self.player {
            let audio = player.info().audio.as_ref().map_or_else(String::new, |audio| {
                format!(": {} {} Hz, {} channels", audio.codec, audio.sample_rate, audio.channels)
            });
            self.status_line = Some(format!("audio track {} of {}{audio}", next + 1, streams.len()));
        }
    }

    /// Plays at `speed` (rounded to hundredths, kept in the playable range), this input and the
    /// next ones.
    fn set_speed(&mut self, speed: f64) {
        let speed = playable_speed((speed * 100.0).round() / 100.0);
        self.options.speed = speed;
        if let Some(player) = &mut self.player {
            player.set_speed(speed);
        }
        self.status_line = Some(format!("speed {speed:.2}x"));
    }

    /// Plays the sound `secs` later than the picture (rounded to milliseconds), this input and the
    /// next ones.
    fn set_audio_delay(&mut self, secs: f64) {
        let secs = playable_audio_delay((secs * 1e3).round() / 1e3);
        self.options.audio_delay_secs = secs;
        if let Some(player) = &mut self.player {
            player.set_audio_delay(secs);
        }
        let no_sound = self.player.as_ref().is_some_and(|player| player.info().audio.is_none());
        self.status_line = Some(format!(
            "audio delay {}{}",
            super::format_delay(secs),
            if no_sound { " (this input has no sound)" } else { "" }
        ));
    }

    /// `j`: the next track, then none, then the first again.
    fn next_subtitle_track(&mut self) {
        let count = self.subtitles.as_ref().map_or(0, |subtitles| subtitles.track_count());
        let current = if self.subtitle_chosen { self.subtitle_track } else { (count > 0).then_some(0) };
        self.subtitle_track = match current {
            None if count > 0 => Some(0),
            Some(index) if index + 1 < count => Some(index + 1),
            _ => None,
        };
        self.subtitle_chosen = true;
        self.subtitles_visible = true;
        self.status_line = Some(match (count, self.subtitle_track_name()) {
            (0, _) => "no subtitles in this input".to_owned(),
            (_, Some(name)) => format!("subtitles: {name}"),
            (_, None) => "subtitles off".to_owned(),
        });
    }

    /// Takes remembered `settings`, those `restore` allows (the command line's own choices win).
    /// Call after [`Self::set_adaptation`].
    pub fn apply_settings(&mut self, settings: Settings, restore: Restore) {
        if restore.volume {
            self.options.volume_level = settings.volume;
        }
        if restore.stats {
            self.stats_visible = settings.stats_visible;
        }
        self.badge_visible = settings.badge_visible;
        if restore.upscaling
            && let Some(adaptation) = &self.adaptation
        {
            let last = adaptation.levels.len().saturating_sub(2);
            adaptation.controls.set_mode(match settings.mode {
                Mode::Locked(rung) => Mode::Locked(rung.min(last)),
                other => other,
            });
            adaptation.controls.set_split(settings.split);
            adaptation.controls.set_power_cap(settings.power_cap);
        }
        self.settings = Settings { muted: restore.volume && settings.muted, ..settings };
    }

    /// Saves the settings when the window closes (eframe's `save`).
    pub fn set_remembering(&mut self, remembering: bool) {
        self.remembering = remembering;
    }

    /// The settings to remember now.
    pub fn settings(&self) -> Settings {
        let volume = self.player.as_ref().map(|player| player.volume());
        let adaptation = self.adaptation.as_ref().map(|adaptation| &adaptation.controls);
        let mut settings = Settings {
            volume: volume.map_or(self.options.volume_level, |volume| volume.level()),
            muted: volume.map_or(self.settings.muted, |volume| volume.is_muted()),
            stats_visible: self.stats_visible,
            badge_visible: self.badge_visible,
            mode: adaptation.map_or(self.settings.mode, |controls| controls.mode()),
            split: adaptation.map_or(self.settings.split, |controls| controls.split()),
            power_cap: adaptation.map_or(self.settings.power_cap, |controls| controls.power_cap()),
            ..self.settings.clone()
        };
        if let Some(player) = &self.player {
            remember_where_left(&mut settings, player);
        }
        settings
    }

    /// The demo's caption now, while it runs.
    pub fn demo_caption(&self) -> Option<String> {
        let level = self
            .adaptation
            .as_ref()
            .map_or_else(String::new, |adaptation| adaptation.levels[adaptation.statistics.active()].name.clone());
        self.demo.as_ref()?.caption(Instant::now(), &level)
    }

    /// Starts the demo (the adaptive ladder, the panel open, the load profile from now), or stops
    /// it and takes the load away.
    fn toggle_demo(&mut self) {
        let Some(adaptation) = &self.adaptation else {
            self.status_line = Some("the demo needs the ladder (no model could be loaded)".to_owned());
            return;
        };
        if self.demo.take().is_some() {
            adaptation.controls.load.set_level(0);
            return;
        }
        adaptation.controls.set_mode(crate::adaptation::Mode::Adaptive);
        self.stats_visible = true;
        self.demo = Some(super::demo::Demo::start(Instant::now(), adaptation.statistics.engine().1));
    }

    /// Moves the injected load along the demo's profile; ends the demo after it.
    fn drive_demo(&mut self, ctx: &egui::Context, now: Instant) {
        let (Some(demo), Some(adaptation)) = (&self.demo, &self.adaptation) else { return };
        match demo.load(now) {
            Some(load) => {
                if adaptation.controls.load.level() != load {
                    adaptation.controls.load.set_level(load);
                }
                ctx.request_repaint_after(Duration::from_millis(100));
            }
            None => {
                adaptation.controls.load.set_level(0);
                self.demo = None;
            }
        }
    }

    /// Where `s` saves frames.
    pub fn set_snapshot_dir(&mut self, dir: PathBuf) {
        self.snapshot_dir = dir;
    }

    /// The open bar's line about the last action (a frame saved, a track chosen, why the demo
    /// cannot run).
    pub fn status_line(&self) -> Option<&str> {
        self.status_line.as_deref()
    }

    pub fn badge_visible(&self) -> bool {
        self.badge_visible
    }

    /// Where the split view's zoom lens was drawn last frame (None: not shown).
    pub fn lens_rect(&self) -> Option<egui::Rect> {
        self.lens_rect
    }

    /// The badge's text for the picture on screen: which level made it, or that none did.
    pub fn badge_text(&self) -> Option<String> {
        let picture = self.player.as_ref()?.presenter().current()?;
        if !picture.is_upscaled() {
            return Some("SR off".to_owned());
        }
        let level = self
            .adaptation
            .as_ref()
            .and_then(|adaptation| adaptation.frame_at(picture.pts_secs).map(|(_, level)| level.name.clone()));
        Some(format!(
            "SR on: {}",
            level.unwrap_or_else(|| self.player.as_ref().map(Player::upscaler_name).unwrap_or_default())
        ))
    }

    /// Saves the presented frame and its sidecar on a thread of its own (PNG encoding takes a few
    /// frames' time); the outcome shows under the open bar.
    fn save_snapshot(&mut self, ctx: &egui::Context) {
        let Some(player) = &self.player else { return };
        let Some(picture) = player.presenter().current().cloned() else { return };
        let displayed = self.picture_rect.map_or([0, 0], |rect| {
            let pixels = rect.size() * ctx.pixels_per_point();
            [pixels.x.round() as u32, pixels.y.round() as u32]
        });
        let sidecar = super::snapshot::Sidecar::of(
            &picture,
            &player.info().input,
            player.upscaler_name(),
            displayed,
            self.adaptation.as_deref(),
        );
        let (dir, outcome, repaint) = (self.snapshot_dir.clone(), Arc::clone(&self.snapshot_outcome), ctx.clone());
        self.status_line = Some("saving the frame…".to_owned());
        std::thread::spawn(move || {
            *outcome.lock() = Some(super::snapshot::save(picture, &sidecar, &dir).map_err(|error| error.to_string()));
            repaint.request_repaint();
        });
    }

    /// Goes fullscreen on the first frame.
    pub fn set_start_fullscreen(&mut self, fullscreen: bool) {
        self.start_fullscreen = fullscreen;
    }

    /// Closes the window after `run.after` (or at the end of the input) and leaves a summary.
    pub fn set_timed_run(&mut self, run: TimedRun) {
        self.timed_run = Some(run);
    }

    /// The largest texture the GPU takes: frames whose x2 output would exceed it are not upscaled,
    /// frames over it are refused.
    pub fn set_max_texture_side(&mut self, side: u32) {
        self.view.set_max_texture_side(side);
    }

    pub fn player(&self) -> Option<&Player> {
        self.player.as_ref()
    }

    pub fn player_mut(&mut self) -> Option<&mut Player> {
        self.player.as_mut()
    }

    /// The warning under the open bar (a skipped input, a stream's trouble).
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Where the picture was drawn last frame, in points.
    pub fn picture_rect(&self) -> Option<egui::Rect> {
        self.picture_rect
    }

    pub fn stats_visible(&self) -> bool {
        self.stats_visible
    }

    /// Shows and drives `adaptation` in the panel.
    pub fn set_adaptation(&mut self, adaptation: Option<Arc<Adaptation>>) {
        self.adaptation = adaptation;
    }

    pub fn set_notice(&mut self, notice: Option<String>) {
        self.notice = notice;
    }

    pub fn set_stats_visible(&mut self, visible: bool) {
        self.stats_visible = visible;
    }

    /// Seeks to the chapter PgDn / PgUp goes to, and says which it is.
    fn step_chapter(&mut self, forward: bool) {
        let Some(player) = &mut self.player else { return };
        let chapters = &player.info().chapters;
        let Some(index) = crate::media::source::chapter_from(chapters, player.position_secs(), forward) else { return };
        let chapter = chapters[index].clone();
        let title = if chapter.title.is_empty() { String::new() } else { format!(": {}", chapter.title) };
        self.status_line = Some(format!("chapter {}/{}{title}", index + 1, chapters.len()));
        player.seek(chapter.start_secs);
    }

    /// Plays `inputs` (folders and M3U playlists expanded) from the first; where they hold nothing
    /// to play, the error shows and what was playing plays on.
    fn open_all(&mut self, ctx: &egui::Context, inputs: Vec<String>) {
        match crate::media::inputs::expand(&inputs, self.options.network_timeout) {
            Ok(inputs) => {
                self.playlist = Playlist::new(inputs);
                self.open_current(ctx, true);
            }
            Err(error) => self.error = Some(error.to_string()),
        }
    }

    /// Opens the playlist's current input; one that cannot be played is skipped for the next one
    /// in the direction of travel (`forward` or back), its error kept as a warning (as mpv does).
    /// When none further plays either, the last error shows.
    fn open_current(&mut self, ctx: &egui::Context, forward: bool) {
        let mut skipped = None;
        while let Some(input) = self.playlist.current().map(str::to_owned) {
            self.open(ctx, &input);
            if self.player.is_some() {
                break;
            }
            if self.playlist.step(forward).is_none() {
                return;
            }
            skipped = self.error.take();
        }
        if let Some(error) = skipped {
            self.warning = Some(format!("skipped {error}"));
        }
    }

    /// The playlist's position in the title, "2/5", when it has more than one input.
    pub fn playlist_position(&self) -> Option<String> {
        self.playlist.position()
    }

    fn open(&mut self, ctx: &egui::Context, input: &str) {
        if self.player.as_ref().is_none_or(|player| player.info().input != input) {
            // A track chosen with `#` belongs to the input it was chosen in.
            self.options.audio_track = None;
        }
        if self.remembering
            && let Some(player) = &self.player
        {
            remember_where_left(&mut self.settings, player);
        }
        // Close the old input first: its threads stop before the new ones start.
        self.player = None;
        self.video.clear();
        match Player::open(input, self.options.clone()) {
            Ok(mut player) => {
                let position = self.playlist.position().map(|position| format!(" ({position})")).unwrap_or_default();
                ctx.send_viewport_cmd(ViewportCommand::Title(format!("{}{position} - dysr", player.info().title)));
                player.volume().set_muted(self.settings.muted);
                self.settings.remember(input);
                // `--start` is the command line's, which wins over a remembered position.
                let resume = self.remembering && self.options.start_secs.is_none();
                if let Some(secs) = self.settings.resume_position(input).filter(|_| resume) {
                    player.seek(secs);
                    self.status_line = Some(format!("resumed at {} (Home: from the start)", super::format_time(secs)));
                }
                self.subtitles = player.subtitles().cloned();
                self.subtitle_pictures = None;
                self.subtitle_chosen = false;
                self.player = Some(player);
                self.opened_at = Some(Instant::now());
                self.first_opened_at.get_or_insert(Instant::now());
                self.error = None;
                self.warning = None;
            }
            Err(error) => {
                ctx.send_viewport_cmd(ViewportCommand::Title("dysr".to_owned()));
                self.error = Some(error.to_string());
            }
        }
    }

    /// Non-drawing work of a frame: present the due frame, collect events, schedule the next pass.
    fn logic(&mut self, ctx: &egui::Context) {
        if self.player.as_ref().is_some_and(|player| player.state() == StreamState::Eof && !player.is_looping())
            && self.playlist.step(true).is_some()
        {
            self.open_current(ctx, true);
        }
        let Some(player) = &mut self.player else { return };
        let now = Instant::now();
        let wait = player.update(now);
        self.starving.store(wait.is_none(), Ordering::Relaxed);
        if let Some(wait) = wait {
            ctx.request_repaint_after(wait);
        }
        self.video.update(player.presenter().current(), player.presenter().current_serial());
        if let (Some(limit), Some(picture)) = (self.view.max_texture_side(), self.video.picture())
            && picture.frame.width().max(picture.frame.height()) > limit
        {
            let (width, height) = (picture.frame.width(), picture.frame.height());
            self.error = Some(format!(
                "{}: {width}x{height} frames are larger than this GPU's textures ({limit} pixels a side)",
                player.info().input
            ));
            self.player = None;
            self.video.clear();
            return;
        }
        self.rates.sample(now, player.telemetry());
        for event in player.take_events() {
            match event {
                PipelineEvent::Warning(warning) => self.warning = Some(warning),
                PipelineEvent::Fatal(cause) => self.error = Some(format!("{}: {cause}", player.info().input)),
            }
        }
        if let Some(outcome) = self.snapshot_outcome.lock().take() {
            self.status_line = Some(match outcome {
                Ok(path) => format!("saved {} and its .json", path.display()),
                Err(error) => error,
            });
        }
        if player.state() == StreamState::Eof && self.playlist.has_next() {
            // The next input opens on the next pass.
            ctx.request_repaint();
        }
        self.drive_demo(ctx, now);
        self.finish_timed_run(ctx, now);
        if self.stats_visible {
            self.monitor.sample(now);
            // Keep the numbers moving even while paused.
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    /// A timed run whose input could not be played (or stopped) ends at once with the error: nobody
    /// is there to read it in the window.
    fn abandon_timed_run(&mut self, ctx: &egui::Context) {
        let (Some(run), None, Some(error)) = (&self.timed_run, &self.player, &self.error) else { return };
        if !self.closing {
            self.closing = true;
            *run.outcome.lock() = Some(Err(super::UiError::Playback(error.clone())));
            ctx.send_viewport_cmd(ViewportCommand::Close);
        }
    }

    /// The timed run's end: its summary, a screenshot if asked for, then the window closes.
    fn finish_timed_run(&mut self, ctx: &egui::Context, now: Instant) {
        let (Some(run), Some(player), Some(opened_at), Some(first_opened_at)) =
            (&self.timed_run, &self.player, self.opened_at, self.first_opened_at)
        else {
            return;
        };
        let ended = player.state() == StreamState::Eof && !player.is_looping() && !self.playlist.has_next();
        let elapsed = now.duration_since(first_opened_at);
        if self.closing {
            return;
        }
        if elapsed < run.after && !ended {
            // Even while paused or stalled, come back when the time is up.
            ctx.request_repaint_after(run.after - elapsed);
            return;
        }
        self.closing = true;
        let output = player.presenter().current().map(|picture| picture.size());
        *run.outcome.lock() =
            Some(Ok(PlaybackSummary::of(player, now.duration_since(opened_at).as_secs_f64(), output)));
        let Some(path) = run.screenshot.clone() else {
            ctx.send_viewport_cmd(ViewportCommand::Close);
            return;
        };
        let close_ctx = ctx.clone();
        ctx.request_screenshot(move |image| {
            if let Err(error) = save_png(&image, &path) {
                tracing::error!("{error}");
            }
            close_ctx.send_viewport_cmd(ViewportCommand::Close);
            close_ctx.request_repaint();
        });
        ctx.request_repaint();
    }

    /// Draws the whole window for one frame.
    pub fn ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        if std::mem::take(&mut self.start_fullscreen) {
            go_fullscreen(&ctx);
            self.fullscreen_asked_at = Some(Instant::now());
        }
        if let Some(asked_at) = self.fullscreen_asked_at {
            if is_fullscreen(&ctx) || asked_at.elapsed() > FULLSCREEN_WAIT {
                self.fullscreen_asked_at = None;
            } else {
                ctx.request_repaint();
            }
        }
        if self.fullscreen_asked_at.is_none()
            && std::mem::take(&mut self.open_pending)
            && self.playlist.current().is_some()
        {
            // Plan for the whole window until the picture has a place of its own.
            let size = ctx.content_rect().size() * ctx.pixels_per_point();
            self.view.set_size((size.x.round() as u32, size.y.round() as u32));
            self.open_current(&ctx, true);
        }
        self.logic(&ctx);
        self.abandon_timed_run(&ctx);
        let mut commands = self.keyboard_commands(&ctx);
        commands.extend(dropped_file_commands(&ctx));

        if self.controls_visible(&ctx) {
            egui::Panel::top("open_bar").show(ui, |ui| commands.extend(self.open_bar_ui(ui)));
            if let Some(player) = &self.player {
                egui::Panel::bottom("transport")
                    .show(ui, |ui| commands.extend(transport_ui(ui, player, &mut self.transport)));
            }
        }
        let geometry = self.player.as_ref().map(|player| player.info().video.geometry).unwrap_or_default();
        let split = self.adaptation.as_ref().and_then(|adaptation| adaptation.controls.split());
        self.picture_rect = None;
        self.lens_rect = None;
        egui::CentralPanel::default().frame(egui::Frame::NONE).show(ui, |ui| {
            match self.video.video_ui(ui, geometry, split) {
                Some(picture) => {
                    self.picture_rect = Some(picture);
                    if self.player.as_ref().is_some_and(|player| player.is_buffering(Instant::now())) {
                        ui.put(picture, egui::Label::new(egui::RichText::new("buffering…").heading()));
                    }
                    let pixels = picture.size() * ui.ctx().pixels_per_point();
                    self.view.set_size((pixels.x.round().max(1.0) as u32, pixels.y.round().max(1.0) as u32));
                    if let Some(adaptation) = &self.adaptation {
                        let divider = split_divider_ui(ui, adaptation, picture);
                        let pointer = ui.input(|i| i.pointer.hover_pos()).filter(|pointer| picture.contains(*pointer));
                        if let (true, None, Some(pointer)) = (self.lens_enabled && split.is_some(), &divider, pointer) {
                            self.lens_rect =
                                self.video.lens_ui(ui, geometry, split, picture, pointer, (LENS_SIDE, LENS_ZOOM));
                        }
                        commands.extend(divider);
                    }
                    if self.badge_visible
                        && let Some(text) = self.badge_text()
                    {
                        badge_ui(ui, picture, &text);
                    }
                    if let Some(caption) = self.demo_caption() {
                        caption_ui(ui, picture, &caption, egui::Align::TOP);
                    }
                    self.subtitle_pictures_ui(ui, picture);
                    if let Some(text) = self.subtitle_text() {
                        caption_ui(ui, picture, &text, egui::Align::BOTTOM);
                    }
                }
                None if self.player.is_none() => {
                    ui.centered_and_justified(|ui| ui.label("Open a file (or drop one here), or enter a URL above."));
                }
                None => {}
            }
        });
        if self.stats_visible
            && let Some(player) = &self.player
        {
            // Scrolls when the window is shorter than the panel, so the plot at its end stays reachable.
            egui::Window::new("Stats").default_pos([16.0, 56.0]).resizable(false).vscroll(true).show(&ctx, |ui| {
                stats_ui(ui, player, &self.rates);
                if let Some(adaptation) = &self.adaptation {
                    ui.separator();
                    commands.extend(adaptation_ui(
                        ui,
                        adaptation,
                        &self.monitor,
                        self.rates.display_fps,
                        player.info().video.frames_per_sec * player.speed(),
                    ));
                }
            });
        }
        if self.media_info_visible
            && let Some(player) = &self.player
        {
            egui::Window::new("Media info").open(&mut self.media_info_visible).resizable(false).show(&ctx, |ui| {
                ui.label(&player.info().input);
                egui::Grid::new("media_info").num_columns(2).striped(true).show(ui, |ui| {
                    for (what, value) in &player.info().details {
                        ui.label(what);
                        ui.label(value);
                        ui.end_row();
                    }
                });
            });
        }
        if self.about_visible {
            egui::Window::new("About dysr").open(&mut self.about_visible).show(&ctx, |ui| ui.label(ABOUT_TEXT));
        }
        for command in commands {
            self.run_command(&ctx, command);
        }
    }

    /// The open bar and the transport show except fullscreen, where they hide a while after the
    /// last mouse move or key unless paused or something needs saying. Every pixel of egui's own
    /// costs as much as the picture's on a software rasterizer.
    fn controls_visible(&mut self, ctx: &egui::Context) -> bool {
        let now = Instant::now();
        if ctx.input(|i| i.pointer.delta() != egui::Vec2::ZERO || i.pointer.any_down() || !i.keys_down.is_empty()) {
            self.last_activity = now;
        }
        let quiet_for = now.duration_since(self.last_activity);
        let needs_controls =
            self.error.is_some() || self.warning.is_some() || self.player.as_ref().is_none_or(Player::is_paused);
        if !is_fullscreen(ctx) || needs_controls {
            return true;
        }
        if quiet_for < CONTROLS_HIDE_AFTER {
            // Come back to hide them on time, even with nothing else to draw.
            ctx.request_repaint_after(CONTROLS_HIDE_AFTER - quiet_for);
            return true;
        }
        false
    }

    fn open_bar_ui(&mut self, ui: &mut Ui) -> Vec<UiCommand> {
        let mut commands = Vec::new();
        ui.horizontal(|ui| {
            if ui.button("Open file...").on_hover_text("Open a video file (or drop one on the window)").clicked() {
                commands.push(UiCommand::PickFile);
            }
            ui.add_enabled_ui(!self.settings.recent.is_empty(), |ui| {
                ui.menu_button("Recent", |ui| {
                    for input in &self.settings.recent {
                        let name = std::path::Path::new(input)
                            .file_name()
                            .map_or_else(|| input.clone(), |name| name.to_string_lossy().into_owned());
                        if ui.button(name).on_hover_text(input).clicked() {
                            commands.push(UiCommand::Open { input: input.clone() });
                        }
                    }
                })
                .response
                .on_hover_text("Inputs played before, newest first");
            });
            let field = ui
                .add(egui::TextEdit::singleline(&mut self.url_text).hint_text("URL or path").desired_width(360.0))
                .on_hover_text("A file path or a URL (HTTP, HLS, RTSP...); Enter opens it");
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if (ui.button("Open URL").on_hover_text("Open what the field names").clicked() || entered)
                && !self.url_text.trim().is_empty()
            {
                commands.push(UiCommand::Open { input: self.url_text.trim().to_owned() });
            }
            if self.player.is_some()
                && ui
                    .button("Media info")
                    .on_hover_text("Container, codecs, sizes, rates, bitrates and colour tags of the input")
                    .clicked()
            {
                commands.push(UiCommand::ShowMediaInfo);
            }
            if ui.button("About").on_hover_text("What dysr is, and the demo clip's credits").clicked() {
                commands.push(UiCommand::ShowAbout);
            }
        });
        if let Some(error) = &self.error {
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().error_fg_color, error);
                if ui.small_button("Dismiss").on_hover_text("Hide this message").clicked() {
                    commands.push(UiCommand::DismissError);
                }
            });
        } else if let Some(warning) = self.warning.as_ref().or(self.notice.as_ref()) {
            ui.colored_label(ui.visuals().warn_fg_color, warning);
        }
        if let Some(status) = &self.status_line {
            ui.label(status);
        }
        commands
    }

    /// mpv's keys. Ignored while a text field has focus.
    fn keyboard_commands(&self, ctx: &egui::Context) -> Vec<UiCommand> {
        if ctx.egui_wants_keyboard_input() {
            return Vec::new();
        }
        let bindings = [
            (Key::Space, UiCommand::TogglePause),
            (Key::ArrowLeft, UiCommand::SeekBy { delta_secs: -SMALL_SEEK_SECS }),
            (Key::ArrowRight, UiCommand::SeekBy { delta_secs: SMALL_SEEK_SECS }),
            (Key::ArrowDown, UiCommand::SeekBy { delta_secs: -LARGE_SEEK_SECS }),
            (Key::ArrowUp, UiCommand::SeekBy { delta_secs: LARGE_SEEK_SECS }),
            (Key::Num9, UiCommand::NudgeVolume { delta: -VOLUME_STEP }),
            (Key::Num0, UiCommand::NudgeVolume { delta: VOLUME_STEP }),
            (Key::M, UiCommand::ToggleMute),
            (Key::F, UiCommand::ToggleFullscreen),
            (Key::I, UiCommand::ToggleStats),
            (Key::L, UiCommand::ToggleLoop),
            (Key::S, UiCommand::SaveSnapshot),
            (Key::Period, UiCommand::StepFrame { forward: true }),
            (Key::Comma, UiCommand::StepFrame { forward: false }),
            (Key::B, UiCommand::ToggleBadge),
            (Key::D, UiCommand::ToggleDemo),
            (Key::V, UiCommand::ToggleSubtitles),
            (Key::J, UiCommand::NextSubtitleTrack),
            (Key::Z, UiCommand::ToggleLens),
            (Key::Q, UiCommand::Quit),
            (Key::Home, UiCommand::Seek { target_secs: 0.0 }),
            (Key::PageDown, UiCommand::ChapterStep { forward: true }),
            (Key::PageUp, UiCommand::ChapterStep { forward: false }),
            (Key::Backspace, UiCommand::SetSpeed { speed: 1.0 }),
        ];
        let mut commands = ctx.input(|input| {
            let mut commands: Vec<UiCommand> =
                bindings.into_iter().filter(|(key, _)| input.key_pressed(*key)).map(|(_, command)| command).collect();
            // These are the characters typed, whatever keys make them on the keyboard's layout.
            for event in &input.events {
                let egui::Event::Text(text) = event else { continue };
                commands.extend(match text.as_str() {
                    "#" => Some(UiCommand::NextAudioTrack),
                    ">" => Some(UiCommand::PlaylistStep { forward: true }),
                    "<" => Some(UiCommand::PlaylistStep { forward: false }),
                    "[" => Some(UiCommand::ScaleSpeed { factor: 1.0 / SPEED_STEP }),
                    "]" => Some(UiCommand::ScaleSpeed { factor: SPEED_STEP }),
                    "{" => Some(UiCommand::ScaleSpeed { factor: 0.5 }),
                    "}" => Some(UiCommand::ScaleSpeed { factor: 2.0 }),
                    _ => None,
                });
            }
            commands
        });
        // Ctrl + / Ctrl - are mpv's audio delay keys (egui's keyboard zoom is off for them).
        let delay_keys = [
            (Key::Plus, AUDIO_DELAY_STEP_SECS),
            (Key::Equals, AUDIO_DELAY_STEP_SECS),
            (Key::Minus, -AUDIO_DELAY_STEP_SECS),
        ];
        for (key, delta_secs) in delay_keys {
            if ctx
                .input_mut(|input| input.consume_shortcut(&egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, key)))
            {
                commands.push(UiCommand::NudgeAudioDelay { delta_secs });
            }
        }
        commands
    }

    pub fn run_command(&mut self, ctx: &egui::Context, command: UiCommand) {
        match command {
            UiCommand::Open { input } => return self.open_all(ctx, vec![input]),
            UiCommand::OpenAll { inputs } => return self.open_all(ctx, inputs),
            UiCommand::PlaylistStep { forward } => {
                if self.playlist.step(forward).is_some() {
                    self.open_current(ctx, forward);
                }
                return;
            }
            UiCommand::PickFile => {
                let dialog = rfd::FileDialog::new().set_title("Open a video");
                let dialog = match &self.settings.last_folder {
                    Some(folder) => dialog.set_directory(folder),
                    None => dialog,
                };
                if let Some(path) = dialog.pick_file() {
                    self.open_all(ctx, vec![path.to_string_lossy().into_owned()]);
                }
                return;
            }
            UiCommand::ToggleStats => self.stats_visible = !self.stats_visible,
            UiCommand::ShowAbout => self.about_visible = true,
            UiCommand::ShowMediaInfo => self.media_info_visible = true,
            UiCommand::ToggleBadge => self.badge_visible = !self.badge_visible,
            UiCommand::ToggleDemo => self.toggle_demo(),
            UiCommand::ToggleSubtitles => self.subtitles_visible = !self.subtitles_visible,
            UiCommand::ToggleLens => self.lens_enabled = !self.lens_enabled,
            UiCommand::NextSubtitleTrack => self.next_subtitle_track(),
            UiCommand::NextAudioTrack => return self.next_audio_track(ctx),
            UiCommand::ChapterStep { forward } => self.step_chapter(forward),
            UiCommand::SetSpeed { speed } => self.set_speed(speed),
            UiCommand::ScaleSpeed { factor } => self.set_speed(self.options.speed * factor),
            UiCommand::NudgeAudioDelay { delta_secs } => {
                self.set_audio_delay(self.options.audio_delay_secs + delta_secs)
            }
            UiCommand::SaveSnapshot => self.save_snapshot(ctx),
            UiCommand::DismissError => self.error = None,
            UiCommand::ToggleFullscreen => {
                if is_fullscreen(ctx) {
                    ctx.send_viewport_cmd(ViewportCommand::Fullscreen(false));
                } else {
                    go_fullscreen(ctx);
                }
            }
            UiCommand::Quit => ctx.send_viewport_cmd(ViewportCommand::Close),
            UiCommand::SetMode(mode) => {
                self.adaptation.iter().for_each(|adaptation| adaptation.controls.set_mode(mode))
            }
            UiCommand::SetSplit(divider) => {
                self.adaptation.iter().for_each(|adaptation| adaptation.controls.set_split(divider))
            }
            UiCommand::SetLoad(level) => {
                self.adaptation.iter().for_each(|adaptation| adaptation.controls.load.set_level(level))
            }
            UiCommand::SetPowerCap(percent) => {
                self.adaptation.iter().for_each(|adaptation| adaptation.controls.set_power_cap(percent))
            }
            _ => {}
        }
        let Some(player) = &mut self.player else { return };
        match command {
            UiCommand::TogglePause => player.toggle_pause(),
            UiCommand::Seek { target_secs } => player.seek(target_secs),
            UiCommand::SeekBy { delta_secs } => player.seek_by(delta_secs),
            UiCommand::SetVolume { level } => player.volume().set_level(level),
            UiCommand::NudgeVolume { delta } => player.volume().set_level(player.volume().level() + delta),
            UiCommand::ToggleMute => player.volume().set_muted(!player.volume().is_muted()),
            UiCommand::ToggleLoop => player.set_looping(!player.is_looping()),
            UiCommand::StepFrame { forward } => player.step_frame(forward),
            _ => {}
        }
        ctx.request_repaint();
    }
}

impl eframe::App for PlayerApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        PlayerApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.remembering {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings());
        }
    }

    /// Black: the letterbox bars around the picture, with nothing drawn there.
    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        [0.0, 0.0, 0.0, 1.0]
    }
}

/// Remembers where `player`'s input is now, for the next time it opens.
fn remember_where_left(settings: &mut Settings, player: &Player) {
    settings.remember_position(&player.info().input, player.position_secs(), player.info().duration_secs);
}

/// `text` in a small dark box at the top-right corner of the picture.
fn badge_ui(ui: &mut Ui, picture: egui::Rect, text: &str) {
    let galley = ui.painter().layout_no_wrap(text.to_owned(), egui::FontId::proportional(14.0), egui::Color32::WHITE);
    let margin = egui::vec2(6.0, 3.0);
    let rect = egui::Rect::from_min_size(
        picture.right_top() + egui::vec2(-galley.size().x - 2.0 * margin.x - 8.0, 8.0),
        galley.size() + 2.0 * margin,
    );
    ui.painter().rect_filled(rect, 4.0, egui::Color32::from_black_alpha(160));
    ui.painter().galley(rect.min + margin, galley, egui::Color32::WHITE);
}

/// `text` centred near the top or bottom of the picture, on a dark band.
fn caption_ui(ui: &mut Ui, picture: egui::Rect, text: &str, at: egui::Align) {
    let galley = ui.painter().layout(
        text.to_owned(),
        egui::FontId::proportional(20.0),
        egui::Color32::WHITE,
        picture.width() * 0.9,
    );
    let margin = egui::vec2(10.0, 6.0);
    let size = galley.size() + 2.0 * margin;
    let top = if at == egui::Align::TOP { picture.top() + 24.0 } else { picture.bottom() - size.y - 24.0 };
    let rect = egui::Rect::from_min_size(egui::pos2(picture.center().x - size.x / 2.0, top), size);
    ui.painter().rect_filled(rect, 6.0, egui::Color32::from_black_alpha(170));
    ui.painter().galley(rect.min + margin, galley, egui::Color32::WHITE);
}

/// Fullscreen, or (without a window manager to grant that) covering the whole monitor.
fn is_fullscreen(ctx: &egui::Context) -> bool {
    ctx.input(|i| {
        let viewport = i.viewport();
        viewport.fullscreen == Some(true)
            || viewport.monitor_size.zip(viewport.inner_rect).is_some_and(|(monitor, inner)| inner.size() == monitor)
    })
}

/// Fullscreen, and the window moved and sized to the whole monitor too: without a window manager
/// (a bare X server) the fullscreen request alone changes nothing.
fn go_fullscreen(ctx: &egui::Context) {
    if let Some(monitor) = ctx.input(|i| i.viewport().monitor_size) {
        ctx.send_viewport_cmd(ViewportCommand::OuterPosition(egui::pos2(0.0, 0.0)));
        ctx.send_viewport_cmd(ViewportCommand::InnerSize(monitor));
    }
    ctx.send_viewport_cmd(ViewportCommand::Fullscreen(true));
}

/// Writes `image` (a window screenshot) as a PNG at `path`.
fn save_png(image: &egui::ColorImage, path: &std::path::Path) -> Result<(), super::UiError> {
    let [width, height] = image.size;
    let pixels: Vec<u8> = image.pixels.iter().flat_map(|pixel| pixel.to_array()).collect();
    image::save_buffer(path, &pixels, width as u32, height as u32, image::ExtendedColorType::Rgba8)
        .map_err(|source| super::UiError::Screenshot { path: path.to_owned(), source })
}

/// Files dropped together make the playlist, in the order they came.
fn dropped_file_commands(ctx: &egui::Context) -> Vec<UiCommand> {
    let inputs: Vec<String> = ctx
        .input(|input| input.raw.dropped_files.iter().map(|file| file.path().to_string_lossy().into_owned()).collect());
    if inputs.is_empty() { Vec::new() } else { vec![UiCommand::OpenAll { inputs }] }
}
