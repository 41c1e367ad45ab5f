//! The player: opens an input, starts every pipeline thread in one place, carries the user's
//! commands (pause, seek, volume) to them, and joins them all on close (ffplay's `stream_open` and
//! `stream_close`). Frames reach the screen through the [`presenter::Presenter`], which shows the
//! frame due at the master clock. Used alike by the window, the headless mode and the tests.
//!
//! ```text
//!  demux ──Packet [64]──▶ video decode ──VideoFrame [≤4]──▶ SR worker ──Picture [≤3]──▶ presenter
//!    └────Packet [128]──▶ audio decode ──AudioChunk [16]──▶ audio output ──sets──▶ clock ◀── presenter
//! ```

pub mod headless;
pub mod presenter;
pub mod sr_worker;
pub mod summary;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::engine::picture::ToPlanar;
use crate::engine::swscale::SwsUpscaler;
use crate::engine::view::ViewTarget;
use crate::engine::{Upscaler, UpscalerFactory};
use crate::media::audio_decode::{AudioDecoder, NextAudioDecoder, OutputFormat};
use crate::media::audio_out::{
    AudioDelay, AudioFeeder, AudioOutput, CpalOutput, DiscardOutput, SilentOutput, Volume, take_over_if_failed,
};
use crate::media::clock::{Clock, Speed};
use crate::media::decode_loop::{self, StageOutput};
use crate::media::demux::{DemuxCommand, DemuxThread};
use crate::media::source::{AudioTrack, is_url};
use crate::media::subtitles::Subtitles;
use crate::media::tempo::Tempo;
use crate::media::video_decode::VideoDecoder;
use crate::media::{Generation, MediaError, MediaSource, PipelineEvent, StreamInfo};
use crate::telemetry::{Counters, Telemetry};
use presenter::{ClockMode, Presenter, StreamState};
use sr_worker::{SrWorker, Wake};

/// Channel bounds: enough to ride out decode jitter, small enough that a seek flushes quickly.
const VIDEO_PACKET_QUEUE: usize = 64;
const AUDIO_PACKET_QUEUE: usize = 128;
/// Subtitle packets are few and small; when this many wait, more are dropped rather than stall the video.
const SUBTITLE_PACKET_QUEUE: usize = 256;
const DECODED_FRAME_QUEUE: usize = 4;
const PICTURE_QUEUE: usize = 3;
/// The frame queues are bounded in bytes too, so that 8K frames do not pile up: at most this
/// much in each (and always room for one).
const DECODED_QUEUE_BYTES: usize = 192 << 20;
const PICTURE_QUEUE_BYTES: usize = 256 << 20;
const AUDIO_CHUNK_QUEUE: usize = 16;
const EVENT_QUEUE: usize = 64;
const COMMAND_QUEUE: usize = 8;

/// Where the sound goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AudioMode {
    /// The default sound card, or the silent real-time clock when none opens.
    #[default]
    Auto,
    /// No sound: the silent real-time clock.
    Silent,
}

#[derive(Clone)]
pub struct PlayerOptions {
    pub audio: AudioMode,
    /// Initial volume, 0 to 1.
    pub volume_level: f32,
    /// Present every frame as soon as it is ready, ignoring the clock (throughput runs).
    pub no_sync: bool,
    /// Start again from the beginning at the end of the stream.
    pub looping: bool,
    /// Called whenever a new frame is ready (the GUI asks for a repaint).
    pub wake: Option<Wake>,
    /// Makes the SR worker's upscaler for each opened input (default: bicubic, swscale).
    pub upscaler: Option<UpscalerFactory>,
    /// Where the picture is shown, which decides whether the network runs.
    pub view: Arc<ViewTarget>,
    /// How long a network connect or read may block before the input counts as failed.
    pub network_timeout: std::time::Duration,
    /// The audio track to play: the nth audio stream from 0 (default: FFmpeg's best).
    pub audio_track: Option<usize>,
    /// Read the input's subtitles ([`Player::subtitles`]): a local file's in full on a thread of
    /// their own, a URL's from the demuxer as they arrive.
    pub subtitles: bool,
    /// The playback speed to start at (1: normal).
    pub speed: f64,
    /// How much later than the picture the sound plays, in seconds (negative: earlier).
    pub audio_delay_secs: f64,
    /// Where each input starts, in seconds (negative: before its end; from 0 when its length is
    /// unknown). `None`: at the start.
    pub start_secs: Option<f64>,
}

impl Default for PlayerOptions {
    fn default() -> Self {
        Self {
            audio: AudioMode::default(),
            volume_level: 1.0,
            no_sync: false,
            looping: false,
            wake: None,
            upscaler: None,
            view: Arc::default(),
            network_timeout: crate::media::source::DEFAULT_NETWORK_TIMEOUT,
            audio_track: None,
            subtitles: false,
            speed: 1.0,
            audio_delay_secs: 0.0,
            start_secs: None,
        }
    }
}

/// How many frames of `frame_bytes` a queue of at most `max_frames` and `max_bytes` holds.
fn queue_bound(max_frames: usize, max_bytes: usize, frame_bytes: usize) -> usize {
    (max_bytes / frame_bytes.max(1)).clamp(1, max_frames)
}

pub struct Player {
    info: StreamInfo,
    generation: Generation,
    clock: Arc<Clock>,
    speed: Arc<Speed>,
    volume: Arc<Volume>,
    audio_delay: Arc<AudioDelay>,
    counters: Arc<Counters>,
    presenter: Presenter,
    demux_commands: Sender<DemuxCommand>,
    events: Receiver<PipelineEvent>,
    /// For the player's own warnings (an audio device that failed), beside the threads'.
    warnings: Sender<PipelineEvent>,
    audio_output: Option<Box<dyn AudioOutput>>,
    /// Where another audio track's decoder waits for the audio decode thread (None: no sound).
    next_audio_decoder: Option<NextAudioDecoder>,
    audio_tracks: Vec<AudioTrack>,
    upscaler: Arc<parking_lot::Mutex<String>>,
    view: Arc<ViewTarget>,
    looping: bool,
    abort: Arc<std::sync::atomic::AtomicBool>,
    subtitles: Option<Arc<Subtitles>>,
    threads: Vec<JoinHandle<()>>,
}

impl Player {
    /// Starts one of the player's threads; [`Drop`] joins it.
    fn spawn(&mut self, name: &str, body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        self.threads.push(crate::threads::spawn(name, body)?);
        Ok(())
    }

    /// Opens `input` and starts playing it.
    pub fn open(input: &str, options: PlayerOptions) -> Result<Self, MediaError> {
        let source = MediaSource::open_with(input, options.network_timeout, options.audio_track)?;
        let mut upscaler =
            options.upscaler.as_ref().map_or_else(|| Box::new(SwsUpscaler::new()) as Box<dyn Upscaler>, |make| make());
        // Before the clock starts, so calibration never delays a frame; not at all when the
        // picture is not shown enlarged (the network does not run then).
        let video = &source.info.video;
        tracing::info!(
            "opened {}: {} {}x{} at {:.3} frames/s, {}",
            source.info.input,
            video.codec,
            video.width,
            video.height,
            video.frames_per_sec,
            source.info.audio.as_ref().map_or_else(
                || "no audio".to_owned(),
                |audio| format!("{} {} Hz {} channels", audio.codec, audio.sample_rate, audio.channels)
            )
        );
        if options.view.decide(video.width, video.height, video.geometry) {
            upscaler.prepare(video.width, video.height, 1.0 / video.frames_per_sec.max(1.0));
        }
        Self::start(source, options, upscaler)
    }

    fn start(source: MediaSource, options: PlayerOptions, upscaler: Box<dyn Upscaler>) -> Result<Self, MediaError> {
        let MediaSource { info, input, video_decoder, audio_decoder, audio_tracks, abort } = source;
        let generation = Generation::default();
        let counters = Arc::new(Counters::default());
        let clock = Arc::new(Clock::default());
        let volume = Arc::new(Volume::default());
        volume.set_level(options.volume_level);
        let audio_delay = Arc::new(AudioDelay::default());
        audio_delay.set_secs(options.audio_delay_secs);
        let (events_tx, events) = bounded(EVENT_QUEUE);
        let (demux_commands, commands_rx) = bounded(COMMAND_QUEUE);
        let (video_packets_tx, video_packets_rx) = bounded(VIDEO_PACKET_QUEUE);
        // Upper bounds: 4:4:4 samples of up to 16 bits, and the network's 16-bit luma at x2.
        let frame_bytes = 6 * info.video.width as usize * info.video.height as usize;
        let upscaled_bytes = 8 * info.video.width as usize * info.video.height as usize;
        let (decoded_tx, decoded_rx) = bounded(queue_bound(DECODED_FRAME_QUEUE, DECODED_QUEUE_BYTES, frame_bytes));
        let (upscaled_tx, upscaled_rx) =
            bounded(queue_bound(PICTURE_QUEUE, PICTURE_QUEUE_BYTES, frame_bytes + upscaled_bytes));

        let clock_mode = match (options.no_sync, &info.audio) {
            (true, _) => ClockMode::Free,
            (false, Some(_)) => ClockMode::Audio,
            (false, None) => ClockMode::Wall,
        };
        let speed = Arc::new(Speed::default());
        let presenter =
            Presenter::new(upscaled_rx, clock_mode, generation.clone(), Arc::clone(&clock), Arc::clone(&counters));
        let upscaler_name = Arc::new(parking_lot::Mutex::new(upscaler.name()));
        let mut player = Player {
            info: info.clone(),
            generation: generation.clone(),
            clock: Arc::clone(&clock),
            speed: Arc::clone(&speed),
            volume: Arc::clone(&volume),
            audio_delay: Arc::clone(&audio_delay),
            counters: Arc::clone(&counters),
            presenter,
            demux_commands,
            events,
            warnings: events_tx.clone(),
            audio_output: None,
            next_audio_decoder: None,
            audio_tracks,
            upscaler: Arc::clone(&upscaler_name),
            view: Arc::clone(&options.view),
            looping: options.looping,
            abort,
            subtitles: None,
            threads: Vec::new(),
        };
        let thread_error = |e: std::io::Error| MediaError::Thread { input: info.input.clone(), cause: e.to_string() };

        let mut audio_packets_tx = None;
        if let (Some(decoder), Some(audio_info)) = (audio_decoder, &info.audio) {
            let (packets_tx, packets_rx) = bounded(AUDIO_PACKET_QUEUE);
            let (chunks_tx, chunks_rx) = bounded(AUDIO_CHUNK_QUEUE);
            audio_packets_tx = Some(packets_tx);
            let source_format =
                OutputFormat { sample_rate: audio_info.sample_rate, channels: audio_info.channels.clamp(1, 2) };
            let device_format = match (options.no_sync, options.audio) {
                (false, AudioMode::Auto) => CpalOutput::probe_format()
                    .map_err(|cause| tracing::info!("no sound card ({cause}): using the silent clock"))
                    .ok(),
                _ => None,
            };
            let format = device_format.unwrap_or(source_format);
            let feeder = || {
                let (volume, delay) = (Arc::clone(&volume), Arc::clone(&audio_delay));
                AudioFeeder::new(
                    chunks_rx.clone(),
                    format,
                    generation.clone(),
                    Arc::clone(&clock),
                    volume,
                    delay,
                    Arc::clone(&counters),
                )
            };
            let output: Box<dyn AudioOutput> = if options.no_sync {
                Box::new(DiscardOutput::start(chunks_rx.clone()).map_err(thread_error)?)
            } else {
                match device_format.map(|_| CpalOutput::start(feeder())) {
                    Some(Ok(output)) => Box::new(output),
                    Some(Err(cause)) => {
                        let warning = format!("the sound card did not start ({cause}): playing with the silent clock");
                        tracing::warn!("{warning}");
                        events_tx.try_send(PipelineEvent::Warning(warning)).ok();
                        Box::new(SilentOutput::start(feeder()).map_err(thread_error)?)
                    }
                    None => Box::new(SilentOutput::start(feeder()).map_err(thread_error)?),
                }
            };
            player.audio_output = Some(output);
            let next_decoder = NextAudioDecoder::default();
            player.next_audio_decoder = Some(next_decoder.clone());
            let audio = AudioDecoder {
                decoder,
                time_base: audio_info.time_base,
                start_secs: info.start_secs,
                output: format,
                chunks: StageOutput { items: chunks_tx, counters: Arc::clone(&counters), events: events_tx.clone() },
                state: Default::default(),
                next_decoder,
                speed: Arc::clone(&speed),
                tempo: Tempo::new(format),
                ready: Vec::new(),
            };
            let audio_generation = generation.clone();
            player
                .spawn("audio-decode", move || decode_loop::run(audio, packets_rx, audio_generation))
                .map_err(thread_error)?;
        }

        let video = VideoDecoder {
            decoder: video_decoder,
            time_base: info.video.time_base,
            start_secs: info.start_secs,
            nominal_frame_secs: 1.0 / info.video.frames_per_sec,
            // A day when the input does not say how long it is (a stream of music with a cover).
            still_until_secs: info.video.still.then(|| info.duration_secs.unwrap_or(86_400.0)),
            frames: StageOutput { items: decoded_tx, counters: Arc::clone(&counters), events: events_tx.clone() },
            position: Default::default(),
            deinterlacer: crate::media::deinterlace::Deinterlacer::new(info.video.time_base),
            ready: Vec::new(),
        };
        let video_generation = generation.clone();
        player
            .spawn("video-decode", move || decode_loop::run(video, video_packets_rx, video_generation))
            .map_err(thread_error)?;

        let worker = SrWorker {
            upscaler,
            upscaler_name,
            view: Arc::clone(&options.view),
            geometry: info.video.geometry,
            to_planar: ToPlanar::default(),
            generation: generation.clone(),
            frames_in: decoded_rx,
            frames_out: upscaled_tx,
            events: events_tx.clone(),
            counters: Arc::clone(&counters),
            wake: options.wake,
            clock: Arc::clone(&clock),
            speed: Arc::clone(&speed),
        };
        player.spawn("sr-worker", move || worker.run()).map_err(thread_error)?;

        let mut subtitle_packets = None;
        if options.subtitles && is_url(&info.input) {
            let (packets_tx, packets_rx) = bounded(SUBTITLE_PACKET_QUEUE);
            if let Some(live) = Subtitles::live(&input, packets_rx) {
                player.subtitles = Some(live.subtitles);
                player.spawn("subtitles", live.decode).map_err(thread_error)?;
                subtitle_packets = Some((live.streams, packets_tx));
            }
        } else if options.subtitles {
            player.subtitles = Some(Subtitles::load(&info.input));
        }
        let demux = DemuxThread {
            input,
            video_index: info.video.index,
            audio_index: info.audio.as_ref().map(|audio| audio.index),
            commands: commands_rx,
            video_packets: video_packets_tx,
            audio_packets: audio_packets_tx,
            subtitle_packets,
            events: events_tx,
            counters: Arc::clone(&counters),
        };
        player.spawn("demux", move || demux.run()).map_err(thread_error)?;
        player.set_speed(options.speed);
        if let Some(start) = options.start_secs {
            player.seek(info.time_at(start));
        }
        Ok(player)
    }

    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Plays audio track `track` (the nth audio stream from 0) instead, from where playback is,
    /// the input kept open: the audio decode thread takes a decoder for it (resampling to the
    /// same output) at the start of the next generation, the demuxer routes its packets from
    /// then on, and a seek to the position starts that generation.
    ///
    /// # Errors
    /// The track cannot be decoded, or the input played without sound from the start (no audio
    /// thread to switch): playback goes on as it was.
    pub fn set_audio_track(&mut self, track: usize) -> Result<(), MediaError> {
        let input = &self.info.input;
        let setup_error = |cause: String| MediaError::DecoderSetup { input: input.clone(), kind: "audio", cause };
        let chosen =
            self.audio_tracks.get(track).ok_or_else(|| setup_error(format!("no audio track {}", track + 1)))?;
        let next_decoder = self
            .next_audio_decoder
            .as_ref()
            .ok_or_else(|| setup_error("it plays without sound: open it again to choose a track".to_owned()))?;
        let (info, decoder) = chosen.open(input)?;
        next_decoder.offer(decoder, info.time_base);
        // Whatever is in flight is outdated before the demuxer routes the new track's packets,
        // so none of them reaches the old decoder.
        self.generation.bump();
        self.demux_commands.send(DemuxCommand::SwitchAudio { index: info.index }).ok();
        self.info.audio = Some(info);
        self.seek(self.position_secs());
        Ok(())
    }

    /// The input's subtitles, when [`PlayerOptions::subtitles`] asked for them.
    pub fn subtitles(&self) -> Option<&Arc<Subtitles>> {
        self.subtitles.as_ref()
    }

    /// Presents the frame due now, if any; returns how long until the next one is due.
    /// Call it from the display loop. At the end of the stream it restarts when looping.
    pub fn update(&mut self, now: Instant) -> Option<Duration> {
        self.watch_audio_output();
        let wait = self.presenter.update(now);
        if self.looping && self.presenter.state() == StreamState::Eof {
            self.seek(0.0);
        }
        wait
    }

    /// A sound device that failed mid-play hands its place to the silent clock, with a warning.
    fn watch_audio_output(&mut self) {
        let Some(output) = self.audio_output.take() else { return };
        let (output, warning) = take_over_if_failed(output);
        self.audio_output = Some(output);
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
            self.warnings.try_send(PipelineEvent::Warning(warning)).ok();
        }
    }

    /// Waiting for the input (a slow network, a stalled decoder): see [`Presenter::is_buffering`].
    pub fn is_buffering(&self, now: Instant) -> bool {
        self.presenter.is_buffering(now)
    }

    /// Blocks until a new frame may be ready or `timeout` passes (headless loops).
    pub fn wait(&self, timeout: Duration) {
        self.presenter.wait(timeout);
    }

    pub fn presenter(&self) -> &Presenter {
        &self.presenter
    }

    pub fn state(&self) -> StreamState {
        self.presenter.state()
    }

    /// Playback position in seconds (the clock, or the frame on screen while the clock is unset),
    /// never past the end of the stream (the clock runs on after the last frame).
    pub fn position_secs(&self) -> f64 {
        let position = self
            .clock
            .now_secs(self.generation.current(), Instant::now())
            .or(self.presenter.seek_target_secs())
            .or(self.presenter.current().map(|frame| frame.pts_secs))
            .unwrap_or(0.0);
        position.min(self.info.duration_secs.unwrap_or(f64::MAX))
    }

    pub fn duration_secs(&self) -> Option<f64> {
        self.info.duration_secs
    }

    /// Seeks to `target_secs` (clamped to the stream): every stage drops what it holds and the
    /// first frame shown is the one at the target.
    pub fn seek(&mut self, target_secs: f64) {
        let end = self.info.duration_secs.unwrap_or(f64::MAX);
        let target_secs = target_secs.clamp(0.0, end.max(0.0));
        let generation = self.generation.bump();
        self.clock.reset(generation);
        self.presenter.start_generation(generation, target_secs);
        self.demux_commands.send(DemuxCommand::Seek { generation, target_secs }).ok();
    }

    /// Pauses and shows the next frame (or the previous one): a seek to one frame interval from
    /// the frame on screen, or from the target of a step still under way.
    pub fn step_frame(&mut self, forward: bool) {
        self.set_paused(true);
        let Some(from) = self.presenter.seek_target_secs().or(self.presenter.current().map(|picture| picture.pts_secs))
        else {
            return;
        };
        let interval = self
            .presenter
            .current()
            .map(|picture| picture.duration_secs)
            .filter(|secs| *secs > 0.0)
            .unwrap_or(1.0 / self.info.video.frames_per_sec.max(1.0));
        self.seek(if forward { from + interval } else { from - interval });
    }

    /// Seeks relative to the current position.
    pub fn seek_by(&mut self, delta_secs: f64) {
        self.seek(self.position_secs() + delta_secs);
    }

    pub fn is_paused(&self) -> bool {
        self.clock.is_paused()
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.clock.set_paused(paused, Instant::now());
    }

    pub fn toggle_pause(&mut self) {
        self.set_paused(!self.is_paused());
    }

    /// The playback speed (1: normal).
    pub fn speed(&self) -> f64 {
        self.speed.get()
    }

    /// Plays at `speed` (kept within [`crate::media::clock::MIN_SPEED`] and
    /// [`crate::media::clock::MAX_SPEED`]) from now on; returns the speed set. With sound the
    /// clock follows the stretched samples as they are heard (the audio output sets its rate with
    /// each buffer, so the rate set here holds only where no sound drives the clock: no audio
    /// track, or one that never started).
    pub fn set_speed(&mut self, speed: f64) -> f64 {
        let speed = self.speed.set(speed);
        self.clock.set_rate(speed, Instant::now());
        speed
    }

    /// How much later than the picture the sound plays, in seconds (negative: earlier).
    pub fn audio_delay_secs(&self) -> f64 {
        self.audio_delay.secs()
    }

    /// Plays the sound `secs` later than the picture from now on (the picture jumps ahead or waits
    /// to meet it); returns the delay set, kept within
    /// [`crate::media::audio_out::MAX_AUDIO_DELAY_SECS`] either way.
    pub fn set_audio_delay(&mut self, secs: f64) -> f64 {
        self.audio_delay.set_secs(secs)
    }

    pub fn volume(&self) -> &Volume {
        &self.volume
    }

    pub fn set_looping(&mut self, looping: bool) {
        self.looping = looping;
    }

    pub fn is_looping(&self) -> bool {
        self.looping
    }

    /// Events the pipeline threads reported since the last call.
    pub fn take_events(&self) -> Vec<PipelineEvent> {
        self.events.try_iter().collect()
    }

    pub fn telemetry(&self) -> Telemetry {
        self.counters.snapshot()
    }

    pub fn audio_output_description(&self) -> String {
        self.audio_output.as_ref().map_or_else(|| "none (no audio track)".to_owned(), |output| output.description())
    }

    /// What upscales now (the mode can change while playing).
    pub fn upscaler_name(&self) -> String {
        self.upscaler.lock().clone()
    }

    /// Where the picture is shown, and the last SR decision.
    pub fn view(&self) -> &ViewTarget {
        &self.view
    }
}

impl Drop for Player {
    /// Stops every thread and waits for them: outdated generation everywhere, FFmpeg I/O
    /// interrupted, the demux thread told to quit, and the consuming ends of the pipeline dropped
    /// so any thread blocked on a full channel wakes up to a disconnected one.
    fn drop(&mut self) {
        self.abort.store(true, Ordering::Relaxed);
        self.generation.bump();
        self.demux_commands.try_send(DemuxCommand::Quit).ok();
        self.presenter.disconnect();
        self.audio_output = None;
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a pipeline thread panicked");
            }
        }
    }
}
