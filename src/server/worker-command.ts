/** `medseg worker`: option strings → a BullJobWorker on the API server's Redis and data folder, until SIGTERM/SIGINT. */
import * as path from 'node:path';
import { BullJobWorker, type BullJobWorkerOptions } from './jobs/bull-worker.js';
import { DEFAULT_REDIS_PREFIX, redactRedisUrl, redisPrefixProblem, redisUrlProblem } from './jobs/redis-url.js';
import { bundledModelsDir, jsonLineLogger, ServerConfigError, type Logger } from './options.js';

export interface WorkerArgs {
  redis?: string | undefined;
  data?: string | undefined;
  models?: string | undefined;
  concurrency?: string | undefined;
  redisPrefix?: string | undefined;
  stallMs?: string | undefined;
  graceMs?: string | undefined;
}

export type ParsedWorkerArgs = Omit<BullJobWorkerOptions, 'log' | 'maxAttempts'> & { graceMs: number };

/** The worker's options, or a usage message naming the bad value. */
export function parseWorkerArgs(args: WorkerArgs, env: NodeJS.ProcessEnv = process.env): ParsedWorkerArgs | string {
  const int = (v: string | undefined, name: string, min: number, max: number, dflt: number): number | string => {
    if (v === undefined) return dflt;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} must be a whole number ${min}…${max}, got "${v}"`;
  };
  const redisUrl = args.redis ?? (env.MEDSEG_REDIS_URL || undefined);
  if (redisUrl === undefined) return 'worker needs --redis <url> (or MEDSEG_REDIS_URL): the Redis that `medseg serve --redis` uses';
  const problem = redisUrlProblem(redisUrl) ?? redisPrefixProblem(args.redisPrefix ?? DEFAULT_REDIS_PREFIX);
  if (problem) return problem;
  const concurrency = int(args.concurrency, 'concurrency', 1, 64, 1);
  const stallMs = int(args.stallMs, 'stall-ms', 1000, 3_600_000, 30_000);
  const graceMs = int(args.graceMs, 'grace-ms', 0, 86_400_000, 30_000);
  for (const v of [concurrency, stallMs, graceMs]) if (typeof v === 'string') return v;
  return {
    redisUrl,
    prefix: args.redisPrefix ?? DEFAULT_REDIS_PREFIX,
    dataDir: path.resolve(args.data ?? 'medseg-data'),
    modelsDir: path.resolve(args.models ?? bundledModelsDir()),
    concurrency: concurrency as number,
    stallMs: stallMs as number,
    graceMs: graceMs as number,
  };
}

/**
 * Runs until SIGTERM or SIGINT; resolves to the exit code, or a usage message for a bad option or folder.
 * @throws QueueConnectionError (a SegError, exit code 8) when Redis cannot be reached.
 */
export async function workerCommand(args: WorkerArgs, log: Logger = jsonLineLogger): Promise<number | string> {
  const parsed = parseWorkerArgs(args);
  if (typeof parsed === 'string') return parsed;
  const { graceMs, ...workerOptions } = parsed;
  const worker = new BullJobWorker({ ...workerOptions, maxAttempts: 3, log });
  // Listening from the start: a signal while connecting stops the worker once it is up, not the process outright.
  // After the first signal both handlers go, so a second SIGTERM or Ctrl-C ends the process at once.
  let signal: string | undefined;
  let wake = () => {};
  const unlisten = () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  };
  const onSignal = (name: string) => {
    unlisten();
    signal ??= name;
    wake();
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    await worker.start();
  } catch (e) {
    unlisten();
    if (e instanceof ServerConfigError) return e.message;
    throw e;
  }
  process.stderr.write(
    `medseg worker: ${worker.identity} taking jobs from ${redactRedisUrl(parsed.redisUrl)} (prefix ${parsed.prefix}, concurrency ${parsed.concurrency}, data ${parsed.dataDir}, models ${parsed.modelsDir})\n`,
  );
  if (signal === undefined) await new Promise<void>((resolve) => (wake = resolve));
  process.stderr.write(`medseg worker: ${signal}: taking no more jobs; running ones may finish for ${graceMs / 1000} s, then go back to the queue\n`);
  await worker.close({ graceMs });
  return 0;
}
