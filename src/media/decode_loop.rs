//! The loop both decode threads run: packets in; items of an outdated generation dropped without
//! being decoded; `Start` and `End` handed on in order, after the stage has reacted to them.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use ffmpeg_next as ffmpeg;

use super::{Generation, Item, PipelineEvent, Tagged};
use crate::telemetry::Counters;

/// What a decode thread does with each kind of item.
pub trait DecodeStage {
    type Output;
    /// A generation starts at `from_secs` (open or seek): flush the decoder, reset its state.
    fn start(&mut self, generation: u64, from_secs: f64);
    /// Decodes one packet and sends what it yields. False when the next stage is gone.
    fn decode(&mut self, packet: &ffmpeg::Packet) -> bool;
    /// The input ended: drain the decoder. False when the next stage is gone.
    fn finish(&mut self) -> bool;
    /// Where the stage's output goes.
    fn output(&self) -> &Sender<Tagged<Self::Output>>;
}

/// Runs `stage` until its input or its output is disconnected.
pub fn run<S: DecodeStage>(mut stage: S, packets: Receiver<Tagged<ffmpeg::Packet>>, generation: Generation) {
    while let Ok(message) = packets.recv() {
        if generation.is_stale(message.generation) {
            continue;
        }
        let keep_going = match &message.item {
            Item::Start { from_secs } => {
                stage.start(message.generation, *from_secs);
                true
            }
            Item::Data(packet) => stage.decode(packet),
            Item::End => stage.finish(),
        };
        let forwarded = message.forward_control().is_none_or(|control| stage.output().send(control).is_ok());
        if !keep_going || !forwarded {
            return;
        }
    }
}

/// A packet the decoder refused: counted, logged and reported; decoding goes on with the next.
pub fn report_damaged_packet(kind: &str, error: &ffmpeg::Error, counters: &Arc<Counters>, events: &Sender<PipelineEvent>) {
    Counters::bump(&counters.corrupt_packets);
    let cause = super::error::ffmpeg_cause(error);
    tracing::warn!("skipping a damaged {kind} packet: {cause}");
    events.try_send(PipelineEvent::Warning(format!("skipped a damaged {kind} packet: {cause}"))).ok();
}
