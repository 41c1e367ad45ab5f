//! The loop both decode threads run: packets in; items of an outdated generation dropped without
//! being decoded; `Start` and `End` handed on in order, after the stage has reacted to them.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use ffmpeg_next as ffmpeg;

use super::{Generation, Item, PipelineEvent, Tagged};
use crate::telemetry::Counters;

/// What differs between the decode threads; feeding the decoder is the loop's.
pub trait DecodeStage {
    type Output;
    /// "video" or "audio", for messages.
    const KIND: &'static str;
    fn decoder(&mut self) -> &mut ffmpeg::decoder::Opened;
    /// A generation starts at `from_secs` (open or seek): reset per-generation state. The loop has
    /// flushed the decoder.
    fn start(&mut self, generation: u64, from_secs: f64);
    /// Sends every frame the decoder has ready. False when the next stage is gone.
    fn drain(&mut self) -> bool;
    /// The input ended and the decoder is drained: send whatever the stage still holds.
    fn finish(&mut self) -> bool {
        true
    }
    /// Where the stage's output goes and its troubles are reported.
    fn output(&self) -> &StageOutput<Self::Output>;
}

/// Where a decode stage's results go: the next stage's channel, and the counters and events that
/// damaged packets are reported to.
pub struct StageOutput<T> {
    pub items: Sender<Tagged<T>>,
    pub counters: Arc<Counters>,
    pub events: Sender<PipelineEvent>,
}

/// Runs `stage` until its input or its output is disconnected.
pub fn run<S: DecodeStage>(mut stage: S, packets: Receiver<Tagged<ffmpeg::Packet>>, generation: Generation) {
    while let Ok(message) = packets.recv() {
        if generation.is_stale(message.generation) {
            continue;
        }
        let keep_going = match &message.item {
            Item::Start { from_secs } => {
                stage.decoder().flush();
                stage.start(message.generation, *from_secs);
                true
            }
            Item::Data(packet) => {
                if let Err(error) = stage.decoder().send_packet(packet) {
                    let output = stage.output();
                    report_damaged_packet(S::KIND, &error, &output.counters, &output.events);
                }
                stage.drain()
            }
            Item::End => {
                stage.decoder().send_eof().ok();
                stage.drain() && stage.finish()
            }
        };
        let forwarded = message.forward_control().is_none_or(|control| stage.output().items.send(control).is_ok());
        if !keep_going || !forwarded {
            return;
        }
    }
}

/// A packet the decoder refused: counted, logged and reported; decoding goes on with the next.
fn report_damaged_packet(kind: &str, error: &ffmpeg::Error, counters: &Arc<Counters>, events: &Sender<PipelineEvent>) {
    Counters::bump(&counters.corrupt_packets);
    let cause = super::error::ffmpeg_cause(error);
    tracing::warn!("skipping a damaged {kind} packet: {cause}");
    events.try_send(PipelineEvent::Warning(format!("skipped a damaged {kind} packet: {cause}"))).ok();
}
