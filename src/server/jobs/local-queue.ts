/**
 * The single-machine job queue: jobs in SQLite, each run in its own process, `concurrency` at a time.
 * Layout under the data folder: `jobs.sqlite`, `jobs/<id>/attempt-<n>/` while a job runs (the job process writes
 * there) and `jobs/<id>/results/` once it succeeded: the attempt folder is renamed into place whole, so results are
 * either complete or absent.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { SegError } from '../../errors.js';
import { HttpError } from '../http-error.js';
import { newId } from '../ids.js';
import { RESULT_FILES } from '../views.js';
import type { Logger } from '../options.js';
import type { ChildTask } from './child-protocol.js';
import { etaSeconds, overallProgress } from './progress.js';
import { JobProcessError, runInChild, type RunInChildOptions } from './run-in-child.js';
import { JobListeners } from './listeners.js';
import { SqliteJobStore } from './sqlite-store.js';
import type { JobError, JobListener, JobQueue, JobRecord, JobSpec, JobStage } from './types.js';

export interface LocalJobQueueOptions {
  dataDir: string;
  concurrency: number;
  maxAttempts: number;
  log: Logger;
  /** Turns a job into the task its process runs (study and model resolved to paths; results into `out`). */
  prepare: (job: JobRecord, out: string) => Promise<ChildTask>;
  /** Runs a task (default: runInChild). */
  execute?: ((task: ChildTask, options: RunInChildOptions) => Promise<void>) | undefined;
  /** Strips server paths from error messages before clients see them. */
  sanitize?: ((message: string) => string) | undefined;
}

interface Live {
  record: JobRecord;
  controller: AbortController;
  /** Why the job is being stopped, when it is. */
  stopping?: 'cancel' | 'shutdown' | undefined;
  startedMs: number;
  persistedMs: number;
  emittedMs: number;
  done?: Promise<void> | undefined;
}

/** Progress is written to SQLite at most this often (stage changes at once): it is for display, not recovery. */
const PERSIST_EVERY_MS = 1000;
/** Listeners (SSE) hear progress at most this often per job (status and stage changes at once). */
const EMIT_EVERY_MS = 200;

export function jobError(e: unknown, sanitize: (m: string) => string): JobError {
  if (e instanceof SegError || e instanceof HttpError) return { code: e.code, message: sanitize(e.message) };
  if (e instanceof JobProcessError) return { code: 'JOB_PROCESS_FAILED', message: sanitize(e.message) };
  return { code: 'INTERNAL', message: 'internal error in the job; the server log has the details under this job id' };
}

export class LocalJobQueue implements JobQueue {
  private readonly store: SqliteJobStore;
  private readonly jobsDir: string;
  private readonly live = new Map<string, Live>();
  private readonly listeners: JobListeners;
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private readonly execute: (task: ChildTask, options: RunInChildOptions) => Promise<void>;
  private readonly sanitize: (m: string) => string;

  constructor(private readonly options: LocalJobQueueOptions) {
    this.jobsDir = path.join(options.dataDir, 'jobs');
    this.store = new SqliteJobStore(path.join(options.dataDir, 'jobs.sqlite'));
    this.execute = options.execute ?? runInChild;
    this.sanitize = options.sanitize ?? ((m) => m);
    this.listeners = new JobListeners(options.log);
  }

  get ready(): boolean {
    return this.state === 'open';
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.jobsDir, { recursive: true });
    const report = this.store.recover(this.options.maxAttempts);
    if (report.requeued.length + report.failed.length + report.cancelled.length > 0) this.options.log({ event: 'jobs_recovered', ...report });
    this.state = 'open';
    this.pump();
  }

  async submit(spec: JobSpec): Promise<JobRecord> {
    if (this.state !== 'open') throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down and accepts no new jobs; retry against the restarted server');
    const record = this.store.insert(newId('job'), spec);
    this.options.log({ event: 'job_queued', job: record.id, study: record.study, model: record.model });
    queueMicrotask(() => this.pump());
    return record;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const live = this.live.get(id);
    return live ? { ...live.record } : this.store.get(id);
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = await this.get(id);
    if (!job) return undefined;
    if (job.status === 'queued') {
      if (this.store.finish(id, 'cancelled')) this.options.log({ event: 'job_cancelled', job: id, while: 'queued' });
      const now = this.store.get(id)!;
      this.emit(now);
      return now;
    }
    const live = this.live.get(id);
    if (job.status === 'running' && live) {
      this.store.requestCancel(id);
      live.stopping ??= 'cancel';
      live.controller.abort();
      await live.done;
    }
    return this.store.get(id);
  }

  subscribe(id: string, listener: JobListener): () => void {
    return this.listeners.subscribe(id, listener);
  }

  resultsDir(id: string): string {
    return path.join(this.jobsDir, id, 'results');
  }

  async list(limit: number): Promise<JobRecord[]> {
    return this.store.list(limit).map((r) => (this.live.has(r.id) ? { ...this.live.get(r.id)!.record } : r));
  }

  async importSucceeded(id: string, spec: JobSpec, resultsFrom: string): Promise<JobRecord> {
    const existing = this.store.get(id);
    if (existing) return existing;
    // Files first, then the row: a crash in between leaves a folder nobody references, never a job without results.
    const results = this.resultsDir(id);
    const staging = path.join(this.jobsDir, id, 'import');
    await fsp.rm(staging, { recursive: true, force: true });
    await copyResultFiles(resultsFrom, staging);
    await fsp.rm(results, { recursive: true, force: true });
    await fsp.rename(staging, results);
    this.store.insertSucceeded(id, spec);
    this.options.log({ event: 'job_imported', job: id, study: spec.study, model: spec.model });
    return this.store.get(id)!;
  }

  async close({ graceMs = 30_000 }: { graceMs?: number } = {}): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    const running = () => [...this.live.values()].map((l) => l.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running()), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const l of this.live.values()) {
      l.stopping ??= 'shutdown';
      l.controller.abort();
    }
    await Promise.all(running());
    this.store.close();
    this.state = 'closed';
  }

  counts() {
    return this.store.countByStatus();
  }

  private pump(): void {
    while (this.state === 'open' && this.live.size < this.options.concurrency) {
      const job = this.store.claimNext();
      if (!job) return;
      this.run(job);
    }
  }

  private run(job: JobRecord): void {
    const now = performance.now();
    const live: Live = { record: job, controller: new AbortController(), startedMs: now, persistedMs: now, emittedMs: now };
    this.live.set(job.id, live);
    this.emit(job);
    this.options.log({ event: 'job_started', job: job.id, attempt: job.attempts });
    live.done = this.runToEnd(live);
  }

  private async runToEnd(live: Live): Promise<void> {
    const { id } = live.record;
    const jobDir = path.join(this.jobsDir, id);
    const attemptDir = path.join(jobDir, `attempt-${live.record.attempts}`);
    let outcome: 'succeeded' | 'failed' | 'cancelled' | 'requeued';
    let error: JobError | null = null;
    try {
      await removeAttempts(jobDir);
      await fsp.mkdir(attemptDir, { recursive: true });
      const task = await this.options.prepare(live.record, attemptDir);
      await this.execute(task, {
        signal: live.controller.signal,
        onProgress: (p) => this.progress(live, p.stage, p.done, p.total),
        onWriting: () => this.progress(live, 'writing', 0, 1),
      });
      // Complete results replace whatever an interrupted earlier attempt may have renamed into place.
      const results = this.resultsDir(id);
      await fsp.rm(results, { recursive: true, force: true });
      await fsp.rename(attemptDir, results);
      outcome = 'succeeded';
    } catch (e) {
      await fsp.rm(attemptDir, { recursive: true, force: true }).catch(() => undefined);
      if (live.stopping === 'shutdown') outcome = 'requeued';
      else if (live.stopping === 'cancel' || this.store.cancelRequested(id)) outcome = 'cancelled';
      else {
        outcome = 'failed';
        error = jobError(e, this.sanitize);
        if (error.code === 'INTERNAL') this.options.log({ event: 'job_internal_error', job: id, error: this.sanitize(String((e as Error)?.stack ?? e)) });
      }
    }
    if (outcome === 'requeued') this.store.requeue(id, false);
    else this.store.finish(id, outcome, error);
    this.live.delete(id);
    const final = this.store.get(id);
    this.options.log({ event: `job_${outcome}`, job: id, ms: Math.round(performance.now() - live.startedMs), ...(error ? { code: error.code } : {}) });
    if (final) this.emit(final);
    this.pump();
  }

  private progress(live: Live, stage: JobStage, done: number, total: number): void {
    if (live.stopping) return;
    const prev = live.record;
    const progress = Math.max(prev.progress, overallProgress(stage, done, total));
    const now = performance.now();
    const eta = etaSeconds(progress, now - live.startedMs);
    live.record = { ...prev, stage, progress, etaSeconds: eta };
    const stageChanged = stage !== prev.stage;
    if (stageChanged || now - live.persistedMs >= PERSIST_EVERY_MS) {
      this.store.progress(prev.id, stage, progress, eta);
      live.persistedMs = now;
    }
    if (stageChanged || now - live.emittedMs >= EMIT_EVERY_MS) {
      live.emittedMs = now;
      this.emit(live.record);
    }
  }

  private emit(job: JobRecord): void {
    this.listeners.emit(job);
  }
}

/**
 * Copies the result files a job serves (labels.nii.gz and stats.json required, stats.csv and provenance.json when
 * present) from `from` into a new folder `to`.
 * @throws HttpError 500 BAD_RESULTS naming the missing file.
 */
export async function copyResultFiles(from: string, to: string): Promise<void> {
  await fsp.mkdir(to, { recursive: true });
  for (const name of Object.keys(RESULT_FILES)) {
    const src = path.join(from, name);
    try {
      await fsp.copyFile(src, path.join(to, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (name === 'labels.nii.gz' || name === 'stats.json') throw new HttpError(500, 'BAD_RESULTS', `cannot import results from ${from}: ${name} is missing (run \`medseg segment\` or \`medseg stats --out\` into that folder first)`);
    }
  }
}

/** Folders of attempts a crash interrupted: nothing reads them, and a rerun starts from scratch. */
async function removeAttempts(jobDir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(jobDir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith('attempt-')).map((n) => fsp.rm(path.join(jobDir, n), { recursive: true, force: true })));
}
