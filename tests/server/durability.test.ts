/**
 * A job accepted is never lost: `medseg serve` killed with SIGKILL mid-job, started again on the same data folder,
 * runs the job again to success; its job process does not outlive it; a graceful stop queues a running job for the
 * next start without counting it as a crash.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNifti } from '../../src/io/nifti/read.js';
import { SqliteJobStore } from '../../src/server/jobs/sqlite-store.js';
import { fixture } from '../helpers.js';
import { fileBytes, json, MODELS, pollJob, removeTempDirs, spawnServe, startTestServer, submitJob, tempDir, TOKEN, uploadStudy } from './helpers.js';

const DEMO_NIFTI = fixture('demo', 'ct.nii.gz');

const api = (url: string) => (path: string, init: RequestInit = {}) => fetch(url + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });

/** Child processes of `pid` (from /proc), with their command lines. */
function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000) {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterAll(() => removeTempDirs());

describe('durable jobs', () => {
  it('reruns a job to success after the server is killed with SIGKILL mid-job, and the orphaned job process exits', async () => {
    const data = tempDir('kill');
    const args = ['--port', '0', '--data', data, '--models', MODELS, '--token', TOKEN];
    const first = await spawnServe(args);
    const s1 = { api: api(first.url) };
    const study = await uploadStudy(s1, [fileBytes(DEMO_NIFTI)]);
    const job = await submitJob(s1, study); // with test-time mirroring: long enough to be killed in inference
    const { job: mid } = await pollJob(s1, job.id, (j) => j.stage === 'inference' && j.progress > 0.15);
    expect(mid).toMatchObject({ status: 'running', attempts: 1 });
    // Mid-job, nothing is served and no results folder exists: the job process writes into its attempt folder.
    const early = await s1.api(`/api/jobs/${job.id}/results/labels.nii.gz`);
    expect(early.status).toBe(409);
    expect(await early.json()).toEqual({ error: { code: 'NOT_READY', message: `job ${job.id} is running; results exist only once it has succeeded` } });
    expect(readdirSync(join(data, 'jobs', job.id))).toEqual(['attempt-1']);
    const workers = childrenOf(first.child.pid!).filter((c) => c.cmd.includes('job-process'));
    expect(workers.length).toBe(1);

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Its IPC channel closed, the job process stops too (it must not write next to the rerun).
    await waitUntil('the orphaned job process has exited', () => !existsSync(`/proc/${workers[0]!.pid}`));
    const store = new SqliteJobStore(join(data, 'jobs.sqlite'));
    expect(store.get(job.id)).toMatchObject({ status: 'running', attempts: 1 });
    store.close();

    const second = await spawnServe(args);
    try {
      const s2 = { api: api(second.url) };
      const { job: done } = await pollJob(s2, job.id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, progress: 1, error: null });
      expect(readdirSync(join(data, 'jobs', job.id))).toEqual(['results']);
      const res = await s2.api(`/api/jobs/${job.id}/results/labels.nii.gz`);
      const file = join(data, 'downloaded.nii.gz');
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const labels = (await readNifti(file)).volume;
      const scan = (await readNifti(DEMO_NIFTI)).volume;
      expect(labels.dims).toEqual(scan.dims);
      const counts = new Map<number, number>();
      for (const v of labels.data) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
      const stats = await json<{ structures: { label: number; voxels: number }[] }>(await s2.api(`/api/jobs/${job.id}/results/stats.json`));
      expect(stats.structures.map((x) => [x.label, x.voxels])).toEqual([...counts.entries()].sort((a, b) => a[0] - b[0]));
      expect(stats.structures.reduce((n, x) => n + x.voxels, 0)).toBeGreaterThan(0);
    } finally {
      second.child.kill('SIGTERM');
      const code = await new Promise((r) => second.child.once('exit', r));
      expect(code).toBe(0);
      expect(second.stderr()).toContain('medseg serve: SIGTERM: finishing running jobs');
    }
  });

  it('on graceful shutdown queues a running job for the next start without counting it as an attempt', async () => {
    const s = await startTestServer();
    const study = await uploadStudy(s, [fileBytes(DEMO_NIFTI)]);
    const job = await submitJob(s, study, { tta: false });
    await pollJob(s, job.id, (j) => j.status === 'running');
    await s.close({ graceMs: 0 });
    expect(s.logs.some((l) => l.event === 'job_requeued' && l.job === job.id)).toBe(true);
    const store = new SqliteJobStore(join(s.dataDir, 'jobs.sqlite'));
    expect(store.get(job.id)).toMatchObject({ status: 'queued', attempts: 0, progress: 0 });
    store.close();
    const again = await startTestServer({ dataDir: s.dataDir });
    try {
      const { job: done } = await pollJob(again, job.id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect((await again.api('/readyz')).status).toBe(200);
    } finally {
      await again.close({ graceMs: 0 });
    }
    // After close, the server answers no more.
    await expect(fetch(`${again.url}/healthz`)).rejects.toThrow();
  });

  it('recovers interrupted jobs at start-up: queued again, cancelled when a cancel was asked, failed after maxAttempts', () => {
    const store = new SqliteJobStore(join(tempDir('store'), 'jobs.sqlite'));
    const spec = { study: `st_${'1'.repeat(32)}`, model: 'm', options: {} };
    const ids = ['job_a', 'job_b', 'job_c'];
    ids.forEach((id, i) => store.insert(id, spec, new Date(Date.UTC(2025, 0, 1, 0, 0, i))));
    expect(store.claimNext()!.id).toBe('job_a'); // oldest first
    expect(store.claimNext()!.id).toBe('job_b');
    expect(store.claimNext()!.id).toBe('job_c');
    expect(store.claimNext()).toBeUndefined();
    store.requestCancel('job_b');
    expect(store.recover(2)).toEqual({ requeued: ['job_a', 'job_c'], failed: [], cancelled: ['job_b'] });
    expect(store.claimNext()!.attempts).toBe(2);
    expect(store.recover(2)).toEqual({ requeued: [], failed: ['job_a'], cancelled: [] });
    const failed = store.get('job_a')!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({ code: 'INTERRUPTED', message: "the server stopped during this job 2 times; it is not run again (maxAttempts 2). Submit it again, or check the server's memory and logs" });
    expect(store.finish('job_a', 'succeeded')).toBe(false); // a finished job stays finished
    expect(store.countByStatus()).toEqual({ queued: 1, running: 0, succeeded: 0, failed: 1, cancelled: 1 });
    store.close();
  });
});
