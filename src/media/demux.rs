//! The demux thread: reads packets from the input and routes them to the video and audio decode
//! threads over bounded channels (back-pressure: it blocks while the decoders are full), and carries
//! out seeks. While blocked on a full channel it still listens for commands, so a seek or a close
//! is never stuck behind a full queue.

use crossbeam_channel::{Receiver, Sender, select};
use ffmpeg_next as ffmpeg;

use super::seek::PacketReader;
use super::{PipelineEvent, Tagged};
use crate::telemetry::Counters;

/// After this many unreadable packets in a row the input is treated as broken rather than damaged.
const MAX_CONSECUTIVE_CORRUPT_PACKETS: u32 = 500;

#[derive(Debug)]
pub enum DemuxCommand {
    /// Seek to `target_secs` and start `generation` there.
    Seek {
        generation: u64,
        target_secs: f64,
    },
    /// Route stream `index`'s packets as the audio (another track) from now on.
    SwitchAudio {
        index: usize,
    },
    Quit,
}

pub struct DemuxThread {
    pub input: ffmpeg::format::context::Input,
    pub video_index: usize,
    pub audio_index: Option<usize>,
    pub commands: Receiver<DemuxCommand>,
    pub video_packets: Sender<Tagged<ffmpeg::Packet>>,
    pub audio_packets: Option<Sender<Tagged<ffmpeg::Packet>>>,
    /// The subtitle streams and where their packets go (never waited for: a full queue drops them).
    pub subtitle_packets: Option<(Vec<usize>, Sender<ffmpeg::Packet>)>,
    pub events: Sender<PipelineEvent>,
    pub counters: std::sync::Arc<Counters>,
}

/// Where reading stands.
#[derive(Debug, Default, Clone, Copy)]
struct ReadState {
    /// The input (or the current generation of it) has ended: nothing to read until a seek.
    at_end: bool,
    consecutive_corrupt: u32,
    /// Packets were handed on: a read error after this ends the input (what arrived still plays,
    /// and a seek may read again) instead of failing it.
    delivered: bool,
}

/// What the read loop should do after an attempt to hand a packet on or to wait.
enum Next {
    Continue,
    Seek {
        generation: u64,
        target_secs: f64,
    },
    /// (A packet being handed on when it came is dropped: the seek that follows a switch
    /// outdates it anyway.)
    SwitchAudio {
        index: usize,
    },
    Quit,
}

impl DemuxThread {
    pub fn run(mut self) {
        let mut generation = 0;
        self.send_to_all(Tagged::start(generation, 0.0));
        let mut state = ReadState::default();
        let mut packets = PacketReader::default();
        loop {
            let next = if state.at_end {
                // Nothing to read until a seek (loop, or the user) or a close.
                match self.commands.recv() {
                    Ok(command) => Self::next_for(command),
                    Err(_) => Next::Quit,
                }
            } else {
                match self.commands.try_recv() {
                    Ok(command) => Self::next_for(command),
                    Err(_) => self.read_and_route(&mut packets, generation, &mut state),
                }
            };
            match next {
                Next::Continue => {}
                Next::Quit => return,
                Next::SwitchAudio { index } => self.audio_index = Some(index),
                Next::Seek { generation: new_generation, target_secs } => {
                    generation = new_generation;
                    state = ReadState { delivered: state.delivered, ..ReadState::default() };
                    self.seek(&mut packets, target_secs);
                    if !self.send_to_all(Tagged::start(generation, target_secs)) {
                        return;
                    }
                }
            }
        }
    }

    fn next_for(command: DemuxCommand) -> Next {
        match command {
            DemuxCommand::Seek { generation, target_secs } => Next::Seek { generation, target_secs },
            DemuxCommand::SwitchAudio { index } => Next::SwitchAudio { index },
            DemuxCommand::Quit => Next::Quit,
        }
    }

    fn read_and_route(&mut self, packets: &mut PacketReader, generation: u64, state: &mut ReadState) -> Next {
        match packets.read(&mut self.input) {
            Ok(packet) => {
                state.consecutive_corrupt = 0;
                let index = packet.stream();
                let channel = if index == self.video_index {
                    Some(&self.video_packets)
                } else if Some(index) == self.audio_index {
                    self.audio_packets.as_ref()
                } else {
                    None
                };
                match (channel, &self.subtitle_packets) {
                    (Some(channel), _) => {
                        state.delivered = true;
                        self.send_or_obey(channel, Tagged::data(generation, packet))
                    }
                    (None, Some((streams, subtitles))) if streams.contains(&index) => {
                        if subtitles.try_send(packet).is_err() {
                            tracing::debug!("a subtitle packet dropped: its decoder is behind");
                        }
                        Next::Continue
                    }
                    (None, _) => Next::Continue,
                }
            }
            Err(ffmpeg::Error::Eof) => {
                state.at_end = true;
                if self.send_to_all(Tagged::end(generation)) { Next::Continue } else { Next::Quit }
            }
            Err(ffmpeg::Error::InvalidData) if state.consecutive_corrupt < MAX_CONSECUTIVE_CORRUPT_PACKETS => {
                state.consecutive_corrupt += 1;
                Counters::bump(&self.counters.corrupt_packets);
                tracing::warn!("skipping an unreadable packet");
                Next::Continue
            }
            Err(error) => {
                let cause = super::error::ffmpeg_cause(&error);
                let event = if state.delivered {
                    // A connection lost mid-file: what arrived plays to its end (mpv does the same).
                    PipelineEvent::Warning(format!("reading the input stopped early ({cause}): playing what arrived"))
                } else {
                    PipelineEvent::Fatal(format!("reading the input failed: {cause}"))
                };
                self.events.try_send(event).ok();
                state.at_end = true;
                if self.send_to_all(Tagged::end(generation)) { Next::Continue } else { Next::Quit }
            }
        }
    }

    /// Sends `item` on `channel`, blocking while it is full, unless a command arrives first.
    fn send_or_obey(&self, channel: &Sender<Tagged<ffmpeg::Packet>>, item: Tagged<ffmpeg::Packet>) -> Next {
        select! {
            send(channel, item) -> sent => if sent.is_ok() { Next::Continue } else { Next::Quit },
            recv(self.commands) -> command => match command {
                Ok(command) => Self::next_for(command),
                Err(_) => Next::Quit,
            },
        }
    }

    /// Sends a control item to every decoder. False when a decoder is gone (the player is closing).
    fn send_to_all(&self, item: Tagged<ffmpeg::Packet>) -> bool {
        let Some(copy) = item.forward_control() else { return true };
        let video_ok = self.video_packets.send(item).is_ok();
        let audio_ok = self.audio_packets.as_ref().is_none_or(|audio| audio.send(copy).is_ok());
        video_ok && audio_ok
    }

    /// Lands on a keyframe at or before the target; the decoders decode forward from there and
    /// drop what precedes the target.
    fn seek(&mut self, packets: &mut PacketReader, target_secs: f64) {
        if let Err(error) = packets.seek_to_keyframe_before(&mut self.input, self.video_index, target_secs) {
            let cause = super::error::ffmpeg_cause(&error);
            self.events.try_send(PipelineEvent::Warning(format!("seek to {target_secs:.2} s failed: {cause}"))).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossbeam_channel::bounded;

    use super::*;
    use crate::media::{Item, MediaSource};

    /// The demo clip: keyframes at 0, 3.79, 9.42, 11.29, 13.46 and 15.54 s.
    const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/bbb-meadow-360p.mp4");
    const WAIT: Duration = Duration::from_secs(10);

    struct Demuxing {
        commands: Sender<DemuxCommand>,
        video: Receiver<Tagged<ffmpeg::Packet>>,
        audio: Receiver<Tagged<ffmpeg::Packet>>,
        video_time_base: f64,
        thread: std::thread::JoinHandle<()>,
    }

    /// The demo clip's demux thread, its packet channels holding `capacity` items each.
    fn demux(capacity: usize) -> Demuxing {
        let source = MediaSource::open(DEMO).expect("the demo clip opens");
        let video_index = source.info.video.index;
        let video_time_base = f64::from(source.input.stream(video_index).expect("video stream").time_base());
        let (commands, commands_rx) = bounded(8);
        let (video_tx, video) = bounded(capacity);
        let (audio_tx, audio) = bounded(capacity);
        let (events, _) = bounded(8);
        let thread = DemuxThread {
            input: source.input,
            video_index,
            audio_index: source.info.audio.as_ref().map(|audio| audio.index),
            commands: commands_rx,
            video_packets: video_tx,
            audio_packets: Some(audio_tx),
            subtitle_packets: None,
            events,
            counters: Default::default(),
        };
        Demuxing { commands, video, audio, video_time_base, thread: std::thread::spawn(move || thread.run()) }
    }

    impl Demuxing {
        /// Video items until the first of `generation` that is not a packet of an older one.
        fn skip_to(&self, generation: u64) -> Tagged<ffmpeg::Packet> {
            // The audio channel is drained alongside so the thread never blocks on it.
            loop {
                while self.audio.try_recv().is_ok() {}
                match self.video.recv_timeout(Duration::from_millis(20)) {
                    Ok(item) if item.generation == generation => return item,
                    Ok(item) => assert!(
                        item.generation < generation,
                        "an item of generation {} before {generation}",
                        item.generation
                    ),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(error) => panic!("the video channel closed: {error}"),
                }
            }
        }

        fn next_video(&self) -> Tagged<ffmpeg::Packet> {
            loop {
                while self.audio.try_recv().is_ok() {}
                if let Ok(item) = self.video.recv_timeout(Duration::from_millis(20)) {
                    return item;
                }
            }
        }

        fn pts_secs(&self, packet: &ffmpeg::Packet) -> f64 {
            packet.pts().expect("a pts") as f64 * self.video_time_base
        }

        fn close(self) {
            self.commands.send(DemuxCommand::Quit).unwrap();
            drop(self.video);
            drop(self.audio);
            self.thread.join().expect("the demux thread ends without a panic");
        }
    }

    #[test]
    fn a_seek_starts_a_new_generation_at_the_keyframe_before_the_target() {
        let demuxing = demux(4);
        let first = demuxing.next_video();
        assert!(matches!(first.item, Item::Start { from_secs } if from_secs == 0.0) && first.generation == 0);
        demuxing.commands.send(DemuxCommand::Seek { generation: 1, target_secs: 10.0 }).unwrap();
        let start = demuxing.skip_to(1);
        assert!(matches!(start.item, Item::Start { from_secs } if from_secs == 10.0));
        let Item::Data(packet) = demuxing.next_video().item else { panic!("a packet after the start") };
        let pts = demuxing.pts_secs(&packet);
        assert!((pts - 9.4167).abs() < 0.01, "the first packet at {pts} s, not the keyframe at 9.42 s");
        assert!(packet.is_key());
        // Every later item belongs to the new generation.
        for _ in 0..20 {
            assert_eq!(demuxing.next_video().generation, 1);
        }
        demuxing.close();
    }

    #[test]
    fn a_seek_is_obeyed_while_the_decoders_are_full() {
        // Channels of one item, never drained until the seek is sent: the thread is blocked on a
        // full channel and must still take the command.
        let demuxing = demux(1);
        std::thread::sleep(Duration::from_millis(100));
        demuxing.commands.send(DemuxCommand::Seek { generation: 1, target_secs: 12.0 }).unwrap();
        // Taken from the queue with nothing drained: the blocked send gave way to the command.
        let deadline = std::time::Instant::now() + WAIT;
        while !demuxing.commands.is_empty() {
            assert!(std::time::Instant::now() < deadline, "the seek was not taken while the channels were full");
            std::thread::sleep(Duration::from_millis(5));
        }
        let start = demuxing.skip_to(1);
        assert!(matches!(start.item, Item::Start { from_secs } if from_secs == 12.0));
        let Item::Data(packet) = demuxing.next_video().item else { panic!("a packet after the start") };
        assert!((demuxing.pts_secs(&packet) - 11.2917).abs() < 0.01);
        demuxing.close();
    }

    #[test]
    fn the_end_is_announced_and_a_seek_after_it_reads_again() {
        let demuxing = demux(64);
        demuxing.commands.send(DemuxCommand::Seek { generation: 1, target_secs: 19.5 }).unwrap();
        demuxing.skip_to(1);
        let deadline = std::time::Instant::now() + WAIT;
        while !matches!(demuxing.next_video().item, Item::End) {
            assert!(std::time::Instant::now() < deadline, "no End within {WAIT:?}");
        }
        // At the end the thread waits for a command; a seek back (a loop) reads from the start.
        demuxing.commands.send(DemuxCommand::Seek { generation: 2, target_secs: 0.0 }).unwrap();
        assert!(matches!(demuxing.skip_to(2).item, Item::Start { from_secs } if from_secs == 0.0));
        let Item::Data(packet) = demuxing.next_video().item else { panic!("a packet after the start") };
        assert!(demuxing.pts_secs(&packet).abs() < 0.01);
        demuxing.close();
    }

    #[test]
    fn the_thread_ends_when_its_consumers_are_gone() {
        let demuxing = demux(1);
        // No Quit: dropping the receiving ends must be enough (the player's close drops them too).
        drop(demuxing.commands);
        drop(demuxing.video);
        drop(demuxing.audio);
        demuxing.thread.join().expect("no panic");
    }
}
