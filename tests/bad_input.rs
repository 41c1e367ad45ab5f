//! Bad inputs get a one-line error naming the input and the cause, from the library and from the
//! CLI; damaged packets mid-file are skipped; no pipeline thread is left running afterwards.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::http::{Delivery, serve};
use common::{decode_all, generated, h264_clip, media_dir, path_str, test_clip};
use dysr::player::{AudioMode, Player, PlayerOptions, headless};
use dysr::threads::live_pipeline_threads;

/// The live-thread count is process-wide: these tests run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn open_error(input: &str) -> String {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let error = match Player::open(input, PlayerOptions { audio: AudioMode::Silent, ..Default::default() }) {
        Ok(_) => panic!("{input} opened"),
        Err(error) => error.to_string(),
    };
    assert_eq!(live_pipeline_threads(), 0, "threads left after failing to open {input}");
    assert!(!error.contains('\n'), "one line: {error}");
    assert!(error.starts_with(input), "names the input first: {error}");
    error
}

/// Runs `dysr play --headless INPUT` and returns its stderr, checking it failed with one line.
fn cli_error(input: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_dysr"))
        .args(["play", "--headless", "--audio", "silent", input])
        .env_remove("RUST_LOG")
        .output()
        .expect("run dysr");
    assert!(!output.status.success(), "dysr succeeded on {input}");
    assert!(output.stdout.is_empty(), "no summary on failure");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(input), "names the input: {stderr}");
    stderr
}

fn write_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = media_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn assert_both_say(path: &Path, cause: &str) {
    let input = path_str(path);
    let library = open_error(&input);
    assert!(library.contains(cause), "{library}");
    let cli = cli_error(&input);
    assert!(cli.contains(cause), "{cli}");
}

#[test]
fn missing_file() {
    assert_both_say(&media_dir().join("does-not-exist.mp4"), "file not found");
}

#[test]
fn empty_file() {
    assert_both_say(&write_file("empty.mp4", b""), "file is empty");
}

#[test]
fn text_file_renamed_mp4() {
    let path = write_file("notes.mp4", "These are shopping notes, not a video.\n".repeat(50).as_bytes());
    assert_both_say(&path, "invalid data");
}

#[test]
fn truncated_mp4() {
    // Without faststart the index (moov) is at the end: half a file has none.
    let whole = std::fs::read(h264_clip(4)).unwrap();
    let path = write_file("truncated.mp4", &whole[..whole.len() / 2]);
    assert_both_say(&path, "invalid data");
}

#[test]
fn audio_only_file() {
    let path = generated("tone.m4a", &["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"]);
    assert_both_say(&path, "has no video stream");
}

#[test]
fn codec_without_a_decoder() {
    // Rename the H.264 track's sample entry (and the matching brand) to a fourcc no decoder knows.
    let mut bytes =
        std::fs::read(test_clip("plain.mp4", "320x240", 1, &["-c:v", "libx264", "-preset", "ultrafast"], false))
            .unwrap();
    let places: Vec<usize> = bytes.windows(4).enumerate().filter(|(_, w)| *w == b"avc1").map(|(at, _)| at).collect();
    assert!(!places.is_empty(), "an avc1 sample entry");
    for at in places {
        bytes[at..at + 4].copy_from_slice(b"zzzz");
    }
    let path = write_file("unknown-codec.mp4", &bytes);
    assert_both_say(&path, "no decoder for the video codec");
}

#[test]
fn unreachable_url() {
    // Nothing listens on a port we just released (unless another test's server takes it meanwhile,
    // which then resets the connection: the same one-line error from the other side).
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/clip.mp4");
    let library = open_error(&url);
    assert!(library.contains("connection refused") || library.contains("connection reset"), "{library}");
    cli_error(&url);
}

fn playlist(segment_url: &str) -> Vec<u8> {
    format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{segment_url}\n#EXT-X-ENDLIST\n")
        .into_bytes()
}

#[test]
fn a_remote_playlist_cannot_read_local_files() {
    let local = test_clip("local-secret.ts", "320x240", 2, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let segment = std::fs::read(&local).unwrap();
    let no_sync = || PlayerOptions { no_sync: true, ..Default::default() };
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());

    // Control: the playlist pointing at a segment served over HTTP plays.
    let good = serve(Delivery::Whole, move |path| match path {
        "/list.m3u8" => Some(playlist("seg.ts")),
        "/seg.ts" => Some(segment.clone()),
        _ => None,
    })
    .base;
    let summary =
        headless::run(&format!("{good}/list.m3u8"), no_sync()).expect("a remote playlist of remote segments plays");
    assert_eq!(summary.frames_presented, 50);

    // The attack: a remote playlist whose segment is a local file.
    let local_url = format!("file://{}", path_str(&local));
    let evil = serve(Delivery::Whole, move |path| (path == "/list.m3u8").then(|| playlist(&local_url))).base;
    let input = format!("{evil}/list.m3u8");
    match headless::run(&input, no_sync()) {
        Err(error) => assert!(error.to_string().starts_with(&input), "{error}"),
        Ok(summary) => assert_eq!(summary.frames_presented, 0, "the local file was read through a remote playlist"),
    }
    assert_eq!(live_pipeline_threads(), 0);
}

#[test]
fn damaged_packets_mid_file_are_skipped_and_playback_goes_on() {
    let clean = test_clip("to-damage.ts", "320x240", 4, &["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"], true);
    let mut bytes = std::fs::read(clean).unwrap();
    // Scribble over a stretch in the middle (TS packets are 188 bytes; keep the sync bytes).
    let middle = bytes.len() / 2;
    for (offset, byte) in bytes[middle..middle + 188 * 40].iter_mut().enumerate() {
        if offset % 188 != 0 {
            *byte = (offset * 7919 % 251) as u8;
        }
    }
    let path = write_file("damaged.ts", &bytes);
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let frames = decode_all(&path);
    assert!(frames.len() >= 60, "most of the 100 frames still play: {}", frames.len());
    let last = frames.last().expect("frames").pts_secs;
    assert!(last > 3.9, "playback went on past the damage to the end: last frame at {last}");
    assert_eq!(live_pipeline_threads(), 0);
}

#[test]
fn closing_a_playing_player_joins_every_thread() {
    let clip = h264_clip(4);
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let player =
        Player::open(&path_str(&clip), PlayerOptions { audio: AudioMode::Silent, ..Default::default() }).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(live_pipeline_threads() >= 4);
    drop(player);
    assert_eq!(live_pipeline_threads(), 0);
}

/// A model that cannot be loaded does not stop playback: the plain scaler plays the clip and one
/// warning line says why the network is off.
#[test]
fn a_corrupt_model_plays_with_the_plain_scaler_and_says_why() {
    let dir = media_dir().join("corrupt-model");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = dysr::model::manifest::default_manifest_path();
    std::fs::copy(&shipped, dir.join("dysr-x2.json")).unwrap();
    std::fs::write(dir.join("dysr-x2.bpk"), b"not a burnpack file").unwrap();
    let clip = h264_clip(1);
    let output = Command::new(env!("CARGO_BIN_EXE_dysr"))
        .args([
            "play",
            "--headless",
            "--no-sync",
            "--view",
            "640x360",
            "--manifest",
            &path_str(&dir.join("dysr-x2.json")),
            &path_str(&clip),
        ])
        .env_remove("RUST_LOG")
        .output()
        .expect("run dysr");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SR off") && stderr.contains("dysr-x2.bpk") && stderr.contains("bicubic"), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a summary");
    assert!(summary["frames_presented"].as_u64().unwrap() > 0, "{summary}");
}

/// Without a display the window is not tried: one line says to play with --headless.
#[test]
fn no_display_suggests_headless() {
    let output = Command::new(env!("CARGO_BIN_EXE_dysr"))
        .args(["play", &path_str(&h264_clip(1))])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("RUST_LOG")
        .output()
        .expect("run dysr");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no display") && stderr.contains("--headless"), "{stderr}");
}

/// A server that sends its headers and then nothing: with `--network-timeout 1` the run ends with
/// one line naming the URL within a few seconds, not after the default 10.
#[test]
fn a_server_that_stalls_after_its_headers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/clip.mp4", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            if stream.read(&mut request).unwrap_or(0) == 0 {
                continue;
            }
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000000\r\n\r\n").ok();
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_dysr"))
        .args(["play", "--headless", "--audio", "silent", "--network-timeout", "1", &url])
        .env_remove("RUST_LOG")
        .output()
        .expect("run dysr");
    let elapsed = started.elapsed();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
}
