/**
 * Server test helpers: a real server on an ephemeral loopback port over a fresh data folder, uploads with fetch +
 * FormData, a small zip writer (so tests can build hostile archives byte by byte), job polling and SSE reading.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateRawSync } from 'node:zlib';
import { startServer, type MedsegServer } from '../../src/server/app.js';
import type { ServerOptions } from '../../src/server/options.js';
import { fixture, ROOT } from '../helpers.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const MODELS = fixture('models');
export const MODEL = 'pointwise-test';

export interface TestServer extends MedsegServer {
  logs: Record<string, unknown>[];
  dataDir: string;
  /** fetch relative to the server with the bearer token (unless headers say otherwise). */
  api: (path: string, init?: RequestInit) => Promise<Response>;
}

const created: string[] = [];

/** A fresh folder under the system temp folder, removed by removeTempDirs (call it in afterAll). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `medseg-server-${prefix}-`));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const dataDir = options.dataDir ?? tempDir('data');
  const server = await startServer({ host: '127.0.0.1', port: 0, dataDir, modelsDir: MODELS, token: TOKEN, log: (e) => logs.push(e), shutdownGraceMs: 0, ...options });
  const api = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (server.options.token && !headers.has('authorization')) headers.set('authorization', `Bearer ${server.options.token}`);
    return fetch(server.url + path, { ...init, headers });
  };
  return { ...server, logs, dataDir, api };
}

/** Files as multipart parts: [name the client sends, bytes]. */
export function form(files: [string, Uint8Array][]): FormData {
  const fd = new FormData();
  for (const [name, bytes] of files) fd.append('file', new Blob([bytes]), name);
  return fd;
}

export const fileBytes = (path: string): [string, Uint8Array] => [basename(path), readFileSync(path)];

export interface ZipEntry {
  /** The raw entry name, written as is (hostile names included). */
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflate (default). */
  method?: 0 | 8;
  /** Lie about the uncompressed size in the headers (a hostile archive). */
  declaredSize?: number;
  /** Unix mode for the external attributes (e.g. 0o120777 for a symbolic link). */
  unixMode?: number;
}

/** A minimal zip writer (no zip64): local headers, data, central directory, end record. */
export function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the external attributes hold a mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.unixMode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface JobJson {
  id: string;
  study: string;
  model: string;
  status: string;
  stage: string | null;
  progress: number;
  etaSeconds: number | null;
  error: { code: string; message: string } | null;
  attempts: number;
  links: { results?: Record<string, string> };
}

export async function json<T = unknown>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export async function uploadStudy(s: Pick<TestServer, 'api'>, files: [string, Uint8Array][]): Promise<string> {
  const res = await s.api('/api/studies', { method: 'POST', body: form(files) });
  const body = await json<{ id: string; error?: unknown }>(res);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

export async function submitJob(s: Pick<TestServer, 'api'>, study: string, options: Record<string, unknown> = {}): Promise<JobJson> {
  const res = await s.api('/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ study, model: MODEL, options }) });
  const body = await json<JobJson>(res);
  if (res.status !== 202) throw new Error(`job refused: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Polls GET /api/jobs/:id until `until` holds (default: a finished status). */
export async function pollJob(s: Pick<TestServer, 'api'>, id: string, until: (j: JobJson) => boolean = (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status), timeoutMs = 120_000): Promise<{ job: JobJson; seen: JobJson[] }> {
  const seen: JobJson[] = [];
  const t0 = Date.now();
  for (;;) {
    const job = await json<JobJson>(await s.api(`/api/jobs/${id}`));
    seen.push(job);
    if (until(job)) return { job, seen };
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} did not reach the state in ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads a server-sent event stream to its end: the `data` of each `job` event, parsed. */
export async function readJobEvents(s: Pick<TestServer, 'api'>, id: string): Promise<{ contentType: string | null; contentEncoding: string | null; events: JobJson[] }> {
  const res = await s.api(`/api/jobs/${id}/events`);
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((block) => block.includes('event: job'))
    .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as JobJson);
  return { contentType: res.headers.get('content-type'), contentEncoding: res.headers.get('content-encoding'), events };
}

const execFileAsync = promisify(execFile);

/** `medseg <args>` from the TypeScript sources (no build needed), as the reference the service must match. */
export async function medsegTs(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
}

/** `medseg serve` as its own process (for kill -9), resolving once it listens. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'serve', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`medseg serve did not start in 60 s:\n${err}`)), 60_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`medseg serve exited (${code}):\n${err}`));
    });
  });
  return { child, url, stderr: () => err };
}
