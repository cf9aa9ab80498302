//! The service binaries as separate processes against a test's database,
//! Redis namespace and storage, with a supervisor's restart: what operators
//! run, for the process and fault tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{TestEnv, binary};

struct Process {
    name: &'static str,
    child: Child,
    /// The process's operations endpoint (`/metrics`, `/readyz`).
    ops: String,
}

pub struct Fleet {
    pub base: String,
    vars: Vec<(String, String)>,
    logs: PathBuf,
    processes: Vec<Process>,
    /// How many processes the supervisor has restarted.
    pub restarts: usize,
    /// How each process the supervisor found stopped, in order.
    pub exits: Vec<(&'static str, ExitStatus)>,
    /// The services whose processes start inside a cgroup: the group's
    /// `cgroup.procs`, by service.
    confined: HashMap<&'static str, PathBuf>,
}

impl Fleet {
    /// Starts `replicas` processes of each named service, with `extra`
    /// settings (as `VOXLINE__...` variables) on top of the test's own.
    pub fn start(
        env: &TestEnv,
        services: &[(&'static str, usize)],
        extra: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        // Every address the fleet starts on is taken before any is let go,
        // so no two of its processes are handed the same port.
        let count: usize = services.iter().map(|(_, n)| n).sum();
        let mut addresses = free_addresses(1 + count)?.into_iter();
        let port = addresses.next().expect("the gateway's address").port();
        let base = format!("http://127.0.0.1:{port}");
        let s = &env.settings;
        let mut vars: Vec<(String, String)> = [
            ("VOXLINE__DATABASE__URL", s.database.url.expose().to_owned()),
            ("VOXLINE__REDIS__NAMESPACE", s.redis.namespace.clone()),
            (
                "VOXLINE__STORAGE__LOCAL_ROOT",
                s.storage.local_root.display().to_string(),
            ),
            ("VOXLINE__SERVER__BIND", format!("127.0.0.1:{port}")),
            ("VOXLINE__SERVER__PUBLIC_URL", base.clone()),
            ("VOXLINE__RUNNER__LEASE_SECONDS", "4".into()),
            ("VOXLINE__RUNNER__RECONCILE_INTERVAL_SECONDS", "1".into()),
            ("VOXLINE__RUNNER__REDISPATCH_AFTER_SECONDS", "5".into()),
            ("VOXLINE__TELEMETRY__LOG_FILTER", "info".into()),
            (
                "VOXLINE__RATE_LIMITS__ENABLED",
                s.rate_limits.enabled.to_string(),
            ),
            (
                "VOXLINE__OUTBOUND__ALLOW_PRIVATE_NETWORKS",
                s.outbound.allow_private_networks.to_string(),
            ),
            // Ten processes share one PostgreSQL (100 connections by default).
            ("VOXLINE__DATABASE__POOL_SIZE", "4".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let logs = env.path("logs");
        std::fs::create_dir_all(&logs)?;
        let mut fleet = Self {
            base,
            vars,
            logs,
            processes: vec![],
            restarts: 0,
            exits: vec![],
            confined: HashMap::new(),
        };
        for (name, replicas) in services {
            for _ in 0..*replicas {
                let ops = addresses.next().expect("an address for each process");
                let (child, ops) = fleet.spawn_on(name, ops)?;
                fleet.processes.push(Process { name, child, ops });
            }
        }
        Ok(fleet)
    }

    /// Starts one process, its operations endpoint on a port of its own
    /// (one no process of the fleet is listening on).
    fn spawn(&self, name: &str) -> anyhow::Result<(Child, String)> {
        let ops = free_addresses(1)?[0];
        self.spawn_on(name, ops)
    }

    /// Starts one process, its operations endpoint on `ops`.
    fn spawn_on(&self, name: &str, ops: SocketAddr) -> anyhow::Result<(Child, String)> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{name}.log")))?;
        let mut command = match self.confined.get(name) {
            // The shell joins the group, then becomes the service (same
            // pid), so the service and all it starts are held to the group.
            Some(procs) => {
                let mut c = Command::new("sh");
                c.args(["-c", r#"echo $$ > "$1" && exec "$0""#])
                    .arg(binary(name))
                    .arg(procs);
                c
            }
            None => Command::new(binary(name)),
        };
        let child = command
            .envs(self.vars.iter().cloned())
            .env("VOXLINE__TELEMETRY__OPS_BIND", ops.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok((child, format!("http://{ops}")))
    }

    /// Starts the processes of service `name` inside the cgroup whose
    /// `cgroup.procs` is `procs` from now on (those running are left as
    /// they are; [`Fleet::add`] and the supervisor's restarts start there).
    pub fn confine(&mut self, name: &'static str, procs: PathBuf) {
        self.confined.insert(name, procs);
    }

    /// Starts `replicas` more processes of service `name`.
    pub fn add(&mut self, name: &'static str, replicas: usize) -> anyhow::Result<()> {
        for _ in 0..replicas {
            let (child, ops) = self.spawn(name)?;
            self.processes.push(Process { name, child, ops });
        }
        Ok(())
    }

    /// The process ids of the processes named `name`.
    pub fn pids(&self, name: &str) -> Vec<u32> {
        self.processes
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.child.id())
            .collect()
    }

    /// The operations endpoints of the processes named `name`.
    pub fn ops_urls(&self, name: &str) -> Vec<String> {
        self.processes
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.ops.clone())
            .collect()
    }

    /// Waits until the gateway answers `/readyz`.
    pub async fn ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the gateway never became ready")
    }

    /// Uploads `clip` and creates a job from `request` (its
    /// `source_upload_id` filled in) with a tenant's API `key`; returns the
    /// job's id.
    pub async fn submit(
        &self,
        key: &str,
        clip: &std::path::Path,
        mut request: serde_json::Value,
    ) -> anyhow::Result<String> {
        let http = reqwest::Client::new();
        let upload: serde_json::Value = http
            .post(format!("{}/v1/uploads?filename=clip.mp4", self.base))
            .bearer_auth(key)
            .body(std::fs::read(clip)?)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        request["source_upload_id"] = upload["id"].clone();
        let job: serde_json::Value = http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(key)
            .json(&request)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        job["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no job id in {job}"))
    }

    /// The job's view once it has ended (completed, failed or cancelled).
    pub async fn wait_for_job(
        &self,
        key: &str,
        id: &str,
        timeout: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        loop {
            let job: serde_json::Value = http
                .get(format!("{}/v1/jobs/{id}", self.base))
                .bearer_auth(key)
                .send()
                .await?
                .json()
                .await?;
            if matches!(
                job["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                return Ok(job);
            }
            anyhow::ensure!(Instant::now() < deadline, "the job did not finish: {job:#}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The supervisor's round: restarts every process that has exited.
    pub fn supervise(&mut self) -> anyhow::Result<usize> {
        let mut restarted = 0;
        for i in 0..self.processes.len() {
            if let Some(status) = self.processes[i].child.try_wait()? {
                let name = self.processes[i].name;
                self.exits.push((name, status));
                (self.processes[i].child, self.processes[i].ops) = self.spawn(name)?;
                restarted += 1;
            }
        }
        self.restarts += restarted;
        Ok(restarted)
    }

    /// SIGKILLs the `n`th (modulo) running process among those named.
    pub fn kill(&mut self, names: &[&str], n: usize) -> anyhow::Result<&'static str> {
        let candidates: Vec<usize> = (0..self.processes.len())
            .filter(|i| names.contains(&self.processes[*i].name))
            .collect();
        anyhow::ensure!(!candidates.is_empty(), "no process named {names:?}");
        let p = &mut self.processes[candidates[n % candidates.len()]];
        p.child.kill()?;
        p.child.wait()?;
        Ok(p.name)
    }

    /// SIGTERMs every process and waits up to `grace` for each; returns how each exited.
    pub fn terminate(
        &mut self,
        grace: Duration,
    ) -> anyhow::Result<Vec<(&'static str, ExitStatus)>> {
        for p in &self.processes {
            Command::new("kill")
                .args(["-TERM", &p.child.id().to_string()])
                .status()?;
        }
        let mut exits = Vec::new();
        for p in &mut self.processes {
            let deadline = Instant::now() + grace;
            let status = loop {
                if let Some(status) = p.child.try_wait()? {
                    break status;
                }
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "{} did not stop on SIGTERM",
                    p.name
                );
                std::thread::sleep(Duration::from_millis(50));
            };
            exits.push((p.name, status));
        }
        Ok(exits)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for p in &mut self.processes {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        // A failed test (or any, with VOXLINE_KEEP_LOGS set) keeps its
        // services' logs: the scratch folder goes.
        if std::thread::panicking() || std::env::var_os("VOXLINE_KEEP_LOGS").is_some() {
            let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/fleet-logs")
                .join(format!(
                    "{}-{}",
                    std::process::id(),
                    chrono::Utc::now().format("%H%M%S")
                ));
            if std::fs::create_dir_all(&kept).is_ok()
                && let Ok(entries) = std::fs::read_dir(&self.logs)
            {
                for e in entries.flatten() {
                    let _ = std::fs::copy(e.path(), kept.join(e.file_name()));
                }
                eprintln!("service logs kept in {}", kept.display());
            }
        }
    }
}

/// `n` distinct local addresses free a moment ago: all are held until the
/// last is found, since the system may hand out a port just let go again.
fn free_addresses(n: usize) -> anyhow::Result<Vec<SocketAddr>> {
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(held
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<_, _>>()?)
}
