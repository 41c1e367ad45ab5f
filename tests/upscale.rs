//! `dysr upscale` on videos, as a user runs it: the output's size, frame count, duration and
//! streams (read back with ffprobe), an interrupted run, and bad paths.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{h264_clip, media_dir, path_str, subtitled_clip};
use dysr::model::manifest::{Manifest, default_manifest_path};

fn dysr_upscale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dysr")).arg("upscale").args(args).output().expect("run dysr")
}

/// ffprobe's view of `path`: one `key=value|...` line per stream, then the container's.
fn probe(path: &Path) -> String {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_type,codec_name,width,height,nb_read_frames:format=duration",
            "-of",
            "compact",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is installed with ffmpeg");
    assert!(output.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// ffprobe's `stream=ENTRIES` of `path`, one compact line per stream.
fn stream_entries(path: &Path, entries: &str) -> String {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", &format!("stream={entries}"), "-of", "compact"])
        .arg(path)
        .output()
        .expect("ffprobe is installed with ffmpeg");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn duration_secs(probe: &str) -> f64 {
    probe
        .lines()
        .find_map(|line| line.strip_prefix("format|duration="))
        .and_then(|d| d.trim().parse().ok())
        .expect("a duration")
}

/// Files in `dir` whose name contains `part`.
fn leftovers(dir: &Path, part: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(part))
        .collect()
}

#[test]
fn a_video_comes_out_twice_the_size_with_every_frame_its_sound_and_subtitles() {
    let input = subtitled_clip();
    let dir = tempdir("mkv");
    let output = dir.join("out.mkv");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("50 frames 160x120 -> 320x240 with r0"), "{stdout}");
    let streams = probe(&output);
    assert!(streams.contains("codec_name=h264|codec_type=video|width=320|height=240|nb_read_frames=50"), "{streams}");
    assert!(streams.contains("codec_name=aac|codec_type=audio"), "{streams}");
    assert!(streams.contains("codec_name=subrip|codec_type=subtitle"), "{streams}");
    let (got, expected) = (duration_secs(&streams), duration_secs(&probe(&input)));
    assert!((got - expected).abs() < 0.05, "duration {got} s against {expected} s");
    assert!(leftovers(&dir, "partial").is_empty(), "no temporary file is left");
}

/// MP4 cannot hold SRT: the run says so and writes the rest, every frame included.
#[test]
fn a_stream_the_container_cannot_hold_is_left_out_and_named() {
    let input = subtitled_clip();
    let dir = tempdir("mp4");
    let output = dir.join("out.mp4");
    let run = dysr_upscale(&[
        &path_str(&input),
        "-o",
        &path_str(&output),
        "--rung",
        "1",
        "--codec",
        "x264",
        "--crf",
        "28",
        "--preset",
        "ultrafast",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("left out: #2 subrip (the mp4 container cannot hold it)"));
    let streams = probe(&output);
    assert!(streams.contains("width=320|height=240|nb_read_frames=50"), "{streams}");
    assert!(streams.contains("codec_type=audio") && !streams.contains("subtitle"), "{streams}");
}

/// Ctrl-C in the middle: the command ends at once, says so, and leaves neither the output nor its
/// temporary file.
#[test]
fn an_interrupted_run_leaves_no_file() {
    let input = h264_clip(10);
    let dir = tempdir("interrupted");
    let output = dir.join("out.mkv");
    // The top rung: slow enough that the run is still going when interrupted.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dysr"))
        .args(["upscale", &path_str(&input), "-o", &path_str(&output)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dysr");
    let deadline = Instant::now() + Duration::from_secs(60);
    while leftovers(&dir, "partial").is_empty() {
        assert!(Instant::now() < deadline, "the run never started writing");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be interrupted");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let interrupted = Instant::now();
    let ended = child.wait_with_output().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(10), "it stops promptly: {:?}", interrupted.elapsed());
    assert!(!ended.status.success());
    let stderr = String::from_utf8_lossy(&ended.stderr);
    assert!(stderr.contains(&format!("interrupted: {} was not written", output.display())), "{stderr}");
    assert!(!output.exists(), "no output");
    assert!(leftovers(&dir, "partial").is_empty(), "no temporary file");
}

#[test]
fn bad_paths_get_one_line_and_no_file() {
    let dir = tempdir("bad");
    let output = dir.join("out.mkv");
    let missing = dir.join("missing.mp4");
    let run = dysr_upscale(&[&path_str(&missing), "-o", &path_str(&output)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.lines().count() == 1 && stderr.contains(&path_str(&missing)), "{stderr}");

    let nowhere = dir.join("no-such-folder").join("out.mkv");
    let run = dysr_upscale(&[&path_str(&h264_clip(1)), "-o", &path_str(&nowhere), "--rung", "0"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.lines().count() == 1 && stderr.contains("no-such-folder"), "{stderr}");
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "nothing written");

    // A container that cannot hold the codec, and the input as its own output: one line each,
    // before any work, and the input untouched.
    let webm = dir.join("out.webm");
    let run = dysr_upscale(&[&path_str(&h264_clip(1)), "-o", &path_str(&webm), "--rung", "0"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.lines().count() == 1 && stderr.contains("cannot hold H.264"), "{stderr}");
    let input = dir.join("in.mp4");
    std::fs::copy(h264_clip(1), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&input), "--rung", "0"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.contains("is the input"), "{stderr}");
    assert!(std::fs::read(&input).unwrap() == before, "the input is untouched");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing but the input");
}

/// The output starts at 0 with its streams in step, as ffmpeg's would: from a recording whose clock
/// starts at an hour, and from a clip cut without re-encoding (an MP4 edit list, with packets
/// before the cut the input marks to be discarded).
#[test]
fn the_output_starts_at_zero_with_its_streams_in_step() {
    let dir = tempdir("timeline");
    let cut =
        common::generated("cut-with-edit-list.mp4", &["-ss", "1.5", "-i", &path_str(&h264_clip(4)), "-c", "copy"]);
    for input in [common::clock_at_an_hour(), cut] {
        let output = dir.join(format!("{}.mkv", input.file_stem().unwrap().to_string_lossy()));
        let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let starts = stream_entries(&output, "codec_type,start_time");
        for line in starts.lines() {
            let start: f64 = line.rsplit("start_time=").next().and_then(|s| s.parse().ok()).expect("a start time");
            assert!(start.abs() < 0.05, "{}: {line}", input.display());
        }
        let (before, after) = (duration_secs(&probe(&input)), duration_secs(&probe(&output)));
        assert!((after - before).abs() < 0.1, "{}: {before} s became {after} s", input.display());
    }
}

/// Mean of |2 y - above - below| over the luma of every frame of `path` brought to 320x240: how
/// much neighbouring rows disagree, which is large where fields from different instants are woven
/// into one picture (combing).
fn combing(path: &Path) -> f64 {
    let (width, height) = (320, 240);
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-vf", "scale=320:240:flags=area,format=gray", "-f", "rawvideo", "-"])
        .output()
        .expect("the ffmpeg CLI is installed");
    let (mut total, mut count) = (0.0, 0usize);
    for frame in output.stdout.chunks_exact(width * height) {
        for rows in frame.chunks_exact(width).collect::<Vec<_>>().windows(3) {
            for ((above, here), below) in rows[0].iter().zip(rows[1]).zip(rows[2]) {
                total += (2.0 * f64::from(*here) - f64::from(*above) - f64::from(*below)).abs();
                count += 1;
            }
        }
    }
    total / count.max(1) as f64
}

/// Interlaced video (moving stripes, each field of a frame from its own instant) comes out
/// deinterlaced, as the player shows it: scaled x2 with its fields woven, the combing would stay.
#[test]
#[rustfmt::skip] // the arguments grouped option by option
fn interlaced_input_comes_out_deinterlaced() {
    let input = common::generated(
        "interlaced-stripes.mkv",
        &[
            "-f", "lavfi", "-i", "nullsrc=size=320x240:rate=50,geq=lum='128+100*sin(X/6+T*25)':cb=128:cr=128",
            "-t", "2", "-vf", "tinterlace=mode=interleave_top,setfield=tff",
            "-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264-params", "tff=1",
        ],
    );
    let output = tempdir("interlaced").join("out.mkv");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (before, after) = (combing(&input), combing(&output));
    assert!(before > 30.0 && after < 3.0, "combing {before:.2} in, {after:.2} out");
}

/// `--start` and `--end` upscale that part alone, from 0 in the output, its sound with it; a
/// negative time counts from the end, and an empty part is refused in one line.
#[test]
fn a_part_of_the_input_is_upscaled_alone() {
    let input = path_str(&h264_clip(4));
    let dir = tempdir("part");
    for (start, end, secs) in [("1", "3", 2.0), ("-1.5", "", 1.5)] {
        let output = dir.join(format!("from-{start}.mkv"));
        let mut args = vec![input.as_str(), "-o", output.to_str().unwrap(), "--rung", "0", "--preset", "ultrafast"];
        args.extend(["--start", start]);
        if !end.is_empty() {
            args.extend(["--end", end]);
        }
        let run = dysr_upscale(&args);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let probe = probe(&output);
        let frames = (secs * 25.0) as u64;
        assert!(probe.contains(&format!("nb_read_frames={frames}")), "from {start}: {probe}");
        assert!((duration_secs(&probe) - secs).abs() < 0.1, "from {start}: {probe}");
        for line in stream_entries(&output, "codec_type,start_time").lines() {
            let at: f64 = line.rsplit("start_time=").next().and_then(|s| s.parse().ok()).expect("a start time");
            assert!(at.abs() < 0.05, "from {start}: {line}");
        }
    }
    // MPEG-TS has no index to seek by; with a single keyframe nothing after the start decodes
    // but from it.
    for gop in [25, 1000] {
        let input = path_str(&common::mpeg_ts_clip(gop, 6));
        let output = dir.join(format!("ts-gop-{gop}.mkv"));
        let args = [input.as_str(), "-o", output.to_str().unwrap(), "--rung", "0", "--preset", "ultrafast"];
        let run = dysr_upscale(&[&args[..], &["--start", "2.5", "--end", "3.5"]].concat());
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert!(probe(&output).contains("nb_read_frames=25"), "GOP {gop}: {}", probe(&output));
    }
    let output = dir.join("empty.mkv");
    for (start, end) in [("3", "2"), ("9", "")] {
        let mut args = vec![input.as_str(), "-o", output.to_str().unwrap(), "--start", start];
        if !end.is_empty() {
            args.extend(["--end", end]);
        }
        let run = dysr_upscale(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && stderr.lines().count() == 1 && stderr.contains("nothing to upscale"),
            "{stderr}"
        );
        assert!(!output.exists());
    }
}

/// ffprobe's report of `path`'s streams and first frame (their side data included).
fn side_data(path: &Path) -> String {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-read_intervals", "%+#1", "-show_streams", "-show_frames"])
        .arg(path)
        .output()
        .expect("ffprobe is installed with ffmpeg");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An HDR10 input's mastering display and light levels come through, in the container (either
/// encoder) and in the bitstream (x265's, which FFmpeg reads back), so players tone-map the
/// upscaled video as they did the input, also from standard input (read once); HEVC in MP4 is
/// tagged `hvc1`, as Apple's players need.
#[test]
#[rustfmt::skip] // the arguments grouped option by option
fn hdr10_metadata_comes_through() {
    let input = common::generated(
        "hdr10.mkv",
        &[
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1",
            "-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast",
            "-x265-params",
            "log-level=none:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:\
             master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400",
        ],
    );
    let dir = tempdir("hdr10");
    for (codec, name, piped) in [("x264", "out.mkv", false), ("x265", "out.mp4", false), ("x265", "piped.mkv", true)] {
        let output = dir.join(name);
        let source = if piped { "-".to_owned() } else { path_str(&input) };
        let run = Command::new(env!("CARGO_BIN_EXE_dysr"))
            .args(["upscale", &source, "-o", &path_str(&output), "--codec", codec, "--rung", "0", "--preset", "ultrafast"])
            .stdin(if piped { Stdio::from(std::fs::File::open(&input).unwrap()) } else { Stdio::null() })
            .output()
            .expect("run dysr");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        // The packets read for the metadata are decoded again: every frame is there.
        assert!(probe(&output).contains("width=320|height=240|nb_read_frames=25"), "{name}: {}", probe(&output));
        let report = side_data(&output);
        let block = |tag: &str| {
            let start = report.find(&format!("[{tag}]")).expect("the block");
            &report[start..start + report[start..].find(&format!("[/{tag}]")).expect("its end")]
        };
        let stream = block("STREAM");
        for expected in ["Mastering display metadata", "Content light level metadata", "max_content=1000", "max_average=400"] {
            assert!(stream.contains(expected), "{name}: {expected} in the container: {report}");
        }
        if name.ends_with(".mp4") {
            assert!(stream.contains("codec_tag_string=hvc1"), "HEVC in MP4 as Apple's players take it: {stream}");
        }
        if codec == "x265" {
            let frame = block("FRAME");
            for expected in ["red_x=34000/50000", "max_luminance=10000000/10000", "max_content=1000"] {
                assert!(frame.contains(expected), "{name}: {expected} in the bitstream: {report}");
            }
        }
    }
}

/// An existing output is left alone unless `--overwrite` (`-y`) is given, as ffmpeg does.
#[test]
fn an_existing_output_is_replaced_only_when_asked() {
    let dir = tempdir("existing");
    let output = dir.join("out.mkv");
    std::fs::write(&output, "someone's file").unwrap();
    let input = path_str(&h264_clip(1));
    let run = dysr_upscale(&[&input, "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && stderr.lines().count() == 1 && stderr.contains("exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "someone's file");

    let run = dysr_upscale(&[&input, "-o", &path_str(&output), "-y", "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(probe(&output).contains("codec_name=h264"), "replaced by the upscaled video");
}

/// An empty folder of its own for each test's outputs.
fn tempdir(name: &str) -> PathBuf {
    let dir = media_dir().join(format!("upscale-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--min-fps` takes the best rung that keeps the rate: any rung keeps 0.001 frames/s, none a
/// million (then the smallest, with a warning).
#[test]
fn min_fps_picks_the_best_rung_that_keeps_it() {
    let input = subtitled_clip();
    let dir = tempdir("min-fps");
    let manifest = Manifest::load(&default_manifest_path()).expect("the shipped manifest");
    let top = &manifest.ladder.last().expect("a ladder").name;
    for (min_fps, rung) in [("0.001", top.as_str()), ("1000000", "r0")] {
        let output = dir.join(format!("{rung}.mkv"));
        let run =
            dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--min-fps", min_fps, "--preset", "ultrafast"]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(stdout.contains(&format!("with {rung} (")), "--min-fps {min_fps}: {stdout}");
    }
}

/// A 10-bit input comes out 10-bit (High 10), its luma at the same level: the network's samples
/// are written as 10-bit codes, not 8-bit ones.
#[test]
fn a_ten_bit_input_stays_ten_bit() {
    let input = common::test_clip(
        "ten-bit.mkv",
        "160x120",
        1,
        &["-pix_fmt", "yuv420p10le", "-c:v", "libx264", "-preset", "ultrafast"],
        false,
    );
    let dir = tempdir("ten-bit");
    let output = dir.join("out.mkv");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(stream_entries(&output, "pix_fmt,profile"), "stream|profile=High 10|pix_fmt=yuv420p10le");
    let mean_luma = |path: &Path| -> f64 {
        let stats = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                &format!("movie={},signalstats", path_str(path)),
                "-show_entries",
                "frame_tags=lavfi.signalstats.YAVG",
                "-of",
                "csv=p=0",
            ])
            .output()
            .unwrap();
        let values: Vec<f64> =
            String::from_utf8_lossy(&stats.stdout).lines().filter_map(|line| line.trim().parse().ok()).collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    let (got, expected) = (mean_luma(&output), mean_luma(&input));
    assert!((got - expected).abs() < 0.01 * expected, "mean luma {got} against {expected} (10-bit codes)");
}

/// The RGB colour at `(x, y)` of the first frame of `path` shown at `width` x `height`.
fn colour_at(path: &Path, (width, height): (u32, u32), (x, y): (u32, u32)) -> [u8; 3] {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("scale={width}:{height}:flags=area,format=rgb24,crop=1:1:{x}:{y}"),
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    output.stdout.try_into().expect("one RGB pixel")
}

/// A lossless RGB clip (as screen recorders and PNG-coded files are) comes out as YUV tagged with
/// what its codes mean, full-range BT.601, and in its own colours: black stays black, white white,
/// and the colour bars keep their colour.
#[test]
fn an_rgb_input_keeps_its_colours() {
    let input = common::generated(
        "smpte-bars-rgb.mkv",
        &["-f", "lavfi", "-i", "smptebars=size=320x240:rate=25:duration=1", "-pix_fmt", "rgb24", "-c:v", "png"],
    );
    let dir = tempdir("rgb");
    let output = dir.join("out.mkv");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(stream_entries(&output, "color_space,color_range"), "stream|color_range=pc|color_space=smpte170m");
    // The middle of the top row's bars (grey, yellow, cyan, green, magenta, red, blue), the
    // bottom row's black and white squares.
    let places = [(20, 60), (65, 60), (110, 60), (155, 60), (200, 60), (245, 60), (295, 60), (20, 200), (250, 200)];
    for place in places {
        let (expected, got) = (colour_at(&input, (320, 240), place), colour_at(&output, (320, 240), place));
        let worst = expected.iter().zip(got).map(|(e, g)| e.abs_diff(g)).max().unwrap();
        assert!(worst <= 3, "at {place:?}: {got:?} for {expected:?}");
    }
}

/// A phone clip's rotation comes through: the upscaled picture is displayed turned as the input was.
#[test]
fn the_rotation_comes_through() {
    let upright =
        common::test_clip("upright-160x120.mp4", "160x120", 1, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    // FFmpeg 5.1 writes the rotation as a display matrix only when it copies the stream.
    let input = common::generated(
        "rotated-160x120.mp4",
        &["-i", &path_str(&upright), "-c", "copy", "-metadata:s:v:0", "rotate=90"],
    );
    let dir = tempdir("rotated");
    let output = dir.join("out.mp4");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&output), "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let rotation = |path: &Path| {
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "stream_side_data=rotation", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&probe.stdout).trim().to_owned()
    };
    assert_eq!(rotation(&input), "90");
    assert_eq!(rotation(&output), rotation(&input));
}

/// A Matroska file's attachments (the fonts of its subtitles) come through into Matroska; MP4
/// cannot hold them, and the run says so.
#[test]
fn attachments_come_through_where_the_container_holds_them() {
    let font = media_dir().join("attached.ttf");
    std::fs::write(&font, "the bytes of a font").unwrap();
    let input = common::generated(
        "attached.mkv",
        &[
            "-i",
            &path_str(&subtitled_clip()),
            "-map",
            "0",
            "-c",
            "copy",
            "-attach",
            &path_str(&font),
            "-metadata:s:t",
            "mimetype=application/x-truetype-font",
        ],
    );
    let dir = tempdir("attached");
    let streams = |path: &Path| {
        let probe = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_type,codec_name:stream_tags=filename",
                "-of",
                "compact",
            ])
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&probe.stdout).into_owned()
    };
    let attachment = "codec_name=ttf|codec_type=attachment|tag:filename=attached.ttf";
    assert!(streams(&input).contains(attachment), "{}", streams(&input));
    let mkv = dir.join("out.mkv");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&mkv), "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(streams(&mkv).contains(attachment), "{}", streams(&mkv));
    let mp4 = dir.join("out.mp4");
    let run = dysr_upscale(&[&path_str(&input), "-o", &path_str(&mp4), "--rung", "0", "--preset", "ultrafast"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("left out: #3 ttf (the mp4 container cannot hold it)"),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}
