//! The window, driven headless with egui_kittest on wgpu: it opens a clip, shows a frame, and its
//! play/pause button, keyboard and seek bar work.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{generated, h264_clip, path_str, test_clip};
use dysr::adaptation::adaptive::adaptive_factory;
use dysr::adaptation::{Adaptation, Mode};
use dysr::model::manifest::default_manifest_path;
use dysr::player::{AudioMode, PlayerOptions};
use dysr::ui::PlayerApp;
use eframe::egui_wgpu;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use egui_kittest::wgpu::WgpuTestRenderer;

type App = Option<PlayerApp>;

/// A wgpu test renderer (the software adapter) with the video renderer set up on its device, and
/// the device's largest texture side.
fn video_renderer() -> (WgpuTestRenderer, u32) {
    let state = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    let max_texture_side = dysr::ui::video_view::install(&state);
    (WgpuTestRenderer::from_render_state(state), max_texture_side)
}

/// A window of `size` playing `input`, the app set up by `setup`.
fn harness_with(size: [f32; 2], input: String, setup: impl Fn(&mut PlayerApp) + 'static) -> Harness<'static, App> {
    harness_with_options(size, vec![input], PlayerOptions { audio: AudioMode::Silent, ..Default::default() }, setup)
}

/// A window of `size` playing `inputs` one after another with `options`, the app set up by `setup`.
fn harness_with_options(
    size: [f32; 2],
    inputs: Vec<String>,
    options: PlayerOptions,
    setup: impl Fn(&mut PlayerApp) + 'static,
) -> Harness<'static, App> {
    let (renderer, max_texture_side) = video_renderer();
    Harness::builder().with_size(size).renderer(renderer).build_ui_state(
        move |ui, app: &mut App| {
            app.get_or_insert_with(|| {
                let mut app = PlayerApp::new(ui.ctx(), inputs.clone(), options.clone());
                app.set_max_texture_side(max_texture_side);
                setup(&mut app);
                app
            })
            .ui(ui);
        },
        None,
    )
}

/// A window of `size` playing `input` with the ladder (starting in `mode`) making the pictures,
/// the app set up by `setup`; and the ladder's shared state.
fn harness_with_ladder(
    size: [f32; 2],
    input: String,
    mode: Mode,
    setup: impl Fn(&mut PlayerApp) + 'static,
) -> (Harness<'static, App>, Arc<Adaptation>) {
    let (factory, adaptation) = adaptive_factory(&default_manifest_path(), mode, None, 1).expect("shipped model");
    let shared = Arc::clone(&adaptation);
    let harness = harness_with_options(
        size,
        vec![input],
        PlayerOptions { audio: AudioMode::Silent, upscaler: Some(factory), ..Default::default() },
        move |app| {
            app.set_adaptation(Some(Arc::clone(&shared)));
            setup(app);
        },
    );
    (harness, adaptation)
}

fn harness_playing(input: String) -> Harness<'static, App> {
    harness_with([960.0, 720.0], input, |_| {})
}

fn app<'h>(harness: &'h Harness<'_, App>) -> &'h PlayerApp {
    harness.state().as_ref().expect("the app is created on the first frame")
}

fn app_mut<'h>(harness: &'h mut Harness<'_, App>) -> &'h mut PlayerApp {
    harness.state_mut().as_mut().expect("the app is created on the first frame")
}

/// Steps the UI in real time until `done` holds.
fn step_until(harness: &mut Harness<'_, App>, what: &str, mut done: impl FnMut(&PlayerApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        harness.step();
        if harness.state().as_ref().is_some_and(&mut done) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn position(harness: &Harness<'_, App>) -> f64 {
    app(harness).player().expect("playing").position_secs()
}

#[test]
fn opens_a_clip_shows_a_frame_and_the_controls_work() {
    let clip = h264_clip(6);
    let mut harness = harness_playing(path_str(&clip));
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    assert!(app(&harness).error().is_none());

    // The picture is really drawn: the centre of the window is testsrc2's colours, not the black bars.
    step_until(&mut harness, "playback under way", |app| app.player().is_some_and(|p| p.position_secs() > 0.5));
    let image = harness.render().expect("wgpu renders");
    let (width, height) = image.dimensions();
    let centre = image.get_pixel(width / 2, height / 2);
    assert!(centre.0[..3].iter().any(|&c| c > 40), "centre pixel is black: {centre:?}");

    // Pause with the button: the clock stops.
    harness.get_by_label("Pause").click();
    step_until(&mut harness, "paused", |app| app.player().is_some_and(|p| p.is_paused()));
    let paused_at = position(&harness);
    std::thread::sleep(Duration::from_millis(300));
    harness.step();
    assert_eq!(position(&harness), paused_at);

    // Play again with the button, pause and resume with the space bar.
    harness.get_by_label("Play").click();
    step_until(&mut harness, "playing", |app| app.player().is_some_and(|p| !p.is_paused()));
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "paused by space", |app| app.player().is_some_and(|p| p.is_paused()));
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "resumed by space", |app| app.player().is_some_and(|p| !p.is_paused()));

    // A click in the middle of the seek bar seeks to the middle of the clip.
    harness.get_by_label("Seek").click();
    step_until(&mut harness, "the seek landed", |app| {
        app.player()
            .is_some_and(|p| p.presenter().seek_target_secs().is_none() && (p.position_secs() - 3.0).abs() < 0.5)
    });

    // The stats panel toggles with `i`.
    harness.key_press(egui::Key::I);
    // A new egui window is laid out invisibly on its first frame.
    harness.run_steps(3);
    assert!(app(&harness).stats_visible());
    harness.get_by_label("dropped frames");
}

#[test]
fn a_bad_input_shows_the_error_and_the_window_stays_usable() {
    let missing = path_str(&common::media_dir().join("missing.mp4"));
    let mut harness = harness_playing(missing.clone());
    harness.step();
    let error = app(&harness).error().expect("an error is shown").to_owned();
    assert!(error.contains("file not found"), "{error}");
    harness.get_by_label_contains("file not found");
    harness.get_by_label("Dismiss").click();
    harness.step();
    harness.step();
    assert!(app(&harness).error().is_none());
    harness.get_by_label("Open URL");
}

/// With the ladder adapting, the panel's load slider drives the load injector.
#[test]
fn the_load_slider_sets_the_injected_load() {
    use dysr::ui::adaptation_panel::LOAD_SLIDER;

    let clip = h264_clip(4);
    let input = path_str(&clip);
    let (mut harness, adaptation) =
        harness_with_ladder([1100.0, 900.0], input, Mode::Adaptive, move |app| app.set_stats_visible(true));
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    assert_eq!(adaptation.controls.load.level(), 0);
    let slider = || harness.get_by_role_and_label(egui::accesskit::Role::Slider, LOAD_SLIDER);
    slider().set_value_accesskit(70.0);
    harness.step();
    harness.step();
    assert_eq!(adaptation.controls.load.level(), 70);
    let shown =
        harness.get_by_role_and_label(egui::accesskit::Role::Slider, LOAD_SLIDER).accesskit_node().numeric_value();
    assert_eq!(shown, Some(70.0), "the panel shows the new level");
}

/// With the network switched off (bicubic only) the panel's SR row says both that the size calls
/// for SR and that the frame on screen had no network, as the badge does.
#[test]
fn the_stats_panel_says_when_the_frame_had_no_network() {
    let clip = h264_clip(4);
    let (mut harness, _) =
        harness_with_ladder([1100.0, 900.0], path_str(&clip), Mode::Bicubic, |app| app.set_stats_visible(true));
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    harness.step();
    harness.get_by_label_contains("SR on; this frame: no network");
    assert_eq!(app(&harness).badge_text().as_deref(), Some("SR off"));
}

/// The picture's on-screen aspect once a frame is shown.
fn shown_aspect(input: String) -> f32 {
    let mut harness = harness_with([900.0, 700.0], input, |_| {});
    step_until(&mut harness, "a frame on screen", |app| app.picture_rect().is_some());
    let rect = app(&harness).picture_rect().expect("a picture");
    rect.width() / rect.height()
}

/// A phone clip (a display matrix turning it clockwise) is shown portrait.
#[test]
fn a_rotated_clip_is_shown_portrait() {
    // FFmpeg 5.1 writes the rotation as a display matrix only when it copies the stream.
    let upright = h264_clip(2);
    let clip =
        generated("rotated-320x240.mp4", &["-i", &path_str(&upright), "-c", "copy", "-metadata:s:v:0", "rotate=90"]);
    let aspect = shown_aspect(path_str(&clip));
    assert!((aspect - 0.75).abs() < 0.01, "aspect {aspect}");
}

/// PAL 720x576 with 16:15 samples is shown 4:3, not 5:4.
#[test]
fn an_anamorphic_clip_is_shown_at_its_display_aspect() {
    let clip = generated(
        "pal-720x576-sar16-15.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=720x576:rate=25:duration=2",
            "-vf",
            "setsar=16/15",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    let aspect = shown_aspect(path_str(&clip));
    assert!((aspect - 4.0 / 3.0).abs() < 0.01, "aspect {aspect}");
}

/// A frame larger than the GPU's textures is refused with one clear line; the window stays usable.
#[test]
fn a_frame_over_the_texture_limit_is_refused() {
    let clip = h264_clip(2);
    let mut harness = harness_with([900.0, 700.0], path_str(&clip), |app| app.set_max_texture_side(256));
    step_until(&mut harness, "the error", |app| app.error().is_some());
    let error = app(&harness).error().unwrap().to_owned();
    assert!(error.ends_with("320x240 frames are larger than this GPU's textures (256 pixels a side)"), "{error}");
    assert!(app(&harness).player().is_none());
    harness.get_by_label("Open URL");
}

/// A windowed QA run (`--exit-after`): it ends on its own with a summary of what was shown, or at
/// once with the error of an input that cannot play.
#[test]
fn a_timed_run_ends_with_its_summary_or_the_error() {
    use dysr::ui::TimedRun;
    let timed_run = |outcome: &std::sync::Arc<_>| TimedRun {
        after: Duration::from_secs(1),
        screenshot: None,
        outcome: std::sync::Arc::clone(outcome),
    };

    let outcome = std::sync::Arc::default();
    let run = timed_run(&outcome);
    let mut harness = harness_with([640.0, 480.0], path_str(&h264_clip(4)), move |app| app.set_timed_run(run.clone()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while outcome.lock().is_none() {
        assert!(Instant::now() < deadline, "the run did not end");
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let summary = outcome.lock().take().unwrap().expect("a summary");
    assert!(summary.duration_s >= 1.0 && summary.frames_presented >= 15, "{summary:?}");
    assert_eq!((summary.displayed_width, summary.displayed_height), (320, 240));

    let outcome = std::sync::Arc::default();
    let run = timed_run(&outcome);
    let mut harness = harness_with([640.0, 480.0], path_str(&common::media_dir().join("missing.mp4")), move |app| {
        app.set_timed_run(run.clone())
    });
    harness.step();
    let error = outcome.lock().take().expect("ended at once").expect_err("an error").to_string();
    assert!(error.ends_with("missing.mp4: file not found"), "{error}");
}

/// The testers' keys, with a rung of the ladder making the pictures: `.` and `,` step one frame
/// forward and back while paused, `s` saves the frame on screen at its upscaled size with a
/// sidecar naming the rung, `b` hides the "SR on" badge.
#[test]
fn frame_stepping_snapshot_and_badge() {
    use dysr::ui::snapshot::Sidecar;

    let clip = h264_clip(4);
    let input = path_str(&clip);
    let snapshots = common::media_dir().join("snapshots");
    let _ = std::fs::remove_dir_all(&snapshots);
    std::fs::create_dir_all(&snapshots).unwrap();
    let snapshot_dir = snapshots.clone();
    let (mut harness, _) = harness_with_ladder([960.0, 720.0], input, Mode::Locked(0), move |app| {
        app.set_snapshot_dir(snapshot_dir.clone())
    });
    let shown_pts = |harness: &Harness<'_, App>| {
        app(harness).player().and_then(|p| p.presenter().current().map(|picture| picture.pts_secs))
    };
    step_until(&mut harness, "an upscaled frame past 1 s", |app| {
        app.player().is_some_and(|p| {
            p.presenter().current().is_some_and(|picture| picture.is_upscaled() && picture.pts_secs > 1.0)
        })
    });
    assert_eq!(app(&harness).badge_text().as_deref(), Some("SR on: r0"));

    // `.` pauses and steps forward one frame (25 fps: 40 ms); `,` twice goes back two.
    let settled = |app: &PlayerApp| {
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none() && p.presenter().current().is_some())
    };
    harness.key_press(egui::Key::Period);
    step_until(&mut harness, "paused", |app| app.player().is_some_and(|p| p.is_paused()));
    step_until(&mut harness, "the step landed", settled);
    let start = shown_pts(&harness).unwrap();
    harness.key_press(egui::Key::Period);
    step_until(&mut harness, "one frame on", |app| {
        settled(app) && app.player().unwrap().presenter().current().unwrap().pts_secs > start
    });
    assert!((shown_pts(&harness).unwrap() - (start + 0.04)).abs() < 0.002, "{:?} after {start}", shown_pts(&harness));
    harness.key_press(egui::Key::Comma);
    harness.key_press(egui::Key::Comma);
    step_until(&mut harness, "two frames back", |app| {
        settled(app) && app.player().unwrap().presenter().current().unwrap().pts_secs < start
    });
    assert!((shown_pts(&harness).unwrap() - (start - 0.04)).abs() < 0.002, "{:?} after {start}", shown_pts(&harness));
    assert!(app(&harness).player().unwrap().is_paused());

    // `s`: the PNG at the upscaled size and its sidecar.
    step_until(&mut harness, "the frame upscaled", |app| {
        app.player().unwrap().presenter().current().unwrap().is_upscaled()
    });
    let pts = shown_pts(&harness).unwrap();
    harness.key_press(egui::Key::S);
    step_until(&mut harness, "saved", |app| app.status_line().is_some_and(|status| status.starts_with("saved")));
    let files: Vec<_> = std::fs::read_dir(&snapshots).unwrap().map(|e| e.unwrap().path()).collect();
    let png = files.iter().find(|p| p.extension().is_some_and(|e| e == "png")).expect("a PNG");
    assert_eq!(files.len(), 2, "the PNG and its sidecar, nothing else: {files:?}");
    assert_eq!(image::image_dimensions(png).unwrap(), (640, 480));
    let sidecar: Sidecar = serde_json::from_str(&std::fs::read_to_string(png.with_extension("json")).unwrap()).unwrap();
    assert_eq!((sidecar.source_size, sidecar.picture_size), ([320, 240], [640, 480]));
    assert!((sidecar.time_secs - pts).abs() < 1e-9 && sidecar.sr);
    assert_eq!(
        (sidecar.level.as_deref(), sidecar.mode.as_deref(), sidecar.load_percent),
        (Some("r0"), Some("locked r0"), Some(0))
    );
    assert!(sidecar.sr_ms.is_some_and(|ms| ms > 0.0) && sidecar.displayed_size[0] > 640, "{sidecar:?}");

    harness.key_press(egui::Key::B);
    harness.step();
    assert!(!app(&harness).badge_visible());
}

/// `D` plays the load profile live: the adaptive ladder, the panel open, a caption over the
/// picture; `D` again stops it and takes the load away. The panel lists the last switches with
/// their reasons.
#[test]
fn the_demo_key_plays_the_load_profile_with_captions() {
    let clip = h264_clip(6);
    let input = path_str(&clip);
    let (mut harness, adaptation) = harness_with_ladder([1100.0, 900.0], input, Mode::Locked(0), |_| {});
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    harness.key_press(egui::Key::D);
    harness.run_steps(3);
    assert!(app(&harness).stats_visible(), "the panel opens");
    assert_eq!(adaptation.controls.mode(), Mode::Adaptive);
    let caption = app(&harness).demo_caption().expect("a caption");
    assert!(caption.starts_with("Idle: the network runs the best rung"), "{caption}");
    assert_eq!(adaptation.controls.load.level(), 0, "the first phase is idle");

    adaptation.controls.load.set_level(50);
    harness.key_press(egui::Key::D);
    harness.run_steps(2);
    assert_eq!(app(&harness).demo_caption(), None);
    assert_eq!(adaptation.controls.load.level(), 0, "stopping the demo takes the load away");

    // A power cap of 10% (4 ms a frame) sends the ladder down at once: the panel says so.
    adaptation.controls.set_power_cap(10);
    step_until(&mut harness, "a switch", |_| {
        adaptation.statistics.switches().iter().any(|switch| switch.reason == "over budget")
    });
    let switches = adaptation.statistics.switches();
    harness.run_steps(2);
    harness.get_by_label("last switches");
    harness.get_by_label(&dysr::ui::adaptation_panel::switch_line(switches.last().unwrap()));
}

/// "Media info" lists the container and each stream with its codec, size, rate and colour tags.
#[test]
fn the_media_info_dialog_lists_the_streams() {
    let clip = h264_clip(2);
    let mut harness = harness_playing(path_str(&clip));
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    harness.get_by_label("Media info").click();
    harness.run_steps(3);
    harness.get_by_label("container");
    harness.get_by_label_contains("QuickTime / MOV");
    harness.get_by_label_contains("h264 320x240, 25.000 frames/s, YUV420P");
    harness.get_by_label_contains("aac 48000 Hz, 2 channels");
}

/// Remembered settings come back (those the command line leaves alone), the input opened joins the
/// recent list, and the "Recent" menu opens an input from it.
#[test]
fn remembered_settings_and_recent_inputs() {
    use dysr::ui::settings::{Restore, Settings};

    let (first, second) = (h264_clip(2), h264_clip(3));
    let input = path_str(&first);
    let remembered = Settings {
        volume: 0.3,
        stats_visible: true,
        badge_visible: false,
        mode: Mode::Locked(1),
        split: Some(0.4),
        power_cap: 50,
        recent: vec![path_str(&second)],
        ..Settings::default()
    };
    let (mut harness, adaptation) = harness_with_ladder([1100.0, 900.0], input, Mode::Adaptive, move |app| {
        app.apply_settings(remembered.clone(), Restore::ALL)
    });
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    let app_now = app(&harness);
    assert_eq!(app_now.player().unwrap().volume().level(), 0.3);
    assert!(app_now.stats_visible() && !app_now.badge_visible());
    assert_eq!(
        (adaptation.controls.mode(), adaptation.controls.split(), adaptation.controls.power_cap()),
        (Mode::Locked(1), Some(0.4), 50)
    );
    let now = app_now.settings();
    assert_eq!(now.recent, vec![path_str(&first), path_str(&second)], "the input opened comes first");
    assert_eq!(now.last_folder.as_deref(), first.parent());

    harness.get_by_label("Recent").click();
    harness.run_steps(2);
    harness.get_by_label(&second.file_name().unwrap().to_string_lossy()).click();
    step_until(&mut harness, "the recent input opened", |app| {
        app.player().is_some_and(|p| p.info().input == path_str(&second))
    });
    assert_eq!(app(&harness).settings().recent[0], path_str(&second));
}

/// A window playing `clip`, its subtitles read, paused at `secs`.
fn paused_at_with_subtitles(clip: &std::path::Path, secs: f64) -> Harness<'static, App> {
    let mut harness = harness_playing(path_str(clip));
    step_until(&mut harness, "subtitles read", |app| {
        app.subtitles_loaded() && app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "paused", |app| app.player().is_some_and(|p| p.is_paused()));
    app_mut(&mut harness).player_mut().unwrap().seek(secs);
    step_until(&mut harness, "the seek landed", |app| {
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none())
    });
    harness
}

/// Text subtitles, embedded or in a sidecar `.srt`, are drawn at their times; `j` cycles the tracks
/// and off, `v` hides them.
#[test]
fn subtitles_embedded_or_beside_the_file_show_at_their_times() {
    let embedded = common::subtitled_clip();
    let mut harness = paused_at_with_subtitles(&embedded, 0.5);
    assert_eq!(app(&harness).subtitle_track_name().as_deref(), Some("embedded #2"));
    assert_eq!(app(&harness).subtitle_text().as_deref(), Some("Hello"));
    harness.key_press(egui::Key::J);
    harness.step();
    assert_eq!(app(&harness).subtitle_text(), None, "one track, then off");
    harness.key_press(egui::Key::J);
    harness.step();
    assert_eq!(app(&harness).subtitle_text().as_deref(), Some("Hello"));
    harness.key_press(egui::Key::V);
    harness.step();
    assert_eq!(app(&harness).subtitle_text(), None, "hidden");

    // A sidecar .srt beside a clip without subtitles of its own.
    let dir = common::media_dir().join("sidecar");
    std::fs::create_dir_all(&dir).unwrap();
    let clip = dir.join("talk.mp4");
    std::fs::copy(h264_clip(2), &clip).unwrap();
    std::fs::write(dir.join("talk.srt"), "1\n00:00:00,200 --> 00:00:01,000\nFrom the side\n").unwrap();
    let harness = paused_at_with_subtitles(&clip, 0.6);
    assert_eq!(app(&harness).subtitle_track_name().as_deref(), Some("sidecar talk.srt"));
    assert_eq!(app(&harness).subtitle_text().as_deref(), Some("From the side"));
}

/// A bitmap (DVD) subtitle is drawn at its place on the picture while it shows, over the video;
/// not before it starts, and `v` hides it.
#[test]
fn bitmap_subtitles_are_drawn_where_they_sit() {
    let clip = common::bitmap_subtitled_clip();
    let mut harness = paused_at_with_subtitles(&clip, 1.0);
    harness.run_steps(2);
    let picture = app(&harness).picture_rect().unwrap();
    let (x, y, width, height) = common::SUBTITLE_BOX;
    let scale = picture.width() / 160.0;
    let expected = egui::Rect::from_min_size(
        picture.min + egui::vec2(x as f32, y as f32) * scale,
        egui::vec2(width as f32, height as f32) * scale,
    );
    let drawn = app(&harness).subtitle_picture_rects().to_vec();
    assert!(
        drawn.len() == 1
            && (drawn[0].min - expected.min).length() < 1.0
            && (drawn[0].size() - expected.size()).length() < 1.0,
        "{drawn:?} against {expected:?}"
    );
    let image = harness.render().unwrap();
    let ppp = image.width() as f32 / harness.ctx.content_rect().width();
    let [r, g, b, _] = image.get_pixel((expected.center().x * ppp) as u32, (expected.center().y * ppp) as u32).0;
    assert!(r > 200 && g > 200 && b < 80, "the box is yellow on screen: {r} {g} {b}");
    harness.key_press(egui::Key::V);
    harness.run_steps(2);
    assert!(app(&harness).subtitle_picture_rects().is_empty(), "v hides it");
    harness.key_press(egui::Key::V);
    app_mut(&mut harness).player_mut().unwrap().seek(0.2);
    step_until(&mut harness, "the seek landed", |app| {
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none())
    });
    harness.run_steps(2);
    assert!(app(&harness).subtitle_picture_rects().is_empty(), "not before it starts");
}

/// On a phone clip (shown turned a quarter) a bitmap subtitle stays upright and keeps its shape,
/// in the lower part of the portrait picture.
#[test]
fn bitmap_subtitles_stay_upright_on_a_turned_clip() {
    // FFmpeg 5.1 writes the rotation as a display matrix only when it copies the stream.
    let upright = common::bitmap_subtitled_clip();
    let clip = generated(
        "rotated-bitmap-subtitled.mp4",
        &["-i", &path_str(&upright), "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=90"],
    );
    // Copied into MP4 by FFmpeg 5.1 the cue keeps its start, 0.5 s, but its packet lasts 0.5 s, not 1.
    let mut harness = paused_at_with_subtitles(&clip, 0.8);
    harness.run_steps(2);
    let picture = app(&harness).picture_rect().unwrap();
    assert!(picture.height() > picture.width(), "portrait: {picture:?}");
    let drawn = app(&harness).subtitle_picture_rects().to_vec();
    let (_, _, width, height) = common::SUBTITLE_BOX;
    assert_eq!(drawn.len(), 1);
    let aspect = drawn[0].width() / drawn[0].height();
    assert!((aspect - width as f32 / height as f32).abs() < 0.05, "its shape: {:?}", drawn[0]);
    assert!(
        picture.contains_rect(drawn[0]) && drawn[0].center().y > picture.center().y,
        "{:?} on {picture:?}",
        drawn[0]
    );
}

/// `#` moves to the next audio track at the same place (a second track at 44.1 kHz), and round.
#[test]
fn the_hash_key_cycles_the_audio_tracks() {
    let clip = common::two_audio_tracks_clip();
    let mut harness = harness_playing(path_str(&clip));
    step_until(&mut harness, "past 1 s", |app| app.player().is_some_and(|p| p.position_secs() > 1.0));
    let rate = |harness: &Harness<'_, App>| app(harness).player().unwrap().info().audio.as_ref().unwrap().sample_rate;
    assert_eq!(rate(&harness), 48000);
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "paused", |app| app.player().is_some_and(|p| p.is_paused()));
    let at = position(&harness);
    harness.event(egui::Event::Text("#".to_owned()));
    step_until(&mut harness, "the second track, at the same place", |app| {
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none() && p.presenter().current().is_some())
    });
    assert_eq!(rate(&harness), 44100);
    assert!((position(&harness) - at).abs() < 0.1, "{} against {at}", position(&harness));
    assert!(app(&harness).player().unwrap().is_paused(), "still paused");
    harness.event(egui::Event::Text("#".to_owned()));
    step_until(&mut harness, "back to the first", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    assert_eq!(rate(&harness), 48000);
}

/// In the split view a zoom lens follows the pointer: a square over the picture showing what is
/// under the pointer magnified (its centre the same place, its edges further out), the divider
/// magnified with it; `z` hides it.
#[test]
fn the_split_views_lens_magnifies_under_the_pointer() {
    let clip = h264_clip(4);
    let input = path_str(&clip);
    let (mut harness, adaptation) = harness_with_ladder([960.0, 720.0], input, Mode::Locked(0), |_| {});
    adaptation.controls.set_split(Some(0.5));
    step_until(&mut harness, "an upscaled frame", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some_and(|picture| picture.is_upscaled()))
    });
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "paused", |app| app.player().is_some_and(|p| p.is_paused()));
    let picture = app(&harness).picture_rect().unwrap();
    // Just left of the divider, on testsrc2's diagonal band: the lens shows both sides.
    let pointer = egui::pos2(picture.center().x - 20.0, picture.top() + 0.27 * picture.height());
    harness.event(egui::Event::PointerMoved(pointer));
    harness.run_steps(2);
    let lens = app(&harness).lens_rect().expect("the lens shows");
    assert!((lens.center() - pointer).length() < 1.0 && (lens.width() - 240.0).abs() < 1.0, "{lens:?} at {pointer:?}");
    let with_lens = harness.render().unwrap();
    harness.key_press(egui::Key::Z);
    harness.run_steps(2);
    assert!(app(&harness).lens_rect().is_none(), "z hides it");
    let without = harness.render().unwrap();
    let ppp = with_lens.width() as f32 / 960.0;
    let pixel = |image: &image::RgbaImage, at: egui::Pos2| image.get_pixel((at.x * ppp) as u32, (at.y * ppp) as u32).0;
    let distance = |a: [u8; 4], b: [u8; 4]| a.iter().zip(b).take(3).map(|(x, y)| x.abs_diff(y) as u32).sum::<u32>();
    assert!(
        distance(pixel(&with_lens, pointer), pixel(&without, pointer)) < 40,
        "the centre shows what is under the pointer"
    );
    let differing = (0..24)
        .flat_map(|i| (0..24).map(move |j| lens.min + egui::vec2(5.0 + 10.0 * i as f32, 5.0 + 10.0 * j as f32)))
        .filter(|&at| distance(pixel(&with_lens, at), pixel(&without, at)) > 40)
        .count();
    assert!(differing > 100, "the lens magnifies: {differing} of 576 samples differ");
    // The divider, 20 points right of the pointer, is 3 x 20 right of the lens's centre.
    let white = |at: egui::Pos2| pixel(&with_lens, at)[..3].iter().all(|&channel| channel > 230);
    let divider: Vec<egui::Pos2> =
        (1..24).map(|j| egui::pos2(lens.center().x + 60.0, lens.top() + 10.0 * j as f32)).collect();
    assert!(divider.iter().all(|&at| white(at)), "the lens shows the divider");
    assert!(!divider.iter().all(|&at| white(at + egui::vec2(6.0, 0.0))), "only there");
}

/// Several inputs play one after another: the next opens when one ends, one that cannot be played
/// is skipped with a warning, and `<` / `>` move back and forth, stopping at either end.
#[test]
fn a_playlist_plays_its_inputs_in_turn() {
    let (first, last) = (
        h264_clip(1),
        test_clip("playlist-last.mkv", "160x120", 1, &["-c:v", "libx264", "-preset", "ultrafast"], false),
    );
    let broken = common::media_dir().join("playlist-broken.mp4");
    std::fs::write(&broken, "not a video").expect("write the broken input");
    let inputs = vec![path_str(&first), path_str(&broken), path_str(&last)];
    let mut harness = harness_with_options(
        [640.0, 480.0],
        inputs,
        PlayerOptions { audio: AudioMode::Silent, ..Default::default() },
        |_| {},
    );
    let playing =
        |app: &PlayerApp, clip: &std::path::Path| app.player().is_some_and(|p| p.info().input == path_str(clip));
    step_until(&mut harness, "the first input", |app| playing(app, &first));
    assert_eq!(app(&harness).playlist_position().as_deref(), Some("1/3"));
    step_until(&mut harness, "the last input, after the first ended", |app| playing(app, &last));
    assert_eq!(app(&harness).playlist_position().as_deref(), Some("3/3"));
    assert!(app(&harness).error().is_none(), "the broken input is skipped, not an error");
    let warning = app(&harness).warning().expect("a warning names the skipped input").to_owned();
    assert!(warning.starts_with("skipped") && warning.contains(&path_str(&broken)), "{warning}");
    harness.event(egui::Event::Text(">".to_owned()));
    harness.run_steps(2);
    assert!(playing(app(&harness), &last), "nothing after the last");
    harness.event(egui::Event::Text("<".to_owned()));
    step_until(&mut harness, "back to the first, past the broken one", |app| playing(app, &first));
    std::fs::remove_file(&broken).ok();
}

/// A folder dropped on the window plays its videos in natural name order (`ep2` before `ep10`); a
/// folder with none is an error under the open bar while what was playing plays on.
#[test]
fn a_dropped_folder_plays_its_videos_in_order() {
    let folder = common::media_dir().join("dropped-folder");
    let empty = common::media_dir().join("dropped-empty-folder");
    for dir in [&folder, &empty] {
        std::fs::create_dir_all(dir).expect("make the folder");
    }
    let clip = h264_clip(1);
    for name in ["ep10.mp4", "ep2.mp4"] {
        std::fs::copy(&clip, folder.join(name)).expect("copy the clip in");
    }
    std::fs::write(folder.join("notes.txt"), "not a video").expect("write a note");
    let mut harness = harness_with_options(
        [640.0, 480.0],
        vec![path_str(&clip)],
        PlayerOptions { audio: AudioMode::Silent, ..Default::default() },
        |_| {},
    );
    let playing = |app: &PlayerApp, name: &str| app.player().is_some_and(|p| p.info().input.ends_with(name));
    step_until(&mut harness, "the clip", |app| app.player().is_some());
    /// A folder as the windowing layer hands it over when it is dropped.
    #[derive(Debug)]
    struct Dropped(std::path::PathBuf);
    impl egui::DroppedFile for Dropped {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            Err("a folder has no bytes".to_owned())
        }
    }
    let drop = |harness: &mut Harness<'static, App>, path: &std::path::Path| {
        harness.input_mut().dropped_files.push(Arc::new(Dropped(path.to_owned())));
    };
    drop(&mut harness, &empty);
    harness.run_steps(2);
    let error = app(&harness).error().expect("an empty folder is an error").to_owned();
    assert!(error.contains("no video files"), "{error}");
    assert!(app(&harness).player().is_some(), "the clip plays on");
    drop(&mut harness, &folder);
    step_until(&mut harness, "the folder's first video", |app| playing(app, "ep2.mp4"));
    assert_eq!(app(&harness).playlist_position().as_deref(), Some("1/2"));
    step_until(&mut harness, "its second, after the first ended", |app| playing(app, "ep10.mp4"));
}

/// Opens `input` from the "Recent" menu and waits for its first frame where it starts.
fn open_from_recent(harness: &mut Harness<'static, App>, input: &std::path::Path) {
    harness.get_by_label("Recent").click();
    harness.run_steps(2);
    harness.get_by_label(&input.file_name().unwrap().to_string_lossy()).click();
    step_until(harness, &format!("{} opened from Recent", input.display()), |app| {
        app.player().is_some_and(|p| {
            p.info().input == path_str(input)
                && p.presenter().current().is_some()
                && p.presenter().seek_target_secs().is_none()
        })
    });
}

/// An input opened again starts where it was left (the position is remembered when another input
/// opens), and Home goes back to its start.
#[test]
fn an_input_opened_again_resumes_where_it_was_left() {
    use dysr::ui::settings::{Restore, Settings};

    let film = test_clip("resume-24s.mp4", "160x120", 24, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let other = h264_clip(2);
    let remembered = Settings { recent: vec![path_str(&other)], ..Settings::default() };
    let mut harness = harness_with([800.0, 600.0], path_str(&film), move |app| {
        app.apply_settings(remembered.clone(), Restore::ALL);
        app.set_remembering(true);
    });
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    app_mut(&mut harness).player_mut().unwrap().seek(12.0);
    step_until(&mut harness, "past 12 s", |app| app.player().is_some_and(|p| p.position_secs() >= 12.0));

    harness.get_by_label("Recent").click();
    harness.run_steps(2);
    harness.get_by_label(&other.file_name().unwrap().to_string_lossy()).click();
    step_until(&mut harness, "the other input", |app| app.player().is_some_and(|p| p.info().input == path_str(&other)));
    let left_at = app(&harness).settings().resume_position(&path_str(&film)).expect("the film's position remembered");
    assert!((12.0..13.0).contains(&left_at), "left at {left_at}");

    open_from_recent(&mut harness, &film);
    assert!((position(&harness) - left_at).abs() < 0.5, "{} against {left_at}", position(&harness));
    assert!(
        app(&harness).status_line().is_some_and(|line| line.starts_with("resumed at 00:12")),
        "{:?}",
        app(&harness).status_line()
    );
    harness.key_press(egui::Key::Home);
    step_until(&mut harness, "back at the start", |app| {
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none() && p.position_secs() < 1.0)
    });
}

/// `--start` is the command line's and wins over where an input was left.
#[test]
fn a_start_time_wins_over_a_remembered_position() {
    use dysr::ui::settings::{Restore, Settings};

    let film = test_clip("resume-24s.mp4", "160x120", 24, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let other = h264_clip(2);
    let remembered =
        Settings { recent: vec![path_str(&film)], positions: vec![(path_str(&film), 12.0)], ..Settings::default() };
    let options = PlayerOptions { audio: AudioMode::Silent, start_secs: Some(5.0), ..Default::default() };
    let mut harness = harness_with_options([800.0, 600.0], vec![path_str(&other)], options, move |app| {
        app.apply_settings(remembered.clone(), Restore::ALL);
        app.set_remembering(true);
    });
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    open_from_recent(&mut harness, &film);
    assert!((position(&harness) - 5.0).abs() < 0.5, "at {}", position(&harness));
}

/// PgDn goes to the next chapter's start and PgUp back, as in mpv; the status line names the
/// chapter, and the media info counts them.
#[test]
fn page_keys_move_between_chapters() {
    let clip = common::chaptered_clip();
    let mut harness = harness_with([800.0, 600.0], path_str(&clip), |_| {});
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    let chapters = app(&harness).player().unwrap().info().chapters.clone();
    assert_eq!(
        chapters.iter().map(|c| (c.start_secs, c.title.as_str())).collect::<Vec<_>>(),
        [(0.0, "One"), (4.0, "Two"), (8.0, "Three")]
    );
    let settled = |app: &PlayerApp| {
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none() && p.presenter().current().is_some())
    };
    for (key, expected_secs, line) in [
        (egui::Key::PageDown, 4.0, "chapter 2/3: Two"),
        (egui::Key::PageDown, 8.0, "chapter 3/3: Three"),
        (egui::Key::PageUp, 4.0, "chapter 2/3: Two"),
    ] {
        harness.key_press(key);
        step_until(&mut harness, line, |app| settled(app) && app.status_line() == Some(line));
        let at = position(&harness);
        assert!((expected_secs..expected_secs + 0.5).contains(&at), "{line}: at {at}");
    }
    assert!(
        app(&harness).player().unwrap().info().details.iter().any(|(what, value)| what == "chapters" && value == "3")
    );
}

/// A window playing a playlist of a six-second clip then a two-second one, the first on screen;
/// and the second's path.
fn two_clip_playlist() -> (Harness<'static, App>, String) {
    let (first, second) = (path_str(&h264_clip(6)), path_str(&h264_clip(2)));
    let inputs = vec![first, second.clone()];
    let mut harness = harness_with_options(
        [800.0, 600.0],
        inputs,
        PlayerOptions { audio: AudioMode::Silent, ..Default::default() },
        |_| {},
    );
    step_until(&mut harness, "a frame on screen", |app| {
        app.player().is_some_and(|p| p.presenter().current().is_some())
    });
    (harness, second)
}

/// mpv's speed keys: `]` / `[` by 1.1, `}` / `{` by 2, within 0.25-4; the transport bar shows a
/// speed that is not normal as a button that resets it, as Backspace does; the next input of the
/// playlist plays at the speed chosen.
#[test]
fn the_speed_keys_change_the_playback_speed() {
    let (mut harness, second) = two_clip_playlist();
    let speed = |harness: &Harness<'static, App>| app(harness).player().unwrap().speed();
    let type_text = |harness: &mut Harness<'static, App>, text: &str| {
        harness.event(egui::Event::Text(text.to_owned()));
        harness.run_steps(2);
    };
    type_text(&mut harness, "]");
    assert_eq!(speed(&harness), 1.1);
    assert_eq!(app(&harness).status_line(), Some("speed 1.10x"));
    type_text(&mut harness, "}");
    assert_eq!(speed(&harness), 2.2);
    type_text(&mut harness, "[");
    assert_eq!(speed(&harness), 2.0);
    type_text(&mut harness, "{");
    assert_eq!(speed(&harness), 1.0);
    for _ in 0..4 {
        type_text(&mut harness, "}");
    }
    assert_eq!(speed(&harness), 4.0, "no faster than 4x");
    harness.get_by_label("4.00x").click();
    harness.run_steps(2);
    assert_eq!(speed(&harness), 1.0, "the button resets it");
    assert!(harness.query_by_label("1.00x").is_none(), "no button at normal speed");
    type_text(&mut harness, "{");
    harness.key_press(egui::Key::Backspace);
    harness.run_steps(2);
    assert_eq!(speed(&harness), 1.0, "Backspace resets it");
    type_text(&mut harness, "}");
    type_text(&mut harness, ">");
    step_until(&mut harness, "the second input", |app| app.player().is_some_and(|p| p.info().input == second));
    assert_eq!(speed(&harness), 2.0, "the next input plays at the speed chosen");
}

/// Ctrl + and Ctrl - move the sound by 100 ms against the picture (mpv's keys), not the size of
/// the UI; the delay carries to the next input.
#[test]
fn ctrl_plus_and_minus_move_the_sound_against_the_picture() {
    let (mut harness, second) = two_clip_playlist();
    let delay = |harness: &Harness<'static, App>| app(harness).player().unwrap().audio_delay_secs();
    let zoom = harness.ctx.zoom_factor();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Plus);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Equals);
    harness.run_steps(2);
    assert_eq!(delay(&harness), 0.2);
    assert_eq!(app(&harness).status_line(), Some("audio delay +200 ms"));
    assert_eq!(harness.ctx.zoom_factor(), zoom, "the UI keeps its size");
    for _ in 0..3 {
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Minus);
    }
    harness.run_steps(2);
    assert!((delay(&harness) + 0.1).abs() < 1e-6, "{}", delay(&harness));
    harness.event(egui::Event::Text(">".to_owned()));
    step_until(&mut harness, "the second input", |app| app.player().is_some_and(|p| p.info().input == second));
    assert!((delay(&harness) + 0.1).abs() < 1e-6, "the next input keeps the delay");
}

/// `--fullscreen` holds the input back until the window is fullscreen, so the clock does not start
/// under the resize and the first fullscreen paints; where the window manager refuses, the input
/// opens after a second anyway.
#[test]
fn a_fullscreen_start_opens_the_input_once_the_window_is_fullscreen() {
    let clip = h264_clip(2);
    for granted in [true, false] {
        let mut harness = harness_with([640.0, 360.0], path_str(&clip), |app| app.set_start_fullscreen(true));
        harness.step();
        assert!(app(&harness).player().is_none(), "granted {granted}: held back while the window is not fullscreen");
        let asked = Instant::now();
        if granted {
            let root = harness.input_mut().viewports.entry(egui::ViewportId::ROOT).or_default();
            root.fullscreen = Some(true);
        }
        step_until(&mut harness, "the input opened", |app| app.player().is_some());
        let waited = asked.elapsed();
        assert_eq!(waited < Duration::from_millis(500), granted, "granted {granted}: opened after {waited:?}");
    }
}
