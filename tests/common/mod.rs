//! Test media, generated with the ffmpeg CLI (lavfi testsrc2 + sine) into a per-process temp folder,
//! so nothing large is committed. Each clip is made once per test binary.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dysr::player::{Player, PlayerOptions};
use dysr::player::presenter::StreamState;

/// Names the media folder of a parent test process for the child processes it starts.
pub const MEDIA_DIR_VARIABLE: &str = "DYSR_TEST_MEDIA";

/// The folder this test process (or the parent that started it) writes its media into.
pub fn media_dir() -> PathBuf {
    let dir = std::env::var_os(MEDIA_DIR_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("dysr-tests-{}", std::process::id())));
    std::fs::create_dir_all(&dir).expect("create the test media folder");
    dir
}

/// Serialises clip generation: two tests asking for the same clip must not both write it.
static GENERATE: Mutex<()> = Mutex::new(());

/// A clip made by `ffmpeg <args> OUT`, cached by name.
pub fn generated(name: &str, args: &[&str]) -> PathBuf {
    let _lock = GENERATE.lock().unwrap_or_else(|e| e.into_inner());
    let path = media_dir().join(name);
    if !path.exists() {
        let partial = media_dir().join(format!("partial-{name}"));
        let output = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y"])
            .args(args)
            .arg(&partial)
            .output()
            .expect("the ffmpeg CLI is installed (make test installs it)");
        assert!(output.status.success(), "ffmpeg failed for {name}: {}", String::from_utf8_lossy(&output.stderr));
        std::fs::rename(&partial, &path).expect("move the clip in place");
    }
    path
}

/// `seconds` of testsrc2 at `size` and 25 fps, with a 440 Hz tone unless `audio` is false, encoded
/// with `video_codec` (AAC audio unless it names `-c:a`) into `name` (the extension picks the
/// container).
pub fn test_clip(name: &str, size: &str, seconds: u32, video_codec: &[&str], audio: bool) -> PathBuf {
    let duration = seconds.to_string();
    let source = format!("testsrc2=size={size}:rate=25:duration={duration}");
    let mut args: Vec<&str> = vec!["-f", "lavfi", "-i", &source];
    if audio {
        args.extend(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &duration, "-ac", "2"]);
    }
    args.extend(["-pix_fmt", "yuv420p"]);
    args.extend(video_codec);
    if audio && !video_codec.contains(&"-c:a") {
        args.extend(["-c:a", "aac", "-b:a", "96k"]);
    }
    generated(name, &args)
}

/// A small H.264 + AAC clip in MP4: the workhorse of the tests.
pub fn h264_clip(seconds: u32) -> PathBuf {
    test_clip(&format!("h264-{seconds}s.mp4"), "320x240", seconds, &["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"], true)
}

/// Two seconds of 160x120 at 25 fps with a tone and two SRT cues, in Matroska.
pub fn subtitled_clip() -> PathBuf {
    let cues = media_dir().join("cues.srt");
    std::fs::write(&cues, "1\n00:00:00,000 --> 00:00:01,500\nHello\n\n2\n00:00:01,500 --> 00:00:02,000\nWorld\n").unwrap();
    generated(
        "subtitled.mkv",
        &[
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
            "-f", "lavfi", "-t", "2", "-i", "sine=frequency=440:sample_rate=48000",
            "-i", &path_str(&cues),
            "-map", "0", "-map", "1", "-map", "2",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "srt",
        ],
    )
}

pub fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// One presented frame: pts, output size and whether the picture is progressive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shown {
    pub pts_secs: f64,
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
}

/// Plays `input` without a clock and returns every frame in the order it was shown.
pub fn decode_all(input: &Path) -> Vec<Shown> {
    let mut player = Player::open(&path_str(input), PlayerOptions { no_sync: true, ..Default::default() })
        .expect("the clip opens");
    let mut shown = Vec::new();
    let mut last_serial = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while player.state() != StreamState::Eof {
        assert!(Instant::now() < deadline, "decoding {} did not finish", input.display());
        let wait = player.update(Instant::now());
        let presenter = player.presenter();
        if presenter.current_serial() != last_serial {
            last_serial = presenter.current_serial();
            let picture = presenter.current().expect("a serial change means a frame");
            let (width, height) = picture.size();
            shown.push(Shown { pts_secs: picture.pts_secs, width, height, progressive: !picture.frame.is_interlaced() });
        }
        if wait.is_none() {
            player.wait(Duration::from_millis(5));
        }
    }
    shown
}

/// Waits (driving `player`) until `done` holds; panics after `timeout`.
pub fn drive_until(player: &mut Player, timeout: Duration, mut done: impl FnMut(&Player) -> bool) {
    let deadline = Instant::now() + timeout;
    while !done(player) {
        assert!(Instant::now() < deadline, "timed out");
        match player.update(Instant::now()) {
            Some(wait) => std::thread::sleep(wait.min(Duration::from_millis(5))),
            None => player.wait(Duration::from_millis(5)),
        }
    }
}
