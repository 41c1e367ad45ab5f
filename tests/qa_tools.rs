//! The testers' tools on the command line: `--record-trace` writes a row per upscaled frame with
//! the header the README documents; `--log-file` keeps the opened input, the switches and the
//! error that ended a run.

mod common;

use std::process::Command;

use common::{h264_clip, media_dir, path_str};

fn dysr(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dysr")).args(args).output().expect("run dysr")
}

#[test]
fn record_trace_writes_a_row_per_upscaled_frame() {
    let clip = h264_clip(2);
    let trace = media_dir().join("trace.csv");
    let run = dysr(&[
        "play",
        "--headless",
        "--audio",
        "silent",
        "--view",
        "1280x960",
        "--record-trace",
        &path_str(&trace),
        &path_str(&clip),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).expect("the JSON summary");
    let text = std::fs::read_to_string(&trace).expect("the trace file");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(dysr::adaptation::TRACE_HEADER.trim_end()));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, summary["frames_upscaled"].as_u64().unwrap(), "one row per upscaled frame");
    assert!(rows.len() >= 40, "a 2 s clip at 25 fps: {} rows", rows.len());
    for row in &rows {
        assert_eq!(row.len(), 8, "{row:?}");
        assert!(row[2] == "floor" || row[2].starts_with('r'), "a level name: {row:?}");
        let sr_ms: f64 = row[3].parse().unwrap();
        let budget_ms: f64 = row[5].parse().unwrap();
        assert!(sr_ms > 0.0 && budget_ms > 0.0, "{row:?}");
    }
    let pts: Vec<f64> = rows.iter().map(|row| row[1].parse().unwrap()).collect();
    assert!(pts.windows(2).all(|pair| pair[1] > pair[0]), "frames in stream order");
}

#[test]
fn the_log_file_keeps_the_input_and_the_error_that_ended_the_run() {
    let clip = h264_clip(1);
    let log = media_dir().join("play.log");
    let run = dysr(&["play", "--headless", "--audio", "silent", "--log-file", &path_str(&log), &path_str(&clip)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(&format!("opened {}: h264 320x240 at 25.000 frames/s, aac", path_str(&clip))), "{text}");

    let missing = media_dir().join("missing.mkv");
    let run = dysr(&["play", "--headless", "--log-file", &path_str(&log), &path_str(&missing)]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "the terminal gets the error once: {stderr}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("ERROR") && text.contains(&format!("{}: file not found", path_str(&missing))), "{text}");
}

/// `--power-cap 40` on a 25 fps clip: every frame's budget is 40% of its 40 ms (the controller's
/// response to a budget is its unit test `follows_a_new_budget`).
#[test]
fn the_power_cap_is_the_controllers_budget() {
    let clip = h264_clip(2);
    let trace = media_dir().join("capped.csv");
    let run = dysr(&[
        "play",
        "--headless",
        "--audio",
        "silent",
        "--view",
        "1280x960",
        "--power-cap",
        "40",
        "--record-trace",
        &path_str(&trace),
        &path_str(&clip),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&trace).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|line| line.split(',').collect()).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|row| row[5] == "16.000"), "budget 16 ms: {rows:?}");
}
