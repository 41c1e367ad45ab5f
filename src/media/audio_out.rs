//! Audio outputs and the feeder they share. The feeder pulls [`AudioChunk`]s, applies the volume,
//! writes them into the output's buffer and sets the master [`Clock`] from the pts of what it wrote.
//!
//! Three outputs behind one small trait (mpv's `ao_*`):
//! - [`CpalOutput`]: the sound card, through cpal.
//! - [`SilentOutput`]: no sound card, but the same real-time consumption, so the clock runs exactly
//!   as it would with one (ALSA's `null` device is not real time: it swallows seconds at once).
//! - [`DiscardOutput`]: takes chunks as fast as they come (`--no-sync` throughput runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait as _, HostTrait as _, StreamTrait as _};
use crossbeam_channel::Receiver;

use super::audio_decode::OutputFormat;
use super::clock::Clock;
use super::{AudioChunk, Generation, Item, Tagged};
use crate::telemetry::Counters;

/// How often the silent output wakes to consume what real time has played.
const SILENT_OUTPUT_PERIOD: Duration = Duration::from_millis(5);

/// Volume and mute, shared between the controls and the audio callback.
#[derive(Debug)]
pub struct Volume {
    gain_bits: AtomicU32,
    muted: AtomicBool,
}

impl Default for Volume {
    fn default() -> Self {
        Self { gain_bits: AtomicU32::new(1.0f32.to_bits()), muted: AtomicBool::new(false) }
    }
}

impl Volume {
    /// Volume from 0 (silent) to 1 (full scale).
    pub fn level(&self) -> f32 {
        f32::from_bits(self.gain_bits.load(Ordering::Relaxed))
    }
    pub fn set_level(&self, level: f32) {
        self.gain_bits.store(level.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }
    pub fn is_muted(&self) -> bool {
        self.muted.load(Ordering::Relaxed)
    }
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }
    fn gain(&self) -> f32 {
        if self.is_muted() { 0.0 } else { self.level() }
    }
}

/// Pulls chunks and turns them into output samples and clock updates.
pub struct AudioFeeder {
    pub chunks: Receiver<Tagged<AudioChunk>>,
    pub format: OutputFormat,
    pub generation: Generation,
    pub clock: Arc<Clock>,
    pub volume: Arc<Volume>,
    pub counters: Arc<Counters>,
    /// The chunk being played, its generation and how many values of it are already written.
    playing: Option<(u64, AudioChunk, usize)>,
    /// The generation whose End has been reached: no underrun is counted after it.
    ended_generation: Option<u64>,
}

impl AudioFeeder {
    pub fn new(
        chunks: Receiver<Tagged<AudioChunk>>,
        format: OutputFormat,
        generation: Generation,
        clock: Arc<Clock>,
        volume: Arc<Volume>,
        counters: Arc<Counters>,
    ) -> Self {
        Self { chunks, format, generation, clock, volume, counters, playing: None, ended_generation: None }
    }

    /// Fills `out` (interleaved f32) with what is heard from instant `plays_at` on.
    pub fn fill(&mut self, out: &mut [f32], plays_at: Instant) {
        if self.playing.as_ref().is_some_and(|(generation, _, _)| self.generation.is_stale(*generation)) {
            self.playing = None;
        }
        if self.clock.is_paused() {
            self.drop_stale_chunks();
            out.fill(0.0);
            return;
        }
        let gain = self.volume.gain();
        let channels = usize::from(self.format.channels);
        let mut written = 0;
        let mut first_heard: Option<(u64, f64)> = None;
        while written < out.len() {
            if self.playing.as_ref().is_none_or(|(_, chunk, offset)| *offset >= chunk.samples.len()) {
                self.playing = None;
                match self.next_chunk() {
                    Some(next) => self.playing = Some(next),
                    None => break,
                }
            }
            let Some((generation, chunk, offset)) = self.playing.as_mut() else { break };
            if first_heard.is_none() {
                let frames_in = (*offset / channels) as f64;
                first_heard = Some((*generation, chunk.pts_secs + frames_in / f64::from(self.format.sample_rate)));
            }
            let count = (out.len() - written).min(chunk.samples.len() - *offset);
            for (dst, src) in out[written..written + count].iter_mut().zip(&chunk.samples[*offset..*offset + count]) {
                *dst = src * gain;
            }
            written += count;
            *offset += count;
        }
        out[written..].fill(0.0);
        match first_heard {
            Some((generation, pts_secs)) => self.clock.set(generation, pts_secs, plays_at),
            None if self.ended_generation != Some(self.generation.current()) => {
                Counters::bump(&self.counters.audio_underruns);
            }
            None => {}
        }
    }

    /// The next playable chunk of the current generation, if one is waiting.
    fn next_chunk(&mut self) -> Option<(u64, AudioChunk, usize)> {
        while let Ok(message) = self.chunks.try_recv() {
            if self.generation.is_stale(message.generation) {
                continue;
            }
            match message.item {
                Item::Start { .. } => self.ended_generation = None,
                Item::End => self.ended_generation = Some(message.generation),
                Item::Data(chunk) => return Some((message.generation, chunk, 0)),
            }
        }
        None
    }

    /// While paused, chunks of the current generation wait; outdated ones are thrown away so the
    /// decoder behind them is never blocked by a seek made during a pause.
    fn drop_stale_chunks(&mut self) {
        // A bounded channel cannot be peeked: take what is stale, keep the first current chunk.
        while self.playing.is_none() {
            let Some(next) = self.next_chunk() else { break };
            self.playing = Some(next);
        }
    }
}

/// A running audio output. Dropping it stops the output.
pub trait AudioOutput {
    /// What is playing the sound, for the stats panel.
    fn description(&self) -> String;
}

/// Why the sound card cannot play (the player then runs on the silent clock).
#[derive(Debug, thiserror::Error)]
pub enum AudioDeviceError {
    #[error("no default audio output device")]
    NoDevice,
    #[error(transparent)]
    Device(#[from] cpal::Error),
}

/// Sound through the default cpal device.
pub struct CpalOutput {
    _stream: cpal::Stream,
    device_name: String,
}

impl CpalOutput {
    /// The default device's format, if there is a usable default device.
    pub fn probe_format() -> Result<OutputFormat, AudioDeviceError> {
        with_alsa_messages_logged(|| {
            let device = cpal::default_host().default_output_device().ok_or(AudioDeviceError::NoDevice)?;
            let config = device.default_output_config()?;
            Ok(OutputFormat { sample_rate: config.sample_rate(), channels: config.channels() })
        })
    }

    pub fn start(feeder: AudioFeeder) -> Result<Self, AudioDeviceError> {
        with_alsa_messages_logged(|| Self::start_stream(feeder))
    }

    fn start_stream(mut feeder: AudioFeeder) -> Result<Self, AudioDeviceError> {
        let device = cpal::default_host().default_output_device().ok_or(AudioDeviceError::NoDevice)?;
        let device_name = device.description().map(|d| d.to_string()).unwrap_or_else(|_| "default".to_owned());
        let config = cpal::StreamConfig {
            channels: feeder.format.channels,
            sample_rate: feeder.format.sample_rate,
            buffer_size: cpal::BufferSize::Default,
        };
        let stream = device
            .build_output_stream::<f32, _, _>(
                config,
                move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
                    let timestamp = info.timestamp();
                    let latency = timestamp.playback.checked_duration_since(timestamp.callback).unwrap_or_default();
                    feeder.fill(data, Instant::now() + latency);
                },
                |error| tracing::warn!("audio output: {error}"),
                None,
            )?;
        // cpal streams start paused.
        stream.play()?;
        Ok(Self { _stream: stream, device_name })
    }
}

/// alsa-lib prints its own errors on stderr (eight lines when there is no sound card), which would
/// bury dysr's one-line messages: collect them for this thread instead and log them at debug level.
fn with_alsa_messages_logged<T>(body: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    let captured = alsa::Output::local_error_handler().ok();
    let result = body();
    #[cfg(target_os = "linux")]
    if let Some(captured) = captured {
        let text = captured.borrow().to_string();
        if !text.is_empty() {
            tracing::debug!("alsa-lib: {}", text.trim_end());
        }
    }
    result
}

impl AudioOutput for CpalOutput {
    fn description(&self) -> String {
        format!("cpal: {}", self.device_name)
    }
}

/// Consumes audio in real time without a sound card.
pub struct SilentOutput {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentOutput {
    pub fn start(mut feeder: AudioFeeder) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = crate::threads::spawn("silent-audio-out", move || {
            let rate = f64::from(feeder.format.sample_rate);
            let channels = usize::from(feeder.format.channels);
            let started = Instant::now();
            let mut frames_played: u64 = 0;
            let mut buffer = Vec::new();
            while !stop_flag.load(Ordering::Relaxed) {
                std::thread::sleep(SILENT_OUTPUT_PERIOD);
                let now = Instant::now();
                // Consume exactly what real time has played since the start: no drift.
                let frames_due = (now.duration_since(started).as_secs_f64() * rate) as u64 - frames_played;
                buffer.resize(frames_due as usize * channels, 0.0);
                let period_start = now - Duration::from_secs_f64(frames_due as f64 / rate);
                feeder.fill(&mut buffer, period_start);
                frames_played += frames_due;
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl AudioOutput for SilentOutput {
    fn description(&self) -> String {
        "silent real-time clock (no audio device)".to_owned()
    }
}

impl Drop for SilentOutput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

/// Takes audio as fast as it is decoded and plays none (`--no-sync`).
pub struct DiscardOutput {
    thread: Option<JoinHandle<()>>,
}

impl DiscardOutput {
    /// Runs until the chunk channel's sender is gone (the audio decoder ended).
    pub fn start(chunks: Receiver<Tagged<AudioChunk>>) -> std::io::Result<Self> {
        let thread = crate::threads::spawn("discard-audio-out", move || while chunks.recv().is_ok() {})?;
        Ok(Self { thread: Some(thread) })
    }
}

impl AudioOutput for DiscardOutput {
    fn description(&self) -> String {
        "discarded (--no-sync)".to_owned()
    }
}

impl Drop for DiscardOutput {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feeder_with(chunks: Vec<Tagged<AudioChunk>>) -> (AudioFeeder, Arc<Clock>) {
        let (tx, rx) = crossbeam_channel::bounded(16);
        for chunk in chunks {
            tx.send(chunk).unwrap();
        }
        let clock = Arc::new(Clock::default());
        let format = OutputFormat { sample_rate: 1000, channels: 2 };
        let feeder = AudioFeeder::new(rx, format, Generation::default(), Arc::clone(&clock), Arc::default(), Arc::default());
        (feeder, clock)
    }

    #[test]
    fn fills_across_chunks_applies_volume_and_sets_the_clock_from_the_first_sample() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, AudioChunk { pts_secs: 2.0, samples: vec![1.0; 4] }),
            Tagged::data(0, AudioChunk { pts_secs: 2.002, samples: vec![1.0; 4] }),
        ]);
        feeder.volume.set_level(0.5);
        let now = Instant::now();
        let mut out = vec![9.0; 6];
        feeder.fill(&mut out, now);
        assert_eq!(out, vec![0.5; 6]);
        assert_eq!(clock.now_secs(0, now), Some(2.0));
        let mut rest = vec![9.0; 6];
        feeder.fill(&mut rest, now);
        assert_eq!(rest, vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0]);
        // The second fill started 3 frames (3 ms) into the audio.
        assert!((clock.now_secs(0, now).unwrap() - 2.003).abs() < 1e-9);
        assert_eq!(feeder.counters.audio_underruns.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn stale_chunks_are_skipped_after_a_seek() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::data(0, AudioChunk { pts_secs: 0.0, samples: vec![1.0; 4] }),
            Tagged::start(1, 5.0),
            Tagged::data(1, AudioChunk { pts_secs: 5.0, samples: vec![2.0; 4] }),
        ]);
        let generation = feeder.generation.bump();
        clock.reset(generation);
        let mut out = vec![0.0; 4];
        feeder.fill(&mut out, Instant::now());
        assert_eq!(out, vec![2.0; 4]);
        assert_eq!(clock.now_secs(1, Instant::now()).map(|t| t >= 5.0), Some(true));
    }
}
