//! `D`: the adaptation bench's load profile played live in the window for an audience: idle, a
//! step to high load, idle again, a ramp; the rung steps down and climbs back while the framerate
//! holds, the panel's plot shows it, and a caption says what is happening.

use std::time::{Duration, Instant};

use crate::adaptation::load::{Segment, default_profile, load_at, phase_at};

/// The load of the step and the top of the ramp, in percent.
const PEAK_LOAD: f64 = 90.0;
/// Each phase's length: long enough to see a switch and the plot settle.
const PHASE_SECS: f64 = 8.0;

pub struct Demo {
    started: Instant,
    profile: Vec<Segment>,
    /// What the load competes for: "CPU" or "GPU", where SR runs.
    device: &'static str,
}

impl Demo {
    /// The demo from `now`, loading the GPU when SR runs on one (`on_gpu`), else the CPU.
    pub fn start(now: Instant, on_gpu: bool) -> Self {
        Self {
            started: now,
            profile: default_profile(PEAK_LOAD, PHASE_SECS),
            device: if on_gpu { "GPU" } else { "CPU" },
        }
    }

    fn elapsed_secs(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.started).as_secs_f64()
    }

    pub fn length(&self) -> Duration {
        Duration::from_secs_f64(self.profile.iter().map(|segment| segment.secs).sum())
    }

    /// The load to inject now, in percent; None once the profile has run.
    pub fn load(&self, now: Instant) -> Option<u8> {
        let secs = self.elapsed_secs(now);
        (secs < self.length().as_secs_f64()).then(|| load_at(&self.profile, secs).round() as u8)
    }

    /// The caption for now, naming the level the ladder runs.
    pub fn caption(&self, now: Instant, level: &str) -> Option<String> {
        let load = self.load(now)?;
        let phase = phase_at(&self.profile, self.elapsed_secs(now));
        Some(match phase {
            0 => format!("Idle: the network runs the best rung that keeps the framerate ({level})."),
            1 => format!("{load}% {} load: the rung steps down ({level}) and the framerate holds.", self.device),
            2 => format!("The load is gone: the rung climbs back ({level})."),
            _ => format!("Load rising ({load}%): the rung steps down as it grows ({level})."),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_the_profile_once_with_a_caption_per_phase() {
        let start = Instant::now();
        let demo = Demo::start(start, false);
        let at = |secs: f64| start + Duration::from_secs_f64(secs);
        assert_eq!(demo.load(at(1.0)), Some(0));
        assert_eq!(demo.load(at(9.0)), Some(90));
        assert_eq!(demo.load(at(17.0)), Some(0));
        assert_eq!(demo.load(at(28.0)), Some(45));
        assert_eq!(demo.load(at(32.5)), None, "over after four phases");
        assert!(
            demo.caption(at(1.0), "r3").unwrap().starts_with("Idle")
                && demo.caption(at(1.0), "r3").unwrap().contains("(r3)")
        );
        assert!(demo.caption(at(9.0), "r0").unwrap().starts_with("90% CPU load"));
        assert!(demo.caption(at(17.0), "r1").unwrap().contains("climbs back"));
        assert!(demo.caption(at(28.0), "r1").unwrap().contains("Load rising (45%)"));
        assert_eq!(demo.caption(at(40.0), "r3"), None);
        assert!(Demo::start(start, true).caption(at(9.0), "r2").unwrap().starts_with("90% GPU load"));
    }
}
