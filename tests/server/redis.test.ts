/**
 * Scale-out: `medseg serve --redis` (a real API server) queues jobs in a real Redis, and two real `medseg worker`
 * processes take them: both take jobs, the results are the local queue's voxel for voxel, progress and events flow
 * through Redis, cancel works for queued and running jobs, a worker killed with SIGKILL mid-job has its job finished
 * by the other worker, a worker stopped with SIGTERM hands its job back, and jobs survive the API server's SIGKILL
 * and a Redis restart (append-only file).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../src/io/nifti/read.js';
import type { BullJobQueue } from '../../src/server/jobs/bull-queue.js';
import { redactRedisUrl } from '../../src/server/jobs/redis-url.js';
import { parseServeArgs } from '../../src/server/serve-command.js';
import { parseWorkerArgs } from '../../src/server/worker-command.js';
import { fixture, ROOT, sha256 } from '../helpers.js';
import { freePort } from '../pacs/orthanc.js';
import { fileBytes, json, MODEL, MODELS, pollJob, readJobEvents, removeTempDirs, spawnServe, startTestServer, tempDir, TOKEN, uploadStudy, type JobJson, type TestServer } from './helpers.js';
import { redisAvailable, spawnWorker, startRedis, type RedisInstance, type WorkerProcess } from './redis.js';

const DEMO_NIFTI = fixture('demo', 'ct.nii.gz');
/** A few seconds per job (4 mm grid, no mirroring). */
const FAST = 'pointwise-4mm';
/** Long enough to be stopped in inference (1 mm grid, 16³ tiles, mirrored on three axes). */
const SLOW = MODEL;

type Job = JobJson & { worker?: string | null; startedAt: string | null; finishedAt: string | null };

const hasRedis = redisAvailable();

afterAll(() => removeTempDirs());

async function submit(s: Pick<TestServer, 'api'>, study: string, model: string): Promise<Job> {
  const res = await s.api('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ study, model, options: {} }) });
  const body = await json<Job>(res);
  if (res.status !== 202) throw new Error(`job refused: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const poll = (s: Pick<TestServer, 'api'>, id: string, until?: (j: Job) => boolean) => pollJob(s, id, until as ((j: JobJson) => boolean) | undefined, 180_000) as Promise<{ job: Job; seen: Job[] }>;

/** The label map and structures a job's results hold. */
async function results(s: Pick<TestServer, 'api'>, id: string, dir: string): Promise<{ sha: string; dims: number[]; counts: [number, number][]; structures: { label: number; voxels: number }[] }> {
  const res = await s.api(`/api/jobs/${id}/results/labels.nii.gz`);
  expect(res.status).toBe(200);
  const file = join(dir, `${id}.nii.gz`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const labels = (await readNifti(file)).volume;
  const counts = new Map<number, number>();
  for (const v of labels.data) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  const stats = await json<{ structures: { label: number; voxels: number }[] }>(await s.api(`/api/jobs/${id}/results/stats.json`));
  return { sha: sha256(labels.data), dims: [...labels.dims], counts: [...counts.entries()].sort((a, b) => a[0] - b[0]), structures: stats.structures.map((x) => ({ label: x.label, voxels: x.voxels })) };
}

/** Job processes (forked job-process.ts) of a process, from /proc. */
function jobProcessesOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('job-process')) out.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitUntilAsync(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `medseg <args>` from the sources; resolves with the exit code and stderr (never rejects on a nonzero exit). */
function medsegRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('scale-out options', () => {
  it('redacts the password of a Redis URL and refuses URLs, prefixes and options that cannot work', () => {
    expect(redactRedisUrl('redis://:s3cret@10.0.0.5:6379/2')).toBe('redis://:***@10.0.0.5:6379/2');
    expect(redactRedisUrl('rediss://app:s3cret@redis.example')).toBe('rediss://app:***@redis.example');
    expect(redactRedisUrl('redis://10.0.0.5')).toBe('redis://10.0.0.5');
    expect(parseServeArgs({ redis: 'http://:s3cret@10.0.0.5:6379' }, {})).toBe('the Redis URL http://:***@10.0.0.5:6379/ must start with redis:// or rediss:// (TLS), got http://');
    expect(parseServeArgs({ redis: 'redis://10.0.0.5/x' }, {})).toBe('the Redis URL redis://10.0.0.5/x names database "x"; a database is a number 0…15');
    expect(parseServeArgs({ redis: 'redis://10.0.0.5', concurrency: '2' }, {})).toBe('--concurrency is how many jobs this server runs, and with --redis it runs none: give --concurrency to each `medseg worker --redis <url>` instead');
    expect(parseServeArgs({ redisPrefix: 'a' }, {})).toBe('--redis-prefix needs --redis <url>');
    expect(parseServeArgs({ redis: 'redis://10.0.0.5', redisPrefix: 'a:b' }, {})).toBe('the Redis key prefix must be 1–64 letters, digits, "_", "." or "-", got "a:b"');
    expect(parseServeArgs({}, { MEDSEG_REDIS_URL: 'redis://10.0.0.5:6380' })).toEqual({ redisUrl: 'redis://10.0.0.5:6380' });
    expect(parseWorkerArgs({}, {})).toBe('worker needs --redis <url> (or MEDSEG_REDIS_URL): the Redis that `medseg serve --redis` uses');
    expect(parseWorkerArgs({ redis: 'redis://h', stallMs: '10' }, {})).toBe('--stall-ms must be a whole number 1000…3600000, got "10"');
    expect(parseWorkerArgs({ data: 'd', models: 'm', concurrency: '3' }, { MEDSEG_REDIS_URL: 'redis://h:1' })).toMatchObject({ redisUrl: 'redis://h:1', prefix: 'medseg', concurrency: 3, stallMs: 30_000, graceMs: 30_000, dataDir: join(process.cwd(), 'd'), modelsDir: join(process.cwd(), 'm') });
  });

  it('fails `medseg worker` with exit code 8 naming the URL without its password when Redis is not there', async () => {
    const port = await freePort();
    const data = tempDir('redis-nowhere');
    mkdirSync(join(data, 'studies'));
    const r = await medsegRun(['worker', '--data', data, '--models', MODELS], { MEDSEG_REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${port}` });
    expect(r.code).toBe(8);
    expect(r.stderr).toBe(`medseg: cannot use the job queue's Redis at redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}. Check that redis-server runs there and accepts this client (host, port, password, database number), e.g. \`redis-cli -u <url> ping\`\n`);
  });

  it('fails `medseg worker` with exit code 2 when the data folder is not an API server\'s', async () => {
    const data = tempDir('redis-empty');
    const r = await medsegRun(['worker', '--redis', 'redis://127.0.0.1:1', '--data', data, '--models', MODELS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`medseg: ${data} has no studies/ folder: --data must be the data folder of the API server (its \`medseg serve --data\`), on storage this machine shares with it\n`);
  });
});

describe.skipIf(!hasRedis)('scale-out: medseg serve --redis with two medseg workers', () => {
  let redis: RedisInstance;
  let data: string;
  let server: TestServer;
  let local: TestServer;
  let study: string;
  const workers: WorkerProcess[] = [];
  /** Reference jobs on the local (SQLite) queue, by model. */
  const reference = new Map<string, Promise<string>>();
  const out = tempDir('redis-out');

  const startWorker = () => spawnWorker(['--data', data, '--models', MODELS, '--stall-ms', '2000', '--grace-ms', '0'], { MEDSEG_REDIS_URL: redis.url });
  const replace = async (w: WorkerProcess) => {
    workers.splice(workers.indexOf(w), 1, await startWorker());
  };

  beforeAll(async () => {
    redis = await startRedis();
    data = tempDir('redis-data');
    server = await startTestServer({ dataDir: data, redisUrl: redis.url });
    workers.push(...(await Promise.all([startWorker(), startWorker()])));
    study = await uploadStudy(server, [fileBytes(DEMO_NIFTI)]);
    local = await startTestServer();
    const localStudy = await uploadStudy(local, [fileBytes(DEMO_NIFTI)]);
    for (const model of [FAST, SLOW]) {
      const job = await submit(local, localStudy, model);
      reference.set(model, poll(local, job.id).then(({ job: j }) => (expect(j.status).toBe('succeeded'), j.id)));
    }
  });

  afterAll(async () => {
    await Promise.all(workers.map(async (w) => {
      w.child.kill('SIGTERM');
      await w.exited;
    }));
    await server?.close({ graceMs: 0 });
    await local?.close({ graceMs: 0 });
    await redis?.stop();
  });

  const expectLocalResults = async (id: string, model: string) => {
    const ref = await results(local, await reference.get(model)!, out);
    const got = await results(server, id, out);
    expect(got).toEqual(ref);
    // Both labels of the pointwise model occur, and the statistics count exactly the voxels of the label map.
    expect(ref.counts.map(([label]) => label)).toEqual([1, 2]);
    expect(ref.counts.every(([, n]) => n > 1000)).toBe(true);
    expect(ref.structures.map((x) => [x.label, x.voxels])).toEqual(ref.counts);
  };

  it('runs jobs on both workers, each job in its own process, with the label voxels of the local queue', { timeout: 300_000 }, async () => {
    const submitted: Job[] = [];
    for (let i = 0; i < 4; i++) submitted.push(await submit(server, study, FAST));
    for (const j of submitted) expect(j).toMatchObject({ status: 'queued', attempts: 0, progress: 0, stage: null, worker: null });
    const done = await Promise.all(submitted.map((j) => poll(server, j.id)));
    for (const { job } of done) expect(job).toMatchObject({ status: 'succeeded', attempts: 1, progress: 1, stage: 'done', etaSeconds: 0, error: null });
    // Each worker runs one job at a time, so with two idle workers the first two jobs went to different workers.
    expect(new Set(done.map(({ job }) => job.worker))).toEqual(new Set(workers.map((w) => w.identity)));
    for (const { job } of done) {
      expect(readdirSync(join(data, 'jobs', job.id))).toEqual(['results']);
      await expectLocalResults(job.id, FAST);
    }
    // Newest first, from the Redis index.
    const listed = await json<{ jobs: Job[] }>(await server.api('/api/jobs?limit=4'));
    expect(listed.jobs.map((j) => j.id)).toEqual(submitted.map((j) => j.id).reverse());
    expect(await (server.queue as BullJobQueue).refreshCounts()).toEqual({ queued: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 });
    expect(await json(await server.api('/readyz'))).toEqual({ status: 'ready', jobs: { queued: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 } });
  });

  it('fails a job whose scan cannot be read with the same error as the local queue, logging only its code', { timeout: 120_000 }, async () => {
    // A DICOM preamble and nothing after it: accepted as an upload, refused by the DICOM reader.
    const fake = Buffer.alloc(200);
    fake.write('DICM', 128, 'latin1');
    const [remoteStudy, localStudy] = await Promise.all([uploadStudy(server, [['x.dcm', fake]]), uploadStudy(local, [['x.dcm', fake]])]);
    const [remote, ref] = await Promise.all([poll(server, (await submit(server, remoteStudy, FAST)).id), poll(local, (await submit(local, localStudy, FAST)).id)]);
    expect(remote.job).toMatchObject({ status: 'failed', attempts: 1, etaSeconds: null });
    expect(ref.job).toMatchObject({ status: 'failed', attempts: 1, stage: remote.job.stage });
    expect(remote.job.error).not.toBeNull();
    expect(remote.job.error!.message.split(remoteStudy).join('<study>')).toBe(ref.job.error!.message.split(localStudy).join('<study>'));
    expect(remote.job.error!.code).toBe(ref.job.error!.code);
    expect(remote.job.error!.message).not.toContain(data);
    const w = workers.find((x) => x.identity === remote.job.worker)!;
    expect(w.stderr()).toContain(`"event":"job_failed","job":"${remote.job.id}","attempt":1,"worker":"${w.identity}"`);
    expect(w.stderr()).toContain(`"code":"${remote.job.error!.code}"`);
    expect(w.stderr()).not.toContain(remote.job.error!.message);
  });

  it('cancels a queued job at once and running jobs on their workers, whose job processes stop', { timeout: 300_000 }, async () => {
    const a = await submit(server, study, SLOW);
    const b = await submit(server, study, SLOW);
    const midA = (await poll(server, a.id, (j) => j.stage === 'inference')).job;
    const midB = (await poll(server, b.id, (j) => j.stage === 'inference')).job;
    expect(new Set([midA.worker, midB.worker])).toEqual(new Set(workers.map((w) => w.identity)));
    // Both workers are busy: a third job waits.
    const c = await submit(server, study, FAST);
    const cancelC = await server.api(`/api/jobs/${c.id}/cancel`, { method: 'POST' });
    expect(cancelC.status).toBe(200);
    expect(await cancelC.json()).toMatchObject({ id: c.id, status: 'cancelled', attempts: 0, worker: null, error: null });
    for (const mid of [midA, midB]) {
      const res = await server.api(`/api/jobs/${mid.id}/cancel`, { method: 'POST' });
      expect(res.status).toBe(200);
      // The answer comes once the worker has stopped the job.
      expect(await res.json()).toMatchObject({ id: mid.id, status: 'cancelled', attempts: 1, worker: mid.worker, error: null });
      expect(readdirSync(join(data, 'jobs', mid.id))).toEqual([]);
      const again = await server.api(`/api/jobs/${mid.id}/cancel`, { method: 'POST' });
      expect(again.status).toBe(409);
      const files = await server.api(`/api/jobs/${mid.id}/results/labels.nii.gz`);
      expect(await files.json()).toEqual({ error: { code: 'NOT_READY', message: `job ${mid.id} is cancelled; results exist only once it has succeeded` } });
    }
    for (const w of workers) {
      expect(w.child.exitCode).toBeNull();
      await waitUntil(`worker ${w.identity} has no job process`, () => jobProcessesOf(w.child.pid!).length === 0);
    }
    const { events } = await readJobEvents(server, c.id);
    expect(events.map((e) => e.status)).toEqual(['cancelled']);
    // The workers go on taking jobs.
    const d = await submit(server, study, FAST);
    expect((await poll(server, d.id)).job).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('finishes a job on the other worker when its worker is killed with SIGKILL mid-job, events streaming throughout', { timeout: 300_000 }, async () => {
    const job = await submit(server, study, SLOW);
    const stream = readJobEvents(server, job.id);
    const mid = (await poll(server, job.id, (j) => j.stage === 'inference' && j.progress > 0.15)).job;
    const victim = workers.find((w) => w.identity === mid.worker)!;
    const other = workers.find((w) => w !== victim)!;
    expect(mid).toMatchObject({ status: 'running', attempts: 1 });
    const orphans = jobProcessesOf(victim.child.pid!);
    expect(orphans.length).toBe(1);
    expect(readdirSync(join(data, 'jobs', job.id))).toEqual(['attempt-1']);

    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBeNull();
    // Its IPC channel closed, the job process stops too (it must not write next to the rerun).
    await waitUntil('the killed worker\'s job process has exited', () => !existsSync(`/proc/${orphans[0]}`));
    const { job: done } = await poll(server, job.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, progress: 1, error: null, worker: other.identity });
    expect(readdirSync(join(data, 'jobs', job.id))).toEqual(['results']);
    await expectLocalResults(job.id, SLOW);

    const { contentType, events: raw } = await stream;
    const events = raw as Job[];
    expect(contentType).toBe('text/event-stream; charset=utf-8');
    const first = events.filter((e) => e.status === 'running' && e.attempts === 1);
    const second = events.filter((e) => e.status === 'running' && e.attempts === 2);
    expect(first.every((e) => e.worker === victim.identity)).toBe(true);
    expect(second.every((e) => e.worker === other.identity)).toBe(true);
    expect(first.some((e) => e.stage === 'inference' && e.etaSeconds !== null && e.etaSeconds > 0)).toBe(true);
    expect(second.map((e) => e.stage)).toContain('writing');
    for (const run of [first, second]) expect(run.every((e, i) => i === 0 || e.progress >= run[i - 1]!.progress)).toBe(true);
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', attempts: 2, progress: 1, stage: 'done', worker: other.identity });
    await replace(victim);
  });

  it('hands a running job back to the queue on SIGTERM without counting an attempt; the other worker runs it', { timeout: 300_000 }, async () => {
    const job = await submit(server, study, SLOW);
    const mid = (await poll(server, job.id, (j) => j.stage === 'inference')).job;
    const leaving = workers.find((w) => w.identity === mid.worker)!;
    const staying = workers.find((w) => w !== leaving)!;
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    expect(leaving.stderr()).toContain('medseg worker: SIGTERM: taking no more jobs');
    expect(leaving.stderr()).toContain(`"event":"job_requeued","job":"${job.id}"`);
    const { job: done } = await poll(server, job.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, worker: staying.identity });
    await replace(leaving);
  });

  it('keeps accepted jobs across a SIGKILL of `medseg serve --redis` and a Redis restart; a worker with concurrency 2 runs two at once', { timeout: 300_000 }, async () => {
    await Promise.all(workers.splice(0).map(async (w) => {
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    }));
    const first = await spawnServe(['--port', '0', '--data', data, '--models', MODELS, '--token', TOKEN], { MEDSEG_REDIS_URL: redis.url });
    expect(first.stderr()).toContain(`jobs queued in ${redactRedisUrl(redis.url)} for medseg worker`);
    const api = { api: (p: string, init: RequestInit = {}) => fetch(first.url + p, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } }) };
    const jobs = [await submit(api, study, FAST), await submit(api, study, FAST)];
    const job = jobs[0]!;
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Redis writes every change to its append-only file (appendfsync always in this test), and reads it back.
    await redis.stop({ keepFiles: true });
    // Meanwhile the API answers 503 instead of hanging.
    await waitUntilAsync('/readyz answers 503', async () => (await server.api('/readyz')).status === 503);
    const during = await server.api(`/api/jobs/${job.id}`);
    expect(during.status).toBe(503);
    expect(await during.json()).toEqual({ error: { code: 'REMOTE_UNAVAILABLE', message: 'the job queue (Redis) is not answering; retry in a moment' } });
    redis = await startRedis({ dir: redis.dir, port: redis.port, password: redis.password });
    // The other API server reconnects by itself; nobody has run the jobs yet.
    for (const j of jobs) expect((await poll(server, j.id, (x) => x.status === 'queued')).job).toMatchObject({ status: 'queued', attempts: 0, worker: null });
    // One worker running two jobs at a time takes both at once.
    workers.push(await spawnWorker(['--data', data, '--models', MODELS, '--stall-ms', '2000', '--grace-ms', '0', '--concurrency', '2'], { MEDSEG_REDIS_URL: redis.url }));
    const done = await Promise.all(jobs.map(async (j) => (await poll(server, j.id)).job));
    for (const d of done) expect(d).toMatchObject({ status: 'succeeded', attempts: 1, worker: workers[0]!.identity });
    const lastStart = Math.max(...done.map((d) => Date.parse(d.startedAt!)));
    const firstEnd = Math.min(...done.map((d) => Date.parse(d.finishedAt!)));
    expect(lastStart).toBeLessThan(firstEnd);
    for (const d of done) await expectLocalResults(d.id, FAST);
  });

  it('imports a finished result once as a succeeded job (the demo result)', async () => {
    const id = `job_${'ab'.repeat(16)}`;
    const spec = { study, model: FAST, options: {} };
    const record = await server.queue.importSucceeded(id, spec, local.queue.resultsDir(await reference.get(FAST)!));
    expect(record).toMatchObject({ id, study, model: FAST, status: 'succeeded', stage: 'done', progress: 1, etaSeconds: 0, attempts: 0, worker: null, error: null });
    // Idempotent: a second import finds the job and reads no files.
    expect(await server.queue.importSucceeded(id, spec, join(data, 'nowhere'))).toEqual(record);
    await expectLocalResults(id, FAST);
  });

  it('refuses a wrong Redis password with a typed error naming the URL without it, and logs no secrets', async () => {
    const url = `redis://:wrong-password@127.0.0.1:${redis.port}`;
    await expect(startTestServer({ dataDir: tempDir('redis-wrong'), redisUrl: url })).rejects.toMatchObject({
      name: 'QueueConnectionError',
      code: 'REMOTE_UNAVAILABLE',
      message: `cannot use the job queue's Redis at redis://:***@127.0.0.1:${redis.port}: WRONGPASS invalid username-password pair or user is disabled. Check that redis-server runs there and accepts this client (host, port, password, database number), e.g. \`redis-cli -u <url> ping\``,
    });
    expect(JSON.stringify(server.logs)).not.toContain(redis.password);
    for (const w of workers) expect(w.stderr()).not.toContain(redis.password);
  });
});
