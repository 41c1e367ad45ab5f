//! Test media, generated with the ffmpeg CLI (lavfi testsrc2 + sine) into a per-process temp folder,
//! so nothing large is committed. Each clip is made once per test binary.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dysr::player::presenter::StreamState;
use dysr::player::{Player, PlayerOptions};

/// Names the media folder of a parent test process for the child processes it starts.
pub const MEDIA_DIR_VARIABLE: &str = "DYSR_TEST_MEDIA";

/// The folder this test process (or the parent that started it) writes its media and outputs
/// into: `dysr-tests/<process id>` in the temp folder.
pub fn media_dir() -> PathBuf {
    let dir = std::env::var_os(MEDIA_DIR_VARIABLE).map(PathBuf::from).unwrap_or_else(|| {
        let root = std::env::temp_dir().join("dysr-tests");
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| remove_folders_of_ended_processes(&root));
        root.join(std::process::id().to_string())
    });
    std::fs::create_dir_all(&dir).expect("create the test media folder");
    dir
}

/// Removes the folders under `root` of test processes that are no longer running, so that runs of
/// the tests do not pile up in the temp folder (a folder outlives its process: statics are not dropped).
fn remove_folders_of_ended_processes(root: &Path) {
    // Whether a process runs is read from /proc: elsewhere nothing is removed.
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ended = name
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists());
        if ended {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// Serialises clip generation: two tests asking for the same clip must not both write it.
static GENERATE: Mutex<()> = Mutex::new(());

/// Serialises the tests that measure playback against the clock: two playbacks (or a playback and
/// an ffmpeg encoding a clip) on a two-core machine delay each other's frames, and the test would
/// measure the machine instead of the player.
static REAL_TIME: Mutex<()> = Mutex::new(());

/// Held for the whole of a test that measures time (its clips made under it too).
pub fn alone() -> MutexGuard<'static, ()> {
    REAL_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

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

/// A four-second song (a 440 Hz tone in MP3) with a 200x200 cover picture, as music files carry
/// their album art.
#[rustfmt::skip] // the arguments grouped option by option
pub fn song_with_cover() -> PathBuf {
    generated(
        "song-with-cover.mp3",
        &[
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4",
            "-f", "lavfi", "-i", "testsrc2=size=200x200:rate=25:duration=0.04",
            "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "mjpeg", "-disposition:v", "attached_pic", "-id3v2_version", "3",
        ],
    )
}

/// A small H.264 + AAC clip in MP4: the workhorse of the tests.
pub fn h264_clip(seconds: u32) -> PathBuf {
    test_clip(
        &format!("h264-{seconds}s.mp4"),
        "320x240",
        seconds,
        &["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"],
        true,
    )
}

/// `seconds` of 320x240 at 25 fps with a tone in MPEG-TS, with B-frames and a keyframe every
/// `gop` frames (or only the first, for a `gop` longer than the clip): no index to seek by, and
/// the first keyframe's packet before the timeline's start (its decoding time is earlier).
pub fn mpeg_ts_clip(gop: u32, seconds: u32) -> PathBuf {
    let gop = gop.to_string();
    test_clip(
        &format!("gop-{gop}-{seconds}s-b.ts"),
        "320x240",
        seconds,
        &["-c:v", "libx264", "-preset", "veryfast", "-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0"],
        true,
    )
}

/// Four seconds of 160x120 at 25 fps with a tone in MPEG-TS whose clock starts at an hour, as a
/// broadcast recording's does.
#[rustfmt::skip] // the arguments grouped option by option
pub fn clock_at_an_hour() -> PathBuf {
    generated(
        "clock-at-an-hour.ts",
        &[
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
            "-output_ts_offset", "3600",
        ],
    )
}

/// Two seconds of 160x120 at 25 fps with a tone and two SRT cues, in Matroska.
#[rustfmt::skip] // the arguments grouped option by option
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

/// The shipped model's smallest rung, on the CPU kernels: the cheapest network, which makes
/// every picture x2.
pub fn smallest_rung() -> dysr::engine::UpscalerFactory {
    let manifest = dysr::model::manifest::default_manifest_path();
    dysr::engine::neural::rung_factory(&manifest, 0, dysr::model::device::DeviceChoice::Cpu).expect("shipped model")
}

/// Plays `input` without a clock through the smallest rung and returns every frame in the order
/// it was shown.
pub fn decode_all(input: &Path) -> Vec<Shown> {
    let options = PlayerOptions { no_sync: true, upscaler: Some(smallest_rung()), ..Default::default() };
    let mut player = Player::open(&path_str(input), options).expect("the clip opens");
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
            shown.push(Shown {
                pts_secs: picture.pts_secs,
                width,
                height,
                progressive: !picture.frame.is_interlaced(),
            });
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

/// Four seconds of 160x120 with two audio tracks: 440 Hz at 48 kHz, then 880 Hz at 44.1 kHz.
#[rustfmt::skip] // the arguments grouped option by option
pub fn two_audio_tracks_clip() -> PathBuf {
    generated(
        "two-audio-tracks.mkv",
        &[
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
            "-f", "lavfi", "-t", "4", "-i", "sine=frequency=440:sample_rate=48000",
            "-f", "lavfi", "-t", "4", "-i", "sine=frequency=880:sample_rate=44100",
            "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        ],
    )
}

/// The yellow box of [`bitmap_subtitled_clip`]: its place on the 160x120 frame (x, y, width,
/// height) and when it shows (seconds).
pub const SUBTITLE_BOX: (usize, usize, usize, usize) = (40, 80, 80, 24);
pub const SUBTITLE_BOX_SHOWN: (f64, f64) = (0.5, 1.5);

/// Two seconds of 160x120 with a DVD (bitmap) subtitle: an opaque yellow box at
/// [`SUBTITLE_BOX`], shown over [`SUBTITLE_BOX_SHOWN`]. The ffmpeg CLI cannot turn text into
/// bitmaps, so the subtitle is encoded here by FFmpeg's DVD subtitle encoder and muxed beside
/// the video by the CLI.
pub fn bitmap_subtitled_clip() -> PathBuf {
    let video =
        test_clip("bitmap-subtitled-video.mkv", "160x120", 2, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let subtitles = media_dir().join("yellow-box.mkv");
    {
        let _lock = GENERATE.lock().unwrap_or_else(|e| e.into_inner());
        if !subtitles.exists() {
            let partial = media_dir().join("partial-yellow-box.mkv");
            write_dvd_subtitle(&partial);
            std::fs::rename(&partial, &subtitles).expect("move the subtitle in place");
        }
    }
    generated(
        "bitmap-subtitled.mkv",
        &["-i", &path_str(&video), "-i", &path_str(&subtitles), "-map", "0", "-map", "1", "-c", "copy"],
    )
}

/// Writes one DVD subtitle (the box of [`SUBTITLE_BOX`]) into a Matroska file at `path`.
fn write_dvd_subtitle(path: &Path) {
    use ffmpeg_next as ffmpeg;
    ffmpeg::init().unwrap();
    let (x, y, width, height) = SUBTITLE_BOX;
    let (from, to) = SUBTITLE_BOX_SHOWN;
    let codec = ffmpeg::encoder::find(ffmpeg::codec::Id::DVD_SUBTITLE).expect("FFmpeg's DVD subtitle encoder");
    let mut context = ffmpeg::codec::context::Context::new_with_codec(codec).encoder().subtitle().unwrap();
    // SAFETY: plain fields of a context not opened yet.
    unsafe {
        (*context.as_mut_ptr()).width = 160;
        (*context.as_mut_ptr()).height = 120;
        (*context.as_mut_ptr()).time_base = ffmpeg::ffi::AVRational { num: 1, den: 1000 };
    }
    let mut encoder = context.open_as(codec).unwrap();
    let mut output = ffmpeg::format::output(&path).unwrap();
    let mut stream = output.add_stream(codec).unwrap();
    // SAFETY: copies the opened encoder's parameters (size, extradata with the palette).
    unsafe { ffmpeg::ffi::avcodec_parameters_from_context((*stream.as_mut_ptr()).codecpar, encoder.as_ptr()) };
    stream.set_time_base(ffmpeg::Rational::new(1, 1000));
    output.write_header().unwrap();
    let mut subtitle = ffmpeg::Subtitle::new();
    subtitle.set_start(0);
    subtitle.set_end(((to - from) * 1000.0) as u32);
    subtitle.set_pts(Some((from * 1e6) as i64));
    {
        let ffmpeg::subtitle::RectMut::Bitmap(mut rect) = subtitle.add_rect(ffmpeg::subtitle::Type::Bitmap) else {
            unreachable!()
        };
        rect.set_x(x);
        rect.set_y(y);
        rect.set_width(width as u32);
        rect.set_height(height as u32);
        rect.set_colors(2);
        // SAFETY: FFmpeg's allocator for the planes it frees with the subtitle: palette index 1
        // everywhere, colour 0 transparent and colour 1 opaque yellow (0xAARRGGBB).
        unsafe {
            let rect = &mut *rect.as_mut_ptr();
            rect.data[0] = ffmpeg::ffi::av_malloc(width * height).cast();
            std::ptr::write_bytes(rect.data[0], 1, width * height);
            rect.linesize[0] = width as i32;
            let palette: *mut u32 = ffmpeg::ffi::av_mallocz(4 * 256).cast();
            *palette.add(1) = 0xFFFF_FF00;
            rect.data[1] = palette.cast();
        }
    }
    let mut buffer = vec![0u8; 1 << 16];
    // SAFETY: the encoder is open; the buffer's length is passed with it.
    let size = unsafe {
        ffmpeg::ffi::avcodec_encode_subtitle(
            encoder.as_mut_ptr(),
            buffer.as_mut_ptr(),
            buffer.len() as i32,
            subtitle.as_ptr(),
        )
    };
    assert!(size > 0, "the DVD subtitle encoder refused the box: {size}");
    let mut packet = ffmpeg::Packet::copy(&buffer[..size as usize]);
    packet.set_stream(0);
    packet.set_pts(Some((from * 1000.0) as i64));
    packet.set_dts(packet.pts());
    packet.set_duration(((to - from) * 1000.0) as i64);
    packet.rescale_ts(ffmpeg::Rational::new(1, 1000), output.stream(0).unwrap().time_base());
    packet.write_interleaved(&mut output).unwrap();
    output.write_trailer().unwrap();
}

/// 12 s of testsrc2 at 160x120 without sound, in Matroska with three chapters, at 0, 4 and 8 s,
/// titled "One", "Two" and "Three".
pub fn chaptered_clip() -> PathBuf {
    let metadata = media_dir().join("chapters.ffmetadata");
    let chapter = |start: u32, title: &str| {
        format!("[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle={title}\n", start * 1000, (start + 4) * 1000)
    };
    let text = format!(";FFMETADATA1\n{}{}{}", chapter(0, "One"), chapter(4, "Two"), chapter(8, "Three"));
    std::fs::write(&metadata, text).expect("write the chapters");
    let metadata = metadata.to_string_lossy().into_owned();
    generated(
        "chaptered.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25:duration=12",
            "-i",
            &metadata,
            "-map",
            "0",
            "-map_chapters",
            "1",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
        ],
    )
}
