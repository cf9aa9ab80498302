//! What the load test reads of the gateway's process: its resident memory
//! sampled while it runs, its open files, its own CPU time apart from its
//! children's (ffprobe, ffmpeg); and the open-file limit a thousand
//! sockets need.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::procfs::{peak_rss_mib, rss_mib};

/// Samples a process's resident memory while it runs; stop it to read the
/// highest sample and the kernel's own high-water mark.
pub struct RssSampler {
    pid: u32,
    peak: Arc<Mutex<(f64, usize)>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> Self {
        let peak = Arc::new(Mutex::new((rss_mib(pid), 1)));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let now = rss_mib(pid);
                let mut peak = p.lock().expect("sampler lock");
                *peak = (peak.0.max(now), peak.1 + 1);
            }
        });
        Self { pid, peak, task }
    }

    /// The highest VmRSS sampled and VmHWM (the kernel's peak, which no
    /// sample can miss), in MiB, and how many samples were taken.
    pub fn stop(self) -> (f64, f64, usize) {
        self.task.abort();
        let (sampled, samples) = *self.peak.lock().expect("sampler lock");
        (sampled, peak_rss_mib(self.pid), samples)
    }
}

/// How many files (sockets included) a process holds open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// CPU seconds a process used itself (user + system), and those of the
/// children it has waited for, so far.
pub fn own_and_children_cpu(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // utime, stime, cutime, cstime: the 12th to 15th fields after the
    // command's closing parenthesis, in clock ticks (100 a second).
    let ticks: Vec<f64> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let tick = |i: usize| ticks.get(i).copied().unwrap_or(0.0) / 100.0;
    (tick(0) + tick(1), tick(2) + tick(3))
}

/// Raises this process's soft limit of open files to at least `needed`
/// (up to its hard limit), with util-linux's `prlimit`: a thousand event
/// streams hold a socket each, here and in the processes started after
/// (they inherit it). Answers the soft limit in force.
pub fn ensure_open_files(needed: u64) -> anyhow::Result<u64> {
    let (soft, hard) = open_files_limits()?;
    if soft >= needed {
        return Ok(soft);
    }
    anyhow::ensure!(
        hard >= needed,
        "the hard limit of open files is {hard}; this test needs {needed} (raise it with `ulimit -Hn`)"
    );
    let status = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={needed}:{hard}"))
        .status()?;
    anyhow::ensure!(
        status.success(),
        "prlimit could not raise the open-file limit"
    );
    let (soft, _) = open_files_limits()?;
    anyhow::ensure!(soft >= needed, "the open-file limit is still {soft}");
    Ok(soft)
}

/// The soft and hard limits of open files, from /proc/self/limits.
fn open_files_limits() -> anyhow::Result<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .ok_or_else(|| anyhow::anyhow!("no open-file limit in /proc/self/limits"))?;
    let parse = |v: Option<&str>| match v {
        Some("unlimited") => u64::MAX,
        Some(n) => n.parse().unwrap_or(0),
        None => 0,
    };
    let mut fields = line.split_whitespace();
    Ok((parse(fields.next()), parse(fields.next())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_file_limit_is_read_and_kept_when_high_enough() {
        let (soft, hard) = open_files_limits().unwrap();
        assert!(soft > 0 && hard >= soft);
        assert_eq!(ensure_open_files(1).unwrap(), soft);
    }

    #[test]
    fn this_process_has_used_cpu_and_holds_files() {
        let me = std::process::id();
        let spin: u64 = (0..5_000_000u64).fold(0, |a, b| a ^ b.wrapping_mul(31));
        assert!(spin > 0);
        assert!(own_and_children_cpu(me).0 > 0.0);
        assert!(open_fds(me) >= 3);
    }
}
