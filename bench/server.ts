/**
 * The service benchmark (`npm run bench -- server`, issue 7): concurrent load on a real `medseg serve` process.
 *
 * 1. Baseline, same run: one upload + job alone on an idle server (median of `reps` jobs, one after another).
 * 2. Local queue (SQLite + a process per job, `--concurrency` = CPU cores): N clients upload the same study at once,
 *    each then submits its job and waits for it; meanwhile a prober sends sequential GET /healthz and GET /api/jobs/:id
 *    requests and records their latency. Reported: wall time, throughput (jobs/min), speed-up against N × the baseline
 *    job, p50/p95/max latency, and that every accepted job ended `succeeded` (none lost).
 * 3. Scale-out, when redis-server is installed: the same load through `medseg serve --redis` with one `medseg worker`
 *    and then two (each `--concurrency 1`): throughput of two workers relative to one.
 *
 * Defaults: the demo CT (fixtures/demo/ct.nii.gz, 256×256×76) with the fast real test model pointwise-4mm; override
 * with MEDSEG_BENCH_SERVER_SCAN, MEDSEG_BENCH_SERVER_MODELS (a folder of cards) and MEDSEG_BENCH_SERVER_MODEL (a
 * card name), and N with MEDSEG_BENCH_SERVER_JOBS (default 8).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './lib/proc.js';
import { fmt, markdownTable, max, median } from './lib/stats.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'src', 'cli', 'main.ts');
const TSX_LOADER = import.meta.resolve('tsx');

interface SectionContext {
  reps: number;
  log: (line: string) => void;
}

interface LoadResult {
  setup: string;
  jobs: number;
  wallMs: number;
  jobsPerMin: number;
  /** N × the baseline job time / wall time. */
  speedup: number;
  succeeded: number;
  notSucceeded: { id: string; status: string }[];
  latencyMs: { route: string; n: number; p50: number; p95: number; max: number }[];
}

export interface ServerBenchResult {
  scan: string;
  model: string;
  cores: number;
  baselineJobMs: number;
  loads: LoadResult[];
  twoWorkersOverOne: number | null;
  skipped: string[];
}

function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** `medseg <args>` as a child process (through tsx, as the job processes it forks). */
function medseg(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', TSX_LOADER, CLI, ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Resolves once the child's stderr matches `pattern` (with the match), rejects when it exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 120_000): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs / 1000} s:\n${text.slice(-2000)}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${text.slice(-2000)}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

interface Job {
  id: string;
  status: string;
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** One client: upload, submit, poll until finished. */
async function oneJob(base: string, scan: Uint8Array, scanName: string, model: string, started: (id: string) => void): Promise<Job> {
  const fd = new FormData();
  fd.append('file', new Blob([scan]), scanName);
  const up = await fetch(`${base}/api/studies`, { method: 'POST', body: fd });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
  const study = ((await up.json()) as { id: string }).id;
  const job = await postJson<Job>(`${base}/api/jobs`, { study, model });
  started(job.id);
  for (;;) {
    const j = (await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as Job;
    if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** N clients at once, with a prober measuring API latency until they are all done. */
async function load(base: string, setup: string, n: number, scan: Uint8Array, scanName: string, model: string, baselineJobMs: number): Promise<LoadResult> {
  const ids: string[] = [];
  let done = false;
  const lat: Record<string, number[]> = { 'GET /healthz': [], 'GET /api/jobs/:id': [] };
  const prober = (async () => {
    while (!done) {
      for (const [route, path] of [['GET /healthz', '/healthz'], ['GET /api/jobs/:id', ids.length ? `/api/jobs/${ids[ids.length - 1]}` : null]] as const) {
        if (!path) continue;
        const t0 = performance.now();
        await (await fetch(base + path)).arrayBuffer();
        lat[route]!.push(performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = performance.now();
  const jobs = await Promise.all(Array.from({ length: n }, () => oneJob(base, scan, scanName, model, (id) => ids.push(id))));
  const wallMs = performance.now() - t0;
  done = true;
  await prober;
  const notSucceeded = jobs.filter((j) => j.status !== 'succeeded');
  return {
    setup,
    jobs: n,
    wallMs,
    jobsPerMin: (n / wallMs) * 60_000,
    speedup: (n * baselineJobMs) / wallMs,
    succeeded: n - notSucceeded.length,
    notSucceeded,
    latencyMs: Object.entries(lat).map(([route, v]) => ({ route, n: v.length, p50: percentile(v, 50), p95: percentile(v, 95), max: max(v) })),
  };
}

async function withServe<T>(args: string[], fn: (base: string) => Promise<T>): Promise<T> {
  const child = medseg(['serve', '--port', '0', ...args]);
  try {
    const m = await waitForLine(child, /listening on (http:\/\/\S+)/, 'medseg serve');
    return await fn(m[1]!);
  } finally {
    await stop(child);
  }
}

export async function runServerSection(ctx: SectionContext): Promise<{ result: ServerBenchResult; summary: string }> {
  const scanFile = process.env.MEDSEG_BENCH_SERVER_SCAN ?? join(REPO, 'fixtures', 'demo', 'ct.nii.gz');
  const modelsDir = process.env.MEDSEG_BENCH_SERVER_MODELS ?? join(REPO, 'fixtures', 'models');
  const model = process.env.MEDSEG_BENCH_SERVER_MODEL ?? 'pointwise-4mm';
  const n = Number(process.env.MEDSEG_BENCH_SERVER_JOBS ?? 8);
  const cores = availableParallelism();
  const scan = readFileSync(scanFile);
  const scanName = basename(scanFile);
  const work = mkdtempSync(join(tmpdir(), 'medseg-bench-server-'));
  const skipped: string[] = [];
  const loads: LoadResult[] = [];
  let baselineJobMs = NaN;
  try {
    ctx.log(`server: baseline, ${ctx.reps} jobs one after another on an idle server`);
    await withServe(['--data', join(work, 'base'), '--models', modelsDir, '--concurrency', '1'], async (base) => {
      await oneJob(base, scan, scanName, model, () => undefined); // warm-up: first job process start, caches
      const times: number[] = [];
      for (let i = 0; i < ctx.reps; i++) {
        const t0 = performance.now();
        const j = await oneJob(base, scan, scanName, model, () => undefined);
        if (j.status !== 'succeeded') throw new Error(`baseline job ${j.id} ${j.status}`);
        times.push(performance.now() - t0);
      }
      baselineJobMs = median(times);
    });

    ctx.log(`server: local queue, ${n} clients at once, --concurrency ${cores}`);
    await withServe(['--data', join(work, 'local'), '--models', modelsDir, '--concurrency', String(cores)], async (base) => {
      loads.push(await load(base, `local queue, --concurrency ${cores}`, n, scan, scanName, model, baselineJobMs));
    });

    const redisServer = which('redis-server');
    if (!redisServer) skipped.push('scale-out: redis-server is not installed (apt-get install redis-server)');
    else {
      for (const workers of [1, 2]) {
        ctx.log(`server: redis, ${workers} worker(s), ${n} clients at once`);
        const port = await freePort();
        const redis = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: ['ignore', 'pipe', 'pipe'] });
        const ws: ChildProcess[] = [];
        try {
          await new Promise<void>((resolve, reject) => {
            let out = '';
            redis.stdout!.on('data', (d: Buffer) => {
              out += d.toString();
              if (/Ready to accept connections/.test(out)) resolve();
            });
            redis.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-1000)}`)));
          });
          const url = `redis://127.0.0.1:${port}`;
          const data = join(work, `redis-${workers}`);
          await withServe(['--data', data, '--models', modelsDir, '--redis', url], async (base) => {
            for (let i = 0; i < workers; i++) {
              const w = medseg(['worker', '--redis', url, '--data', data, '--models', modelsDir, '--concurrency', '1']);
              ws.push(w);
              w.stderr!.resume();
            }
            loads.push(await load(base, `redis, ${workers} worker${workers > 1 ? 's' : ''} × concurrency 1`, n, scan, scanName, model, baselineJobMs));
          });
        } finally {
          await Promise.all(ws.map(stop));
          await stop(redis);
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const one = loads.find((l) => l.setup.startsWith('redis, 1 '));
  const two = loads.find((l) => l.setup.startsWith('redis, 2 '));
  const result: ServerBenchResult = { scan: scanFile, model, cores, baselineJobMs, loads, twoWorkersOverOne: one && two ? one.wallMs / two.wallMs : null, skipped };
  const rows = loads.map((l) => [
    l.setup,
    `${l.succeeded}/${l.jobs}`,
    fmt(l.wallMs / 1000, 1),
    fmt(l.jobsPerMin, 1),
    fmt(l.speedup, 2),
    ...l.latencyMs.flatMap((x) => [`${fmt(x.p50, 1)} / ${fmt(x.p95, 1)} / ${fmt(x.max, 0)}`]),
  ]);
  const summary = [
    `## Server: ${n} simultaneous uploads + jobs (${basename(scanFile)}, model ${model}, ${cores} cores)`,
    '',
    `Baseline: one upload + job alone on an idle server, median of ${ctx.reps}: ${fmt(baselineJobMs / 1000, 2)} s. Speed-up = ${n} × baseline / wall. Latency: sequential probe requests while the jobs run (p50 / p95 / max ms).`,
    '',
    markdownTable(['setup', 'succeeded', 'wall s', 'jobs/min', 'speed-up', 'GET /healthz', 'GET /api/jobs/:id'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r']),
    ...(result.twoWorkersOverOne !== null ? ['', `Two workers over one (redis): ${fmt(result.twoWorkersOverOne, 2)}× the throughput.`] : []),
    ...(skipped.length ? ['', `Skipped: ${skipped.join('; ')}`] : []),
  ].join('\n');
  return { result, summary };
}
