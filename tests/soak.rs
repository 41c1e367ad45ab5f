//! A minute of `dysr bench soak`: the demo looping through the real pipeline with the adaptive
//! ladder under changing load, seeks and mode changes, checked for stalls and growth.

mod common;

use std::time::Duration;

use dysr::bench::soak::{SoakConfig, run};
use dysr::model::manifest::default_manifest_path;

#[test]
fn a_minute_of_soak_stalls_nowhere_and_grows_nothing() {
    let out = common::media_dir().join("soak");
    let config = SoakConfig {
        input: concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bbb-meadow-360p.mp4").to_owned(),
        manifest: default_manifest_path(),
        duration: Duration::from_secs(60),
        warm_up: Duration::from_secs(20),
        load_threads: 2,
        out: out.clone(),
        seed: 1,
    };
    let report = run(&config).expect("no stall, no pipeline error");
    assert!(report.passed, "{report:?}");
    assert!(report.seeks >= 5 && report.mode_changes >= 1, "{report:?}");
    // 24 frames/s for a minute, less what seeks and the heaviest load may cost.
    assert!(report.frames_presented > 1000, "{report:?}");
    assert!(report.samples.len() >= 59, "a sample a second: {}", report.samples.len());
    assert!(out.join("soak.csv").is_file() && out.join("soak.png").is_file());
    std::fs::remove_dir_all(&out).ok();
}
