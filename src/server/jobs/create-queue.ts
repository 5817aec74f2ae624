/** The one place that picks the job queue: the local one (SQLite, jobs run here) or Redis/BullMQ (`medseg worker`s run them). */
import type { ServerOptions } from '../options.js';
import { BullJobQueue } from './bull-queue.js';
import type { ChildTask } from './child-protocol.js';
import { LocalJobQueue } from './local-queue.js';
import { DEFAULT_REDIS_PREFIX } from './redis-url.js';
import type { JobQueue, JobRecord } from './types.js';

export interface QueueDeps {
  /** Turns a job into its task (used by the local queue; workers build their own from the same data folder). */
  prepare: (job: JobRecord, out: string) => Promise<ChildTask>;
  /** Strips server paths from job error messages. */
  sanitize: (message: string) => string;
}

/** With `options.redisUrl` a BullJobQueue (this server runs no jobs), else a LocalJobQueue. Call `start()` next. */
export function createQueue(options: ServerOptions, deps: QueueDeps): JobQueue {
  if (options.redisUrl !== undefined) {
    return new BullJobQueue({ redisUrl: options.redisUrl, prefix: options.redisPrefix ?? DEFAULT_REDIS_PREFIX, dataDir: options.dataDir, log: options.log });
  }
  return new LocalJobQueue({
    dataDir: options.dataDir,
    concurrency: options.concurrency,
    maxAttempts: options.maxAttempts,
    log: options.log,
    sanitize: deps.sanitize,
    prepare: deps.prepare,
  });
}
