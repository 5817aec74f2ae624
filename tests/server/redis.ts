/**
 * A real Redis (Debian `redis-server`) for the scale-out tests: its own free loopback port, a password, a temporary
 * folder and append-only persistence (so a restart on the same folder keeps the queue, as in production). Never
 * the system service. Plus `medseg worker` processes started from the TypeScript sources.
 *
 * Usage:
 *   const hasRedis = redisAvailable();                 // skips locally with a message, fails under CI=true
 *   describe.skipIf(!hasRedis)('…', () => { let r: RedisInstance; beforeAll(async () => { r = await startRedis(); });
 *     afterAll(() => r?.stop()); … });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, systemFile } from '../helpers.js';
import { freePort } from '../pacs/orthanc.js';

export const REDIS_BIN = '/usr/bin/redis-server';

/** Whether redis-server is installed: skips locally with a message, throws under CI. */
export function redisAvailable(): boolean {
  return systemFile(REDIS_BIN, 'Debian package redis-server; the scale-out tests start their own instance');
}

export interface RedisOptions {
  /** Restart on the folder (and port) of an instance stopped with `stop({ keepFiles: true })`. */
  dir?: string;
  port?: number;
  password?: string;
}

export interface RedisInstance {
  /** redis://:<password>@127.0.0.1:<port> */
  url: string;
  port: number;
  password: string;
  /** Holds the append-only files. */
  dir: string;
  log(): string;
  /** SIGTERM (Redis writes its append-only file and exits), SIGKILL after 10 s; removes `dir` unless keepFiles. */
  stop(options?: { keepFiles?: boolean }): Promise<void>;
}

/** Starts redis-server; retries with a new port when the one picked was taken in the meantime. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisInstance> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port === undefined ? 3 : 1); attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      lastError = e;
      if (!/Address already in use/i.test((e as Error).message)) throw e;
    }
  }
  throw lastError;
}

async function startOnce(options: RedisOptions): Promise<RedisInstance> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'medseg-redis-'));
  const port = options.port ?? (await freePort());
  const password = options.password ?? randomBytes(12).toString('hex');
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--requirepass', password,
    '--dir', dir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--daemonize', 'no',
    '--loglevel', 'notice',
  ];
  const child = spawn(REDIS_BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 30 s:\n${log.slice(-4000)}`)), 30_000);
    const check = () => {
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (code ${code}) before it was ready:\n${log.slice(-4000)}`));
    });
  });
  let stopped = false;
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    password,
    dir,
    log: () => log,
    async stop({ keepFiles = false } = {}) {
      if (stopped) return;
      stopped = true;
      await terminate(child, exited);
      if (!keepFiles) await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface WorkerProcess {
  child: ChildProcess;
  /** host:pid, as the worker records it in the jobs it runs. */
  identity: string;
  stderr(): string;
  /** Resolves to the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** `medseg worker <args>` from the TypeScript sources, resolving once it takes jobs. */
export async function spawnWorker(args: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'worker', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const identity = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`medseg worker did not start in 60 s:\n${err}`)), 60_000);
    const onData = () => {
      const m = /medseg worker: (\S+) taking jobs/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`medseg worker exited (${code}) before taking jobs:\n${err}`));
    });
  });
  return { child, identity, stderr: () => err, exited };
}
