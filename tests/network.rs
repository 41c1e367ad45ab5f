//! Networks that misbehave, each served from 127.0.0.1 by a server the test starts: a connection
//! dropped mid-file, a trickle, a server with byte ranges (seeking over HTTP), a live HLS playlist
//! that grows and slides. In each, the player's `update`, which the window calls once per drawn
//! frame, never takes 50 ms (the window keeps drawing), and playback recovers or ends with one clear
//! line within the network timeout. (Headers followed by silence: `bad_input.rs`.)

mod common;

use std::time::{Duration, Instant};

use common::http::{Delivery, serve};
use common::{generated, media_dir, test_clip};
use dysr::media::PipelineEvent;
use dysr::player::presenter::StreamState;
use dysr::player::{AudioMode, Player, PlayerOptions};
use dysr::threads::live_pipeline_threads;

/// One at a time: the live-thread count is process-wide, and the timing is the window's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The longest the player's update may take: a window drawing at 20 frames/s or better.
const UI_FRAME_BUDGET: Duration = Duration::from_millis(50);

/// What a run looked like from the window's side.
#[derive(Debug, Default)]
struct Watched {
    /// The pts of every frame shown, in order.
    shown: Vec<f64>,
    longest_update: Duration,
    /// Whether the player said it was buffering after its first frame.
    buffered: bool,
    /// The fatal error, as the window would print it.
    error: Option<String>,
    ended: bool,
}

/// Drives `player` at real time until it ends, fails, `stop` says so, or `limit` passes.
fn watch(player: &mut Player, limit: Duration, mut stop: impl FnMut(&mut Player, &Watched) -> bool) -> Watched {
    let mut watched = Watched::default();
    let (started, mut serial) = (Instant::now(), player.presenter().current_serial());
    while started.elapsed() < limit && !stop(player, &watched) {
        let before = Instant::now();
        let wait = player.update(before);
        watched.longest_update = watched.longest_update.max(before.elapsed());
        if player.presenter().current_serial() != serial {
            serial = player.presenter().current_serial();
            watched.shown.push(player.presenter().current().expect("a frame").pts_secs);
        }
        watched.buffered |= !watched.shown.is_empty() && player.is_buffering(Instant::now());
        for event in player.take_events() {
            if let PipelineEvent::Fatal(cause) = event {
                watched.error = Some(format!("{}: {cause}", player.info().input));
            }
        }
        if watched.error.is_some() || player.state() == StreamState::Eof {
            watched.ended = true;
            break;
        }
        // A window's pace: at most a frame interval of 10 ms between updates.
        std::thread::sleep(wait.unwrap_or(Duration::from_millis(10)).min(Duration::from_millis(10)));
    }
    watched
}

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn open(url: &str) -> Player {
    let options =
        PlayerOptions { audio: AudioMode::Silent, network_timeout: Duration::from_secs(3), ..Default::default() };
    Player::open(url, options).unwrap_or_else(|error| panic!("{url} opens: {error}"))
}

/// An MPEG-TS clip (it plays from any byte, as a stream cut short must) at `bitrate`.
fn ts_clip(name: &str, seconds: u32, bitrate: &str) -> Vec<u8> {
    let path = test_clip(
        name,
        "320x240",
        seconds,
        &["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-b:v", bitrate],
        true,
    );
    std::fs::read(path).unwrap()
}

#[test]
fn a_connection_dropped_mid_file_plays_what_arrived_and_ends() {
    let _one = one_at_a_time();
    let clip = ts_clip("drop.ts", 4, "400k");
    let half = clip.len() / 2;
    let server = serve(Delivery::DropAfter(half), move |path| (path == "/clip.ts").then(|| clip.clone()));
    let url = format!("{}/clip.ts", server.base);
    let mut player = open(&url);
    let watched = watch(&mut player, Duration::from_secs(15), |_, _| false);
    assert!(watched.ended, "ended within the network timeout: {watched:?}");
    if let Some(error) = &watched.error {
        assert!(!error.contains('\n') && error.starts_with(&url), "one line naming the URL: {error}");
    }
    let last = watched.shown.last().copied().unwrap_or(0.0);
    assert!(watched.shown.len() >= 20 && last < 3.5, "about the first half played: {watched:?}");
    assert!(watched.longest_update < UI_FRAME_BUDGET, "{:?}", watched.longest_update);
    drop(player);
    assert_eq!(live_pipeline_threads(), 0);
}

/// A URL's subtitles come from the player's own reading of it (a second download would double
/// the traffic): the cues appear as the stream arrives, text and bitmap alike.
#[test]
fn subtitles_of_a_url_arrive_with_the_stream() {
    let _one = one_at_a_time();
    for (clip, name, expected) in
        [(common::subtitled_clip(), "/text.mkv", "text"), (common::bitmap_subtitled_clip(), "/bitmap.mkv", "bitmap")]
    {
        let bytes = std::fs::read(clip).unwrap();
        let server = serve(Delivery::Whole, move |path| (path == name).then(|| bytes.clone()));
        let url = format!("{}{name}", server.base);
        let options = PlayerOptions {
            audio: AudioMode::Silent,
            network_timeout: Duration::from_secs(3),
            subtitles: true,
            ..Default::default()
        };
        let mut player = Player::open(&url, options).unwrap_or_else(|error| panic!("{url} opens: {error}"));
        let subtitles = std::sync::Arc::clone(player.subtitles().expect("the URL's subtitles"));
        assert_eq!(
            subtitles.track_name(0).as_deref(),
            Some(if expected == "text" { "embedded #2" } else { "embedded #1" })
        );
        let arrived = |subtitles: &dysr::media::subtitles::Subtitles| match expected {
            "text" => {
                subtitles.text_at(0, 0.5).as_deref() == Some("Hello")
                    && subtitles.text_at(0, 1.7).as_deref() == Some("World")
            }
            _ => subtitles.image_cue_at(0, 1.0).is_some() && subtitles.image_cue_at(0, 0.2).is_none(),
        };
        let watched = watch(&mut player, Duration::from_secs(10), |_, _| arrived(&subtitles));
        assert!(arrived(&subtitles), "{expected} cues arrived: {watched:?}");
        assert!(watched.error.is_none(), "{watched:?}");
        drop(player);
        assert_eq!(live_pipeline_threads(), 0);
    }
}

#[test]
fn a_trickle_buffers_and_plays_to_the_end() {
    let _one = one_at_a_time();
    // 2 s at 800 kbit/s is 200 kB: four seconds at 50 kB/s, so playback outruns the network.
    let clip = ts_clip("trickle.ts", 2, "800k");
    assert!(clip.len() > 150_000, "the clip needs more than 50 kB/s: {} bytes", clip.len());
    let server = serve(Delivery::Trickle(50_000), move |path| (path == "/clip.ts").then(|| clip.clone()));
    let mut player = open(&format!("{}/clip.ts", server.base));
    let watched = watch(&mut player, Duration::from_secs(20), |_, _| false);
    assert!(watched.ended && watched.error.is_none(), "{watched:?}");
    assert!(watched.buffered, "the player said it was buffering");
    let last = watched.shown.last().copied().unwrap_or(0.0);
    assert!(last > 1.9, "the last frame shown is the clip's last: {last:.2}");
    assert!(watched.longest_update < UI_FRAME_BUDGET, "{:?}", watched.longest_update);
}

#[test]
#[rustfmt::skip] // the arguments grouped option by option
fn seeking_over_http_uses_byte_ranges() {
    let _one = one_at_a_time();
    // MP4 with its index first, as served for progressive download. At 4 Mbit/s the seek jumps
    // megabytes ahead: FFmpeg reads on rather than asking for a range when the gap is within its
    // socket's receive buffer.
    let path = generated(
        "ranges.mp4",
        &[
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=10",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-b:v", "4M", "-movflags", "+faststart",
        ],
    );
    let clip = std::fs::read(path).unwrap();
    let server = serve(Delivery::Whole, move |path| (path == "/clip.mp4").then(|| clip.clone()));
    let mut player = open(&format!("{}/clip.mp4", server.base));
    let before = watch(&mut player, Duration::from_secs(5), |_, watched| watched.shown.len() >= 5);
    assert!(before.shown.len() >= 5 && before.error.is_none(), "{before:?}");
    player.seek(7.0);
    let after = watch(&mut player, Duration::from_secs(8), |_, watched| watched.shown.len() >= 2);
    let first = after.shown.first().copied().expect("frames after the seek");
    assert!((first - 7.0).abs() <= 0.041, "the seek landed within a frame of 7 s: {first:.3}");
    let requests = server.requests.lock().unwrap().clone();
    assert!(requests.iter().any(|request| request.contains("range ") && !request.contains("range 0-")), "a ranged request: {requests:?}");
    assert!(before.longest_update.max(after.longest_update) < UI_FRAME_BUDGET);
}

#[test]
fn a_live_playlist_that_grows_and_slides_plays_on_to_its_end() {
    let _one = one_at_a_time();
    // Six one-second segments; the playlist shows the newest three, one more each second, and
    // ends once all six are out.
    let dir = media_dir().join("live");
    std::fs::create_dir_all(&dir).unwrap();
    let playlist = dir.join("all.m3u8");
    if !playlist.exists() {
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25:duration=6",
            ])
            .args([
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "25",
                "-f",
                "hls",
                "-hls_time",
                "1",
                "-hls_list_size",
                "0",
            ])
            .arg("-hls_segment_filename")
            .arg(dir.join("seg%d.ts"))
            .arg(&playlist)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let segments: Vec<Vec<u8>> = (0..6).map(|i| std::fs::read(dir.join(format!("seg{i}.ts"))).unwrap()).collect();
    let started = Instant::now();
    let server = serve(Delivery::Whole, move |path| {
        if path == "/live.m3u8" {
            let out = (3 + started.elapsed().as_secs() as usize).min(segments.len());
            let mut text =
                format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{}\n", out - 3);
            for index in out - 3..out {
                text += &format!("#EXTINF:1.0,\nseg{index}.ts\n");
            }
            if out == segments.len() {
                text += "#EXT-X-ENDLIST\n";
            }
            return Some(text.into_bytes());
        }
        let index: usize = path.strip_prefix("/seg")?.strip_suffix(".ts")?.parse().ok()?;
        segments.get(index).cloned()
    });
    let mut player = open(&format!("{}/live.m3u8", server.base));
    let watched = watch(&mut player, Duration::from_secs(20), |_, _| false);
    assert!(watched.ended && watched.error.is_none(), "{watched:?}");
    assert!(watched.shown.windows(2).all(|pair| pair[1] > pair[0]), "frames in order");
    let span = watched.shown.last().unwrap() - watched.shown.first().unwrap();
    assert!(span >= 2.5, "played on as the playlist grew: {span:.2} s of video");
    let requests = server.requests.lock().unwrap().clone();
    assert!(
        requests.iter().filter(|request| request.contains("live.m3u8")).count() >= 3,
        "the playlist was reloaded: {requests:?}"
    );
    assert!(watched.longest_update < UI_FRAME_BUDGET, "{:?}", watched.longest_update);
}

/// A playlist at a URL (an IPTV list) is read and becomes its URLs: relative entries resolved
/// against it, a local file it names left out; each entry plays. An HLS playlist stays one input,
/// and a list that cannot be read is left for the player to report.
#[test]
fn a_remote_playlist_becomes_its_entries() {
    use dysr::media::inputs::expand;

    let _one = one_at_a_time();
    let clip = ts_clip("remote-list.ts", 1, "200k");
    let server = serve(Delivery::Whole, move |path| match path {
        "/lists/tv.m3u" => {
            Some(b"#EXTM3U\n#EXTINF:-1,One\none.ts\n#EXTINF:-1,Two\n/clips/two.ts\nfile:///etc/hostname\n".to_vec())
        }
        "/live/index.m3u8" => Some(b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsegment0.ts\n".to_vec()),
        "/lists/one.ts" | "/clips/two.ts" => Some(clip.clone()),
        _ => None,
    });
    let base = &server.base;
    let timeout = Duration::from_secs(3);
    let entries = expand(&[format!("{base}/lists/tv.m3u")], timeout).expect("the list is read");
    assert_eq!(entries, [format!("{base}/lists/one.ts"), format!("{base}/clips/two.ts")]);
    for entry in &entries {
        let mut player = open(entry);
        let watched = watch(&mut player, Duration::from_secs(10), |_, _| false);
        assert!(watched.ended && watched.error.is_none() && watched.shown.len() >= 20, "{entry}: {watched:?}");
    }
    let live = format!("{base}/live/index.m3u8");
    assert_eq!(expand(std::slice::from_ref(&live), timeout).unwrap(), [live]);
    let missing = format!("{base}/lists/missing.m3u");
    assert_eq!(expand(std::slice::from_ref(&missing), timeout).unwrap(), [missing]);
}
