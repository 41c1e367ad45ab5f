//! The CPU load injector's duty cycle. A test binary of its own: cargo runs test binaries one at
//! a time, so no other test competes for the cores while this one measures the load's CPU time
//! (among the library's unit tests, on two saturated cores, the load thread could not get its
//! 40%).

use std::time::{Duration, Instant};

use dysr::adaptation::load::LoadInjector;

/// At 40% on one thread, the kernel's count of the thread's CPU time is 40% of the wall time,
/// within 10 percentage points; at 0% it is near nothing.
#[test]
fn the_duty_cycle_matches_the_level() {
    let injector = LoadInjector::new(1);
    injector.set_level(40);
    std::thread::sleep(Duration::from_millis(100));
    let (start_cpu, start) = (injector.busy_time(), Instant::now());
    std::thread::sleep(Duration::from_millis(1500));
    let share = (injector.busy_time() - start_cpu).as_secs_f64() / start.elapsed().as_secs_f64();
    assert!((share - 0.4).abs() <= 0.1, "busy {:.0}% at level 40", share * 100.0);
    injector.set_level(0);
    std::thread::sleep(Duration::from_millis(100));
    let idle_cpu = injector.busy_time();
    std::thread::sleep(Duration::from_millis(500));
    assert!((injector.busy_time() - idle_cpu).as_secs_f64() < 0.05, "idle at level 0");
}
