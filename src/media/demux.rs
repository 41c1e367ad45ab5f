//! The demux thread: reads packets from the input and routes them to the video and audio decode
//! threads over bounded channels (back-pressure: it blocks while the decoders are full), and carries
//! out seeks. While blocked on a full channel it still listens for commands, so a seek or a close
//! is never stuck behind a full queue.

use crossbeam_channel::{Receiver, Sender, select};
use ffmpeg_next as ffmpeg;

use super::{PipelineEvent, Tagged};
use crate::telemetry::Counters;

/// After this many unreadable packets in a row the input is treated as broken rather than damaged.
const MAX_CONSECUTIVE_CORRUPT_PACKETS: u32 = 500;

#[derive(Debug)]
pub enum DemuxCommand {
    /// Seek to `target_secs` and start `generation` there.
    Seek { generation: u64, target_secs: f64 },
    Quit,
}

pub struct DemuxThread {
    pub input: ffmpeg::format::context::Input,
    pub video_index: usize,
    pub audio_index: Option<usize>,
    pub commands: Receiver<DemuxCommand>,
    pub video_packets: Sender<Tagged<ffmpeg::Packet>>,
    pub audio_packets: Option<Sender<Tagged<ffmpeg::Packet>>>,
    pub events: Sender<PipelineEvent>,
    pub counters: std::sync::Arc<Counters>,
}

/// What the read loop should do after an attempt to hand a packet on or to wait.
enum Next {
    Continue,
    Seek { generation: u64, target_secs: f64 },
    Quit,
}

impl DemuxThread {
    pub fn run(mut self) {
        let mut generation = 0;
        self.send_to_all(Tagged::start(generation, 0.0));
        let mut at_end = false;
        let mut consecutive_corrupt = 0;
        loop {
            let next = if at_end {
                // Nothing to read until a seek (loop, or the user) or a close.
                match self.commands.recv() {
                    Ok(command) => Self::next_for(command),
                    Err(_) => Next::Quit,
                }
            } else {
                match self.commands.try_recv() {
                    Ok(command) => Self::next_for(command),
                    Err(_) => self.read_and_route(generation, &mut at_end, &mut consecutive_corrupt),
                }
            };
            match next {
                Next::Continue => {}
                Next::Quit => return,
                Next::Seek { generation: new_generation, target_secs } => {
                    generation = new_generation;
                    at_end = false;
                    consecutive_corrupt = 0;
                    self.seek(target_secs);
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
            DemuxCommand::Quit => Next::Quit,
        }
    }

    fn read_and_route(&mut self, generation: u64, at_end: &mut bool, consecutive_corrupt: &mut u32) -> Next {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(&mut self.input) {
            Ok(()) => {
                *consecutive_corrupt = 0;
                let index = packet.stream();
                let channel = if index == self.video_index {
                    Some(&self.video_packets)
                } else if Some(index) == self.audio_index {
                    self.audio_packets.as_ref()
                } else {
                    None
                };
                match channel {
                    Some(channel) => self.send_or_obey(channel, Tagged::data(generation, packet)),
                    None => Next::Continue,
                }
            }
            Err(ffmpeg::Error::Eof) => {
                *at_end = true;
                if self.send_to_all(Tagged::end(generation)) { Next::Continue } else { Next::Quit }
            }
            Err(ffmpeg::Error::InvalidData) if *consecutive_corrupt < MAX_CONSECUTIVE_CORRUPT_PACKETS => {
                *consecutive_corrupt += 1;
                Counters::bump(&self.counters.corrupt_packets);
                tracing::warn!("skipping an unreadable packet");
                Next::Continue
            }
            Err(error) => {
                let cause = super::error::ffmpeg_cause(&error);
                self.events.try_send(PipelineEvent::Fatal(format!("reading the input failed: {cause}"))).ok();
                *at_end = true;
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

    fn seek(&mut self, target_secs: f64) {
        let timestamp = (target_secs * f64::from(ffmpeg::ffi::AV_TIME_BASE)) as i64;
        // Land on the keyframe at or before the target; the decoders decode forward from there and
        // drop what precedes the target.
        if let Err(error) = self.input.seek(timestamp, ..timestamp) {
            let cause = super::error::ffmpeg_cause(&error);
            self.events.try_send(PipelineEvent::Warning(format!("seek to {target_secs:.2} s failed: {cause}"))).ok();
        }
    }
}
