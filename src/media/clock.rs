//! The playback clock: which stream time is being heard (or, without sound, shown) right now.
//!
//! The audio output sets it from the pts of the samples it hands to the device and the instant they
//! will be played; between updates it runs on in real time. A clock of an older generation (before a
//! seek) reads as unset, so nothing is scheduled against a position that no longer holds.

use std::time::Instant;

use parking_lot::Mutex;

#[derive(Debug, Default)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    generation: u64,
    /// Stream time `pts_secs` is heard at `at`; None until the first update of this generation.
    anchor: Option<(f64, Instant)>,
    /// Set while paused: the reading is frozen at this stream time.
    paused_at_secs: Option<f64>,
    paused: bool,
}

impl ClockState {
    fn reading(&self, now: Instant) -> Option<f64> {
        if self.paused {
            return self.paused_at_secs;
        }
        let (pts_secs, at) = self.anchor?;
        Some(match now.checked_duration_since(at) {
            Some(elapsed) => pts_secs + elapsed.as_secs_f64(),
            None => pts_secs - at.duration_since(now).as_secs_f64(),
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

    /// Stream time `pts_secs` is heard at instant `at`. Ignored for an outdated generation.
    pub fn set(&self, generation: u64, pts_secs: f64, at: Instant) {
        let mut state = self.state.lock();
        if generation < state.generation {
            return;
        }
        if generation > state.generation {
            state.generation = generation;
            state.paused_at_secs = None;
        }
        state.anchor = Some((pts_secs, at));
        if state.paused {
            state.paused_at_secs = Some(pts_secs);
        }
    }

    /// Starts `generation` with no reading until its first update.
    pub fn reset(&self, generation: u64) {
        let mut state = self.state.lock();
        state.generation = generation;
        state.anchor = None;
        state.paused_at_secs = None;
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
        assert_eq!(clock.now_secs(0, t0 + Duration::from_secs(10)), Some(2.0));
        clock.set_paused(false, t0 + Duration::from_secs(10));
        let reading = clock.now_secs(0, t0 + Duration::from_millis(10_500)).unwrap();
        assert!((reading - 2.5).abs() < 1e-9);
    }
}
