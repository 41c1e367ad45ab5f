//! The playback clock: which stream time is being heard (or, without sound, shown) right now.
//!
//! The audio output sets it from the pts of the samples it hands to the device and the instant they
//! will be played; between updates it runs on at the playback speed (stream seconds per second of
//! real time). A clock of an older generation (before a seek) reads as unset, so nothing is
//! scheduled against a position that no longer holds.

use std::time::Instant;

use parking_lot::Mutex;

use super::SharedF64;

/// The slowest and fastest playback speeds (mpv's `[` / `]` range, narrowed to what the
/// time-stretched sound and the network's frame budget can follow).
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 4.0;

/// The playback speed asked for, shared between the controls and the threads that follow it (the
/// audio decoder stretches its samples to it, the SR worker shortens its frame budget by it).
#[derive(Debug)]
pub struct Speed(SharedF64);

impl Default for Speed {
    fn default() -> Self {
        Self(SharedF64::new(1.0))
    }
}

impl Speed {
    pub fn get(&self) -> f64 {
        self.0.get()
    }

    /// Sets the speed, kept within [`MIN_SPEED`, `MAX_SPEED`]; returns what was set.
    pub fn set(&self, speed: f64) -> f64 {
        self.0.set(playable_speed(speed))
    }
}

/// `speed` brought within [`MIN_SPEED`, `MAX_SPEED`] (normal speed for a value that is no number).
pub fn playable_speed(speed: f64) -> f64 {
    if speed.is_finite() { speed.clamp(MIN_SPEED, MAX_SPEED) } else { 1.0 }
}

#[derive(Debug, Default)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    generation: u64,
    /// Stream time `pts_secs` is heard at `at`; None until the first update of this generation.
    anchor: Option<(f64, Instant)>,
    /// Stream seconds per second of real time from the anchor on.
    rate: f64,
    /// Set while paused: the reading is frozen at this stream time.
    paused_at_secs: Option<f64>,
    paused: bool,
    /// The generation whose sound has been played to its end.
    sound_ended: Option<u64>,
    /// The newest generation whose first picture has been painted (or whose video ended without
    /// one): its sound may start.
    picture_on_screen: Option<u64>,
}

impl Default for ClockState {
    fn default() -> Self {
        Self {
            generation: 0,
            anchor: None,
            rate: 1.0,
            paused_at_secs: None,
            paused: false,
            sound_ended: None,
            picture_on_screen: None,
        }
    }
}

impl ClockState {
    fn shows_picture_of(&self, generation: u64) -> bool {
        self.picture_on_screen.is_some_and(|shown| shown >= generation)
    }

    fn reading(&self, now: Instant) -> Option<f64> {
        if self.paused {
            return self.paused_at_secs;
        }
        let (pts_secs, at) = self.anchor?;
        Some(match now.checked_duration_since(at) {
            Some(elapsed) => pts_secs + elapsed.as_secs_f64() * self.rate,
            None => pts_secs - at.duration_since(now).as_secs_f64() * self.rate,
        })
    }
}

impl Clock {
    /// Stream time now, in seconds, if the clock runs for `generation`.
    pub fn now_secs(&self, generation: u64, now: Instant) -> Option<f64> {
        let state = self.state.lock();
        if state.generation != generation {
            return None;
        }
        state.reading(now)
    }

    /// Stream time `pts_secs` is heard at instant `at`, the clock running on at its rate. Ignored
    /// for an outdated generation.
    pub fn set(&self, generation: u64, pts_secs: f64, at: Instant) {
        self.anchor(generation, pts_secs, at, None);
    }

    /// [`Clock::set`], the clock running on at `rate` stream seconds per second from there (the
    /// audio output: its samples were stretched to that rate).
    pub fn set_at_rate(&self, generation: u64, pts_secs: f64, at: Instant, rate: f64) {
        self.anchor(generation, pts_secs, at, Some(rate));
    }

    fn anchor(&self, generation: u64, pts_secs: f64, at: Instant, rate: Option<f64>) {
        let mut state = self.state.lock();
        if generation < state.generation {
            return;
        }
        if generation > state.generation {
            state.generation = generation;
            state.paused_at_secs = None;
        }
        state.anchor = Some((pts_secs, at));
        if let Some(rate) = rate {
            state.rate = rate;
        }
        // Paused, the first reading of a generation (a seek's target) is where it stands; later
        // ones were made for a clock still running (sound queued as the pause came) and would
        // move it on.
        if state.paused && state.paused_at_secs.is_none() {
            state.paused_at_secs = Some(pts_secs);
        }
    }

    /// The audio output has played the last sample of `generation`'s sound: the input's end waits
    /// for this as well as for its last frame.
    pub fn mark_sound_ended(&self, generation: u64) {
        self.state.lock().sound_ended = Some(generation);
    }

    pub fn sound_ended(&self, generation: u64) -> bool {
        self.state.lock().sound_ended == Some(generation)
    }

    /// `generation`'s first picture has been painted, or its video has ended without one: its
    /// sound may start (mpv starts the audio once the first frame is displayed). Started earlier,
    /// the clock runs while that picture is made and painted, and the frames after it are late.
    pub fn mark_picture_on_screen(&self, generation: u64) {
        let mut state = self.state.lock();
        state.picture_on_screen = state.picture_on_screen.max(Some(generation));
    }

    #[cfg(test)]
    pub(crate) fn picture_on_screen(&self, generation: u64) -> bool {
        self.state.lock().shows_picture_of(generation)
    }

    /// Whether `generation`'s sound may play at `now`: its first picture is on screen, or its clock
    /// runs already (one look at the state for the audio output's every period).
    pub fn sound_may_play(&self, generation: u64, now: Instant) -> bool {
        let state = self.state.lock();
        state.shows_picture_of(generation) || (state.generation == generation && state.reading(now).is_some())
    }

    /// Starts `generation` with no reading until its first update.
    pub fn reset(&self, generation: u64) {
        let mut state = self.state.lock();
        state.generation = generation;
        state.anchor = None;
        state.paused_at_secs = None;
    }

    /// Stream seconds per second of real time.
    pub fn rate(&self) -> f64 {
        self.state.lock().rate
    }

    /// Runs on at `rate` from now, from the time it reads now (without sound: the speed changes at
    /// once; with sound the audio output moves it as the stretched samples are heard).
    pub fn set_rate(&self, rate: f64, now: Instant) {
        let mut state = self.state.lock();
        if !state.paused
            && let Some(reading) = state.reading(now)
        {
            state.anchor = Some((reading, now));
        }
        state.rate = rate;
    }

    pub fn set_paused(&self, paused: bool, now: Instant) {
        let mut state = self.state.lock();
        if paused == state.paused {
            return;
        }
        if paused {
            state.paused_at_secs = state.reading(now);
            state.paused = true;
        } else {
            state.paused = false;
            // Resume from where it froze.
            if let Some(frozen) = state.paused_at_secs.take() {
                state.anchor = Some((frozen, now));
            }
        }
    }

    pub fn is_paused(&self) -> bool {
        self.state.lock().paused
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn runs_in_real_time_from_its_anchor() {
        let clock = Clock::default();
        let t0 = Instant::now();
        assert_eq!(clock.now_secs(0, t0), None);
        clock.set(0, 5.0, t0);
        let later = t0 + Duration::from_millis(250);
        assert!((clock.now_secs(0, later).unwrap() - 5.25).abs() < 1e-9);
        // Samples scheduled to play in the future read as not yet heard.
        clock.set(0, 6.0, later + Duration::from_millis(100));
        assert!((clock.now_secs(0, later).unwrap() - 5.9).abs() < 1e-9);
    }

    #[test]
    fn an_outdated_generation_reads_as_unset_and_cannot_move_it() {
        let clock = Clock::default();
        let t0 = Instant::now();
        clock.set(0, 1.0, t0);
        clock.reset(1);
        assert_eq!(clock.now_secs(0, t0), None);
        assert_eq!(clock.now_secs(1, t0), None);
        clock.set(0, 9.0, t0);
        assert_eq!(clock.now_secs(1, t0), None);
        clock.set(1, 3.0, t0);
        assert_eq!(clock.now_secs(1, t0), Some(3.0));
    }

    #[test]
    fn pausing_freezes_and_resuming_continues_from_the_same_time() {
        let clock = Clock::default();
        let t0 = Instant::now();
        clock.set(0, 1.0, t0);
        clock.set_paused(true, t0 + Duration::from_secs(1));
        // Sound queued as the pause came reports a later time: the frozen reading stays.
        clock.set_at_rate(0, 2.005, t0 + Duration::from_millis(1_005), 1.0);
        assert_eq!(clock.now_secs(0, t0 + Duration::from_secs(10)), Some(2.0));
        clock.set_paused(false, t0 + Duration::from_secs(10));
        let reading = clock.now_secs(0, t0 + Duration::from_millis(10_500)).unwrap();
        assert!((reading - 2.5).abs() < 1e-9);
    }

    /// A seek made while paused shows its target: the new generation's first reading is where it
    /// stands, and later ones do not move it.
    #[test]
    fn paused_it_moves_only_to_a_new_generations_first_reading() {
        let clock = Clock::default();
        let t0 = Instant::now();
        clock.set_paused(true, t0);
        clock.reset(1);
        clock.set(1, 7.0, t0 + Duration::from_secs(3));
        clock.set(1, 7.04, t0 + Duration::from_secs(4));
        assert_eq!(clock.now_secs(1, t0 + Duration::from_secs(5)), Some(7.0));
        clock.set(2, 3.0, t0 + Duration::from_secs(6));
        assert_eq!(clock.now_secs(2, t0 + Duration::from_secs(7)), Some(3.0));
    }

    #[test]
    fn a_rate_change_continues_from_the_same_time_at_the_new_speed() {
        let clock = Clock::default();
        let t0 = Instant::now();
        clock.set(0, 10.0, t0);
        clock.set_rate(2.0, t0 + Duration::from_secs(1));
        assert!((clock.now_secs(0, t0 + Duration::from_secs(1)).unwrap() - 11.0).abs() < 1e-9);
        assert!((clock.now_secs(0, t0 + Duration::from_secs(2)).unwrap() - 13.0).abs() < 1e-9);
        // The rate outlives a seek; the audio output's updates carry their own.
        clock.reset(1);
        clock.set(1, 0.0, t0);
        assert!((clock.now_secs(1, t0 + Duration::from_secs(1)).unwrap() - 2.0).abs() < 1e-9);
        clock.set_at_rate(1, 5.0, t0, 0.5);
        assert!((clock.now_secs(1, t0 + Duration::from_secs(1)).unwrap() - 5.5).abs() < 1e-9);
        // Paused, the reading stays where it froze whatever the rate.
        clock.set_paused(true, t0 + Duration::from_secs(2));
        clock.set_rate(4.0, t0 + Duration::from_secs(3));
        assert_eq!(clock.now_secs(1, t0 + Duration::from_secs(5)), Some(6.0));
        clock.set_paused(false, t0 + Duration::from_secs(5));
        assert!((clock.now_secs(1, t0 + Duration::from_secs(6)).unwrap() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn the_speed_stays_within_its_range() {
        let speed = Speed::default();
        assert_eq!(speed.get(), 1.0);
        assert_eq!(speed.set(1.5), 1.5);
        assert_eq!(speed.set(10.0), MAX_SPEED);
        assert_eq!(speed.set(0.01), MIN_SPEED);
        assert_eq!(speed.set(f64::NAN), 1.0);
    }
}
