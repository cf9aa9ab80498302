#!/usr/bin/env python3
"""Celery peer of the pipeline-throughput benchmark (issue #8).

A job is a chain of five no-op tasks (transcribe -> translate -> synthesize ->
render -> publish), each routed to its own queue on Redis, each queue served by
P `celery worker` processes that this program starts and stops itself. It
submits N chains as fast as it can, waits for all of them to finish their last
step and prints one JSON line on stdout (human lines go to stderr):

    celery_chain.py --redis-url redis://127.0.0.1:6379 --prefix bench-x --jobs 2000 --processes 1

Fairness choices (see README.md):
- Pool: `solo` by default. A Voxline worker with concurrency 1 is one process
  that takes a message and runs the stage itself; the solo pool is exactly
  that. `prefork -c 1` puts a second process behind the consumer and ships
  every task to it over a pipe, which costs Celery CPU and latency that is not
  the queue's. `--pool prefork` measures that variant all the same.
- `task_acks_late=True` and `worker_prefetch_multiplier=1`: a message is
  acknowledged after the task ran and each worker holds one unacknowledged
  message at a time, as Voxline's at-least-once delivery does.
- No result backend (`task_ignore_result`): a chain hands each return value on
  inside the next message, so nothing needs one. A Redis backend would add a
  SET and a PUBLISH per task and a subscriber per chain in this client, work
  that the pipeline itself does not need. Completion is detected instead by the
  last task pushing "job_id completion_time" onto a Redis list, which this
  program polls with LLEN every 50 ms (the time is taken inside the task, so
  the polling interval changes neither latency nor the measured wall time).
- Gossip, mingle, heartbeats and remote control are off: cluster features a
  Voxline worker has no equivalent of, each with its own Redis traffic.

Every key lives under the prefix (kombu's `global_keyprefix`); all PREFIX* keys
are deleted at the start (left-overs of an aborted run) and at the end.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE.parents[1] / "target" / "tools" / "bench-venv" / "bin" / "python"

try:
    import celery
    import redis
    from celery import Celery, chain, signals
except ImportError:
    # Run by a plain python3: switch to the venv that setup.sh installs.
    if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit(f"celery_chain: celery is not installed; run {HERE / 'setup.sh'} first")

STEPS = ["transcribe", "translate", "synthesize", "render", "publish"]
ENV_URL, ENV_PREFIX = "VOXLINE_BENCH_REDIS_URL", "VOXLINE_BENCH_PREFIX"
POLL_S = 0.05


def key_prefix(prefix):
    # kombu prepends global_keyprefix as is; a colon keeps PREFIX's keys apart
    # from those of a longer prefix that starts with the same letters.
    return prefix if prefix.endswith(":") else prefix + ":"


def build_app(redis_url, prefix):
    kp = key_prefix(prefix)
    app = Celery("voxline_bench", broker=redis_url, set_as_current=True)
    app.conf.update(
        broker_transport_options={"global_keyprefix": kp},
        broker_connection_retry_on_startup=True,
        task_routes={f"bench.{s}": {"queue": s} for s in STEPS},
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_disable_rate_limits=True,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
    )
    state = {"redis": None}

    def conn():
        # Made lazily in the process that runs the task (a prefork child).
        if state["redis"] is None:
            state["redis"] = redis.Redis.from_url(redis_url)
        return state["redis"]

    def make_task(i, step):
        @app.task(name=f"bench.{step}", ignore_result=True)
        def run(payload):
            job, done = (payload, 0) if i == 0 else payload
            if done != i:
                conn().rpush(kp + "bench:errors", f"{job}: {step} ran after {done} steps")
            if i == len(STEPS) - 1:
                conn().rpush(kp + "bench:done", f"{job} {time.time():.6f}")
            return [job, i + 1]

        return run

    tasks = [make_task(i, s) for i, s in enumerate(STEPS)]

    @signals.worker_ready.connect(weak=False)
    def announce(sender=None, **_):
        r = redis.Redis.from_url(redis_url)
        r.rpush(kp + "bench:ready", str(os.getpid()))
        r.close()

    return app, tasks


if os.environ.get(ENV_URL):
    # Imported by `celery -A celery_chain:app worker` in a worker process.
    app, TASKS = build_app(os.environ[ENV_URL], os.environ[ENV_PREFIX])


def log(msg):
    print(f"celery_chain: {msg}", file=sys.stderr, flush=True)


def delete_prefix(r, prefix):
    pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
    n, batch = 0, []
    for k in r.scan_iter(match=pattern, count=1000):
        batch.append(k)
        if len(batch) >= 500:
            n += r.unlink(*batch)
            batch = []
    if batch:
        n += r.unlink(*batch)
    return n


CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(roots):
    """User+system CPU of the processes `roots` and all their descendants,
    including the children they have reaped (from /proc/<pid>/stat)."""
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        f = raw[raw.rindex(")") + 2 :].split()
        # After the comm field: f[1]=ppid, f[11..14]=utime stime cutime cstime.
        stats[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))
    kids = {}
    for pid, (ppid, _) in stats.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [p for p in roots if p in stats]
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo.extend(kids.get(pid, []))
    return total / CLK_TCK


def self_cpu_s():
    t = os.times()
    return t.user + t.system


def redis_cpu_s(r):
    info = r.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def percentile(sorted_vals, q):
    # Nearest rank.
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def start_workers(args, logdir):
    env = dict(os.environ, **{ENV_URL: args.redis_url, ENV_PREFIX: args.prefix})
    env["PYTHONPATH"] = str(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    procs = []
    for step in STEPS:
        for k in range(args.processes):
            cmd = [
                sys.executable, "-m", "celery", "-A", "celery_chain:app", "worker",
                "-P", args.pool, "-c", "1", "-Q", step, "-n", f"{step}-{k}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-l", "WARNING",
            ]
            out = open(Path(logdir) / f"{step}-{k}.log", "wb")
            procs.append(subprocess.Popen(cmd, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT))
    return procs


def stop_workers(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # warm shutdown
    deadline = time.time() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def check_alive(procs, logdir):
    for p in procs:
        if p.poll() is not None:
            logs = sorted(Path(logdir).glob("*.log"))
            tail = b"".join(f.read_bytes()[-1500:] for f in logs).decode(errors="replace")
            raise SystemExit(f"celery_chain: a worker exited ({p.returncode}); logs:\n{tail}")


def wait_for(predicate, timeout_s, procs, logdir, what):
    deadline = time.time() + timeout_s
    while not predicate():
        check_alive(procs, logdir)
        if time.time() > deadline:
            raise SystemExit(f"celery_chain: timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def submit(tasks, job_ids, submitted):
    first, rest = tasks[0], tasks[1:]
    for job in job_ids:
        sig = chain(first.s(job), *(t.s() for t in rest))
        submitted[job] = time.time()
        sig.apply_async()


def run(args, r, logdir):
    kp = key_prefix(args.prefix)
    done_key, err_key, ready_key = kp + "bench:done", kp + "bench:errors", kp + "bench:ready"
    app_, tasks = build_app(args.redis_url, args.prefix)
    procs = start_workers(args, logdir)
    try:
        n_workers = len(procs)
        wait_for(lambda: r.llen(ready_key) >= n_workers, 120, procs, logdir, "workers to be ready")
        log(f"{n_workers} workers ready ({args.pool} pool, 1 per process); warming up with {args.warmup} jobs")

        warm = [f"w{k}" for k in range(args.warmup)]
        submit(tasks, warm, {})
        wait_for(lambda: r.llen(done_key) >= len(warm), 120, procs, logdir, "the warm-up jobs")
        time.sleep(0.2)
        r.delete(done_key)

        submitted = {}
        jobs = [f"j{k}" for k in range(args.jobs)]
        cpu0, redis0, self0 = tree_cpu_s([p.pid for p in procs]), redis_cpu_s(r), self_cpu_s()
        t0 = time.time()
        submit(tasks, jobs, submitted)
        log(f"submitted {args.jobs} chains in {time.time() - t0:.2f} s")
        wait_for(lambda: r.llen(done_key) >= args.jobs, args.timeout_s, procs, logdir,
                 f"{args.jobs} jobs (done: {r.llen(done_key)})")
        cpu1, redis1, self1 = tree_cpu_s([p.pid for p in procs]), redis_cpu_s(r), self_cpu_s()
    finally:
        stop_workers(procs)

    errors = [e.decode() for e in r.lrange(err_key, 0, -1)]
    if errors:
        raise SystemExit(f"celery_chain: {len(errors)} steps ran out of order, e.g. {errors[:3]}")
    completed, duplicates = {}, 0
    for item in r.lrange(done_key, 0, -1):
        job, ts = item.decode().split()
        if job in completed:
            duplicates += 1
            continue
        completed[job] = float(ts)
    missing = [j for j in jobs if j not in completed]
    if missing:
        raise SystemExit(f"celery_chain: {len(missing)} jobs did not complete, e.g. {missing[:3]}")
    if duplicates:
        log(f"{duplicates} jobs completed more than once (at-least-once redelivery)")

    seconds = max(completed.values()) - t0
    lat = sorted((completed[j] - submitted[j]) * 1000 for j in jobs)
    n = args.jobs
    log(f"{n} jobs in {seconds:.2f} s: {n / seconds:.0f} jobs/s; p50 {percentile(lat, 50):.1f} ms, "
        f"p99 {percentile(lat, 99):.1f} ms; worker CPU {cpu1 - cpu0:.2f} s, Redis CPU "
        f"{redis1 - redis0:.2f} s, this client's CPU {self1 - self0:.2f} s (not counted)")
    return {
        "system": "celery",
        "version": celery.__version__,
        "jobs": n,
        "steps": len(STEPS),
        "processes_per_step": args.processes,
        "seconds": round(seconds, 4),
        "jobs_per_s": round(n / seconds, 2),
        "stage_execs_per_s": round(n * len(STEPS) / seconds, 2),
        "p50_ms": round(percentile(lat, 50), 3),
        "p99_ms": round(percentile(lat, 99), 3),
        "cpu_s_per_job": round((cpu1 - cpu0) / n, 6),
        "redis_cpu_s_per_job": round((redis1 - redis0) / n, 6),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--prefix", required=True, help="every key goes under it; PREFIX* is deleted")
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--processes", type=int, required=True, help="worker processes per step")
    ap.add_argument("--pool", choices=["solo", "prefork"], default="solo")
    ap.add_argument("--warmup", type=int, default=50, help="jobs run before the measured ones")
    ap.add_argument("--timeout-s", type=float, default=600)
    args = ap.parse_args()
    if len(args.prefix.strip(":")) < 3:
        ap.error("--prefix must be at least 3 characters (PREFIX* keys are deleted)")
    if args.jobs < 1 or args.processes < 1:
        ap.error("--jobs and --processes must be at least 1")

    r = redis.Redis.from_url(args.redis_url)
    stale = delete_prefix(r, args.prefix)
    if stale:
        log(f"deleted {stale} keys left under {args.prefix!r} by an earlier run")
    logdir = tempfile.mkdtemp(prefix="celery-chain-")
    try:
        result = run(args, r, logdir)
    finally:
        left = delete_prefix(r, args.prefix)
        log(f"deleted {left} keys under {args.prefix!r}")
    for f in Path(logdir).glob("*.log"):
        f.unlink()
    os.rmdir(logdir)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
