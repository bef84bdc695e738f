//! The async runtime every service runs on, built the same way everywhere.

/// A multi-threaded runtime whose blocking pool is capped at the number of CPUs (at least 2).
///
/// Page parsing and other CPU work run on the blocking pool; an uncapped pool (tokio's
/// default is 512 threads) would grow a thread, and a malloc arena, per concurrent task,
/// and memory would creep up with load instead of staying flat.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus)
        .max_blocking_threads(cpus)
        .enable_all()
        .build()
}
