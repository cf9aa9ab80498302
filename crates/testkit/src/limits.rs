//! Resource limits for the fault tests, set with the kernel's own tools: a
//! size-capped tmpfs (a disk that fills up) and a cgroup v1 memory group (a
//! process the kernel kills for memory). Both need root (CAP_SYS_ADMIN);
//! without it they fail with a message saying so, never skip. Each is
//! undone when dropped, a failing test included.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

/// A tmpfs of a fixed size mounted over a folder; unmounted when dropped.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` over `path` (made if missing).
    pub fn mount(path: &Path, bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path)?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(path)
            .output()
            .context("running mount")?;
        anyhow::ensure!(
            out.status.success(),
            "mounting a {bytes}-byte tmpfs on {} failed ({}): this test needs root \
             (CAP_SYS_ADMIN) to mount a size-capped folder",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(Self {
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` until the file system refuses for want of space (the
    /// disk is then full to the last page); returns its size.
    pub fn fill(&self, name: &str) -> anyhow::Result<u64> {
        let mut file = std::fs::File::create(self.path.join(name))?;
        let mut written = 0u64;
        // Large blocks first, then single pages for the remainder.
        for block in [1 << 20, 4096] {
            let chunk = vec![0x5a_u8; block];
            loop {
                match file.write(&chunk) {
                    Ok(0) => break,
                    Ok(n) => written += n as u64,
                    Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(written)
    }

    /// Every file under the folder, by its path relative to it.
    pub fn files(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut folders = vec![self.path.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    folders.push(p);
                } else if let Ok(relative) = p.strip_prefix(&self.path) {
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Something still has a file open there: detach it now, and the
            // kernel frees it once the last file is closed.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Where cgroup v1's memory controller is mounted.
const MEMORY_CONTROLLER: &str = "/sys/fs/cgroup/memory";

/// A cgroup v1 memory group with a limit, made inside the test's own
/// memory group (so whatever limits the test also holds for it). Removed
/// when dropped; whatever still runs in it is moved back out first.
pub struct MemoryCgroup {
    dir: PathBuf,
}

/// What the kernel counted for a memory group.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryCounters {
    /// Times usage hit the limit (`memory.failcnt`, and `memory.memsw.failcnt`).
    pub failcnt: u64,
    pub memsw_failcnt: u64,
    /// The peak usage (`memory.max_usage_in_bytes`).
    pub max_usage: u64,
    /// Whether the group is out of memory right now, and how many of its
    /// processes the OOM killer has killed (`memory.oom_control`).
    pub under_oom: bool,
    pub oom_kill: u64,
}

impl MemoryCgroup {
    /// Makes a group named `name` (unique per call) with a limit of `bytes`
    /// of memory, swap included where the kernel accounts for it.
    pub fn create(name: &str, bytes: u64) -> anyhow::Result<Self> {
        let root = Path::new(MEMORY_CONTROLLER);
        anyhow::ensure!(
            root.join("cgroup.procs").exists(),
            "no cgroup v1 memory controller at {MEMORY_CONTROLLER}: this test needs one, \
             writable (root), to run a process under a memory limit"
        );
        let own = std::fs::read_to_string("/proc/self/cgroup")?
            .lines()
            .find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers
                    .split(',')
                    .any(|c| c == "memory")
                    .then(|| path.trim_start_matches('/').to_owned())
            })
            .unwrap_or_default();
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let dir = root
            .join(own)
            .join(format!("voxline-{name}-{}", &unique[..8]));
        std::fs::create_dir(&dir).with_context(|| {
            format!(
                "making the memory cgroup {}: this test needs root (a writable cgroup v1 \
                 memory controller)",
                dir.display()
            )
        })?;
        let group = Self { dir };
        group.set_limit(bytes)?;
        Ok(group)
    }

    /// The file a process writes its pid to in order to join the group.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Sets the group's limit, as an operator raising or lowering it does.
    /// The memory+swap limit may never be below the memory limit, so the
    /// two are written in the order that keeps it so.
    pub fn set_limit(&self, bytes: u64) -> anyhow::Result<()> {
        let memory = self.dir.join("memory.limit_in_bytes");
        let memsw = self.dir.join("memory.memsw.limit_in_bytes");
        let current: u64 = read(&memory)?.trim().parse()?;
        let write = |file: &Path| {
            std::fs::write(file, bytes.to_string())
                .with_context(|| format!("writing {bytes} to {}", file.display()))
        };
        let swap_accounted = memsw.exists();
        if bytes < current {
            write(&memory)?;
            if swap_accounted {
                write(&memsw)?;
            }
        } else {
            if swap_accounted {
                write(&memsw)?;
            }
            write(&memory)?;
        }
        Ok(())
    }

    /// Starts the peak usage afresh.
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        std::fs::write(self.dir.join("memory.max_usage_in_bytes"), "0")?;
        Ok(())
    }

    pub fn counters(&self) -> anyhow::Result<MemoryCounters> {
        let number = |file: &str| -> anyhow::Result<u64> {
            let path = self.dir.join(file);
            if !path.exists() {
                return Ok(0);
            }
            Ok(read(&path)?.trim().parse()?)
        };
        let oom = read(&self.dir.join("memory.oom_control"))?;
        let field = |name: &str| {
            oom.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(MemoryCounters {
            failcnt: number("memory.failcnt")?,
            memsw_failcnt: number("memory.memsw.failcnt")?,
            max_usage: number("memory.max_usage_in_bytes")?,
            under_oom: field("under_oom ") == 1,
            oom_kill: field("oom_kill "),
        })
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // A group with processes in it cannot be removed: what still runs
        // (a test that failed midway) goes back to the parent group.
        let parent = self.dir.parent().map(|p| p.join("cgroup.procs"));
        for _ in 0..50 {
            if let (Ok(pids), Some(parent)) = (read(&self.procs()), &parent) {
                for pid in pids.lines() {
                    let _ = std::fs::write(parent, pid);
                }
            }
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "the memory cgroup {} could not be removed",
            self.dir.display()
        );
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}
