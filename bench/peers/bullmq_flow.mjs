#!/usr/bin/env node
// BullMQ peer of the pipeline-throughput benchmark (issue #8).
//
// A job is a FlowProducer flow of five no-op steps, each a job in its own
// step's queue. A flow's children run before their parent, so the flow is a
// linear chain with publish at the root and transcribe as the deepest leaf:
//   publish <- render <- synthesize <- translate <- transcribe
// Each step reads the value its child returned (job.getChildrenValues(), the
// way a BullMQ flow hands data upwards), checks it came from the step before
// and returns a tiny value of its own. Each queue is served by P child
// processes (child_process.fork), each running one Worker of concurrency C
// (--concurrency, 1 by default: BullMQ's default).
// The program submits N flows as fast as it can (FlowProducer.add, 32 in
// flight), waits for every last step and prints one JSON line on stdout
// (human lines go to stderr):
//
//   node bullmq_flow.mjs --redis-url redis://127.0.0.1:6379 --prefix bench-x --jobs 2000 --processes 1
//
// --pace burst (the default) submits every job at once; --pace serial submits
// one, waits until it is done, then the next (end-to-end latency of a lone
// job); --pace N submits N jobs a second, steadily.
//
// Fairness choices (see README.md): BullMQ's defaults throughout. A job is
// locked while its processor runs and is moved to completed (the
// acknowledgement) only after it returned; a worker whose lock lapses has its
// job redelivered (stalled check): at-least-once with acknowledgement after
// the work, as Voxline's. With concurrency 1 a worker holds one job at a time;
// it fetches the next one inside the script that completes the current one,
// which is BullMQ's own design and kept. Completed jobs are kept (the default
// removeOnComplete: false). Completion is detected as in celery_chain.py: the
// publish step pushes "job_id completion_time" onto a Redis list that this
// program polls with LLEN every 50 ms, rather than through QueueEvents (a
// stream reader of its own on Redis).
//
// Every key lives under the prefix (BullMQ's `prefix` option); all PREFIX*
// keys are deleted at the start (left-overs of an aborted run) and at the end.

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, existsSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const npmDir = process.env.VOXLINE_BENCH_NPM || resolve(here, '../../target/tools/bench-npm');
const STEPS = ['transcribe', 'translate', 'synthesize', 'render', 'publish'];
const POLL_MS = 50;

const log = (msg) => process.stderr.write(`bullmq_flow: ${msg}\n`);
const die = (msg) => { log(msg); process.exit(1); };
// Wall-clock milliseconds with sub-millisecond resolution, comparable across processes.
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!existsSync(join(npmDir, 'node_modules/bullmq/package.json'))) {
  die(`bullmq is not installed in ${npmDir}; run ${join(here, 'setup.sh')} first`);
}
const requireFromNpm = createRequire(join(npmDir, 'node_modules/bullmq/package.json'));
const { FlowProducer, Worker } = requireFromNpm('bullmq');
const IORedis = requireFromNpm('ioredis');
const bullmqVersion = JSON.parse(readFileSync(join(npmDir, 'node_modules/bullmq/package.json'))).version;

function connectionOptions(url) {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    db: Number(u.pathname.replace('/', '') || 0),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null, // as BullMQ asks for its workers' connections
  };
}

// ---- worker process: one Worker, concurrency 1 -------------------------------

async function workerMain(step, url, prefix, concurrency) {
  const i = STEPS.indexOf(step);
  const redis = new IORedis(connectionOptions(url));
  const worker = new Worker(
    step,
    async (job) => {
      let done = 0;
      if (i > 0) {
        const values = Object.values(await job.getChildrenValues());
        done = values.length === 1 ? values[0][1] : -1;
      }
      if (done !== i) await redis.rpush(`${prefix}:bench:errors`, `${job.data.job}: ${step} ran after ${done} steps`);
      if (i === STEPS.length - 1) await redis.rpush(`${prefix}:bench:done`, `${job.data.job} ${nowMs().toFixed(3)}`);
      return [job.data.job, i + 1];
    },
    { connection: connectionOptions(url), prefix, concurrency },
  );
  worker.on('error', (e) => log(`${step} worker: ${e.message}`));
  worker.on('failed', (job, e) => log(`${step} job ${job?.data?.job} failed: ${e.message}`));
  const ready = new Promise((r) => worker.once('ready', r));
  await worker.waitUntilReady();
  await ready;
  process.on('SIGTERM', async () => {
    await worker.close();
    await redis.quit();
    process.exit(0);
  });
  process.send({ ready: step });
}

// ---- the benchmark -----------------------------------------------------------

const CLK_TCK = 100; // USER_HZ: /proc reports ticks of 1/100 s on Linux

// User+system CPU of `roots` and their descendants, reaped children included.
function treeCpuS(roots) {
  const stats = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let raw;
    try { raw = readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // After the comm field: f[1]=ppid, f[11..14]=utime stime cutime cstime.
    stats.set(Number(d), [Number(f[1]), f.slice(11, 15).reduce((a, x) => a + Number(x), 0)]);
  }
  const kids = new Map();
  for (const [pid, [ppid]] of stats) kids.set(ppid, [...(kids.get(ppid) || []), pid]);
  let total = 0;
  const todo = roots.filter((p) => stats.has(p));
  while (todo.length) {
    const pid = todo.pop();
    total += stats.get(pid)[1];
    todo.push(...(kids.get(pid) || []));
  }
  return total / CLK_TCK;
}

async function redisCpuS(r) {
  const info = await r.info('cpu');
  const field = (name) => Number(info.match(new RegExp(`^${name}:([0-9.]+)`, 'm'))[1]);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function deletePrefix(r, prefix) {
  const pattern = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await r.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

const percentile = (sorted, q) =>
  sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((q * sorted.length) / 100) - 1))];

function flowOf(job) {
  // publish is the root; transcribe, the deepest child, runs first.
  let node;
  for (const step of STEPS) {
    node = { name: step, queueName: step, data: { job }, ...(node ? { children: [node] } : {}) };
  }
  return node;
}

function startWorkers(args, logdir) {
  const procs = [];
  for (const step of STEPS) {
    for (let k = 0; k < args.processes; k++) {
      const out = openSync(join(logdir, `${step}-${k}.log`), 'w');
      const child = fork(fileURLToPath(import.meta.url),
        ['--worker', step, '--redis-url', args.redisUrl, '--prefix', args.prefix,
          '--concurrency', String(args.concurrency)],
        { stdio: ['ignore', out, out, 'ipc'] });
      closeSync(out);
      child.readyP = new Promise((res, rej) => {
        child.once('message', (m) => (m.ready ? res() : rej(new Error('bad message'))));
        child.once('exit', (code) => rej(new Error(`${step} worker exited (${code}) before it was ready`)));
      });
      child.on('exit', (code) => { child.exited = code ?? 'signal'; });
      procs.push(child);
    }
  }
  return procs;
}

async function stopWorkers(procs) {
  await Promise.all(procs.map((p) => new Promise((res) => {
    if (p.exitCode !== null || p.signalCode !== null) return res();
    const timer = setTimeout(() => p.kill('SIGKILL'), 15000);
    p.once('exit', () => { clearTimeout(timer); res(); });
    p.kill('SIGTERM');
  })));
}

function checkAlive(procs, logdir) {
  const dead = procs.find((p) => p.exited !== undefined);
  if (!dead) return;
  const tail = readdirSync(logdir).map((f) => readFileSync(join(logdir, f), 'utf8').slice(-1500)).join('');
  throw new Error(`a worker exited (${dead.exited}); logs:\n${tail}`);
}

async function waitFor(predicate, timeoutS, procs, logdir, what, pollMs = POLL_MS) {
  const deadline = Date.now() + timeoutS * 1000;
  while (!(await predicate())) {
    checkAlive(procs, logdir);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutS} s waiting for ${what()}`);
    await sleep(pollMs);
  }
}

// Up to SUBMIT_WINDOW adds in flight (ioredis pipelines them on one
// connection): one add after the other waits a round trip each, and on a busy
// machine that made the submitter, not the pipeline, the bottleneck.
const SUBMIT_WINDOW = 32;

async function submit(flow, jobs, submitted) {
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      submitted.set(job, nowMs());
      await flow.add(flowOf(job));
    }
  };
  await Promise.all(Array.from({ length: Math.min(SUBMIT_WINDOW, jobs.length) }, lane));
}

// Submits one job at a time, each once the one before is done.
async function submitSerially(flow, jobs, submitted, r, doneKey, procs, logdir) {
  for (let k = 0; k < jobs.length; k++) {
    submitted.set(jobs[k], nowMs());
    await flow.add(flowOf(jobs[k]));
    await waitFor(async () => (await r.llen(doneKey)) > k, 60, procs, logdir, () => `job ${jobs[k]}`, 1);
  }
}

// Submits `rate` jobs a second, on a fixed schedule.
async function submitPaced(flow, jobs, submitted, rate) {
  const start = nowMs();
  const adds = [];
  for (let k = 0; k < jobs.length; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    submitted.set(jobs[k], nowMs());
    adds.push(flow.add(flowOf(jobs[k])));
  }
  await Promise.all(adds);
}

async function run(args, r, logdir) {
  const doneKey = `${args.prefix}:bench:done`;
  const errKey = `${args.prefix}:bench:errors`;
  const flow = new FlowProducer({ connection: connectionOptions(args.redisUrl), prefix: args.prefix });
  const procs = startWorkers(args, logdir);
  const pids = () => procs.map((p) => p.pid);
  const jobs = Array.from({ length: args.jobs }, (_, k) => `j${k}`);
  const submitted = new Map();
  let t0, cpu0, cpu1, redis0, redis1, self0, self1;
  try {
    let timer;
    await Promise.race([
      Promise.all(procs.map((p) => p.readyP)),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timed out waiting for workers to be ready')), 120000); }),
    ]).finally(() => clearTimeout(timer));
    await flow.waitUntilReady();
    log(`${procs.length} workers ready (1 Worker of concurrency ${args.concurrency} per process); warming up with ${args.warmup} jobs`);

    const warm = Array.from({ length: args.warmup }, (_, k) => `w${k}`);
    await submit(flow, warm, new Map());
    await waitFor(async () => (await r.llen(doneKey)) >= warm.length, 120, procs, logdir, () => 'the warm-up jobs');
    await sleep(200);
    await r.del(doneKey);

    [cpu0, redis0, self0] = [treeCpuS(pids()), await redisCpuS(r), process.cpuUsage()];
    t0 = nowMs();
    if (args.pace === 'serial') await submitSerially(flow, jobs, submitted, r, doneKey, procs, logdir);
    else if (args.pace === 'burst') await submit(flow, jobs, submitted);
    else await submitPaced(flow, jobs, submitted, Number(args.pace));
    log(`submitted ${args.jobs} flows in ${((nowMs() - t0) / 1000).toFixed(2)} s`);
    let done = 0;
    await waitFor(async () => (done = await r.llen(doneKey)) >= args.jobs, args.timeoutS, procs, logdir,
      () => `${args.jobs} jobs (done: ${done})`);
    [cpu1, redis1, self1] = [treeCpuS(pids()), await redisCpuS(r), process.cpuUsage(self0)];
  } finally {
    await stopWorkers(procs);
    await flow.close();
  }

  const errors = await r.lrange(errKey, 0, -1);
  if (errors.length) throw new Error(`${errors.length} steps ran out of order, e.g. ${errors.slice(0, 3)}`);
  const completed = new Map();
  let duplicates = 0;
  for (const item of await r.lrange(doneKey, 0, -1)) {
    const [job, ts] = item.split(' ');
    if (completed.has(job)) duplicates++;
    else completed.set(job, Number(ts));
  }
  const missing = jobs.filter((j) => !completed.has(j));
  if (missing.length) throw new Error(`${missing.length} jobs did not complete, e.g. ${missing.slice(0, 3)}`);
  if (duplicates) log(`${duplicates} jobs completed more than once (at-least-once redelivery)`);

  const n = args.jobs;
  const seconds = (Math.max(...completed.values()) - t0) / 1000;
  const lat = jobs.map((j) => completed.get(j) - submitted.get(j)).sort((a, b) => a - b);
  const selfS = (self1.user + self1.system) / 1e6;
  log(`${n} jobs in ${seconds.toFixed(2)} s: ${(n / seconds).toFixed(0)} jobs/s; p50 ${percentile(lat, 50).toFixed(1)} ms, `
    + `p99 ${percentile(lat, 99).toFixed(1)} ms; worker CPU ${(cpu1 - cpu0).toFixed(2)} s, Redis CPU `
    + `${(redis1 - redis0).toFixed(2)} s, this client's CPU ${selfS.toFixed(2)} s (not counted)`);
  const round = (x, d) => Number(x.toFixed(d));
  return {
    system: 'bullmq',
    version: bullmqVersion,
    jobs: n,
    steps: STEPS.length,
    processes_per_step: args.processes,
    concurrency: args.concurrency,
    pace: args.pace,
    seconds: round(seconds, 4),
    jobs_per_s: round(n / seconds, 2),
    stage_execs_per_s: round((n * STEPS.length) / seconds, 2),
    p50_ms: round(percentile(lat, 50), 3),
    p99_ms: round(percentile(lat, 99), 3),
    cpu_s_per_job: round((cpu1 - cpu0) / n, 6),
    redis_cpu_s_per_job: round((redis1 - redis0) / n, 6),
  };
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      'redis-url': { type: 'string' }, prefix: { type: 'string' }, jobs: { type: 'string' },
      processes: { type: 'string' }, warmup: { type: 'string', default: '50' },
      'timeout-s': { type: 'string', default: '600' }, worker: { type: 'string' },
      concurrency: { type: 'string', default: '1' }, pace: { type: 'string', default: 'burst' },
    },
  });
  if (!v['redis-url'] || !v.prefix) die('usage: bullmq_flow.mjs --redis-url URL --prefix PREFIX --jobs N --processes P');
  if (v.worker) return workerMain(v.worker, v['redis-url'], v.prefix, Number(v.concurrency));
  const args = {
    redisUrl: v['redis-url'], prefix: v.prefix, jobs: Number(v.jobs), processes: Number(v.processes),
    warmup: Number(v.warmup), timeoutS: Number(v['timeout-s']),
    concurrency: Number(v.concurrency), pace: v.pace,
  };
  if (!(args.concurrency >= 1)) die('--concurrency must be at least 1');
  if (!['burst', 'serial'].includes(args.pace) && !(Number(args.pace) > 0)) die('--pace is burst, serial or jobs a second');
  if (!(args.jobs >= 1 && args.processes >= 1)) die('--jobs and --processes must be at least 1');
  if (args.prefix.replace(/:/g, '').length < 3) die('--prefix must be at least 3 characters (PREFIX* keys are deleted)');

  const r = new IORedis(connectionOptions(args.redisUrl));
  const stale = await deletePrefix(r, args.prefix);
  if (stale) log(`deleted ${stale} keys left under '${args.prefix}' by an earlier run`);
  const logdir = mkdtempSync(join(tmpdir(), 'bullmq-flow-'));
  let result;
  try {
    result = await run(args, r, logdir);
  } catch (e) {
    process.exitCode = 1;
    log(e.message);
  } finally {
    log(`deleted ${await deletePrefix(r, args.prefix)} keys under '${args.prefix}'`);
    await r.quit();
  }
  if (!result) process.exit(1);
  rmSync(logdir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => die(e.stack || String(e)));
