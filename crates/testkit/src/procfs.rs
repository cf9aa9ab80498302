//! What the benchmarks read of processes from /proc: CPU time and resident
//! memory, of one process or of a process and its descendants.

/// The fields of `/proc/{pid}/stat` after the command's closing parenthesis
/// (the command may hold spaces).
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// CPU seconds (user + system) a process and the child processes it has
/// waited for (ffmpeg, pocketsphinx, espeak-ng...) have used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    // utime, stime, cutime and cstime: the 12th to 15th fields after the
    // command, in clock ticks (100 a second on Linux).
    stat_fields(pid)
        .iter()
        .skip(11)
        .take(4)
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum::<f64>()
        / 100.0
}

/// CPU seconds of every process whose command is `comm` (all of
/// PostgreSQL's backends: `postgres`).
pub fn cpu_seconds_of_command(comm: &str) -> f64 {
    pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .map(cpu_seconds)
        .sum()
}

/// Peak resident memory of a process, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmHWM:") / 1024.0
}

/// Resident memory of a process now, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmRSS:") / 1024.0
}

/// Resident memory of a process and all its descendants now, in MiB: what
/// its container holds while a stage runs its engines.
pub fn tree_rss_mib(root: u32) -> f64 {
    let parents: Vec<(u32, u32)> = pids()
        .into_iter()
        .filter_map(|pid| Some((pid, stat_fields(pid).get(1)?.parse().ok()?)))
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree.into_iter().map(rss_mib).sum()
}

fn status_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Redis's own CPU seconds so far (`INFO cpu`: system + user).
pub async fn redis_cpu_seconds(conn: &mut impl redis::aio::ConnectionLike) -> f64 {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(conn)
        .await
        .unwrap_or_default();
    info.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            matches!(k, "used_cpu_sys" | "used_cpu_user").then(|| v.trim().parse::<f64>().ok())?
        })
        .sum()
}
