/**
 * What `medseg worker` runs: takes jobs from the BullMQ queue in Redis, `concurrency` at a time, each in its own
 * process (runInChild, as the local queue does), with the study read from the shared data folder and the results
 * renamed into `jobs/<id>/results/` there.
 *
 * - Crash: BullMQ keeps a lock per running job that this process renews (every stallMs/2). When the process dies,
 *   the lock expires and another worker's stalled check (every stallMs) puts the job back in the queue; whoever
 *   takes it finds the record `running` and starts attempt n+1 (or fails it after maxAttempts). The job process
 *   of a killed worker exits with it (its IPC channel closes), so it never writes next to the rerun.
 * - Cancel: the API marks the record and publishes the id; the worker running it aborts its process (cooperative
 *   cancel, SIGKILL after 5 s). It also polls the mark every second, in case it missed the message.
 * - Shutdown: stop taking jobs, let running ones finish for `graceMs`, then stop them and hand them back (queued
 *   again without counting an attempt; BullMQ's moveToWait).
 */
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { pathSanitizer } from '../app.js';
import { isId } from '../ids.js';
import { ModelCatalog } from '../models.js';
import { DEFAULT_LIMITS, ServerConfigError, type Logger } from '../options.js';
import { StudyStore } from '../studies.js';
import type { ChildTask } from './child-protocol.js';
import { jobError } from './local-queue.js';
import { segmentTaskPreparer } from './prepare.js';
import { etaSeconds, overallProgress } from './progress.js';
import { connectRedis, throttledErrorLog } from './redis-connection.js';
import { redactRedisUrl } from './redis-url.js';
import { RedisJobStore, RedisKeys } from './redis-store.js';
import { runInChild, type RunInChildOptions } from './run-in-child.js';
import type { JobError, JobRecord, JobStage } from './types.js';

export interface BullJobWorkerOptions {
  redisUrl: string;
  /** Key prefix shared with the API server (default `medseg`). */
  prefix: string;
  /** The data folder the API server uses (studies/, jobs/), on storage shared with it. */
  dataDir: string;
  /** Model cards, the same names as the API server's. */
  modelsDir: string;
  /** Jobs run at the same time, each in its own process. */
  concurrency: number;
  /** A job whose worker died this many times fails instead of running again. */
  maxAttempts: number;
  /** BullMQ's lockDuration and stalledInterval (ms): a dead worker's job is taken again within about twice this. */
  stallMs: number;
  log: Logger;
  /** Recorded in each job it runs (default `host:pid`). */
  identity?: string | undefined;
  /** Runs a task (default: runInChild). */
  execute?: ((task: ChildTask, options: RunInChildOptions) => Promise<void>) | undefined;
}

interface Live {
  id: string;
  attempt: number;
  controller: AbortController;
  stopping?: 'cancel' | 'shutdown' | 'lost' | undefined;
  startedMs: number;
  writtenMs: number;
  stage: JobStage | null;
  progress: number;
}

type Outcome = 'succeeded' | 'failed' | 'cancelled' | 'requeued' | 'lost';

/** Progress goes to Redis (and so to the event streams) at most this often per job; stage changes at once. */
const WRITE_EVERY_MS = 200;
/** How often a running job's cancel mark is read, in case the published cancel was missed. */
const CANCEL_POLL_MS = 1000;

export class BullJobWorker {
  readonly identity: string;
  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private worker: Worker | undefined;
  private store: RedisJobStore | undefined;
  private readonly live = new Map<string, Live>();
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private readonly jobsDir: string;
  private readonly prepare: (job: JobRecord, out: string) => Promise<ChildTask>;
  private readonly models: ModelCatalog;
  private readonly execute: (task: ChildTask, options: RunInChildOptions) => Promise<void>;
  private readonly sanitize: (m: string) => string;

  constructor(private readonly options: BullJobWorkerOptions) {
    this.identity = options.identity ?? `${hostname()}:${process.pid}`;
    this.jobsDir = path.join(options.dataDir, 'jobs');
    this.models = new ModelCatalog(options.modelsDir, options.log);
    this.prepare = segmentTaskPreparer(new StudyStore(options.dataDir, DEFAULT_LIMITS), this.models);
    this.execute = options.execute ?? runInChild;
    this.sanitize = pathSanitizer([options.dataDir, options.modelsDir]);
  }

  /** Jobs this worker is running now. */
  get running(): number {
    return this.live.size;
  }

  /**
   * Checks the folders, connects and starts taking jobs.
   * @throws ServerConfigError when the data folder is not an API server's or no model cards are found,
   *   QueueConnectionError when Redis cannot be reached.
   */
  async start(): Promise<void> {
    const { dataDir, modelsDir, log } = this.options;
    const studies = path.join(dataDir, 'studies');
    if (!(await fsp.stat(studies).then((s) => s.isDirectory(), () => false))) {
      throw new ServerConfigError(`${dataDir} has no studies/ folder: --data must be the data folder of the API server (its \`medseg serve --data\`), on storage this machine shares with it`);
    }
    if ((await this.models.list()).length === 0) throw new ServerConfigError(`no model cards (*.card.json) in ${modelsDir}: --models must hold the same cards as the API server's`);
    await fsp.mkdir(this.jobsDir, { recursive: true });
    const url = redactRedisUrl(this.options.redisUrl);
    const errorLog = throttledErrorLog(log);
    const onError = (role: string) => (error: string) => errorLog({ event: 'redis_error', role, url, error });
    this.client = await connectRedis(this.options.redisUrl, { name: 'medseg-worker', maxRetriesPerRequest: null, onError: onError('commands') });
    try {
      this.store = new RedisJobStore(this.client, this.options.prefix);
      this.subscriber = await connectRedis(this.options.redisUrl, { name: 'medseg-worker-cancels', maxRetriesPerRequest: null, onError: onError('cancels') });
      this.subscriber.on('message', (_channel: string, id: string) => {
        const live = this.live.get(id);
        if (live) this.stop(live, 'cancel');
      });
      await this.subscriber.subscribe(this.store.keys.cancels);
      this.worker = new Worker(RedisKeys.QUEUE, (job, token) => this.process(job, token), {
        connection: this.client,
        prefix: this.options.prefix,
        concurrency: this.options.concurrency,
        name: this.identity,
        lockDuration: this.options.stallMs,
        stalledInterval: this.options.stallMs,
        // One more than the attempts our claim allows, so that the claim (which records why) gives up first.
        maxStalledCount: this.options.maxAttempts + 1,
        autorun: false,
      });
      this.worker.on('error', (e) => errorLog({ event: 'queue_error', worker: this.identity, error: e.message }));
      this.worker.on('lockRenewalFailed', (ids) => {
        for (const id of ids) {
          const live = this.live.get(id);
          if (live) this.stop(live, 'lost');
        }
      });
      await this.worker.waitUntilReady();
      this.state = 'open';
      void this.worker.run().catch((e: unknown) => log({ event: 'queue_error', worker: this.identity, error: (e as Error).message }));
      log({ event: 'worker_started', worker: this.identity, concurrency: this.options.concurrency, url, prefix: this.options.prefix });
    } catch (e) {
      await this.disconnect();
      throw e;
    }
  }

  /** Stops taking jobs; running ones get `graceMs` to finish, then are stopped and handed back to the queue. */
  async close({ graceMs = 30_000 }: { graceMs?: number } = {}): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.options.log({ event: 'worker_closing', worker: this.identity, running: this.live.size });
    const closed = this.worker!.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const live of this.live.values()) this.stop(live, 'shutdown');
    await closed;
    await this.disconnect();
    this.state = 'closed';
    this.options.log({ event: 'worker_closed', worker: this.identity });
  }

  private async disconnect(): Promise<void> {
    for (const c of [this.subscriber, this.client]) {
      if (!c) continue;
      // QUIT waits for a reconnection while Redis is away; then just drop the socket.
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
      else c.disconnect();
    }
  }

  private stop(live: Live, why: 'cancel' | 'shutdown' | 'lost'): void {
    live.stopping ??= why;
    live.controller.abort();
  }

  /** BullMQ's processor: claim the job in its record, run it, record the outcome. Throws only to hand it back. */
  private async process(job: Job, token: string | undefined): Promise<string> {
    const id = job.id ?? '';
    const { log } = this.options;
    if (!isId('job', id)) {
      log({ event: 'job_ignored', worker: this.identity, reason: 'not a medseg job id' });
      return 'ignored';
    }
    if (this.state !== 'open') return this.handBack(job, token);
    const { outcome, attempt } = await this.store!.claim(id, this.identity, this.options.maxAttempts);
    if (outcome !== 'run') {
      log({ event: outcome === 'interrupted' ? 'job_failed' : `job_skipped`, job: id, worker: this.identity, reason: outcome, attempts: attempt });
      return outcome;
    }
    const now = performance.now();
    const live: Live = { id, attempt, controller: new AbortController(), startedMs: now, writtenMs: now, stage: 'starting', progress: 0 };
    this.live.set(id, live);
    log({ event: 'job_started', job: id, attempt, worker: this.identity });
    const poll = setInterval(() => {
      this.store!.cancelRequested(id).then(
        (asked) => asked && this.stop(live, 'cancel'),
        () => undefined,
      );
    }, CANCEL_POLL_MS);
    let result: { outcome: Outcome; error: JobError | null };
    try {
      result = await this.run(live);
    } finally {
      clearInterval(poll);
      this.live.delete(id);
    }
    log({ event: `job_${result.outcome}`, job: id, attempt, worker: this.identity, ms: Math.round(performance.now() - live.startedMs), ...(result.error ? { code: result.error.code } : {}) });
    if (result.outcome === 'requeued') return this.handBack(job, token);
    return result.outcome;
  }

  /** Puts the job back in BullMQ's wait list; WaitingError tells BullMQ not to complete or fail it. */
  private async handBack(job: Job, token: string | undefined): Promise<never> {
    await job.moveToWait(token);
    throw new WaitingError();
  }

  private async run(live: Live): Promise<{ outcome: Outcome; error: JobError | null }> {
    const { id, attempt } = live;
    const store = this.store!;
    const jobDir = path.join(this.jobsDir, id);
    const attemptDir = path.join(jobDir, `attempt-${attempt}`);
    try {
      await removeOtherAttempts(jobDir, `attempt-${attempt}`);
      await fsp.rm(attemptDir, { recursive: true, force: true });
      await fsp.mkdir(attemptDir, { recursive: true });
      const record = await store.get(id);
      // Gone from Redis (a restart without persistence): nobody can ask for this job any more.
      if (!record) throw new LostJobError();
      const task = await this.prepare(record, attemptDir);
      await this.execute(task, {
        signal: live.controller.signal,
        onProgress: (p) => this.progress(live, p.stage, p.done, p.total),
        onWriting: () => this.progress(live, 'writing', 0, 1),
      });
      // Only the attempt that still owns the job puts its results in place (another worker may have taken it over).
      if (!(await store.owns(id, attempt))) throw new LostJobError();
      const results = path.join(jobDir, 'results');
      await fsp.rm(results, { recursive: true, force: true });
      await fsp.rename(attemptDir, results);
      return { outcome: (await store.finish(id, 'succeeded', null, attempt)) ? 'succeeded' : 'lost', error: null };
    } catch (e) {
      await fsp.rm(attemptDir, { recursive: true, force: true }).catch(() => undefined);
      if (e instanceof LostJobError) live.stopping ??= 'lost';
      if (live.stopping === 'lost') return { outcome: 'lost', error: null };
      if (live.stopping === 'shutdown') {
        const r = await store.requeue(id, attempt);
        return { outcome: r === 'queued' ? 'requeued' : r, error: null };
      }
      if (live.stopping === 'cancel' || (await store.cancelRequested(id))) {
        return { outcome: (await store.finish(id, 'cancelled', null, attempt)) ? 'cancelled' : 'lost', error: null };
      }
      const error = jobError(e, this.sanitize);
      if (error.code === 'INTERNAL') this.options.log({ event: 'job_internal_error', job: id, error: this.sanitize(String((e as Error)?.stack ?? e)) });
      return { outcome: (await store.finish(id, 'failed', error, attempt)) ? 'failed' : 'lost', error };
    }
  }

  private progress(live: Live, stage: JobStage, done: number, total: number): void {
    if (live.stopping) return;
    const now = performance.now();
    const stageChanged = stage !== live.stage;
    live.progress = Math.max(live.progress, overallProgress(stage, done, total));
    live.stage = stage;
    if (!stageChanged && now - live.writtenMs < WRITE_EVERY_MS) return;
    live.writtenMs = now;
    this.store!.progress(live.id, live.attempt, stage, live.progress, etaSeconds(live.progress, now - live.startedMs)).then(
      (r) => {
        if (r === 'cancel') this.stop(live, 'cancel');
        else if (r === 'lost') this.stop(live, 'lost');
      },
      (e: unknown) => this.options.log({ event: 'redis_error', role: 'progress', job: live.id, error: (e as Error).message }),
    );
  }
}

/** The job was taken over by another worker (this one's lock expired): its outcome is no longer ours to record. */
class LostJobError extends Error {
  override name = 'LostJobError';
}

/** Folders of earlier attempts (a worker died during them): nothing reads them, and a rerun starts from scratch. */
async function removeOtherAttempts(jobDir: string, keep: string): Promise<void> {
  const names = await fsp.readdir(jobDir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith('attempt-') && n !== keep).map((n) => fsp.rm(path.join(jobDir, n), { recursive: true, force: true })));
}
