//! The adaptation bench end to end, shortened: a 4-second clip, one-second load phases, the
//! adaptive strategy against a static one; every output is written and consistent.

mod common;

use common::{h264_clip, media_dir, path_str};
use dysr::adaptation::load::default_profile;
use dysr::bench::adapt::{BenchConfig, Strategy, run};
use dysr::model::manifest::default_manifest_path;

/// The shortened bench of `clip` with `strategies` into `out`: one-second load phases, one load
/// thread, PSNR on every 12th frame, on the CPU.
fn short_bench(clip: &std::path::Path, strategies: Vec<Strategy>, out: &std::path::Path) -> BenchConfig {
    BenchConfig {
        input: path_str(clip),
        manifest: default_manifest_path(),
        strategies,
        profile: default_profile(100.0, 1.0),
        load_threads: 1,
        out: out.to_owned(),
        floor_psnr_y: 30.0,
        reference: None,
        psnr_every: 12,
        gpu: None,
    }
}

#[test]
fn a_short_bench_writes_traces_summary_and_plot() {
    let clip = h264_clip(4);
    let out = media_dir().join("bench-smoke");
    let config = short_bench(&clip, vec![Strategy::Adaptive, Strategy::Static(0)], &out);
    let summaries = run(&config).expect("the bench runs");
    assert_eq!(summaries.iter().map(|s| s.strategy.as_str()).collect::<Vec<_>>(), ["adaptive", "static:r0"]);
    for summary in &summaries {
        assert!(summary.frames > 50, "{}: {} frames", summary.strategy, summary.frames);
        assert!(summary.on_time_percent > 0.0 && summary.on_time_percent <= 100.0);
        assert!(summary.peak_rss_mib > 10.0, "memory is measured: {}", summary.peak_rss_mib);
        assert_eq!(summary.phases.len(), 4);
    }
    assert_eq!(summaries[1].switches, 0, "a static strategy never switches");
    for file in ["trace-adaptive.csv", "trace-static-r0.csv", "summary.csv", "adaptation.png"] {
        let bytes = std::fs::metadata(out.join(file)).map(|m| m.len()).unwrap_or(0);
        assert!(bytes > 100, "{file}: {bytes} bytes");
    }
    let trace = std::fs::read_to_string(out.join("trace-static-r0.csv")).unwrap();
    assert!(trace.lines().skip(1).all(|line| line.split(',').nth(1) == Some("r0")), "every frame at r0");
    std::fs::remove_dir_all(&out).ok();
}

/// A static strategy on a rung the ladder lacks is refused, naming the rung and the ladder's
/// range, before the output folder is made (it used to be left empty).
#[test]
fn a_static_rung_the_ladder_lacks_is_refused_before_anything_is_written() {
    let out = media_dir().join("bench-no-such-rung");
    std::fs::remove_dir_all(&out).ok();
    let config = short_bench(&h264_clip(1), vec![Strategy::Adaptive, Strategy::Static(99)], &out);
    let Err(error) = run(&config) else { panic!("refused") };
    let error = error.to_string();
    assert!(error.starts_with("rung 99: the ladder has rungs 0 to "), "{error}");
    assert!(!out.exists(), "nothing written");
}

/// The bench with the ladder and its load on a GPU (the software adapter here, so the ladder
/// mostly sits on the floor): both strategies play the clip through the GPU's stores and report
/// their model state on the device.
#[test]
fn the_bench_runs_the_ladder_and_its_load_on_a_gpu() {
    let clip = h264_clip(4);
    let out = media_dir().join("bench-gpu");
    let config = BenchConfig {
        profile: default_profile(100.0, 0.5),
        gpu: Some(dysr::model::device::GpuContext::shared().expect("a wgpu adapter")),
        ..short_bench(&clip, vec![Strategy::Adaptive, Strategy::Assemble], &out)
    };
    let summaries = run(&config).expect("the bench runs on the GPU");
    let [adaptive, assemble] = &summaries[..] else { panic!("two strategies") };
    assert!(adaptive.frames > 50 && assemble.frames > 50, "{} and {} frames", adaptive.frames, assemble.frames);
    assert!(
        adaptive.peak_model_mib > 0.0 && assemble.peak_model_mib > 0.0,
        "model state: adaptive {} MiB, assemble {} MiB",
        adaptive.peak_model_mib,
        assemble.peak_model_mib
    );
    std::fs::remove_dir_all(&out).ok();
}
