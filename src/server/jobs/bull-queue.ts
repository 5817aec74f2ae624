/**
 * The API server's side of the scale-out queue (`medseg serve --redis <url>`): jobs are recorded in Redis
 * (redis-store.ts) and handed to BullMQ, and any number of `medseg worker` processes run them (bull-worker.ts).
 * This process runs no jobs itself. Results are read from `<data>/jobs/<id>/results/`, which the workers write on
 * storage shared with this server.
 *
 * Durability rests on Redis: a job is in Redis (record, then BullMQ job) before `submit` resolves, and survives a
 * Redis restart as far as Redis persists its data (`appendonly yes`). At start-up, a queued record whose BullMQ job
 * is missing is queued again, and a running one whose BullMQ job failed or vanished is failed (INTERRUPTED).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SegError } from '../../errors.js';
import { HttpError } from '../http-error.js';
import { newId } from '../ids.js';
import type { Logger } from '../options.js';
import { copyResultFiles } from './local-queue.js';
import { connectRedis, throttledErrorLog } from './redis-connection.js';
import { redactRedisUrl } from './redis-url.js';
import { RedisJobStore, RedisKeys } from './redis-store.js';
import { JobListeners } from './listeners.js';
import { JOB_STATUSES, TERMINAL, type JobListener, type JobQueue, type JobRecord, type JobSpec, type JobStatus } from './types.js';

export interface BullJobQueueOptions {
  redisUrl: string;
  /** Key prefix shared with the workers (default `medseg`): several deployments can share one Redis. */
  prefix: string;
  /** The shared data folder (results under `jobs/<id>/results/`). */
  dataDir: string;
  log: Logger;
  /** How long cancelling a running job waits for its worker to stop it before answering (ms, default 15 000). */
  cancelWaitMs?: number | undefined;
}

/** Redis failed while serving a request: 503 for the client, the details in the log. */
export class QueueUnavailableError extends SegError {
  override name = 'QueueUnavailableError';
  constructor(options?: { cause?: unknown }) {
    super('REMOTE_UNAVAILABLE', 'the job queue (Redis) is not answering; retry in a moment', options);
  }
}

/** /readyz counts are refreshed this often (they are read synchronously). */
const COUNTS_EVERY_MS = 1000;

export class BullJobQueue implements JobQueue {
  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private queue: Queue | undefined;
  private store: RedisJobStore | undefined;
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private readonly listeners: JobListeners;
  private snapshot = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  private countsTimer: NodeJS.Timeout | undefined;
  private readonly jobsDir: string;
  private readonly url: string;

  constructor(private readonly options: BullJobQueueOptions) {
    this.jobsDir = path.join(options.dataDir, 'jobs');
    this.listeners = new JobListeners(options.log);
    this.url = redactRedisUrl(options.redisUrl);
  }

  get ready(): boolean {
    return this.state === 'open' && this.client?.status === 'ready';
  }

  /**
   * Connects, re-enqueues what an interruption between recording and enqueueing left behind, and opens.
   * @throws QueueConnectionError when Redis cannot be reached (the message names the URL without its password).
   */
  async start(): Promise<void> {
    const { log, redisUrl, prefix } = this.options;
    await fsp.mkdir(this.jobsDir, { recursive: true });
    const errorLog = throttledErrorLog(log);
    const onError = (role: string) => (error: string) => errorLog({ event: 'redis_error', role, url: this.url, error });
    // Requests fail fast (503) while Redis is away instead of hanging until it returns.
    this.client = await connectRedis(redisUrl, { name: 'medseg-api', maxRetriesPerRequest: 1, onError: onError('commands') });
    try {
      const store = (this.store = new RedisJobStore(this.client, prefix));
      this.subscriber = await connectRedis(redisUrl, { name: 'medseg-api-events', maxRetriesPerRequest: null, onError: onError('events') });
      this.subscriber.on('message', (_channel: string, id: string) => this.changed(id));
      // After a reconnection, changes published meanwhile were lost: send each followed job's current state.
      this.subscriber.on('ready', () => {
        for (const id of this.listeners.ids()) this.changed(id);
      });
      await this.subscriber.subscribe(store.keys.events);
      this.queue = new Queue(RedisKeys.QUEUE, {
        connection: this.client,
        prefix,
        // The record in Redis is the job's history; BullMQ's copy is only needed while it is scheduled.
        defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: 1000 }, attempts: 1 },
      });
      await this.queue.waitUntilReady();
      await this.reconcile();
      await this.refreshCounts();
      this.countsTimer = setInterval(() => void this.refreshCounts().catch(() => undefined), COUNTS_EVERY_MS);
      this.countsTimer.unref();
      this.state = 'open';
      log({ event: 'queue_open', engine: 'redis', url: this.url, prefix });
    } catch (e) {
      await this.disconnect();
      throw e;
    }
  }

  async submit(spec: JobSpec): Promise<JobRecord> {
    if (this.state !== 'open') throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down and accepts no new jobs; retry against the restarted server');
    const id = newId('job');
    // The record as stored (queued): a worker may already have taken the job by the time this answers.
    const record = await this.call(async () => {
      const stored = await this.store!.insert(id, spec, 'queued');
      await this.enqueue(id);
      return stored;
    });
    this.options.log({ event: 'job_queued', job: id, study: spec.study, model: spec.model });
    return record!;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.call(() => this.store!.get(id));
  }

  async list(limit: number): Promise<JobRecord[]> {
    return this.call(() => this.store!.list(limit));
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const r = await this.call(() => this.store!.cancel(id));
    if (r === 'missing') return undefined;
    if (r === 'cancelled') {
      this.options.log({ event: 'job_cancelled', job: id, while: 'queued' });
      // A worker that takes it anyway (it was being handed out) finds it cancelled and skips it.
      await this.queue!.remove(id).catch(() => 0);
    } else if (r === 'running') {
      this.options.log({ event: 'job_cancel_requested', job: id });
      await this.finished(id, this.options.cancelWaitMs ?? 15_000);
    }
    return this.get(id);
  }

  subscribe(id: string, listener: JobListener): () => void {
    return this.listeners.subscribe(id, listener);
  }

  resultsDir(id: string): string {
    return path.join(this.jobsDir, id, 'results');
  }

  async importSucceeded(id: string, spec: JobSpec, resultsFrom: string): Promise<JobRecord> {
    const existing = await this.get(id);
    if (existing) return existing;
    // Files first, then the record: a crash in between leaves a folder nobody references, never a job without results.
    const staging = path.join(this.jobsDir, id, 'import');
    await fsp.rm(staging, { recursive: true, force: true });
    await copyResultFiles(resultsFrom, staging);
    const results = this.resultsDir(id);
    await fsp.rm(results, { recursive: true, force: true });
    await fsp.rename(staging, results);
    if (await this.call(() => this.store!.insert(id, spec, 'succeeded'))) this.options.log({ event: 'job_imported', job: id, study: spec.study, model: spec.model });
    return (await this.get(id))!;
  }

  counts(): Record<JobStatus, number> {
    return { ...this.snapshot };
  }

  /** Reads the counts from Redis now (counts() answers from the last reading). */
  async refreshCounts(): Promise<Record<JobStatus, number>> {
    this.snapshot = await this.store!.counts();
    return this.counts();
  }

  /** The server runs no jobs with this queue: closing only disconnects (the workers have their own grace period). */
  async close(_options: { graceMs?: number } = {}): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    clearInterval(this.countsTimer);
    await this.disconnect();
    this.state = 'closed';
  }

  private async disconnect(): Promise<void> {
    await this.queue?.close().catch(() => undefined);
    for (const c of [this.subscriber, this.client]) {
      if (!c) continue;
      // QUIT waits for a reconnection while Redis is away; then just drop the socket.
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
      else c.disconnect();
    }
  }

  private async enqueue(id: string): Promise<void> {
    // The job id makes this idempotent: adding an id BullMQ already holds does nothing.
    await this.queue!.add(RedisKeys.QUEUE, {}, { jobId: id });
  }

  /** Makes the records and BullMQ agree after an interruption between their two writes (or a lost BullMQ job). */
  private async reconcile(): Promise<void> {
    const store = this.store!;
    const queue = this.queue!;
    const requeued: string[] = [];
    const failed: string[] = [];
    for (const id of await store.queuedIds()) {
      const state = await queue.getJobState(id);
      if (state === 'unknown' || state === 'failed' || state === 'completed') {
        if (state !== 'unknown') await queue.remove(id);
        await this.enqueue(id);
        requeued.push(id);
      }
    }
    for (const id of await this.client!.smembers(store.keys.status('running'))) {
      const state = await queue.getJobState(id);
      if (state === 'unknown' || state === 'failed' || state === 'completed') {
        const message = 'the queue lost track of this job while it ran (its BullMQ job failed or vanished); submit it again';
        if (await store.finish(id, 'failed', { code: 'INTERRUPTED', message })) failed.push(id);
      }
    }
    if (requeued.length + failed.length > 0) this.options.log({ event: 'jobs_recovered', requeued, failed });
  }

  /** Resolves when the job is finished, or after `timeoutMs` (a worker that died cannot answer). */
  private finished(id: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const unsubscribe = this.subscribe(id, (job) => TERMINAL.has(job.status) && done());
      timer = setTimeout(done, timeoutMs);
      this.get(id).then((job) => (job && TERMINAL.has(job.status) ? done() : undefined), done);
    });
  }

  /** A job changed (an id on the events channel): its followers get the current record. */
  private changed(id: string): void {
    if (!this.listeners.has(id) || !this.store) return;
    this.store.get(id).then(
      (job) => {
        if (job) this.listeners.emit(job);
      },
      (e: unknown) => this.options.log({ event: 'redis_error', role: 'events', job: id, error: (e as Error).message }),
    );
  }

  /** Runs a Redis operation; a Redis failure becomes a 503 for the client and a log line for the operator. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    if (!this.store) throw new HttpError(503, 'SHUTTING_DOWN', 'the job queue is not open (starting or shutting down)');
    try {
      return await op();
    } catch (e) {
      if (e instanceof HttpError || e instanceof SegError) throw e;
      this.options.log({ event: 'redis_error', role: 'request', url: this.url, error: (e as Error).message });
      throw new QueueUnavailableError({ cause: e });
    }
  }
}
