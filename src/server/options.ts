/** Server configuration: defaults, limits and the start-up checks (a token beyond loopback). */
import { isIP } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoOptions } from './demo.js';
import { bundledViewerDir } from './viewer-static.js';
import { redisPrefixProblem, redisUrlProblem } from './jobs/redis-url.js';

/** Upload limits. Each is checked while streaming (never after the fact), so a hostile upload costs at most this much disk. */
export interface UploadLimits {
  /** Largest single uploaded file, zip included (bytes). */
  maxFileBytes: number;
  /** Largest request body of an upload, all files together (bytes). */
  maxUploadBytes: number;
  /** Most files in one upload (multipart parts). */
  maxFiles: number;
  /** Most entries in one zip (files and folders). */
  maxZipEntries: number;
  /** Most bytes a study may take once extracted (all zips and plain files together). */
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed size ratio of any zip entry (zip bombs are 1000× and more; DICOM is ~2–10×). */
  maxCompressionRatio: number;
}

/** One structured log event: job ids, routes, statuses and timings; never upload names, paths or patient data. */
export type Logger = (event: Record<string, unknown>) => void;

export interface ServerOptions {
  /** Where studies, job results and the job database live (created when missing). */
  dataDir: string;
  /** Folder searched (two levels deep) for `*.card.json` model cards. */
  modelsDir: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Bearer token; required when `host` is not a loopback address. */
  token?: string | undefined;
  /** Jobs run at the same time, each in its own process. */
  concurrency: number;
  /** Origins allowed to call the API from a browser (CORS); empty: none (the default). */
  corsOrigins: readonly string[];
  limits: UploadLimits;
  /** On shutdown, how long running jobs may take to finish before they are stopped and queued for the next start (ms). */
  shutdownGraceMs: number;
  /** A job interrupted this many times (server killed while it ran) fails instead of running again. */
  maxAttempts: number;
  log: Logger;
  /** A scan and its segmentation to import at start as a finished job (what `npm start` shows in the viewer). */
  demo?: DemoOptions | undefined;
  /** The built browser viewer served at `/` (default: this installation's viewer/dist; `npm run build:viewer`). */
  viewerDir: string;
  /**
   * Queue jobs in this Redis (BullMQ) for `medseg worker` processes instead of running them here (see README.md,
   * "Scale-out"); the data folder must then be on storage the workers share.
   */
  redisUrl?: string | undefined;
  /** Prefix of the queue's Redis keys (default `medseg`); the workers must use the same. */
  redisPrefix?: string | undefined;
}

export const DEFAULT_LIMITS: UploadLimits = {
  maxFileBytes: 2 * 1024 ** 3,
  maxUploadBytes: 4 * 1024 ** 3,
  maxFiles: 20_000,
  maxZipEntries: 20_000,
  maxUncompressedBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 200,
};

/** The bundled models/ folder of this installation (src/server → ../../models, also from dist/server). */
export function bundledModelsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

export const jsonLineLogger: Logger = (event) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);

export function defaultServerOptions(): ServerOptions {
  return {
    dataDir: path.resolve('medseg-data'),
    modelsDir: bundledModelsDir(),
    host: '127.0.0.1',
    port: 8080,
    token: process.env.MEDSEG_TOKEN || undefined,
    concurrency: 1,
    corsOrigins: [],
    limits: DEFAULT_LIMITS,
    shutdownGraceMs: 30_000,
    maxAttempts: 3,
    log: jsonLineLogger,
    viewerDir: bundledViewerDir(),
  };
}

export class ServerConfigError extends Error {
  override name = 'ServerConfigError';
}

/** Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/**
 * Merges `partial` over the defaults and checks it.
 * @throws ServerConfigError for a missing token beyond loopback or a bad number, saying what to pass.
 */
export function resolveServerOptions(partial: Partial<ServerOptions> = {}): ServerOptions {
  const defaults = defaultServerOptions();
  const o: ServerOptions = { ...defaults, ...partial, limits: { ...DEFAULT_LIMITS, ...partial.limits } };
  if (!o.token && !isLoopbackHost(o.host)) {
    throw new ServerConfigError(`refusing to listen on ${o.host} without a token: anyone on the network could upload scans and read results. Pass --token <secret> (or set MEDSEG_TOKEN), or bind to 127.0.0.1`);
  }
  if (o.token !== undefined && o.token.length < 16) {
    throw new ServerConfigError(`the token is ${o.token.length} characters long; use at least 16 random characters (e.g. \`openssl rand -hex 32\`)`);
  }
  if (!(Number.isInteger(o.concurrency) && o.concurrency >= 1 && o.concurrency <= 64)) throw new ServerConfigError(`concurrency must be a whole number 1…64, got ${o.concurrency}`);
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) throw new ServerConfigError(`port must be a whole number 0…65535, got ${o.port}`);
  const redisProblem = o.redisUrl === undefined ? undefined : redisUrlProblem(o.redisUrl) ?? (o.redisPrefix === undefined ? undefined : redisPrefixProblem(o.redisPrefix));
  if (redisProblem) throw new ServerConfigError(redisProblem);
  for (const [k, v] of Object.entries(o.limits)) {
    if (!(Number.isFinite(v) && v > 0)) throw new ServerConfigError(`upload limit ${k} must be a positive number, got ${v}`);
  }
  return { ...o, dataDir: path.resolve(o.dataDir), modelsDir: path.resolve(o.modelsDir) };
}
