//! Named pipeline threads, counted while they run, so a test can check that closing a player (or
//! failing to open one) leaves none behind.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

static LIVE_PIPELINE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many threads started by [`spawn`] are still running.
pub fn live_pipeline_threads() -> usize {
    LIVE_PIPELINE_THREADS.load(Ordering::SeqCst)
}

/// Decrements the live count when the thread's closure returns or unwinds.
struct LiveGuard;

impl Drop for LiveGuard {
    fn drop(&mut self) {
        LIVE_PIPELINE_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Spawns a named pipeline thread.
pub fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    LIVE_PIPELINE_THREADS.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        let _guard = LiveGuard;
        body()
    });
    if spawned.is_err() {
        LIVE_PIPELINE_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
    spawned
}
