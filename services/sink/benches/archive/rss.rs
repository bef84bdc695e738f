//! Resident memory of a process, sampled from /proc every 50 ms while a measurement runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The RSS of `pid` in KiB (`VmRSS`), or `None` once it has exited.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A running sampler of one process's RSS.
pub struct Watch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    start: u64,
}

/// What a watch saw: RSS at its start and at its peak, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    /// RSS when the watch started.
    pub start: u64,
    /// Highest RSS sampled.
    pub peak: u64,
}

impl Seen {
    /// "start → peak MB".
    pub fn text(&self) -> String {
        format!("{} → {} MB", mb(self.start), mb(self.peak))
    }
}

/// KiB as MB text.
pub fn mb(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

impl Watch {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let start = rss_kib(pid).unwrap_or(0);
        let peak = Arc::new(AtomicU64::new(start));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match rss_kib(pid) {
                        Some(kib) => {
                            peak.fetch_max(kib, Ordering::Relaxed);
                        }
                        None => break,
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Watch {
            stop,
            peak,
            thread: Some(thread),
            start,
        }
    }

    /// Stops sampling; what was seen.
    pub fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Seen {
            start: self.start,
            peak: self.peak.load(Ordering::Relaxed),
        }
    }
}
