//! Playback against the clock: real-time duration, A/V offset, seeking accuracy, pause.
//! The tests play one at a time (`common::alone`): they measure time.

mod common;

use std::time::{Duration, Instant};

use common::{alone, drive_until, h264_clip, path_str, song_with_cover, test_clip};
use dysr::player::headless;
use dysr::player::presenter::StreamState;
use dysr::player::{AudioMode, Player, PlayerOptions};

const FRAME_SECS: f64 = 1.0 / 25.0;

fn silent() -> PlayerOptions {
    PlayerOptions { audio: AudioMode::Silent, ..Default::default() }
}

#[test]
fn ten_seconds_play_in_ten_seconds_in_sync() {
    let _alone = alone();
    let clip = h264_clip(10);
    let summary = headless::run(&path_str(&clip), silent()).expect("plays");
    assert!((summary.duration_s - 10.0).abs() < 0.5, "took {} s", summary.duration_s);
    assert!(summary.max_av_offset_ms < 40.0, "A/V offset reached {} ms", summary.max_av_offset_ms);
    assert_eq!(summary.frames_decoded, 250);
    assert_eq!(summary.frames_presented + summary.frames_dropped, 250);
}

#[test]
fn a_clip_without_sound_plays_on_the_wall_clock() {
    let _alone = alone();
    let clip = test_clip("no-sound-3s.mp4", "320x240", 3, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let summary = headless::run(&path_str(&clip), silent()).expect("plays");
    assert!((summary.duration_s - 3.0).abs() < 0.5, "took {} s", summary.duration_s);
    assert_eq!(summary.audio_output, "none (no audio track)");
    assert_eq!(summary.frames_presented + summary.frames_dropped, 75);
}

/// At 2x the sound is stretched (its pitch kept) and the clock follows it: ten seconds play in
/// five, every frame accounted for, the picture in step with the sound.
#[test]
fn at_double_speed_ten_seconds_play_in_five_in_sync() {
    let _alone = alone();
    let clip = h264_clip(10);
    let summary = headless::run(&path_str(&clip), PlayerOptions { speed: 2.0, ..silent() }).expect("plays");
    assert!((summary.duration_s - 5.0).abs() < 0.5, "took {} s", summary.duration_s);
    assert_eq!(summary.speed, 2.0);
    // In stream time: 80 ms at 2x is 40 ms heard.
    assert!(summary.max_av_offset_ms < 80.0, "A/V offset reached {} ms", summary.max_av_offset_ms);
    assert_eq!(summary.frames_presented + summary.frames_dropped, 250);
}

#[test]
fn without_sound_the_wall_clock_runs_at_the_speed() {
    let _alone = alone();
    let clip = test_clip("no-sound-3s.mp4", "320x240", 3, &["-c:v", "libx264", "-preset", "ultrafast"], false);
    let summary = headless::run(&path_str(&clip), PlayerOptions { speed: 0.5, ..silent() }).expect("plays");
    assert!((summary.duration_s - 6.0).abs() < 0.5, "took {} s", summary.duration_s);
    assert_eq!(summary.frames_presented + summary.frames_dropped, 75);
}

/// A change of speed while playing: once the samples already stretched have been heard, the
/// clock runs at the new speed, and the sound goes on without a gap.
#[test]
fn a_speed_change_while_playing_moves_the_clock_to_the_new_rate() {
    let _alone = alone();
    let clip = h264_clip(10);
    let mut player = Player::open(&path_str(&clip), silent()).expect("opens");
    drive_until(&mut player, Duration::from_secs(5), |p| p.position_secs() > 1.0);
    assert_eq!(player.set_speed(2.0), 2.0);
    assert_eq!(player.set_speed(9.0), 4.0, "kept within the range");
    player.set_speed(2.0);
    let underruns = player.telemetry().audio_underruns;
    // The audio queued before the change plays out first.
    let settled = Instant::now() + Duration::from_millis(800);
    drive_until(&mut player, Duration::from_secs(5), |_| Instant::now() > settled);
    let (from_secs, started) = (player.position_secs(), Instant::now());
    drive_until(&mut player, Duration::from_secs(5), |_| started.elapsed() > Duration::from_secs(1));
    let rate = (player.position_secs() - from_secs) / started.elapsed().as_secs_f64();
    assert!((rate - 2.0).abs() < 0.2, "the clock ran at {rate:.2}x");
    let gaps = player.telemetry().audio_underruns - underruns;
    assert!(gaps < 5, "{gaps} audio underruns across the change");
}

/// The sound played half a second late: the picture runs half a second ahead of it (what would
/// have shown with the first half second of sound is skipped; the sound then plays on to its end
/// after the last frame); half a second early: the picture waits for it and ends that much later.
#[test]
fn an_audio_delay_moves_the_picture_against_the_sound() {
    let _alone = alone();
    let clip = h264_clip(4);
    let late = headless::run(&path_str(&clip), PlayerOptions { audio_delay_secs: 0.5, ..silent() }).expect("plays");
    assert!((late.duration_s - 4.0).abs() < 0.3, "took {} s", late.duration_s);
    // 12 frames fall in the first half second; the first picture or two show before the sound,
    // which waits for the first picture, starts the clock: 9 or 10 are dropped, run after run.
    assert!(late.frames_dropped >= 8, "{} frames dropped", late.frames_dropped);
    let early = headless::run(&path_str(&clip), PlayerOptions { audio_delay_secs: -0.5, ..silent() }).expect("plays");
    assert!((early.duration_s - 4.5).abs() < 0.3, "took {} s", early.duration_s);
    assert_eq!(early.frames_dropped, 0);
}

/// One second of picture, three of sound.
#[rustfmt::skip] // the arguments grouped option by option
fn sound_past_picture() -> std::path::PathBuf {
    common::generated(
        "sound-past-picture.mp4",
        &[
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
        ],
    )
}

/// Sound that runs on past the last frame is played to its end, the last frame staying on screen
/// (the input ends when both its picture and its sound have).
#[test]
fn the_end_waits_for_sound_that_runs_past_the_last_frame() {
    let _alone = alone();
    let clip = sound_past_picture();
    let summary = headless::run(&path_str(&clip), silent()).expect("plays");
    assert!((summary.duration_s - 3.0).abs() < 0.4, "took {} s", summary.duration_s);
    assert_eq!(summary.frames_presented + summary.frames_dropped, 25);
}

/// A seek past the last frame into sound that runs on: the last frame is shown at the target
/// while the rest of the sound plays, then the input ends.
#[test]
fn a_seek_past_the_last_frame_into_sound_shows_the_last_frame() {
    let _alone = alone();
    let clip = sound_past_picture();
    let mut player = Player::open(&path_str(&clip), silent()).expect("opens");
    drive_until(&mut player, Duration::from_secs(5), |p| p.presenter().current().is_some());
    let pts = first_frame_after_seek(&mut player, 2.0);
    assert!((pts - 2.0).abs() < 1e-3, "shown at {pts}");
    let started = Instant::now();
    drive_until(&mut player, Duration::from_secs(5), |p| p.state() == StreamState::Eof);
    let rest = started.elapsed().as_secs_f64();
    assert!((rest - 1.0).abs() < 0.4, "the last second of sound took {rest} s");
}

/// A broadcast recording whose clock starts at an hour: its timeline starts at 0, as in mpv, so
/// the first frame is at 0, a seek lands on its target and the length is the recording's.
#[test]
fn a_recording_whose_clock_starts_late_plays_and_seeks_from_zero() {
    let _alone = alone();
    let clip = common::clock_at_an_hour();
    let mut player = Player::open(&path_str(&clip), silent()).expect("opens");
    assert!((player.info().start_secs - 3600.0).abs() < 2.0, "start {}", player.info().start_secs);
    drive_until(&mut player, Duration::from_secs(5), |p| p.presenter().current().is_some());
    let first = player.presenter().current().expect("a frame").pts_secs;
    assert!(first.abs() < FRAME_SECS, "the first frame at {first}");
    let pts = first_frame_after_seek(&mut player, 2.0);
    assert!(pts >= 2.0 - 1e-3 && pts - 2.0 < FRAME_SECS, "seek to 2 showed {pts}");
    let started = Instant::now();
    drive_until(&mut player, Duration::from_secs(5), |p| p.state() == StreamState::Eof);
    let rest = started.elapsed().as_secs_f64();
    assert!((rest - 2.0).abs() < 0.4, "the last two seconds took {rest} s");
}

/// Seeks and returns the pts of the first frame shown afterwards.
fn first_frame_after_seek(player: &mut Player, target_secs: f64) -> f64 {
    let before = player.presenter().current_serial();
    player.seek(target_secs);
    drive_until(player, Duration::from_secs(10), |p| {
        p.presenter().current_serial() != before && p.presenter().seek_target_secs().is_none()
    });
    player.presenter().current().expect("a frame after the seek").pts_secs
}

#[test]
fn seeking_lands_within_one_frame_of_the_target() {
    let _alone = alone();
    let clip = h264_clip(10);
    let mut player = Player::open(&path_str(&clip), silent()).expect("opens");
    drive_until(&mut player, Duration::from_secs(5), |p| p.presenter().current().is_some());
    for target in [6.3, 1.02, 8.96, 0.0, 4.5] {
        let pts = first_frame_after_seek(&mut player, target);
        assert!(pts >= target - 1e-3 && pts - target < FRAME_SECS, "seek to {target} showed {pts}");
        // The clock goes on from the target.
        drive_until(&mut player, Duration::from_secs(5), |p| p.position_secs() > target + 0.2);
    }
}

/// MPEG-TS has no index: its seek lands by time stamps, anywhere, and the decoder shows nothing
/// before the next keyframe. Seeks still land on their target, with a keyframe every second and
/// with a single one at the start (a stream encoded with no keyframe interval), however far from
/// the start.
#[test]
fn seeking_in_mpeg_ts_lands_on_the_target_even_with_a_single_keyframe() {
    let _alone = alone();
    for clip in [common::mpeg_ts_clip(25, 40), common::mpeg_ts_clip(1000, 40)] {
        let mut player = Player::open(&path_str(&clip), silent()).expect("opens");
        drive_until(&mut player, Duration::from_secs(5), |p| p.presenter().current().is_some());
        for target in [2.5, 38.3, 4.7, 0.3, 0.0] {
            let pts = first_frame_after_seek(&mut player, target);
            assert!(
                pts >= target - 1e-3 && pts - target < FRAME_SECS,
                "{}: seek to {target} showed {pts}",
                clip.display()
            );
        }
    }
}

/// `start_secs` (`--start`): the first frame shown is the one at the start, and the rest plays
/// in real time; a negative start counts from the end.
#[test]
fn playback_starts_where_asked() {
    let _alone = alone();
    let clip = h264_clip(10);
    let mut player =
        Player::open(&path_str(&clip), PlayerOptions { start_secs: Some(6.3), ..silent() }).expect("opens");
    drive_until(&mut player, Duration::from_secs(5), |p| p.presenter().current().is_some());
    let pts = player.presenter().current().expect("a frame").pts_secs;
    assert!(pts >= 6.3 - 1e-3 && pts - 6.3 < FRAME_SECS, "started at {pts}");
    drop(player);
    for (start, left_secs) in [(6.0, 4.0), (-2.0, 2.0)] {
        let summary =
            headless::run(&path_str(&clip), PlayerOptions { start_secs: Some(start), ..silent() }).expect("plays");
        assert!((summary.duration_s - left_secs).abs() < 0.5, "from {start}: took {} s", summary.duration_s);
        let frames = summary.frames_presented + summary.frames_dropped;
        assert!(frames.abs_diff((left_secs * 25.0) as u64) <= 1, "from {start}: {frames} frames");
    }
}

#[test]
fn pause_freezes_the_clock_and_a_seek_while_paused_shows_the_target_frame() {
    let _alone = alone();
    let clip = h264_clip(10);
    let mut player = Player::open(&path_str(&clip), silent()).expect("opens");
    drive_until(&mut player, Duration::from_secs(5), |p| p.position_secs() > 0.3);
    player.set_paused(true);
    let frozen = player.position_secs();
    let until = Instant::now() + Duration::from_millis(400);
    drive_until(&mut player, Duration::from_secs(5), |_| Instant::now() > until);
    assert_eq!(player.position_secs(), frozen);

    let pts = first_frame_after_seek(&mut player, 7.0);
    assert!((pts - 7.0).abs() < FRAME_SECS, "paused seek showed {pts}");
    assert!(player.is_paused());
    player.set_paused(false);
    drive_until(&mut player, Duration::from_secs(5), |p| p.position_secs() > 7.3);
}

/// Another audio track is switched to in place: the input stays open, the new track's samples
/// drive the clock on from where it was (the clock follows the audio output) with no damaged
/// packet on the way, and a track that does not exist is refused with playback going on.
#[test]
fn an_audio_track_switch_keeps_the_input_and_the_clock() {
    let _alone = alone();
    let clip = common::two_audio_tracks_clip();
    let mut player = Player::open(&path_str(&clip), silent()).expect("plays");
    drive_until(&mut player, Duration::from_secs(10), |player| player.position_secs() > 1.0);
    assert!(player.set_audio_track(5).is_err(), "there are two tracks");
    assert_eq!(player.info().audio.as_ref().unwrap().sample_rate, 48000);
    let at = player.position_secs();
    player.set_audio_track(1).expect("switches");
    assert_eq!(player.info().audio.as_ref().unwrap().sample_rate, 44100);
    let underruns = player.telemetry().audio_underruns;
    let started = Instant::now();
    drive_until(&mut player, Duration::from_secs(10), |player| player.position_secs() > at + 1.5);
    let (took, gaps) = (started.elapsed().as_secs_f64(), player.telemetry().audio_underruns - underruns);
    assert!(took < 2.5, "1.5 s of the new track played in {took:.2} s");
    assert!(gaps < 20, "{gaps} audio underruns after the switch");
    assert_eq!(player.telemetry().corrupt_packets, 0, "no packet of the new track reached the old decoder");
}

/// A song's cover picture is its picture from start to end, after a seek too (FFmpeg hands it on
/// again; it is not dropped as a frame before the target), and the song plays to its end.
#[test]
fn a_songs_cover_picture_shows_for_the_whole_song() {
    let _alone = alone();
    let song = song_with_cover();
    let mut player = Player::open(&path_str(&song), silent()).expect("opens");
    assert!(player.info().video.still, "the picture is the song's cover");
    assert!(
        player.info().details.iter().any(|(_, value)| value == "mjpeg 200x200, cover picture"),
        "the media info says so"
    );
    drive_until(&mut player, Duration::from_secs(5), |p| p.position_secs() > 1.0);
    assert!(!player.is_buffering(Instant::now()), "one picture for the whole song is not a stall");
    let pts = first_frame_after_seek(&mut player, 2.5);
    assert!((pts - 2.5).abs() < 0.05, "the cover shows from the seek target, not {pts}");
    drive_until(&mut player, Duration::from_secs(5), |p| p.state() == StreamState::Eof);
    assert!(player.position_secs() > 3.9, "ended at {}", player.position_secs());
    assert!(player.presenter().current().is_some(), "the cover stays to the end");
}
