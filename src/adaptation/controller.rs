//! The QoS controller: which level of the ladder the next frame uses. Level 0 is the floor (no
//! network), level k + 1 is rung k. It knows each level's calibrated time per frame, keeps a
//! smoothed slowdown factor (measured over calibrated: how loaded the machine is now), predicts each
//! level's time from it, steps down at once when the active level is about to miss the budget, and
//! steps up only after a stretch of frames with clear headroom, to the highest level that has it. The gap between the two
//! thresholds is what keeps it from oscillating under constant load.

/// Step down when the active level's predicted time passes this share of the budget...
const DOWN_AT: f64 = 0.9;
/// ...to the highest level predicted within this share.
const DOWN_TO: f64 = 0.75;
/// Step up when the next level is predicted within this share of the budget...
const UP_WITHIN: f64 = 0.6;
/// ...for this many frames in a row (half a second at 24 fps).
const UP_AFTER_FRAMES: usize = 12;
/// A step down this soon after a step up doubles the wait before the next step up (up to
/// `MAX_BACKOFF` times), so a level that does not hold is not retried every second.
const FAILED_UP_WITHIN_FRAMES: usize = 2 * UP_AFTER_FRAMES;
const MAX_BACKOFF: usize = 4;
/// Weight of the newest measurement in the smoothed slowdown, when it is rising (fast: one
/// overloaded frame is enough to step down) and when it is falling (slow: headroom must last).
const RISE: f64 = 0.6;
const FALL: f64 = 0.3;
/// A level calibrated below this does no measurable work (the floor when the GPU scales): its
/// times say nothing about the load, so the controller assumes calibrated conditions there and
/// climbs from it one level at a time, letting the next level's times tell.
const UNINFORMATIVE_MS: f64 = 0.05;

/// A change of level, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    pub from: usize,
    pub to: usize,
    pub reason: &'static str,
}

#[derive(Debug, Clone)]
pub struct Controller {
    /// Calibrated ms per frame of each level, floor first, rising.
    levels_ms: Vec<f64>,
    budget_ms: f64,
    active: usize,
    /// The highest level allowed (memory).
    cap: usize,
    slowdown: f64,
    headroom_frames: usize,
    /// Frames of headroom needed before the next step up.
    up_after: usize,
    /// Frames since the last step up, and the level it went to.
    since_up: usize,
    last_up_to: usize,
}

impl Controller {
    /// Starts at the highest level predicted to fit the budget on an idle machine.
    pub fn new(levels_ms: Vec<f64>, budget_ms: f64, cap: usize) -> Self {
        assert!(!levels_ms.is_empty(), "at least the floor");
        let cap = cap.min(levels_ms.len() - 1);
        let mut controller =
            Self { levels_ms, budget_ms, active: 0, cap, slowdown: 1.0, headroom_frames: 0, up_after: UP_AFTER_FRAMES, since_up: usize::MAX, last_up_to: 0 };
        controller.active = controller.highest_within(DOWN_TO);
        controller
    }

    pub fn active(&self) -> usize {
        self.active
    }

    pub fn budget_ms(&self) -> f64 {
        self.budget_ms
    }

    pub fn slowdown(&self) -> f64 {
        self.slowdown
    }

    /// Each level's predicted ms per frame now.
    pub fn predicted_ms(&self, level: usize) -> f64 {
        self.levels_ms[level] * self.slowdown
    }

    /// New calibrated times and memory cap (a new frame size); the slowdown starts again.
    pub fn recalibrate(&mut self, levels_ms: Vec<f64>, cap: usize) {
        assert_eq!(levels_ms.len(), self.levels_ms.len());
        self.levels_ms = levels_ms;
        self.cap = cap.min(self.levels_ms.len() - 1);
        self.slowdown = 1.0;
        self.headroom_frames = 0;
        self.active = self.highest_within(DOWN_TO);
    }

    fn highest_within(&self, share: f64) -> usize {
        (0..=self.cap).rev().find(|&level| self.predicted_ms(level) <= share * self.budget_ms).unwrap_or(0)
    }

    /// The frame just upscaled at the active level took `measured_ms`: the level for the next one.
    pub fn observe(&mut self, measured_ms: f64) -> Option<Switch> {
        let informative = self.levels_ms[self.active] >= UNINFORMATIVE_MS;
        let ratio = if informative { measured_ms / self.levels_ms[self.active] } else { 1.0 };
        // Rising load counts fast, but one outlier frame alone does not; falling load gradually.
        let weight = if ratio > self.slowdown { RISE } else { FALL };
        self.slowdown += weight * (ratio - self.slowdown);
        let from = self.active;
        self.since_up = self.since_up.saturating_add(1);
        if self.active > 0 && self.predicted_ms(self.active) > DOWN_AT * self.budget_ms {
            self.headroom_frames = 0;
            if self.since_up <= FAILED_UP_WITHIN_FRAMES {
                self.up_after = (self.up_after * 2).min(MAX_BACKOFF * UP_AFTER_FRAMES);
            }
            self.active = self.highest_within(DOWN_TO).min(self.active - 1);
            return Some(Switch { from, to: self.active, reason: "over budget" });
        }
        if self.active < self.cap && self.predicted_ms(self.active + 1) <= UP_WITHIN * self.budget_ms {
            self.headroom_frames += 1;
            if self.headroom_frames >= self.up_after {
                self.headroom_frames = 0;
                self.since_up = 0;
                self.active = if informative { self.highest_within(UP_WITHIN).max(self.active + 1) } else { self.active + 1 };
                self.last_up_to = self.active;
                return Some(Switch { from, to: self.active, reason: "headroom" });
            }
        } else {
            self.headroom_frames = 0;
        }
        if self.since_up > FAILED_UP_WITHIN_FRAMES && self.active >= self.last_up_to {
            // The last step up held: the next may come at the normal pace.
            self.up_after = UP_AFTER_FRAMES;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Floor plus eight rungs with the shipped ladder's spread of costs.
    fn levels() -> Vec<f64> {
        vec![0.5, 2.4, 3.9, 4.4, 6.5, 17.0, 42.0, 72.0, 130.0]
    }

    /// Feeds `frames` frames under `load` (a slowdown factor); returns the levels used and switches.
    fn run(controller: &mut Controller, load: f64, frames: usize) -> (Vec<usize>, Vec<Switch>) {
        let mut used = Vec::new();
        let mut switches = Vec::new();
        for _ in 0..frames {
            let level = controller.active();
            used.push(level);
            if let Some(switch) = controller.observe(controller.levels_ms[level] * load) {
                switches.push(switch);
            }
        }
        (used, switches)
    }

    #[test]
    fn starts_at_the_highest_level_that_fits() {
        let controller = Controller::new(levels(), 31.25, 8);
        assert_eq!(controller.active(), 5, "17 ms fits 0.75 x 31.25, 42 ms does not");
        assert_eq!(Controller::new(levels(), 31.25, 3).active(), 3, "the memory cap holds");
    }

    #[test]
    fn steps_down_within_two_frames_of_overload() {
        let mut controller = Controller::new(levels(), 31.25, 8);
        let (used, switches) = run(&mut controller, 1.0, 10);
        assert!(used.iter().all(|&l| l == 5) && switches.is_empty());
        let (used, switches) = run(&mut controller, 3.0, 3);
        assert!(used[1] < 5, "the second overloaded frame already runs lower: {used:?}");
        assert_eq!(switches.len(), 1);
        assert!(controller.predicted_ms(controller.active()) <= 31.25, "the new level fits: {}", controller.predicted_ms(controller.active()));
    }

    /// One slow frame (a page fault, a scheduler hiccup) does not move it.
    #[test]
    fn ignores_a_single_outlier() {
        let mut controller = Controller::new(levels(), 31.25, 8);
        run(&mut controller, 1.0, 10);
        assert_eq!(controller.observe(17.0 * 1.5), None);
        let (_, switches) = run(&mut controller, 1.0, 100);
        assert!(switches.is_empty(), "{switches:?}");
    }

    #[test]
    fn holds_steady_under_constant_load() {
        for load in [1.0, 1.7, 2.5, 4.0, 9.0] {
            let mut controller = Controller::new(levels(), 31.25, 8);
            run(&mut controller, load, 50);
            let (_, switches) = run(&mut controller, load, 500);
            assert!(switches.is_empty(), "load {load}: {switches:?}");
        }
    }

    #[test]
    fn steps_up_after_headroom_returns() {
        let mut controller = Controller::new(levels(), 31.25, 8);
        run(&mut controller, 4.0, 20);
        let low = controller.active();
        assert!(low < 5);
        let (used, switches) = run(&mut controller, 1.0, 200);
        assert_eq!(controller.active(), 5, "back at the highest level with headroom: {used:?}");
        assert!(switches.iter().all(|s| s.to > s.from && s.reason == "headroom"), "only upwards: {switches:?}");
        assert!(controller.predicted_ms(5) <= UP_WITHIN * 31.25 && controller.predicted_ms(6) > UP_WITHIN * 31.25);
        let first_up = used.iter().position(|&l| l > low).unwrap();
        assert!(first_up >= UP_AFTER_FRAMES, "not before a stretch of headroom: {first_up}");
    }

    /// A step up that fails at once is retried later and later.
    #[test]
    fn a_failed_step_up_backs_off() {
        // Calibration says every level fits, but level 3 takes 40 ms whenever it runs.
        let mut controller = Controller::new(vec![1.0, 2.0, 4.0, 8.0], 31.25, 3);
        let mut ups = Vec::new();
        for frame in 0..3000 {
            let level = controller.active();
            let measured = if level == 3 { 40.0 } else { controller.levels_ms[level] };
            if let Some(switch) = controller.observe(measured)
                && switch.to > switch.from
            {
                ups.push(frame);
            }
        }
        let gaps: Vec<usize> = ups.windows(2).map(|pair| pair[1] - pair[0]).collect();
        assert!(gaps.len() >= 3 && gaps.windows(2).all(|pair| pair[1] >= pair[0]), "retries spread out: {gaps:?}");
        assert!(gaps.last().unwrap() >= &(MAX_BACKOFF * UP_AFTER_FRAMES), "{gaps:?}");
    }

    /// A floor that does no work (the GPU scales) tells nothing of the load: after an overload the
    /// controller leaves it one level up, and from there the measured times lead it to a level
    /// that fits; it does not leap from the floor to the top.
    #[test]
    fn from_a_free_floor_it_climbs_one_level_at_a_time() {
        let mut free_floor = levels();
        free_floor[0] = 0.0;
        let mut controller = Controller::new(free_floor.clone(), 31.25, 8);
        run(&mut controller, 100.0, 5);
        assert_eq!(controller.active(), 0);
        let mut used = Vec::new();
        let mut ups = Vec::new();
        for _ in 0..400 {
            let level = controller.active();
            used.push(level);
            // Still three times slower than calibrated.
            if let Some(switch) = controller.observe(free_floor[level] * 3.0)
                && switch.to > switch.from
            {
                ups.push(switch);
            }
        }
        assert!(ups.iter().filter(|switch| switch.from == 0).all(|switch| switch.to == 1), "from the floor, one level up: {ups:?}");
        assert!(used.iter().filter(|&&level| level == 0).count() < 100, "it does not stay on the floor: {used:?}");
        let settled = *used.last().unwrap();
        assert!(settled > 0 && free_floor[settled] * 3.0 <= DOWN_AT * 31.25, "settles on a level that fits: {used:?}");
    }

    #[test]
    fn the_floor_is_always_there() {
        let mut controller = Controller::new(levels(), 31.25, 8);
        run(&mut controller, 100.0, 10);
        assert_eq!(controller.active(), 0);
    }
}
