//! Playback speed for the sound: the decoded samples stretched in time with their pitch kept
//! (FFmpeg's `atempo`, as mpv's `scaletempo`), in the audio decode thread after resampling. At 1x
//! the samples pass untouched. Each chunk out says which stream time its first sample is and how
//! many stream seconds a second of it covers, so the clock follows the sound exactly.

use ffmpeg::ChannelLayout;
use ffmpeg::filter::Graph;
use ffmpeg::format::Sample;
use ffmpeg::format::sample::Type as SampleType;
use ffmpeg_next as ffmpeg;

use super::AudioChunk;
use super::audio_decode::{OutputFormat, interleaved_samples};

/// `atempo` takes 0.5 to 100 in one instance: slower speeds chain two.
const ATEMPO_MIN: f64 = 0.5;
/// A chunk further than this from where the last one ended (a gap in the stream) starts the
/// stretch again from its own time, so the clock never drifts from the stream.
const DISCONTINUITY_SECS: f64 = 0.1;

/// The filter graph of one speed and the stream time it has been fed from.
struct Stretch {
    graph: Graph,
    rate: f64,
    /// The stream time of the first sample fed.
    start_secs: f64,
    frames_in: u64,
    frames_out: u64,
}

pub struct Tempo {
    format: OutputFormat,
    stretch: Option<Stretch>,
}

impl Tempo {
    pub fn new(format: OutputFormat) -> Self {
        Self { format, stretch: None }
    }

    /// Forgets the samples held back (a seek: what follows is from elsewhere in the stream).
    pub fn reset(&mut self) {
        self.stretch = None;
    }

    /// Hands on `chunk` (unstretched) played at `rate`; `out` receives the chunks ready, which lag
    /// the input by the filter's window while stretching.
    pub fn push(&mut self, chunk: AudioChunk, rate: f64, out: &mut Vec<AudioChunk>) -> Result<(), ffmpeg::Error> {
        let sample_rate = f64::from(self.format.sample_rate);
        let continues = self.stretch.as_ref().is_some_and(|stretch| {
            let expected_secs = stretch.start_secs + stretch.frames_in as f64 / sample_rate;
            stretch.rate == rate && (chunk.pts_secs - expected_secs).abs() <= DISCONTINUITY_SECS
        });
        if !continues {
            // What the old speed still holds plays before the new one starts.
            self.finish(out)?;
        }
        if rate == 1.0 {
            out.push(chunk);
            return Ok(());
        }
        if self.stretch.is_none() {
            let graph = build_graph(self.format, rate)?;
            self.stretch = Some(Stretch { graph, rate, start_secs: chunk.pts_secs, frames_in: 0, frames_out: 0 });
        }
        let stretch = self.stretch.as_mut().expect("built above");
        let frame = to_frame(&chunk.samples, self.format, stretch.frames_in)?;
        stretch.frames_in += frame.samples() as u64;
        stretch.graph.get("in").expect("the graph has its source").source().add(&frame)?;
        drain(stretch, self.format, out);
        Ok(())
    }

    /// At the end of the input or a change of speed: the samples the filter still holds.
    pub fn finish(&mut self, out: &mut Vec<AudioChunk>) -> Result<(), ffmpeg::Error> {
        if let Some(mut stretch) = self.stretch.take() {
            stretch.graph.get("in").expect("the graph has its source").source().flush()?;
            drain(&mut stretch, self.format, out);
        }
        Ok(())
    }
}

/// FFmpeg's name of the layout of `channels` (the output is mono or stereo).
fn layout_name(channels: u16) -> &'static str {
    if channels == 1 { "mono" } else { "stereo" }
}

fn build_graph(format: OutputFormat, rate: f64) -> Result<Graph, ffmpeg::Error> {
    let mut graph = Graph::new();
    let args = format!(
        "time_base=1/{rate}:sample_rate={rate}:sample_fmt=flt:channel_layout={layout}",
        rate = format.sample_rate,
        layout = layout_name(format.channels)
    );
    let find = |name| ffmpeg::filter::find(name).ok_or(ffmpeg::Error::FilterNotFound);
    graph.add(&find("abuffer")?, "in", &args)?;
    graph.add(&find("abuffersink")?, "out", "")?;
    let atempo = if rate < ATEMPO_MIN {
        format!("atempo={ATEMPO_MIN},atempo={}", rate / ATEMPO_MIN)
    } else {
        format!("atempo={rate}")
    };
    let filters = format!("{atempo},aformat=sample_fmts=flt:channel_layouts={}", layout_name(format.channels));
    graph.output("in", 0)?.input("out", 0)?.parse(&filters)?;
    graph.validate()?;
    Ok(graph)
}

/// Interleaved `samples` as a frame whose pts counts `first_frame` samples from the start.
fn to_frame(samples: &[f32], format: OutputFormat, first_frame: u64) -> Result<ffmpeg::frame::Audio, ffmpeg::Error> {
    let channels = usize::from(format.channels);
    let frames = samples.len() / channels;
    let layout = ChannelLayout::default(i32::from(format.channels));
    let mut frame = ffmpeg::frame::Audio::new(Sample::F32(SampleType::Packed), frames, layout);
    frame.set_rate(format.sample_rate);
    frame.set_pts(Some(i64::try_from(first_frame).map_err(|_| ffmpeg::Error::InvalidData)?));
    for (dst, src) in frame.data_mut(0).chunks_exact_mut(4).zip(&samples[..frames * channels]) {
        dst.copy_from_slice(&src.to_ne_bytes());
    }
    Ok(frame)
}

/// Takes every stretched frame the graph has ready. A stretched sample k stands for stream time
/// start + k * rate / sample rate: `atempo` consumes its input at exactly the rate.
fn drain(stretch: &mut Stretch, format: OutputFormat, out: &mut Vec<AudioChunk>) {
    let mut sink = stretch.graph.get("out").expect("the graph has its sink");
    loop {
        let mut frame = ffmpeg::frame::Audio::empty();
        if sink.sink().frame(&mut frame).is_err() {
            return;
        }
        let samples = interleaved_samples(&frame, format);
        let pts_secs = stretch.start_secs + stretch.frames_out as f64 * stretch.rate / f64::from(format.sample_rate);
        stretch.frames_out += frame.samples() as u64;
        if !samples.is_empty() {
            out.push(AudioChunk { pts_secs, samples, rate: stretch.rate });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONO_48K: OutputFormat = OutputFormat { sample_rate: 48_000, channels: 1 };

    /// `secs` of a `hz` sine from `from_secs`, in chunks of 1,024 samples.
    fn sine(hz: f64, from_secs: f64, secs: f64) -> Vec<AudioChunk> {
        let rate = f64::from(MONO_48K.sample_rate);
        let samples: Vec<f32> = (0..(secs * rate) as usize)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * hz * (from_secs + i as f64 / rate)).sin()) as f32)
            .collect();
        samples
            .chunks(1024)
            .enumerate()
            .map(|(i, part)| AudioChunk {
                pts_secs: from_secs + (i * 1024) as f64 / rate,
                samples: part.to_vec(),
                rate: 1.0,
            })
            .collect()
    }

    fn stretched(chunks: Vec<AudioChunk>, rate: f64) -> Vec<AudioChunk> {
        crate::media::init_ffmpeg();
        let mut tempo = Tempo::new(MONO_48K);
        let mut out = Vec::new();
        for chunk in chunks {
            tempo.push(chunk, rate, &mut out).unwrap();
        }
        tempo.finish(&mut out).unwrap();
        out
    }

    /// The sine's frequency in `samples` (played at 48 kHz), from its rising zero crossings.
    fn frequency(samples: &[f32]) -> f64 {
        let crossings = samples.windows(2).filter(|pair| pair[0] < 0.0 && pair[1] >= 0.0).count();
        crossings as f64 * f64::from(MONO_48K.sample_rate) / samples.len() as f64
    }

    #[test]
    fn at_normal_speed_the_samples_pass_untouched() {
        let chunks = sine(440.0, 3.0, 0.1);
        let out = stretched(sine(440.0, 3.0, 0.1), 1.0);
        assert_eq!(out.len(), chunks.len());
        for (a, b) in out.iter().zip(&chunks) {
            assert_eq!((a.pts_secs, &a.samples, a.rate), (b.pts_secs, &b.samples, 1.0));
        }
    }

    #[test]
    fn faster_and_slower_speeds_change_the_length_not_the_pitch() {
        for rate in [2.0, 1.5, 0.5, 0.25] {
            let out = stretched(sine(1000.0, 3.0, 2.0), rate);
            let samples: Vec<f32> = out.iter().flat_map(|chunk| chunk.samples.iter().copied()).collect();
            let played_secs = samples.len() as f64 / 48_000.0;
            assert!((played_secs - 2.0 / rate).abs() < 0.05, "{rate}x: {played_secs} s played");
            let hz = frequency(&samples);
            assert!((hz - 1000.0).abs() < 15.0, "{rate}x: {hz} Hz");
            // Each chunk's stream time follows from the samples before it at the rate.
            assert!(out.iter().all(|chunk| chunk.rate == rate));
            assert!((out[0].pts_secs - 3.0).abs() < 1e-9);
            let last = out.last().unwrap();
            let end_secs = last.pts_secs + last.samples.len() as f64 * rate / 48_000.0;
            assert!((end_secs - 5.0).abs() < 0.025, "{rate}x: the stream ends at {end_secs} s");
        }
    }

    #[test]
    fn a_change_of_speed_plays_out_the_old_one_and_goes_on_from_the_stream_time_reached() {
        crate::media::init_ffmpeg();
        let mut tempo = Tempo::new(MONO_48K);
        let mut out = Vec::new();
        let chunks = sine(1000.0, 0.0, 2.0);
        let half = chunks.len() / 2;
        let switch_secs = chunks[half].pts_secs;
        for (i, chunk) in chunks.into_iter().enumerate() {
            tempo.push(chunk, if i < half { 2.0 } else { 1.0 }, &mut out).unwrap();
        }
        tempo.finish(&mut out).unwrap();
        let first_normal = out.iter().position(|chunk| chunk.rate == 1.0).expect("the 1x part");
        assert!(out[..first_normal].iter().all(|chunk| chunk.rate == 2.0));
        assert!(out[first_normal..].iter().all(|chunk| chunk.rate == 1.0));
        assert!((out[first_normal].pts_secs - switch_secs).abs() < 1e-9);
        let fast_frames: usize = out[..first_normal].iter().map(|chunk| chunk.samples.len()).sum();
        assert!((fast_frames as f64 / 48_000.0 - switch_secs / 2.0).abs() < 0.05, "{fast_frames} frames at 2x");
    }
}
