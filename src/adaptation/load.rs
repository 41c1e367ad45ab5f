//! The load injector: competing compute on the CPU, to show adaptation on demand. Each of its
//! threads runs a duty cycle: busy with floating-point work for `level`% of every period, asleep for
//! the rest. The threads count their own CPU time as the kernel reports it, so the duty cycle can be
//! checked rather than trusted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One duty cycle.
const PERIOD: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Shared {
    level: AtomicU8,
    stop: AtomicBool,
    cpu_nanos: AtomicU64,
}

pub struct LoadInjector {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// CPU time of the calling thread, from the kernel.
fn thread_cpu_nanos() -> u64 {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `time` is a valid timespec to write into; the clock id is a constant.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    time.tv_sec as u64 * 1_000_000_000 + time.tv_nsec as u64
}

impl LoadInjector {
    /// `threads` load threads at level 0.
    pub fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared::default());
        let threads = (0..threads)
            .map(|index| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new().name(format!("load-{index}")).spawn(move || duty_cycle(&shared)).expect("load thread")
            })
            .collect();
        Self { shared, threads }
    }

    /// 0 (idle) to 100 (always busy).
    pub fn set_level(&self, percent: u8) {
        self.shared.level.store(percent.min(100), Ordering::Relaxed);
    }

    pub fn level(&self) -> u8 {
        self.shared.level.load(Ordering::Relaxed)
    }

    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// CPU time the load threads have used so far.
    pub fn cpu_time(&self) -> Duration {
        Duration::from_nanos(self.shared.cpu_nanos.load(Ordering::Relaxed))
    }
}

impl Drop for LoadInjector {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().ok();
        }
    }
}

fn duty_cycle(shared: &Shared) {
    let mut reported = thread_cpu_nanos();
    let mut value = 1.0f64;
    while !shared.stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let busy = PERIOD.mul_f64(f64::from(shared.level.load(Ordering::Relaxed)) / 100.0);
        while start.elapsed() < busy {
            for _ in 0..1000 {
                value = std::hint::black_box(value * 1.000_000_1 + 1e-9);
            }
        }
        if let Some(rest) = PERIOD.checked_sub(start.elapsed()) {
            std::thread::sleep(rest);
        }
        let now = thread_cpu_nanos();
        shared.cpu_nanos.fetch_add(now - reported, Ordering::Relaxed);
        reported = now;
    }
}

/// The load profile of `dysr bench adapt` and of the window's demo (`D`).
/// One segment of the load profile: from `from`% to `to`% over `secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub from: f64,
    pub to: f64,
    pub secs: f64,
}

/// The default profile: idle, a step to `peak`%, idle again, a ramp to `peak`%; `secs` each.
pub fn default_profile(peak: f64, secs: f64) -> Vec<Segment> {
    vec![
        Segment { from: 0.0, to: 0.0, secs },
        Segment { from: peak, to: peak, secs },
        Segment { from: 0.0, to: 0.0, secs },
        Segment { from: 0.0, to: peak, secs },
    ]
}

/// The segment `secs` falls in and how far into it; past the end, the last segment at its end.
fn locate(profile: &[Segment], secs: f64) -> Option<(usize, f64)> {
    let mut start = 0.0;
    for (index, segment) in profile.iter().enumerate() {
        if secs < start + segment.secs {
            return Some((index, secs - start));
        }
        start += segment.secs;
    }
    profile.last().map(|segment| (profile.len() - 1, segment.secs))
}

/// The load at `secs` into the profile (the last level holds after its end).
pub fn load_at(profile: &[Segment], secs: f64) -> f64 {
    locate(profile, secs).map_or(0.0, |(index, into)| {
        let segment = profile[index];
        segment.from + (segment.to - segment.from) * into / segment.secs
    })
}

/// Which segment `secs` falls in.
pub fn phase_at(profile: &[Segment], secs: f64) -> usize {
    locate(profile, secs).map_or(0, |(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_steps_and_ramps() {
        let profile = default_profile(80.0, 5.0);
        assert_eq!(load_at(&profile, 1.0), 0.0);
        assert_eq!(load_at(&profile, 7.0), 80.0);
        assert_eq!(load_at(&profile, 12.0), 0.0);
        assert!((load_at(&profile, 17.5) - 40.0).abs() < 1e-9);
        assert_eq!(load_at(&profile, 99.0), 80.0);
        assert_eq!(phase_at(&profile, 7.0), 1);
    }

    /// At 40% on one thread, the kernel's count of the thread's CPU time is 40% of the wall time,
    /// within 10 percentage points; at 0% it is near nothing.
    #[test]
    fn the_duty_cycle_matches_the_level() {
        let injector = LoadInjector::new(1);
        injector.set_level(40);
        std::thread::sleep(Duration::from_millis(100));
        let (start_cpu, start) = (injector.cpu_time(), Instant::now());
        std::thread::sleep(Duration::from_millis(1500));
        let share = (injector.cpu_time() - start_cpu).as_secs_f64() / start.elapsed().as_secs_f64();
        assert!((share - 0.4).abs() <= 0.1, "busy {:.0}% at level 40", share * 100.0);
        injector.set_level(0);
        std::thread::sleep(Duration::from_millis(100));
        let idle_cpu = injector.cpu_time();
        std::thread::sleep(Duration::from_millis(500));
        assert!((injector.cpu_time() - idle_cpu).as_secs_f64() < 0.05, "idle at level 0");
    }
}
