//! Decoding through the whole pipeline: frame counts, monotonic timestamps and sizes for several
//! codecs, odd sizes, a stream whose resolution changes midway, interlaced video, and video piped
//! in on standard input.

mod common;

use common::{Shown, decode_all, generated, media_dir, path_str, test_clip};

const FRAME_SECS: f64 = 1.0 / 25.0;

fn assert_monotonic_at_25_fps(frames: &[Shown]) {
    for pair in frames.windows(2) {
        let step = pair[1].pts_secs - pair[0].pts_secs;
        assert!((step - FRAME_SECS).abs() < 1e-3, "pts step {step} between {:?} and {:?}", pair[0], pair[1]);
    }
    // Containers may start a few ms late (an audio codec's priming), never a frame late.
    assert!((0.0..FRAME_SECS).contains(&frames[0].pts_secs), "first frame at {}", frames[0].pts_secs);
}

fn assert_plays_fully(name: &str, codec: &[&str], size: (u32, u32)) {
    let clip = test_clip(name, &format!("{}x{}", size.0, size.1), 2, codec, true);
    let frames = decode_all(&clip);
    assert_eq!(frames.len(), 50, "{name}: 2 s at 25 fps");
    assert_monotonic_at_25_fps(&frames);
    for frame in &frames {
        assert_eq!((frame.width, frame.height), (size.0 * 2, size.1 * 2), "{name}: upscaled x2");
    }
}

#[test]
fn h264_in_mp4() {
    assert_plays_fully("h264.mp4", &["-c:v", "libx264", "-preset", "ultrafast"], (320, 240));
}

#[test]
fn vp9_in_webm() {
    assert_plays_fully(
        "vp9.webm",
        &["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"],
        (320, 240),
    );
}

#[test]
fn mpeg4_in_avi() {
    // PCM sound: an MP3 track's encoder delay makes the AVI muxer skip the second video timestamp.
    assert_plays_fully("mpeg4.avi", &["-c:v", "mpeg4", "-q:v", "5", "-c:a", "pcm_s16le"], (320, 240));
}

#[test]
fn sizes_that_are_not_multiples_of_16() {
    assert_plays_fully("odd-size.mp4", &["-c:v", "libx264", "-preset", "ultrafast"], (642, 362));
}

#[test]
fn resolution_change_mid_stream() {
    let first = test_clip("part-320.ts", "320x240", 1, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let second = test_clip("part-480.ts", "480x270", 1, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let list = media_dir().join("parts.txt");
    std::fs::write(&list, format!("file '{}'\nfile '{}'\n", path_str(&first), path_str(&second))).unwrap();
    let joined = generated("size-change.ts", &["-f", "concat", "-safe", "0", "-i", &path_str(&list), "-c", "copy"]);

    let frames = decode_all(&joined);
    assert_eq!(frames.len(), 50);
    let sizes: Vec<(u32, u32)> = frames.iter().map(|f| (f.width, f.height)).collect();
    assert!(sizes[..25].iter().all(|&s| s == (640, 480)), "first second at 320x240 (x2): {sizes:?}");
    assert!(sizes[25..].iter().all(|&s| s == (960, 540)), "second second at 480x270 (x2): {sizes:?}");
    for pair in frames.windows(2) {
        assert!(pair[1].pts_secs > pair[0].pts_secs, "pts not increasing: {pair:?}");
    }
}

/// Interlaced H.264 (frames flagged interlaced, as ffprobe confirms) reaches the screen
/// deinterlaced: every frame, in order, at its time.
#[test]
fn interlaced_frames_are_deinterlaced() {
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264-params", "tff=1"];
    let clip = test_clip("interlaced.mp4", "320x240", 2, &codec, true);
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-show_entries", "frame=interlaced_frame", "-of", "csv=p=0"])
        .arg(&clip)
        .output()
        .expect("ffprobe comes with the ffmpeg CLI");
    let flags = String::from_utf8_lossy(&probe.stdout);
    assert!(flags.lines().filter(|line| line.trim() == "1").count() >= 45, "the source is interlaced: {flags}");

    let frames = decode_all(&clip);
    assert_eq!(frames.len(), 50);
    assert_monotonic_at_25_fps(&frames);
    assert!(frames.iter().all(|frame| frame.progressive), "every frame shown is progressive");
}

/// Headless runs apply the window's rule: the network runs only when the planned view enlarges the
/// picture; the summary says what ran and why.
#[test]
fn the_view_decides_whether_frames_are_upscaled() {
    use dysr::engine::view::ViewTarget;
    use dysr::player::{AudioMode, PlayerOptions, headless};
    let clip = common::h264_clip(2);
    let run = |view: Option<(u32, u32)>| {
        let options = PlayerOptions {
            audio: AudioMode::Silent,
            no_sync: true,
            upscaler: Some(common::smallest_rung()),
            view: std::sync::Arc::new(ViewTarget::new(view, 1.2)),
            ..Default::default()
        };
        headless::run(&path_str(&clip), options).expect("plays")
    };
    let same_size = run(Some((320, 240)));
    assert_eq!((same_size.frames_upscaled, same_size.output_width, same_size.output_height), (0, 320, 240));
    assert_eq!(same_size.upscaler, "none: no frame was shown enlarged");
    assert_eq!(same_size.sr_decision, "320x240 shown at 320x240 (x1.00): no SR needed (SR from x1.20)");
    let doubled = run(None);
    assert_eq!((doubled.frames_upscaled, doubled.output_width, doubled.output_height), (50, 640, 480));
    assert_eq!(doubled.sr_share, 1.0);
    assert_eq!((doubled.view_width, doubled.view_height), (640, 480));
}

/// `-` is standard input, as in mpv: a clip piped in (Matroska, which streams; an MP4 whose index
/// comes last cannot be read through a pipe) plays to its end, every frame decoded, and `dysr
/// upscale -` upscales it; nothing piped in, or a terminal, gets one line.
#[test]
fn standard_input_plays_and_upscales() {
    use std::process::{Command, Stdio};
    let clip = common::subtitled_clip();
    let run = |args: &[&str], stdin: Stdio| {
        Command::new(env!("CARGO_BIN_EXE_dysr")).args(args).stdin(stdin).output().expect("run dysr")
    };
    let piped = || Stdio::from(std::fs::File::open(&clip).unwrap());
    let played = run(&["play", "-", "--headless", "--audio", "silent"], piped());
    assert!(played.status.success(), "{}", String::from_utf8_lossy(&played.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&played.stdout).expect("a JSON summary");
    assert_eq!(summary["frames_decoded"], 50, "{summary}");

    let output = media_dir().join("from-stdin.mkv");
    let _ = std::fs::remove_file(&output);
    let upscaled = run(&["upscale", "-", "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"], piped());
    assert!(upscaled.status.success(), "{}", String::from_utf8_lossy(&upscaled.stderr));
    assert!(String::from_utf8_lossy(&upscaled.stdout).contains("50 frames 160x120 -> 320x240"));

    let nothing = run(&["play", "-", "--headless"], Stdio::null());
    let stderr = String::from_utf8_lossy(&nothing.stderr);
    assert!(!nothing.status.success() && stderr.trim_end().lines().count() == 1 && stderr.contains("-:"), "{stderr}");

    // A terminal on standard input (util-linux's `script` gives one) is refused at once, not read.
    let command = format!("{} play - --headless", env!("CARGO_BIN_EXE_dysr"));
    let terminal = Command::new("script").args(["-qec", &command, "/dev/null"]).stdin(Stdio::null()).output();
    let terminal = terminal.expect("script (util-linux) runs");
    let said = String::from_utf8_lossy(&terminal.stdout);
    assert!(!terminal.status.success() && said.contains("standard input is a terminal"), "{said}");
}
