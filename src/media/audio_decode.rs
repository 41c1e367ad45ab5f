//! The audio decode thread: packets in, [`AudioChunk`]s out, resampled (swresample) to the output's
//! rate and channel count as interleaved f32. After a seek, samples before the target are trimmed so
//! the clock starts exactly at the target; then they are stretched to the playback speed
//! ([`super::tempo`]). Runs in [`super::decode_loop`].

use ffmpeg::ChannelLayout;
use ffmpeg::format::Sample;
use ffmpeg::format::sample::Type as SampleType;
use ffmpeg_next as ffmpeg;

use std::sync::Arc;

use super::clock::Speed;
use super::decode_loop::{DecodeStage, StageOutput};
use super::tempo::Tempo;
use super::{AudioChunk, PipelineEvent, Tagged};

/// The format the audio output consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFormat {
    pub sample_rate: u32,
    pub channels: u16,
}

pub struct AudioDecoder {
    pub decoder: ffmpeg::decoder::Audio,
    pub time_base: ffmpeg::Rational,
    /// The input's start time, taken off every pts ([`super::StreamInfo::start_secs`]).
    pub start_secs: f64,
    pub output: OutputFormat,
    pub chunks: StageOutput<AudioChunk>,
    pub state: GenerationState,
    /// Another track's decoder, taken when the next generation starts.
    pub next_decoder: NextAudioDecoder,
    /// The playback speed the samples are stretched to.
    pub speed: Arc<Speed>,
    pub tempo: Tempo,
    /// Chunks out of the stretch, waiting to be sent (kept to reuse its allocation).
    pub ready: Vec<AudioChunk>,
}

/// Where the player leaves the decoder of the audio track it switches to.
#[derive(Clone, Default)]
pub struct NextAudioDecoder(std::sync::Arc<parking_lot::Mutex<Option<(ffmpeg::decoder::Audio, ffmpeg::Rational)>>>);

impl NextAudioDecoder {
    /// Leaves `decoder` (of a stream with `time_base`) for the audio decode thread.
    pub fn offer(&self, decoder: ffmpeg::decoder::Audio, time_base: ffmpeg::Rational) {
        *self.0.lock() = Some((decoder, time_base));
    }

    fn take(&self) -> Option<(ffmpeg::decoder::Audio, ffmpeg::Rational)> {
        self.0.lock().take()
    }
}

/// Per-generation decode state.
#[derive(Default)]
pub struct GenerationState {
    generation: u64,
    /// Samples before this time are trimmed (seek preroll).
    drop_before_secs: f64,
    /// Rebuilt when a generation starts or the decoded format changes.
    resampler: Option<Resampler>,
}

/// The resampler and the decoded format it was built for (it can change mid-stream).
struct Resampler {
    context: ffmpeg::software::resampling::Context,
    input: (Sample, ChannelLayout, u32),
}

impl DecodeStage for AudioDecoder {
    type Output = AudioChunk;
    const KIND: &'static str = "audio";

    fn decoder(&mut self) -> &mut ffmpeg::decoder::Opened {
        &mut self.decoder
    }

    fn start(&mut self, generation: u64, from_secs: f64) {
        if let Some((decoder, time_base)) = self.next_decoder.take() {
            (self.decoder, self.time_base) = (decoder, time_base);
        }
        self.state = GenerationState { generation, drop_before_secs: from_secs, resampler: None };
        self.tempo.reset();
    }

    fn drain(&mut self) -> bool {
        self.drain_chunks()
    }

    fn finish(&mut self) -> bool {
        if let Err(error) = self.tempo.finish(&mut self.ready) {
            self.warn("the speed change of the sound failed", &error);
        }
        self.send_ready()
    }

    fn output(&self) -> &StageOutput<AudioChunk> {
        &self.chunks
    }
}

impl AudioDecoder {
    /// Resamples and sends every frame the decoder has ready. False when the output is gone.
    fn drain_chunks(&mut self) -> bool {
        let mut decoded = ffmpeg::frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let Some(pts) = decoded.timestamp() else { continue };
            let pts_secs = pts as f64 * f64::from(self.time_base) - self.start_secs;
            let samples = match self.resample(&mut decoded) {
                Ok(samples) => samples,
                Err(error) => {
                    self.warn("audio resampling failed", &error);
                    continue;
                }
            };
            let Some(chunk) =
                trim_before(AudioChunk { pts_secs, samples, rate: 1.0 }, self.state.drop_before_secs, self.output)
            else {
                continue;
            };
            if let Err(error) = self.tempo.push(chunk, self.speed.get(), &mut self.ready) {
                self.warn("the speed change of the sound failed", &error);
            }
            if !self.send_ready() {
                return false;
            }
        }
        true
    }

    /// Sends the chunks the stretch has handed on. False when the output is gone.
    fn send_ready(&mut self) -> bool {
        let generation = self.state.generation;
        self.ready.drain(..).all(|chunk| self.chunks.items.send(Tagged::data(generation, chunk)).is_ok())
    }

    fn warn(&self, what: &str, error: &ffmpeg::Error) {
        let message = format!("{what}: {}", super::error::ffmpeg_cause(error));
        self.chunks.events.try_send(PipelineEvent::Warning(message)).ok();
    }

    fn resample(&mut self, decoded: &mut ffmpeg::frame::Audio) -> Result<Vec<f32>, ffmpeg::Error> {
        let resampler = &mut self.state.resampler;
        let layout = match decoded.channel_layout() {
            layout if layout.is_empty() => ChannelLayout::default(i32::from(decoded.channels())),
            layout => layout,
        };
        decoded.set_channel_layout(layout);
        let input = (decoded.format(), layout, decoded.rate());
        if resampler.as_ref().is_none_or(|r| r.input != input) {
            let context = ffmpeg::software::resampling::Context::get(
                input.0,
                input.1,
                input.2,
                Sample::F32(SampleType::Packed),
                ChannelLayout::default(i32::from(self.output.channels)),
                self.output.sample_rate,
            )?;
            *resampler = Some(Resampler { context, input });
        }
        let Some(resampler) = resampler.as_mut() else { unreachable!("resampler was just set") };
        let mut converted = ffmpeg::frame::Audio::empty();
        resampler.context.run(decoded, &mut converted)?;
        Ok(interleaved_samples(&converted, self.output))
    }
}

/// The samples of `frame` (packed f32 in `format`), interleaved.
pub(super) fn interleaved_samples(frame: &ffmpeg::frame::Audio, format: OutputFormat) -> Vec<f32> {
    let value_count = frame.samples() * usize::from(format.channels);
    frame.data(0)[..value_count * 4].chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// Drops the samples of `chunk` that precede `drop_before_secs`; None when nothing is left.
fn trim_before(mut chunk: AudioChunk, drop_before_secs: f64, output: OutputFormat) -> Option<AudioChunk> {
    let channels = usize::from(output.channels);
    if chunk.pts_secs >= drop_before_secs {
        return (!chunk.samples.is_empty()).then_some(chunk);
    }
    let frames_to_drop = ((drop_before_secs - chunk.pts_secs) * f64::from(output.sample_rate)).round() as usize;
    let values_to_drop = frames_to_drop.saturating_mul(channels);
    if values_to_drop >= chunk.samples.len() {
        return None;
    }
    chunk.samples.drain(..values_to_drop);
    chunk.pts_secs += frames_to_drop as f64 / f64::from(output.sample_rate);
    Some(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEREO_1K: OutputFormat = OutputFormat { sample_rate: 1000, channels: 2 };

    #[test]
    fn trimming_drops_whole_sample_frames_before_the_target() {
        let chunk = AudioChunk { pts_secs: 1.0, samples: (0..20).map(|v| v as f32).collect(), rate: 1.0 };
        let trimmed = trim_before(chunk, 1.004, STEREO_1K).expect("6 frames remain");
        assert_eq!(trimmed.samples.len(), 12);
        assert_eq!(trimmed.samples[0], 8.0);
        assert!((trimmed.pts_secs - 1.004).abs() < 1e-9);
    }

    #[test]
    fn chunks_entirely_before_the_target_vanish_and_later_ones_pass() {
        let early = AudioChunk { pts_secs: 1.0, samples: vec![0.0; 20], rate: 1.0 };
        assert!(trim_before(early, 2.0, STEREO_1K).is_none());
        let late = AudioChunk { pts_secs: 3.0, samples: vec![0.0; 20], rate: 1.0 };
        assert_eq!(trim_before(late, 2.0, STEREO_1K).map(|c| c.samples.len()), Some(20));
    }
}
