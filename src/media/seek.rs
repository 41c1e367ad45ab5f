//! Seeking an input so that decoding from where it lands shows the frame at a target: the player's
//! demux thread and `dysr upscale --start` land on a keyframe at or before the target and decode
//! forward, dropping what precedes it.
//!
//! With an index (MP4, Matroska) the input's seek lands on that keyframe. Without one (MPEG-TS) it
//! lands by time stamps, anywhere, and a video decoder shows nothing until the next keyframe: the
//! first frame would come a GOP after the target, or never in a stream with a single keyframe (one
//! encoded with no keyframe interval). So after landing, the packets up to the target are read to
//! see whether a keyframe comes first; if none does, it looks 1, 2, 4... s further back, the start
//! at the furthest.

use ffmpeg_next as ffmpeg;

use super::source::timeline_start_secs;

/// How far before a target a keyframe is looked for, at most: past that, decoding forward to the
/// target would take longer than the next keyframe is worth, and the seek settles for the target.
const MAX_KEYFRAME_SEARCH_SECS: f64 = 32.0;
/// Packets one look for a keyframe reads at most (an input with little video near the target).
const MAX_KEYFRAME_PROBE_PACKETS: usize = 20_000;

/// Seeks `input` to a keyframe of stream `video_index` at or before `target_secs` of the timeline
/// (which starts at the container's start time, [`timeline_start_secs`]); returns where it landed.
pub fn to_keyframe_before(
    input: &mut ffmpeg::format::context::Input,
    video_index: usize,
    target_secs: f64,
) -> Result<f64, ffmpeg::Error> {
    let landing_secs = keyframe_landing(input, video_index, target_secs);
    tracing::debug!(target_secs, landing_secs, "seek");
    seek_input(input, landing_secs).map(|()| landing_secs)
}

/// Where to land for `target_secs`: the target where a keyframe comes before it from there, else
/// 1, 2, 4... s earlier, the start at the furthest, or the target itself beyond
/// `MAX_KEYFRAME_SEARCH_SECS`.
fn keyframe_landing(input: &mut ffmpeg::format::context::Input, video_index: usize, target_secs: f64) -> f64 {
    let mut back_secs: f64 = 0.0;
    loop {
        let landing_secs = (target_secs - back_secs).max(0.0);
        if landing_secs == 0.0
            || seek_input(input, landing_secs).is_err()
            || keyframe_before(input, video_index, target_secs)
        {
            return landing_secs;
        }
        if back_secs >= MAX_KEYFRAME_SEARCH_SECS {
            return target_secs;
        }
        back_secs = (2.0 * back_secs).max(1.0);
    }
}

/// Seeks the input to the last keyframe it knows of at or before `secs` of the timeline. The start
/// is sought a second before it: the timeline starts at the earliest pts, and an input sought by
/// time stamps (MPEG-TS) with B-frames has its first keyframe's packet before that (its decoding
/// time stamp is earlier), so landing at the start itself would skip it.
fn seek_input(input: &mut ffmpeg::format::context::Input, secs: f64) -> Result<(), ffmpeg::Error> {
    let to = |input: &mut ffmpeg::format::context::Input, secs: f64| {
        let on_the_input = secs + timeline_start_secs(input);
        let timestamp = (on_the_input * f64::from(ffmpeg::ffi::AV_TIME_BASE)) as i64;
        input.seek(timestamp, ..timestamp)
    };
    if secs <= 0.0 { to(input, -1.0).or_else(|_| to(input, 0.0)) } else { to(input, secs) }
}

/// Reading on from where the input stands: whether a video keyframe comes before the video reaches
/// `target_secs`.
fn keyframe_before(input: &mut ffmpeg::format::context::Input, video_index: usize, target_secs: f64) -> bool {
    let Some(stream) = input.stream(video_index) else { return false };
    let time_base = f64::from(stream.time_base());
    let target_on_the_input = target_secs + timeline_start_secs(input);
    for _ in 0..MAX_KEYFRAME_PROBE_PACKETS {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.stream() == video_index => {
                if packet.is_key() {
                    return true;
                }
                if packet.pts().or(packet.dts()).is_some_and(|ts| ts as f64 * time_base >= target_on_the_input) {
                    return false;
                }
            }
            Ok(()) | Err(ffmpeg::Error::InvalidData) => {}
            Err(_) => return false,
        }
    }
    false
}
