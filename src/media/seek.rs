//! Seeking an input so that decoding from where it lands shows the frame at a target: the player's
//! demux thread and `dysr upscale --start` land on a keyframe at or before the target and decode
//! forward, dropping what precedes it.
//!
//! With an index (MP4, Matroska) the input's seek lands on that keyframe. Without one (MPEG-TS) it
//! lands by time stamps, anywhere, and a video decoder shows nothing until the next keyframe: the
//! first frame would come a GOP after the target, or never in a stream with a single keyframe (one
//! encoded with no keyframe interval). So after landing, the packets up to the target are read to
//! see whether a keyframe comes first; if none does, it looks 1, 2, 4... s further back, the start
//! at the furthest: decoding forward from a keyframe however far back shows the target sooner than
//! waiting for the next one, which in a stream with a single keyframe never comes. The packets
//! read from the landing that is kept are handed on, not read again: over a network another seek
//! back would be another request.

use std::collections::VecDeque;

use ffmpeg_next as ffmpeg;

use super::source::timeline_start_secs;

/// Packets one look for a keyframe reads at most (an input with little video near the target).
const MAX_KEYFRAME_PROBE_PACKETS: usize = 20_000;

/// Reads an input's packets, and seeks it: the packets a seek read while it looked for a keyframe
/// come first.
#[derive(Default)]
pub struct PacketReader {
    read_ahead: VecDeque<ffmpeg::Packet>,
}

impl PacketReader {
    /// The next packet: one the last seek read ahead, else the input's next.
    pub fn read(&mut self, input: &mut ffmpeg::format::context::Input) -> Result<ffmpeg::Packet, ffmpeg::Error> {
        if let Some(packet) = self.read_ahead.pop_front() {
            return Ok(packet);
        }
        let mut packet = ffmpeg::Packet::empty();
        packet.read(input).map(|()| packet)
    }

    /// Hands `packets`, read from this reader, back to it: they come first again, in order.
    pub fn read_again(&mut self, mut packets: VecDeque<ffmpeg::Packet>) {
        packets.append(&mut self.read_ahead);
        self.read_ahead = packets;
    }

    /// Seeks `input` to a keyframe of stream `video_index` at or before `target_secs` of the
    /// timeline (which starts at the container's start time, [`timeline_start_secs`]); returns
    /// where it landed.
    pub fn seek_to_keyframe_before(
        &mut self,
        input: &mut ffmpeg::format::context::Input,
        video_index: usize,
        target_secs: f64,
    ) -> Result<f64, ffmpeg::Error> {
        let (landing_secs, read_ahead) = keyframe_landing(input, video_index, target_secs);
        tracing::debug!(target_secs, landing_secs, "seek");
        match read_ahead {
            Some(read_ahead) => {
                self.read_ahead = read_ahead;
                Ok(landing_secs)
            }
            None => {
                self.read_ahead.clear();
                seek_input(input, landing_secs).map(|()| landing_secs)
            }
        }
    }
}

/// Where to land for `target_secs`: the target where a keyframe comes before it from there, else
/// 1, 2, 4... s earlier, the start at the furthest; with the packets read from there when the input
/// stands there already.
fn keyframe_landing(
    input: &mut ffmpeg::format::context::Input,
    video_index: usize,
    target_secs: f64,
) -> (f64, Option<VecDeque<ffmpeg::Packet>>) {
    let mut back_secs: f64 = 0.0;
    loop {
        let landing_secs = (target_secs - back_secs).max(0.0);
        if landing_secs == 0.0 || seek_input(input, landing_secs).is_err() {
            return (landing_secs, None);
        }
        if let Some(read) = keyframe_before(input, video_index, target_secs) {
            return (landing_secs, Some(read));
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

/// Reading on from where the input stands: the packets up to and with the first video keyframe,
/// when it comes before the video reaches `target_secs`. The video packets before the keyframe are
/// left out: nothing decodes them.
fn keyframe_before(
    input: &mut ffmpeg::format::context::Input,
    video_index: usize,
    target_secs: f64,
) -> Option<VecDeque<ffmpeg::Packet>> {
    let time_base = f64::from(input.stream(video_index)?.time_base());
    let target_on_the_input = target_secs + timeline_start_secs(input);
    let mut read = VecDeque::new();
    for _ in 0..MAX_KEYFRAME_PROBE_PACKETS {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.stream() == video_index => {
                if packet.is_key() {
                    read.push_back(packet);
                    return Some(read);
                }
                if packet.pts().or(packet.dts()).is_some_and(|ts| ts as f64 * time_base >= target_on_the_input) {
                    return None;
                }
            }
            Ok(()) => read.push_back(packet),
            Err(ffmpeg::Error::InvalidData) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaSource;

    const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bbb-meadow-360p.mp4");

    /// Stream, pts, size and keyframe flag of the next `count` packets.
    fn next_packets(
        reader: &mut PacketReader,
        input: &mut ffmpeg::format::context::Input,
        count: usize,
    ) -> Vec<(usize, Option<i64>, usize, bool)> {
        (0..count)
            .map(|_| reader.read(input).expect("a packet"))
            .map(|packet| (packet.stream(), packet.pts(), packet.size(), packet.is_key()))
            .collect()
    }

    #[test]
    fn the_packets_a_seek_read_ahead_are_handed_on_in_order() {
        // The demo clip's keyframes are at 0, 3.79, 9.42... s: a seek to 5 s lands on 3.79.
        let mut sought = MediaSource::open(DEMO).expect("the demo clip opens");
        let video_index = sought.info.video.index;
        let mut reader = PacketReader::default();
        let landing = reader.seek_to_keyframe_before(&mut sought.input, video_index, 5.0).expect("the seek");
        assert!(!reader.read_ahead.is_empty(), "the search read no packet ahead");
        let handed_on = next_packets(&mut reader, &mut sought.input, 200);
        let first_video = handed_on.iter().find(|packet| packet.0 == video_index).expect("a video packet");
        assert!(first_video.3, "the first video packet handed on is not a keyframe");

        // The input sought there afresh gives the same packets, none left out or repeated.
        let mut fresh = MediaSource::open(DEMO).expect("the demo clip opens");
        seek_input(&mut fresh.input, landing).expect("the seek");
        assert_eq!(handed_on, next_packets(&mut PacketReader::default(), &mut fresh.input, 200));
    }
}
