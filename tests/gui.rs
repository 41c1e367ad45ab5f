//! The window, driven headless with egui_kittest on wgpu: it opens a clip, shows a frame, and its
//! play/pause button, keyboard and seek bar work.

mod common;

use std::time::{Duration, Instant};

use common::{h264_clip, path_str};
use dysr::player::{AudioMode, PlayerOptions};
use dysr::ui::PlayerApp;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};

type App = Option<PlayerApp>;

fn harness_playing(input: String) -> Harness<'static, App> {
    Harness::builder().with_size([960.0, 720.0]).wgpu().build_ui_state(
        move |ui, app: &mut App| {
            let options = PlayerOptions { audio: AudioMode::Silent, ..Default::default() };
            app.get_or_insert_with(|| PlayerApp::new(ui.ctx(), Some(input.clone()), options)).ui(ui);
        },
        None,
    )
}

fn app<'h>(harness: &'h Harness<'_, App>) -> &'h PlayerApp {
    harness.state().as_ref().expect("the app is created on the first frame")
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
    step_until(&mut harness, "a frame on screen", |app| app.player().is_some_and(|p| p.presenter().current().is_some()));
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
        app.player().is_some_and(|p| p.presenter().seek_target_secs().is_none() && (p.position_secs() - 3.0).abs() < 0.5)
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
    use dysr::model::manifest::default_manifest_path;
    use dysr::runtime::Mode;
    use dysr::runtime::adaptive::adaptive_factory;
    use dysr::ui::adaptation_panel::LOAD_SLIDER;

    let clip = h264_clip(4);
    let input = path_str(&clip);
    let (factory, adaptation) = adaptive_factory(&default_manifest_path(), Mode::Adaptive, None, 1).expect("shipped model");
    let shared = std::sync::Arc::clone(&adaptation);
    let mut harness = Harness::builder().with_size([1100.0, 900.0]).wgpu().build_ui_state(
        move |ui, app: &mut App| {
            app.get_or_insert_with(|| {
                let options = PlayerOptions { audio: AudioMode::Silent, upscaler: Some(factory.clone()), ..Default::default() };
                let mut app = PlayerApp::new(ui.ctx(), Some(input.clone()), options);
                app.set_adaptation(Some(std::sync::Arc::clone(&shared)));
                app.set_stats_visible(true);
                app
            })
            .ui(ui);
        },
        None,
    );
    step_until(&mut harness, "a frame on screen", |app| app.player().is_some_and(|p| p.presenter().current().is_some()));
    assert_eq!(adaptation.load.level(), 0);
    let slider = || harness.get_by_role_and_label(egui::accesskit::Role::Slider, LOAD_SLIDER);
    slider().set_value_accesskit(70.0);
    harness.step();
    harness.step();
    assert_eq!(adaptation.load.level(), 70);
    let shown = harness.get_by_role_and_label(egui::accesskit::Role::Slider, LOAD_SLIDER).accesskit_node().numeric_value();
    assert_eq!(shown, Some(70.0), "the panel shows the new level");
}
