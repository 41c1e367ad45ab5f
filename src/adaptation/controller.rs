//! The QoS controller: which level of the ladder the next frame uses. Level 0 is the floor (no
//! network), level k + 1 is rung k. It knows each level's calibrated time per frame, keeps a
//! smoothed slowdown factor (measured over calibrated: how loaded the machine is now), predicts each
//! level's time from it, steps down at once when the active level is about to miss the budget, and
//! steps up only after a stretch of frames with clear headroom, to the highest level that has it. The gap between the two
//! thresholds is what keeps it from oscillating under constant load.
//!
//! The floor and the rungs are different kinds of work (one scaling pass against the network's
//! parallel kernels), and load slows them differently: in `dysr bench adapt` on a 2-core machine a
//! full load made the floor 1.7x slower and every rung 2.6x. So the controller keeps one slowdown
//! for each kind, predicts the rungs from the floor through the ratio of the two slowdowns' excess
//! over 1 (learned at each move between floor and rungs), and leaves the floor one level at a time.
//!
//! A frame of the stream also costs more than the same work in calibration, by about the same
//! milliseconds at every level: the player's other threads (decoding, presenting) take turns on the
//! cores the kernels use. On a 2-core machine at idle, r2 calibrated at 3.8 ms took 6-7.5 in the
//! stream and r3 calibrated at 12.5 took 14-15. Read as a factor, r2's frames predicted r3 at 25 ms
//! and the controller stayed on r2 where r3 fitted. So it measures that overhead in the first frames
//! after calibration (the load is the calibration's then), and applies the slowdowns to the work
//! alone: predicted = overhead + calibrated x slowdown. The overhead drifts (2.5 ms at the start of
//! a bench run, 4 after its load step), and one level's frames cannot tell a larger overhead from a
//! larger slowdown; two levels' can. So each step up between rungs of clearly different cost solves
//! for both from the frames before and after it, and when a level's time has fallen well below
//! what it was on that level (a load has gone) while the model still keeps the next level out, the
//! controller tries it if it would fit with all of the difference counted as overhead: the frames
//! on it settle which, and a try that fails backs off like any failed step up.
//!
//! Calibration itself can catch the machine slow (every level 1.8x its usual time, seen once in
//! `dysr bench adapt`): then the active level's frames match their calibrated times, the overhead
//! reads as none, and the next level, in reach, is predicted out of it for the rest of that frame
//! size; and a level reached after a load has gone has no peak to fall from. So when the next level
//! is predicted within what the controller would hold (`DOWN_AT`) though not within a step up's
//! headroom, for two seconds in a row, it probes it (from the floor too, whose times say nothing
//! of the rungs, as the model predicts r0): the frames on it pair with the frames before,
//! as after any step up, and solve the model. The probe is a measurement: the level is kept only
//! if, measured, a step up would have gone to it; each probe that goes back doubles the wait
//! before the next (up to half a minute), and a step down for load starts the waits again.

use std::collections::VecDeque;

/// Step down when the active level's predicted time passes this share of the budget...
const DOWN_AT: f64 = 0.9;
/// ...to the highest level predicted within this share.
const DOWN_TO: f64 = 0.75;
/// Step up when the next level is predicted within this share of the budget...
const UP_WITHIN: f64 = 0.6;
/// ...for this many frames in a row (half a second at 24 fps).
const UP_AFTER_FRAMES: usize = 12;
/// A step down this soon after a step up doubles the wait before the next step up (up to
/// `MAX_BACKOFF` times; from a floor that does no work, as far as a probe), so a level that does
/// not hold is not retried every second.
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
/// How much more the load slows the rungs than the floor (their slowdowns' excess over 1), until
/// measured: the rungs' parallel kernels wait for their slowest thread, so they suffer more.
const PRIOR_RUNGS_OVER_FLOOR: f64 = 2.0;
/// The learned ratio stays within these bounds (one odd frame cannot make it absurd)...
const RUNGS_OVER_FLOOR_RANGE: (f64, f64) = (1.0, 4.0);
/// ...is learned only when the floor is slowed by at least this excess (below it the ratio of
/// two small numbers is noise)...
const MIN_EXCESS_TO_LEARN: f64 = 0.1;
/// ...and from the floor's slowdown after this many frames on it.
const FLOOR_FRAMES_TO_LEARN: usize = 6;
/// Weight of each new estimate of the ratio.
const LEARN: f64 = 0.5;
/// Frames after a calibration on which the stream's overhead is measured (no switch among them)...
const OVERHEAD_FRAMES: usize = UP_AFTER_FRAMES;
/// ...up to this share of the budget: more than that is load that came after calibration.
const MAX_OVERHEAD_SHARE: f64 = 0.25;
/// A level's work never counts as faster than this share of its calibrated time (a frame quicker
/// than the overhead predicts is noise, not a faster machine).
const MIN_SLOWDOWN: f64 = 0.5;
/// Frames on the new level after a step up that, with the frames before it, measure overhead and
/// slowdown...
const PAIR_FRAMES: usize = 3;
/// ...where its calibrated work is at least this many times the old level's (closer, the
/// difference is within the noise of a frame).
const PAIR_MIN_COST_RATIO: f64 = 2.0;
/// A level's time fallen to this share of its highest since the controller came to it: a load
/// has gone, and a step up the model rules out is worth a try.
const FALLEN_TO: f64 = 0.6;
/// Where a probe may go: the next level predicted within this share of the budget, the share at
/// which the controller would hold it...
const PROBE_WITHIN: f64 = DOWN_AT;
/// ...for this many frames in a row (two seconds at 24 fps), doubled after each probe that went
/// back, up to `MAX_PROBE_BACKOFF` times.
const PROBE_AFTER_FRAMES: usize = 4 * UP_AFTER_FRAMES;
const MAX_PROBE_BACKOFF: usize = 16;

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
    /// The rungs' slowdown and the floor's: the one of the active kind is measured, the other
    /// follows from it through `rungs_over_floor`.
    rung_slowdown: f64,
    floor_slowdown: f64,
    rungs_over_floor: f64,
    /// The rungs' excess slowdown when the controller stepped down to the floor, to learn from
    /// once the floor's own has been measured.
    rung_excess_at_floor_entry: Option<f64>,
    frames_on_floor: usize,
    headroom_frames: usize,
    /// Frames of headroom needed before the next step up.
    up_after: usize,
    /// Frames since the last step up, and the level it went to.
    since_up: usize,
    last_up_to: usize,
    /// What a stream frame costs beyond its level's calibrated work at the calibration's load.
    overhead_ms: f64,
    /// While the overhead is being measured: frames seen since calibration and their excess.
    overhead_sample: Option<(usize, f64)>,
    /// The highest predicted time of the active level since the controller came to it.
    peak_ms_on_level: f64,
    /// The last `PAIR_FRAMES` measured times on the active level (its mean is unbiased, unlike the
    /// smoothed slowdown, which rises faster than it falls), and whether the next frame is the
    /// level's first, which is left out: it runs on cold caches (in a bench run r3's first frame
    /// after a switch took 26 ms, the ones after it 23 and 18, 15-16 at the start).
    recent_ms: VecDeque<f64>,
    first_on_level: bool,
    /// After a step up between rungs: the level left and its mean time then (the new level's
    /// frames after its first are in `recent_ms`).
    pair: Option<PairSample>,
    /// Frames in a row the next level has been within a probe's reach, and how many it takes.
    probe_frames: usize,
    probe_after: usize,
    /// Whether the active level is on probation (reached by a probe, its first frames not all in).
    probing: bool,
}

#[derive(Debug, Clone)]
struct PairSample {
    from: usize,
    from_ms: f64,
}

impl Controller {
    /// Starts at the highest level predicted to fit the budget on an idle machine.
    pub fn new(levels_ms: Vec<f64>, budget_ms: f64, cap: usize) -> Self {
        assert!(!levels_ms.is_empty(), "at least the floor");
        let cap = cap.min(levels_ms.len() - 1);
        let mut controller = Self {
            levels_ms,
            budget_ms,
            active: 0,
            cap,
            rung_slowdown: 1.0,
            floor_slowdown: 1.0,
            rungs_over_floor: PRIOR_RUNGS_OVER_FLOOR,
            rung_excess_at_floor_entry: None,
            frames_on_floor: 0,
            headroom_frames: 0,
            up_after: UP_AFTER_FRAMES,
            since_up: usize::MAX,
            last_up_to: 0,
            overhead_ms: 0.0,
            overhead_sample: Some((0, 0.0)),
            peak_ms_on_level: 0.0,
            recent_ms: VecDeque::with_capacity(PAIR_FRAMES),
            first_on_level: false,
            pair: None,
            probe_frames: 0,
            probe_after: PROBE_AFTER_FRAMES,
            probing: false,
        };
        controller.active = controller.highest_within(DOWN_TO);
        controller
    }

    pub fn active(&self) -> usize {
        self.active
    }

    pub fn budget_ms(&self) -> f64 {
        self.budget_ms
    }

    /// A new budget (the power cap moved): a level over it steps down on the next frame.
    pub fn set_budget_ms(&mut self, budget_ms: f64) {
        self.budget_ms = budget_ms;
    }

    /// Each level's predicted ms per frame now.
    pub fn predicted_ms(&self, level: usize) -> f64 {
        self.overhead_ms + self.levels_ms[level] * self.slowdown(level)
    }

    fn slowdown(&self, level: usize) -> f64 {
        if level == 0 { self.floor_slowdown } else { self.rung_slowdown }
    }

    /// The active level's slowdown if a frame on it takes `ms`: its work net of the overhead,
    /// over its calibrated time.
    fn slowdown_at(&self, ms: f64) -> f64 {
        ((ms - self.overhead_ms) / self.levels_ms[self.active]).max(MIN_SLOWDOWN)
    }

    /// New calibrated times and memory cap (a new frame size); the slowdowns and the overhead
    /// start again (what was learned of how the slowdowns relate stays: it is the machine's, not
    /// the frame size's).
    pub fn recalibrate(&mut self, levels_ms: Vec<f64>, cap: usize) {
        assert_eq!(levels_ms.len(), self.levels_ms.len());
        self.levels_ms = levels_ms;
        self.cap = cap.min(self.levels_ms.len() - 1);
        self.rung_slowdown = 1.0;
        self.floor_slowdown = 1.0;
        self.rung_excess_at_floor_entry = None;
        self.headroom_frames = 0;
        self.overhead_ms = 0.0;
        self.leave_level();
        self.overhead_sample = Some((0, 0.0));
        self.probe_after = PROBE_AFTER_FRAMES;
        self.active = self.highest_within(DOWN_TO);
    }

    fn highest_within(&self, share: f64) -> usize {
        (0..=self.cap).rev().find(|&level| self.predicted_ms(level) <= share * self.budget_ms).unwrap_or(0)
    }

    fn learn_rungs_over_floor(&mut self, rung_excess: f64, floor_excess: f64) {
        if floor_excess >= MIN_EXCESS_TO_LEARN {
            let (low, high) = RUNGS_OVER_FLOOR_RANGE;
            let estimate = (rung_excess / floor_excess).clamp(low, high);
            self.rungs_over_floor += LEARN * (estimate - self.rungs_over_floor);
        }
    }

    /// The first frames after calibration: their mean time beyond the calibrated work is the
    /// stream's overhead; the active level's slowdown is then taken net of it.
    fn measure_overhead(&mut self, measured_ms: f64) {
        let calibrated_ms = self.levels_ms[self.active];
        let Some((frames, excess_ms)) = self.overhead_sample.as_mut() else { return };
        *frames += 1;
        *excess_ms += measured_ms - calibrated_ms;
        if *frames < OVERHEAD_FRAMES {
            return;
        }
        let overhead_ms = (*excess_ms / *frames as f64).clamp(0.0, MAX_OVERHEAD_SHARE * self.budget_ms);
        self.overhead_sample = None;
        let predicted_ms = self.predicted_ms(self.active);
        self.set_overhead(overhead_ms, predicted_ms);
    }

    /// A new overhead, with the active level's slowdown made to keep its time at `active_ms`.
    fn set_overhead(&mut self, overhead_ms: f64, active_ms: f64) {
        self.overhead_ms = overhead_ms;
        let slowdown = self.slowdown_at(active_ms);
        if self.active == 0 {
            self.floor_slowdown = slowdown;
        } else {
            self.rung_slowdown = slowdown;
        }
        self.follow_active_kind();
    }

    /// The slowdown of the kind of work not running follows the measured one's.
    fn follow_active_kind(&mut self) {
        if self.active == 0 {
            self.rung_slowdown = 1.0 + self.rungs_over_floor * (self.floor_slowdown - 1.0).max(0.0);
        } else {
            self.floor_slowdown = 1.0 + (self.rung_slowdown - 1.0) / self.rungs_over_floor;
        }
    }

    /// Mean of the last `PAIR_FRAMES` measured times on the active level.
    fn recent_mean_ms(&self) -> f64 {
        self.recent_ms.iter().sum::<f64>() / self.recent_ms.len() as f64
    }

    /// The first frames after a step up between rungs: with the time before it, two levels' times
    /// under the same load, which give the overhead and the slowdown (`t = overhead + calibrated x s`).
    fn measure_pair(&mut self) {
        if self.recent_ms.len() < PAIR_FRAMES {
            return;
        }
        let Some(pair) = self.pair.take() else { return };
        let (from_calibrated, to_calibrated) = (self.levels_ms[pair.from], self.levels_ms[self.active]);
        let to_ms = self.recent_mean_ms();
        let slowdown = ((to_ms - pair.from_ms) / (to_calibrated - from_calibrated)).max(MIN_SLOWDOWN);
        let overhead_ms = (pair.from_ms - slowdown * from_calibrated).clamp(0.0, MAX_OVERHEAD_SHARE * self.budget_ms);
        self.set_overhead(overhead_ms, to_ms);
    }

    /// A switch: what was being measured on the level left is dropped (the first frames after
    /// calibration, once the level or the load has moved, would not measure the overhead alone).
    fn leave_level(&mut self) {
        self.overhead_sample = None;
        self.pair = None;
        self.peak_ms_on_level = 0.0;
        self.recent_ms.clear();
        self.first_on_level = true;
        self.probe_frames = 0;
        self.probing = false;
    }

    /// A step down to `level`. Onto the floor, the rungs' excess slowdown is kept, to learn how the
    /// two kinds of work relate once the floor's own has been measured.
    fn step_down_to(&mut self, level: usize) {
        self.active = level;
        self.leave_level();
        if level == 0 {
            self.rung_excess_at_floor_entry = Some(self.rung_slowdown - 1.0);
            self.frames_on_floor = 0;
        }
    }

    /// The active level's time has fallen well below its highest since the controller came to it
    /// (a load has gone), and the next level would fit if all of the difference between them were
    /// the stream's overhead.
    fn worth_a_try_up(&self) -> bool {
        let now_ms = self.predicted_ms(self.active);
        let next_ms = now_ms + self.levels_ms[self.active + 1] - self.levels_ms[self.active];
        self.active > 0 && now_ms <= FALLEN_TO * self.peak_ms_on_level && next_ms <= UP_WITHIN * self.budget_ms
    }

    /// The next level predicted within what the controller would hold. On a rung, once the
    /// overhead is measured, predicted from the mean of the last frames, not the smoothed slowdown:
    /// that one rises at every slower frame, and the frames must qualify in a row. On the floor,
    /// whose times describe other work (or none, where the GPU scales), as the model predicts r0:
    /// a calibration that caught the machine slow leaves it there for good otherwise (at 720p
    /// under a software renderer, r0 calibrated at 23.3 ms of a 31.2 ms budget).
    fn within_a_probe(&self) -> bool {
        let next_ms = if self.active == 0 {
            self.predicted_ms(1)
        } else if self.overhead_sample.is_none() && self.recent_ms.len() == PAIR_FRAMES {
            self.overhead_ms + self.levels_ms[self.active + 1] * self.slowdown_at(self.recent_mean_ms())
        } else {
            return false;
        };
        next_ms <= PROBE_WITHIN * self.budget_ms
    }

    /// The longest wait before a step up after failed ones. A climb from a floor that does no work
    /// was a guess (the floor's times said nothing of the load, so the rungs' slowdown had decayed
    /// to none), like a probe: it backs off as far as a probe does. Otherwise a rung that never fits
    /// in the stream is tried every two seconds for good.
    fn longest_up_wait(&self) -> usize {
        if self.last_up_to == 1 && self.levels_ms[0] < UNINFORMATIVE_MS {
            MAX_PROBE_BACKOFF * PROBE_AFTER_FRAMES
        } else {
            MAX_BACKOFF * UP_AFTER_FRAMES
        }
    }

    /// The wait before the next probe, after one that went back.
    fn longer_probe_wait(&self) -> usize {
        (self.probe_after * 2).min(MAX_PROBE_BACKOFF * PROBE_AFTER_FRAMES)
    }

    /// The frame just upscaled at the active level took `measured_ms`: the level for the next one.
    pub fn observe(&mut self, measured_ms: f64) -> Option<Switch> {
        let informative = self.levels_ms[self.active] >= UNINFORMATIVE_MS;
        let ratio = if informative { self.slowdown_at(measured_ms) } else { 1.0 };
        // Rising load counts fast, but one outlier frame alone does not; falling load gradually.
        let smooth =
            |slowdown: &mut f64| *slowdown += if ratio > *slowdown { RISE } else { FALL } * (ratio - *slowdown);
        if self.active == 0 {
            smooth(&mut self.floor_slowdown);
            self.frames_on_floor += 1;
            if self.frames_on_floor == FLOOR_FRAMES_TO_LEARN
                && let Some(rung_excess) = self.rung_excess_at_floor_entry.take()
            {
                self.learn_rungs_over_floor(rung_excess, self.floor_slowdown - 1.0);
            }
        } else {
            if self.since_up == 0 && self.last_up_to == 1 {
                // The first rung frame after the floor: how the two kinds of work relate now.
                self.learn_rungs_over_floor(ratio - 1.0, self.floor_slowdown - 1.0);
            }
            smooth(&mut self.rung_slowdown);
        }
        self.follow_active_kind();
        if informative {
            self.measure_overhead(measured_ms);
            if !std::mem::take(&mut self.first_on_level) {
                if self.recent_ms.len() == PAIR_FRAMES {
                    self.recent_ms.pop_front();
                }
                self.recent_ms.push_back(measured_ms);
                self.measure_pair();
            }
        }
        if self.probing && self.recent_ms.len() == PAIR_FRAMES {
            self.probing = false;
            if self.predicted_ms(self.active) > UP_WITHIN * self.budget_ms {
                // Measured, the probed level is not one a step up goes to: back where it was.
                let from = self.active;
                self.step_down_to(from - 1);
                self.headroom_frames = 0;
                self.probe_after = self.longer_probe_wait();
                return Some(Switch { from, to: self.active, reason: "probed" });
            }
        }
        self.peak_ms_on_level = self.peak_ms_on_level.max(self.predicted_ms(self.active));
        let from = self.active;
        self.since_up = self.since_up.saturating_add(1);
        if self.active > 0 && self.predicted_ms(self.active) > DOWN_AT * self.budget_ms {
            self.headroom_frames = 0;
            if self.since_up <= FAILED_UP_WITHIN_FRAMES {
                self.up_after = (self.up_after * 2).min(self.longest_up_wait());
            }
            // A probe that missed waits longer for the next; any other step down is a new load.
            self.probe_after = if self.probing { self.longer_probe_wait() } else { PROBE_AFTER_FRAMES };
            self.step_down_to(self.highest_within(DOWN_TO).min(self.active - 1));
            return Some(Switch { from, to: self.active, reason: "over budget" });
        }
        let below_cap = self.active < self.cap;
        let fits_up = below_cap && self.predicted_ms(self.active + 1) <= UP_WITHIN * self.budget_ms;
        let try_up = below_cap && !fits_up && self.worth_a_try_up();
        let probe = below_cap && !fits_up && !try_up && self.within_a_probe();
        self.probe_frames = if probe { self.probe_frames + 1 } else { 0 };
        let up = if fits_up || try_up {
            self.headroom_frames += 1;
            self.headroom_frames >= self.up_after
        } else {
            self.headroom_frames = 0;
            self.probe_frames >= self.probe_after
        };
        if up {
            self.headroom_frames = 0;
            self.since_up = 0;
            // From the floor one level at a time: its times describe other work; a try or a
            // probe, one level: the model says none fits.
            self.active = if from > 0 && fits_up { self.highest_within(UP_WITHIN).max(from + 1) } else { from + 1 };
            self.last_up_to = self.active;
            let pair = (from > 0
                && self.recent_ms.len() == PAIR_FRAMES
                && self.levels_ms[self.active] >= PAIR_MIN_COST_RATIO * self.levels_ms[from])
                .then(|| PairSample { from, from_ms: self.recent_mean_ms() });
            self.leave_level();
            self.pair = pair;
            self.probing = probe;
            let reason = if fits_up {
                "headroom"
            } else if try_up {
                "load gone"
            } else {
                "probe"
            };
            return Some(Switch { from, to: self.active, reason });
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

    /// What a stretch of frames did.
    struct Trace {
        /// Each frame's level and time.
        used: Vec<usize>,
        measured: Vec<f64>,
        /// Each frame's level, or `None` on a probe's frames (a measurement, not where the
        /// controller settles).
        settled: Vec<Option<usize>>,
        /// The switches, each with the frame after which it came.
        switches: Vec<(usize, Switch)>,
    }

    impl Trace {
        fn ups(&self) -> impl Iterator<Item = &(usize, Switch)> {
            self.switches.iter().filter(|(_, switch)| switch.to > switch.from)
        }
    }

    /// Feeds `frames` frames, the `n`th taking `time(n, level)` ms at the level it runs at.
    fn drive(controller: &mut Controller, frames: usize, mut time: impl FnMut(usize, usize) -> f64) -> Trace {
        let mut trace = Trace { used: Vec::new(), measured: Vec::new(), settled: Vec::new(), switches: Vec::new() };
        for frame in 0..frames {
            let level = controller.active();
            let measured = time(frame, level);
            trace.used.push(level);
            trace.measured.push(measured);
            trace.settled.push((!controller.probing).then_some(level));
            trace.switches.extend(controller.observe(measured).map(|switch| (frame, switch)));
        }
        trace
    }

    /// Feeds `frames` frames under `load` (a slowdown factor); returns the levels used and switches.
    fn run(controller: &mut Controller, load: f64, frames: usize) -> (Vec<usize>, Vec<Switch>) {
        let levels_ms = controller.levels_ms.clone();
        let trace = drive(controller, frames, |_, level| levels_ms[level] * load);
        (trace.used, trace.switches.into_iter().map(|(_, switch)| switch).collect())
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
        assert!(
            controller.predicted_ms(controller.active()) <= 31.25,
            "the new level fits: {}",
            controller.predicted_ms(controller.active())
        );
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
        let levels_ms = vec![1.0, 2.0, 4.0, 8.0];
        let mut controller = Controller::new(levels_ms.clone(), 31.25, 3);
        let trace = drive(&mut controller, 3000, |_, level| if level == 3 { 40.0 } else { levels_ms[level] });
        let ups: Vec<usize> = trace.ups().map(|(frame, _)| *frame).collect();
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
        // Still three times slower than calibrated.
        let Trace { used, switches, .. } = drive(&mut controller, 400, |_, level| free_floor[level] * 3.0);
        assert!(
            switches.iter().filter(|(_, switch)| switch.from == 0).all(|(_, switch)| switch.to == 1),
            "from the floor, one level up: {switches:?}"
        );
        assert!(used.iter().filter(|&&level| level == 0).count() < 100, "it does not stay on the floor: {used:?}");
        let settled = *used.last().unwrap();
        assert!(settled > 0 && free_floor[settled] * 3.0 <= DOWN_AT * 31.25, "settles on a level that fits: {used:?}");
    }

    /// In the window the screen scales, so the floor does no work and its frames cannot tell the
    /// controller that r0, which fits by calibration, never fits in the stream (the other threads
    /// take the cores): each climb from the floor is a guess, and a failed one waits twice as long
    /// for the next, as long as a probe would, not at most two seconds.
    #[test]
    fn from_a_free_floor_a_rung_that_never_fits_is_tried_less_and_less() {
        let levels_ms = vec![0.0, 10.0, 13.0];
        let budget = 31.25;
        let mut controller = Controller::new(levels_ms, budget, 2);
        // r0 takes 30 ms of the 31.25 in the stream, r1 more.
        let trace = drive(&mut controller, 3000, |_, level| [0.0, 30.0, 39.0][level]);
        let ups: Vec<usize> = trace.ups().map(|(frame, _)| *frame).collect();
        assert!(trace.ups().all(|(_, switch)| switch.from == 0 && switch.to == 1), "{:?}", trace.switches);
        let gaps: Vec<usize> = ups.windows(2).map(|pair| pair[1] - pair[0]).collect();
        assert!(gaps.windows(2).all(|pair| pair[1] >= pair[0]), "retries spread out: {gaps:?}");
        assert!(gaps.last().unwrap() > &(8 * PROBE_AFTER_FRAMES), "as far as a probe backs off: {gaps:?}");
        assert!(ups.len() <= 8, "two minutes, a few tries: {ups:?}");
    }

    /// The load slows the rungs more than the floor (the bench's 2-core figures: 1.7x against
    /// 2.6x). Climbing from the floor on the floor's slowdown would land on a rung that misses the
    /// budget; the controller learns the spread and climbs only as far as the rungs fit.
    #[test]
    fn the_floor_does_not_lure_it_onto_a_rung_that_misses() {
        let levels_ms = vec![7.0, 8.8, 13.6, 15.5, 20.0, 27.0];
        let budget = 41.7;
        let mut controller = Controller::new(levels_ms.clone(), budget, 5);
        // A burst that drives it to the floor, then a steady load; the rungs' excess slowdown
        // is 2.26 times the floor's in both.
        let floor_slowdown = |frame: usize| if frame < 50 { 3.0 } else { 1.73 };
        let measured = |frame: usize, level: usize| {
            let floor_excess = floor_slowdown(frame) - 1.0;
            levels_ms[level] * if level == 0 { 1.0 + floor_excess } else { 1.0 + 1.65 / 0.73 * floor_excess }
        };
        let trace = drive(&mut controller, 2000, measured);
        let used = &trace.used;
        assert!(used[..50].contains(&0), "the burst reaches the floor: {:?}", &used[..50]);
        // The five frames after each step up.
        let late_after_a_climb: usize = trace
            .ups()
            .map(|(frame, _)| trace.measured[frame + 1..].iter().take(5).filter(|&&ms| ms > budget).count())
            .sum();
        assert_eq!(late_after_a_climb, 0, "{used:?}");
        assert!(
            trace.settled[1000..].iter().flatten().all(|&level| level == 1),
            "settles on r0, the one rung that fits (r1, at 36 ms, is probed now and then): {:?}",
            &used[1000..]
        );
        assert!((controller.rungs_over_floor - 1.65 / 0.73).abs() < 0.3, "learned {}", controller.rungs_over_floor);
    }

    /// The bench on an H200 at 720p: the floor (a bicubic pass making whole pictures on the CPU)
    /// took 17-40 ms a frame (24 on average), the rungs on the GPU 3 to 30. It starts on the top rung that fits, steps down
    /// through the rungs under GPU load (which leaves the floor's time alone), and, sent to the
    /// floor by a burst, climbs back onto the rungs (before, the rungs' calibrated times were lifted
    /// to the floor's, and it stayed on the floor).
    #[test]
    fn a_floor_dearer_than_the_low_rungs_is_left_for_them() {
        let levels_ms = vec![28.0, 3.0, 3.6, 5.0, 8.5, 13.6, 20.0, 30.0];
        let budget = 41.7;
        let mut controller = Controller::new(levels_ms.clone(), budget, 7);
        assert_eq!(controller.active(), 7);
        let rung_load = |frame: usize| match frame {
            0..100 => 2.0,
            100..110 => 30.0,
            _ => 1.0,
        };
        let Trace { used, .. } = drive(&mut controller, 600, |frame, level| {
            levels_ms[level] * if level == 0 { 1.0 } else { rung_load(frame) }
        });
        assert!(
            used[10..100].iter().all(|&level| (1..7).contains(&level)),
            "a lower rung under load: {:?}",
            &used[..100]
        );
        assert!(used[100..120].contains(&0), "the burst reaches the floor: {:?}", &used[100..120]);
        // 20 ms is within the headroom a step up needs (0.6 of the budget); 30 ms is not.
        assert_eq!(
            *used.last().unwrap(),
            6,
            "back on the highest rung with headroom once the load is gone: {:?}",
            &used[100..]
        );
    }

    /// The stream adds the same milliseconds to every level (the player's other threads), which a
    /// factor cannot describe, and they drift: `dysr bench adapt` on a 2-core machine, r3
    /// calibrated at 12.1 ms and taking 14.6 in the stream at the start, r2 calibrated at 4.2 and
    /// taking 8.6 at idle after the load step. Read as a factor, r2's frames kept it on r2 where r3
    /// fitted; with the overhead measured at the start, they still did. Trying r3 once the load has
    /// gone settles it.
    #[test]
    fn an_overhead_the_stream_adds_to_every_level_does_not_hold_it_down() {
        let levels_ms = vec![3.2, 1.9, 2.9, 3.8, 12.5, 25.0, 41.0, 94.0];
        let budget = 31.25;
        let overhead_ms = |frame: usize| if frame < 100 { 2.5 } else { 4.0 };
        let mut controller = Controller::new(levels_ms.clone(), budget, 7);
        assert_eq!(controller.active(), 4, "r3: 12.5 ms fits 0.75 of the budget, r4 does not");
        // Idle, then a load that slows the rungs 3x and the floor 2x, then idle again.
        let time = |frame: usize, level: usize| {
            let slowdown = match (frame, level) {
                (100..250, 0) => 2.0,
                (100..250, _) => 3.0,
                _ => 1.0,
            };
            let jitter = if frame.is_multiple_of(3) { 1.5 } else { -0.75 };
            overhead_ms(frame) + levels_ms[level] * slowdown + jitter
        };
        let start = drive(&mut controller, 100, time);
        assert!((controller.overhead_ms - 2.5).abs() < 0.5, "measured {}", controller.overhead_ms);
        let rest = drive(&mut controller, 500, |frame, level| time(100 + frame, level));
        assert!((controller.overhead_ms - 4.0).abs() < 0.5, "measured {}", controller.overhead_ms);
        let (used, settled) = ([start.used, rest.used].concat(), [start.settled, rest.settled].concat());
        assert!(settled[..100].iter().flatten().all(|&level| level == 4), "r3 at idle: {:?}", &used[..100]);
        assert!(used[110..250].iter().all(|&level| level < 4), "lower under the load: {:?}", &used[100..250]);
        assert_eq!(*used.last().unwrap(), 4, "back on r3 once the load is gone: {:?}", &used[250..]);
    }

    /// Calibration that caught the machine slow (every level 1.9x its time in the stream, less the
    /// stream's overhead): r2's frames match their calibrated time, the overhead reads as none and
    /// r3 as out of reach, though it takes 15 ms of 31.25. A probe finds it and stays.
    #[test]
    fn a_calibration_that_caught_the_machine_slow_does_not_hold_it_down() {
        let true_ms = [3.2, 1.9, 2.9, 3.8, 12.5, 25.0, 41.0, 94.0];
        let levels_ms: Vec<f64> = true_ms.iter().map(|ms| 1.9 * ms).collect();
        let budget = 31.25;
        let mut controller = Controller::new(levels_ms, budget, 7);
        assert_eq!(controller.active(), 3, "r2: r3's 23.75 calibrated ms are over 0.75 of the budget");
        let Trace { used, settled, switches, .. } = drive(&mut controller, 400, |frame, level| {
            let jitter = if frame % 3 == 0 { 1.0 } else { -0.5 };
            2.5 + true_ms[level] + jitter
        });
        assert_eq!(switches[0].1, Switch { from: 3, to: 4, reason: "probe" }, "{switches:?}");
        assert!(switches.iter().all(|(_, switch)| switch.to >= 4), "r3 held: {switches:?}");
        assert!(settled[100..].iter().flatten().all(|&level| level == 4), "on r3 after the probe: {used:?}");
        assert!((controller.overhead_ms - 2.5).abs() < 0.5, "measured {}", controller.overhead_ms);
    }

    /// Calibration that was right: a probe runs the next level (25 ms of 31.25, more than a step up
    /// leaves as headroom) for its few measuring frames and goes back; the next waits twice as long.
    #[test]
    fn a_probe_that_finds_no_headroom_goes_back_and_waits_longer() {
        let levels_ms = vec![3.2, 1.9, 2.9, 3.8, 12.5, 25.0, 41.0, 94.0];
        let mut controller = Controller::new(levels_ms.clone(), 31.25, 7);
        let Trace { used, switches, .. } = drive(&mut controller, 3000, |_, level| levels_ms[level]);
        let probes: Vec<usize> =
            switches.iter().filter(|(_, switch)| switch.reason == "probe").map(|(frame, _)| *frame).collect();
        assert!(
            switches.iter().all(|(_, switch)| *switch == Switch { from: 4, to: 5, reason: "probe" }
                || *switch == Switch { from: 5, to: 4, reason: "probed" }),
            "{switches:?}"
        );
        // Each probe: the first frame on the level, left out, and the frames that measure it.
        assert_eq!(used.iter().filter(|&&level| level == 5).count(), (1 + PAIR_FRAMES) * probes.len(), "{used:?}");
        let gaps: Vec<usize> = probes.windows(2).map(|pair| pair[1] - pair[0]).collect();
        assert!(gaps.len() >= 4 && gaps.windows(2).all(|pair| pair[1] >= pair[0]), "waits grow: {gaps:?}");
        assert!(gaps[1] > 3 * gaps[0] / 2, "doubled: {gaps:?}");
        let longest = MAX_PROBE_BACKOFF * PROBE_AFTER_FRAMES;
        assert!(
            (longest..=longest + 2 * (1 + PAIR_FRAMES)).contains(gaps.last().unwrap()),
            "up to half a minute: {gaps:?}"
        );
        assert_eq!(*used.last().unwrap(), 4);
    }

    /// A free floor (the GPU scales) and a calibration that caught the machine slow (1.9x): r0
    /// calibrated at 24.7 ms, over what it starts on (0.75 of 31.25), it starts on the floor, whose
    /// times say nothing, and r0 stays out of a step up's reach; it takes 13. A probe finds it.
    #[test]
    fn from_a_free_floor_a_probe_finds_a_rung_that_fits() {
        let true_ms = [0.0, 13.0, 15.0, 17.0, 60.0];
        let levels_ms: Vec<f64> = true_ms.iter().map(|ms| 1.9 * ms).collect();
        let mut controller = Controller::new(levels_ms, 31.25, 4);
        assert_eq!(controller.active(), 0);
        let Trace { used, switches, .. } = drive(&mut controller, 400, |_, level| true_ms[level]);
        assert_eq!(switches[0].1, Switch { from: 0, to: 1, reason: "probe" }, "{switches:?}");
        assert!(used[100..].iter().all(|&level| level == 3), "on r2, the highest that fits: {switches:?}");
    }

    /// A probe from the floor that goes back teaches it too: the rung's frames and the floor's
    /// after it, under the same load. A burst that slows the rungs as much as the floor sends it
    /// to the floor; then a load that slows the rungs 2.5 times as much leaves r0 at 35 ms of 41.7,
    /// within a probe's reach but not a step up's.
    #[test]
    fn a_probe_back_to_the_floor_learns_how_rungs_and_floor_relate() {
        let levels_ms = vec![7.0, 20.0, 30.0];
        let mut controller = Controller::new(levels_ms.clone(), 41.7, 2);
        let time = |frame: usize, level: usize| {
            let (floor_excess, rungs_over_floor) = if frame < 50 { (3.0, 1.0) } else { (0.3, 2.5) };
            levels_ms[level] * (1.0 + floor_excess * if level == 0 { 1.0 } else { rungs_over_floor })
        };
        let mut frame = 0;
        while controller.observe(time(frame, controller.active())).is_none_or(|switch| switch.reason != "probed") {
            frame += 1;
            assert!(frame < 1000, "no probe went back");
        }
        assert_eq!(controller.active(), 0);
        let after_the_rung = controller.rungs_over_floor;
        for frame in frame + 1..=frame + FLOOR_FRAMES_TO_LEARN {
            assert_eq!(controller.observe(time(frame, 0)), None);
        }
        assert!(
            (controller.rungs_over_floor - 2.5).abs() < (after_the_rung - 2.5).abs() - 0.1,
            "learned on the floor: {after_the_rung} then {}",
            controller.rungs_over_floor
        );
    }

    /// A lower budget (a power cap) moves it down at the next frame, a higher one lets it climb.
    #[test]
    fn follows_a_new_budget() {
        let mut controller = Controller::new(levels(), 31.25, 8);
        run(&mut controller, 1.0, 10);
        assert_eq!(controller.active(), 5);
        controller.set_budget_ms(31.25 * 0.4);
        run(&mut controller, 1.0, 2);
        assert!(
            controller.predicted_ms(controller.active()) <= 0.9 * 12.5,
            "level {} fits the cap",
            controller.active()
        );
        controller.set_budget_ms(31.25);
        run(&mut controller, 1.0, 200);
        assert_eq!(controller.active(), 5, "back up once the cap is lifted");
    }

    #[test]
    fn the_floor_is_always_there() {
        let mut controller = Controller::new(levels(), 31.25, 8);
        run(&mut controller, 100.0, 10);
        assert_eq!(controller.active(), 0);
    }
}
