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
use super::{AudioChunk, Generation, Item, SharedF64, Tagged};
use crate::telemetry::Counters;

/// How often the silent output wakes to consume what real time has played.
const SILENT_OUTPUT_PERIOD: Duration = Duration::from_millis(5);
/// The longest a generation's sound waits for its first picture to be on screen (a video that
/// stalls at the start does not keep the sound back for good).
const SOUND_WAITS_FOR_PICTURE: Duration = Duration::from_secs(2);

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

/// The largest audio delay either way (mpv's Ctrl + / Ctrl - steps through it).
pub const MAX_AUDIO_DELAY_SECS: f64 = 10.0;

/// How much later than the picture the sound is heard (negative: earlier), for inputs whose sound
/// was muxed out of step. Shared between the controls and the feeder, which moves the clock by it.
#[derive(Debug, Default)]
pub struct AudioDelay(SharedF64);

impl AudioDelay {
    pub fn secs(&self) -> f64 {
        self.0.get()
    }

    /// Sets the delay, kept within [`MAX_AUDIO_DELAY_SECS`] either way; returns what was set.
    pub fn set_secs(&self, secs: f64) -> f64 {
        self.0.set(playable_audio_delay(secs))
    }
}

/// `secs` of audio delay brought within [`MAX_AUDIO_DELAY_SECS`] either way (none for a value that
/// is no number).
pub fn playable_audio_delay(secs: f64) -> f64 {
    if secs.is_finite() { secs.clamp(-MAX_AUDIO_DELAY_SECS, MAX_AUDIO_DELAY_SECS) } else { 0.0 }
}

/// Pulls chunks and turns them into output samples and clock updates.
pub struct AudioFeeder {
    pub chunks: Receiver<Tagged<AudioChunk>>,
    pub format: OutputFormat,
    pub generation: Generation,
    pub clock: Arc<Clock>,
    pub volume: Arc<Volume>,
    pub delay: Arc<AudioDelay>,
    pub counters: Arc<Counters>,
    /// The chunk being played, its generation and how many values of it are already written.
    playing: Option<(u64, AudioChunk, usize)>,
    /// The generation whose End has been reached: no underrun is counted after it.
    ended_generation: Option<u64>,
    /// The generation whose sound waits for its first picture, and since when.
    waiting_for_picture: Option<(u64, Instant)>,
}

impl AudioFeeder {
    pub fn new(
        chunks: Receiver<Tagged<AudioChunk>>,
        format: OutputFormat,
        generation: Generation,
        clock: Arc<Clock>,
        volume: Arc<Volume>,
        delay: Arc<AudioDelay>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            chunks,
            format,
            generation,
            clock,
            volume,
            delay,
            counters,
            playing: None,
            ended_generation: None,
            waiting_for_picture: None,
        }
    }

    /// Whether the current generation's sound must wait for its first picture at `now`: it has
    /// sound to play, the picture is not on screen, and it has not waited its longest.
    fn waits_for_picture(&mut self, now: Instant) -> bool {
        let generation = self.generation.current();
        if self.clock.sound_may_play(generation, now) {
            return false;
        }
        let since = match self.waiting_for_picture {
            Some((waiting, since)) if waiting == generation => since,
            _ => {
                self.waiting_for_picture = Some((generation, now));
                now
            }
        };
        now.duration_since(since) < SOUND_WAITS_FOR_PICTURE
    }

    /// Fills `out` (interleaved f32) with what is heard from instant `plays_at` on.
    pub fn fill(&mut self, out: &mut [f32], plays_at: Instant) {
        if self.playing.as_ref().is_some_and(|(generation, _, _)| self.generation.is_stale(*generation)) {
            self.playing = None;
        }
        if self.clock.is_paused() || self.waits_for_picture(plays_at) {
            self.drop_stale_chunks();
            out.fill(0.0);
            return;
        }
        let gain = self.volume.gain();
        let channels = usize::from(self.format.channels);
        let mut written = 0;
        // The generation, stream time and rate of the first sample written.
        let mut first_heard: Option<(u64, f64, f64)> = None;
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
                let pts_secs = chunk.pts_secs + frames_in * chunk.rate / f64::from(self.format.sample_rate);
                first_heard = Some((*generation, pts_secs, chunk.rate));
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
            // Delayed sound: what is heard now goes with a later picture.
            Some((generation, pts_secs, rate)) => {
                self.clock.set_at_rate(generation, pts_secs + self.delay.secs(), plays_at, rate)
            }
            None if self.ended_generation != Some(self.generation.current()) => {
                Counters::bump(&self.counters.audio_underruns);
            }
            None => self.clock.mark_sound_ended(self.generation.current()),
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

    /// While paused or waiting for the picture, chunks of the current generation wait; outdated
    /// ones are thrown away so the decoder behind them is never blocked by a seek made meanwhile.
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

    /// Why the output stopped playing (a device unplugged, a sound server gone), once it has.
    fn failure(&self) -> Option<String> {
        None
    }

    /// Stops the output and hands back its feeder, so another output goes on from the sample it
    /// stopped at.
    fn into_feeder(self: Box<Self>) -> Option<AudioFeeder> {
        None
    }
}

/// When `output` has failed, the silent clock takes over its feeder, so playback goes on from the
/// same sample without a stall (mpv falls back to its null output the same way). The output to
/// keep and, after a takeover, the warning that says so.
pub fn take_over_if_failed(output: Box<dyn AudioOutput>) -> (Box<dyn AudioOutput>, Option<String>) {
    let Some(cause) = output.failure() else { return (output, None) };
    let Some(feeder) = output.into_feeder() else {
        return (Box::new(NoOutput), Some(format!("the sound device failed ({cause}): playing on without sound")));
    };
    match SilentOutput::start(feeder) {
        Ok(silent) => {
            (Box::new(silent), Some(format!("the sound device failed ({cause}): playing on with the silent clock")))
        }
        Err(error) => (
            Box::new(NoOutput),
            Some(format!("the sound device failed ({cause}) and the silent clock could not start ({error})")),
        ),
    }
}

/// What is left when no output could go on: the presenter then runs the clock from the picture.
struct NoOutput;

impl AudioOutput for NoOutput {
    fn description(&self) -> String {
        "none (the sound device failed)".to_owned()
    }
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
/// The sound card counts as gone when it has not asked for samples for this long (cpal streams
/// call back every few milliseconds, paused or not).
const DEVICE_SILENCE_LIMIT: Duration = Duration::from_secs(1);

pub struct CpalOutput {
    stream: cpal::Stream,
    device_name: String,
    /// Shared with the stream's callback, so a failed stream's feeder can be taken back.
    feeder: Arc<parking_lot::Mutex<Option<AudioFeeder>>>,
    /// The error the stream reported, if any.
    error: Arc<parking_lot::Mutex<Option<String>>>,
    last_callback: Arc<parking_lot::Mutex<Instant>>,
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

    fn start_stream(feeder: AudioFeeder) -> Result<Self, AudioDeviceError> {
        let device = cpal::default_host().default_output_device().ok_or(AudioDeviceError::NoDevice)?;
        let device_name = device.description().map(|d| d.to_string()).unwrap_or_else(|_| "default".to_owned());
        let config = cpal::StreamConfig {
            channels: feeder.format.channels,
            sample_rate: feeder.format.sample_rate,
            buffer_size: cpal::BufferSize::Default,
        };
        let feeder = Arc::new(parking_lot::Mutex::new(Some(feeder)));
        let error = Arc::new(parking_lot::Mutex::new(None));
        let last_callback = Arc::new(parking_lot::Mutex::new(Instant::now()));
        let (callback_feeder, callback_error, callback_time) =
            (Arc::clone(&feeder), Arc::clone(&error), Arc::clone(&last_callback));
        let stream = device.build_output_stream::<f32, _, _>(
            config,
            move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
                let now = Instant::now();
                *callback_time.lock() = now;
                let timestamp = info.timestamp();
                let latency = timestamp.playback.checked_duration_since(timestamp.callback).unwrap_or_default();
                match callback_feeder.lock().as_mut() {
                    Some(feeder) => feeder.fill(data, now + latency),
                    None => data.fill(0.0),
                }
            },
            move |stream_error| {
                tracing::warn!("audio output: {stream_error}");
                callback_error.lock().get_or_insert_with(|| stream_error.to_string());
            },
            None,
        )?;
        // cpal streams start paused.
        stream.play()?;
        Ok(Self { stream, device_name, feeder, error, last_callback })
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

    fn failure(&self) -> Option<String> {
        if let Some(error) = self.error.lock().clone() {
            return Some(error);
        }
        let silent_for = self.last_callback.lock().elapsed();
        (silent_for > DEVICE_SILENCE_LIMIT)
            .then(|| format!("{} has not asked for sound for {:.1} s", self.device_name, silent_for.as_secs_f64()))
    }

    fn into_feeder(self: Box<Self>) -> Option<AudioFeeder> {
        // No callback runs once the stream is gone.
        drop(self.stream);
        self.feeder.lock().take()
    }
}

/// Consumes audio in real time without a sound card.
pub struct SilentOutput {
    stop: Arc<AtomicBool>,
    /// Gives the feeder back when it ends.
    thread: Option<JoinHandle<AudioFeeder>>,
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
            feeder
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl SilentOutput {
    /// Stops the thread and takes its feeder back.
    fn stop(&mut self) -> Option<AudioFeeder> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take()?.join().ok()
    }
}

impl AudioOutput for SilentOutput {
    fn description(&self) -> String {
        "silent real-time clock (no audio device)".to_owned()
    }

    fn into_feeder(mut self: Box<Self>) -> Option<AudioFeeder> {
        self.stop()
    }
}

impl Drop for SilentOutput {
    fn drop(&mut self) {
        self.stop();
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

    /// A feeder of `chunks` whose first picture (generation 0's) is on screen: its sound may play.
    fn feeder_with(chunks: Vec<Tagged<AudioChunk>>) -> (AudioFeeder, Arc<Clock>) {
        let (feeder, clock) = feeder_before_the_picture(chunks);
        clock.mark_picture_on_screen(0);
        (feeder, clock)
    }

    fn feeder_before_the_picture(chunks: Vec<Tagged<AudioChunk>>) -> (AudioFeeder, Arc<Clock>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        for chunk in chunks {
            tx.send(chunk).unwrap();
        }
        let clock = Arc::new(Clock::default());
        let format = OutputFormat { sample_rate: 1000, channels: 2 };
        let feeder = AudioFeeder::new(
            rx,
            format,
            Generation::default(),
            Arc::clone(&clock),
            Arc::default(),
            Arc::default(),
            Arc::default(),
        );
        (feeder, clock)
    }

    #[test]
    fn fills_across_chunks_applies_volume_and_sets_the_clock_from_the_first_sample() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, AudioChunk { pts_secs: 2.0, samples: vec![1.0; 4], rate: 1.0 }),
            Tagged::data(0, AudioChunk { pts_secs: 2.002, samples: vec![1.0; 4], rate: 1.0 }),
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

    /// The sound starts once the first picture is on screen, so the clock does not run while it
    /// is made and painted; a picture that does not come holds it back only so long.
    #[test]
    fn the_sound_waits_for_the_first_picture_but_not_for_good() {
        let (mut feeder, clock) = feeder_before_the_picture(vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, AudioChunk { pts_secs: 0.0, samples: vec![1.0; 400], rate: 1.0 }),
            Tagged::start(1, 5.0),
            Tagged::data(1, AudioChunk { pts_secs: 5.0, samples: vec![2.0; 400], rate: 1.0 }),
        ]);
        let t0 = Instant::now();
        let mut out = vec![9.0; 4];
        feeder.fill(&mut out, t0);
        assert_eq!((out.as_slice(), clock.now_secs(0, t0)), (&[0.0; 4][..], None), "silent, the clock not started");
        clock.mark_picture_on_screen(0);
        let t1 = t0 + Duration::from_millis(50);
        feeder.fill(&mut out, t1);
        assert_eq!((out.as_slice(), clock.now_secs(0, t1)), (&[1.0; 4][..], Some(0.0)), "from its first sample");

        // A seek: the new generation's sound waits again, at most SOUND_WAITS_FOR_PICTURE.
        let generation = feeder.generation.bump();
        clock.reset(generation);
        feeder.fill(&mut out, t1);
        assert_eq!(out, vec![0.0; 4]);
        let t2 = t1 + SOUND_WAITS_FOR_PICTURE - Duration::from_millis(10);
        feeder.fill(&mut out, t2);
        assert_eq!((out.as_slice(), clock.now_secs(1, t2)), (&[0.0; 4][..], None), "still waiting");
        let t3 = t1 + SOUND_WAITS_FOR_PICTURE;
        feeder.fill(&mut out, t3);
        assert_eq!((out.as_slice(), clock.now_secs(1, t3)), (&[2.0; 4][..], Some(5.0)), "no picture: it starts anyway");
        assert_eq!(feeder.counters.audio_underruns.load(Ordering::Relaxed), 0, "waiting is no underrun");
    }

    #[test]
    fn stretched_samples_move_the_clock_at_their_rate() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, AudioChunk { pts_secs: 4.0, samples: vec![1.0; 8], rate: 2.0 }),
        ]);
        let now = Instant::now();
        feeder.fill(&mut [0.0; 4], now);
        assert_eq!(clock.now_secs(0, now), Some(4.0));
        assert!((clock.now_secs(0, now + Duration::from_millis(10)).unwrap() - 4.02).abs() < 1e-9);
        // Two frames (2 ms) played at 2x cover 4 ms of the stream.
        feeder.fill(&mut [0.0; 4], now);
        assert!((clock.now_secs(0, now).unwrap() - 4.004).abs() < 1e-9);
    }

    #[test]
    fn the_sound_ends_when_its_last_sample_has_been_handed_on() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, AudioChunk { pts_secs: 0.0, samples: vec![1.0; 8], rate: 1.0 }),
            Tagged::end(0),
        ]);
        let now = Instant::now();
        feeder.fill(&mut [0.0; 4], now);
        assert!(!clock.sound_ended(0), "samples are left");
        feeder.fill(&mut [0.0; 8], now);
        assert!(!clock.sound_ended(0), "the last ones are being played");
        feeder.fill(&mut [0.0; 4], now);
        assert!(clock.sound_ended(0));
        assert!(!clock.sound_ended(1), "only for its own generation");
        assert_eq!(feeder.counters.audio_underruns.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_delay_moves_the_clock_by_it_within_its_range() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::start(0, 0.0),
            Tagged::data(0, AudioChunk { pts_secs: 4.0, samples: vec![1.0; 8], rate: 1.0 }),
        ]);
        assert_eq!(feeder.delay.set_secs(0.3), 0.3);
        let now = Instant::now();
        feeder.fill(&mut [0.0; 4], now);
        // The sample of 4 s is heard with the picture of 4.3 s.
        assert!((clock.now_secs(0, now).unwrap() - 4.3).abs() < 1e-9);
        assert_eq!(feeder.delay.set_secs(-0.1), -0.1);
        feeder.fill(&mut [0.0; 4], now);
        assert!((clock.now_secs(0, now).unwrap() - 3.902).abs() < 1e-9);
        assert_eq!(feeder.delay.set_secs(-60.0), -MAX_AUDIO_DELAY_SECS);
        assert_eq!(feeder.delay.set_secs(f64::NAN), 0.0);
    }

    /// A sound card that fails at `fails_at` (the silent output underneath plays its part until then).
    struct FailingDevice {
        card: SilentOutput,
        fails_at: Instant,
    }

    impl AudioOutput for FailingDevice {
        fn description(&self) -> String {
            "test card".to_owned()
        }

        fn failure(&self) -> Option<String> {
            (Instant::now() >= self.fails_at).then(|| "unplugged".to_owned())
        }

        fn into_feeder(self: Box<Self>) -> Option<AudioFeeder> {
            Box::new(self.card).into_feeder()
        }
    }

    #[test]
    fn the_silent_clock_takes_over_a_failed_device_without_a_stall() {
        // Three seconds of sound in 10 ms chunks (1000 frames/s, stereo).
        let chunks = std::iter::once(Tagged::start(0, 0.0))
            .chain((0..300).map(|i| {
                Tagged::data(0, AudioChunk { pts_secs: f64::from(i) * 0.01, samples: vec![0.0; 20], rate: 1.0 })
            }))
            .collect();
        let (feeder, clock) = feeder_with(chunks);
        let started = Instant::now();
        let card = FailingDevice {
            card: SilentOutput::start(feeder).unwrap(),
            fails_at: started + Duration::from_millis(300),
        };
        let mut output: Box<dyn AudioOutput> = Box::new(card);
        let (mut warnings, mut readings) = (Vec::new(), Vec::new());
        // The player looks once per frame; here every 10 ms for a second.
        while started.elapsed() < Duration::from_secs(1) {
            let (next, warning) = take_over_if_failed(output);
            output = next;
            warnings.extend(warning);
            readings.extend(clock.now_secs(0, Instant::now()));
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("unplugged") && warnings[0].contains("silent clock"), "{}", warnings[0]);
        assert!(output.description().contains("silent"), "{}", output.description());
        // The clock went on at real time through the takeover: never back by more than the takeover
        // took, and at the end where a second of sound puts it.
        let worst_step_back = readings.windows(2).map(|pair| pair[0] - pair[1]).fold(0.0, f64::max);
        assert!(worst_step_back < 0.02, "the clock stepped back {worst_step_back:.3} s");
        let end = clock.now_secs(0, Instant::now()).unwrap();
        assert!((end - started.elapsed().as_secs_f64()).abs() < 0.05, "clock {end:.3} s after {:?}", started.elapsed());
    }

    #[test]
    fn stale_chunks_are_skipped_after_a_seek() {
        let (mut feeder, clock) = feeder_with(vec![
            Tagged::data(0, AudioChunk { pts_secs: 0.0, samples: vec![1.0; 4], rate: 1.0 }),
            Tagged::start(1, 5.0),
            Tagged::data(1, AudioChunk { pts_secs: 5.0, samples: vec![2.0; 4], rate: 1.0 }),
        ]);
        let generation = feeder.generation.bump();
        clock.reset(generation);
        clock.mark_picture_on_screen(generation);
        let mut out = vec![0.0; 4];
        feeder.fill(&mut out, Instant::now());
        assert_eq!(out, vec![2.0; 4]);
        assert_eq!(clock.now_secs(1, Instant::now()).map(|t| t >= 5.0), Some(true));
    }
}
