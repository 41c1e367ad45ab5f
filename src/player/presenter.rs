//! Shows the right frame at the right time (ffplay's `video_refresh`): the newest picture whose
//! pts is due at the master clock. A due frame overtaken by a later due frame is dropped and counted
//! as late. All sync thresholds are named here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::engine::picture::Picture;
use crate::media::clock::Clock;
use crate::media::{Generation, Item, Tagged};
use crate::telemetry::Counters;

/// A frame this close before its pts is shown now rather than on the next pass.
const EARLY_PRESENT_TOLERANCE_SECS: f64 = 0.002;
/// With an audio track whose clock has not started this long after the first frame (a broken or
/// silent track), the picture starts on its own clock.
const AUDIO_CLOCK_START_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a pass waits when it has nothing to schedule against.
const IDLE_POLL: Duration = Duration::from_millis(5);
/// How often a pass looks for the end of the sound once the last frame has had its time.
const SOUND_END_POLL: Duration = Duration::from_millis(50);
/// How far past its end the frame on screen may stay before the player counts as buffering (a
/// frame or two late is a dropped frame's business, not the input's).
const BUFFERING_GRACE_SECS: f64 = 0.1;

/// What drives presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// The audio output sets the clock (the stream has sound).
    Audio,
    /// No audio track: the clock starts at the first frame and runs in real time.
    Wall,
    /// No clock: each frame is shown as soon as it is ready (`--no-sync`).
    Free,
}

/// When a pending frame is due.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Timing {
    /// Due: show it, unless a later frame is due too.
    Now,
    /// Show it now, and nothing else in this pass (no clock, or a generation's first frame).
    Alone,
    /// Due after this long.
    In(Duration),
    /// Not schedulable until the clock starts.
    Unknown,
}

/// Where playback of the current generation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Waiting for the first frame (after open or a seek).
    Syncing,
    Playing,
    /// The input ended and the last frame has had its time on screen.
    Eof,
}

pub struct Presenter {
    frames: Receiver<Tagged<Picture>>,
    mode: ClockMode,
    generation: Generation,
    clock: Arc<Clock>,
    counters: Arc<Counters>,
    /// The generation being presented.
    showing_generation: u64,
    /// Where the current generation starts (the seek target), until its first frame is shown.
    seek_target_secs: Option<f64>,
    /// The next frame, received but not yet due.
    next: Option<Picture>,
    /// The frame on screen (shared with the renderer that uploads it) and a counter that changes
    /// whenever it does.
    current: Option<Arc<Picture>>,
    current_serial: u64,
    /// When the current generation's first frame was shown (for the audio-start timeout).
    first_shown_at: Option<Instant>,
    input_ended: bool,
    state: StreamState,
}

impl Presenter {
    pub fn new(
        frames: Receiver<Tagged<Picture>>,
        mode: ClockMode,
        generation: Generation,
        clock: Arc<Clock>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            frames,
            mode,
            showing_generation: generation.current(),
            generation,
            clock,
            counters,
            seek_target_secs: None,
            next: None,
            current: None,
            current_serial: 0,
            first_shown_at: None,
            input_ended: false,
            state: StreamState::Syncing,
        }
    }

    pub fn state(&self) -> StreamState {
        self.state
    }

    /// The frame on screen.
    pub fn current(&self) -> Option<&Arc<Picture>> {
        self.current.as_ref()
    }

    /// Changes whenever [`Self::current`] does (texture uploads key on it).
    pub fn current_serial(&self) -> u64 {
        self.current_serial
    }

    pub fn seek_target_secs(&self) -> Option<f64> {
        self.seek_target_secs
    }

    /// A seek started `generation` at `target_secs`; the frame on screen stays until its first frame.
    pub fn start_generation(&mut self, generation: u64, target_secs: f64) {
        self.showing_generation = generation;
        self.seek_target_secs = Some(target_secs);
        self.next = None;
        self.first_shown_at = None;
        self.input_ended = false;
        self.state = StreamState::Syncing;
    }

    /// Drops the receiving end, so the SR worker stops (close).
    pub fn disconnect(&mut self) {
        self.frames = crossbeam_channel::never();
        self.next = None;
    }

    /// Waiting on the input: nothing received is pending, the input has not ended, and either no
    /// frame of this generation has been shown yet or the one on screen has overstayed its time
    /// (a slow network, a stalled decoder). Paused playback is not buffering.
    pub fn is_buffering(&self, now: Instant) -> bool {
        if self.state == StreamState::Eof
            || self.input_ended
            || self.next.is_some()
            || !self.frames.is_empty()
            || self.clock.is_paused()
        {
            return false;
        }
        match (&self.current, self.clock.now_secs(self.showing_generation, now)) {
            _ if self.state == StreamState::Syncing => true,
            (Some(frame), Some(clock_secs)) => clock_secs > frame.pts_secs + frame.duration_secs + BUFFERING_GRACE_SECS,
            _ => false,
        }
    }

    /// Blocks until a frame may be ready or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        if self.next.is_some() || self.state == StreamState::Eof {
            std::thread::sleep(timeout);
            return;
        }
        // Nothing pending: sleep until the worker delivers something (it stays in the channel).
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && self.frames.is_empty() {
            std::thread::sleep(IDLE_POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// Presents the frame due at `now`, if any. Returns how long until the next frame is due
    /// (None when nothing is pending).
    pub fn update(&mut self, now: Instant) -> Option<Duration> {
        self.announce_first_frame(now);
        let mut due: Option<Picture> = None;
        let wait = loop {
            if self.next.is_none() {
                self.next = self.receive();
            }
            let Some(next) = &self.next else { break None };
            let timing = self.timing(next.pts_secs, now);
            match timing {
                Timing::In(wait) => break Some(wait),
                Timing::Unknown => break Some(IDLE_POLL),
                Timing::Now | Timing::Alone => {}
            }
            if let Some(dropped) = due.replace(self.next.take().expect("next is Some")) {
                tracing::debug!(pts_secs = dropped.pts_secs, "frame dropped: a later one is due");
                Counters::bump(&self.counters.frames_dropped_late);
            }
            if timing == Timing::Alone {
                break Some(Duration::ZERO);
            }
        };
        if let Some(frame) = due {
            self.show(frame, now);
        }
        self.update_end_state(now);
        // The input ended but the last frame is still on screen: come back when its time is up,
        // so the end (and a loop, or a timed run's exit) is noticed without any other event.
        match wait {
            None if self.input_ended && self.state != StreamState::Eof => Some(self.last_frame_remaining(now)),
            wait => wait,
        }
    }

    /// Tells the clock the generation's first frame is on screen, on the first pass after the one
    /// that showed it (the window paints a frame in the pass that takes it, and a first paint can
    /// be slow: a new texture, a fullscreen resize), or that the video ended without one.
    fn announce_first_frame(&self, now: Instant) {
        if self.first_shown_at.is_some_and(|shown_at| shown_at < now) || self.input_ended {
            self.clock.mark_picture_on_screen(self.showing_generation);
        }
    }

    /// How long the frame on screen has left at the clock (a short poll when that is unknown, a
    /// longer one while only the sound plays on).
    fn last_frame_remaining(&self, now: Instant) -> Duration {
        if self.last_frame_done(now) && !self.sound_done() {
            return SOUND_END_POLL;
        }
        let end_secs = self.current.as_ref().map(|frame| frame.pts_secs + frame.duration_secs);
        match (end_secs, self.clock.now_secs(self.showing_generation, now)) {
            (Some(end_secs), Some(clock_secs)) if end_secs > clock_secs => self.real_time(end_secs - clock_secs),
            _ => IDLE_POLL,
        }
    }

    /// Takes the next item of the current generation from the channel; handles control items.
    fn receive(&mut self) -> Option<Picture> {
        while let Ok(message) = self.frames.try_recv() {
            if self.generation.is_stale(message.generation) || message.generation != self.showing_generation {
                continue;
            }
            match message.item {
                Item::Data(frame) => return Some(frame),
                Item::Start { .. } => self.input_ended = false,
                Item::End => self.input_ended = true,
            }
        }
        None
    }

    /// When the frame at `pts_secs` is due.
    fn timing(&mut self, pts_secs: f64, now: Instant) -> Timing {
        if self.mode == ClockMode::Free {
            return Timing::Alone;
        }
        let generation = self.showing_generation;
        let clock_secs = match self.clock.now_secs(generation, now) {
            Some(secs) => secs,
            // The first frame of a generation is shown at once: a preview while the clock starts,
            // or the target frame of a seek made while paused.
            None if self.first_shown_at.is_none() => return Timing::Alone,
            None if self.clock.is_paused() => return Timing::Unknown,
            None => {
                let audio_is_late =
                    self.first_shown_at.is_some_and(|t| now.duration_since(t) > AUDIO_CLOCK_START_TIMEOUT);
                if self.mode == ClockMode::Audio && !audio_is_late {
                    return Timing::Unknown;
                }
                let anchor_secs = self.current.as_ref().map_or(pts_secs, |frame| frame.pts_secs);
                self.clock.set(generation, anchor_secs, now);
                anchor_secs
            }
        };
        let ahead_secs = pts_secs - clock_secs - EARLY_PRESENT_TOLERANCE_SECS;
        if ahead_secs > 0.0 { Timing::In(self.real_time(ahead_secs)) } else { Timing::Now }
    }

    /// How long `stream_secs` of the stream take to play at the clock's rate.
    fn real_time(&self, stream_secs: f64) -> Duration {
        Duration::from_secs_f64(stream_secs / self.clock.rate())
    }

    fn show(&mut self, frame: Picture, now: Instant) {
        if let Some(clock_secs) = self.clock.now_secs(self.showing_generation, now) {
            self.counters.record_av_offset(clock_secs - frame.pts_secs);
        }
        if self.first_shown_at.is_none() {
            self.first_shown_at = Some(now);
            self.seek_target_secs = None;
            if self.mode == ClockMode::Wall {
                self.clock.set(self.showing_generation, frame.pts_secs, now);
            }
        }
        Counters::bump(&self.counters.frames_presented);
        self.current = Some(Arc::new(frame));
        self.current_serial += 1;
        self.state = StreamState::Playing;
    }

    /// Eof once the input ended, nothing is pending, the last frame has had its duration and,
    /// with sound, the sound has been played to its end (a film whose sound runs past its last
    /// frame, a song with a cover picture: the last frame stays meanwhile, as in mpv).
    fn update_end_state(&mut self, now: Instant) {
        if !self.input_ended || self.next.is_some() || self.state == StreamState::Eof {
            return;
        }
        if self.last_frame_done(now) && self.sound_done() && self.frames.is_empty() {
            self.state = StreamState::Eof;
        }
    }

    fn last_frame_done(&self, now: Instant) -> bool {
        match (&self.current, self.mode) {
            (_, ClockMode::Free) | (None, _) => true,
            (Some(frame), _) => self
                .clock
                .now_secs(self.showing_generation, now)
                .is_none_or(|clock_secs| clock_secs >= frame.pts_secs + frame.duration_secs),
        }
    }

    fn sound_done(&self) -> bool {
        self.mode != ClockMode::Audio || self.clock.sound_ended(self.showing_generation)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crossbeam_channel::Sender;

    use super::*;
    use crate::engine::picture::Upscaled;

    const FRAME_SECS: f64 = 0.04;

    struct Rig {
        presenter: Presenter,
        frames: Sender<Tagged<Picture>>,
        clock: Arc<Clock>,
        counters: Arc<Counters>,
        start: Instant,
    }

    impl Rig {
        fn new(mode: ClockMode) -> Self {
            let (frames, receiver) = crossbeam_channel::unbounded();
            let (clock, counters) = (Arc::new(Clock::default()), Arc::new(Counters::default()));
            let presenter =
                Presenter::new(receiver, mode, Generation::default(), Arc::clone(&clock), Arc::clone(&counters));
            Self { presenter, frames, clock, counters, start: Instant::now() }
        }

        /// Frame `index` of generation 0: pts `index * FRAME_SECS`.
        fn send(&self, index: usize) {
            self.frames.send(Tagged { generation: 0, item: Item::Data(picture(index as f64 * FRAME_SECS)) }).unwrap();
        }

        fn end(&self) {
            self.frames.send(Tagged { generation: 0, item: Item::End }).unwrap();
        }

        fn at(&self, secs: f64) -> Instant {
            self.start + Duration::from_secs_f64(secs)
        }

        /// Runs a pass at `secs` after the start; returns the wait it asks for.
        fn update(&mut self, secs: f64) -> Option<Duration> {
            let now = self.at(secs);
            self.presenter.update(now)
        }

        fn shown_pts(&self) -> Option<f64> {
            self.presenter.current().map(|picture| picture.pts_secs)
        }

        fn late(&self) -> u64 {
            self.counters.frames_dropped_late.load(Ordering::Relaxed)
        }
    }

    /// A tiny picture at `pts_secs`, one frame long.
    fn picture(pts_secs: f64) -> Picture {
        let frame = ffmpeg_next::frame::Video::new(ffmpeg_next::format::Pixel::YUV420P, 2, 2);
        Picture { pts_secs, duration_secs: FRAME_SECS, frame, upscaled: Upscaled::None }
    }

    fn close(wait: Option<Duration>, secs: f64) -> bool {
        wait.is_some_and(|wait| (wait.as_secs_f64() - secs).abs() < 1e-6)
    }

    /// Without sound the first frame starts the clock; each later one is shown at its pts (a
    /// couple of milliseconds early at most) and the pass asks to come back when the next is due.
    #[test]
    fn frames_are_shown_at_their_time_on_the_wall_clock() {
        let mut rig = Rig::new(ClockMode::Wall);
        for index in 0..3 {
            rig.send(index);
        }
        assert!(close(rig.update(0.0), 0.0), "the first frame alone");
        assert_eq!(rig.shown_pts(), Some(0.0));
        assert_eq!(rig.presenter.state(), StreamState::Playing);
        assert!(close(rig.update(0.010), FRAME_SECS - 0.010 - EARLY_PRESENT_TOLERANCE_SECS));
        assert_eq!(rig.shown_pts(), Some(0.0), "frame 1 is not due yet");
        rig.update(FRAME_SECS - 0.001);
        assert_eq!(rig.shown_pts(), Some(FRAME_SECS), "within the early tolerance");
        rig.update(2.0 * FRAME_SECS + 0.005);
        assert_eq!(rig.shown_pts(), Some(2.0 * FRAME_SECS));
        assert_eq!((rig.late(), rig.counters.frames_presented.load(Ordering::Relaxed)), (0, 3));
    }

    /// A pass that comes late finds several frames due: it shows the newest and counts the
    /// others as dropped late.
    #[test]
    fn a_late_pass_shows_the_newest_due_frame_and_drops_the_rest() {
        let mut rig = Rig::new(ClockMode::Wall);
        for index in 0..6 {
            rig.send(index);
        }
        rig.update(0.0);
        rig.update(4.0 * FRAME_SECS + 0.001);
        assert_eq!(rig.shown_pts(), Some(4.0 * FRAME_SECS));
        assert_eq!(rig.late(), 3, "frames 1, 2 and 3");
        assert!(close(rig.update(4.0 * FRAME_SECS + 0.002), FRAME_SECS - 0.002 - EARLY_PRESENT_TOLERANCE_SECS));
    }

    /// With `--no-sync` every pass shows the next frame, whatever its pts.
    #[test]
    fn without_a_clock_each_pass_shows_the_next_frame() {
        let mut rig = Rig::new(ClockMode::Free);
        for index in [0, 50, 100] {
            rig.send(index);
        }
        for (pass, index) in [0usize, 50, 100].into_iter().enumerate() {
            assert!(close(rig.update(pass as f64 * 0.001), 0.0));
            assert_eq!(rig.shown_pts(), Some(index as f64 * FRAME_SECS));
        }
        assert_eq!(rig.late(), 0);
    }

    /// With sound, frames wait for the audio clock; a track whose clock never starts stops holding
    /// the picture after the timeout, which then runs on its own clock from the frame on screen.
    #[test]
    fn the_picture_waits_for_the_audio_clock_until_it_gives_up() {
        let mut rig = Rig::new(ClockMode::Audio);
        rig.send(0);
        rig.send(1);
        rig.update(0.0);
        assert_eq!(rig.shown_pts(), Some(0.0), "the first frame is shown as a preview");
        assert!(close(rig.update(0.5), IDLE_POLL.as_secs_f64()), "frame 1 waits for the clock");
        assert_eq!(rig.shown_pts(), Some(0.0));
        // The audio starts: stream time 0.0 is heard at 0.5 s.
        rig.clock.set(0, 0.0, rig.at(0.5));
        rig.update(0.5 + FRAME_SECS);
        assert_eq!(rig.shown_pts(), Some(FRAME_SECS));

        let mut silent = Rig::new(ClockMode::Audio);
        silent.send(0);
        silent.send(1);
        silent.update(0.0);
        let timeout = AUDIO_CLOCK_START_TIMEOUT.as_secs_f64();
        silent.update(timeout - 0.1);
        assert_eq!(silent.shown_pts(), Some(0.0));
        silent.update(timeout + 0.1);
        assert_eq!(silent.clock.now_secs(0, silent.at(timeout + 0.1)), Some(0.0), "anchored at the frame on screen");
        silent.update(timeout + 0.1 + FRAME_SECS);
        assert_eq!(silent.shown_pts(), Some(FRAME_SECS));
    }

    /// The sound waits for the first frame to be painted: the clock hears of it on the pass after
    /// the one that showed it (the window paints in that pass), or when the video of a generation
    /// ends without a frame (a seek past its end).
    #[test]
    fn the_first_frame_on_screen_is_announced_on_the_next_pass() {
        let mut rig = Rig::new(ClockMode::Audio);
        rig.send(0);
        rig.update(0.0);
        assert_eq!(rig.shown_pts(), Some(0.0));
        assert!(!rig.clock.picture_on_screen(0), "not while it is being painted");
        rig.update(0.005);
        assert!(rig.clock.picture_on_screen(0));

        rig.presenter.start_generation(1, 100.0);
        rig.frames.send(Tagged { generation: 1, item: Item::End }).unwrap();
        rig.update(0.01);
        assert!(!rig.clock.picture_on_screen(1), "a seek waits for its own first frame");
        rig.update(0.015);
        assert!(rig.clock.picture_on_screen(1), "the video ended without one");
    }

    /// After the input's end the last frame keeps its time on screen, then the stream is at its end.
    #[test]
    fn the_end_comes_when_the_last_frame_has_had_its_time() {
        let mut rig = Rig::new(ClockMode::Wall);
        rig.send(0);
        rig.send(1);
        rig.end();
        rig.update(0.0);
        rig.update(FRAME_SECS);
        assert_eq!(rig.shown_pts(), Some(FRAME_SECS));
        let wait = rig.update(FRAME_SECS + 0.01);
        assert_eq!(rig.presenter.state(), StreamState::Playing);
        assert!(close(wait, FRAME_SECS - 0.01), "come back when the last frame's time is up: {wait:?}");
        rig.update(2.0 * FRAME_SECS);
        assert_eq!(rig.presenter.state(), StreamState::Eof);
    }

    /// With sound running past the last frame, that frame stays until the sound has been played
    /// to its end.
    #[test]
    fn with_sound_the_end_waits_for_the_sound_to_end() {
        let mut rig = Rig::new(ClockMode::Audio);
        rig.clock.set(0, 0.0, rig.at(0.0));
        rig.send(0);
        rig.end();
        rig.update(0.0);
        let wait = rig.update(1.0);
        assert_eq!(rig.presenter.state(), StreamState::Playing, "the sound plays on");
        assert_eq!(wait, Some(SOUND_END_POLL));
        assert_eq!(rig.shown_pts(), Some(0.0));
        rig.clock.mark_sound_ended(0);
        rig.update(1.05);
        assert_eq!(rig.presenter.state(), StreamState::Eof);
    }

    /// Frames of an older generation (before a seek) are never shown; the new generation's first
    /// frame is shown at once and ends the seek.
    #[test]
    fn a_seek_drops_the_old_generations_frames() {
        let mut rig = Rig::new(ClockMode::Wall);
        rig.send(0);
        rig.update(0.0);
        rig.send(1);
        rig.presenter.start_generation(1, 10.0);
        assert_eq!(rig.presenter.seek_target_secs(), Some(10.0));
        rig.frames.send(Tagged { generation: 1, item: Item::Data(picture(10.0)) }).unwrap();
        rig.update(0.1);
        assert_eq!(rig.shown_pts(), Some(10.0));
        assert_eq!(rig.presenter.seek_target_secs(), None);
        assert_eq!(rig.late(), 0);
    }
}
