/**
 * Connections to the Redis that holds the scale-out queue: the first connection fails with a typed error naming
 * the URL without its password (instead of retrying forever in the background); later outages are retried.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { SegError } from '../../errors.js';
import type { Logger } from '../options.js';
import { redactRedisUrl, redisUrlProblem } from './redis-url.js';

/** The Redis of the queue could not be reached (or refused us). Exit code 8 on the command line, 503 over HTTP. */
export class QueueConnectionError extends SegError {
  override name = 'QueueConnectionError';
  constructor(
    /** The URL with any password replaced by `***`. */
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      'REMOTE_UNAVAILABLE',
      `cannot use the job queue's Redis at ${url}: ${reason.replace(/\.$/, '')}. Check that redis-server runs there and accepts this client (host, port, password, database number), e.g. \`redis-cli -u <url> ping\``,
      options,
    );
  }
}

export interface ConnectOptions {
  /** Shown by `CLIENT LIST` (e.g. `medseg-api`, `medseg-worker`). */
  name: string;
  /**
   * Commands wait for a reconnection indefinitely (null: workers, which must not drop a job because Redis restarted),
   * or fail after this many retries (the API, which answers 503 instead of hanging a request).
   */
  maxRetriesPerRequest: number | null;
  /** Called with each connection error after the first connection (already redacted). */
  onError?: ((message: string) => void) | undefined;
}

/**
 * Connects to `url` and resolves once the server answers (authenticated, database selected).
 * @throws QueueConnectionError naming the redacted URL and the server's or socket's reason.
 */
export async function connectRedis(url: string, options: ConnectOptions): Promise<Redis> {
  const problem = redisUrlProblem(url);
  if (problem) throw new QueueConnectionError(redactRedisUrl(url), problem);
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    connectionName: options.name,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    // Reconnect with a growing delay (capped at 2 s) for as long as the process runs.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  const client = new Redis(url, redisOptions);
  let lastError: Error | undefined;
  const firstError = (e: Error) => (lastError = e);
  client.on('error', firstError);
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    // connect() rejects with "Connection is closed"; the error event carried the reason (ECONNREFUSED, WRONGPASS, …).
    throw new QueueConnectionError(redactRedisUrl(url), (lastError ?? (e as Error)).message, { cause: lastError ?? e });
  }
  client.off('error', firstError);
  client.on('error', (e: Error) => options.onError?.(e.message));
  return client;
}

/**
 * A logger for connection errors that writes each distinct error at most once per `everyMs`, with the number of
 * repeats it held back: while Redis is away every connection retries (and fails) every two seconds.
 */
export function throttledErrorLog(log: Logger, everyMs = 10_000): Logger {
  const last = new Map<string, { atMs: number; held: number }>();
  return (event) => {
    const key = JSON.stringify([event.event, event.role, event.error]);
    const now = Date.now();
    const seen = last.get(key);
    if (seen && now - seen.atMs < everyMs) {
      seen.held++;
      return;
    }
    if (last.size > 100) last.clear();
    last.set(key, { atMs: now, held: 0 });
    log(seen?.held ? { ...event, repeated: seen.held } : event);
  };
}
