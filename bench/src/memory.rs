//! The resident memory of the mesh process, from `/proc/<pid>/status`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use tokio::task::JoinHandle;

/// How often the sampler reads the process's memory under load.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// A process's memory, in kB as the kernel reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Memory {
    /// Resident now (`VmRSS`).
    pub(crate) rss_kb: u64,
    /// The most it was ever resident (`VmHWM`, the high-water mark).
    pub(crate) hwm_kb: u64,
}

impl Memory {
    pub(crate) fn rss_mb(&self) -> f64 {
        kb_to_mb(self.rss_kb)
    }

    pub(crate) fn hwm_mb(&self) -> f64 {
        kb_to_mb(self.hwm_kb)
    }
}

/// kB (KiB, as /proc counts) to MB of 2^20 bytes.
pub(crate) fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Reads process `pid`'s memory.
pub(crate) fn read(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_status(&text).with_context(|| format!("no VmRSS/VmHWM in {path}"))
}

/// `VmRSS` and `VmHWM` of a `/proc/<pid>/status` text.
pub(crate) fn parse_status(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some(Memory { rss_kb: field("VmRSS:")?, hwm_kb: field("VmHWM:")? })
}

/// Reads a process's resident memory every 100 ms until stopped, keeping
/// the largest reading.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Option<u64>>,
}

impl Sampler {
    pub(crate) fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak: Option<u64> = None;
            loop {
                if let Ok(memory) = read(pid) {
                    peak = Some(peak.map_or(memory.rss_kb, |p| p.max(memory.rss_kb)));
                }
                if stopped.load(Ordering::Relaxed) {
                    return peak;
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        });
        Self { stop, task }
    }

    /// The largest resident memory seen, in kB (`None` if the process
    /// could not be read).
    pub(crate) async fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_resident_memory_and_its_high_water_mark() {
        let status =
            "Name:\tpaymesh\nVmPeak:\t 1200000 kB\nVmHWM:\t   98304 kB\nVmRSS:\t   65536 kB\nThreads:\t9\n";
        let memory = parse_status(status).unwrap();
        assert_eq!(memory, Memory { rss_kb: 65536, hwm_kb: 98304 });
        assert_eq!(memory.rss_mb(), 64.0);
        assert_eq!(memory.hwm_mb(), 96.0);
        assert_eq!(parse_status("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let memory = read(std::process::id()).unwrap();
        assert!(memory.rss_kb > 0 && memory.hwm_kb >= memory.rss_kb);
    }
}
